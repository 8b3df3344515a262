package actors

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

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
	Persistent bool                   `msgpack:"p"` // beside the other bools: 8 bytes less per host
	LastSeen   time.Time              `msgpack:"ls"`
	DownSince  time.Time              `msgpack:"ds"`
	LastSeq    uint64                 `msgpack:"q"`
	Dropped    uint64                 `msgpack:"dr"`
	Checks     map[string]*checkState `msgpack:"ck"`
}

// host is the actor of one monitored host: up/down, last values, checks,
// downtime tracking; it owns one alarm actor per rule that one of the
// host's values held a threshold of (spawned then, or at start for a rule
// with persisted alarm state): a healthy host has none.
type host struct {
	cfg     *HostsConfig // shared by every host actor (read only)
	name    string
	rules   []*compiledRule // current rule set (from cfg.rules at start, then rulesChanged)
	st      hostState
	samples lastValues
	// sup supervises the alarm children; nil until the first one is
	// spawned (a healthy host has none).
	sup    *Supervisor
	alarms map[string]*compiledRule // rule name -> rule with a live alarm child; nil when none
	// lastPub is when the status was last pushed, on the monotonic clock
	// (since epoch): throttling must not depend on the (test) clock.
	lastPub time.Duration
	dirty   bool
	// loadedAlarms is set once persisted alarm children were respawned.
	loadedAlarms bool
	// ckDirty is set when samples changed since the last checkpoint
	// (nsHostLast); ckAt is when that was written (or the actor started)
	// and newestT the time of the newest report applied to samples (unix
	// nanoseconds: cfg.Now and the agent's clock).
	ckDirty bool
	ckAt    int64
	newestT int64
	// started is when this actor started: the host timeout counts from no
	// earlier than that, since a master that was down (or restarting) cannot
	// tell whether the host was silent meanwhile, and the persisted LastSeen
	// is only as recent as the last state change.
	// (Unix nanoseconds: 8 bytes where a time.Time takes 24.)
	started int64
}

// epoch is the origin of host.lastPub, an hour before the process started,
// so that a host that never pushed its status counts as having pushed long
// ago. It carries a monotonic clock reading, as time.Since needs.
var epoch = time.Now().Add(-time.Hour)

// newHost returns the producer of host name's actor; cfg.rules must be set.
func newHost(cfg *HostsConfig, name string) actor.Producer {
	return func() actor.Receiver {
		return &host{cfg: cfg, name: name}
	}
}

// supervisor returns the supervisor of the host's alarm children, created
// on first use.
func (h *host) supervisor() *Supervisor {
	if h.sup == nil {
		cfg := h.cfg
		h.sup = &Supervisor{Name: "host/" + h.name, Log: cfg.Log, Recover: cfg.Recover, OnStorm: cfg.OnStorm,
			OnRestart: cfg.OnRestart, Intensity: 5, Window: 10 * time.Second, MinBackoff: cfg.StormBackoff}
	}
	return h.sup
}

func (h *host) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

