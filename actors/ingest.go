package actors

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
	"github.com/lookout-mon/lookout/wire"
)

// Namespaces in the store used by the master actors.
const (
	nsHostLast = "hlast"    // host -> store.LastValues: its last-values checkpoint (written by its host actor)
	nsHostSeq  = "hseq"     // host -> store.HostSeq: agent, seq and arrival of its newest committed report (ingest, every batch)
	nsSeq      = "seq"      // legacy (read only): agent -> last applied seq
	nsSeen     = "seen"     // legacy (read only): host -> when its newest committed report arrived
	nsLast     = "last"     // legacy (read only): host|service.resource:unit -> model.Sample
	nsLastRes  = "lastres"  // legacy (read only): host|service.resource -> []model.Sample: one report's units of that resource
	nsHost     = "host"     // host -> hostState
	nsAlarm    = "alarm"    // host|rule|series|attr -> rules.Alarm
	nsRule     = "rule"     // name -> model.RuleInfo (runtime rules)
	nsMaint    = "maint"    // id -> model.Maintenance
	nsLedger   = "ledger"   // notification id|notifier -> model.Delivery (sent/failed)
	nsOutbox   = "outbox"   // notifier|created|id -> outboxItem
	nsDelivery = "delivery" // created|id|notifier -> model.Delivery (recent, for the dashboard)
)

// Limits on what one report may carry.
const (
	maxSamples   = 4096
	maxChecks    = 1024
	maxValues    = 256
	maxBatch     = 256
	maxNameBytes = 200
)

