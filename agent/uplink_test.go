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
