package actors

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unique"

	"github.com/anthdm/hollywood/actor"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

// checkState is the last known state of one port or process check.
type checkState struct {
	Service    string    `msgpack:"s"`
	Unit       string    `msgpack:"u"`
	Up         bool      `msgpack:"up"`
	Since      time.Time `msgpack:"si"`
	Detail     string    `msgpack:"d,omitempty"`
	Persistent bool      `msgpack:"p,omitempty"`
}

// hostState is what a host actor persists (on every state change).
type hostState struct {
	Host       string                 `msgpack:"h"`
	Agent      string                 `msgpack:"a"`
	Up         bool                   `msgpack:"up"`
	Seen       bool                   `msgpack:"seen"`
	LastSeen   time.Time              `msgpack:"ls"`
	DownSince  time.Time              `msgpack:"ds"`
	Persistent bool                   `msgpack:"p"`
	LastSeq    uint64                 `msgpack:"q"`
	Dropped    uint64                 `msgpack:"dr"`
	Checks     map[string]*checkState `msgpack:"ck"`
}

// host is the actor of one monitored host: up/down, last values, checks,
// downtime tracking; it owns one alarm actor per rule that one of the
// host's values held a threshold of (spawned then, or at start for a rule
// with persisted alarm state): a healthy host has none.
type host struct {
	cfg     HostsConfig
	name    string
	rulesFn func() []*compiledRule
	rules   []*compiledRule // current rule set (from rulesFn at start, then rulesChanged)
	st      hostState
	samples lastValues
	sup     Supervisor
	alarms  map[string]*compiledRule // rule name -> rule with a live alarm child
	dirty   bool
	lastPub time.Time
	// loadedAlarms is set once persisted alarm children were respawned.
	loadedAlarms bool
	// started is when this actor started: the host timeout counts from no
	// earlier than that, since a master that was down (or restarting) cannot
	// tell whether the host was silent meanwhile, and the persisted LastSeen
	// is only as recent as the last state change.
	started time.Time
}

func newHost(cfg HostsConfig, name string, rulesFn func() []*compiledRule) actor.Producer {
	return func() actor.Receiver {
		h := &host{cfg: cfg, name: name, rulesFn: rulesFn,
			alarms: map[string]*compiledRule{}}
		h.sup = Supervisor{Name: "host/" + name, Log: cfg.Log, Recover: cfg.Recover, OnStorm: cfg.OnStorm,
			OnRestart: cfg.OnRestart, Intensity: 5, Window: 10 * time.Second, MinBackoff: cfg.StormBackoff}
		return h
	}
}

func (h *host) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

func (h *host) Receive(c *actor.Context) {
	msg := c.Message()
	if h.sup.Handle(c, msg) {
		return
	}
	switch m := msg.(type) {
	case actor.Started:
		h.started = h.now()
		h.load()
		h.rules = h.rulesFn()
		h.syncAlarms(c, h.rules)
		if h.cfg.Query != nil {
			c.Send(h.cfg.Query, statusUpdate{Status: h.status()})
		}
	case hostReport:
		if h.cfg.Inject != nil {
			h.cfg.Inject(h.name, m.Report)
		}
		h.report(c, m)
	case tick:
		h.tick(c)
	case rulesChanged:
		h.rules = m.Rules
		h.syncAlarms(c, m.Rules)
	}
}

func (h *host) load() {
	ok, err := h.cfg.Store.Get(nsHost, h.name, &h.st)
	if err != nil {
		h.cfg.Log.Error("host: loading state", "host", h.name, "err", err)
	}
	if !ok {
		h.st = hostState{Host: h.name}
	}
	if h.st.Checks == nil {
		h.st.Checks = map[string]*checkState{}
	}
	// The host state is saved on state changes only, but ingest commits the
	// agent's last applied seq with every batch: after a crash that is the
	// truth for last_seq.
	if h.st.Agent != "" {
		var seq uint64
		if ok, err := h.cfg.Store.Get(nsSeq, h.st.Agent, &seq); err == nil && ok && seq > h.st.LastSeq {
			h.st.LastSeq = seq
		}
	}
	// Likewise LastSeen: ingest commits it with every batch.
	var seen time.Time
	if ok, err := h.cfg.Store.Get(nsSeen, h.name, &seen); err == nil && ok && seen.After(h.st.LastSeen) {
		h.st.LastSeen = seen
	}
	h.loadLast()
}

