package agent

import (
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

var testLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func testKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// open decodes a signed report as a master would.
func open(t testing.TB, pub ed25519.PublicKey, m *anypb.Any) *model.Report {
	t.Helper()
	r, err := wire.OpenReport(m, func(a string) (ed25519.PublicKey, bool) { return pub, a == "ag" })
	if err != nil {
		t.Fatalf("OpenReport: %v", err)
	}
	return r
}

func rep(seq uint64) *model.Report {
	return &model.Report{Version: model.ProtocolVersion, Agent: "ag", Host: "h", Seq: seq,
		Samples: []model.Sample{{Service: "machine", Resource: "load", Unit: "system", Values: map[string]float64{"load1": 1}}}}
}

func ackAny(t testing.TB, a model.Ack) *anypb.Any {
	m, err := wire.Encode(wire.TypeAck, &a)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUplinkOldestDroppedAndAck(t *testing.T) {
	pub, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 3, time.Second, testLog)
	t0 := time.Unix(1000, 0)
	tests := []struct {
		seq         uint64
		wantOldest  uint64
		wantDropped uint64
	}{
		{1, 1, 0}, {2, 1, 0}, {3, 1, 0},
		{4, 2, 1}, // outbox of 3 is full: 1 dropped
		{5, 3, 2},
	}
	for _, tt := range tests {
		orig := rep(tt.seq)
		r := open(t, pub, u.push(orig, t0))
		if r.Seq != tt.seq || r.Oldest != tt.wantOldest || r.Dropped != tt.wantDropped {
			t.Errorf("seq %d: got seq %d oldest %d dropped %d; want oldest %d dropped %d",
				tt.seq, r.Seq, r.Oldest, r.Dropped, tt.wantOldest, tt.wantDropped)
		}
		if orig.Oldest != 0 || orig.Dropped != 0 {
			t.Errorf("push modified the shared report: %+v", orig)
		}
	}
	if err := u.handleAck(ackAny(t, model.Ack{Agent: "ag", Seq: 4}), t0); err != nil {
		t.Fatal(err)
	}
	if got := seqs(u.out); !eq(got, []uint64{5}) || u.stats.AckedSeq != 4 || u.stats.Queued != 1 {
		t.Errorf("after ack 4: queued %v, stats %+v", got, u.stats)
	}
	// Ack for another agent or of a wrong type changes nothing.
	_ = u.handleAck(ackAny(t, model.Ack{Agent: "other", Seq: 10}), t0)
	if err := u.handleAck(&anypb.Any{TypeUrl: wire.TypeSignedReport}, t0); err == nil {
		t.Error("wrong type url accepted as ack")
	}
	if got := seqs(u.out); !eq(got, []uint64{5}) {
		t.Errorf("foreign ack applied: %v", got)
	}
	// A rejection keeps the reports.
	_ = u.handleAck(ackAny(t, model.Ack{Agent: "ag", Seq: 99, Reject: "unknown agent"}), t0)
	if got := seqs(u.out); !eq(got, []uint64{5}) || u.stats.LastReject != "unknown agent" {
		t.Errorf("reject: queued %v, stats %+v", got, u.stats)
	}
	if u.stats.Sent != 5 || u.stats.Dropped != 2 {
		t.Errorf("stats %+v", u.stats)
	}
}

func TestUplinkResend(t *testing.T) {
	pub, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 1000, 2*time.Second, testLog)
	u.batch = 3
	t0 := time.Unix(1000, 0)
	for s := uint64(10); s < 15; s++ {
		u.push(rep(s), t0)
	}
	if got := u.resend(t0.Add(1999 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("resent %d reports before ResendAfter", len(got))
	}
	// Master acked 11; the rest is due, resent in seq order from the oldest,
	// one batch.
	u.ack(model.Ack{Agent: "ag", Seq: 11}, t0)
	got := u.resend(t0.Add(2 * time.Second))
	var gotSeqs, oldest []uint64
	for _, m := range got {
		r := open(t, pub, m)
		gotSeqs, oldest = append(gotSeqs, r.Seq), append(oldest, r.Oldest)
	}
	if !eq(gotSeqs, []uint64{12, 13, 14}) || !eq(oldest, []uint64{12, 12, 12}) {
		t.Errorf("resent seqs %v oldest %v; want 12..14 with oldest 12 (re-signed with the current outbox)", gotSeqs, oldest)
	}
	if u.stats.Resent != 3 {
		t.Errorf("Resent = %d", u.stats.Resent)
	}
	if got := u.resend(t0.Add(3 * time.Second)); len(got) != 0 {
		t.Errorf("resent again after 1s: %d", len(got))
	}
	u.ack(model.Ack{Agent: "ag", Seq: 14}, t0)
	if got := u.resend(t0.Add(10 * time.Second)); len(got) != 0 || u.out.Len() != 0 {
		t.Errorf("all acked but %d resent, %d queued", len(got), u.out.Len())
	}
}

func TestUplinkOversizedReportDropped(t *testing.T) {
	_, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 10, time.Second, testLog)
	r := rep(1)
	big := make(map[string]float64, 20000)
	for i := range 20000 {
		big[string(rune('a'+i%26))+time.Duration(i).String()] = float64(i)
	}
	r.Samples = []model.Sample{{Values: big}}
	if m := u.push(r, time.Now()); m != nil {
		t.Fatal("an oversized report was signed")
	}
	if u.out.Len() != 0 || u.stats.SignErrors != 1 {
		t.Errorf("oversized report kept: len %d, stats %+v", u.out.Len(), u.stats)
	}
}