// validHostName reports whether h matches ^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$
// (checked by hand: a regexp match was ~2% of the ingest's CPU per report).
func validHostName(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// IngestConfig configures the ingest actor.
type IngestConfig struct {
	Master    string // this master's name (in acks)
	Keys      map[string]ed25519.PublicKey
	Store     *store.Store
	Hosts     *actor.PID
	Log       *slog.Logger
	RateLimit float64 // reports/s per agent
	RateBurst int
	// Router and AgentSilence drive the agent watchdog: a configured agent
	// silent for AgentSilence raises a WARN (and an INFO when it is back).
	Router       *actor.PID
	AgentSilence time.Duration
	Now          func() time.Time
	// FlushDelay is the group-commit window: a flush that would start less
	// than FlushDelay after the previous one began waits until then, so
	// under steady load a commit carries the reports of ~FlushDelay instead
	// of one or two (each commit costs two badger transactions). A report
	// arriving after a quiet spell is committed at once, as before. 0 means
	// DefaultFlushDelay; negative turns the window off.
	FlushDelay time.Duration
	// Backlog is how many reports may wait for authentication before the
	// ingest sheds load; 0 means maxVerifyBacklog.
	Backlog int
}

// DefaultFlushDelay is IngestConfig.FlushDelay when unset. At 4,000
// reports/s it makes batches of ~4 reports instead of ~1; at 100 reports/s
// almost no report waits, and none waits longer than this.
const DefaultFlushDelay = time.Millisecond

type pendingReport struct {
	r      *model.Report
	sender *actor.PID
	at     time.Time
	raw    store.RawReport // r's raw history entry, committed with it
}

type bucket struct {
	tokens float64
	last   time.Time
}

// ingest receives agent reports, authenticates them, dedups by (agent,
// seq), commits them to the store in groups and only then acks and
// forwards them to host actors.
type ingest struct {
	cfg     IngestConfig
	last    map[string]uint64 // agent -> last applied seq
	senders map[string]*actor.PID
	buckets map[string]*bucket
	pending []pendingReport
	// pendingSeq is the last seq of each agent in pending (uncommitted).
	pendingSeq map[string]uint64
	flushQ     bool
	// lastFlush is when the last non-empty flush began (real clock: it
	// paces commits, whatever cfg.Now says).
	lastFlush time.Time
	stats     IngestStats
	lastLog   map[string]time.Time
	started   time.Time
	silent    map[string]time.Time // agent -> when the silence WARN was sent
	// gapAcked limits the acks sent for reports that arrive after a gap.
	gapAcked map[string]time.Time
	// held keeps, per agent, verified reports that arrived after a gap (a
	// report of that agent was shed or lost) until the gap is filled, so
	// the agent's resend of the missing report is enough: without it every
	// report after the gap was dropped and had to be resent too. heldN is
	// the total, bounded by maxHeld (and maxHeldPerAgent per agent).
	held   map[string]*heldRun
	heldN  int
	verify []*actor.PID // verifier children, by shard
	// acks and ackT hold back the progress acks of agents whose session
	// asked for an ack delay (see ingest_ackdelay.go).
	acks ackDelays
	ackT ackTimer
	// hist is the history writer child; histSent and histDone count the
	// batches sent to it and answered.
	hist               *actor.PID
	histSent, histDone uint64
	// histQ holds history items waiting for the writer to catch up (see
	// maxHistInFlight), sent as one batch on its next histDone.
	histQ  []store.HostSamples
	inline *verifier // used only when there are no verifier children
	// sent and done count reports dispatched to / returned from each
	// verifier, so stats questions see every report sent before them.
	sent, done [verifyShards]uint64
	waiters    []statsWaiter
}

// verifyShards is the number of verifier actors. Authentication (an
// ed25519 check, ~55 µs of CPU, for signed reports and hellos; an HMAC,
// ~2 µs, for session reports) and decoding run there in parallel; the
// session tables live there too (per shard: one sender always goes to the
// same shard), everything else with state stays in the ingest actor.
const verifyShards = 4

// maxVerifyBacklog is how many reports may wait for signature checks (or,
// checked, for the ingest actor) before it sheds load. They wait as raw
// messages (~1 KiB for 40 values), so this bounds that memory to ~32 MiB,
// and it lets the ingest ride out a stall of the store (a memtable flush or
// compaction falling behind) of ~1.5 s at 20,000 reports/s without
// shedding: every shed report costs a resend and holds up its agent's
// later reports until the resend arrives.
const maxVerifyBacklog = 32768

// Bounds of the reports held after a gap (see ingest.held). A held report
// of 40 values takes ~3 KiB, so at most ~24 MiB are held in all; a report
// held longer than maxHeldAge is dropped (its gap was never filled: the
// agent went away), and the agent resends it if it comes back.
const (
	maxHeld         = 8192
	maxHeldPerAgent = 256
	maxHeldAge      = 30 * time.Second
)

// heldRun is one agent's reports held after a gap, in seq order, and the
// highest Oldest any of its reports carried: the agent had every seq
// below floor acknowledged or dropped for good, so a held report whose seq
// is at most floor needs nothing before it.
type heldRun struct {
	reps  []pendingReport
	floor uint64
}

// has reports whether seq is held.
func (h *heldRun) has(seq uint64) bool {
	_, found := slices.BinarySearchFunc(h.reps, seq, func(p pendingReport, seq uint64) int { return cmp.Compare(p.r.Seq, seq) })
	return found
}

// verifyJob asks a verifier to open one signed report.
type verifyJob struct {
	a     *anypb.Any
	shard int
}

// verified is a verifier's answer, sent to the ingest actor with the
// original sender as sender, so acks and rejects go where they always did.
type verified struct {
	r     *model.Report
	err   error
	shard int
	// hello is set when the message was a session hello; welcome is then
	// the answer to send (nil if the hello was refused, err says why).
	hello   bool
	welcome *anypb.Any
	// agent and badSession are set when a session-authenticated report was
	// refused because of its session (unknown, or its MAC failed), so the
	// agent can be told to re-handshake.
	agent      string
	badSession uint64
	// sane is set when r passed sanitize in the verifier, and raw is then
	// its raw history value (encoded there, in parallel, so that the
	// ingest's serial commit only adds it to the batch).
	sane bool
	raw  store.RawReport
	// ackDelay is the ack delay the session of a session report asked for
	// (0: none, or a signed report). For a hello, agent is its agent.
	ackDelay time.Duration
}

// verifier checks signatures and session MACs and decodes reports for the
// ingest actor. Its only state is its session table (sessions of the
// senders hashed to this shard, which always send here). A restarted
// ingest actor reuses the existing children (re-spawning an existing ID
// returns the old PID), sessions included.
type verifier struct {
	keys   map[string]ed25519.PublicKey // read-only
	parent *actor.PID
	master string
	now    func() time.Time
	sess   sessionTable
}

func (v *verifier) Receive(c *actor.Context) {
	j, ok := c.Message().(verifyJob)
	if !ok {
		return
	}
	res := v.open(j.a)
	res.prepare()
	res.shard = j.shard
	c.Engine().SendWithSender(v.parent, res, c.Sender())
}

// sanitized is sanitize of the report unless the verifier did it (then
// nil); when it has to run here, it encodes the raw value as well.
func (res *verified) sanitized() error {
	if res.sane {
		return nil
	}
	if err := sanitize(res.r); err != nil {
		return err
	}
	res.sane, res.raw = true, store.EncodeReport(res.r.Samples)
	return nil
}

// prepare sanitizes an opened report and encodes its raw history value
// (nothing for a hello or an error; a report sanitize refuses is refused
// by accept, which runs it again).
func (res *verified) prepare() {
	if res.hello || res.err != nil || res.r == nil || sanitize(res.r) != nil {
		return
	}
	res.sane = true
	res.raw = store.EncodeReport(res.r.Samples)
}

func (v *verifier) key(agent string) (ed25519.PublicKey, bool) {
	k, ok := v.keys[agent]
	return k, ok
}

// open authenticates and decodes one message from an agent: a signed
// report, a session hello or a session-authenticated report.
func (v *verifier) open(a *anypb.Any) verified {
	switch a.GetTypeUrl() {
	case wire.TypeHello:
		w, agent, err := v.hello(a)
		return verified{hello: true, welcome: w, err: err, agent: agent}
	case wire.TypeMACReport:
		m, err := wire.DecodeMACReport(a)
		if err != nil {
			return verified{err: err}
		}
		s := v.sess.get(m.Session)
		if s == nil {
			return verified{err: fmt.Errorf("%w %d (agent %q)", wire.ErrUnknownSession, m.Session, m.Agent), agent: m.Agent, badSession: m.Session}
		}
		r, err := s.Open(m)
		if errors.Is(err, wire.ErrBadMAC) {
			return verified{err: err, agent: m.Agent, badSession: m.Session}
		}
		return verified{r: r, err: err, ackDelay: v.sess.ackDelay[m.Session]}
	default:
		r, err := wire.OpenReport(a, v.key)
		return verified{r: r, err: err}
	}
}

// hello verifies a session hello, opens the session and returns the
// Welcome to send back and the hello's agent.
func (v *verifier) hello(a *anypb.Any) (*anypb.Any, string, error) {
	h, err := wire.OpenHello(a, v.key, v.now())
	if err != nil {
		return nil, "", err
	}
	if last, ok := v.sess.lastHello[h.Agent]; ok && h.Time <= last {
		return nil, "", fmt.Errorf("%w from %q: not newer than the last accepted hello", wire.ErrStaleHello, h.Agent)
	}
	id, err := v.sess.newID()
	if err != nil {
		return nil, "", err
	}
	s, welcome, err := wire.AcceptHello(h, v.master, id)
	if err != nil {
		return nil, "", err
	}
	v.sess.add(s, h.Time)
	v.sess.setAckDelay(id, clampAckDelay(h.AckDelay))
	return welcome, h.Agent, nil
}

// maxSessionsPerAgent bounds the session table: a new session of an agent
// evicts its oldest beyond this many.
const maxSessionsPerAgent = 2

// sessionTable holds the sessions opened by accepted hellos. It grows only
// from hellos signed by configured agents, by at most maxSessionsPerAgent
// sessions per agent.
type sessionTable struct {
	byID      map[uint64]*wire.Session
	byAgent   map[string][]uint64 // oldest first
	lastHello map[string]int64    // agent -> Time of its last accepted hello
	// ackDelay is the (clamped) ack delay a session asked for, for the
	// sessions that asked for one.
	ackDelay map[uint64]time.Duration
}

func (t *sessionTable) get(id uint64) *wire.Session { return t.byID[id] }

// newID returns a random session ID not in use.
func (t *sessionTable) newID() (uint64, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, fmt.Errorf("ingest: session id: %w", err)
		}
		id := binary.LittleEndian.Uint64(b[:])
		if _, used := t.byID[id]; id != 0 && !used {
			return id, nil
		}
	}
}