// loadLast loads the host's last values: the per-resource keys ingest
// writes (nsLastRes), then the legacy per-unit keys (nsLast, written
// before) of resources that have no per-resource key yet. Legacy keys of a
// resource that has one are stale and are deleted.
func (h *host) loadLast() {
	resources := map[string]bool{} // service.resource with a per-resource key
	err := h.cfg.Store.List(nsLastRes, h.name+"|", func(key string, raw []byte) error {
		var ss []model.Sample
		if err := store.Decode(raw, &ss); err != nil {
			h.cfg.Log.Warn("host: skipping unreadable last values", "host", h.name, "key", key, "err", err)
			return nil
		}
		resources[key[len(h.name)+1:]] = true
		for _, s := range ss {
			h.samples.set(s)
		}
		return nil
	})
	if err != nil {
		h.cfg.Log.Error("host: loading last values", "host", h.name, "err", err)
	}
	var stale []string
	err = h.cfg.Store.List(nsLast, h.name+"|", func(key string, raw []byte) error {
		var s model.Sample
		if err := store.Decode(raw, &s); err != nil {
			h.cfg.Log.Warn("host: skipping an unreadable legacy last value", "host", h.name, "key", key, "err", err)
			return nil
		}
		if resources[s.Service+"."+s.Resource] {
			stale = append(stale, key)
			return nil
		}
		h.samples.set(s)
		return nil
	})
	if err != nil {
		h.cfg.Log.Error("host: loading legacy last values", "host", h.name, "err", err)
	}
	if len(stale) > 0 {
		b := h.cfg.Store.Batch()
		for _, k := range stale {
			b.Delete(nsLast, k)
		}
		if err := b.Commit(false); err != nil {
			h.cfg.Log.Warn("host: deleting superseded legacy last values", "host", h.name, "keys", len(stale), "err", err)
		}
	}
}

func (h *host) save() {
	if err := h.cfg.Store.Put(nsHost, h.name, &h.st); err != nil {
		h.cfg.Log.Error("host: saving state", "host", h.name, "err", err)
	}
}

// notifID derives a stable notification ID from the transition's identity,
// so every master computes the same ID for the same transition.
func notifID(parts ...any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:12])
}

func (h *host) emit(c *actor.Context, n model.Notification, alert string, active bool, attach any) {
	if n.Time.IsZero() {
		n.Time = h.now()
	}
	n.Host = h.name
	if attach != nil {
		if b, err := msgpack.Marshal(attach); err == nil {
			n.Attachment = b
		}
	}
	c.Send(h.cfg.Router, notifyMsg{N: n, Alert: alert, Active: active})
}

func (h *host) report(c *actor.Context, m hostReport) {
	r := m.Report
	now := m.Received
	wasUp, seen := h.st.Up, h.st.Seen
	h.st.Seen = true
	h.st.Agent = r.Agent
	h.st.LastSeen = now
	h.st.LastSeq = r.Seq
	h.st.Dropped = r.Dropped
	changed := false
	if !wasUp {
		h.st.Up = true
		changed = true
		switch {
		case !seen:
			h.emit(c, model.Notification{ID: notifID(h.name, "new", r.Seq), Level: model.INFO, Kind: model.KindUp,
				Subject: h.name + " is reporting (new host)", Text: fmt.Sprintf("First report from agent %s.", r.Agent)},
				"host", false, nil)
		default:
			down := now.Sub(h.st.DownSince)
			h.emit(c, model.Notification{ID: notifID(h.name, "up", r.Seq), Level: model.INFO, Kind: model.KindUp,
				Subject: h.name + " is up", Text: fmt.Sprintf("%s is up again (was down for %s).", h.name, model.HumanDuration(down))},
				"host", false, nil)
			h.endDowntime("host", "", h.st.DownSince, now, h.st.Persistent)
		}
		h.st.DownSince = time.Time{}
		h.st.Persistent = false
	}
	for _, s := range r.Samples {
		h.samples.set(s)
	}
	for _, ck := range r.Checks {
		if h.check(c, r, ck, now) {
			changed = true
		}
	}
	if changed {
		h.save()
		h.pushStatus(c, true)
	} else {
		h.dirty = true
		if h.cfg.Debug {
			h.pushStatus(c, false)
		}
	}
	h.evalAlarms(c, r)
}

