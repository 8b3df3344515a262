package actors

import (
	"container/heap"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// Delayed acks. An agent's session hello may ask the master to hold back
// the acks of its in-order reports for up to wire.Hello.AckDelay, so that
// one ack covers the reports of that time: at one report every 10 ms and a
// 250 ms delay the agent wakes for one ack per 25 reports instead of one
// per report, and a master at 20,000 reports/s sends a few thousand acks/s
// instead of 20,000.
//
// The rule, per agent whose last report came over such a session: a
// progress ack (the agent's committed position, from a flush) goes out at
// once if no ack went to that agent within the last AckDelay; otherwise
// the highest seq is recorded and sent when that delay is up, by one timer
// for the whole ingest (re-armed for the earliest due ack; acks due within
// ackSlack of it go out with it, so 1,000 agents do not need 1,000 timer
// wake-ups per delay). Acks that carry Ack.Next (a hole), answer a
// duplicate or old seq, or reject, go at once and take a pending ack's
// place (they carry the same or a higher seq; a reject, which carries no
// seq, is preceded by the pending ack). Signed reports are acked at once,
// as before. A pending ack also goes out before the agent's session is
// replaced (a new hello) and when the ingest stops, best effort: a lost
// delayed ack only makes the agent resend reports this master has, which
// it acks as duplicates.

// maxAckDelay is the longest ack delay a session may ask for: a longer one
// is cut to this (an agent resends what is not acked after max(2 s, 3×
// the smoothed round trip), so a delay near that would cause resends).
const maxAckDelay = time.Second

// ackSlack is how early a delayed ack may go out: when the timer fires,
// every pending ack due within ackSlack is sent with the due ones.
const ackSlack = 5 * time.Millisecond

// clampAckDelay is the delay to apply for a hello's AckDelay (ms): within
// [0, maxAckDelay].
func clampAckDelay(ms int64) time.Duration {
	switch {
	case ms <= 0:
		return 0
	case ms >= maxAckDelay.Milliseconds():
		return maxAckDelay
	}
	return time.Duration(ms) * time.Millisecond
}

// ackDue is the ingest's delayed-ack timer firing.
type ackDue struct{}

// ackState is the delayed-ack state of one agent that asked for a delay.
type ackState struct {
	delay time.Duration // asked by the session of the agent's last report; 0: none
	sent  time.Duration // when the last ack went to the agent (ackDelays clock); -1: never
	seq   uint64        // seq of the pending ack; 0: none pending
	// queued is set while the agent has a live entry in the due heap, due
	// at queuedAt. There is one, unless the agent's delay was lowered with
	// an entry queued: a new entry for the earlier time is then pushed,
	// and the older one is stale and dropped when it comes up.
	queued   bool
	queuedAt time.Duration
}

// dueAck is one entry of the due heap: agent's pending ack is due at at.
type dueAck struct {
	at    time.Duration
	agent string
}

type dueHeap []dueAck

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueAck)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = dueAck{}
	*h = old[:len(old)-1]
	return x
}

// ackDelays decides which acks go out now and which wait. Its clock is a
// time.Duration since an arbitrary start (the ingest uses the monotonic
// real clock: the delays are real time, whatever IngestConfig.Now says),
// so tests drive it directly.
type ackDelays struct {
	agents map[string]*ackState
	due    dueHeap
}

// setDelay records the ack delay of the session agent's latest report
// came over (0 for a signed report or a session that asked for none).
func (d *ackDelays) setDelay(agent string, delay time.Duration) {
	s := d.agents[agent]
	if s == nil {
		if delay == 0 {
			return
		}
		if d.agents == nil {
			d.agents = map[string]*ackState{}
		}
		s = &ackState{sent: -1}
		d.agents[agent] = s
	}
	s.delay = delay
}

// progress is called for an in-order progress ack of agent up to seq at
// now. It reports whether to send it now; if not, it is pending (due at
// the returned time) and replaces a pending ack of lower seq.
func (d *ackDelays) progress(agent string, seq uint64, now time.Duration) (sendNow bool, dueAt time.Duration) {
	s := d.agents[agent]
	if s == nil {
		return true, 0
	}
	if s.delay == 0 || s.sent < 0 || now-s.sent >= s.delay {
		s.sent, s.seq = now, 0
		return true, 0
	}
	s.seq = max(s.seq, seq)
	at := s.sent + s.delay
	if !s.queued || at < s.queuedAt {
		s.queued, s.queuedAt = true, at
		heap.Push(&d.due, dueAck{at: at, agent: agent})
	}
	return false, at
}

// sentNow records an ack that went to agent at once (a hole, a duplicate):
// it carries agent's committed position, so it takes a pending ack's place.
func (d *ackDelays) sentNow(agent string, now time.Duration) {
	if s := d.agents[agent]; s != nil {
		s.sent, s.seq = now, 0
	}
}

