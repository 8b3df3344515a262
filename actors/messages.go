package actors

import (
	"time"

	"github.com/lookout-mon/lookout/model"
)

// Internal messages between master actors. They never cross the network.

// hostReport carries a committed report to its host actor.
type hostReport struct {
	Report   *model.Report
	Received time.Time
}

// tick drives timeouts; the hosts supervisor forwards it to every host.
type tick struct{}

// hostReports carries one ingest batch of committed reports to the hosts
// supervisor, which forwards each, in order, to its host actor (one
// message per commit instead of one per report).
type hostReports []hostReport

// flush asks the ingest actor to commit its pending batch.
type flush struct{}

// rulesChanged carries the full current rule set to host actors.
type rulesChanged struct{ Rules []*compiledRule }

// statusUpdate is sent by host actors to the query read-model.
// Status has no Samples: they travel compact in Samples, which the
// receiver must not modify (the host actor shares them).
type statusUpdate struct {
	Status  model.HostStatus
	Samples model.CompactSamples
}

// alarmUpdate is sent by alarm actors to the query read-model.
type alarmUpdate struct {
	Key    string
	Status *model.AlarmStatus // nil = removed
}

// deliveryUpdate is sent by notifier actors to the query read-model.
type deliveryUpdate struct{ D model.Delivery }

// notifyMsg asks the router to route a notification.
type notifyMsg struct {
	N model.Notification
	// Alert identifies the alert (host/kind/unit or alarm key) and Active
	// says whether it is still active after this notification (for
	// maintenance windows: an alarm still firing at the window's end
	// notifies once).
	Alert  string
	Active bool
	// Exclude skips one notifier (a failing notifier's own WARN).
	Exclude string
}

// publish hands an event to the stream actor.
type publish struct{ Ev model.Event }

// Query requests (answered with Respond by the query actor).
type (
	qServerList   struct{}
	qServerStatus struct{ Host string }
	qDownList     struct{}
	qAlarms       struct{}
	qTransitions  struct{ Limit int }
	qDeliveries   struct{ Limit int }
	qServiceList  struct{ Host string }
)

// Rule management requests (answered by the hosts supervisor).
type (
	qRules     struct{}
	addRule    struct{ Name, Expr string }
	deleteRule struct{ Name string }
	ruleResult struct{ Err error }
)

// Maintenance requests (answered by the router).
type (
	qMaintenance      struct{}
	addMaintenance    struct{ M model.Maintenance }
	deleteMaintenance struct{ ID string }
	maintResult       struct {
		M   model.Maintenance
		Err error
	}
)

// Ingest statistics request.
type qIngestStats struct{}

// IngestStats counts what the ingest actor accepted and refused.
type IngestStats struct {
	Accepted   uint64 `json:"accepted"`
	Duplicates uint64 `json:"duplicates"`
	// Gaps counts reports that arrived after a gap in their agent's seqs
	// (a report before them was shed or lost). They are held until the
	// agent resends the missing ones (Reordered counts those applied then)
	// unless the bounds on held reports are reached (HeldDropped: the agent
	// resends them too).
	Gaps        uint64 `json:"gaps"`
	Reordered   uint64 `json:"reordered"`
	HeldDropped uint64 `json:"held_dropped"`
	// EarlyDuplicates counts session reports dropped before verification
	// because their seq was applied or held already (resends).
	EarlyDuplicates uint64 `json:"early_duplicates"`
	Rejected        uint64 `json:"rejected"` // unknown agent, bad signature, bad id
	Malformed       uint64 `json:"malformed"`
	RateLimited     uint64 `json:"rate_limited"`
	// Overloaded counts reports shed unacknowledged because signature
	// checking was too far behind.
	Overloaded  uint64 `json:"overloaded"`
	StoreErrors uint64 `json:"store_errors"`
	// Commits counts group commits of accepted reports (Accepted/Commits
	// is the mean batch size).
	Commits uint64 `json:"commits"`
	// HellosAccepted and HellosRefused count session hellos (refused:
	// unknown agent, bad signature, stale or replayed).
	HellosAccepted uint64 `json:"hellos_accepted"`
	HellosRefused  uint64 `json:"hellos_refused"`
	// UnknownSession counts session-authenticated reports refused because
	// their session is unknown (master restarted, session evicted); the
	// agent is told to re-handshake and resends them.
	UnknownSession uint64               `json:"unknown_session"`
	PerAgentSeen   map[string]time.Time `json:"agents_last_seen"`
}