func (h *host) Receive(c *actor.Context) {
	msg := c.Message()
	if h.sup != nil && h.sup.Handle(c, msg) {
		return
	}
	switch m := msg.(type) {
	case actor.Started:
		h.started = h.now().UnixNano()
		h.load()
		h.rules = h.cfg.rules()
		h.syncAlarms(c, h.rules)
		if h.cfg.Query != nil {
			c.Send(h.cfg.Query, h.update())
		}
	case hostReport:
		if h.cfg.Inject != nil {
			h.cfg.Inject(h.name, m.Report)
		}
		h.report(c, m)
	case tick:
		h.tick(c)
		h.maybeCheckpoint()
	case actor.Stopped:
		// Graceful shutdown: checkpoint what changed, so the next start
		// replays nothing. (An incarnation that panicked never gets here:
		// Recover drops its messages.)
		if h.ckDirty {
			h.checkpoint()
		}
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
		h.st = hostState{}
	}
	// The name is kept once: the stored copy is dropped.
	h.st.Host = h.name
	if h.st.Agent == h.name {
		h.st.Agent = h.name // usually the same: keep one string
	}
	// The host state is saved on state changes only, but ingest commits the
	// newest report's seq and arrival with every batch (nsHostSeq; the
	// checkpoint nsHostLast and the legacy nsSeq and nsSeen keys of older
	// versions hold older or equal ones): after a crash that is the truth
	// for last_seq and last_seen.
	var lv store.LastValues
	okLV, err := h.cfg.Store.Get(nsHostLast, h.name, &lv)
	if err != nil {
		h.cfg.Log.Warn("host: skipping unreadable last values", "host", h.name, "err", err)
		lv, okLV = store.LastValues{}, false
	}
	var hs store.HostSeq
	if ok, err := h.cfg.Store.Get(nsHostSeq, h.name, &hs); err != nil {
		h.cfg.Log.Warn("host: skipping an unreadable seq", "host", h.name, "err", err)
	} else if ok {
		h.seenSeq(hs.Agent, hs.Seq, hs.Seen)
	}
	if okLV {
		h.seenSeq(lv.Agent, lv.Seq, lv.Seen)
	}
	if h.st.Agent != "" {
		var seq uint64
		if ok, err := h.cfg.Store.Get(nsSeq, h.st.Agent, &seq); err == nil && ok && seq > h.st.LastSeq {
			h.st.LastSeq = seq
		}
	}
	var seen time.Time
	if ok, err := h.cfg.Store.Get(nsSeen, h.name, &seen); err == nil && ok && seen.After(h.st.LastSeen) {
		h.st.LastSeen = seen
	}
	h.loadLast(lv.Samples)
	// The checkpoint holds the values up to the report of time T; the raw
	// reports after T (committed with each report) bring it up to date.
	// A key of an older version (no T) was a complete snapshot when its
	// report arrived (Seen): replay from then. No key: replay every raw
	// report still kept (a host that never reached its first checkpoint).
	from := lv.T + 1
	switch {
	case !okLV:
		from = 0
	case lv.T == 0:
		from = lv.Seen
	}
	h.newestT = lv.T
	h.ckAt = h.now().UnixNano()
	h.replay(from)
}

// seenSeq raises the host's last seq (if its agent is agent) and last seen
// time to those of a stored key.
func (h *host) seenSeq(agent string, seq uint64, seen int64) {
	if h.st.Agent != "" && agent == h.st.Agent && seq > h.st.LastSeq {
		h.st.LastSeq = seq
	}
	if t := time.Unix(0, seen); seen != 0 && t.After(h.st.LastSeen) {
		h.st.LastSeen = t
	}
}

// replay applies the host's raw reports of time from or later, in time
// order, to its last values, with the rules of a live report (see
// lastValues.apply). A raw report keeps only series names: a series the
// host holds gets its service, resource and unit from there, others are
// split by store.SplitSeries.
func (h *host) replay(from int64) {
	n := 0
	err := h.cfg.Store.Reports(h.name, from, func(t int64, samples []model.Sample) error {
		for i := range samples {
			if sh := h.samples.shape(samples[i].Key()); sh != nil {
				samples[i].Service, samples[i].Resource, samples[i].Unit = sh.Service, sh.Resource, sh.Unit
			}
		}
		h.samples.apply(samples)
		h.newestT = max(h.newestT, t)
		n++
		return nil
	})
	if err != nil {
		h.cfg.Log.Error("host: replaying raw reports after the last-values checkpoint", "host", h.name, "replayed", n, "err", err)
	}
	if n > 0 {
		// Checkpoint at the next opportunity, so a later start replays less.
		h.ckDirty = true
	}
}

// Durability of last values (checkpoint + log). The ingest acks a report
// only once its raw history entry and its host's seq (nsHostSeq) are
// committed (badger's WAL: that survives a kill -9 of the process, not a
// power loss). The host actor checkpoints its last values (nsHostLast) at
// most every checkpointEvery while they change, on its tick when idle, and
// when it stops; a start replays the raw reports after the checkpoint. So
// after any restart the last values are those of every acked report,
// except a report whose raw entry was not kept: older than RawRetention
// when it arrived, or stored while the history was read-only (disk low);
// and after a crash a report whose time (the agent's clock) is not after
// the checkpoint's T although it was applied after it (a clock set back).

// checkpointEvery is how often at most a host actor writes its last
// values (nsHostLast) while they change: every report's raw entry is
// committed by the ingest anyway, so this only bounds what a start after a
// crash replays. It is shorter when the raw history is kept less than
// twice as long, so the raw reports after a checkpoint are never expired.
func (h *host) checkpointEvery() time.Duration {
	return min(time.Minute, h.cfg.Store.RawRetention()/2)
}

