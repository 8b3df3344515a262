package agent

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// Uplink defaults.
const (
	DefaultOutboxSize  = 1000
	DefaultResendAfter = 2 * time.Second
	// resendBatch caps the reports resent per tick, so a master coming back
	// after an outage is not flooded with the whole outbox at once.
	resendBatch = 200
	// rejectLogEvery rate-limits the ERROR logged for rejected reports.
	rejectLogEvery = time.Minute
	// DefaultAckDelay is the ack delay an uplink asks its master for in the
	// session hello (wire.HelloOptions.AckDelay): the master may then hold
	// back the ack of an in-order report for up to this long, so that one
	// ack covers the reports of that time (at a report every 10 ms, one ack
	// per 25 reports instead of one per report: fewer wake-ups of the agent
	// and less work for the master). Acks naming a hole (Ack.Next), rejects
	// and acks of duplicates still come at once, and so do acks of signed
	// reports (before the handshake, or from masters that know no sessions
	// or ignore the field). Options.AckDelay overrides it; the master caps
	// it at 1 s.
	DefaultAckDelay = 250 * time.Millisecond
)

// uplinkAckDelay is the ack delay to ask for given Options.AckDelay (0:
// the default, negative: none).
func uplinkAckDelay(o time.Duration) time.Duration {
	switch {
	case o == 0:
		return DefaultAckDelay
	case o < 0:
		return 0
	}
	return o
}

// UplinkStats is the state of one master's uplink.
type UplinkStats struct {
	Master string `json:"master"`
	// Queued is the number of reports not yet acknowledged.
	Queued int `json:"queued"`
	// Sent counts first sends; Resent counts sends after ResendAfter.
	Sent   uint64 `json:"sent"`
	Resent uint64 `json:"resent"`
	// AckedSeq is the highest seq the master acknowledged.
	AckedSeq uint64 `json:"acked_seq"`
	// Dropped is the exact number of reports dropped from the full outbox.
	Dropped uint64 `json:"dropped"`
	// SignErrors counts reports that could not be encoded (too large).
	SignErrors uint64 `json:"sign_errors,omitempty"`
	// LastReject is the master's last rejection reason, if any.
	LastReject string `json:"last_reject,omitempty"`
	// Session is true while reports are authenticated by a session key
	// (false: signed one by one, before the handshake or after a reset).
	Session bool `json:"session"`
	// Handshakes counts sessions established; SessionResets sessions the
	// master no longer knew (it restarted).
	Handshakes    uint64 `json:"handshakes"`
	SessionResets uint64 `json:"session_resets,omitempty"`
}

// Session handshake timing.
const (
	// helloMinGap rate-limits hellos after a session reset.
	helloMinGap = time.Second
	// helloRetry is how long to wait for a Welcome before sending a new
	// hello; it doubles up to helloRetryMax while the master does not answer.
	helloRetry    = 3 * time.Second
	helloRetryMax = 30 * time.Second
	// helloOffFor is how long an uplink signs without trying sessions after
	// a master that does not know hellos refused one (an older master).
	helloOffFor = 10 * time.Minute
)

