// Package model holds the data types every part of Lookout shares: agent
// reports, check states, notifications, severity levels, processed events and
// the answers of the query API. It has no behaviour beyond small helpers, and
// it imports nothing from the rest of the module, so every package may use it.
package model

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// ProtocolVersion is the agent->master report protocol version. A master
// accepts reports whose version is at least MinProtocolVersion.
const (
	ProtocolVersion    = 1
	MinProtocolVersion = 1
)

// Level is the severity of a notification.
type Level int8

// Severity levels, lowest first.
const (
	DEBUG Level = iota
	INFO
	WARN
	ERR
	CRIT
)

var levelNames = [...]string{"DEBUG", "INFO", "WARN", "ERR", "CRIT"}

// String returns the upper-case name of l ("WARN").
func (l Level) String() string {
	if l < DEBUG || l > CRIT {
		return fmt.Sprintf("Level(%d)", int8(l))
	}
	return levelNames[l]
}

// ParseLevel parses a level name, case-insensitively. "WARNING", "ERROR" and
// "CRITICAL" are accepted as aliases.
func ParseLevel(s string) (Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return DEBUG, nil
	case "INFO":
		return INFO, nil
	case "WARN", "WARNING":
		return WARN, nil
	case "ERR", "ERROR":
		return ERR, nil
	case "CRIT", "CRITICAL":
		return CRIT, nil
	}
	return 0, fmt.Errorf("unknown level %q (want DEBUG, INFO, WARN, ERR or CRIT)", s)
}

// MarshalText implements encoding.TextMarshaler (JSON, YAML).
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Services a sample can belong to.
const (
	ServiceMachine   = "machine"
	ServicePort      = "port"
	ServiceProcess   = "process"
	ServiceHeartbeat = "heartbeat"
)

// Resource types reported by the agent's collectors.
const (
	ResCPU     = "cpu"
	ResLoad    = "load"
	ResMemory  = "memory"
	ResSwap    = "swap"
	ResDisk    = "disk"
	ResInodes  = "inodes"
	ResDiskIO  = "diskio"
	ResNetwork = "network"
	ResUptime  = "uptime"
	ResPort    = "port"
	ResProcess = "process"
)

// Sample is one measured unit of one resource, e.g. service "machine",
// resource "disk", unit "/dev/sda1", values {"used_percentage": 42.1, ...}.
type Sample struct {
	Service  string             `msgpack:"s" json:"service"`
	Resource string             `msgpack:"r" json:"resource_type"`
	Unit     string             `msgpack:"u" json:"unit"`
	Values   map[string]float64 `msgpack:"v" json:"values"`
}

// Key returns "service.resource:unit", the series key of s without host.
func (s Sample) Key() string { return SeriesKey(s.Service, s.Resource, s.Unit) }

// SeriesKey builds "service.resource:unit".
func SeriesKey(service, resource, unit string) string {
	return service + "." + resource + ":" + unit
}

// Check is the state of a port or process check. The agent sends one when the
// state changes, and one with Initial set for every check when it starts.
type Check struct {
	Service string `msgpack:"s" json:"service"` // ServicePort or ServiceProcess
	Unit    string `msgpack:"u" json:"unit"`    // "sshd (22)", "nginx"
	Up      bool   `msgpack:"up" json:"up"`
	Initial bool   `msgpack:"i" json:"initial"`
	// Retries is how many attempts the check needed; >0 with Up set is a blip.
	Retries int `msgpack:"rt,omitempty" json:"retries,omitempty"`
	// Since is when the check entered this state (unix nanoseconds, agent clock).
	Since int64 `msgpack:"since,omitempty" json:"since,omitempty"`
	// Detail is a short human explanation ("connection refused").
	Detail string `msgpack:"d,omitempty" json:"detail,omitempty"`
}

// Report is one batch of measurements from one agent.
type Report struct {
	Version int    `msgpack:"ver" json:"version"`
	Agent   string `msgpack:"a" json:"agent"`
	// Host is the monitored host's name (defaults to Agent).
	Host string `msgpack:"h" json:"host"`
	// Seq is per agent, monotonic across agent restarts.
	Seq uint64 `msgpack:"q" json:"seq"`
	// Oldest is the lowest seq this uplink still holds unacknowledged when it
	// sent the report. Every seq below it was acknowledged or dropped for good,
	// so a master may apply Seq even if it never saw the seqs between.
	Oldest  uint64   `msgpack:"o" json:"oldest"`
	Time    int64    `msgpack:"t" json:"time"` // unix nanoseconds, agent clock
	Samples []Sample `msgpack:"sm" json:"samples,omitempty"`
	Checks  []Check  `msgpack:"ck" json:"checks,omitempty"`
	// Dropped is the agent's exact count of reports it dropped because the
	// outbox for this master was full.
	Dropped uint64 `msgpack:"dr,omitempty" json:"dropped,omitempty"`
}

