package actors

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
	"github.com/lookout-mon/lookout/store"
)

// MasterOptions configures a master.
type MasterOptions struct {
	Name   string
	Listen string      // agent ingest address (hollywood remote)
	TLS    *tls.Config // nil = plaintext (only allowed on loopback; the caller checks)
	Store  *store.Store
	Log    *slog.Logger
	// Keys are the agents allowed to report.
	Keys               map[string]ed25519.PublicKey
	HostTimeout        time.Duration
	PersistentDowntime time.Duration
	AgentSilence       time.Duration
	RateLimit          float64
	RateBurst          int
	Rules              []model.RuleInfo
	Maintenance        []model.Maintenance
	Notifiers          []notify.Notifier
	RetryMin, RetryMax time.Duration
	FailWarnAfter      time.Duration
	GiveUpAfter        time.Duration
	Debug              bool
	Tick               time.Duration // default 1s
	// IngestFlushDelay is the ingest's group-commit window (see
	// IngestConfig.FlushDelay): 0 means DefaultFlushDelay, negative off.
	IngestFlushDelay time.Duration
	// IngestBacklog is how many reports may wait for authentication before
	// the ingest sheds load (see maxVerifyBacklog): 0 means that default.
	IngestBacklog int
	Now           func() time.Time
	Inject        func(host string, r *model.Report)
	// StormBackoff is how long a child that exceeded its restart intensity
	// stays parked at first (doubling up to 5m); default 5s.
	StormBackoff time.Duration
	// Cluster, when set, decides ownership and replicates the ledger, rules
	// and maintenance windows (see Cluster).
	Cluster Cluster
}

// Master is a running master: an actor engine with the supervised tree.
type Master struct {
	opts   MasterOptions
	engine *actor.Engine
	remote *remote.Remote
	subs   Subscribers
	root   *actor.PID
	pids   map[string]*actor.PID
	ticks  []actor.SendRepeater
	// stopPrune ends the ledger pruning loop.
	stopPrune chan struct{}
}

// pruneLoop keeps the delivery ledger bounded: at start and every 6 hours.
func (m *Master) pruneLoop() {
	t := time.NewTicker(6 * time.Hour)
	defer t.Stop()
	for {
		if n, err := PruneLedger(m.opts.Store, m.opts.Now()); err != nil {
			m.opts.Log.Warn("ledger pruning failed", "err", err)
		} else if n > 0 {
			m.opts.Log.Info("ledger pruned", "entries", n)
		}
		select {
		case <-m.stopPrune:
			return
		case <-t.C:
		}
	}
}

const rootKind, rootID = "lookout", "master"

func (m *Master) childPID(name string) *actor.PID {
	return actor.NewPID(m.engine.Address(), rootKind+"/"+rootID+"/"+name+"/main")
}

// StartMaster starts the engine, its remote listener and the actor tree.
func StartMaster(o MasterOptions) (*Master, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Master{opts: o, pids: map[string]*actor.PID{}}
	cfg := actor.NewEngineConfig()
	if o.Listen != "" {
		rc := remote.NewConfig()
		if o.TLS != nil {
			rc = rc.WithTLS(o.TLS)
		}
		m.remote = remote.New(o.Listen, rc)
		cfg = cfg.WithRemote(m.remote)
	}
	e, err := actor.NewEngine(cfg)
	if err != nil {
		return nil, fmt.Errorf("master: starting engine on %s: %w", o.Listen, err)
	}
	m.engine = e
	for _, n := range []string{"ingest", "hosts", "router", "notifiers", "watchdog", "query", "stream"} {
		m.pids[n] = m.childPID(n)
	}
	rootPID := actor.NewPID(e.Address(), rootKind+"/"+rootID)
	rec := Recover(o.Log, func() *actor.PID { return rootPID })
	m.root = e.Spawn(func() actor.Receiver { return &root{m: m, rec: rec} }, rootKind,
		SpawnOpts(Recover(o.Log, nil), rootID, 0)...)
	for _, n := range []string{"hosts", "router", "ingest"} {
		m.ticks = append(m.ticks, e.SendRepeat(m.pids[n], tick{}, o.Tick))
	}
	m.stopPrune = make(chan struct{})
	go m.pruneLoop()
	return m, nil
}