// take removes agent's pending ack and returns its seq (0: none), to be
// sent now (before a reject, a new session or a stop).
func (d *ackDelays) take(agent string, now time.Duration) uint64 {
	s := d.agents[agent]
	if s == nil || s.seq == 0 {
		return 0
	}
	seq := s.seq
	s.sent, s.seq = now, 0
	return seq
}

// popDue calls send for every pending ack due by now+ackSlack (in due
// order) and marks it sent.
func (d *ackDelays) popDue(now time.Duration, send func(agent string, seq uint64)) {
	for len(d.due) > 0 && d.due[0].at <= now+ackSlack {
		e := heap.Pop(&d.due).(dueAck)
		s := d.agents[e.agent]
		if s == nil || !s.queued || e.at != s.queuedAt {
			continue // stale: the agent's live entry is another one
		}
		s.queued = false
		if s.seq == 0 {
			continue // sent meanwhile
		}
		if at := s.sent + s.delay; at > now+ackSlack {
			// An ack went out at once after this entry was queued: the
			// pending one is due a delay after that.
			s.queued, s.queuedAt = true, at
			heap.Push(&d.due, dueAck{at: at, agent: e.agent})
			continue
		}
		seq := s.seq
		s.sent, s.seq = now, 0
		send(e.agent, seq)
	}
}

// next is when the earliest queued entry is due; ok is false if none is.
func (d *ackDelays) next() (at time.Duration, ok bool) {
	if len(d.due) == 0 {
		return 0, false
	}
	return d.due[0].at, true
}

// all calls send for every pending ack and forgets them (the ingest stops).
func (d *ackDelays) all(now time.Duration, send func(agent string, seq uint64)) {
	for agent, s := range d.agents {
		if s.seq != 0 {
			seq := s.seq
			s.sent, s.seq = now, 0
			send(agent, seq)
		}
		s.queued = false
	}
	d.due = d.due[:0]
}

// ackTimer is the ingest's one timer for delayed acks.
type ackTimer struct {
	base  time.Time // the ackDelays clock is time.Since(base)
	t     *time.Timer
	armed bool
	at    time.Duration // when the armed timer fires (ackDelays clock)
}

// now is the ackDelays clock.
func (a *ackTimer) now() time.Duration {
	if a.base.IsZero() {
		a.base = time.Now()
	}
	return time.Since(a.base)
}

// arm makes the timer fire (an ackDue to self) at at, unless it fires
// earlier already.
func (a *ackTimer) arm(c *actor.Context, at time.Duration) {
	if a.armed && a.at <= at {
		return
	}
	wait := max(at-a.now(), 0)
	a.armed, a.at = true, at
	if a.t == nil {
		e, self := c.Engine(), c.PID()
		a.t = time.AfterFunc(wait, func() { e.Send(self, ackDue{}) })
		return
	}
	a.t.Reset(wait)
}

// stop stops the timer.
func (a *ackTimer) stop() {
	if a.t != nil {
		a.t.Stop()
	}
	a.armed = false
}

// ackProgress acks agent's reports up to seq (an in-order progress ack
// from a flush): now, or later if agent's session asked for a delay.
func (in *ingest) ackProgress(c *actor.Context, agent string, seq uint64) {
	now := in.ackT.now()
	send, at := in.acks.progress(agent, seq, now)
	if send {
		in.sendAck(c, agent, seq, 0)
		return
	}
	in.ackT.arm(c, at)
}

// ackDueNow sends the delayed acks that are due and re-arms the timer for
// the next one.
func (in *ingest) ackDueNow(c *actor.Context) {
	in.ackT.armed = false
	now := in.ackT.now()
	in.acks.popDue(now, func(agent string, seq uint64) { in.sendAck(c, agent, seq, 0) })
	if at, ok := in.acks.next(); ok {
		in.ackT.arm(c, at)
	}
}

// flushAck sends agent's pending delayed ack now, if it has one (before a
// reject, or before its session is replaced).
func (in *ingest) flushAck(c *actor.Context, agent string) {
	if seq := in.acks.take(agent, in.ackT.now()); seq != 0 {
		in.sendAck(c, agent, seq, 0)
	}
}

// flushAllAcks sends every pending delayed ack (the ingest stops).
func (in *ingest) flushAllAcks(c *actor.Context) {
	in.ackT.stop()
	in.acks.all(in.ackT.now(), func(agent string, seq uint64) { in.sendAck(c, agent, seq, 0) })
}

// setAckDelay records the ack delay session id asked for (add drops it
// with the session).
func (t *sessionTable) setAckDelay(id uint64, d time.Duration) {
	if d <= 0 {
		return
	}
	if t.ackDelay == nil {
		t.ackDelay = map[uint64]time.Duration{}
	}
	t.ackDelay[id] = d
}
