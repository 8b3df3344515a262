// Package agent is the Lookout agent: it runs on every monitored host,
// measures it with one collector per resource family (cpu, load, memory,
// swap, disk, inodes, disk io, network, uptime, TCP ports, processes,
// heartbeat) and pushes ed25519-signed, seq-numbered reports to every
// configured master over hollywood remote.
//
// Actor tree (one hollywood engine of its own, listening on Config.Listen so
// masters can ack):
//
//	agent                      parent of the tree
//	├── collector/<group>      per interval (the families sharing it, e.g. "memory+network+heartbeat"),
//	│                          or per solo family (ports, processes, textfile): own ticker; collects
//	│                          off-actor in worker goroutines; one collection per tick, turned into a
//	│                          model.Report and pushed to every uplink from the collector's goroutine
//	│                          (agentActor.deliver: no actor hand-off between collection and send)
//	└── uplink/<n>             per master: bounded outbox, sign+send, resend until acked
//
// Delivery is at-least-once on top of hollywood's at-most-once remote: every
// report has a seq that is never reused (reserved in blocks in a seq file),
// each uplink keeps unacknowledged reports in a bounded outbox, resends them
// go-back-N (a contiguous run from the oldest, re-signed with the current
// Oldest, so a master that applies only in-order or Oldest==Seq reports can
// always catch up), and drops the oldest, counted exactly, when full.
package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// Default collection intervals, used for zero fields of IntervalConfig.
var DefaultIntervals = configs.IntervalConfig{
	CPU:       5 * time.Second,
	Memory:    10 * time.Second,
	Disk:      30 * time.Second,
	Network:   10 * time.Second,
	Uptime:    60 * time.Second,
	Ports:     10 * time.Second,
	Processes: 10 * time.Second,
	Heartbeat: 10 * time.Second,
}

// maxRestarts is given to every actor: hollywood v1.0.5 crashes the process
// when MaxRestarts is exceeded, and our recover middleware keeps actors from
// restarting anyway.
const maxRestarts = 1 << 30

// Options configures an agent.
type Options struct {
	// Config is the agent section of the config; zero fields get defaults.
	Config configs.AgentConfig
	// DataDir holds the seq file, <DataDir>/agent-<name>.seq.
	DataDir string
	// Key signs every report.
	Key ed25519.PrivateKey
	// TLS secures the agent's remote engine (listener and dials to masters);
	// nil means plaintext (the caller has checked insecure_loopback).
	TLS *tls.Config
	// Logger receives the agent's logs (slog.Default when nil).
	Logger *slog.Logger
	// Debug, if set, receives every report as one JSON line when it is built.
	Debug func(string)
	// AckDelay is how long each master may hold back its acks to send one
	// for several reports (asked in the session hello, see
	// wire.HelloOptions.AckDelay): 0 means DefaultAckDelay, a negative value
	// asks for an ack per report.
	AckDelay time.Duration
}

// Stats is a snapshot of an agent's counters.
type Stats struct {
	Agent string `json:"agent"`
	// Reports is how many reports were built since start; LastSeq the seq of
	// the last one.
	Reports uint64 `json:"reports"`
	LastSeq uint64 `json:"last_seq"`
	// Uplinks has one entry per master, in config order.
	Uplinks []UplinkStats `json:"uplinks"`
	// Collectors has the last run of every collector, by name.
	Collectors map[string]CollectorStats `json:"collectors"`
}

// CollectorStats records a collector's runs, as node_exporter's scrape
// wrapper does.
type CollectorStats struct {
	Runs         uint64        `json:"runs"`
	Errors       uint64        `json:"errors"`
	LastDuration time.Duration `json:"last_duration"`
	LastError    string        `json:"last_error,omitempty"`
}

