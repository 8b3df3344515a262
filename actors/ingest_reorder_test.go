package actors

import (
	"context"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// reportOldest is report(seq) sent while the agent still holds oldest.
func (a *sessAgent) reportOldest(seq, oldest uint64) *model.Report {
	r := a.report(seq)
	r.Oldest = oldest
	return r
}

// firstReportAcked starts a master and a session agent whose report 1 is
// applied and acked.
func firstReportAcked(t *testing.T) (*harness, *sessAgent, *wire.Session) {
	t.Helper()
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	s := a.handshake(t, h.clk.Now())
	a.send(a.seal(t, s, a.reportOldest(1, 1)))
	waitFor(t, "ack 1", func() bool { return a.ackedSeq() == 1 })
	return h, a, s
}

// After a lost report, the reports behind it are held and applied, in
// order, once the agent resends the missing one; only that one is resent.
func TestIngestHoldsReportsAfterAGap(t *testing.T) {
	h, a, s := firstReportAcked(t)
	rep := a.reportOldest
	// Seq 2 is lost; 3, 4 and 5 arrive (the agent still holds 2: Oldest 2).
	for seq := uint64(3); seq <= 5; seq++ {
		a.send(a.seal(t, s, rep(seq, 2)))
	}
	waitFor(t, "three gaps", func() bool { return stats(t, h).Gaps == 3 })
	if got := a.ackedSeq(); got != 1 {
		t.Fatalf("acked %d before the gap was filled, want 1", got)
	}
	// The gap ack says what is missing: from 2 up to the first held seq.
	waitFor(t, "gap ack", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		last := a.acks[len(a.acks)-1]
		return last.Seq == 1 && last.Next == 3
	})
	// A resend of a held report is dropped before verification.
	a.send(a.seal(t, s, rep(4, 2)))
	waitFor(t, "early duplicate", func() bool { return stats(t, h).EarlyDuplicates == 1 })
	// The resent 2 fills the gap: 2..5 are applied and acked together.
	a.send(a.seal(t, s, rep(2, 2)))
	waitFor(t, "ack 5", func() bool { return a.ackedSeq() == 5 })
	st := stats(t, h)
	if st.Accepted != 5 || st.Reordered != 3 || st.Duplicates != 0 || st.HeldDropped != 0 {
		t.Fatalf("stats %+v, want 5 accepted, 3 reordered", st)
	}
	waitFor(t, "last value from seq 5", func() bool {
		v, _, err := h.m.LastValue(context.Background(), "agent1-host", "machine.cpu:total", "used_percentage")
		return err == nil && v == 5
	})
	// Resends of applied reports are dropped unverified too, and the agent
	// is told where the master stands.
	acks := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.acks)
	}
	n := acks()
	h.clk.Add(time.Second) // past the rate limit of those acks
	a.send(a.seal(t, s, rep(3, 3)))
	waitFor(t, "second early duplicate", func() bool { return stats(t, h).EarlyDuplicates == 2 })
	waitFor(t, "ack of the duplicate", func() bool { return acks() > n })
	if got := a.ackedSeq(); got != 5 {
		t.Fatalf("acked %d, want 5", got)
	}
}

// A held report whose predecessors the agent dropped for good (a later
// report's Oldest is above them) is applied without them.
func TestIngestHeldReportsAppliedAfterAgentDrops(t *testing.T) {
	h, a, s := firstReportAcked(t)
	rep := a.reportOldest
	// 2 and 3 are lost, 4 and 5 held. Then the agent's outbox overflows
	// and drops 2 and 3 for good: its next report says Oldest 4, which
	// makes 4 applicable, then 5 and 6 follow in order.
	a.send(a.seal(t, s, rep(4, 2)))
	a.send(a.seal(t, s, rep(5, 2)))
	waitFor(t, "two gaps", func() bool { return stats(t, h).Gaps == 2 })
	a.send(a.seal(t, s, rep(6, 4)))
	waitFor(t, "ack 6", func() bool { return a.ackedSeq() == 6 })
	if st := stats(t, h); st.Accepted != 4 || st.Reordered != 3 {
		t.Fatalf("stats %+v, want 4 accepted (1, 4, 5, 6), 3 of them reordered", st)
	}
}

// Held reports are bounded per agent, and expire.
func TestIngestHeldBounds(t *testing.T) {
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	s := a.handshake(t, h.clk.Now())
	for seq := uint64(2); seq <= maxHeldPerAgent+11; seq++ {
		a.send(a.seal(t, s, a.reportOldest(seq, 1)))
	}
	waitFor(t, "all gaps", func() bool { return stats(t, h).Gaps == maxHeldPerAgent+10 })
	if st := stats(t, h); st.HeldDropped != 10 {
		t.Fatalf("stats %+v, want 10 held reports dropped", st)
	}
	// Expiry: the gap is never filled.
	h.clk.Add(maxHeldAge + 2*time.Second)
	waitFor(t, "held reports expired", func() bool { return stats(t, h).HeldDropped == maxHeldPerAgent+10 })
	// Seq 1 arrives now: nothing is held any more, only 1 is applied.
	a.send(a.seal(t, s, a.report(1)))
	waitFor(t, "ack 1", func() bool { return a.ackedSeq() == 1 })
	if st := stats(t, h); st.Accepted != 1 || st.Reordered != 0 {
		t.Fatalf("stats %+v, want only seq 1 applied", st)
	}
}
