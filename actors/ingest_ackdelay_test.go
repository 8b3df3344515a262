package actors

import (
	"slices"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

func TestClampAckDelay(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		want time.Duration
	}{
		{-5, 0},
		{0, 0},
		{1, time.Millisecond},
		{250, 250 * time.Millisecond},
		{999, 999 * time.Millisecond},
		{1000, time.Second},
		{60_000, time.Second},
		{1 << 62, time.Second},
	} {
		if got := clampAckDelay(tc.ms); got != tc.want {
			t.Errorf("clampAckDelay(%d) = %v, want %v", tc.ms, got, tc.want)
		}
	}
}

// ackOp is one step of an ackDelays scenario: a progress ack, an
// immediate ack, a take, a delay change or a timer run, at time at (ms).
type ackOp struct {
	at    int64 // ms
	kind  string
	agent string
	seq   uint64
	delay time.Duration
}

type sentAck struct {
	at    int64
	agent string
	seq   uint64
}

func TestAckDelaysRules(t *testing.T) {
	ms := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	const d = 250 * time.Millisecond
	for _, tc := range []struct {
		name string
		ops  []ackOp
		want []sentAck
		// pending is what is left unsent at the end, by agent.
		pending map[string]uint64
	}{
		{
			name: "no delay asked: every progress ack at once",
			ops:  []ackOp{{0, "progress", "a", 1, 0}, {10, "progress", "a", 2, 0}, {20, "progress", "a", 3, 0}},
			want: []sentAck{{0, "a", 1}, {10, "a", 2}, {20, "a", 3}},
		},
		{
			name: "first ack at once, the next ones coalesced into one with the highest seq",
			ops: []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 2, 0},
				{20, "progress", "a", 3, 0}, {30, "progress", "a", 4, 0}, {100, "timer", "", 0, 0}, {250, "timer", "", 0, 0}},
			want: []sentAck{{0, "a", 1}, {250, "a", 4}},
		},
		{
			name: "the timer may send up to ackSlack early, not more",
			ops: []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 2, 0},
				{244, "timer", "", 0, 0}, {246, "timer", "", 0, 0}},
			want: []sentAck{{0, "a", 1}, {246, "a", 2}},
		},
		{
			name: "after an idle period the first ack goes at once",
			ops: []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 2, 0},
				{250, "timer", "", 0, 0}, {900, "progress", "a", 3, 0}, {910, "progress", "a", 4, 0}, {1150, "timer", "", 0, 0}},
			want: []sentAck{{0, "a", 1}, {250, "a", 2}, {900, "a", 3}, {1150, "a", 4}},
		},
		{
			name: "an immediate ack (hole, duplicate) replaces the pending one and restarts the delay",
			ops: []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 2, 0},
				{50, "now", "a", 2, 0}, {60, "progress", "a", 3, 0}, {250, "timer", "", 0, 0},
				{260, "timer", "", 0, 0}, {300, "timer", "", 0, 0}},
			// The entry queued for 250 finds the ack sent at 50: the new
			// pending ack (3) is due at 300.
			want: []sentAck{{0, "a", 1}, {50, "a", 2}, {300, "a", 3}},
		},
		{
			name: "take sends the pending ack (reject, new session); the stale timer entry sends nothing",
			ops: []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 2, 0},
				{20, "take", "a", 0, 0}, {20, "take", "a", 0, 0}, {250, "timer", "", 0, 0}},
			want: []sentAck{{0, "a", 1}, {20, "a", 2}},
		},
		{
			name: "a signed report (delay 0) is acked at once, carrying the pending progress",
			ops: []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 2, 0},
				{20, "delay", "a", 0, 0}, {20, "progress", "a", 3, 0}, {250, "timer", "", 0, 0}},
			want: []sentAck{{0, "a", 1}, {20, "a", 3}},
		},
		{
			name: "agents with different delays are due in order",
			ops: []ackOp{{0, "delay", "a", 0, d}, {0, "delay", "b", 0, ms(100)}, {0, "progress", "a", 1, 0},
				{0, "progress", "b", 1, 0}, {10, "progress", "a", 2, 0}, {10, "progress", "b", 2, 0},
				{50, "progress", "c", 7, 0}, {100, "timer", "", 0, 0}, {120, "progress", "b", 3, 0}, {250, "timer", "", 0, 0}},
			// b's 3 came 20 ms after its ack at 100: due at 200, but the
			// timer ran only at 250, and b's went out then too.
			want: []sentAck{{0, "a", 1}, {0, "b", 1}, {50, "c", 7}, {100, "b", 2}, {250, "a", 2}, {250, "b", 3}},
		},
		{
			name:    "stop sends everything pending",
			ops:     []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 5, 0}, {20, "stop", "", 0, 0}},
			want:    []sentAck{{0, "a", 1}, {20, "a", 5}},
			pending: map[string]uint64{},
		},
		{
			name:    "left pending",
			ops:     []ackOp{{0, "delay", "a", 0, d}, {0, "progress", "a", 1, 0}, {10, "progress", "a", 5, 0}},
			want:    []sentAck{{0, "a", 1}},
			pending: map[string]uint64{"a": 5},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ad ackDelays
			var got []sentAck
			for _, op := range tc.ops {
				now := ms(op.at)
				send := func(agent string, seq uint64) { got = append(got, sentAck{op.at, agent, seq}) }
				switch op.kind {
				case "delay":
					ad.setDelay(op.agent, op.delay)
				case "progress":
					ok, at := ad.progress(op.agent, op.seq, now)
					if ok {
						send(op.agent, op.seq)
					} else if at <= now || at > now+maxAckDelay {
						t.Fatalf("op %+v: due at %v", op, at)
					}
				case "now":
					ad.sentNow(op.agent, now)
					send(op.agent, op.seq)
				case "take":
					if seq := ad.take(op.agent, now); seq != 0 {
						send(op.agent, seq)
					}
				case "timer":
					ad.popDue(now, send)
				case "stop":
					ad.all(now, send)
				default:
					t.Fatalf("unknown op %q", op.kind)
				}
			}
			// Order among acks sent by one timer run is by due time, and
			// several agents can be due at once: compare as sets per time.
			key := func(a, b sentAck) int {
				if a.at != b.at {
					return int(a.at - b.at)
				}
				if a.agent != b.agent {
					if a.agent < b.agent {
						return -1
					}
					return 1
				}
				return int(a.seq) - int(b.seq)
			}
			slices.SortStableFunc(got, key)
			want := slices.Clone(tc.want)
			slices.SortStableFunc(want, key)
			if !slices.Equal(got, want) {
				t.Fatalf("sent %v, want %v", got, want)
			}
			if tc.pending != nil {
				left := map[string]uint64{}
				for agent, s := range ad.agents {
					if s.seq != 0 {
						left[agent] = s.seq
					}
				}
				if len(left) != len(tc.pending) {
					t.Fatalf("pending %v, want %v", left, tc.pending)
				}
				for a, s := range tc.pending {
					if left[a] != s {
						t.Fatalf("pending %v, want %v", left, tc.pending)
					}
				}
			}
		})
	}
}