// Agent is a running agent.
type Agent struct {
	name, host string
	addr       string
	engine     *actor.Engine
	remote     *remote.Remote
	pid        *actor.PID
	log        *slog.Logger

	reports atomic.Uint64
	lastSeq atomic.Uint64
	slots   []*statsSlot

	cmu   sync.Mutex
	cstat map[string]CollectorStats

	stopOnce sync.Once
	gc       gcPacer // off unless PaceGC turned it on
}

// Start validates o, reserves a seq block, starts the agent's engine
// listening on o.Config.Listen and spawns the actor tree.
func Start(o Options) (*Agent, error) {
	cfg := o.Config
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Name == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return nil, errors.New("agent: name is empty and the hostname is unknown: set agent.name")
		}
		cfg.Name = h
	}
	if cfg.Host == "" {
		cfg.Host = cfg.Name
	}
	log = log.With("agent", cfg.Name)
	var errs []error
	if len(cfg.Masters) == 0 {
		errs = append(errs, errors.New("agent.masters is empty: the agent has nowhere to send reports"))
	}
	for _, m := range cfg.Masters {
		if _, _, err := net.SplitHostPort(m); err != nil {
			errs = append(errs, fmt.Errorf("agent.masters: %q is not host:port: %w", m, err))
		}
	}
	if len(o.Key) != ed25519.PrivateKeySize {
		errs = append(errs, fmt.Errorf("agent key is %d bytes, want an ed25519 private key (%d bytes)", len(o.Key), ed25519.PrivateKeySize))
	}
	if o.DataDir == "" {
		errs = append(errs, errors.New("agent data dir is empty"))
	}
	for _, p := range cfg.Ports {
		if p.Name == "" || p.Port <= 0 || p.Port > 65535 {
			errs = append(errs, fmt.Errorf("agent.ports: check %q needs a name and a port in 1..65535 (got %d)", p.Name, p.Port))
		}
	}
	for _, p := range cfg.Processes {
		if p.Name == "" || p.Match == "" {
			errs = append(errs, fmt.Errorf("agent.processes: check %q needs a name and a match glob", p.Name))
		}
	}
	addr, err := concreteListen(cfg.Listen)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("agent: invalid options: %w", err)
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: create data dir: %w", err)
	}
	seq, err := openSeq(filepath.Join(o.DataDir, "agent-"+cfg.Name+".seq"), seqBlock)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}

	rcfg := remote.NewConfig()
	if o.TLS != nil {
		rcfg = rcfg.WithTLS(o.TLS)
	}
	r := remote.New(addr, rcfg)
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
	if err != nil {
		return nil, fmt.Errorf("agent: start remote on %s: %w", addr, err)
	}
	a := &Agent{name: cfg.Name, host: cfg.Host, addr: addr, engine: e, remote: r, log: log, cstat: map[string]CollectorStats{}}
	for range cfg.Masters {
		a.slots = append(a.slots, &statsSlot{})
	}
	for i, m := range cfg.Masters {
		a.slots[i].set(UplinkStats{Master: m})
	}
	firstSeq := seq.next
	aa := &agentActor{a: a, cfg: cfg, key: o.Key, seq: seq, debug: o.Debug, ackDelay: uplinkAckDelay(o.AckDelay)}
	a.pid = e.Spawn(func() actor.Receiver { return aa }, "agent", actor.WithID(cfg.Name),
		actor.WithMaxRestarts(maxRestarts), actor.WithMiddleware(recoverMW(log, "agent")), actor.WithInboxSize(smallInbox))
	log.Info("agent started", "listen", addr, "masters", cfg.Masters, "host", cfg.Host, "first_seq", firstSeq)
	return a, nil
}

// Addr returns the address the agent's engine listens on (masters' acks
// arrive there).
func (a *Agent) Addr() string { return a.addr }

// Stop stops the actor tree and the remote listener. It is safe to call more
// than once.
func (a *Agent) Stop() {
	a.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		select {
		case <-a.engine.PoisonCtx(ctx, a.pid).Done():
		case <-ctx.Done():
		}
		a.remote.Stop().Wait()
		a.gc.close()
		a.log.Info("agent stopped", "reports", a.reports.Load())
	})
}

