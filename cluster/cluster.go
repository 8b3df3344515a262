// Package cluster lets several Lookout masters run as one: static
// membership with heartbeats, ownership of each host's notifications by
// rendezvous hashing over the live members, and a replicated log (the
// notification ledger, run-time rule and maintenance changes) with
// anti-entropy so a restarted or joining master catches up. It implements
// actors.Cluster.
//
// Transport: a dedicated hollywood engine with remote on cluster.listen
// (mTLS, RoleMaster only; plaintext only with insecure_loopback), separate
// from the agents' ingest engine. hollywood's own cluster package is not
// used (mDNS always on; it panics on RemoteUnreachableEvent from
// non-members). Remote in hollywood v1.0.5 is at-most-once, and dialing a
// dead address blocks the engine's single stream router for about 3 s,
// stalling sends to every other address meanwhile. Therefore:
//
//   - every peer gets its own small sending engine (listening on an
//     ephemeral port of the same host, never used for receiving), so a dead
//     peer stalls only the messages meant for it;
//   - a peer not heard within the peer timeout gets nothing through
//     hollywood until a plain TCP connect to its address succeeds (probed
//     every heartbeat), and a peer that just died gets a fresh sending
//     engine (the old one may hold messages queued behind stalled dials);
//   - nothing ever waits for a reply: every message is idempotent and the
//     heartbeats repeat the state, so a lost message costs one interval.
//
// Membership: cluster.peers is the static list of the other members'
// addresses. Each member heartbeats to each peer every cluster.heartbeat:
// name, address, incarnation (start time), readiness, per-origin log
// positions and host last-seen times. A peer is alive when heard within
// cluster.peer_timeout.
//
// Ownership: Owner(host, members) over the alive and ready members
// (including this one once ready). A member is ready once its log has
// caught up with at least one alive peer (all origins that peer
// advertises), or when no peer has been heard for 2 x peer_timeout since
// start and none accepts TCP connections (a lone master). It then starts
// sending (claims) only once every alive peer lists its current
// incarnation among the owners in its heartbeat, so the previous owner has
// let go first. Until then it owns nothing, so a restarted master never
// sends what the ledger already records as sent; notifications are held
// (not lost) meanwhile.
//
// Known limits: a notification is held by non-owners until the owner
// records it; if the owner never receives the triggering report (agents
// resend until acked, so only after an agent outbox overflow), it stays
// held. The log is not compacted (entries are small; the Delivered index
// keeps 24 h). A peer that dies leaves its old sending engine idle (at most
// one per peer per minute).
//
// Replicated log: every member numbers its own entries (origin, seq); the
// origin is the member name plus a random id of its data directory, so a
// wiped data dir starts a new origin instead of reusing numbers. Entries are
// persisted (namespace "clog", synced for ledger entries), broadcast at
// once, and pulled in batches of up to 256 from any peer advertising a
// higher position (anti-entropy). Received entries are applied in seq order
// per origin: ledger entries feed Delivered's in-memory index (entries older
// than 24 h are dropped from it), rule and maintenance entries go to the
// master's actors.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
	"github.com/lookout-mon/lookout/wire"
)

// Store namespaces owned by this package.
const (
	nsLog  = "clog"  // origin|%020d seq -> Entry
	nsMeta = "cmeta" // "origin" -> this data dir's origin id
)

const (
	actorKind, actorID = "cluster", "main"
	probeTimeout       = 300 * time.Millisecond
	pullRetry          = time.Second
	ledgerKeep         = 24 * time.Hour
)

// Master is what the cluster needs from the local master (*actors.Master).
type Master interface {
	ServerList(ctx context.Context) ([]model.HostStatus, error)
	ApplyRemoteRule(ri model.RuleInfo, deleted bool)
	ApplyRemoteMaintenance(m model.Maintenance, deleted bool)
	RecheckOwnership()
	Notify(n model.Notification, alert string, active bool)
}