// FuzzUplinkAck feeds arbitrary bytes as an ack from a master: the uplink
// must never panic, and the outbox must stay sorted with every remaining seq
// above the highest applied ack.
func FuzzUplinkAck(f *testing.F) {
	for _, a := range []model.Ack{{Agent: "ag", Seq: 3}, {Agent: "ag", Seq: 1 << 63}, {Reject: "x"}, {}} {
		b, _ := wire.Marshal(&a)
		f.Add(b)
	}
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x81, 0xa1, 0x71, 0xcf})
	_, priv := testKey(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		u := newUplinkCore("m1", "ag", priv, 4, time.Second, testLog)
		for s := uint64(1); s <= 6; s++ {
			u.out.Add(rep(s))
		}
		_ = u.handleAck(&anypb.Any{TypeUrl: wire.TypeAck, Value: b}, time.Now())
		prev := uint64(0)
		for _, s := range seqs(u.out) {
			if s <= prev || (u.stats.AckedSeq > 0 && s <= u.stats.AckedSeq) {
				t.Fatalf("outbox %v after ack %d", seqs(u.out), u.stats.AckedSeq)
			}
			prev = s
		}
	})
}

func TestUplinkResendBacksOffWhileMasterIsSilent(t *testing.T) {
	_, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 1000, 2*time.Second, testLog)
	t0 := time.Unix(1000, 0)
	for s := uint64(1); s <= 500; s++ {
		u.push(rep(s), t0)
	}
	// No acks at all: each round restarts at seq 1, so the gaps between
	// rounds double (2s, 4s, 8s, 8s) and the window halves down to 20.
	var rounds []time.Duration
	var sizes []int
	last := t0
	for now := t0; now.Before(t0.Add(40 * time.Second)); now = now.Add(100 * time.Millisecond) {
		if got := u.resend(now); len(got) > 0 {
			rounds = append(rounds, now.Sub(last))
			sizes = append(sizes, len(got))
			last = now
		}
	}
	wantGaps := []time.Duration{2 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range wantGaps {
		if i >= len(rounds) || rounds[i] != w {
			t.Fatalf("resend gaps %v, want %v first", rounds, wantGaps)
		}
	}
	if sizes[0] != resendBatch || sizes[len(sizes)-1] != minResendBatch {
		t.Fatalf("resend windows %v, want %d shrinking to %d", sizes, resendBatch, minResendBatch)
	}
	// The master comes back behind our oldest report (it lost what it had
	// not committed): the outbox is due at once, with a full window.
	u.ack(model.Ack{Agent: "ag", Seq: 0}, last.Add(time.Second))
	if got := u.resend(last.Add(time.Second)); len(got) != resendBatch {
		t.Fatalf("after the master answered, resent %d, want a full window of %d at once", len(got), resendBatch)
	}
}