// add stores s, opened by a hello of helloTime, evicting the agent's oldest
// session if it has maxSessionsPerAgent already.
func (t *sessionTable) add(s *wire.Session, helloTime int64) {
	if t.byID == nil {
		t.byID, t.byAgent, t.lastHello = map[uint64]*wire.Session{}, map[string][]uint64{}, map[string]int64{}
	}
	ids := t.byAgent[s.Agent]
	for len(ids) >= maxSessionsPerAgent {
		delete(t.byID, ids[0])
		delete(t.ackDelay, ids[0])
		ids = ids[1:]
	}
	t.byAgent[s.Agent] = append(append([]uint64(nil), ids...), s.ID)
	t.byID[s.ID] = s
	t.lastHello[s.Agent] = helloTime
}

// len is the number of sessions held.
func (t *sessionTable) len() int { return len(t.byID) }

func (in *ingest) newVerifier(c *actor.Context) *verifier {
	return &verifier{keys: in.cfg.Keys, parent: c.PID(), master: in.cfg.Master, now: in.cfg.Now}
}

// spawnChildren starts the verifiers and the history writer.
func (in *ingest) spawnChildren(c *actor.Context) {
	in.verify = in.verify[:0]
	for i := range verifyShards {
		v := in.newVerifier(c)
		in.verify = append(in.verify, c.SpawnChild(func() actor.Receiver { return v }, "verify",
			SpawnOpts(nil, strconv.Itoa(i), 0)...))
	}
	w := &histWriter{store: in.cfg.Store, log: in.cfg.Log, parent: c.PID()}
	in.hist = c.SpawnChild(func() actor.Receiver { return w }, "history", SpawnOpts(nil, "writer", 0)...)
}

// maxHistInFlight is how many history batches may wait for the history
// writer. Beyond it the ingest queues the items of its next commits (at
// most maxHistQueued) and sends them as one batch when the writer answers;
// beyond that it writes them itself, which slows it down to what the store
// can take.
//
// The writer falls behind in bursts: when a minute closes for every host
// (a read-modify-write of each series' 1h rollup) and while badger stalls
// writes. Writing history on the ingest's serial path then (what it did
// once 4 batches were in flight) took 3.2-3.7 s of a 20 s run at 20,000
// reports/s, 500 batches at 3.4 ms (p50) each, as each waited for host
// locks the writer held through its commit; queued and coalesced, the
// items cost one commit per catch-up instead.
const (
	maxHistInFlight = 4
	maxHistQueued   = 16384
)

// histBatch asks the history writer to store one commit's samples; it
// answers histDone.
type histBatch struct{ items []store.HostSamples }

type histDone struct{}

// histWriter writes the rollups of committed reports, outside the ingest
// actor's serial path: the ingest commits a batch's raw reports and seqs,
// acks and goes on with the next batch while the rollups of this one are
// written. The acks never waited for the history (a
// failed history write is logged, not retried), so nothing changes for the
// agents; batches are written in commit order.
type histWriter struct {
	store   *store.Store
	log     *slog.Logger
	parent  *actor.PID
	lastLog time.Time
}

