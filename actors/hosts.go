package actors

import (
	"fmt"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/rules"
	"github.com/lookout-mon/lookout/store"
)

// smallInbox is the initial inbox of per-host and per-alarm actors.
// Hollywood's inbox ring buffer doubles when full, so this bounds nothing;
// it only avoids the default 1024 slots (24 KiB) per actor, which with a
// host actor and an alarm actor per rule was most of the master's memory
// per monitored host (measured with `lookout bench`, see BENCHMARKS.md).
// Four slots (96 bytes) hold the usual backlog of a host actor (a report,
// a tick); a burst doubles that host's ring for good, at most to what
// the burst needed.
const smallInbox = 4

// compiledRule is a parsed rule with where it came from.
type compiledRule struct {
	Rule *rules.Rule
	Info model.RuleInfo
}

// RuleNameRE is what rule names must look like (they become actor IDs and
// store keys).
var RuleNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// HostsConfig configures the hosts supervisor and its host actors.
type HostsConfig struct {
	Store              *store.Store
	Log                *slog.Logger
	Router             *actor.PID
	Query              *actor.PID
	Stream             *actor.PID
	HostTimeout        time.Duration
	PersistentDowntime time.Duration
	ConfigRules        []model.RuleInfo
	Debug              bool
	Now                func() time.Time
	Recover            actor.MiddlewareFunc
	OnStorm            func(RestartStorm)
	OnRestart          func(child, reason string)
	// Inject, if set, is consulted by host actors for every report: a test
	// hook that panics on demand (the restart tests use it).
	Inject func(host string, r *model.Report)
	// StormBackoff is the first parking time after a restart storm.
	StormBackoff time.Duration
	Cluster      Cluster
	// Tick is the period of the ticks the hosts supervisor gets (the
	// master's Tick); it spreads each tick to its host actors over that
	// period (see tickSome). 0: every host at once.
	Tick time.Duration

	// rules returns the current rule set; the hosts supervisor sets it on
	// its copy, which its host actors share.
	rules func() []*compiledRule
}

// hostsSup owns one host actor per host (spawned on first report or from
// the store at start) and the rule set.
type hostsSup struct {
	cfg   HostsConfig
	sup   Supervisor
	rules map[string]*compiledRule // owned by this actor's goroutine
	// snap is the sorted rule list host actors read from their own
	// goroutines (at start); replaced, never mutated, on every change.
	snap atomic.Pointer[[]*compiledRule]

	// The current tick round (see tickSome): the host actors to tick, the
	// next one's index, and the round's number.
	tickQ     []*actor.PID
	tickNext  int
	tickRound uint64
}

// tickChunk is how many host actors a tick reaches at a time (tickSome).
const tickChunk = 256

// tickMore sends the next chunk of tick round Round.
type tickMore struct{ Round uint64 }

func newHostsSup(cfg HostsConfig) actor.Producer {
	return func() actor.Receiver {
		h := &hostsSup{cfg: cfg, rules: map[string]*compiledRule{}}
		h.cfg.rules = h.snapshot
		h.sup = Supervisor{Name: "hosts", Log: cfg.Log, Recover: cfg.Recover, OnStorm: cfg.OnStorm, OnRestart: cfg.OnRestart,
			Intensity: 5, Window: 10 * time.Second, MinBackoff: cfg.StormBackoff}
		return h
	}
}

// newTickRound starts a tick round over the host actors each lists. A
// round not finished yet (its timers ran late) ends first: every host gets
// one tick per period.
func (h *hostsSup) newTickRound(c *actor.Context, each func(func(*actor.PID))) {
	for _, pid := range h.tickQ[h.tickNext:] {
		c.Send(pid, tick{})
	}
	clear(h.tickQ)
	h.tickQ, h.tickNext = h.tickQ[:0], 0
	h.tickRound++
	each(func(pid *actor.PID) { h.tickQ = append(h.tickQ, pid) })
	h.tickSome(c)
}