func TestUplinkResendTimeoutFollowsRoundTrip(t *testing.T) {
	_, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 1000, 2*time.Second, testLog)
	t0 := time.Unix(1000, 0)
	// A slow (overloaded) master acks each report 3s after it was sent.
	for s := uint64(1); s <= 20; s++ {
		sent := t0.Add(time.Duration(s) * time.Second)
		u.push(rep(s), sent)
		if s > 3 {
			u.ack(model.Ack{Agent: "ag", Seq: s - 3}, sent)
		}
	}
	if u.srtt < 2900*time.Millisecond || u.srtt > 3100*time.Millisecond {
		t.Fatalf("srtt = %s, want about 3s", u.srtt)
	}
	// The oldest unacked (seq 18) was sent at t0+18s: not resent before
	// 3 x srtt (9s), although ResendAfter is 2s.
	if got := u.resend(t0.Add(18*time.Second + 8*time.Second)); len(got) != 0 {
		t.Fatalf("resent %d reports to a slow master before 3x its round trip", len(got))
	}
	if got := u.resend(t0.Add(18*time.Second + 10*time.Second)); len(got) == 0 {
		t.Fatal("nothing resent after 3x the round trip")
	}
}

// sessMaster is the master side of the protocol in a few lines: signed and
// session reports, hellos, seq dedup with the ingest's gap rule, and
// applied-once bookkeeping. restart forgets its sessions (not the seqs,
// which the real master keeps in its store).
type sessMaster struct {
	tb       testing.TB
	pub      ed25519.PublicKey
	sessions map[uint64]*wire.Session
	lastHelo int64
	nextID   uint64
	last     uint64
	applied  []uint64
	signed   int
	sealed   int
	unknown  int
	// slowWelcome holds welcomes back until deliverWelcomes, as a master
	// busy with reports would answer a hello some time later.
	slowWelcome bool
	welcomes    []*anypb.Any
}

// deliverWelcomes hands held-back welcomes to the uplink.
func (f *sessMaster) deliverWelcomes(u *uplinkCore, now time.Time) {
	for _, w := range f.welcomes {
		if _, err := u.handle(w, now); err != nil {
			f.tb.Fatal(err)
		}
	}
	f.welcomes = nil
}

func newSessMaster(tb testing.TB, pub ed25519.PublicKey) *sessMaster {
	return &sessMaster{tb: tb, pub: pub, sessions: map[uint64]*wire.Session{}, nextID: 100}
}

func (f *sessMaster) restart() { f.sessions = map[uint64]*wire.Session{}; f.lastHelo = 0 }

// receiveT is receive reporting failures to tb (for fuzz setup).
func (f *sessMaster) receiveT(tb testing.TB, m *anypb.Any, now time.Time) []*anypb.Any {
	f.tb = tb
	return f.receive(m, now)
}

// receive handles one message and returns the replies.
func (f *sessMaster) receive(m *anypb.Any, now time.Time) []*anypb.Any {
	f.tb.Helper()
	keys := func(a string) (ed25519.PublicKey, bool) { return f.pub, a == "ag" }
	var r *model.Report
	switch m.TypeUrl {
	case wire.TypeHello:
		h, err := wire.OpenHello(m, keys, now)
		if err != nil || h.Time <= f.lastHelo {
			return nil
		}
		f.lastHelo = h.Time
		f.nextID++
		s, w, err := wire.AcceptHello(h, "m1", f.nextID)
		if err != nil {
			f.tb.Fatal(err)
		}
		f.sessions[s.ID] = s
		if f.slowWelcome {
			f.welcomes = append(f.welcomes, w)
			return nil
		}
		return []*anypb.Any{w}
	case wire.TypeMACReport:
		mr, err := wire.DecodeMACReport(m)
		if err != nil {
			f.tb.Fatal(err)
		}
		s := f.sessions[mr.Session]
		if s == nil {
			f.unknown++
			b, err := wire.Encode(wire.TypeBadSession, &wire.BadSession{Agent: "ag", Master: "m1", Session: mr.Session, Reason: "unknown session"})
			if err != nil {
				f.tb.Fatal(err)
			}
			return []*anypb.Any{b}
		}
		if r, err = s.Open(mr); err != nil {
			f.tb.Fatalf("session report refused: %v", err)
		}
		f.sealed++
	default:
		var err error
		if r, err = wire.OpenReport(m, keys); err != nil {
			f.tb.Fatalf("signed report refused: %v", err)
		}
		f.signed++
	}
	switch {
	case r.Seq <= f.last:
	case r.Seq == f.last+1 || r.Oldest == r.Seq:
		f.last = r.Seq
		f.applied = append(f.applied, r.Seq)
	default:
	}
	return []*anypb.Any{ackAny(f.tb, model.Ack{Agent: "ag", Seq: f.last})}
}