// uplinkCore is the uplink's logic without the actor: outbox, signing, ack
// and resend bookkeeping. Every method returns the messages to send, so
// tests drive it with a fake clock.
type uplinkCore struct {
	master      string
	agent       string
	key         ed25519.PrivateKey
	out         *outbox
	resendAfter time.Duration
	batch       int
	log         *slog.Logger

	stats       UplinkStats
	lastRejectL time.Time

	// Congestion control, so agents do not bury a struggling master in
	// resends: the resend timeout is at least 3x the smoothed ack round
	// trip (an overloaded master answers slowly, so resends slow down), and
	// every resend round that starts again at the same oldest report (no
	// progress: the master is down) doubles the timeout up to
	// maxResendBackoff and halves the window down to minResendBatch. Progress
	// resets both; while backed off, an ack showing the master behind our
	// oldest report (it lost reports, e.g. it restarted; the master acks its
	// position when a report arrives after a gap) makes the outbox due at once.
	backoff    time.Duration
	srtt       time.Duration // smoothed ack round trip
	lastOldest uint64        // first seq of the previous resend round
	// resendNow holds the missing reports an ack named (Ack.Next), to be
	// sent by the actor right after the ack.
	resendNow []*wire.Any

	// Session: until a Welcome answers the pending hello, reports are
	// signed; afterwards they carry a MAC under the session key. A master
	// that no longer knows the session says so (wire.BadSession): the
	// session is dropped, reports are signed again and a new hello goes out.
	sess      *wire.Session
	pend      *wire.PendingHello
	helloAt   time.Time     // when the last hello was sent
	helloWait time.Duration // how long to wait for the pending hello's Welcome
	helloOff  time.Time     // no hellos before this (an older master refused one)
	// ackDelay is the ack delay asked for in hellos (0: an ack per report).
	// Acks of in-order reports may then come up to ackDelay late, so the
	// resend timeout is at least ackWait (see resend), and round-trip
	// samples include up to ackDelay of waiting at the master: srtt is then
	// at most ~ackDelay + the network round trip, which keeps 3×srtt (at
	// the default 250 ms) under the 2 s resend floor, and the hole guard
	// 2×srtt at most ~0.5 s (the master names a hole at most twice a second).
	ackDelay time.Duration
	// lastProgress is when an ack last raised AckedSeq. While a master
	// that delays its acks makes progress, the acks of the reports after
	// it are on their way: see resend.
	lastProgress time.Time
	// scratch is the buffer reports are encoded in before their MAC
	// envelope is built (wire.Session.SealBuf), kept from one to the next.
	scratch []byte
}

// ackWait is the least time before resending a report whose ack may be
// delayed by the master: twice the ack delay (the delay, plus as much
// again for the round trip, the master's timer and its commit window).
func (u *uplinkCore) ackWait() time.Duration { return 2 * u.ackDelay }

// withAckDelay sets the ack delay asked for in hellos (0: none) and
// returns u.
func (u *uplinkCore) withAckDelay(d time.Duration) *uplinkCore {
	u.ackDelay = max(d, 0)
	return u
}

// Resend congestion control bounds.
const (
	maxResendBackoff = 8 * time.Second
	minResendBatch   = 20
	// minHoleGuard is the least time between two resends of a report a
	// master said it is missing (it says so at most twice a second).
	minHoleGuard = 250 * time.Millisecond
)

// takeResendNow returns the resends the last acks asked for (see
// model.Ack.Next) and forgets them.
func (u *uplinkCore) takeResendNow() []*wire.Any {
	out := u.resendNow
	u.resendNow = nil
	return out
}

// newUplinkCore returns the core of the uplink to master.
func newUplinkCore(master, agent string, key ed25519.PrivateKey, size int, resendAfter time.Duration, log *slog.Logger) *uplinkCore {
	if size <= 0 {
		size = DefaultOutboxSize
	}
	if resendAfter <= 0 {
		resendAfter = DefaultResendAfter
	}
	return &uplinkCore{
		master: master, agent: agent, key: key,
		out: newOutbox(size), resendAfter: resendAfter, batch: resendBatch, backoff: resendAfter,
		log: log, stats: UplinkStats{Master: master}, helloWait: helloRetry,
	}
}

// push queues r (the caller must not modify it afterwards) and returns it
// signed for sending now. A report too large to sign is dropped with an
// error log (it can never be delivered), and nil is returned.
func (u *uplinkCore) push(r *model.Report, now time.Time) *wire.Any {
	u.out.Add(r)
	u.stats.Dropped = u.out.dropped
	u.out.MarkSent(r.Seq, now)
	msg := u.sign(r)
	if msg != nil {
		u.stats.Sent++
	}
	u.stats.Queued = u.out.Len()
	return msg
}