// Config configures a cluster member.
type Config struct {
	// Name is this master's name (node.name); names must be unique.
	Name string
	// Listen is the cluster address (a concrete host:port peers can dial).
	Listen string
	// Peers are the other members' cluster addresses.
	Peers []string
	// TLS is the mutual TLS config (nil = plaintext; the caller checks that
	// every address is loopback then).
	TLS         *tls.Config
	Heartbeat   time.Duration // default 500ms
	PeerTimeout time.Duration // default 1.5s
	// PeerSilence raises a WARN when a peer is silent this long (default 5s).
	PeerSilence time.Duration
	Store       *store.Store
	Log         *slog.Logger
}

type member struct {
	addr      string
	name      string
	inc       int64
	ready     bool
	lastHeard time.Time
	pos       map[string]uint64
	seen      map[string]int64
	owners    map[string]int64
	alive     bool
	warned    bool
	// probing: a TCP probe is running; reachableUntil: it succeeded, send
	// heartbeats until then even though the peer was not heard yet.
	probing        bool
	reachableUntil time.Time
	replaced       time.Time // last time out was replaced
	behind         time.Time // since when we hold less than it advertises
	out            *sender
}

// Cluster is one member of a cluster of masters. It is safe for concurrent
// use; its methods never block on the network.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	engine *actor.Engine
	rem    *remote.Remote
	start  time.Time
	inc    int64

	appendMu  sync.Mutex // serializes own appends (held across the store write)
	mu        sync.Mutex
	master    Master
	origin    string
	have      map[string]uint64           // origin -> highest contiguous seq held
	pending   map[string]map[uint64]Entry // received out of order
	delivered map[string]time.Time        // id|notifier -> time
	pulls     map[string]time.Time        // origin -> last pull sent
	members   map[string]*member          // by address
	localSeen map[string]time.Time        // host -> last report here
	ready     bool
	owners    []string // alive+ready names incl. self when ready, sorted
	// claimed: ready, and every alive peer lists this member as an owner.
	claimed bool
	notify  []func() // actions to run after unlocking

	stop chan struct{}
	wg   sync.WaitGroup
}

// New opens the replicated log from the store and starts listening on
// cfg.Listen. Call Attach with the master (started with this Cluster in
// MasterOptions.Cluster) to begin heartbeats and replication.
func New(cfg Config) (*Cluster, error) {
	if cfg.Name == "" || cfg.Listen == "" || cfg.Store == nil {
		return nil, fmt.Errorf("cluster: name, listen and store are required")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 500 * time.Millisecond
	}
	if cfg.PeerTimeout <= 0 {
		cfg.PeerTimeout = 1500 * time.Millisecond
	}
	if cfg.PeerSilence <= 0 {
		cfg.PeerSilence = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	now := time.Now()
	c := &Cluster{cfg: cfg, log: cfg.Log.With("component", "cluster"), start: now, inc: now.UnixNano(),
		have: map[string]uint64{}, pending: map[string]map[uint64]Entry{}, delivered: map[string]time.Time{},
		pulls: map[string]time.Time{}, members: map[string]*member{}, localSeen: map[string]time.Time{},
		stop: make(chan struct{})}
	if err := c.load(); err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster.listen %q: %w", cfg.Listen, err)
	}
	for _, p := range cfg.Peers {
		if p == cfg.Listen {
			continue
		}
		out, err := newSender(host, p, cfg.TLS)
		if err != nil {
			return nil, err
		}
		c.members[p] = &member{addr: p, out: out}
	}
	rc := remote.NewConfig()
	if cfg.TLS != nil {
		rc = rc.WithTLS(cfg.TLS)
	}
	c.rem = remote.New(cfg.Listen, rc)
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(c.rem))
	if err != nil {
		return nil, fmt.Errorf("cluster: listening on %s: %w", cfg.Listen, err)
	}
	c.engine = e
	return c, nil
}