// root is the root supervisor.
type root struct {
	m   *Master
	rec actor.MiddlewareFunc
	sup Supervisor
}

func (r *root) Receive(c *actor.Context) {
	if r.sup.Handle(c, c.Message()) {
		return
	}
	switch c.Message().(type) {
	case actor.Started:
		m, o := r.m, r.m.opts
		p := m.pids
		watchdogPID := p["watchdog"]
		onStorm := func(s RestartStorm) { c.Engine().Send(watchdogPID, stormMsg{S: s}) }
		onRestart := func(child, reason string) { c.Engine().Send(watchdogPID, restartMsg{Child: child, Reason: reason}) }
		r.sup = Supervisor{Name: "root", Log: o.Log, Recover: r.rec, OnStorm: onStorm, OnRestart: onRestart, Intensity: 10, Window: time.Minute}
		r.sup.Spawn(c, "query", "main", newQuery(o.Store, o.Log.With("actor", "query")), 0)
		r.sup.Spawn(c, "stream", "main", newStream(&m.subs, p["query"]), 0)
		r.sup.Spawn(c, "watchdog", "main", newWatchdog(o.Log, p["router"], p["stream"]), 0)
		var refs []NotifierRef
		for _, n := range o.Notifiers {
			refs = append(refs, NotifierRef{Key: notify.Key(n), MinLevel: n.MinLevel(),
				PID: actor.NewPID(c.Engine().Address(), p["notifiers"].ID+"/notifier/"+notify.Key(n))})
		}
		r.sup.Spawn(c, "notifiers", "main", newNotifiersSup(o, p, r.rec, onStorm, onRestart), 0)
		r.sup.Spawn(c, "router", "main", newRouter(RouterConfig{Store: o.Store, Log: o.Log.With("actor", "router"), Stream: p["stream"],
			Notifiers: refs, Maintenance: o.Maintenance, Now: o.Now, Cluster: o.Cluster}), 0)
		r.sup.Spawn(c, "hosts", "main", newHostsSup(HostsConfig{Store: o.Store, Log: o.Log.With("actor", "hosts"), Router: p["router"],
			Query: p["query"], Stream: p["stream"], HostTimeout: o.HostTimeout, PersistentDowntime: o.PersistentDowntime,
			ConfigRules: o.Rules, Debug: o.Debug, Now: o.Now, Recover: r.rec, OnStorm: onStorm, OnRestart: onRestart, Inject: o.Inject,
			StormBackoff: o.StormBackoff, Cluster: o.Cluster, Tick: o.Tick}), 0)
		r.sup.Spawn(c, "ingest", "main", newIngest(IngestConfig{Master: o.Name, Keys: o.Keys, Store: o.Store, Hosts: p["hosts"],
			Log: o.Log.With("actor", "ingest"), RateLimit: o.RateLimit, RateBurst: o.RateBurst,
			Router: p["router"], AgentSilence: o.AgentSilence, Now: o.Now, FlushDelay: o.IngestFlushDelay, Backlog: o.IngestBacklog}), 0)
	}
}

// notifiersSup supervises one notifier actor per configured notifier.
type notifiersSup struct {
	o   MasterOptions
	p   map[string]*actor.PID
	sup Supervisor
}

func newNotifiersSup(o MasterOptions, p map[string]*actor.PID, rec actor.MiddlewareFunc, onStorm func(RestartStorm), onRestart func(string, string)) actor.Producer {
	return func() actor.Receiver {
		return &notifiersSup{o: o, p: p, sup: Supervisor{Name: "notifiers", Log: o.Log, Recover: rec, OnStorm: onStorm, OnRestart: onRestart}}
	}
}

func (n *notifiersSup) Receive(c *actor.Context) {
	if n.sup.Handle(c, c.Message()) {
		return
	}
	if _, ok := c.Message().(kick); ok {
		n.sup.Each(func(pid *actor.PID) { c.Send(pid, kick{}) })
		return
	}
	if _, ok := c.Message().(actor.Started); ok {
		for _, nf := range n.o.Notifiers {
			key := notify.Key(nf)
			n.sup.Spawn(c, "notifier", key, newNotifierActor(NotifierActorConfig{Notifier: nf, Store: n.o.Store,
				Log: n.o.Log, Router: n.p["router"], Query: n.p["query"],
				RetryMin: n.o.RetryMin, RetryMax: n.o.RetryMax, FailWarnAfter: n.o.FailWarnAfter, GiveUpAfter: n.o.GiveUpAfter,
				Now: n.o.Now, Cluster: n.o.Cluster}), 0)
		}
	}
}