// Stats returns a snapshot of the agent's counters.
func (a *Agent) Stats() Stats {
	s := Stats{Agent: a.name, Reports: a.reports.Load(), LastSeq: a.lastSeq.Load()}
	for _, sl := range a.slots {
		s.Uplinks = append(s.Uplinks, sl.get())
	}
	a.cmu.Lock()
	s.Collectors = make(map[string]CollectorStats, len(a.cstat))
	for k, v := range a.cstat {
		s.Collectors[k] = v
	}
	a.cmu.Unlock()
	return s
}

// dropped sums the reports dropped by every uplink.
func (a *Agent) dropped() uint64 {
	var n uint64
	for _, sl := range a.slots {
		n += sl.get().Dropped
	}
	return n
}

// collectorRun is one run of one collector, for Agent.recordRuns.
type collectorRun struct {
	name string
	d    time.Duration
	err  error
}

// recordRuns stores a family's collector runs (one lock for them all).
func (a *Agent) recordRuns(runs []collectorRun) {
	a.cmu.Lock()
	defer a.cmu.Unlock()
	for _, r := range runs {
		s := a.cstat[r.name]
		s.Runs++
		s.LastDuration = r.d
		s.LastError = ""
		if r.err != nil {
			s.Errors++
			s.LastError = r.err.Error()
		}
		a.cstat[r.name] = s
	}
}

// concreteListen checks that listen names a concrete host (masters dial
// back to it, so 0.0.0.0 or an empty host cannot work) and replaces port 0
// with a free port on that host.
func concreteListen(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("agent.listen %q is not host:port: %w", listen, err)
	}
	if host == "" {
		return "", fmt.Errorf("agent.listen %q has no host: masters reply to this address, so give a concrete one (e.g. 127.0.0.1:7471)", listen)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return "", fmt.Errorf("agent.listen %q is a wildcard address: masters reply to this address, so give a concrete one", listen)
	}
	if port != "0" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return "", fmt.Errorf("agent.listen %q: port must be 0..65535", listen)
		}
		return listen, nil
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return "", fmt.Errorf("agent.listen %q: find a free port: %w", listen, err)
	}
	free := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(free)), nil
}

// recoverMW keeps an actor alive through a panic in Receive: it logs the
// panic with its stack and drops the message, so hollywood never restarts
// the actor (restarts lose state, and exceeding MaxRestarts crashes v1.0.5).
func recoverMW(log *slog.Logger, name string) actor.MiddlewareFunc {
	return func(next actor.ReceiveFunc) actor.ReceiveFunc {
		return func(c *actor.Context) {
			defer func() {
				if v := recover(); v != nil {
					log.Error("actor panicked; message dropped, actor continues",
						"actor", name, "panic", fmt.Sprint(v), "message", fmt.Sprintf("%T", c.Message()),
						"stack", string(debug.Stack()))
				}
			}()
			next(c)
		}
	}
}

// family is a group of collectors sharing one interval, collected together
// (by one worker goroutine).
type family struct {
	name       string
	interval   time.Duration
	collectors []Collector
	// solo families (network I/O, process scans, files of other programs)
	// may take long or hang: they get a collector actor and a report of
	// their own, so they never delay the /proc families' reports.
	solo bool
	// ownWorker families may block in the kernel (statfs on a hung network
	// filesystem): they run in a worker goroutine of their own, so they
	// cannot hold up the other families of their group, which share one.
	ownWorker bool
}