func (w *histWriter) Receive(c *actor.Context) {
	b, ok := c.Message().(histBatch)
	if !ok {
		return
	}
	writeHistory(w.store, b.items, func(err error) {
		if now := time.Now(); now.Sub(w.lastLog) >= 10*time.Second {
			w.lastLog = now
			w.log.Warn("ingest: history write failed", "reports", len(b.items), "err", err)
		}
	})
	c.Send(w.parent, histDone{})
}

// writeHistory adds items to the rollups (their raw entries were
// committed with the reports); a failure other than the read-only history
// (disk full: already reported) goes to fail.
func writeHistory(st *store.Store, items []store.HostSamples, fail func(error)) {
	if err := st.AddRollupsBatch(items); err != nil && !errors.Is(err, store.ErrHistoryReadOnly) {
		fail(err)
	}
}

// dispatch hands a signed report to the verifier of its sender: one
// sender always goes to the same verifier, whose inbox is FIFO, so each
// agent's reports reach accept in the order they arrived.
func (in *ingest) dispatch(c *actor.Context, a *anypb.Any) {
	if len(in.verify) == 0 {
		in.receive(c, a)
		return
	}
	h := fnv.New32a()
	if s := c.Sender(); s != nil {
		h.Write([]byte(s.Address))
		h.Write([]byte{0})
		h.Write([]byte(s.ID))
	}
	shard := int(h.Sum32() % uint32(len(in.verify)))
	// A session report whose seq this master applied or holds already is
	// a duplicate whatever its MAC says: drop it before a verifier spends
	// an HMAC and a decode on it (after one lost report an agent resends a
	// whole window, most of which is here already).
	if agent, seq, ok := wire.PeekSeq(a); ok && in.knownSeq(agent, seq) {
		in.stats.EarlyDuplicates++
		if seq <= in.last[string(agent)] {
			in.ackLimited(c, string(agent))
		}
		return
	}
	// Load shedding: hollywood inboxes are unbounded, so when the verifiers
	// are this far behind, new reports are dropped unacknowledged (the
	// agents resend them later, with backoff) instead of piling up.
	var backlog uint64
	for i := range in.sent {
		backlog += in.sent[i] - in.done[i]
	}
	if backlog >= uint64(in.cfg.Backlog) {
		in.stats.Overloaded++
		in.logLimited("overload", "ingest: overloaded, shedding reports (agents will resend)", "backlog", backlog)
		return
	}
	in.sent[shard]++
	c.Engine().SendWithSender(in.verify[shard], verifyJob{a: a, shard: shard}, c.Sender())
}

func newIngest(cfg IngestConfig) actor.Producer {
	return func() actor.Receiver {
		if cfg.RateLimit <= 0 {
			cfg.RateLimit = 20
		}
		if cfg.RateBurst <= 0 {
			cfg.RateBurst = 2000
		}
		if cfg.Now == nil {
			cfg.Now = time.Now
		}
		if cfg.FlushDelay == 0 {
			cfg.FlushDelay = DefaultFlushDelay
		}
		if cfg.Backlog <= 0 {
			cfg.Backlog = maxVerifyBacklog
		}
		return &ingest{cfg: cfg, last: map[string]uint64{}, senders: map[string]*actor.PID{},
			buckets: map[string]*bucket{}, lastLog: map[string]time.Time{}, silent: map[string]time.Time{}, gapAcked: map[string]time.Time{},
			held:  map[string]*heldRun{},
			stats: IngestStats{PerAgentSeen: map[string]time.Time{}}}
	}
}

func (in *ingest) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		in.started = in.cfg.Now()
		in.spawnChildren(c)
		err := in.cfg.Store.List(nsSeq, "", func(key string, raw []byte) error {
			var seq uint64
			if err := store.Decode(raw, &seq); err != nil {
				return err
			}
			in.last[key] = seq
			return nil
		})
		if err != nil {
			in.cfg.Log.Error("ingest: loading legacy agent sequence numbers", "err", err)
		}
		// Each host's nsHostSeq key holds the seq of its newest committed
		// report (its nsHostLast checkpoint, or the key of an older
		// version, an older or equal one): an agent's last applied seq is
		// the highest over its hosts' keys (and legacy keys).
		for _, ns := range []string{nsHostSeq, nsHostLast} {
			err = in.cfg.Store.List(ns, "", func(key string, raw []byte) error {
				var hs struct {
					Agent string `msgpack:"a"`
					Seq   uint64 `msgpack:"q"`
				}
				if err := store.Decode(raw, &hs); err != nil {
					return fmt.Errorf("host %q: %w", key, err)
				}
				if hs.Agent != "" && hs.Seq > in.last[hs.Agent] {
					in.last[hs.Agent] = hs.Seq
				}
				return nil
			})
			if err != nil {
				in.cfg.Log.Error("ingest: loading agent sequence numbers", "namespace", ns, "err", err)
			}
		}
	case *anypb.Any:
		in.dispatch(c, m)
	case verified:
		// A result of a job dispatched before this ingest actor restarted
		// (the verifiers outlive it) has no matching sent count: counting
		// it would underflow sent-done, and the backlog would look so large
		// that every report from then on was shed.
		if in.done[m.shard] < in.sent[m.shard] {
			in.done[m.shard]++
		}
		in.accept(c, m)
		if len(in.waiters) > 0 {
			in.answerStats(c)
		}
	case histDone:
		if send := in.histAnswered(); send != nil {
			c.Send(in.hist, histBatch{items: send})
		}
	case tick:
		in.watch(c)
	case flush:
		in.flushQ = false
		in.flush(c)
	case ackDue:
		in.ackDueNow(c)
	case actor.Stopped:
		in.flushAllAcks(c)
		if len(in.histQ) > 0 { // the writer stops with this actor
			in.writeHistoryNow(in.histQ)
			in.histQ = nil
		}
	case qIngestStats:
		// Answer once every report that arrived before the question has
		// come back from its verifier, as if it had been handled inline.
		w := statsWaiter{to: c.Sender()}
		copy(w.after[:], in.sent[:])
		in.waiters = append(in.waiters, w)
		in.answerStats(c)
	}
}