// The due heap holds at most one entry per agent, however many reports
// wait: memory per agent stays a few words.
func TestAckDelaysOneEntryPerAgent(t *testing.T) {
	var ad ackDelays
	for i, agent := range []string{"a", "b", "c"} {
		ad.setDelay(agent, 250*time.Millisecond)
		ad.progress(agent, 1, time.Duration(i))
	}
	for seq := uint64(2); seq < 1000; seq++ {
		for _, agent := range []string{"a", "b", "c"} {
			if ok, _ := ad.progress(agent, seq, time.Duration(seq)*time.Microsecond); ok {
				t.Fatalf("seq %d of %s acked at once within the delay", seq, agent)
			}
		}
	}
	if len(ad.due) != 3 {
		t.Fatalf("due heap has %d entries for 3 agents", len(ad.due))
	}
}

// handshakeDelay is handshake with a hello asking for an ack delay.
func (a *sessAgent) handshakeDelay(t *testing.T, when time.Time, d time.Duration) *wire.Session {
	t.Helper()
	n := a.welcomes()
	h, pend, err := wire.NewHelloOpts(a.key, a.name, when, wire.HelloOptions{AckDelay: d})
	if err != nil {
		t.Fatal(err)
	}
	a.send(h)
	waitFor(t, "welcome", func() bool { return a.welcomes() > n })
	a.mu.Lock()
	w := a.wel[len(a.wel)-1]
	a.mu.Unlock()
	s, err := pend.Finish(w)
	if err != nil {
		t.Fatalf("welcome does not match the hello: %v", err)
	}
	return s
}

