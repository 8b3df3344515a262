package actors

import (
	"time"

	"github.com/lookout-mon/lookout/model"
)

// Cluster is what the master's actors ask of the cluster layer (package
// cluster implements it). A nil Cluster means a standalone master: it owns
// every host and its ledger is its own.
//
// Every master runs the same deterministic host and alarm state machines on
// the reports it receives and computes the same notification IDs, so the
// cluster only has to decide who sends (ownership) and remember what was
// sent (the replicated ledger).
type Cluster interface {
	// Owns reports whether this master currently owns the side effects
	// (notifications) of host. host "" is used for master-level
	// notifications (watchdog, notifier failures).
	Owns(host string) bool
	// Delivered reports whether any master recorded notification id as
	// delivered (or given up) on notifier key ("type/name").
	Delivered(id, notifier string) bool
	// RecordDelivery replicates a final ledger entry (sent or failed).
	RecordDelivery(d model.Delivery)
	// LastSeenElsewhere is the latest time another live master heard from host.
	LastSeenElsewhere(host string) time.Time
	// RuleChanged and MaintenanceChanged replicate run-time changes made on
	// this master (deleted=true for removals).
	RuleChanged(ri model.RuleInfo, deleted bool)
	MaintenanceChanged(m model.Maintenance, deleted bool)
	// Members returns the membership as this master sees it.
	Members() []model.MemberStatus
	// Owner names the master that currently owns host ("" if none yet).
	Owner(host string) string
}

// applyRule and applyMaintenance carry replicated changes from peers into
// the actors; they are not replicated again.
type (
	applyRule struct {
		Info    model.RuleInfo
		Deleted bool
	}
	applyMaintenance struct {
		M       model.Maintenance
		Deleted bool
	}
)

// ApplyRemoteRule applies a rule change replicated from a peer.
func (m *Master) ApplyRemoteRule(ri model.RuleInfo, deleted bool) {
	m.engine.Send(m.pids["hosts"], applyRule{Info: ri, Deleted: deleted})
}

// ApplyRemoteMaintenance applies a maintenance change replicated from a peer.
func (m *Master) ApplyRemoteMaintenance(mw model.Maintenance, deleted bool) {
	m.engine.Send(m.pids["router"], applyMaintenance{M: mw, Deleted: deleted})
}

// RecheckOwnership tells notifier actors that ownership may have changed
// (a member joined or died), so held notifications are re-examined at once.
func (m *Master) RecheckOwnership() {
	m.engine.Send(m.pids["notifiers"], kick{})
}

// Notify routes a notification raised outside the actor tree (disk space,
// cluster membership) like any other.
func (m *Master) Notify(n model.Notification, alert string, active bool) {
	if n.Time.IsZero() {
		n.Time = m.opts.Now()
	}
	m.engine.Send(m.pids["router"], notifyMsg{N: n, Alert: alert, Active: active})
}