// exchange delivers msgs to the master and its replies back to the uplink,
// as the uplink actor does, until nothing is left to send.
func exchange(t *testing.T, u *uplinkCore, f *sessMaster, now time.Time, msgs ...*anypb.Any) {
	t.Helper()
	exchangeWith(t, u, f, now, false, msgs...)
}

// testMaster is a simulated master: the replies to one message.
type testMaster interface {
	receive(m *anypb.Any, now time.Time) []*anypb.Any
}

// exchangeWith is exchange with any simulated master; with holes set, the
// hole resends the uplink wants at once (takeResendNow) follow each reply's
// answer, as the uplink actor sends them.
func exchangeWith(t *testing.T, u *uplinkCore, f testMaster, now time.Time, holes bool, msgs ...*anypb.Any) {
	t.Helper()
	for len(msgs) > 0 {
		m := msgs[0]
		msgs = msgs[1:]
		if m == nil {
			continue
		}
		for _, reply := range f.receive(m, now) {
			out, err := u.handle(reply, now)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, out)
			if holes {
				msgs = append(msgs, u.takeResendNow()...)
			}
		}
	}
}

func TestUplinkSessionHandshake(t *testing.T) {
	pub, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 100, time.Second, testLog)
	f := newSessMaster(t, pub)
	t0 := time.Unix(1000, 0)
	h := u.hello(t0)
	if h == nil || h.TypeUrl != wire.TypeHello {
		t.Fatalf("first hello %v", h)
	}
	if again := u.hello(t0.Add(2 * time.Second)); again != nil {
		t.Fatal("hello resent before its welcome was overdue")
	}
	// Before the welcome arrives, reports are signed: no stall.
	m1 := u.push(rep(1), t0)
	if m1.TypeUrl != wire.TypeSignedReport {
		t.Fatalf("report before the welcome: %s", m1.TypeUrl)
	}
	exchange(t, u, f, t0, m1, h)
	if !u.stats.Session || u.stats.Handshakes != 1 {
		t.Fatalf("no session after the welcome: %+v", u.stats)
	}
	m := u.push(rep(2), t0)
	if m.TypeUrl != wire.TypeMACReport {
		t.Fatalf("report after the welcome: %s", m.TypeUrl)
	}
	exchange(t, u, f, t0, m)
	if f.signed != 1 || f.sealed != 1 || f.last != 2 || u.out.Len() != 0 {
		t.Fatalf("master signed %d sealed %d last %d; agent queued %d", f.signed, f.sealed, f.last, u.out.Len())
	}
	if h := u.hello(t0.Add(time.Minute)); h != nil {
		t.Fatal("hello sent while a session is up")
	}
}