// ackList returns a copy of the acks received so far.
func (a *sessAgent) ackList() []model.Ack {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.acks)
}

// waitAcks waits until n acks have arrived and returns them.
func (a *sessAgent) waitAcks(t *testing.T, n int) []model.Ack {
	t.Helper()
	waitFor(t, "acks", func() bool { return len(a.ackList()) >= n })
	return a.ackList()
}

// A master's delayed acks over a real ingest: the first ack at once,
// reports within the delay acked once with the highest seq, immediate acks
// for duplicates and holes.
func TestIngestDelayedAcks(t *testing.T) {
	const delay = 400 * time.Millisecond
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	s := a.handshakeDelay(t, h.clk.Now(), delay)

	start := time.Now()
	a.send(a.seal(t, s, a.report(1)))
	if acks := a.waitAcks(t, 1); acks[0].Seq != 1 || time.Since(start) > delay {
		t.Fatalf("first ack %+v after %v, want seq 1 at once", acks[0], time.Since(start))
	}
	sent := time.Now()
	for seq := uint64(2); seq <= 6; seq++ {
		a.send(a.seal(t, s, a.report(seq)))
	}
	waitFor(t, "5 more accepted", func() bool { return stats(t, h).Accepted == 6 })
	if n := len(a.ackList()); n != 1 && time.Since(sent) < delay-50*time.Millisecond {
		t.Fatalf("%d acks within the delay, want 1 (the first)", n)
	}
	acks := a.waitAcks(t, 2)
	if acks[1].Seq != 6 || acks[1].Next != 0 {
		t.Fatalf("delayed ack %+v, want seq 6", acks[1])
	}
	if el := time.Since(sent); el < delay-2*ackSlack-50*time.Millisecond {
		t.Fatalf("delayed ack came after %v, want about %v", el, delay)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(a.ackList()); n != 2 {
		t.Fatalf("%d acks for 6 reports, want 2", n)
	}

	// A hole (7 lost, 8 arrives) is acked at once with Next, even within
	// the delay.
	t0 := time.Now()
	r8 := a.report(8)
	r8.Oldest = 7
	a.send(a.seal(t, s, r8))
	acks = a.waitAcks(t, 3)
	if acks[2].Seq != 6 || acks[2].Next != 8 || time.Since(t0) > delay-50*time.Millisecond {
		t.Fatalf("hole ack %+v after %v, want seq 6 next 8 at once", acks[2], time.Since(t0))
	}
	// The resent 7 fills the hole: 7 and 8 are acked in one ack, delayed
	// (the hole ack went out just before).
	t0 = time.Now()
	a.send(a.seal(t, s, a.report(7)))
	acks = a.waitAcks(t, 4)
	if acks[3].Seq != 8 || time.Since(t0) < delay/2 {
		t.Fatalf("ack after the hole %+v after %v, want seq 8 after about %v", acks[3], time.Since(t0), delay)
	}

	// After an idle spell (longer than the delay, and than the master's
	// limit on duplicate acks), 9 is acked at once and 10 waits; a
	// duplicate is acked at once with the position, which replaces the
	// pending ack of 10.
	time.Sleep(600 * time.Millisecond)
	h.clk.Add(time.Second) // the duplicate-ack limit runs on the master's clock
	t0 = time.Now()
	a.send(a.seal(t, s, a.report(9)))
	acks = a.waitAcks(t, 5)
	if acks[4].Seq != 9 || time.Since(t0) > delay-50*time.Millisecond {
		t.Fatalf("ack after idle %+v after %v, want seq 9 at once", acks[4], time.Since(t0))
	}
	t0 = time.Now()
	a.send(a.seal(t, s, a.report(10)))
	waitFor(t, "10 accepted", func() bool { return stats(t, h).Accepted == 10 })
	a.send(a.seal(t, s, a.report(3)))
	acks = a.waitAcks(t, 6)
	if acks[5].Seq != 10 || time.Since(t0) > delay-50*time.Millisecond {
		t.Fatalf("duplicate's ack %+v after %v, want seq 10 at once", acks[5], time.Since(t0))
	}
	time.Sleep(delay + 100*time.Millisecond)
	if n := len(a.ackList()); n != 6 {
		t.Fatalf("%d acks, want 6: the pending ack of 10 was replaced by the duplicate's", n)
	}
	st := stats(t, h)
	if st.Accepted != 10 || st.Duplicates+st.EarlyDuplicates != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Without an ack delay in its hello, a session is acked report by report.
func TestIngestNoAckDelayAcksEachReport(t *testing.T) {
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	s := a.handshakeDelay(t, h.clk.Now(), 0)
	for seq := uint64(1); seq <= 5; seq++ {
		a.send(a.seal(t, s, a.report(seq)))
		acks := a.waitAcks(t, int(seq))
		if acks[seq-1].Seq != seq {
			t.Fatalf("ack %d: %+v", seq, acks[seq-1])
		}
	}
}

// A pending delayed ack goes out before the welcome of a new session, and
// before a reject.
func TestIngestDelayedAckFlushedOnNewSessionAndReject(t *testing.T) {
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	s := a.handshakeDelay(t, h.clk.Now(), 5*time.Second) // clamped to 1 s
	a.send(a.seal(t, s, a.report(1)))
	a.waitAcks(t, 1)
	t0 := time.Now()
	a.send(a.seal(t, s, a.report(2)))
	a.send(a.seal(t, s, a.report(3)))
	waitFor(t, "3 accepted", func() bool { return stats(t, h).Accepted == 3 })
	s2 := a.handshakeDelay(t, h.clk.Now().Add(time.Millisecond), time.Second)
	// The ack was sent before the welcome, to the same inbox.
	if got := a.ackedSeq(); got != 3 && time.Since(t0) < maxAckDelay {
		t.Fatalf("acked %d when the new session's welcome arrived, want 3", got)
	}

	a.send(a.seal(t, s2, a.report(4)))
	waitFor(t, "ack 4", func() bool { return a.ackedSeq() == 4 }) // within 1 s
	t0 = time.Now()
	a.send(a.seal(t, s2, a.report(5)))
	waitFor(t, "5 accepted", func() bool { return stats(t, h).Accepted == 5 })
	bad := a.report(6)
	bad.Host = "bad host!"
	a.send(a.seal(t, s2, bad))
	waitFor(t, "reject", func() bool {
		for _, ack := range a.ackList() {
			if ack.Reject != "" {
				return true
			}
		}
		return false
	})
	acks := a.ackList()
	if last := acks[len(acks)-1]; last.Reject == "" {
		t.Fatalf("last ack %+v, want the reject", last)
	}
	if prev := acks[len(acks)-2]; (prev.Seq != 5 || prev.Reject != "") && time.Since(t0) < maxAckDelay {
		t.Fatalf("ack before the reject %+v, want seq 5", prev)
	}
}

// Signed reports are acked at once even from an agent whose session asked
// for a delay.
func TestIngestSignedReportsNotDelayed(t *testing.T) {
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	s := a.handshakeDelay(t, h.clk.Now(), time.Second)
	a.send(a.seal(t, s, a.report(1)))
	a.waitAcks(t, 1)
	t0 := time.Now()
	for seq := uint64(2); seq <= 4; seq++ {
		m, err := wire.SignReport(a.key, a.report(seq))
		if err != nil {
			t.Fatal(err)
		}
		a.send(m)
		waitFor(t, "signed ack", func() bool { return a.ackedSeq() == seq })
	}
	if el := time.Since(t0); el > 900*time.Millisecond {
		t.Fatalf("signed reports acked after %v, want at once", el)
	}
}

// FuzzAckDelays drives ackDelays with random operations and checks its
// invariants: a pending ack is always queued in the due heap, no later
// than its delay is up (never lost), the heap holds one entry per agent
// plus stale ones left by lowered delays, the timer never sends an
// ack before its delay (less ackSlack) is up, and once the timer has run
// at a time, no pending ack is overdue (by the longest delay its agent
// had since its last ack: a delay lowered meanwhile, by a signed report,
// does not bring the pending ack forward; that report's own ack goes at
// once and carries it).
func FuzzAckDelays(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba, 0xcb})
	f.Add([]byte{1, 1, 1, 1, 5, 5, 5, 5, 4, 4, 4, 4, 200, 255})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var ad ackDelays
		agents := []string{"a", "b", "c"}
		var now time.Duration
		seq := map[string]uint64{}
		lastSent := map[string]time.Duration{}
		maxDelay := map[string]time.Duration{}
		delayChanges := 0
		for i, op := range ops {
			agent := agents[int(op>>4)%len(agents)]
			now += time.Duration(op&0x0f) * 7 * time.Millisecond
			send := func(agent string, s uint64) {
				lastSent[agent] = now
				if st := ad.agents[agent]; st != nil {
					maxDelay[agent] = st.delay
				}
			}
			switch op % 6 {
			case 0:
				d := time.Duration(op) * 4 * time.Millisecond % maxAckDelay
				ad.setDelay(agent, d)
				delayChanges++
				maxDelay[agent] = max(maxDelay[agent], d)
			case 1, 2:
				seq[agent]++
				if ok, _ := ad.progress(agent, seq[agent], now); ok {
					send(agent, seq[agent])
				}
			case 3:
				ad.sentNow(agent, now)
				send(agent, seq[agent])
			case 4:
				ad.popDue(now, func(agent string, s uint64) {
					st := ad.agents[agent]
					if prev, ok := lastSent[agent]; ok && now-prev < st.delay-ackSlack {
						t.Fatalf("op %d: delayed ack of %s sent %v after the previous, delay %v", i, agent, now-prev, st.delay)
					}
					if s != seq[agent] {
						t.Fatalf("op %d: delayed ack of %s carries %d, newest is %d", i, agent, s, seq[agent])
					}
					send(agent, s)
				})
				for agent, st := range ad.agents {
					if st.seq != 0 && st.sent+maxDelay[agent] <= now {
						t.Fatalf("op %d: %s's ack of %d overdue after the timer ran", i, agent, st.seq)
					}
				}
			case 5:
				if s := ad.take(agent, now); s != 0 {
					send(agent, s)
				}
			}
			n := map[string]int{} // live entries
			for _, e := range ad.due {
				if st := ad.agents[e.agent]; st != nil && st.queued && st.queuedAt == e.at {
					n[e.agent]++
				}
			}
			// Stale entries come only from lowered delays.
			if len(ad.due) > len(agents)+2*delayChanges {
				t.Fatalf("op %d: %d heap entries for %d agents after %d delay changes", i, len(ad.due), len(agents), delayChanges)
			}
			for agent, st := range ad.agents {
				if st.seq != 0 && (!st.queued || n[agent] == 0 || st.queuedAt > st.sent+maxDelay[agent]) {
					t.Fatalf("op %d: %s's pending ack %d is not queued for its time", i, agent, st.seq)
				}
			}
		}
	})
}

