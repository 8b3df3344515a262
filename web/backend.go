package web

import (
	"context"
	"errors"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// ErrNotFound is returned (possibly wrapped) by Backend methods when the
// named host, rule or maintenance window does not exist; handlers answer 404.
var ErrNotFound = errors.New("not found")

// Backend is everything the dashboard and API need from the master. The
// master implements it over its query actors; tests use a fake.
//
// Errors from AddRule and AddMaintenance are shown to the user verbatim as
// a 400 (they are validation errors such as a rule parse error); every other
// error becomes a 500 with a generic message and is logged.
type Backend interface {
	// ServerList returns all hosts; Samples may be omitted.
	ServerList(ctx context.Context) ([]model.HostStatus, error)
	// ServerStatus returns one host in full, with Samples and Checks, or ErrNotFound.
	ServerStatus(ctx context.Context, host string) (*model.HostStatus, error)
	// DownList returns the hosts that are down.
	DownList(ctx context.Context) ([]model.HostStatus, error)
	// LastValue returns the last value of one attribute of a series
	// ("service.resource:unit") of a host, and when it was measured.
	LastValue(ctx context.Context, host, series, attr string) (float64, time.Time, error)
	// ServiceList lists the services of a host ("" = all hosts).
	ServiceList(ctx context.Context, host string) ([]model.ServiceStatus, error)
	// History returns the points of one series attribute in [from, to] at step.
	History(ctx context.Context, host, series, attr string, from, to time.Time, step time.Duration) ([]model.Point, error)
	// Downtimes returns the downtimes of host ("" = all) overlapping [from, to].
	Downtimes(ctx context.Context, host string, from, to time.Time) ([]model.Downtime, error)
	// Alarms returns the current state of every alarm.
	Alarms(ctx context.Context) ([]model.AlarmStatus, error)
	// Transitions returns recent alarm/host transitions, newest first.
	Transitions(ctx context.Context, limit int) ([]model.Event, error)
	// Deliveries returns recent delivery states, newest first.
	Deliveries(ctx context.Context, limit int) ([]model.Delivery, error)
	// Rules lists the alarm rules.
	Rules(ctx context.Context) ([]model.RuleInfo, error)
	// AddRule adds a runtime rule; it returns a parse error verbatim.
	AddRule(ctx context.Context, name, expr string) error
	// DeleteRule deletes a runtime rule, or returns ErrNotFound.
	DeleteRule(ctx context.Context, name string) error
	// Maintenance lists the maintenance windows.
	Maintenance(ctx context.Context) ([]model.Maintenance, error)
	// AddMaintenance stores a window and returns it with ID and Created set.
	AddMaintenance(ctx context.Context, m model.Maintenance) (model.Maintenance, error)
	// DeleteMaintenance deletes a window, or returns ErrNotFound.
	DeleteMaintenance(ctx context.Context, id string) error
	// Members returns the cluster status (one entry when not clustered).
	Members(ctx context.Context) ([]model.MemberStatus, error)
}