// Engine returns the master's actor engine (tests, cluster wiring).
func (m *Master) Engine() *actor.Engine { return m.engine }

// Address returns the ingest address.
func (m *Master) Address() string { return m.engine.Address() }

// Subscribe registers an event consumer; it must not block.
func (m *Master) Subscribe(fn func(model.Event)) func() { return m.subs.Add(fn) }

// Stop stops the actor tree and the remote listener.
func (m *Master) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	if st, err := m.IngestStats(ctx); err == nil {
		m.opts.Log.Info("master: ingest totals", "accepted", st.Accepted, "commits", st.Commits,
			"duplicates", st.Duplicates, "early_duplicates", st.EarlyDuplicates, "gaps", st.Gaps,
			"reordered", st.Reordered, "held_dropped", st.HeldDropped, "overloaded", st.Overloaded,
			"rate_limited", st.RateLimited, "rejected", st.Rejected, "malformed", st.Malformed,
			"unknown_session", st.UnknownSession, "store_errors", st.StoreErrors)
	}
	cancel()
	for _, t := range m.ticks {
		t.Stop()
	}
	close(m.stopPrune)
	// hollywood v1.0.5 can lose a second poison pill sent to an actor that
	// is already stopping (a child removed just before its parent stops), and
	// the parent then waits for it forever: bound the wait.
	select {
	case <-m.engine.Poison(m.root).Done():
	case <-time.After(5 * time.Second):
		m.opts.Log.Warn("master: actor tree did not stop within 5s; continuing shutdown")
	}
	if m.remote != nil {
		m.remote.Stop().Wait()
	}
	for _, n := range m.opts.Notifiers {
		_ = n.Close()
	}
}

// ErrNotFound is returned by queries for unknown hosts or series.
var ErrNotFound = errors.New("not found")

const requestTimeout = 5 * time.Second

func (m *Master) ask(ctx context.Context, name string, msg any) (any, error) {
	timeout := requestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	res, err := m.engine.Request(m.pids[name], msg, timeout).Result()
	if err != nil {
		return nil, fmt.Errorf("%s did not answer: %w", name, err)
	}
	return res, nil
}

func askAs[T any](ctx context.Context, m *Master, name string, msg any) (T, error) {
	var zero T
	res, err := m.ask(ctx, name, msg)
	if err != nil {
		return zero, err
	}
	v, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("%s answered %T", name, res)
	}
	return v, nil
}

// ServerList returns every known host (without samples).
func (m *Master) ServerList(ctx context.Context) ([]model.HostStatus, error) {
	hs, err := askAs[[]model.HostStatus](ctx, m, "query", qServerList{})
	if err == nil && m.opts.Cluster != nil {
		for i := range hs {
			hs[i].Owner = m.opts.Cluster.Owner(hs[i].Host)
		}
	}
	return hs, err
}

// ServerStatus returns one host with its samples and checks.
func (m *Master) ServerStatus(ctx context.Context, host string) (*model.HostStatus, error) {
	h, err := askAs[*model.HostStatus](ctx, m, "query", qServerStatus{Host: host})
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, fmt.Errorf("host %q: %w", host, ErrNotFound)
	}
	if m.opts.Cluster != nil {
		h.Owner = m.opts.Cluster.Owner(host)
	}
	return h, nil
}

// DownList returns hosts that are down or have a failing check.
func (m *Master) DownList(ctx context.Context) ([]model.HostStatus, error) {
	return askAs[[]model.HostStatus](ctx, m, "query", qDownList{})
}

// LastValue returns the last value of host!series.attr and when the host last reported.
func (m *Master) LastValue(ctx context.Context, host, series, attr string) (float64, time.Time, error) {
	h, err := m.ServerStatus(ctx, host)
	if err != nil {
		return 0, time.Time{}, err
	}
	v, ok := lastValue(h, series, attr)
	if !ok {
		return 0, time.Time{}, fmt.Errorf("host %q has no value %s.%s: %w", host, series, attr, ErrNotFound)
	}
	return v, h.LastSeen, nil
}