// maybeCheckpoint writes the checkpoint if the last values changed and the
// last one is checkpointEvery old.
func (h *host) maybeCheckpoint() {
	if h.ckDirty && h.now().UnixNano()-h.ckAt >= int64(h.checkpointEvery()) {
		h.checkpoint()
	}
}

// checkpoint writes the host's last values, agent, seq, arrival and the
// time of its newest applied report to nsHostLast. A failed write is
// logged and retried checkpointEvery later.
func (h *host) checkpoint() {
	h.ckAt = h.now().UnixNano()
	lv := store.LastValues{Agent: h.st.Agent, Seq: h.st.LastSeq, Samples: h.samples.list(), T: h.newestT}
	if !h.st.LastSeen.IsZero() {
		lv.Seen = h.st.LastSeen.UnixNano()
	}
	if err := h.cfg.Store.Put(nsHostLast, h.name, &lv); err != nil {
		h.cfg.Log.Error("host: writing the last-values checkpoint", "host", h.name, "err", err)
		return
	}
	h.ckDirty = false
}

// loadLast loads the host's last values: cur (from the nsHostLast key
// ingest writes), then the legacy per-resource keys (nsLastRes) of
// resources cur lacks, then the legacy per-unit keys (nsLast) of resources
// neither has. Legacy keys of a resource a newer key has are stale and are
// deleted.
func (h *host) loadLast(cur []model.Sample) {
	newer := map[string]bool{} // service.resource in cur
	for _, s := range cur {
		newer[s.Service+"."+s.Resource] = true
		h.samples.set(s)
	}
	var staleRes []string
	resources := map[string]bool{} // service.resource with a legacy per-resource key
	err := h.cfg.Store.List(nsLastRes, h.name+"|", func(key string, raw []byte) error {
		res := key[len(h.name)+1:]
		if newer[res] {
			staleRes = append(staleRes, key)
			return nil
		}
		var ss []model.Sample
		if err := store.Decode(raw, &ss); err != nil {
			h.cfg.Log.Warn("host: skipping unreadable last values", "host", h.name, "key", key, "err", err)
			return nil
		}
		resources[res] = true
		for _, s := range ss {
			h.samples.set(s)
		}
		return nil
	})
	if err != nil {
		h.cfg.Log.Error("host: loading legacy per-resource last values", "host", h.name, "err", err)
	}
	var stale []string
	err = h.cfg.Store.List(nsLast, h.name+"|", func(key string, raw []byte) error {
		var s model.Sample
		if err := store.Decode(raw, &s); err != nil {
			h.cfg.Log.Warn("host: skipping an unreadable legacy last value", "host", h.name, "key", key, "err", err)
			return nil
		}
		if resources[s.Service+"."+s.Resource] || newer[s.Service+"."+s.Resource] {
			stale = append(stale, key)
			return nil
		}
		h.samples.set(s)
		return nil
	})
	if err != nil {
		h.cfg.Log.Error("host: loading legacy last values", "host", h.name, "err", err)
	}
	if len(stale)+len(staleRes) > 0 {
		b := h.cfg.Store.Batch()
		for _, k := range stale {
			b.Delete(nsLast, k)
		}
		for _, k := range staleRes {
			b.Delete(nsLastRes, k)
		}
		if err := b.Commit(false); err != nil {
			h.cfg.Log.Warn("host: deleting superseded legacy last values", "host", h.name, "keys", len(stale)+len(staleRes), "err", err)
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
	if r.Agent != h.st.Agent {
		h.st.Agent = r.Agent
		if r.Agent == h.name {
			h.st.Agent = h.name // usually the same: keep one string
		}
	}
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
	h.samples.apply(r.Samples)
	if len(r.Samples) > 0 {
		h.ckDirty = true
		h.newestT = max(h.newestT, r.Time)
		h.maybeCheckpoint()
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
		if h.st.Checks == nil {
			h.st.Checks = map[string]*checkState{}
		}
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
	if started := time.Unix(0, h.started); started.After(lastSeen) {
		lastSeen = started
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
	} else if h.dirty && time.Since(epoch)-h.lastPub >= time.Second {
		h.pushStatus(c, false)
	}
}

// status builds the query view of the host without its samples (update
// and pushStatus add them, compact or expanded).
func (h *host) status() model.HostStatus {
	s := model.HostStatus{Host: h.name, Up: h.st.Up, LastSeen: h.st.LastSeen, DownSince: h.st.DownSince,
		Persistent: h.st.Persistent, Agent: h.st.Agent, LastSeq: h.st.LastSeq, Dropped: h.st.Dropped}
	for _, k := range model.SortedKeys(h.st.Checks) {
		ck := h.st.Checks[k]
		s.Checks = append(s.Checks, model.CheckStatus{Service: ck.Service, Unit: ck.Unit, Up: ck.Up, Since: ck.Since, Detail: ck.Detail})
	}
	s.Load = hostLoadCompact(h.samples.s)
	return s
}

// update is the host's status for the query read-model: the samples stay
// compact and are shared with this actor (copy on write, see lastValues).
func (h *host) update() statusUpdate {
	return statusUpdate{Status: h.status(), Samples: h.samples.snapshot()}
}

// lastValues is a host's last sample of each series, sorted by series key,
// as shared shapes and one slice of values (model.CompactSamples): two
// allocations per host, about a seventh of a slice of model.Sample with a
// map each. A CompactSamples handed out by snapshot is never modified: the
// next change copies what it changes first.
type lastValues struct {
	s      model.CompactSamples
	shared bool // s was handed out by snapshot
}

// set stores smp as the last sample of its series. When the series keeps
// its shape (the usual case) the values are overwritten in place, after
// copying them once if a snapshot holds them.
func (lv *lastValues) set(smp model.Sample) {
	shapes := lv.s.Shapes
	i, found := slices.BinarySearchFunc(shapes, smp, func(sh *model.Shape, t model.Sample) int {
		return model.CompareKey(sh.Key, t.Service, t.Resource, t.Unit)
	})
	off := 0
	for _, sh := range shapes[:i] {
		off += len(sh.Names)
	}
	if found && shapes[i].Fits(smp) {
		if lv.shared {
			lv.s.Values = exactCopy(lv.s.Values)
			lv.shared = false
		}
		for j, n := range shapes[i].Names {
			lv.s.Values[off+j] = smp.Values[n]
		}
		return
	}
	// A new series or a new shape: both slices are rebuilt at their exact
	// size (this is rare after the first report, and spare capacity would
	// be kept per host).
	sh := model.ShapeOf(smp)
	oldLen, skip := 0, 0
	if found {
		oldLen, skip = len(shapes[i].Names), 1
	}
	ns := make([]*model.Shape, 0, len(shapes)+1-skip)
	ns = append(append(append(ns, shapes[:i]...), sh), shapes[i+skip:]...)
	var nv []float64
	if n := len(lv.s.Values) - oldLen + len(sh.Names); n > 0 {
		nv = make([]float64, 0, n)
		nv = append(nv, lv.s.Values[:off]...)
		for _, name := range sh.Names {
			nv = append(nv, smp.Values[name])
		}
		nv = append(nv, lv.s.Values[off+oldLen:]...)
	}
	lv.s = model.CompactSamples{Shapes: ns, Values: nv}
	lv.shared = false
}

// apply sets the samples of one report, with the rules the last values
// always had across restarts: per service.resource the report carries, its
// units replace the ones held (a unit it lacks, e.g. an unmounted disk, is
// dropped); resources it does not carry stay as they are.
func (lv *lastValues) apply(samples []model.Sample) {
	for i := range samples {
		lv.set(samples[i])
	}
	// Usually a report carries every series held (same count: nothing
	// else to do), or whole families sent at their own intervals.
	if len(lv.s.Shapes) > len(samples) {
		lv.dropMissing(samples)
	}
}

// dropMissing removes the series of the resources of samples that samples
// lack.
func (lv *lastValues) dropMissing(samples []model.Sample) {
	type resource struct{ service, resource string }
	var rbuf [16]resource
	res := rbuf[:0]
	for i := range samples {
		r := resource{samples[i].Service, samples[i].Resource}
		if !slices.Contains(res, r) {
			res = append(res, r)
		}
	}
	var keys map[string]bool // series of samples, built when needed
	var drop []int
	for i, sh := range lv.s.Shapes {
		if !slices.Contains(res, resource{sh.Service, sh.Resource}) {
			continue
		}
		if keys == nil {
			keys = make(map[string]bool, len(samples))
			for j := range samples {
				keys[samples[j].Key()] = true
			}
		}
		if !keys[sh.Key] {
			drop = append(drop, i)
		}
	}
	if len(drop) == 0 {
		return
	}
	n := 0
	for _, i := range drop {
		n += len(lv.s.Shapes[i].Names)
	}
	ns := make([]*model.Shape, 0, len(lv.s.Shapes)-len(drop))
	var nv []float64
	if len(lv.s.Values) > n {
		nv = make([]float64, 0, len(lv.s.Values)-n)
	}
	off := 0
	for i, sh := range lv.s.Shapes {
		w := len(sh.Names)
		if !slices.Contains(drop, i) {
			ns = append(ns, sh)
			nv = append(nv, lv.s.Values[off:off+w]...)
		}
		off += w
	}
	lv.s = model.CompactSamples{Shapes: ns, Values: nv}
	lv.shared = false
}

// shape returns the shape of the series key held, nil if none.
func (lv *lastValues) shape(key string) *model.Shape {
	i, found := slices.BinarySearchFunc(lv.s.Shapes, key, func(sh *model.Shape, k string) int { return strings.Compare(sh.Key, k) })
	if !found {
		return nil
	}
	return lv.s.Shapes[i]
}

// exactCopy returns a copy of v without spare capacity.
func exactCopy(v []float64) []float64 {
	out := make([]float64, len(v))
	copy(out, v)
	return out
}

// snapshot returns the samples for another actor, which must not modify
// them; this host's next change copies them first.
func (lv *lastValues) snapshot() model.CompactSamples {
	lv.shared = true
	return lv.s
}

// list returns the samples in series key order, each with a map of its
// own.
func (lv *lastValues) list() []model.Sample { return lv.s.Samples() }

// expandSamples builds the model.Sample of each compact sample.
func expandSamples(cs model.CompactSamples) []model.Sample { return cs.Samples() }

// loadAcc accumulates the figures HostLoad averages.
type loadAcc struct{ cpu, mem, disk, inodes float64 }

func newLoadAcc() loadAcc { return loadAcc{-1, -1, -1, -1} }

func (a *loadAcc) add(resource, unit string, v float64) {
	switch resource {
	case model.ResCPU:
		if unit == "total" {
			a.cpu = v
		}
	case model.ResMemory:
		a.mem = v
	case model.ResDisk:
		a.disk = max(a.disk, v)
	case model.ResInodes:
		a.inodes = max(a.inodes, v)
	}
}

func (a *loadAcc) result() float64 {
	sum, n := 0.0, 0
	for _, v := range []float64{a.cpu, a.mem, a.disk, a.inodes} {
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

// hostLoadCompact is HostLoad of compact samples.
func hostLoadCompact(samples model.CompactSamples) float64 {
	acc := newLoadAcc()
	for _, s := range samples.All() {
		if v, ok := s.Value("used_percentage"); ok {
			acc.add(s.Shape.Resource, s.Shape.Unit, v)
		}
	}
	return acc.result()
}

// HostLoad is the mean use (0..100) of a host's cpu (total), memory,
// fullest disk and fullest inode table: what the dashboard colours by.
func HostLoad(samples []model.Sample) float64 {
	acc := newLoadAcc()
	for _, s := range samples {
		if v, ok := s.Values["used_percentage"]; ok {
			acc.add(s.Resource, s.Unit, v)
		}
	}
	return acc.result()
}

func (h *host) pushStatus(c *actor.Context, stateChange bool) {
	u := h.update()
	h.dirty = false
	h.lastPub = time.Since(epoch)
	if h.cfg.Query != nil {
		c.Send(h.cfg.Query, u)
	}
	if h.cfg.Stream != nil {
		ty := model.EvReport
		if stateChange {
			ty = model.EvHostState
		}
		st := u.Status
		st.Samples = expandSamples(u.Samples)
		c.Send(h.cfg.Stream, publish{Ev: model.Event{Type: ty, Time: h.now(), Host: h.name, Status: &st}})
	}
}