// Ack acknowledges every report of Agent up to and including Seq, after
// the master committed them to its store.
type Ack struct {
	Master string `msgpack:"m" json:"master"`
	Agent  string `msgpack:"a" json:"agent"`
	Seq    uint64 `msgpack:"q" json:"seq"`
	// Reject, if set, says why the master refused the report (unknown agent,
	// bad signature). The agent logs it and does not resend forever.
	Reject string `msgpack:"rj,omitempty" json:"reject,omitempty"`
	// Next, if set, is the lowest seq above Seq that the master holds: it
	// arrived after a gap, so the reports between Seq and Next are missing
	// there (lost or shed) and the agent should resend those now, and only
	// those. Older agents ignore it and resend in order from Seq+1.
	Next uint64 `msgpack:"n,omitempty" json:"next,omitempty"`
}

// Notification is what the router fans out to notifiers.
type Notification struct {
	// ID is stable for one transition of one alert, so the same transition seen
	// by several masters or retried has the same ID (dedup key).
	ID      string    `msgpack:"id" json:"id"`
	Level   Level     `msgpack:"l" json:"level"`
	Kind    string    `msgpack:"k" json:"kind"` // UP, DOWN, BLIP, ALARM, SOLVED, WARNING, DOWNTIME, INFO
	Host    string    `msgpack:"h" json:"host"`
	Subject string    `msgpack:"s" json:"subject"`
	Text    string    `msgpack:"x" json:"text"`
	Time    time.Time `msgpack:"t" json:"time"`
	// Attachment is arbitrary msgpack-serialized data (the sample, the rule,
	// the alarm state...).
	Attachment []byte `msgpack:"at,omitempty" json:"attachment,omitempty"`
}

// Notification kinds.
const (
	KindUp       = "UP"
	KindDown     = "DOWN"
	KindBlip     = "BLIP"
	KindAlarm    = "ALARM"
	KindSolved   = "SOLVED"
	KindWarning  = "WARNING"
	KindDowntime = "DOWNTIME"
	KindInfo     = "INFO"
)

// HumanDuration renders d as "2 hours, 5 minutes, 1 second" (whole seconds;
// "0 seconds" for less than a second).
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	secs := int64(d / time.Second)
	if secs == 0 {
		return "0 seconds"
	}
	parts := []struct {
		n    int64
		name string
	}{{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}}
	var out []string
	for _, p := range parts {
		if v := secs / p.n; v > 0 {
			secs -= v * p.n
			name := p.name
			if v != 1 {
				name += "s"
			}
			out = append(out, fmt.Sprintf("%d %s", v, name))
		}
	}
	return strings.Join(out, ", ")
}

// Event is a processed event published on the master's event stream (for the
// dashboard, --debug and the watchdog).
type Event struct {
	Type string    `msgpack:"ty" json:"type"` // see Ev* constants
	Time time.Time `msgpack:"t" json:"time"`
	Host string    `msgpack:"h" json:"host,omitempty"`
	// Exactly one of the following is set, depending on Type.
	Status       *HostStatus   `msgpack:"hs,omitempty" json:"host_status,omitempty"`
	Alarm        *AlarmStatus  `msgpack:"al,omitempty" json:"alarm,omitempty"`
	Notification *Notification `msgpack:"n,omitempty" json:"notification,omitempty"`
	Text         string        `msgpack:"x,omitempty" json:"text,omitempty"`
}

// Event types.
const (
	EvReport       = "report"       // a host's values changed (Status set)
	EvHostState    = "host_state"   // up/down change (Status set)
	EvAlarm        = "alarm"        // alarm transition (Alarm set)
	EvNotification = "notification" // routed notification (Notification set)
	EvSystem       = "system"       // restarts, dead letters, watchdog (Text set)
)

// HostStatus is the query API's view of one host.
type HostStatus struct {
	Host      string    `json:"host"`
	Up        bool      `json:"up"`
	LastSeen  time.Time `json:"last_seen"`
	DownSince time.Time `json:"down_since,omitempty"`
	// Persistent is true when the host has been down longer than the
	// configured persistent-downtime threshold.
	Persistent bool `json:"persistent_downtime"`
	// Load is 0..100: the mean of the host's cpu, memory, disk and inode use.
	Load    float64       `json:"load"`
	Samples []Sample      `json:"samples,omitempty"`
	Checks  []CheckStatus `json:"checks,omitempty"`
	Agent   string        `json:"agent"`
	LastSeq uint64        `json:"last_seq"`
	Dropped uint64        `json:"dropped"`
	// Owner is the master that sends this host's notifications (clustered
	// masters only).
	Owner string `json:"owner,omitempty"`
}

// CheckStatus is the current state of one port or process check of a host.
type CheckStatus struct {
	Service string    `json:"service"`
	Unit    string    `json:"unit"`
	Up      bool      `json:"up"`
	Since   time.Time `json:"since"`
	Detail  string    `json:"detail,omitempty"`
}