// load reads this data dir's origin id and the persisted log.
func (c *Cluster) load() error {
	st := c.cfg.Store
	var id string
	ok, err := st.Get(nsMeta, "origin", &id)
	if err != nil {
		return fmt.Errorf("cluster: reading origin id: %w", err)
	}
	if !ok {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
		if err := st.PutSync(nsMeta, "origin", id); err != nil {
			return fmt.Errorf("cluster: saving origin id: %w", err)
		}
	}
	c.origin = c.cfg.Name + "@" + id
	cutoff := time.Now().Add(-ledgerKeep).UnixNano()
	err = st.List(nsLog, "", func(key string, raw []byte) error {
		var e Entry
		if err := store.Decode(raw, &e); err != nil {
			c.log.Error("cluster: unreadable log entry skipped", "key", key, "err", err)
			return nil
		}
		if e.Seq > c.have[e.Origin] {
			c.have[e.Origin] = e.Seq
		}
		if e.Kind == KindDelivery && e.Delivery != nil && e.Time >= cutoff {
			c.delivered[e.Delivery.NotificationID+"|"+e.Delivery.Notifier] = time.Unix(0, e.Time)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: loading replicated log: %w", err)
	}
	return nil
}

func logKey(origin string, seq uint64) string { return fmt.Sprintf("%s|%020d", origin, seq) }

// Attach connects the cluster to its master and starts heartbeats,
// replication and last-seen sampling.
func (c *Cluster) Attach(m Master) {
	c.mu.Lock()
	c.master = m
	c.mu.Unlock()
	c.engine.Spawn(func() actor.Receiver { return &receiver{c: c} }, actorKind, actor.WithID(actorID),
		actor.WithMaxRestarts(1<<30))
	c.wg.Add(2)
	go c.heartbeatLoop()
	go c.seenLoop()
}

// Stop stops heartbeats and the listeners.
func (c *Cluster) Stop() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.wg.Wait()
	c.rem.Stop()
	for _, m := range c.members {
		m.out.stop()
	}
}

// Origin returns this member's log origin id ("name@dataid").
func (c *Cluster) Origin() string { return c.origin }

// Positions returns origin -> highest contiguous seq held here.
func (c *Cluster) Positions() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]uint64, len(c.have))
	for k, v := range c.have {
		out[k] = v
	}
	return out
}

// Ready reports whether this member has caught up and may own hosts.
func (c *Cluster) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready
}

// Owns implements actors.Cluster.
func (c *Cluster) Owns(host string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.claimed && Owner(host, c.owners) == c.cfg.Name
}

// Owner returns the name of the member that owns host now ("" if none, e.g.
// while this member is still catching up and hears no one).
func (c *Cluster) Owner(host string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Owner(host, c.owners)
}

// Delivered implements actors.Cluster.
func (c *Cluster) Delivered(id, notifier string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.delivered[id+"|"+notifier]
	return ok
}

// RecordDelivery implements actors.Cluster: the entry is persisted (synced)
// and broadcast.
func (c *Cluster) RecordDelivery(d model.Delivery) {
	c.append(Entry{Kind: KindDelivery, Delivery: &d}, true)
}

// RuleChanged implements actors.Cluster.
func (c *Cluster) RuleChanged(ri model.RuleInfo, deleted bool) {
	c.append(Entry{Kind: KindRule, Rule: &ri, Deleted: deleted}, false)
}

// MaintenanceChanged implements actors.Cluster.
func (c *Cluster) MaintenanceChanged(m model.Maintenance, deleted bool) {
	c.append(Entry{Kind: KindMaintenance, Maint: &m, Deleted: deleted}, false)
}

// LastSeenElsewhere implements actors.Cluster.
func (c *Cluster) LastSeenElsewhere(host string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best int64
	for _, m := range c.members {
		if m.alive && m.seen[host] > best {
			best = m.seen[host]
		}
	}
	if best == 0 {
		return time.Time{}
	}
	return time.Unix(0, best)
}