// tickSome sends a tick to the next tickChunk host actors of the round
// and, if any are left, asks for the next chunk a share of the tick period
// later, so the round spreads over the period. Ticking 10,000 host actors
// at once put 10,000 activations in the run queue every second, and a
// report arriving then waited behind them: alert latency at 10,000 hosts
// and 1,000 reports/s was 90-140 ms at the median (BENCHMARKS.md). Each
// host is still ticked once per period.
func (h *hostsSup) tickSome(c *actor.Context) {
	end := min(h.tickNext+tickChunk, len(h.tickQ))
	for _, pid := range h.tickQ[h.tickNext:end] {
		c.Send(pid, tick{})
	}
	h.tickNext = end
	if end == len(h.tickQ) {
		return
	}
	chunks := (len(h.tickQ) + tickChunk - 1) / tickChunk
	d := h.cfg.Tick / time.Duration(chunks)
	if d <= 0 {
		h.tickSome(c) // no period to spread over
		return
	}
	e, self, round := c.Engine(), c.PID(), h.tickRound
	time.AfterFunc(d, func() { e.Send(self, tickMore{Round: round}) })
}

func (h *hostsSup) ruleList() []*compiledRule {
	out := make([]*compiledRule, 0, len(h.rules))
	for _, k := range model.SortedKeys(h.rules) {
		out = append(out, h.rules[k])
	}
	return out
}

// snapshot is safe to call from any goroutine.
func (h *hostsSup) snapshot() []*compiledRule {
	if p := h.snap.Load(); p != nil {
		return *p
	}
	return nil
}

func (h *hostsSup) hostProducer(name string) actor.Producer {
	return newHost(&h.cfg, name)
}

func (h *hostsSup) Receive(c *actor.Context) {
	msg := c.Message()
	if h.sup.Handle(c, msg) {
		return
	}
	switch m := msg.(type) {
	case actor.Started:
		for _, ri := range h.cfg.ConfigRules {
			r, err := rules.Parse(ri.Name, ri.Expr)
			if err != nil {
				h.cfg.Log.Error("config rule does not parse (validation should have caught it)", "rule", ri.Name, "err", err)
				continue
			}
			ri.Source = "config"
			h.rules[ri.Name] = &compiledRule{Rule: r, Info: ri}
		}
		_ = h.cfg.Store.List(nsRule, "", func(key string, raw []byte) error {
			var ri model.RuleInfo
			if err := store.Decode(raw, &ri); err != nil {
				h.cfg.Log.Error("stored rule unreadable", "rule", key, "err", err)
				return nil
			}
			if _, ok := h.rules[ri.Name]; ok {
				return nil // config wins
			}
			r, err := rules.Parse(ri.Name, ri.Expr)
			if err != nil {
				h.cfg.Log.Error("stored rule does not parse", "rule", key, "err", err)
				return nil
			}
			ri.Source = "runtime"
			h.rules[ri.Name] = &compiledRule{Rule: r, Info: ri}
			return nil
		})
		list := h.ruleList()
		h.snap.Store(&list)
		// Known hosts come back at start so a host that stays silent after
		// a master restart is still noticed as down.
		var names []string
		_ = h.cfg.Store.List(nsHost, "", func(key string, raw []byte) error {
			names = append(names, key)
			return nil
		})
		for _, n := range names {
			h.sup.Spawn(c, "host", n, h.hostProducer(n), smallInbox)
		}
	case hostReport:
		h.forward(c, m)
	case hostReports:
		for _, r := range m {
			h.forward(c, r)
		}
	case tick:
		h.newTickRound(c, h.sup.Each)
	case tickMore:
		if m.Round == h.tickRound {
			h.tickSome(c)
		}
	case qRules:
		out := make([]model.RuleInfo, 0, len(h.rules))
		for _, r := range h.ruleList() {
			out = append(out, r.Info)
		}
		c.Respond(out)
	case addRule:
		c.Respond(ruleResult{Err: h.add(c, m)})
	case deleteRule:
		c.Respond(ruleResult{Err: h.del(c, m.Name)})
	case applyRule:
		h.apply(c, m)
	}
}