// Downtime is one period during which a host, port or process was down.
type Downtime struct {
	Host    string    `msgpack:"h" json:"host"`
	Service string    `msgpack:"s" json:"service"` // "host" for the machine itself
	Unit    string    `msgpack:"u" json:"unit,omitempty"`
	Start   time.Time `msgpack:"st" json:"start"`
	End     time.Time `msgpack:"en" json:"end,omitempty"` // zero while ongoing
	// Persistent is set once the downtime lasted longer than the threshold.
	Persistent bool `msgpack:"p" json:"persistent"`
}

// Duration returns how long d lasted, or has lasted until now if ongoing.
func (d Downtime) Duration(now time.Time) time.Duration {
	if d.End.IsZero() {
		return now.Sub(d.Start)
	}
	return d.End.Sub(d.Start)
}

// AlarmState is the state of one alarm (rule x series).
type AlarmState string

// Alarm states.
const (
	AlarmOK       AlarmState = "ok"
	AlarmPending  AlarmState = "pending"
	AlarmFiring   AlarmState = "firing"
	AlarmResolved AlarmState = "resolved"
)

// AlarmStatus is the query API's view of one alarm.
type AlarmStatus struct {
	Rule      string     `msgpack:"r" json:"rule"`
	Expr      string     `msgpack:"e" json:"expr"`
	Host      string     `msgpack:"h" json:"host"`
	Series    string     `msgpack:"sr" json:"series"` // service.resource:unit.attribute
	State     AlarmState `msgpack:"st" json:"state"`
	Level     Level      `msgpack:"l" json:"level"`
	Value     float64    `msgpack:"v" json:"value"`
	Since     time.Time  `msgpack:"si" json:"since"`
	LastEval  time.Time  `msgpack:"le" json:"last_eval"`
	Flapping  bool       `msgpack:"f,omitempty" json:"flapping,omitempty"`
	Condition string     `msgpack:"c" json:"condition"`
}

// ServiceStatus is one row of the service-list query: a service/unit of a host.
type ServiceStatus struct {
	Host     string    `json:"host"`
	Service  string    `json:"service"`
	Resource string    `json:"resource_type"`
	Unit     string    `json:"unit"`
	Up       *bool     `json:"up,omitempty"` // for port/process checks
	LastSeen time.Time `json:"last_seen"`
}

// SortedKeys returns the keys of m in order (stable output for tests/views).
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Point is one history point of one series attribute: a raw value has
// Min == Avg == Max and N == 1; rollups aggregate N raw values.
type Point struct {
	T   time.Time `msgpack:"t" json:"t"`
	Min float64   `msgpack:"mi" json:"min"`
	Avg float64   `msgpack:"av" json:"avg"`
	Max float64   `msgpack:"ma" json:"max"`
	N   int       `msgpack:"n" json:"n"`
}

// Delivery states.
const (
	DeliveryPending = "pending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed" // gave up (permanent error or give-up time)
)

// Delivery is the delivery state of one notification on one notifier.
type Delivery struct {
	NotificationID string    `msgpack:"id" json:"notification_id"`
	Notifier       string    `msgpack:"nf" json:"notifier"` // "type/name", e.g. "mail/ops"
	State          string    `msgpack:"st" json:"state"`
	Attempts       int       `msgpack:"at" json:"attempts"`
	LastError      string    `msgpack:"le,omitempty" json:"last_error,omitempty"`
	LastAttempt    time.Time `msgpack:"la" json:"last_attempt"`
	Level          Level     `msgpack:"l" json:"level"`
	Subject        string    `msgpack:"s" json:"subject"`
	Host           string    `msgpack:"h" json:"host"`
	Created        time.Time `msgpack:"c" json:"created"`
}

// Maintenance is a maintenance window: notifications for matching hosts are
// held back while it is active. One-off windows have Start/End; recurring
// ones have Every ("daily 02:00", "sunday 03:00") and Duration.
type Maintenance struct {
	ID       string        `msgpack:"id" json:"id"`
	Hosts    string        `msgpack:"h" json:"hosts"` // glob
	Start    time.Time     `msgpack:"s" json:"start,omitempty"`
	End      time.Time     `msgpack:"e" json:"end,omitempty"`
	Every    string        `msgpack:"ev,omitempty" json:"every,omitempty"`
	Duration time.Duration `msgpack:"d,omitempty" json:"duration,omitempty"`
	Reason   string        `msgpack:"r,omitempty" json:"reason,omitempty"`
	Created  time.Time     `msgpack:"c" json:"created"`
	By       string        `msgpack:"b,omitempty" json:"by,omitempty"`
}

// RuleInfo describes one alarm rule for listing.
type RuleInfo struct {
	Name   string `msgpack:"n" json:"name"`
	Expr   string `msgpack:"e" json:"expr"`
	Source string `msgpack:"s" json:"source"` // "config" or "runtime"
}

// MemberStatus is one master of a cluster as seen by this master.
type MemberStatus struct {
	Name     string        `json:"name"`
	Address  string        `json:"address"`
	Alive    bool          `json:"alive"`
	Self     bool          `json:"self"`
	LastSeen time.Time     `json:"last_seen"`
	Lag      time.Duration `json:"replication_lag"`
}