// ServiceList lists the services/units of one host ("" = all hosts).
func (m *Master) ServiceList(ctx context.Context, host string) ([]model.ServiceStatus, error) {
	return askAs[[]model.ServiceStatus](ctx, m, "query", qServiceList{Host: host})
}

// History reads a series attribute's history from the store.
func (m *Master) History(ctx context.Context, host, series, attr string, from, to time.Time, step time.Duration) ([]model.Point, error) {
	pts, err := m.opts.Store.History(host, series, attr, from, to, step)
	if err != nil {
		return nil, err
	}
	out := make([]model.Point, len(pts))
	for i, p := range pts {
		out[i] = model.Point{T: p.T, Min: p.Min, Avg: p.Avg, Max: p.Max, N: p.N}
	}
	return out, nil
}

// Downtimes lists downtimes overlapping [from, to] (host "" = all).
func (m *Master) Downtimes(ctx context.Context, host string, from, to time.Time) ([]model.Downtime, error) {
	return m.opts.Store.Downtimes(host, from, to)
}

// Alarms lists pending and firing alarms, firing first.
func (m *Master) Alarms(ctx context.Context) ([]model.AlarmStatus, error) {
	return askAs[[]model.AlarmStatus](ctx, m, "query", qAlarms{})
}

// Transitions lists recent host/alarm/notification events, newest first.
func (m *Master) Transitions(ctx context.Context, limit int) ([]model.Event, error) {
	return askAs[[]model.Event](ctx, m, "query", qTransitions{Limit: limit})
}

// Deliveries lists recent delivery states, newest first.
func (m *Master) Deliveries(ctx context.Context, limit int) ([]model.Delivery, error) {
	return askAs[[]model.Delivery](ctx, m, "query", qDeliveries{Limit: limit})
}

// Rules lists the alarm rules.
func (m *Master) Rules(ctx context.Context) ([]model.RuleInfo, error) {
	return askAs[[]model.RuleInfo](ctx, m, "hosts", qRules{})
}

// AddRule adds (or replaces) a run-time rule; parse errors are returned verbatim.
func (m *Master) AddRule(ctx context.Context, name, expr string) error {
	r, err := askAs[ruleResult](ctx, m, "hosts", addRule{Name: name, Expr: expr})
	if err != nil {
		return err
	}
	return r.Err
}

// DeleteRule removes a run-time rule.
func (m *Master) DeleteRule(ctx context.Context, name string) error {
	r, err := askAs[ruleResult](ctx, m, "hosts", deleteRule{Name: name})
	if err != nil {
		return err
	}
	return r.Err
}

// Maintenance lists maintenance windows.
func (m *Master) Maintenance(ctx context.Context) ([]model.Maintenance, error) {
	return askAs[[]model.Maintenance](ctx, m, "router", qMaintenance{})
}

// AddMaintenance validates and stores a maintenance window.
func (m *Master) AddMaintenance(ctx context.Context, mw model.Maintenance) (model.Maintenance, error) {
	r, err := askAs[maintResult](ctx, m, "router", addMaintenance{M: mw})
	if err != nil {
		return mw, err
	}
	return r.M, r.Err
}

// DeleteMaintenance removes a maintenance window.
func (m *Master) DeleteMaintenance(ctx context.Context, id string) error {
	r, err := askAs[maintResult](ctx, m, "router", deleteMaintenance{ID: id})
	if err != nil {
		return err
	}
	return r.Err
}

// Members returns the cluster membership (this master alone when not clustered).
func (m *Master) Members(ctx context.Context) ([]model.MemberStatus, error) {
	if m.opts.Cluster != nil {
		return m.opts.Cluster.Members(), nil
	}
	return []model.MemberStatus{{Name: m.opts.Name, Address: m.Address(), Alive: true, Self: true, LastSeen: m.opts.Now()}}, nil
}

// IngestStats returns the ingest counters.
func (m *Master) IngestStats(ctx context.Context) (IngestStats, error) {
	return askAs[IngestStats](ctx, m, "ingest", qIngestStats{})
}