func TestUplinkHelloRetryAndStaleWelcome(t *testing.T) {
	pub, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 100, time.Second, testLog)
	f := newSessMaster(t, pub)
	t0 := time.Unix(1000, 0)
	h1 := u.hello(t0)
	// Unanswered hellos are repeated after 3s, 6s, 12s, ... up to 30s.
	var gaps []time.Duration
	last := t0
	var h2 *anypb.Any
	for now := t0; now.Before(t0.Add(2 * time.Minute)); now = now.Add(100 * time.Millisecond) {
		if h := u.hello(now); h != nil {
			gaps = append(gaps, now.Sub(last))
			last = now
			h2 = h
		}
	}
	want := []time.Duration{3 * time.Second, 6 * time.Second, 12 * time.Second, 24 * time.Second, 30 * time.Second}
	for i, w := range want {
		if i >= len(gaps) || gaps[i] != w {
			t.Fatalf("hello gaps %v, want %v first", gaps, want)
		}
	}
	// The master answers the first hello late: that welcome does not match
	// the pending hello and is ignored; the answer to the latest one opens
	// the session.
	now := last.Add(time.Second)
	exchange(t, u, f, now, h1)
	if u.sess != nil {
		t.Fatal("session opened from the welcome of an older hello")
	}
	exchange(t, u, f, now, h2)
	if u.sess == nil || u.stats.Handshakes != 1 {
		t.Fatalf("no session from the matching welcome: %+v", u.stats)
	}
}

func TestUplinkOldMasterRefusesHello(t *testing.T) {
	_, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 100, time.Second, testLog)
	t0 := time.Unix(1000, 0)
	if u.hello(t0) == nil {
		t.Fatal("no hello")
	}
	// What a master without sessions answers (wire.OpenReport's error).
	_, err := wire.OpenReport(&anypb.Any{TypeUrl: wire.TypeHello}, nil)
	if _, herr := u.handle(ackAny(t, model.Ack{Master: "m1", Reject: err.Error()}), t0); herr != nil {
		t.Fatal(herr)
	}
	if u.stats.LastReject != "" {
		t.Fatalf("hello refusal taken as a report rejection: %q", u.stats.LastReject)
	}
	for _, d := range []time.Duration{time.Second, time.Minute, helloOffFor - time.Second} {
		if u.hello(t0.Add(d)) != nil {
			t.Fatalf("hello again after %s to a master without sessions", d)
		}
	}
	if u.hello(t0.Add(helloOffFor)) == nil {
		t.Fatal("no hello after helloOffFor")
	}
}

// TestUplinkMasterRestartLosesSession: the agent reports every 100ms; the
// master restarts (forgets sessions) twice. Each time the agent is told
// its session is unknown, signs meanwhile, handshakes again and resends:
// every seq is applied exactly once, in order.
func TestUplinkMasterRestartLosesSession(t *testing.T) {
	pub, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 1000, 2*time.Second, testLog)
	f := newSessMaster(t, pub)
	t0 := time.Unix(1000, 0)
	f.slowWelcome = true
	exchange(t, u, f, t0, u.hello(t0))
	const n = 200
	for seq := uint64(1); seq <= n; seq++ {
		now := t0.Add(time.Duration(seq) * 100 * time.Millisecond)
		if seq%5 == 0 {
			f.deliverWelcomes(u, now)
		}
		if seq == 50 || seq == 120 {
			f.restart()
		}
		msgs := []*anypb.Any{u.push(rep(seq), now), u.hello(now)}
		msgs = append(msgs, u.resend(now)...)
		exchange(t, u, f, now, msgs...)
	}
	// Drain: ticks until everything is acked.
	end := t0.Add(n * 100 * time.Millisecond)
	for now := end; u.out.Len() > 0 && now.Before(end.Add(time.Minute)); now = now.Add(100 * time.Millisecond) {
		f.deliverWelcomes(u, now)
		exchange(t, u, f, now, append(u.resend(now), u.hello(now))...)
	}
	if u.out.Len() != 0 || len(f.applied) != n {
		t.Fatalf("queued %d, applied %d of %d", u.out.Len(), len(f.applied), n)
	}
	for i, s := range f.applied {
		if s != uint64(i+1) {
			t.Fatalf("applied out of order or twice at %d: %v", i, f.applied)
		}
	}
	if u.stats.SessionResets != 2 || u.stats.Handshakes != 3 || !u.stats.Session {
		t.Fatalf("stats %+v", u.stats)
	}
	if f.unknown == 0 || f.signed < 3 || f.sealed < n-30 {
		t.Fatalf("master saw %d unknown-session, %d signed, %d sealed reports", f.unknown, f.signed, f.sealed)
	}
	t.Logf("unknown %d, signed %d, sealed %d, resent %d", f.unknown, f.signed, f.sealed, u.stats.Resent)
}

