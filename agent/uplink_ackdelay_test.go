package agent

import (
	"crypto/ed25519"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

func TestUplinkAckDelayOption(t *testing.T) {
	for _, tc := range []struct {
		opt, want time.Duration
	}{
		{0, DefaultAckDelay},
		{-1, 0},
		{-time.Second, 0},
		{100 * time.Millisecond, 100 * time.Millisecond},
		{5 * time.Second, 5 * time.Second}, // the master caps it
	} {
		if got := uplinkAckDelay(tc.opt); got != tc.want {
			t.Errorf("uplinkAckDelay(%v) = %v, want %v", tc.opt, got, tc.want)
		}
	}
}

// The hello asks for the uplink's ack delay, and for none when it is 0.
func TestUplinkHelloAsksForAckDelay(t *testing.T) {
	pub, priv := testKey(t)
	keys := func(a string) (ed25519.PublicKey, bool) { return pub, a == "ag" }
	for _, d := range []time.Duration{0, 250 * time.Millisecond, time.Second} {
		u := newUplinkCore("m1", "ag", priv, 10, time.Second, testLog).withAckDelay(d)
		now := time.Unix(1000, 0)
		m := u.hello(now)
		if m == nil {
			t.Fatal("no hello")
		}
		h, err := wire.OpenHello(m, keys, now)
		if err != nil {
			t.Fatal(err)
		}
		if h.AckDelay != d.Milliseconds() {
			t.Fatalf("hello asks for %d ms, want %v", h.AckDelay, d)
		}
	}
}

// delayMaster is sessMaster whose progress acks follow the master's ack
// delay rule (when honour is set): an ack goes out at once if none went
// within the session's delay, else the newest is sent when the delay is up.
// Welcomes go out at once.
type delayMaster struct {
	*sessMaster
	honour  bool
	delay   time.Duration // asked by the last hello
	lastAck time.Time
	pending *anypb.Any
	dueAt   time.Time
	acks    int
}

func (f *delayMaster) receive(m *anypb.Any, now time.Time) []*anypb.Any {
	if m.TypeUrl == wire.TypeHello {
		keys := func(a string) (ed25519.PublicKey, bool) { return f.pub, a == "ag" }
		if h, err := wire.OpenHello(m, keys, now); err == nil {
			f.delay = time.Duration(h.AckDelay) * time.Millisecond
		}
	}
	sealed := m.TypeUrl == wire.TypeMACReport
	var out []*anypb.Any
	for _, r := range f.sessMaster.receive(m, now) {
		if r.TypeUrl != wire.TypeAck || !sealed || !f.honour || f.delay == 0 {
			out = append(out, r)
			continue
		}
		if f.lastAck.IsZero() || now.Sub(f.lastAck) >= f.delay {
			f.lastAck, f.pending = now, nil
			out = append(out, r)
			continue
		}
		if f.pending == nil {
			f.dueAt = f.lastAck.Add(f.delay)
		}
		f.pending = r
	}
	for _, r := range out {
		if r.TypeUrl == wire.TypeAck {
			f.acks++
		}
	}
	return out
}

// due returns the pending ack if it is due at now.
func (f *delayMaster) due(now time.Time) *anypb.Any {
	if f.pending == nil || now.Before(f.dueAt) {
		return nil
	}
	p := f.pending
	f.pending, f.lastAck = nil, now
	f.acks++
	return p
}

// With a master that delays its acks (or one that ignores the request),
// an uplink asking for a delay resends nothing, its outbox drains, and its
// round-trip estimate and resend timeout stay sane.
func TestUplinkWithDelayedAcks(t *testing.T) {
	for _, tc := range []struct {
		name        string
		interval    time.Duration
		resendAfter time.Duration
		ask         time.Duration // the uplink's ack delay
		honour      bool          // the master delays acks as asked
		wantAcks    [2]int        // acks per 100 reports, range
	}{
		{"10 ms reports, 250 ms delay", 10 * time.Millisecond, 2 * time.Second, 250 * time.Millisecond, true, [2]int{3, 6}},
		{"100 ms reports, 250 ms delay", 100 * time.Millisecond, 2 * time.Second, 250 * time.Millisecond, true, [2]int{30, 40}},
		{"1 s reports, 250 ms delay: every ack at once", time.Second, 2 * time.Second, 250 * time.Millisecond, true, [2]int{100, 101}},
		{"short resend timeout below the delay", 10 * time.Millisecond, 150 * time.Millisecond, 250 * time.Millisecond, true, [2]int{3, 6}},
		{"master caps at 1 s", 50 * time.Millisecond, 2 * time.Second, time.Second, true, [2]int{4, 7}},
		{"older master ignores the delay", 10 * time.Millisecond, 2 * time.Second, 250 * time.Millisecond, false, [2]int{100, 101}},
		{"no delay asked", 10 * time.Millisecond, 2 * time.Second, 0, true, [2]int{100, 101}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pub, priv := testKey(t)
			f := &delayMaster{sessMaster: newSessMaster(t, pub), honour: tc.honour}
			u := newUplinkCore("m1", "ag", priv, 1000, tc.resendAfter, testLog).withAckDelay(tc.ask)
			now := time.Unix(1000, 0)
			deliver := func(msgs ...*anypb.Any) { exchangeWith(t, u, f, now, true, msgs...) }
			deliver(u.hello(now))
			if !u.stats.Session {
				t.Fatal("no session")
			}
			const reports = 2000
			tick := resendTickFor(tc.resendAfter)
			step := time.Millisecond
			var seq uint64
			var nextPush, nextTick time.Time = now, now.Add(tick)
			acks0 := f.acks
			end := now.Add(time.Duration(reports)*tc.interval + 5*time.Second)
			for ; now.Before(end); now = now.Add(step) {
				if a := f.due(now); a != nil {
					if _, err := u.handle(a, now); err != nil {
						t.Fatal(err)
					}
					deliver(u.takeResendNow()...)
				}
				if seq < reports && !now.Before(nextPush) {
					seq++
					deliver(u.push(rep(seq), now))
					nextPush = nextPush.Add(tc.interval)
				}
				if !now.Before(nextTick) {
					deliver(u.resend(now)...)
					nextTick = nextTick.Add(tick)
				}
				// The guard is never below the time an ack may wait.
				if g := max(u.backoff, 3*u.srtt, u.ackWait()); tc.honour && f.delay > 0 && g < f.delay+50*time.Millisecond {
					t.Fatalf("resend timeout %v with acks delayed up to %v", g, f.delay)
				}
			}
			if u.stats.Resent != 0 {
				t.Fatalf("%d resends", u.stats.Resent)
			}
			if u.out.Len() != 0 || u.stats.AckedSeq != reports || len(f.applied) != reports {
				t.Fatalf("outbox %d left, acked %d, master applied %d of %d", u.out.Len(), u.stats.AckedSeq, len(f.applied), reports)
			}
			if lim := max(tc.ask, time.Millisecond) + tc.interval; u.srtt > lim {
				t.Fatalf("srtt %v, want at most %v", u.srtt, lim)
			}
			per100 := (f.acks - acks0) * 100 / reports
			if per100 < tc.wantAcks[0] || per100 > tc.wantAcks[1] {
				t.Fatalf("%d acks per 100 reports, want %d..%d", per100, tc.wantAcks[0], tc.wantAcks[1])
			}
		})
	}
}