// sign encodes r as it is sent now: Oldest is the lowest seq still queued
// (so a master that missed dropped or acknowledged-elsewhere seqs may apply
// it) and Dropped the current exact drop count. r itself is left unchanged
// (it is shared by every uplink).
func (u *uplinkCore) sign(r *model.Report) *wire.Any {
	c := *r
	c.Oldest = u.out.Oldest()
	if c.Oldest == 0 || c.Oldest > c.Seq {
		c.Oldest = c.Seq
	}
	c.Dropped = u.out.dropped
	msg, scratch, err := wire.AuthReport(u.sess, u.key, &c, u.scratch)
	u.scratch = scratch
	if err != nil {
		u.stats.SignErrors++
		u.log.Error("cannot sign report, dropping it", "seq", r.Seq, "samples", len(r.Samples), "err", err)
		u.remove(r.Seq)
		return nil
	}
	return msg
}

// remove deletes one seq from the outbox (an undeliverable report).
func (u *uplinkCore) remove(seq uint64) {
	for i, e := range u.out.entries {
		if e.rep.Seq == seq {
			u.out.entries = append(u.out.entries[:i], u.out.entries[i+1:]...)
			return
		}
	}
}

// ack applies an acknowledgement from the master.
func (u *uplinkCore) ack(a model.Ack, now time.Time) {
	if a.Agent != "" && a.Agent != u.agent {
		u.log.Warn("ack for another agent ignored", "ack_agent", a.Agent)
		return
	}
	if a.Reject != "" && strings.Contains(a.Reject, wire.TypeHello) {
		// An older master that knows no sessions refused the hello: keep
		// signing, and ask again much later (it may be upgraded).
		u.pend = nil
		u.helloOff = now.Add(helloOffFor)
		u.log.Info("master does not support sessions; signing every report", "retry_in", helloOffFor)
		return
	}
	if a.Reject != "" {
		u.stats.LastReject = a.Reject
		if now.Sub(u.lastRejectL) >= rejectLogEvery || u.lastRejectL.IsZero() {
			u.lastRejectL = now
			u.log.Error("master rejects this agent's reports; keeping them queued until the master's config is fixed",
				"reason", a.Reject, "queued", u.out.Len())
		}
		return
	}
	u.stats.LastReject = ""
	if sent, ok := u.out.SentAt(a.Seq); ok && !sent.IsZero() && !u.out.HoleUpTo(a.Seq) {
		rtt := now.Sub(sent)
		if u.srtt == 0 {
			u.srtt = rtt
		} else {
			u.srtt = (7*u.srtt + rtt) / 8
		}
	}
	if oldest := u.out.Oldest(); oldest > 0 && a.Seq < oldest && u.backoff > u.resendAfter {
		// We had backed off, and the master is alive but behind our oldest
		// report (it lost reports, e.g. it restarted): resend from there
		// now, with a full window.
		u.backoff, u.batch, u.lastOldest = u.resendAfter, resendBatch, 0
		u.out.MarkAllUnsent()
	}
	u.out.Ack(a.Seq)
	if a.Seq > u.stats.AckedSeq {
		u.stats.AckedSeq = a.Seq
		u.lastProgress = now
	}
	if a.Next > a.Seq+1 {
		// The master holds the reports from Next on: resend only the
		// missing ones, now (not a whole window when the timer expires).
		// A hole resent within the guard is in flight already.
		guard := max(2*u.srtt, minHoleGuard)
		for _, r := range u.out.Hole(a.Seq, a.Next, now, guard) {
			if m := u.sign(r); m != nil {
				u.resendNow = append(u.resendNow, m)
				u.stats.Resent++
			}
		}
	}
	u.stats.Queued = u.out.Len()
	u.log.Debug("ack received", "acked_seq", a.Seq, "queued", u.stats.Queued)
}