// families builds the collector families from cfg.
func families(cfg configs.AgentConfig, dropped func() uint64, log *slog.Logger) []family {
	iv := cfg.Intervals
	d := func(v, def time.Duration) time.Duration {
		if v <= 0 {
			return def
		}
		return v
	}
	fs := []family{
		{"cpu", d(iv.CPU, DefaultIntervals.CPU), []Collector{NewCPUCollector(), NewLoadCollector()}, false, false},
		{"memory", d(iv.Memory, DefaultIntervals.Memory), []Collector{NewMemoryCollector(), NewSwapCollector()}, false, false},
		{"disk", d(iv.Disk, DefaultIntervals.Disk), []Collector{NewDiskCollector(cfg.ExcludeFSTypes)}, false, true},
		{"network", d(iv.Network, DefaultIntervals.Network), []Collector{NewNetworkCollector(cfg.ExcludeInterfaces)}, false, false},
		{"uptime", d(iv.Uptime, DefaultIntervals.Uptime), []Collector{NewUptimeCollector()}, false, false},
		{"heartbeat", d(iv.Heartbeat, DefaultIntervals.Heartbeat), []Collector{&HeartbeatCollector{Dropped: dropped}}, false, false},
	}
	if cfg.TextfileDir != "" {
		fs = append(fs, family{"textfile", d(iv.Memory, DefaultIntervals.Memory), []Collector{NewTextfileCollector(cfg.TextfileDir, log)}, true, true})
	}
	if len(cfg.Ports) > 0 {
		fs = append(fs, family{"ports", d(iv.Ports, DefaultIntervals.Ports), []Collector{NewPortCollector(cfg.Ports)}, true, true})
	}
	if len(cfg.Processes) > 0 {
		fs = append(fs, family{"processes", d(iv.Processes, DefaultIntervals.Processes), []Collector{NewProcessCollector(cfg.Processes)}, true, true})
	}
	return fs
}

// group is the families one collector actor runs: every non-solo family of
// one interval (one ticker, and one report per tick instead of one per
// family: fewer encodes, signatures and envelopes), or one solo family.
type group struct {
	name     string // "cpu+memory+...", the families' names joined by "+"
	interval time.Duration
	families []family
	// lanes are the indexes of families per worker goroutine: one lane for
	// every family without ownWorker (collected one after the other), one
	// for each with it. Fewer workers, fewer goroutine hand-offs per tick.
	lanes [][]int
}

// groups groups fs by interval, solo families alone, in the order of fs.
func groups(fs []family) []group {
	var gs []group
	byInterval := map[time.Duration]int{}
	for _, f := range fs {
		if !f.solo {
			if i, ok := byInterval[f.interval]; ok {
				gs[i].families = append(gs[i].families, f)
				gs[i].name += "+" + f.name
				continue
			}
			byInterval[f.interval] = len(gs)
		}
		gs = append(gs, group{name: f.name, interval: f.interval, families: []family{f}})
	}
	for i := range gs {
		shared := -1
		for j, f := range gs[i].families {
			if f.ownWorker || shared < 0 {
				if !f.ownWorker {
					shared = len(gs[i].lanes)
				}
				gs[i].lanes = append(gs[i].lanes, []int{j})
				continue
			}
			gs[i].lanes[shared] = append(gs[i].lanes[shared], j)
		}
	}
	return gs
}

// maxGroupSamples caps the samples of one combined report (the master
// refuses reports over 4,096): a family result that would exceed it sends
// what was gathered so far as a report first.
const maxGroupSamples = 2048

// collected is a family's result, sent by its collector actor to the agent.
type collected struct {
	family  string
	samples []model.Sample
	checks  []model.Check
}

// agentActor spawns the uplinks and collectors. Collections become reports
// in deliver, called directly by the collector actors (not through the
// agent's inbox), and go to the uplinks' cores directly too: a cycle's
// report costs no actor hand-off between collection and the remote send.
type agentActor struct {
	a     *Agent
	cfg   configs.AgentConfig
	key   ed25519.PrivateKey
	debug func(string)
	// ackDelay is the ack delay the uplinks ask for (0: none).
	ackDelay time.Duration

	// mu orders reports: a seq is taken and the report pushed to every
	// uplink under it, so each outbox sees seqs in increasing order even
	// when several collector actors deliver at once.
	mu          sync.Mutex
	seq         *seqAlloc
	uplinks     []*uplinkActor
	lastSeqErrL time.Time
}