// The real agent (asking for the default ack delay) against the real
// master over hollywood remote, reporting every 20 ms with a resend
// timeout (150 ms) below the ack delay: the acks come up to 250 ms late,
// yet nothing is resent and the outbox holds only the reports of the
// current delay.
func TestRealAgentWithDelayedAcks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines over TCP")
	}
	h := newHarness(t, func(o *MasterOptions) { o.Listen = testutil.FreeAddr(t); o.Now = nil })
	_, up := startRealAgent(t, h, 150*time.Millisecond, 20*time.Millisecond)
	waitFor(t, "a session", func() bool { return up().Session && up().AckedSeq > 0 })
	maxQueued := 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		maxQueued = max(maxQueued, up().Queued)
	}
	u := up()
	if u.Resent != 0 || u.SessionResets != 0 {
		t.Fatalf("uplink %+v: resends with delayed acks", u)
	}
	// 250 ms of reports every 20 ms, plus the timer's and the scheduler's
	// slack on a busy machine.
	if maxQueued > 40 {
		t.Fatalf("up to %d reports queued, want about 13", maxQueued)
	}
	if u.Sent < 50 || u.AckedSeq == 0 {
		t.Fatalf("uplink %+v: too few reports", u)
	}
	t.Logf("sent %d, max queued %d", u.Sent, maxQueued)
}