// Members implements actors.Cluster: this member first, then the peers by
// address. Lag is how long this member has held less of the log than the
// peer advertises (0 = caught up).
func (c *Cluster) Members() []model.MemberStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	out := []model.MemberStatus{{Name: c.cfg.Name, Address: c.cfg.Listen, Alive: true, Self: true, LastSeen: now}}
	addrs := make([]string, 0, len(c.members))
	for a := range c.members {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	for _, a := range addrs {
		m := c.members[a]
		ms := model.MemberStatus{Name: m.name, Address: a, Alive: m.alive, LastSeen: m.lastHeard}
		if !m.behind.IsZero() {
			ms.Lag = now.Sub(m.behind)
		}
		out = append(out, ms)
	}
	return out
}

// append writes an own entry, applies it locally and broadcasts it. The
// store write happens outside c.mu (a synced write can take long on a busy
// disk and must not delay heartbeats); appendMu keeps own seqs in order.
func (c *Cluster) append(e Entry, sync bool) {
	c.appendMu.Lock()
	defer c.appendMu.Unlock()
	c.mu.Lock()
	e.Origin = c.origin
	e.Seq = c.have[c.origin] + 1
	c.mu.Unlock()
	e.Time = time.Now().UnixNano()
	var err error
	if sync {
		err = c.cfg.Store.PutSync(nsLog, logKey(e.Origin, e.Seq), e)
	} else {
		err = c.cfg.Store.Put(nsLog, logKey(e.Origin, e.Seq), e)
	}
	if err != nil {
		c.log.Error("cluster: persisting own log entry failed; not replicated", "kind", e.Kind, "err", err)
		return
	}
	msg, err := wire.Encode(TypeEntries, &Entries{From: c.cfg.Name, Entries: []Entry{e}})
	if err != nil {
		c.log.Error("cluster: encoding entry", "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.have[c.origin] = e.Seq
	if e.Kind == KindDelivery {
		c.delivered[e.Delivery.NotificationID+"|"+e.Delivery.Notifier] = time.Unix(0, e.Time)
	}
	if msg != nil {
		for _, m := range c.members {
			if m.alive {
				m.out.send(msg)
			}
		}
	}
}

// runAfter queues fn to run after c.mu is released (calls into the master).
func (c *Cluster) runAfter(fn func()) { c.notify = append(c.notify, fn) }

func (c *Cluster) unlock() {
	fns := c.notify
	c.notify = nil
	c.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// handle processes one decoded message from a peer.
// It runs on the receiver actor only, so received entries are applied by
// one goroutine; store I/O happens outside c.mu.
func (c *Cluster) handle(msg any) {
	switch m := msg.(type) {
	case *Heartbeat:
		c.mu.Lock()
		c.onHeartbeat(m)
		c.unlock()
	case *Entries:
		c.onEntries(m)
	case *Pull:
		c.onPull(m)
	}
}

func (c *Cluster) onHeartbeat(h *Heartbeat) {
	m := c.members[h.Addr]
	if m == nil {
		c.log.Debug("cluster: heartbeat from an address not in cluster.peers ignored", "from", h.Name, "addr", h.Addr)
		return
	}
	if h.Name == c.cfg.Name {
		c.log.Warn("cluster: peer uses this master's own name; names must be unique", "addr", h.Addr)
		return
	}
	now := time.Now()
	restarted := m.inc != 0 && h.Inc != m.inc
	m.name, m.inc, m.ready, m.lastHeard, m.pos, m.seen, m.owners = h.Name, h.Inc, h.Ready, now, h.Pos, h.Seen, h.Owners
	if m.warned {
		m.warned = false
		name, inc := m.name, m.inc
		c.runAfter(func() { c.peerNotice(name, inc, false) })
	}
	if restarted {
		c.log.Info("cluster: peer restarted", "peer", h.Name, "addr", h.Addr)
	}
	c.evaluate(now)
	c.requestMissing(m, now)
}

// requestMissing pulls the origins m holds further than we do.
func (c *Cluster) requestMissing(m *member, now time.Time) {
	behind := false
	for o, pos := range m.pos {
		have := c.have[o]
		if pos <= have {
			continue
		}
		behind = true
		if t, ok := c.pulls[o]; ok && now.Sub(t) < pullRetry {
			continue
		}
		c.pulls[o] = now
		msg, err := wire.Encode(TypePull, &Pull{From: c.cfg.Name, Addr: c.cfg.Listen, Origin: o, After: have, Max: maxBatch})
		if err == nil {
			m.out.send(msg)
		}
	}
	if !behind {
		m.behind = time.Time{}
	} else if m.behind.IsZero() {
		m.behind = now
	}
}

func (c *Cluster) onEntries(es *Entries) {
	c.mu.Lock()
	for _, e := range es.Entries {
		// Own entries come back only as copies of what this data dir holds
		// (a wiped data dir gets a new origin id).
		if e.Origin == c.origin || e.Seq <= c.have[e.Origin] {
			continue
		}
		p := c.pending[e.Origin]
		if p == nil {
			p = map[uint64]Entry{}
			c.pending[e.Origin] = p
		}
		if _, dup := p[e.Seq]; dup || len(p) >= 4*maxBatch {
			continue
		}
		p[e.Seq] = e
	}
	// The contiguous runs that can be applied now.
	var batch []Entry
	for o, p := range c.pending {
		for next := c.have[o] + 1; ; next++ {
			e, ok := p[next]
			if !ok {
				break
			}
			batch = append(batch, e)
		}
	}
	c.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	b := c.cfg.Store.Batch()
	for _, e := range batch {
		_ = b.Put(nsLog, logKey(e.Origin, e.Seq), e)
	}
	err := b.Commit(true)
	c.mu.Lock()
	defer c.unlock()
	if err != nil {
		c.log.Error("cluster: persisting replicated entries failed; will retry", "entries", len(batch), "err", err)
		return
	}
	for _, e := range batch {
		delete(c.pending[e.Origin], e.Seq)
		if len(c.pending[e.Origin]) == 0 {
			delete(c.pending, e.Origin)
		}
		c.have[e.Origin] = e.Seq
		delete(c.pulls, e.Origin) // allow the next batch at once
		c.apply(e)
	}
	now := time.Now()
	for _, m := range c.members {
		if m.alive {
			c.requestMissing(m, now)
		}
	}
	c.evaluate(now)
}

func (c *Cluster) apply(e Entry) {
	switch e.Kind {
	case KindDelivery:
		if time.Since(time.Unix(0, e.Time)) < ledgerKeep {
			c.delivered[e.Delivery.NotificationID+"|"+e.Delivery.Notifier] = time.Unix(0, e.Time)
		}
	case KindRule:
		if c.master != nil {
			m, ri, del := c.master, *e.Rule, e.Deleted
			c.runAfter(func() { m.ApplyRemoteRule(ri, del) })
		}
	case KindMaintenance:
		if c.master != nil {
			m, mw, del := c.master, *e.Maint, e.Deleted
			c.runAfter(func() { m.ApplyRemoteMaintenance(mw, del) })
		}
	}
}

func (c *Cluster) onPull(p *Pull) {
	c.mu.Lock()
	known := c.members[p.Addr] != nil
	c.mu.Unlock()
	if !known {
		return
	}
	var batch []Entry
	errFull := fmt.Errorf("full")
	err := c.cfg.Store.List(nsLog, p.Origin+"|", func(key string, raw []byte) error {
		var e Entry
		if err := store.Decode(raw, &e); err != nil || e.Seq <= p.After {
			return nil
		}
		batch = append(batch, e)
		if len(batch) >= p.Max {
			return errFull
		}
		return nil
	})
	if err != nil && err != errFull {
		c.log.Error("cluster: reading log for a pull", "origin", p.Origin, "err", err)
		return
	}
	if len(batch) == 0 {
		return
	}
	msg, err := wire.Encode(TypeEntries, &Entries{From: c.cfg.Name, Entries: batch})
	if err != nil {
		c.log.Error("cluster: encoding pull answer", "err", err)
		return
	}
	c.mu.Lock()
	c.members[p.Addr].out.send(msg)
	c.mu.Unlock()
}

// evaluate recomputes liveness, readiness and the owner set; it queues a
// RecheckOwnership when the owner set changed.
func (c *Cluster) evaluate(now time.Time) {
	anyAlive, synced := false, false
	for _, m := range c.members {
		was := m.alive
		m.alive = m.name != "" && now.Sub(m.lastHeard) < c.cfg.PeerTimeout
		if was && !m.alive {
			m.reachableUntil = time.Time{}
			c.replaceSender(m, now)
		}
		if !m.alive {
			continue
		}
		anyAlive = true
		caught := true
		for o, pos := range m.pos {
			if c.have[o] < pos {
				caught = false
				break
			}
		}
		if caught {
			synced = true
		}
	}
	// Alone: nobody heard for 2 x peer_timeout since start, and no peer even
	// accepts connections (a peer that listens but was not heard yet may be
	// one whose messages to us are stuck behind a reconnect; claiming hosts
	// then would make two owners). After 10 x peer_timeout a listening but
	// silent peer no longer holds this member back.
	reachable := false
	for _, m := range c.members {
		if !m.alive && now.Before(m.reachableUntil) {
			reachable = true
		}
	}
	since := now.Sub(c.start)
	alone := !anyAlive && since >= 2*c.cfg.PeerTimeout && (!reachable || since >= 10*c.cfg.PeerTimeout)
	if !c.ready && (synced || alone) {
		c.ready = true
		c.log.Info("cluster: ready to own hosts", "member", c.cfg.Name, "caught_up_with_peer", synced,
			"since_start", now.Sub(c.start).Round(time.Millisecond))
	}
	var owners []string
	if c.ready {
		owners = append(owners, c.cfg.Name)
	}
	for _, m := range c.members {
		if m.alive && m.ready {
			owners = append(owners, m.name)
		}
	}
	sort.Strings(owners)
	// Claim only once every alive peer lists this incarnation as an owner
	// and, during startup, no peer listens without having been heard.
	claimed := c.ready && (!reachable || since >= 10*c.cfg.PeerTimeout)
	for _, m := range c.members {
		if m.alive && m.owners[c.cfg.Name] != c.inc {
			claimed = false
		}
	}
	if !equal(owners, c.owners) || claimed != c.claimed {
		c.log.Info("cluster: owners changed", "owners", owners, "claimed", claimed)
		c.owners, c.claimed = owners, claimed
		if c.master != nil {
			m := c.master
			c.runAfter(m.RecheckOwnership)
		}
	}
}

// replaceSender gives a peer that just died a fresh sending engine: the old
// one may hold heartbeats queued behind a ~3 s dial each, which would delay
// the first messages once the peer is back by several seconds. The old
// engine drains into failed dials and then idles; replacing at most once per
// minute per peer bounds what is left behind.
func (c *Cluster) replaceSender(m *member, now time.Time) {
	if now.Sub(m.replaced) < time.Minute {
		return
	}
	host, _, _ := net.SplitHostPort(c.cfg.Listen)
	out, err := newSender(host, m.addr, c.cfg.TLS)
	if err != nil {
		c.log.Warn("cluster: could not replace the sender of a dead peer", "peer", m.name, "err", err)
		return
	}
	m.replaced = now
	old := m.out
	m.out = out
	go old.stop()
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// heartbeatLoop sends heartbeats, expires members and raises silence WARNs.
func (c *Cluster) heartbeatLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	lastPrune := time.Now()
	for {
		c.beat()
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if time.Since(lastPrune) > time.Minute {
			lastPrune = time.Now()
			c.prune()
		}
	}
}

func (c *Cluster) beat() {
	c.mu.Lock()
	defer c.unlock()
	now := time.Now()
	c.evaluate(now)
	owners := map[string]int64{}
	if c.ready {
		owners[c.cfg.Name] = c.inc
	}
	for _, m := range c.members {
		if m.alive && m.ready {
			owners[m.name] = m.inc
		}
	}
	h := &Heartbeat{Name: c.cfg.Name, Addr: c.cfg.Listen, Inc: c.inc, Ready: c.ready, Owners: owners,
		Pos: make(map[string]uint64, len(c.have)), Seen: make(map[string]int64, len(c.localSeen))}
	for o, s := range c.have {
		h.Pos[o] = s
	}
	for host, t := range c.localSeen {
		h.Seen[host] = t.UnixNano()
	}
	msg, err := wire.Encode(TypeHeartbeat, h)
	if err != nil {
		c.log.Error("cluster: encoding heartbeat", "err", err)
		return
	}
	for _, m := range c.members {
		if !m.lastHeard.IsZero() && !m.warned && now.Sub(m.lastHeard) >= c.cfg.PeerSilence {
			m.warned = true
			name, inc := m.name, m.inc
			c.runAfter(func() { c.peerNotice(name, inc, true) })
		}
		switch {
		case m.alive || now.Before(m.reachableUntil):
			m.out.send(msg)
			if m.alive {
				c.requestMissing(m, now)
			}
		case !m.probing:
			m.probing = true
			go c.probe(m)
		}
	}
}

// probe checks with a plain TCP connect whether a peer that is not alive
// listens again. Only then do heartbeats go to it through hollywood: a
// hollywood send to a dead address blocks that peer's sending engine for
// about 3 s per message, which would delay the first heartbeats once the
// peer is back (and a restarted peer that hears no one would wrongly
// conclude it is alone).
func (c *Cluster) probe(m *member) {
	conn, err := net.DialTimeout("tcp", m.addr, probeTimeout)
	if err == nil {
		_ = conn.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m.probing = false
	if err == nil {
		m.reachableUntil = time.Now().Add(c.cfg.PeerTimeout)
	}
}

// peerNotice raises the WARN for a silent peer, or the INFO when it is back.
// IDs depend only on the peer's name and incarnation, so every member
// computes the same ones and the ledger dedups them.
func (c *Cluster) peerNotice(name string, inc int64, silent bool) {
	c.mu.Lock()
	m := c.master
	c.mu.Unlock()
	if m == nil {
		return
	}
	n := model.Notification{Level: model.WARN, Kind: model.KindWarning,
		Subject: "cluster: master " + name + " is silent",
		Text:    fmt.Sprintf("No heartbeat from master %s for %s; its hosts moved to the remaining masters.", name, c.cfg.PeerSilence)}
	if silent {
		n.ID = notifID("peer-silent", name, inc)
	} else {
		n.ID = notifID("peer-back", name, inc)
		n.Level, n.Kind = model.INFO, model.KindInfo
		n.Subject = "cluster: master " + name + " is back"
		n.Text = fmt.Sprintf("Master %s is heartbeating again.", name)
	}
	m.Notify(n, "peer|"+name, silent)
}

func notifID(parts ...any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:12])
}

func (c *Cluster) prune() {
	c.mu.Lock()
	defer c.mu.Unlock()
	cutoff := time.Now().Add(-ledgerKeep)
	for k, t := range c.delivered {
		if t.Before(cutoff) {
			delete(c.delivered, k)
		}
	}
}

// seenLoop samples the master's host last-seen times for the heartbeats.
// It runs outside any actor (ServerList asks the query actor).
func (c *Cluster) seenLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		c.mu.Lock()
		m := c.master
		c.mu.Unlock()
		if m == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.cfg.Heartbeat)
		hosts, err := m.ServerList(ctx)
		cancel()
		if err != nil {
			c.log.Debug("cluster: reading host last-seen times", "err", err)
			continue
		}
		c.mu.Lock()
		for _, h := range hosts {
			if !h.LastSeen.IsZero() {
				c.localSeen[h.Host] = h.LastSeen
			}
		}
		c.mu.Unlock()
	}
}

// receiver is the actor on the cluster engine that decodes peer messages.
type receiver struct{ c *Cluster }

func (r *receiver) Receive(ctx *actor.Context) {
	a, ok := ctx.Message().(*anypb.Any)
	if !ok {
		return
	}
	msg, err := Decode(a)
	if err != nil {
		r.c.log.Warn("cluster: undecodable message dropped", "type", a.GetTypeUrl(), "err", err)
		return
	}
	r.c.handle(msg)
}