func (h *host) check(c *actor.Context, r *model.Report, ck model.Check, now time.Time) bool {
	key := ck.Service + "|" + ck.Unit
	prev, known := h.st.Checks[key]
	what := fmt.Sprintf("%s %s", ck.Service, ck.Unit)
	alert := "check|" + key
	changed := false
	switch {
	case !known:
		h.st.Checks[key] = &checkState{Service: ck.Service, Unit: ck.Unit, Up: ck.Up, Since: now, Detail: ck.Detail}
		changed = true
		if !ck.Up {
			h.emit(c, model.Notification{ID: notifID(h.name, "down", key, r.Seq), Level: model.ERR, Kind: model.KindDown,
				Subject: fmt.Sprintf("%s: %s is down", h.name, what), Text: detail(ck.Detail)}, alert, true, ck)
			h.startDowntime(ck.Service, ck.Unit, now)
		}
	case prev.Up != ck.Up:
		dur := now.Sub(prev.Since)
		if ck.Up {
			h.emit(c, model.Notification{ID: notifID(h.name, "up", key, r.Seq), Level: model.INFO, Kind: model.KindUp,
				Subject: fmt.Sprintf("%s: %s is up", h.name, what),
				Text:    fmt.Sprintf("%s on %s is up again (was down for %s).", what, h.name, model.HumanDuration(dur))}, alert, false, ck)
			h.endDowntime(ck.Service, ck.Unit, prev.Since, now, prev.Persistent)
		} else {
			h.emit(c, model.Notification{ID: notifID(h.name, "down", key, r.Seq), Level: model.ERR, Kind: model.KindDown,
				Subject: fmt.Sprintf("%s: %s is down", h.name, what),
				Text:    fmt.Sprintf("%s on %s is down (was up for %s). %s", what, h.name, model.HumanDuration(dur), ck.Detail)}, alert, true, ck)
			h.startDowntime(ck.Service, ck.Unit, now)
		}
		*prev = checkState{Service: ck.Service, Unit: ck.Unit, Up: ck.Up, Since: now, Detail: ck.Detail}
		changed = true
	}
	if ck.Up && ck.Retries > 0 && !ck.Initial {
		h.emit(c, model.Notification{ID: notifID(h.name, "blip", key, r.Seq), Level: model.WARN, Kind: model.KindBlip,
			Subject: fmt.Sprintf("%s: %s blipped", h.name, what),
			Text:    fmt.Sprintf("%s on %s needed %d retries but stayed up. %s", what, h.name, ck.Retries, ck.Detail)}, "blip|"+key, false, ck)
	}
	return changed
}

func detail(s string) string {
	if s == "" {
		return "The check failed."
	}
	return s
}

func (h *host) startDowntime(service, unit string, start time.Time) {
	if err := h.cfg.Store.PutDowntime(model.Downtime{Host: h.name, Service: service, Unit: unit, Start: start}); err != nil {
		h.cfg.Log.Error("host: recording downtime", "host", h.name, "err", err)
	}
}