// Receive implements actor.Receiver.
func (g *agentActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		g.spawnChildren(c)
	case collected:
		g.deliver(m)
	}
}

// spawnChildren starts one uplink per master and one collector actor per
// family.
func (g *agentActor) spawnChildren(c *actor.Context) {
	log := g.a.log
	resendAfter := g.cfg.ResendAfter
	if resendAfter <= 0 {
		resendAfter = DefaultResendAfter
	}
	for i, m := range g.cfg.Masters {
		ul := log.With("master", m)
		ua := &uplinkActor{
			core:   newUplinkCore(m, g.cfg.Name, g.key, g.cfg.OutboxSize, resendAfter, ul).withAckDelay(g.ackDelay),
			target: actor.NewPID(m, wire.IngestID),
			tick:   resendTickFor(resendAfter),
			pub:    g.a.slots[i],
		}
		pid := c.SpawnChild(func() actor.Receiver { return ua }, "uplink", actor.WithID(strconv.Itoa(i)),
			actor.WithMaxRestarts(maxRestarts), actor.WithMiddleware(recoverMW(ul, "uplink")), actor.WithInboxSize(smallInbox))
		ua.eng, ua.self = c.Engine(), pid // before any collector runs (spawned below)
		g.uplinks = append(g.uplinks, ua)
	}
	for _, gr := range groups(families(g.cfg, g.a.dropped, log)) {
		ca := &collectorActor{grp: gr, a: g.a, log: log.With("family", gr.name), deliver: g.deliver}
		c.SpawnChild(func() actor.Receiver { return ca }, "collector", actor.WithID(gr.name),
			actor.WithMaxRestarts(maxRestarts), actor.WithMiddleware(recoverMW(log, "collector/"+gr.name)),
			actor.WithInboxSize(smallInbox))
	}
}

// smallInbox is the initial inbox of the agent's actors: a handful of
// messages wait at a time (hollywood's default is 1,024 slots, 24 KiB per
// actor); the ring buffer still grows when full.
const smallInbox = 16

// deliver builds one report from a collection and pushes it to every
// uplink, which sends it to its master at once. It runs in the calling
// collector actor's goroutine; g.mu serializes concurrent collectors.
func (g *agentActor) deliver(m collected) {
	if len(m.samples) == 0 && len(m.checks) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	seq, err := g.seq.Next()
	if err != nil && time.Since(g.lastSeqErrL) > time.Minute {
		g.lastSeqErrL = time.Now()
		g.a.log.Error("cannot persist the seq reservation; reporting anyway, but a restart now could reuse seqs", "err", err)
	}
	r := &model.Report{
		Version: model.ProtocolVersion,
		Agent:   g.cfg.Name,
		Host:    g.cfg.Host,
		Seq:     seq,
		Time:    time.Now().UnixNano(),
		Samples: m.samples,
		Checks:  m.checks,
	}
	g.a.reports.Add(1)
	g.a.lastSeq.Store(seq)
	if g.debug != nil {
		if b, err := json.Marshal(r); err == nil {
			g.debug(string(b))
		}
	}
	for _, u := range g.uplinks {
		u.push(r) // shared read-only; uplinks copy before changing fields
	}
	g.a.gc.check()
}

// collectTick asks a collector actor to collect.
type collectTick struct{}

// collectDone carries one lane's finished collections back into the
// collector actor.
type collectDone struct {
	lane  int         // index in group.lanes
	round uint64      // the tick that started it
	res   []collected // one per family of the lane
	errs  []error
}