// hello returns a session hello to send now, or nil: none while a session
// is up, at most one per helloMinGap, and a pending hello is only replaced
// when its Welcome is overdue (helloWait, doubling while unanswered).
func (u *uplinkCore) hello(now time.Time) *wire.Any {
	if u.sess != nil || now.Before(u.helloOff) {
		return nil
	}
	if !u.helloAt.IsZero() {
		since := now.Sub(u.helloAt)
		if since < helloMinGap || (u.pend != nil && since < u.helloWait) {
			return nil
		}
	}
	if u.pend != nil {
		u.helloWait = min(2*u.helloWait, helloRetryMax)
	}
	msg, pend, err := wire.NewHelloOpts(u.key, u.agent, now, wire.HelloOptions{AckDelay: u.ackDelay})
	if err != nil {
		u.log.Error("cannot make a session hello; signing every report", "err", err)
		u.helloAt = now
		return nil
	}
	u.pend, u.helloAt = pend, now
	return msg
}

// welcome applies the master's answer to the pending hello. A Welcome that
// does not match it (an answer to an older hello) is ignored.
func (u *uplinkCore) welcome(w *wire.Welcome) {
	if u.pend == nil {
		return
	}
	s, err := u.pend.Finish(w)
	if err != nil {
		u.log.Debug("welcome ignored", "err", err)
		return
	}
	u.sess, u.pend, u.helloWait = s, nil, helloRetry
	u.stats.Session = true
	u.stats.Handshakes++
	u.log.Debug("session established", "session", s.ID)
}

// badSession applies the master's word that a session is unusable.
func (u *uplinkCore) badSession(b *wire.BadSession) {
	if b.Agent != u.agent || u.sess == nil || b.Session != u.sess.ID {
		return // about an older session, or not ours
	}
	// The master lost the session (it restarted): sign from now on, resend
	// what it refused, and handshake again (see hello).
	u.log.Info("master no longer knows this agent's session; signing reports until a new one is set up",
		"session", b.Session, "reason", b.Reason)
	u.sess = nil
	u.stats.Session = false
	u.stats.SessionResets++
	u.out.MarkAllUnsent()
}

// handle applies a message from the master (an Ack, a Welcome or a
// BadSession) and returns what to send in response (a new hello after a
// session reset), or nil.
func (u *uplinkCore) handle(m *wire.Any, now time.Time) (*wire.Any, error) {
	switch m.GetTypeUrl() {
	case wire.TypeWelcome:
		w, err := wire.OpenWelcome(m)
		if err != nil {
			return nil, fmt.Errorf("decode welcome: %w", err)
		}
		u.welcome(w)
		return nil, nil
	case wire.TypeBadSession:
		b, err := wire.OpenBadSession(m)
		if err != nil {
			return nil, fmt.Errorf("decode bad-session: %w", err)
		}
		u.badSession(b)
		return u.hello(now), nil
	}
	if err := u.handleAck(m, now); err != nil {
		return nil, err
	}
	return u.hello(now), nil
}

// handleAck decodes a message from the master (an Ack) and applies it.
func (u *uplinkCore) handleAck(m *wire.Any, now time.Time) error {
	var a model.Ack
	if err := wire.DecodeAck(m, &a); err != nil {
		return fmt.Errorf("decode ack: %w", err)
	}
	u.ack(a, now)
	return nil
}