func (h *host) endDowntime(service, unit string, start, end time.Time, persistent bool) {
	if start.IsZero() {
		return
	}
	if err := h.cfg.Store.PutDowntime(model.Downtime{Host: h.name, Service: service, Unit: unit, Start: start, End: end, Persistent: persistent}); err != nil {
		h.cfg.Log.Error("host: recording downtime end", "host", h.name, "err", err)
	}
}

func (h *host) tick(c *actor.Context) {
	now := h.now()
	changed := false
	lastSeen := h.st.LastSeen
	if h.started.After(lastSeen) {
		lastSeen = h.started
	}
	if h.cfg.Cluster != nil {
		// DOWN only when no live master heard from the host in time.
		if t := h.cfg.Cluster.LastSeenElsewhere(h.name); t.After(lastSeen) {
			lastSeen = t
		}
	}
	if h.st.Up && h.cfg.HostTimeout > 0 && now.Sub(lastSeen) > h.cfg.HostTimeout {
		h.st.Up = false
		h.st.DownSince = h.st.LastSeen
		changed = true
		h.emit(c, model.Notification{ID: notifID(h.name, "hostdown", h.st.LastSeq), Level: model.ERR, Kind: model.KindDown,
			Subject: h.name + " is down",
			Text: fmt.Sprintf("No report from %s for %s (timeout %s); last seen %s.", h.name,
				model.HumanDuration(now.Sub(h.st.LastSeen)), h.cfg.HostTimeout, h.st.LastSeen.UTC().Format(time.RFC3339))},
			"host", true, nil)
		h.startDowntime("host", "", h.st.DownSince)
	}
	if h.st.Seen && !h.st.Up && !h.st.Persistent && h.cfg.PersistentDowntime > 0 && now.Sub(h.st.DownSince) > h.cfg.PersistentDowntime {
		h.st.Persistent = true
		changed = true
		h.emit(c, model.Notification{ID: notifID(h.name, "persistent", h.st.LastSeq), Level: model.CRIT, Kind: model.KindDowntime,
			Subject: h.name + " has been down for " + model.HumanDuration(now.Sub(h.st.DownSince)),
			Text:    fmt.Sprintf("%s is down since %s: persistent downtime.", h.name, h.st.DownSince.UTC().Format(time.RFC3339))},
			"host", true, nil)
		_ = h.cfg.Store.PutDowntime(model.Downtime{Host: h.name, Service: "host", Start: h.st.DownSince, Persistent: true})
	}
	if h.st.Up {
		for key, ck := range h.st.Checks {
			if !ck.Up && !ck.Persistent && h.cfg.PersistentDowntime > 0 && now.Sub(ck.Since) > h.cfg.PersistentDowntime {
				ck.Persistent = true
				changed = true
				what := ck.Service + " " + ck.Unit
				h.emit(c, model.Notification{ID: notifID(h.name, "persistent", key, ck.Since.UnixNano()), Level: model.CRIT, Kind: model.KindDowntime,
					Subject: fmt.Sprintf("%s: %s has been down for %s", h.name, what, model.HumanDuration(now.Sub(ck.Since))),
					Text:    fmt.Sprintf("%s on %s is down since %s: persistent downtime.", what, h.name, ck.Since.UTC().Format(time.RFC3339))},
					"check|"+key, true, nil)
				_ = h.cfg.Store.PutDowntime(model.Downtime{Host: h.name, Service: ck.Service, Unit: ck.Unit, Start: ck.Since, Persistent: true})
			}
		}
	}
	if changed {
		h.save()
		h.pushStatus(c, true)
	} else if h.dirty && time.Since(h.lastPub) >= time.Second {
		h.pushStatus(c, false)
	}
}