// collectorActor runs a group of families on the group's ticker. Each lane
// of families collects (file reads, TCP connects) in a worker goroutine of
// its own, so Receive never blocks and a family that may hang does not hold
// up the others; a lane still busy when the next tick comes skips that
// tick.
// The results of one tick go to the agent as one collection once every
// family started by the tick has finished; results that finish after the
// next tick (a family slower than the interval) go alone, so a tick's
// report waits at most one interval.
type collectorActor struct {
	grp group
	a   *Agent
	log *slog.Logger
	// deliver, if set, takes the collections (the agent's report path,
	// called in this actor's goroutine); else they go to the parent actor
	// as collected messages.
	deliver func(collected)

	busy   []bool        // per lane
	work   []chan uint64 // one worker per lane; receives the round
	clock  *ticker       // the group's collection ticks (see ticker)
	ctx    context.Context
	cancel context.CancelFunc
	errAt  map[string]time.Time

	round   uint64    // current tick
	pending int       // families of round still running
	acc     collected // results of round so far
	lastN   int       // samples of the last collection sent: acc's first capacity
}

// Receive implements actor.Receiver.
func (f *collectorActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		f.ctx, f.cancel = context.WithCancel(context.Background())
		f.errAt = map[string]time.Time{}
		f.busy = make([]bool, len(f.grp.lanes))
		self, eng := c.PID(), c.Engine()
		for i := range f.grp.lanes {
			ch := make(chan uint64, 1)
			f.work = append(f.work, ch)
			go f.worker(i, ch, eng, self)
		}
		f.clock = startTicker(f.grp.interval, func() { eng.Send(self, collectTick{}) })
		c.Send(c.PID(), collectTick{}) // first sample now, not one interval later
	case actor.Stopped:
		if f.clock != nil {
			f.clock.Stop()
		}
		if f.cancel != nil {
			f.cancel()
		}
	case collectTick:
		f.tick(c)
	case collectDone:
		f.done(c, m)
	}
}

// worker collects lane i's families for every round it receives, until
// the actor stops. A long-lived goroutine keeps its grown stack, where one
// goroutine per collection grew (copied) its stack every time.
//
// The worker reuses its result slices from one round to the next: done
// copies the samples and checks it keeps into the round's collection, and
// the actor sends the lane its next round only after done has taken the
// previous one (busy), so the previous round's slices are free by then.
func (f *collectorActor) worker(i int, rounds <-chan uint64, eng *actor.Engine, self *actor.PID) {
	lane := f.grp.lanes[i]
	res := make([]collected, len(lane))
	for {
		select {
		case <-f.ctx.Done():
			return
		case r := <-rounds:
			d := collectDone{lane: i, round: r, res: res}
			for k, fi := range lane {
				var errs []error
				res[k], errs = f.run(f.grp.families[fi], res[k].samples[:0], res[k].checks[:0])
				d.errs = append(d.errs, errs...)
			}
			eng.Send(self, d)
		}
	}
}

// tick starts a round: it sends what the previous round gathered (its
// stragglers will report alone) and starts every lane that is not busy.
func (f *collectorActor) tick(c *actor.Context) {
	f.flush(c)
	f.round++
	f.pending = 0
	// Lanes start last to first: the goroutine woken last runs first, so
	// the shared lane (the /proc families, raw reads) runs before the
	// families with a worker of their own, whose ordinary system calls
	// (statfs) wake the runtime's monitor thread for the rest of the
	// cycle (see procFile.pread): the later they come, the fewer times it
	// polls.
	for i := len(f.grp.lanes) - 1; i >= 0; i-- {
		lane := f.grp.lanes[i]
		if f.busy[i] {
			f.log.Debug("previous collection still running, tick skipped", "family", f.grp.families[lane[0]].name)
			continue
		}
		f.busy[i] = true
		f.pending++
		f.work[i] <- f.round // buffered 1, and the worker is idle: never blocks
	}
}

