package actors

import (
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

const (
	maxTransitions = 500
	maxDeliveries  = 1000
)

// query is the master's read-model: host actors, alarm actors, notifier
// actors and the stream push their changes here, and the query API and
// dashboard read from it with Requests, so no query ever waits on a busy
// host actor.
type query struct {
	hosts       map[string]*hostEntry
	alarms      map[string]model.AlarmStatus
	transitions []model.Event // newest last
	deliveries  map[string]model.Delivery
	order       []string // delivery keys, oldest first
	st          *store.Store
	log         *slog.Logger
}

// hostEntry is the read-model of one host: its status without samples,
// and its samples compact, shared with its host actor (never modified
// here); the query answers build model.Sample values from them on demand.
// The hosts map holds pointers, updated in place: its slots stay small, so
// the spare slots of a growing map cost little per host. The entry keeps
// only the fields a host actor sets (176 bytes where a model.HostStatus
// and the samples take 240); the host's name is the map key.
type hostEntry struct {
	lastSeen, downSince time.Time
	load                float64
	checks              []model.CheckStatus
	agent               string
	lastSeq, dropped    uint64
	up, persistent      bool
	samples             model.CompactSamples
}

// set stores the status of a statusUpdate (whose Samples field is unused).
func (e *hostEntry) set(st model.HostStatus, samples model.CompactSamples) {
	*e = hostEntry{lastSeen: st.LastSeen, downSince: st.DownSince, load: st.Load, checks: st.Checks, agent: st.Agent,
		lastSeq: st.LastSeq, dropped: st.Dropped, up: st.Up, persistent: st.Persistent, samples: samples}
}

// status returns the status of host without its samples.
func (e *hostEntry) status(host string) model.HostStatus {
	return model.HostStatus{Host: host, Up: e.up, LastSeen: e.lastSeen, DownSince: e.downSince, Persistent: e.persistent,
		Load: e.load, Checks: e.checks, Agent: e.agent, LastSeq: e.lastSeq, Dropped: e.dropped}
}

// full returns the status of host with its samples.
func (e *hostEntry) full(host string) model.HostStatus {
	h := e.status(host)
	h.Samples = expandSamples(e.samples)
	return h
}

// deliveriesLoaded carries the newest entries of the durable delivery
// ledger, read when the query actor starts, so `deliveries` still lists
// what was sent before a restart (or a crash of this actor).
type deliveriesLoaded struct{ D []model.Delivery }

// newQuery returns the query actor; with a store it loads the newest
// deliveries from the ledger when it starts.
func newQuery(st *store.Store, log *slog.Logger) actor.Producer {
	return func() actor.Receiver {
		return &query{hosts: map[string]*hostEntry{}, alarms: map[string]model.AlarmStatus{},
			deliveries: map[string]model.Delivery{}, st: st, log: log}
	}
}

// loadDeliveries reads the ledger (off the actor's goroutine: it can be
// large) and keeps the newest maxDeliveries entries, oldest first.
func loadDeliveries(st *store.Store, log *slog.Logger) []model.Delivery {
	var ds []model.Delivery
	newestFirst := func() {
		sort.Slice(ds, func(i, j int) bool { return ds[i].LastAttempt.After(ds[j].LastAttempt) })
		ds = ds[:min(len(ds), maxDeliveries)]
	}
	err := st.List(nsLedger, "", func(key string, raw []byte) error {
		var d model.Delivery
		if err := store.Decode(raw, &d); err != nil {
			if log != nil {
				log.Warn("ledger entry unreadable; not listed", "key", key, "err", err)
			}
			return nil
		}
		ds = append(ds, d)
		if len(ds) >= 2*maxDeliveries {
			newestFirst()
		}
		return nil
	})
	if err != nil && log != nil {
		log.Error("loading delivery ledger for queries", "err", err)
	}
	newestFirst()
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	return ds
}

func (q *query) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		if q.st != nil {
			eng, self, st, log := c.Engine(), c.PID(), q.st, q.log
			go func() { eng.Send(self, deliveriesLoaded{D: loadDeliveries(st, log)}) }()
		}
	case deliveriesLoaded:
		// Live updates that arrived meanwhile are newer: they win and stay last.
		var order []string
		for _, d := range m.D {
			k := d.NotificationID + "|" + d.Notifier
			if _, live := q.deliveries[k]; !live {
				q.deliveries[k] = d
				order = append(order, k)
			}
		}
		q.order = append(order, q.order...)
		for len(q.order) > maxDeliveries {
			delete(q.deliveries, q.order[0])
			q.order = q.order[1:]
		}
	case statusUpdate:
		e := q.hosts[m.Status.Host]
		if e == nil {
			e = &hostEntry{}
			q.hosts[m.Status.Host] = e
		}
		e.set(m.Status, m.Samples)
	case alarmUpdate:
		if m.Status == nil {
			delete(q.alarms, m.Key)
		} else {
			q.alarms[m.Key] = *m.Status
		}
	case deliveryUpdate:
		k := m.D.NotificationID + "|" + m.D.Notifier
		if _, ok := q.deliveries[k]; !ok {
			q.order = append(q.order, k)
			if len(q.order) > maxDeliveries {
				delete(q.deliveries, q.order[0])
				q.order = q.order[1:]
			}
		}
		q.deliveries[k] = m.D
	case publish:
		if m.Ev.Type == model.EvHostState || m.Ev.Type == model.EvAlarm || m.Ev.Type == model.EvNotification {
			q.transitions = append(q.transitions, transition(m.Ev))
			if len(q.transitions) > maxTransitions {
				q.transitions = q.transitions[len(q.transitions)-maxTransitions:]
			}
		}
	case qServerList:
		out := make([]model.HostStatus, 0, len(q.hosts))
		for _, k := range model.SortedKeys(q.hosts) {
			out = append(out, q.hosts[k].status(k))
		}
		c.Respond(out)
	case qServerStatus:
		e, ok := q.hosts[m.Host]
		if !ok {
			c.Respond((*model.HostStatus)(nil))
			return
		}
		h := e.full(m.Host)
		c.Respond(&h)
	case qDownList:
		out := []model.HostStatus{}
		for _, k := range model.SortedKeys(q.hosts) {
			h := q.hosts[k].status(k)
			down := !h.Up
			var checks []model.CheckStatus
			for _, ck := range h.Checks {
				if !ck.Up {
					checks = append(checks, ck)
				}
			}
			if down || len(checks) > 0 {
				h.Checks = checks
				out = append(out, h)
			}
		}
		c.Respond(out)
	case qServiceList:
		out := []model.ServiceStatus{}
		for _, k := range model.SortedKeys(q.hosts) {
			if m.Host != "" && m.Host != k {
				continue
			}
			e := q.hosts[k]
			h := e.status(k)
			for _, s := range e.samples.Shapes {
				if s.Service == model.ServicePort || s.Service == model.ServiceProcess {
					continue // reported with their check state below
				}
				out = append(out, model.ServiceStatus{Host: k, Service: s.Service, Resource: s.Resource, Unit: s.Unit, LastSeen: h.LastSeen})
			}
			for _, ck := range h.Checks {
				up := ck.Up
				out = append(out, model.ServiceStatus{Host: k, Service: ck.Service, Resource: ck.Service, Unit: ck.Unit, Up: &up, LastSeen: h.LastSeen})
			}
		}
		c.Respond(out)
	case qAlarms:
		out := make([]model.AlarmStatus, 0, len(q.alarms))
		for _, k := range model.SortedKeys(q.alarms) {
			out = append(out, q.alarms[k])
		}
		sort.SliceStable(out, func(i, j int) bool {
			if out[i].State != out[j].State {
				return out[i].State == model.AlarmFiring
			}
			return out[i].Level > out[j].Level
		})
		c.Respond(out)
	case qTransitions:
		n := min(max(m.Limit, 1), len(q.transitions))
		out := make([]model.Event, 0, n)
		for i := len(q.transitions) - 1; i >= 0 && len(out) < n; i-- {
			out = append(out, q.transitions[i])
		}
		c.Respond(out)
	case qDeliveries:
		n := min(max(m.Limit, 1), len(q.order))
		out := make([]model.Delivery, 0, n)
		for i := len(q.order) - 1; i >= 0 && len(out) < n; i-- {
			out = append(out, q.deliveries[q.order[i]])
		}
		c.Respond(out)
	}
}

// transition is ev as the transition list keeps it: a host state change
// without the host's samples. The list only shows the state (what
// changed, when); the samples (about 1.8 KiB per agent-shaped host as maps)
// are in the host's entry, and keeping them for each of the last
// maxTransitions events held almost 1 MiB of stale values. ev.Status is
// shared with the event's subscribers, so it is copied, not modified.
func transition(ev model.Event) model.Event {
	if ev.Status != nil && ev.Status.Samples != nil {
		st := *ev.Status
		st.Samples = nil
		ev.Status = &st
	}
	return ev
}

// lastValue looks up one attribute in a host status.
func lastValue(h *model.HostStatus, series, attr string) (float64, bool) {
	for _, s := range h.Samples {
		if s.Key() == series || strings.EqualFold(s.Key(), series) {
			v, ok := s.Values[attr]
			return v, ok
		}
	}
	return 0, false
}
