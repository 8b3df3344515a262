package web

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// fakeBackend is an in-memory Backend recording the mutations it receives.
type fakeBackend struct {
	mu          sync.Mutex
	hosts       map[string]model.HostStatus
	alarms      []model.AlarmStatus
	rules       []model.RuleInfo
	maint       []model.Maintenance
	downtimes   []model.Downtime
	deliveries  []model.Delivery
	transitions []model.Event
	members     []model.MemberStatus
	points      []model.Point
	// lastHistory records the last History call.
	lastHistory struct {
		host, series, attr string
		from, to           time.Time
		step               time.Duration
	}
	calls   map[string]int
	nextID  int
	failAll error
}

func newFakeBackend() *fakeBackend {
	t0 := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f := &fakeBackend{hosts: map[string]model.HostStatus{}, calls: map[string]int{}}
	f.hosts["web1"] = model.HostStatus{Host: "web1", Up: true, Load: 12, LastSeen: t0, Agent: "web1",
		Samples: []model.Sample{
			{Service: "machine", Resource: "cpu", Unit: "all", Values: map[string]float64{"used_percentage": 12.5}},
			{Service: "machine", Resource: "disk", Unit: "/dev/sda1", Values: map[string]float64{"used_percentage": 40, "free": 1e9}},
		},
		Checks: []model.CheckStatus{{Service: "port", Unit: "sshd (22)", Up: true, Since: t0}}}
	f.hosts["db1"] = model.HostStatus{Host: "db1", Up: false, Load: 0, DownSince: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Hour)}
	f.alarms = []model.AlarmStatus{{Rule: "disk", Expr: "*!machine.disk:*.used_percentage > 90", Host: "web1",
		Series: "machine.disk:/dev/sda1.used_percentage", State: model.AlarmFiring, Level: model.CRIT, Value: 95, Since: t0}}
	f.rules = []model.RuleInfo{{Name: "disk", Expr: "*!machine.disk:*.used_percentage > 90", Source: "config"}}
	f.downtimes = []model.Downtime{{Host: "db1", Service: "host", Start: t0.Add(-time.Hour)}}
	f.members = []model.MemberStatus{{Name: "m1", Address: "127.0.0.1:7470", Alive: true, Self: true, LastSeen: t0}}
	for i := 0; i < 10; i++ {
		v := float64(10 + i)
		f.points = append(f.points, model.Point{T: t0.Add(time.Duration(i-10) * time.Minute), Min: v - 2, Avg: v, Max: v + 3, N: 10})
	}
	return f
}

func (f *fakeBackend) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[name]++
	return f.failAll
}

func (f *fakeBackend) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeBackend) ServerList(context.Context) ([]model.HostStatus, error) {
	if err := f.call("ServerList"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]model.HostStatus, 0, len(f.hosts))
	for _, k := range model.SortedKeys(f.hosts) {
		h := f.hosts[k]
		h.Samples = nil
		out = append(out, h)
	}
	return out, nil
}