// A hole named by a delayed master is resent at once, whatever the delay.
func TestUplinkHoleResentWithAckDelay(t *testing.T) {
	_, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 100, 2*time.Second, testLog).withAckDelay(250 * time.Millisecond)
	now := time.Unix(1000, 0)
	for seq := uint64(1); seq <= 5; seq++ {
		u.push(rep(seq), now)
	}
	u.ack(model.Ack{Agent: "ag", Seq: 1, Next: 3}, now.Add(5*time.Millisecond))
	if got := u.takeResendNow(); len(got) != 1 {
		t.Fatalf("%d reports resent for a hole of one", len(got))
	}
}

// After a stall, a master that delays its acks catches up with one ack at
// once and the next a delay later: the uplink sees progress and does not
// resend what those acks are about to cover.
func TestUplinkNoResendWhileDelayedMasterCatchesUp(t *testing.T) {
	pub, priv := testKey(t)
	f := &delayMaster{sessMaster: newSessMaster(t, pub), honour: true}
	u := newUplinkCore("m1", "ag", priv, 1000, 2*time.Second, testLog).withAckDelay(250 * time.Millisecond)
	now := time.Unix(1000, 0)
	var queue []*anypb.Any // messages waiting for the stalled master
	// The stall ends just before the reports resent during it (at 3 s)
	// come due again.
	stallFrom, stallTo := now.Add(time.Second), now.Add(4900*time.Millisecond)
	const catchUp = 5 // messages per ms once the stall ends
	toUplink := func(replies []*anypb.Any) {
		for _, r := range replies {
			out, err := u.handle(r, now)
			if err != nil {
				t.Fatal(err)
			}
			queue = append(queue, out)
			queue = append(queue, u.takeResendNow()...)
		}
	}
	send := func(msgs ...*anypb.Any) {
		for _, m := range msgs {
			if m != nil {
				queue = append(queue, m)
			}
		}
	}
	send(u.hello(now))
	tick := resendTickFor(2 * time.Second)
	nextTick := now.Add(tick)
	var seq uint64
	var resentAfterStall uint64
	end := now.Add(8 * time.Second)
	for ; now.Before(end); now = now.Add(time.Millisecond) {
		stalled := !now.Before(stallFrom) && now.Before(stallTo)
		if !stalled {
			for i := 0; i < catchUp && len(queue) > 0; i++ {
				m := queue[0]
				queue = queue[1:]
				if m != nil {
					toUplink(f.receive(m, now))
				}
			}
			if a := f.due(now); a != nil {
				toUplink([]*anypb.Any{a})
			}
		}
		if now.Sub(time.Unix(1000, 0))%(10*time.Millisecond) == 0 && seq < 600 {
			seq++
			send(u.push(rep(seq), now))
		}
		if !now.Before(nextTick) {
			before := u.stats.Resent
			send(u.resend(now)...)
			if !now.Before(stallTo) {
				resentAfterStall += u.stats.Resent - before
			}
			nextTick = nextTick.Add(tick)
		}
	}
	if u.stats.Resent == 0 {
		t.Fatal("no resend during a 3 s stall")
	}
	if resentAfterStall != 0 {
		t.Fatalf("%d reports resent while the master caught up (%d in all)", resentAfterStall, u.stats.Resent)
	}
	if u.out.Len() != 0 || len(f.applied) != 600 {
		t.Fatalf("outbox %d left, master applied %d of 600", u.out.Len(), len(f.applied))
	}
}