// statsWaiter is a stats question waiting for the reports dispatched to
// the verifiers before it.
type statsWaiter struct {
	to    *actor.PID
	after [verifyShards]uint64
}

// answerStats answers the stats questions whose reports are all handled.
func (in *ingest) answerStats(c *actor.Context) {
	keep := in.waiters[:0]
	for _, w := range in.waiters {
		done := true
		for i := range verifyShards {
			if in.done[i] < w.after[i] {
				done = false
			}
		}
		if !done {
			keep = append(keep, w)
			continue
		}
		st := in.stats
		st.PerAgentSeen = make(map[string]time.Time, len(in.stats.PerAgentSeen))
		for k, v := range in.stats.PerAgentSeen {
			st.PerAgentSeen[k] = v
		}
		if w.to != nil {
			c.Engine().Send(w.to, st)
		}
	}
	in.waiters = keep
}

func (in *ingest) logLimited(key, msg string, args ...any) {
	now := in.cfg.Now()
	if t, ok := in.lastLog[key]; ok && now.Sub(t) < 10*time.Second {
		return
	}
	in.lastLog[key] = now
	in.cfg.Log.Warn(msg, args...)
}

func (in *ingest) reject(c *actor.Context, agent, reason string) {
	if c.Sender() == nil {
		return
	}
	ack, err := wire.Encode(wire.TypeAck, &model.Ack{Master: in.cfg.Master, Agent: agent, Reject: reason})
	if err == nil {
		c.Engine().Send(c.Sender(), ack)
	}
}

// rejectSession tells the sender that session id is unusable, so it
// drops it, signs meanwhile and sends a new hello.
func (in *ingest) rejectSession(c *actor.Context, agent string, id uint64, why error) {
	if c.Sender() == nil {
		return
	}
	ack, err := wire.Encode(wire.TypeBadSession, &wire.BadSession{Agent: agent, Master: in.cfg.Master, Session: id, Reason: why.Error()})
	if err == nil {
		c.Engine().Send(c.Sender(), ack)
	}
}