// resend returns the queued reports due for resending, in seq order, at most
// one batch.
func (u *uplinkCore) resend(now time.Time) []*wire.Any {
	if u.ackDelay > 0 && !u.lastProgress.IsZero() && now.Sub(u.lastProgress) < u.ackWait() && !u.out.OldestUnsent() {
		// The master acked progress within ackWait: it is up, and the acks
		// of the reports after that one may be held back by up to the ack
		// delay (after a stall, a master catching up acks the first report
		// at once and the rest a delay later). Resending them now would only
		// add load to a master that is catching up. A report it lost is
		// named by its hole acks (resent at once, see ack), and once
		// progress stops for ackWait the timeout below applies again.
		return nil
	}
	due := u.out.Due(now, max(u.backoff, 3*u.srtt, u.ackWait()), u.batch)
	if len(due) > 0 {
		if due[0].Seq == u.lastOldest {
			u.backoff = min(2*u.backoff, maxResendBackoff)
			u.batch = max(u.batch/2, minResendBatch)
		} else {
			u.backoff, u.batch = u.resendAfter, resendBatch
		}
		u.lastOldest = due[0].Seq
	}
	out := make([]*wire.Any, 0, len(due))
	for _, r := range due {
		if m := u.sign(r); m != nil {
			out = append(out, m)
			u.stats.Resent++
		}
	}
	u.stats.Queued = u.out.Len()
	return out
}

// uplinkTick triggers a resend pass.
type uplinkTick struct{}

// uplinkActor owns one master's uplinkCore: it sends reports handed over by
// the agent actor, resends on a ticker and applies acks from the master.
type uplinkActor struct {
	// mu guards core: the actor's messages (acks, resend ticks) and push,
	// called by the agent's collectors, take turns. Sends to the master
	// happen under it, so they leave in the order the core made them.
	mu     sync.Mutex
	core   *uplinkCore
	target *actor.PID
	tick   time.Duration
	pub    *statsSlot
	rep    actor.SendRepeater
	hasRep bool
	// eng and self send pushed reports from the caller's goroutine, with
	// this actor as the sender (the master acks to it).
	eng  *actor.Engine
	self *actor.PID
}

// push queues r and sends it to the master now, from the caller's
// goroutine (no hand-off to the uplink's inbox).
func (u *uplinkActor) push(r *model.Report) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if msg := u.core.push(r, time.Now()); msg != nil {
		u.eng.SendWithSender(u.target, msg, u.self)
	}
	u.pub.set(u.core.stats)
}

// statsSlot publishes one uplink's stats to Agent.Stats without messaging.
type statsSlot struct {
	mu sync.Mutex
	s  UplinkStats
}

func (s *statsSlot) set(v UplinkStats) { s.mu.Lock(); s.s = v; s.mu.Unlock() }
func (s *statsSlot) get() UplinkStats  { s.mu.Lock(); defer s.mu.Unlock(); return s.s }

// Receive implements actor.Receiver.
func (u *uplinkActor) Receive(c *actor.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	switch m := c.Message().(type) {
	case actor.Started:
		u.rep = c.SendRepeat(c.PID(), uplinkTick{}, u.tick)
		u.hasRep = true
		if h := u.core.hello(now); h != nil {
			c.Send(u.target, h)
		}
	case actor.Stopped:
		if u.hasRep {
			u.rep.Stop()
		}
	case *model.Report:
		if msg := u.core.push(m, now); msg != nil {
			c.Send(u.target, msg)
		}
	case uplinkTick:
		if h := u.core.hello(now); h != nil {
			c.Send(u.target, h)
		}
		for _, msg := range u.core.resend(now) {
			c.Send(u.target, msg)
		}
	case *wire.Any:
		h, err := u.core.handle(m, now)
		if err != nil {
			u.core.log.Warn("bad message from master", "err", err)
		}
		if h != nil {
			c.Send(u.target, h)
		}
		for _, msg := range u.core.takeResendNow() {
			c.Send(u.target, msg)
		}
	case actor.Initialized, actor.InternalError:
	default:
		u.core.log.Debug("uplink ignores message", "type", fmt.Sprintf("%T", m))
	}
	u.pub.set(u.core.stats)
}

// resendTickFor picks the resend ticker period: often enough that a due
// report waits at most a quarter of resendAfter, bounded to 50ms..1s.
func resendTickFor(resendAfter time.Duration) time.Duration {
	return min(max(resendAfter/4, 50*time.Millisecond), time.Second)
}