// Status builds the query view of the host.
func (h *host) status() model.HostStatus {
	s := model.HostStatus{Host: h.name, Up: h.st.Up, LastSeen: h.st.LastSeen, DownSince: h.st.DownSince,
		Persistent: h.st.Persistent, Agent: h.st.Agent, LastSeq: h.st.LastSeq, Dropped: h.st.Dropped}
	s.Samples = h.samples.list()
	for _, k := range model.SortedKeys(h.st.Checks) {
		ck := h.st.Checks[k]
		s.Checks = append(s.Checks, model.CheckStatus{Service: ck.Service, Unit: ck.Unit, Up: ck.Up, Since: ck.Since, Detail: ck.Detail})
	}
	s.Load = HostLoad(s.Samples)
	return s
}

// intern returns the canonical copy of s (package unique): the names of
// series and attributes repeat on every host, and the history store keeps
// them interned, so the last values of all hosts share one copy of each.
func intern(s string) string { return unique.Make(s).Value() }

// lastValues is a host's last sample of each series, sorted by series key:
// a slice, which costs a third of a map of the same samples.
type lastValues []keyedSample

// keyedSample is a sample and its (interned) series key.
type keyedSample struct {
	key string
	s   model.Sample
}

// set stores s as the last sample of its series.
func (lv *lastValues) set(s model.Sample) {
	key := s.Key()
	i, found := slices.BinarySearchFunc(*lv, key, func(e keyedSample, k string) int { return strings.Compare(e.key, k) })
	if found {
		(*lv)[i].s = compactSample(s)
		return
	}
	// Reallocated at the exact size: a new series is rare after the first
	// report, and spare capacity would be kept per host.
	grown := make([]keyedSample, len(*lv)+1)
	copy(grown, (*lv)[:i])
	grown[i] = keyedSample{key: intern(key), s: compactSample(s)}
	copy(grown[i+1:], (*lv)[i:])
	*lv = grown
}

// list returns the samples in series key order, in a new slice.
func (lv lastValues) list() []model.Sample {
	if len(lv) == 0 {
		return nil
	}
	out := make([]model.Sample, len(lv))
	for i, e := range lv {
		out[i] = e.s
	}
	return out
}

// compactSample returns the copy of s a host actor keeps as its last value:
// names interned and the values in a map of their own with interned keys,
// so the strings decoded from each report (about 40 attribute names) are
// not kept per host. The report's map is not modified: alarm actors read it
// concurrently. The copy is never mutated either, so the query read-model
// shares it.
func compactSample(s model.Sample) model.Sample {
	out := model.Sample{Service: intern(s.Service), Resource: intern(s.Resource), Unit: intern(s.Unit)}
	if s.Values != nil {
		out.Values = make(map[string]float64, len(s.Values))
		for k, v := range s.Values {
			out.Values[intern(k)] = v
		}
	}
	return out
}

// HostLoad is the mean use (0..100) of a host's cpu (total), memory,
// fullest disk and fullest inode table: what the dashboard colours by.
func HostLoad(samples []model.Sample) float64 {
	var cpu, mem, disk, inodes float64 = -1, -1, -1, -1
	for _, s := range samples {
		v, ok := s.Values["used_percentage"]
		if !ok {
			continue
		}
		switch s.Resource {
		case model.ResCPU:
			if s.Unit == "total" {
				cpu = v
			}
		case model.ResMemory:
			mem = v
		case model.ResDisk:
			disk = max(disk, v)
		case model.ResInodes:
			inodes = max(inodes, v)
		}
	}
	sum, n := 0.0, 0
	for _, v := range []float64{cpu, mem, disk, inodes} {
		if v >= 0 {
			sum += min(v, 100)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func (h *host) pushStatus(c *actor.Context, stateChange bool) {
	st := h.status()
	h.dirty = false
	h.lastPub = time.Now() // wall time: throttling must not depend on the (test) clock
	if h.cfg.Query != nil {
		c.Send(h.cfg.Query, statusUpdate{Status: st})
	}
	if h.cfg.Stream != nil {
		ty := model.EvReport
		if stateChange {
			ty = model.EvHostState
		}
		c.Send(h.cfg.Stream, publish{Ev: model.Event{Type: ty, Time: h.now(), Host: h.name, Status: &st}})
	}
}