func (in *ingest) allow(agent string, now time.Time) bool {
	b, ok := in.buckets[agent]
	if !ok {
		b = &bucket{tokens: float64(in.cfg.RateBurst), last: now}
		in.buckets[agent] = b
	}
	b.tokens = math.Min(float64(in.cfg.RateBurst), b.tokens+now.Sub(b.last).Seconds()*in.cfg.RateLimit)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// receive opens a message inline (only when there are no verifiers).
func (in *ingest) receive(c *actor.Context, a *anypb.Any) {
	if in.inline == nil {
		in.inline = in.newVerifier(c)
	}
	res := in.inline.open(a)
	res.prepare()
	in.accept(c, res)
}

// accept applies a verifier's result: answers hellos, and for reports
// (or the error opening them) does the counting, rate limiting, seq checks
// and queueing for the group commit.
func (in *ingest) accept(c *actor.Context, v verified) {
	now := in.cfg.Now()
	r, err := v.r, v.err
	if v.hello {
		if err != nil {
			// No answer: the agent keeps signing its reports and retries later.
			in.stats.HellosRefused++
			in.logLimited("hello:"+senderAddr(c), "ingest: session hello refused", "from", senderAddr(c), "err", err)
			return
		}
		in.stats.HellosAccepted++
		// The agent's pending delayed ack goes out before the new session
		// replaces the one it was for.
		in.flushAck(c, v.agent)
		if c.Sender() != nil {
			c.Engine().Send(c.Sender(), v.welcome)
		}
		return
	}
	if err != nil {
		if v.badSession != 0 {
			if errors.Is(err, wire.ErrUnknownSession) {
				in.stats.UnknownSession++
			} else {
				in.stats.Rejected++
			}
			in.logLimited("session:"+senderAddr(c), "ingest: session report refused; agent told to re-handshake", "from", senderAddr(c), "err", err)
			in.rejectSession(c, v.agent, v.badSession, err)
			return
		}
		switch {
		case errors.Is(err, wire.ErrUnknownAgent), errors.Is(err, wire.ErrBadSignature), errors.Is(err, wire.ErrAgentID), errors.Is(err, wire.ErrBadMAC):
			in.stats.Rejected++
		default:
			in.stats.Malformed++
		}
		in.logLimited("reject:"+senderAddr(c), "ingest: report refused", "from", senderAddr(c), "err", err)
		in.reject(c, "", err.Error())
		return
	}
	if err := v.sanitized(); err != nil {
		in.stats.Malformed++
		in.logLimited("bad:"+r.Agent, "ingest: report refused", "agent", r.Agent, "err", err)
		in.flushAck(c, r.Agent)
		in.reject(c, r.Agent, err.Error())
		return
	}
	if !in.allow(r.Agent, now) {
		in.stats.RateLimited++
		in.logLimited("rate:"+r.Agent, "ingest: agent over its rate limit, report dropped", "agent", r.Agent)
		return
	}
	in.stats.PerAgentSeen[r.Agent] = now
	if since, ok := in.silent[r.Agent]; ok {
		delete(in.silent, r.Agent)
		in.notify(c, model.INFO, "agent-back", r.Agent, since, "agent "+r.Agent+" is reporting again",
			"Agent "+r.Agent+" is reporting again after "+model.HumanDuration(now.Sub(since))+" of silence.", false)
	}
	if c.Sender() != nil {
		in.senders[r.Agent] = c.Sender()
	}
	last := in.lastPending(r.Agent)
	in.acks.setDelay(r.Agent, v.ackDelay)
	if r.Seq <= last {
		in.stats.Duplicates++
		in.ackNext(c, r.Agent, in.last[r.Agent], 0)
		return
	}
	h := in.held[r.Agent]
	floor := r.Oldest
	if h != nil {
		h.floor = max(h.floor, r.Oldest)
		floor = h.floor
	}
	p := pendingReport{r: r, sender: c.Sender(), at: now, raw: v.raw}
	if r.Seq != last+1 && r.Seq > floor {
		// A gap the agent has not explained (a report before this one was
		// shed or lost): hold this one until the agent resends the missing
		// ones.
		in.stats.Gaps++
		if h := in.hold(r.Agent, p); h != nil {
			// Its Oldest may have made held reports applicable (the agent
			// dropped what was missing before them).
			in.drainHeld(c, r.Agent, h)
		}
		// Tell the agent where this master stands (at most twice a second
		// per agent), so an uplink that backed off resends from there now.
		in.ackLimited(c, r.Agent)
		return
	}
	in.enqueue(c, p)
	if h != nil {
		in.drainHeld(c, r.Agent, h)
	}
}

// enqueue adds an applicable report to the batch of the next group commit.
func (in *ingest) enqueue(c *actor.Context, p pendingReport) {
	in.pending = append(in.pending, p)
	if in.pendingSeq == nil {
		in.pendingSeq = map[string]uint64{}
	}
	in.pendingSeq[p.r.Agent] = p.r.Seq
	if len(in.pending) >= maxBatch {
		in.flush(c)
		return
	}
	if !in.flushQ {
		in.flushQ = true
		in.scheduleFlush(c)
	}
}

// hold keeps p, which arrived after a gap, in its agent's held run (in seq
// order, once per seq) unless the bounds are reached, and returns the run
// (nil if the agent has none).
func (in *ingest) hold(agent string, p pendingReport) *heldRun {
	h := in.held[agent]
	if h == nil {
		if in.heldN >= maxHeld {
			in.stats.HeldDropped++
			return nil
		}
		h = &heldRun{floor: p.r.Oldest}
		in.held[agent] = h
	}
	i, found := slices.BinarySearchFunc(h.reps, p.r.Seq, func(q pendingReport, seq uint64) int { return cmp.Compare(q.r.Seq, seq) })
	switch {
	case found:
		in.stats.Duplicates++
	case len(h.reps) >= maxHeldPerAgent || in.heldN >= maxHeld:
		in.stats.HeldDropped++
	default:
		h.reps = slices.Insert(h.reps, i, p)
		in.heldN++
	}
	return h
}

// drainHeld applies the held reports of agent that have become applicable
// (the next seq, or at most the run's floor), in seq order.
func (in *ingest) drainHeld(c *actor.Context, agent string, h *heldRun) {
	n := 0
	for _, p := range h.reps {
		last := in.lastPending(agent)
		if p.r.Seq <= last {
			in.stats.Duplicates++
			n++
			continue
		}
		if p.r.Seq != last+1 && p.r.Seq > h.floor {
			break
		}
		n++
		in.stats.Reordered++
		in.enqueue(c, p)
	}
	in.dropHeld(agent, h, n)
}

// dropHeld removes the first n reports of agent's held run.
func (in *ingest) dropHeld(agent string, h *heldRun, n int) {
	clear(h.reps[:n])
	h.reps = h.reps[n:]
	in.heldN -= n
	if len(h.reps) == 0 {
		delete(in.held, agent)
	}
}

// expireHeld drops held reports older than maxHeldAge (by arrival).
func (in *ingest) expireHeld(now time.Time) {
	for agent, h := range in.held {
		n := 0
		for n < len(h.reps) && now.Sub(h.reps[n].at) > maxHeldAge {
			n++
		}
		if n > 0 {
			in.stats.HeldDropped += uint64(n)
			in.dropHeld(agent, h, n)
		}
	}
}

// knownSeq reports whether agent's report seq was applied (committed or in
// the batch) or is held.
func (in *ingest) knownSeq(agent []byte, seq uint64) bool {
	if seq <= in.lastPending(string(agent)) {
		return true
	}
	h := in.held[string(agent)]
	return h != nil && h.has(seq)
}

// ackLimited acks agent's committed position, at most twice a second per
// agent: for reports after a gap (so an uplink that backed off resends from
// there now) and for duplicates dropped unverified.
func (in *ingest) ackLimited(c *actor.Context, agent string) {
	now := in.cfg.Now()
	if now.Sub(in.gapAcked[agent]) < 500*time.Millisecond {
		return
	}
	in.gapAcked[agent] = now
	var next uint64
	if h := in.held[agent]; h != nil && len(h.reps) > 0 {
		next = h.reps[0].r.Seq
	}
	in.ackNext(c, agent, in.last[agent], next)
}

// scheduleFlush sends the flush message for the pending batch: at once
// (everything already queued in the inbox is processed before it, which
// groups commits when the ingest is busy) unless the last flush began less
// than FlushDelay ago, in which case it waits out the rest of that window.
func (in *ingest) scheduleFlush(c *actor.Context) {
	if d := in.cfg.FlushDelay; d > 0 && !in.lastFlush.IsZero() {
		if wait := d - time.Since(in.lastFlush); wait > 0 {
			e, self := c.Engine(), c.PID()
			time.AfterFunc(wait, func() { e.Send(self, flush{}) })
			return
		}
	}
	c.Send(c.PID(), flush{})
}

// lastPending is the last seq accepted for agent, committed or still in
// the current batch.
func (in *ingest) lastPending(agent string) uint64 {
	if seq, ok := in.pendingSeq[agent]; ok {
		return seq
	}
	return in.last[agent]
}

func senderAddr(c *actor.Context) string {
	if c.Sender() == nil {
		return "local"
	}
	return c.Sender().Address
}

// ack acks agent's reports up to seq (in-order progress): now, or up to
// the ack delay its session asked for later (see ingest_ackdelay.go).
func (in *ingest) ack(c *actor.Context, agent string, seq uint64) { in.ackProgress(c, agent, seq) }

// ackNext acks agent's reports up to seq now and, if next is not 0, says
// that the reports from next on are held here (see model.Ack.Next). It
// takes the place of a delayed ack pending for agent.
func (in *ingest) ackNext(c *actor.Context, agent string, seq, next uint64) {
	in.acks.sentNow(agent, in.ackT.now())
	in.sendAck(c, agent, seq, next)
}

// sendAck sends one ack to agent's latest sender.
func (in *ingest) sendAck(c *actor.Context, agent string, seq, next uint64) {
	to := in.senders[agent]
	if to == nil {
		return
	}
	// Hand-encoded (model.Ack.AppendMsgpack, the same bytes as wire.Encode):
	// one ack goes out per agent and flush, and the reflection encoder was
	// ~3% of the master's CPU.
	a := model.Ack{Master: in.cfg.Master, Agent: agent, Seq: seq, Next: next}
	c.Engine().Send(to, &anypb.Any{TypeUrl: wire.TypeAck, Value: a.AppendMsgpack(make([]byte, 0, 26+len(a.Master)+len(agent)))})
}

func (in *ingest) flush(c *actor.Context) {
	if len(in.pending) == 0 {
		return
	}
	in.lastFlush = time.Now()
	batch, newLast := in.pending, in.pendingSeq
	in.pending, in.pendingSeq = nil, nil
	// Per report its raw history entry (encoded by the verifiers), and per
	// host one small key (nsHostSeq): its newest report's agent, seq and
	// arrival. So an acked report's values and seq are durable when it is
	// acked (badger's WAL: they survive a kill -9); the host's last values
	// are rebuilt from its checkpoint (nsHostLast, written by its host
	// actor) and the raw reports after it (see host.load).
	newest := make(map[string]int, len(batch)) // host -> index of its newest report
	for i := range batch {
		newest[batch[i].r.Host] = i
	}
	hosts := make([]int, 0, len(newest))
	for _, i := range newest {
		hosts = append(hosts, i)
	}
	write := func(b *store.Batch, k int) error {
		if k < len(batch) {
			p := &batch[k]
			return b.PutReport(p.r.Host, p.r.Time, p.raw)
		}
		p := &batch[hosts[k-len(batch)]]
		return b.Put(nsHostSeq, p.r.Host, &store.HostSeq{Agent: p.r.Agent, Seq: p.r.Seq, Seen: p.at.UnixNano()})
	}
	b := in.cfg.Store.Batch()
	var err error
	for k := range len(batch) + len(hosts) {
		err = write(b, k)
		if errors.Is(err, store.ErrBatchFull) && b.Len() > 0 {
			// Big reports can fill one badger transaction: commit this
			// part and go on in a new one. Nothing is acked before every
			// part has committed, and the raw reports come before the
			// seqs, so a crash between parts leaves at most raw entries of
			// reports that are not acked: the agents resend them, and their
			// entries are overwritten with the same bytes.
			if err = b.Commit(false); err == nil {
				b = in.cfg.Store.Batch()
				err = write(b, k)
			}
		}
		if err != nil {
			break
		}
	}
	if err == nil {
		err = b.Commit(false)
	}
	b.Discard() // a no-op after Commit
	if err != nil {
		// Nothing is acked: the agents resend and nothing accepted is lost.
		in.stats.StoreErrors++
		in.cfg.Log.Error("ingest: committing reports failed; not acking", "reports", len(batch), "err", err)
		return
	}
	for agent, seq := range newLast {
		in.last[agent] = seq
		in.ack(c, agent, seq)
	}
	in.stats.Accepted += uint64(len(batch))
	in.stats.Commits++
	// The rollups of the whole batch in one transaction (one commit per
	// batch instead of one per report), written by the history writer
	// while this actor goes on.
	hist := make([]store.HostSamples, 0, len(batch))
	for _, p := range batch {
		if len(p.r.Samples) > 0 {
			hist = append(hist, store.HostSamples{Host: p.r.Host, Time: time.Unix(0, p.r.Time), Samples: p.r.Samples})
		}
	}
	fwd := make(hostReports, len(batch))
	for i, p := range batch {
		fwd[i] = hostReport{Report: p.r, Received: p.at}
	}
	c.Send(in.cfg.Hosts, fwd)
	if len(hist) == 0 {
		return
	}
	send, now := in.routeHist(hist)
	if send != nil {
		c.Send(in.hist, histBatch{items: send})
	}
	if now != nil {
		in.writeHistoryNow(now)
	}
}

// routeHist decides where one commit's history items go (see
// maxHistInFlight): to the writer at once (send), into the queue (neither),
// or, with the queue over its bound or no writer, written on the ingest's
// own path (now: the queued items, then these).
func (in *ingest) routeHist(items []store.HostSamples) (send, now []store.HostSamples) {
	switch {
	case in.hist == nil:
		return nil, items
	case in.histSent-in.histDone < maxHistInFlight:
		in.histSent++
		return items, nil
	case len(in.histQ)+len(items) <= maxHistQueued:
		in.histQ = append(in.histQ, items...)
		return nil, nil
	}
	now, in.histQ = append(in.histQ, items...), nil
	return nil, now
}

// histAnswered counts an answer of the history writer and returns the
// queued items, as one batch, to send it now (nil if none wait).
func (in *ingest) histAnswered() (send []store.HostSamples) {
	// (A reply to a batch sent before this ingest actor restarted has no
	// matching count.)
	if in.histDone < in.histSent {
		in.histDone++
	}
	if len(in.histQ) == 0 || in.histSent-in.histDone >= maxHistInFlight {
		return nil
	}
	in.histSent++
	send, in.histQ = in.histQ, nil
	return send
}

// writeHistoryNow writes the rollups of items on the ingest's own path.
func (in *ingest) writeHistoryNow(items []store.HostSamples) {
	writeHistory(in.cfg.Store, items, func(err error) {
		in.logLimited("hist", "ingest: history write failed", "reports", len(items), "err", err)
	})
}

// sanitize validates names and bounds in a report and drops non-finite
// values, so nothing downstream sees NaN or unbounded input.
func sanitize(r *model.Report) error {
	if r.Host == "" {
		r.Host = r.Agent
	}
	if !validHostName(r.Host) {
		return errors.New("invalid host name " + quoteCut(r.Host))
	}
	if r.Seq == 0 {
		return errors.New("seq must be > 0")
	}
	if len(r.Samples) > maxSamples {
		return errors.New("too many samples")
	}
	if len(r.Checks) > maxChecks {
		return errors.New("too many checks")
	}
	for i := range r.Samples {
		s := &r.Samples[i]
		if s.Service == "" || s.Resource == "" || len(s.Service)+len(s.Resource)+len(s.Unit) > maxNameBytes {
			return errors.New("sample with empty or overlong service/resource/unit")
		}
		if len(s.Values) > maxValues {
			return errors.New("sample with too many values")
		}
		for k, v := range s.Values {
			if k == "" || len(k) > maxNameBytes || math.IsNaN(v) || math.IsInf(v, 0) {
				delete(s.Values, k)
			}
		}
	}
	for _, ck := range r.Checks {
		if ck.Unit == "" || len(ck.Unit) > maxNameBytes || (ck.Service != model.ServicePort && ck.Service != model.ServiceProcess) {
			return errors.New("invalid check " + quoteCut(ck.Service+" "+ck.Unit))
		}
	}
	return nil
}

func quoteCut(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return `"` + s + `"`
}

func (in *ingest) notify(c *actor.Context, level model.Level, kind, agent string, t time.Time, subject, text string, active bool) {
	if in.cfg.Router == nil {
		return
	}
	c.Send(in.cfg.Router, notifyMsg{N: model.Notification{ID: notifID(kind, agent, t.UnixNano()), Level: level,
		Kind: model.KindWarning, Subject: subject, Text: text, Time: in.cfg.Now()}, Alert: "agent|" + agent, Active: active})
}

// watch raises a WARN for every configured agent silent past AgentSilence.
func (in *ingest) watch(c *actor.Context) {
	in.expireHeld(in.cfg.Now())
	if in.cfg.AgentSilence <= 0 {
		return
	}
	now := in.cfg.Now()
	for agent := range in.cfg.Keys {
		if _, warned := in.silent[agent]; warned {
			continue
		}
		seen, ok := in.stats.PerAgentSeen[agent]
		if !ok {
			seen = in.started
		}
		if now.Sub(seen) > in.cfg.AgentSilence {
			in.silent[agent] = now
			what := "has sent nothing for " + model.HumanDuration(now.Sub(seen))
			if !ok {
				what = "has not reported since this master started " + model.HumanDuration(now.Sub(seen)) + " ago"
			}
			in.notify(c, model.WARN, "agent-silent", agent, now, "agent "+agent+" is silent", "Agent "+agent+" "+what+".", true)
		}
	}
}