func (h *hostsSup) broadcastRules(c *actor.Context) {
	list := h.ruleList()
	h.snap.Store(&list)
	rs := rulesChanged{Rules: list}
	h.sup.Each(func(pid *actor.PID) { c.Send(pid, rs) })
}

func (h *hostsSup) add(c *actor.Context, m addRule) error {
	if !RuleNameRE.MatchString(m.Name) {
		return fmt.Errorf("rule name %q: want letters, digits, '_', '.', '-' (max 64)", m.Name)
	}
	if old, ok := h.rules[m.Name]; ok && old.Info.Source == "config" {
		return fmt.Errorf("rule %q is defined in the config file; change it there", m.Name)
	}
	r, err := rules.Parse(m.Name, m.Expr)
	if err != nil {
		return err
	}
	ri := model.RuleInfo{Name: m.Name, Expr: r.String(), Source: "runtime"}
	if err := h.cfg.Store.PutSync(nsRule, m.Name, ri); err != nil {
		return fmt.Errorf("saving rule %q: %w", m.Name, err)
	}
	h.rules[m.Name] = &compiledRule{Rule: r, Info: ri}
	h.broadcastRules(c)
	if h.cfg.Cluster != nil {
		h.cfg.Cluster.RuleChanged(ri, false)
	}
	return nil
}

// apply takes a run-time rule change replicated from a peer.
func (h *hostsSup) apply(c *actor.Context, m applyRule) {
	if old, ok := h.rules[m.Info.Name]; ok && old.Info.Source == "config" {
		return // config rules are per master
	}
	if m.Deleted {
		if _, ok := h.rules[m.Info.Name]; !ok {
			return
		}
		_ = h.cfg.Store.DeleteSync(nsRule, m.Info.Name)
		delete(h.rules, m.Info.Name)
		h.broadcastRules(c)
		return
	}
	r, err := rules.Parse(m.Info.Name, m.Info.Expr)
	if err != nil {
		h.cfg.Log.Error("replicated rule does not parse; ignored", "rule", m.Info.Name, "err", err)
		return
	}
	if old, ok := h.rules[m.Info.Name]; ok && old.Info.Expr == r.String() {
		return
	}
	ri := model.RuleInfo{Name: m.Info.Name, Expr: r.String(), Source: "runtime"}
	if err := h.cfg.Store.PutSync(nsRule, ri.Name, ri); err != nil {
		h.cfg.Log.Error("saving replicated rule", "rule", ri.Name, "err", err)
	}
	h.rules[ri.Name] = &compiledRule{Rule: r, Info: ri}
	h.broadcastRules(c)
}

func (h *hostsSup) del(c *actor.Context, name string) error {
	old, ok := h.rules[name]
	if !ok {
		return fmt.Errorf("no rule named %q", name)
	}
	if old.Info.Source == "config" {
		return fmt.Errorf("rule %q is defined in the config file; remove it there", name)
	}
	if err := h.cfg.Store.DeleteSync(nsRule, name); err != nil {
		return fmt.Errorf("deleting rule %q: %w", name, err)
	}
	delete(h.rules, name)
	h.broadcastRules(c)
	if h.cfg.Cluster != nil {
		h.cfg.Cluster.RuleChanged(old.Info, true)
	}
	return nil
}

// forward hands a committed report to its host actor, spawning it on the
// host's first report.
func (h *hostsSup) forward(c *actor.Context, m hostReport) {
	pid := h.sup.Child("host", m.Report.Host)
	if pid == nil {
		if h.sup.Known("host", m.Report.Host) {
			return // parked after a restart storm; the store has the data
		}
		pid = h.sup.Spawn(c, "host", m.Report.Host, h.hostProducer(m.Report.Host), smallInbox)
	}
	c.Send(pid, m)
}