func (f *fakeBackend) ServerStatus(_ context.Context, host string) (*model.HostStatus, error) {
	if err := f.call("ServerStatus"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[host]
	if !ok {
		return nil, ErrNotFound
	}
	return &h, nil
}

func (f *fakeBackend) DownList(ctx context.Context) ([]model.HostStatus, error) {
	all, err := f.ServerList(ctx)
	var out []model.HostStatus
	for _, h := range all {
		if !h.Up {
			out = append(out, h)
		}
	}
	return out, err
}

func (f *fakeBackend) LastValue(_ context.Context, host, series, attr string) (float64, time.Time, error) {
	if err := f.call("LastValue"); err != nil {
		return 0, time.Time{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	h, ok := f.hosts[host]
	if !ok {
		return 0, time.Time{}, ErrNotFound
	}
	for _, s := range h.Samples {
		if s.Key() == series {
			if v, ok := s.Values[attr]; ok {
				return v, h.LastSeen, nil
			}
		}
	}
	return 0, time.Time{}, ErrNotFound
}

func (f *fakeBackend) ServiceList(_ context.Context, host string) ([]model.ServiceStatus, error) {
	if err := f.call("ServiceList"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []model.ServiceStatus
	for _, k := range model.SortedKeys(f.hosts) {
		h := f.hosts[k]
		if host != "" && host != k {
			continue
		}
		for _, s := range h.Samples {
			out = append(out, model.ServiceStatus{Host: k, Service: s.Service, Resource: s.Resource, Unit: s.Unit, LastSeen: h.LastSeen})
		}
	}
	return out, nil
}

func (f *fakeBackend) History(_ context.Context, host, series, attr string, from, to time.Time, step time.Duration) ([]model.Point, error) {
	if err := f.call("History"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastHistory.host, f.lastHistory.series, f.lastHistory.attr = host, series, attr
	f.lastHistory.from, f.lastHistory.to, f.lastHistory.step = from, to, step
	return append([]model.Point(nil), f.points...), nil
}

func (f *fakeBackend) Downtimes(_ context.Context, host string, _, _ time.Time) ([]model.Downtime, error) {
	if err := f.call("Downtimes"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []model.Downtime
	for _, d := range f.downtimes {
		if host == "" || d.Host == host {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeBackend) Alarms(context.Context) ([]model.AlarmStatus, error) {
	if err := f.call("Alarms"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.AlarmStatus(nil), f.alarms...), nil
}

func (f *fakeBackend) Transitions(_ context.Context, limit int) ([]model.Event, error) {
	if err := f.call("Transitions"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.transitions
	if len(out) > limit {
		out = out[:limit]
	}
	return append([]model.Event(nil), out...), nil
}

func (f *fakeBackend) Deliveries(_ context.Context, limit int) ([]model.Delivery, error) {
	if err := f.call("Deliveries"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.deliveries
	if len(out) > limit {
		out = out[:limit]
	}
	return append([]model.Delivery(nil), out...), nil
}

func (f *fakeBackend) Rules(context.Context) ([]model.RuleInfo, error) {
	if err := f.call("Rules"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.RuleInfo(nil), f.rules...), nil
}

// errParse is what the fake returns for an expression without an operator.
var errParse = errors.New("parse error at 1:5: expected operator")

func (f *fakeBackend) AddRule(_ context.Context, name, expr string) error {
	if err := f.call("AddRule"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !containsAny(expr, "<>=") {
		return errParse
	}
	f.rules = append(f.rules, model.RuleInfo{Name: name, Expr: expr, Source: "runtime"})
	return nil
}

func containsAny(s, chars string) bool {
	for _, c := range s {
		for _, d := range chars {
			if c == d {
				return true
			}
		}
	}
	return false
}

func (f *fakeBackend) DeleteRule(_ context.Context, name string) error {
	if err := f.call("DeleteRule"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.Name == name {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
			return nil
		}
	}
	return ErrNotFound
}

func (f *fakeBackend) Maintenance(context.Context) ([]model.Maintenance, error) {
	if err := f.call("Maintenance"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.Maintenance(nil), f.maint...), nil
}

func (f *fakeBackend) AddMaintenance(_ context.Context, m model.Maintenance) (model.Maintenance, error) {
	if err := f.call("AddMaintenance"); err != nil {
		return m, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	m.ID = fmt.Sprintf("mw%d", f.nextID)
	f.maint = append(f.maint, m)
	sort.Slice(f.maint, func(i, j int) bool { return f.maint[i].ID < f.maint[j].ID })
	return m, nil
}

func (f *fakeBackend) DeleteMaintenance(_ context.Context, id string) error {
	if err := f.call("DeleteMaintenance"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, m := range f.maint {
		if m.ID == id {
			f.maint = append(f.maint[:i], f.maint[i+1:]...)
			return nil
		}
	}
	return ErrNotFound
}

func (f *fakeBackend) Members(context.Context) ([]model.MemberStatus, error) {
	if err := f.call("Members"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.MemberStatus(nil), f.members...), nil
}

var _ Backend = (*fakeBackend)(nil)