// FuzzUplinkSessionMessages feeds arbitrary bytes as a Welcome or a
// BadSession from a master: the uplink must never panic, and no forged
// Welcome may open a session (only the master's real answer can).
func FuzzUplinkSessionMessages(f *testing.F) {
	pub, priv := testKey(f)
	real := newSessMaster(nil, pub)
	u0 := newUplinkCore("m1", "ag", priv, 4, time.Second, testLog)
	t0 := time.Unix(1000, 0)
	for _, w := range real.receiveT(f, u0.hello(t0), t0) {
		f.Add(w.Value, true)
	}
	b, _ := wire.Marshal(&wire.BadSession{Agent: "ag", Session: 1})
	f.Add(b, false)
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}, true)
	f.Fuzz(func(t *testing.T, data []byte, welcome bool) {
		u := newUplinkCore("m1", "ag", priv, 4, time.Second, testLog)
		if u.hello(t0) == nil {
			t.Fatal("no hello")
		}
		typ := wire.TypeBadSession
		if welcome {
			typ = wire.TypeWelcome
		}
		_, _ = u.handle(&anypb.Any{TypeUrl: typ, Value: data}, t0)
		if u.sess != nil {
			t.Fatalf("a welcome for another hello opened session %d", u.sess.ID)
		}
		if m := u.push(rep(1), t0); m == nil || m.TypeUrl != wire.TypeSignedReport {
			t.Fatalf("report after a bogus message: %v", m)
		}
	})
}

// An ack naming a hole (Ack.Next) makes exactly the missing reports go out
// at once, at most once per guard, and leaves the go-back-N timer alone.
func TestUplinkResendsHoleNamedByAck(t *testing.T) {
	pub, priv := testKey(t)
	u := newUplinkCore("m1", "ag", priv, 100, 2*time.Second, testLog)
	t0 := time.Unix(1000, 0)
	for seq := uint64(1); seq <= 6; seq++ {
		u.push(rep(seq), t0)
	}
	resent := func(now time.Time, a model.Ack) []uint64 {
		t.Helper()
		if err := u.handleAck(ackAny(t, a), now); err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, m := range u.takeResendNow() {
			got = append(got, open(t, pub, m).Seq)
		}
		return got
	}
	tests := []struct {
		name string
		at   time.Duration
		ack  model.Ack
		want []uint64
	}{
		{"hole 2..3", 10 * time.Millisecond, model.Ack{Agent: "ag", Seq: 1, Next: 4}, []uint64{2, 3}},
		{"same hole within the guard", 100 * time.Millisecond, model.Ack{Agent: "ag", Seq: 1, Next: 4}, nil},
		{"same hole after the guard", 400 * time.Millisecond, model.Ack{Agent: "ag", Seq: 1, Next: 4}, []uint64{2, 3}},
		{"no hole", 500 * time.Millisecond, model.Ack{Agent: "ag", Seq: 2}, nil},
		{"next right after seq", time.Second, model.Ack{Agent: "ag", Seq: 2, Next: 3}, nil},
		{"hole 4..5 after 3 is acked", 1100 * time.Millisecond, model.Ack{Agent: "ag", Seq: 3, Next: 6}, []uint64{4, 5}},
	}
	for _, tt := range tests {
		if got := resent(t0.Add(tt.at), tt.ack); !eq(got, tt.want) {
			t.Fatalf("%s: resent %v, want %v", tt.name, got, tt.want)
		}
	}
	if u.stats.Resent != 6 {
		t.Fatalf("Resent = %d, want 6", u.stats.Resent)
	}
	// The ack that covers a hole resend waited for it: no round-trip sample.
	srtt := u.srtt
	if err := u.handleAck(ackAny(t, model.Ack{Agent: "ag", Seq: 5}), t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if u.srtt != srtt {
		t.Fatalf("srtt %v -> %v from an ack that waited for a hole", srtt, u.srtt)
	}
	// The reports resent for the hole are not due again before the timer.
	if due := u.resend(t0.Add(1200 * time.Millisecond)); len(due) != 0 {
		t.Fatalf("go-back-N resent %d reports right after the hole resend", len(due))
	}
}