// done takes one lane's results: into the round's collection if they
// belong to the current round, else together to the agent at once.
func (f *collectorActor) done(c *actor.Context, m collectDone) {
	f.busy[m.lane] = false
	f.logErrors(m.errs)
	if m.round != f.round { // straggler of an earlier round
		var late collected
		for _, r := range m.res {
			f.add(c, &late, r)
		}
		f.send(c, &late)
		return
	}
	for _, r := range m.res {
		f.add(c, &f.acc, r)
	}
	f.pending--
	if f.pending == 0 {
		f.flush(c)
	}
}

// add appends r to acc, sending acc first when r would take it over
// maxGroupSamples.
func (f *collectorActor) add(c *actor.Context, acc *collected, r collected) {
	if len(acc.samples) > 0 && len(acc.samples)+len(r.samples) > maxGroupSamples {
		f.send(c, acc)
	}
	if acc.samples == nil && len(r.samples) > 0 {
		// One allocation for the whole round (the samples go to the
		// uplinks' outboxes with the report, so the slice is not reused).
		acc.samples = make([]model.Sample, 0, min(max(f.lastN, len(r.samples)), maxGroupSamples))
	}
	acc.samples = append(acc.samples, r.samples...)
	acc.checks = append(acc.checks, r.checks...)
}

// flush sends the round's collection so far to the agent.
func (f *collectorActor) flush(c *actor.Context) { f.send(c, &f.acc) }

// send sends acc, if it holds anything, to the agent and empties it.
func (f *collectorActor) send(c *actor.Context, acc *collected) {
	if len(acc.samples) == 0 && len(acc.checks) == 0 {
		return
	}
	acc.family = f.grp.name
	f.lastN = len(acc.samples)
	if f.deliver != nil {
		f.deliver(*acc)
	} else {
		c.Send(c.Parent(), *acc)
	}
	*acc = collected{}
}

// run collects every collector of family fam once (off the actor). A
// family that may block (ownWorker or solo: statfs, TCP connects, process
// scans, other programs' files) gets a deadline of twice its interval, at
// least 30 s; the others read /proc and make non-blocking system calls,
// whose collectors ignore the context, so they run without a timer (two
// timer operations and three allocations less per family per cycle).
//
// The samples and checks are appended to samples and checks (the worker's
// buffers of the previous round).
func (f *collectorActor) run(fam family, samples []model.Sample, checks []model.Check) (res collected, errs []error) {
	ctx := f.ctx
	if fam.ownWorker || fam.solo {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(f.ctx, max(2*fam.interval, 30*time.Second))
		defer cancel()
	}
	res.family = fam.name
	res.samples, res.checks = samples, checks
	var runs [8]collectorRun
	recs := runs[:0]
	for _, col := range fam.collectors {
		start := time.Now()
		var (
			s   []model.Sample
			ck  []model.Check
			err error
		)
		if cc, ok := col.(CheckCollector); ok {
			s, ck, err = cc.CollectChecks(ctx)
		} else {
			s, err = col.Collect(ctx)
		}
		recs = append(recs, collectorRun{col.Name(), time.Since(start), err})
		if err != nil {
			errs = append(errs, err)
		}
		res.samples = append(res.samples, s...)
		res.checks = append(res.checks, ck...)
	}
	f.a.recordRuns(recs)
	return res, errs
}

// logErrors logs collector errors at WARN, each distinct message at most
// once per 10 minutes, so a permanently failing collector does not flood.
func (f *collectorActor) logErrors(errs []error) {
	now := time.Now()
	for _, err := range errs {
		key := err.Error()
		if t, ok := f.errAt[key]; ok && now.Sub(t) < 10*time.Minute {
			continue
		}
		f.errAt[key] = now
		f.log.Warn("collector failed", "err", err)
	}
	if len(f.errAt) > 100 { // bound memory if messages vary
		clear(f.errAt)
	}
}
