package remote

// Lookout patch 6 regression tests: built with -tags lookout_noproto (the
// slim agent), the remote's envelopes and PIDs are plain structs with
// hand-derived codecs. These tests run in both builds against the same
// golden bytes; wirecompat_proto_test.go checks in the default build that
// the golden bytes are what the protobuf runtime itself encodes, so both
// builds stay wire-compatible with stock hollywood v1.0.5.

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/anthdm/hollywood/actor"
)

// goldenEnvelope has every field set, empty strings and PIDs with empty
// fields, a negative and a multi-byte index, and an empty message body.
func goldenEnvelope() *Envelope {
	return &Envelope{
		TypeNames: []string{"remote.TestMessage", ""},
		Targets:   []*actor.PID{{Address: "127.0.0.1:4000", ID: "lookout/master/ingest"}},
		Senders:   []*actor.PID{{Address: "127.0.0.1:4001"}, {ID: "x"}},
		Messages: []*Message{
			{Data: []byte("hi"), SenderIndex: 1},
			{TargetIndex: -1, SenderIndex: 300, TypeNameIndex: 1},
		},
	}
}

const goldenEnvelopeHex = "0a1272656d6f74652e546573744d6573736167650a0012270a0e3132372e302e302e313a3430303012156c6f6f6b6f75742f6d61737465722f696e67657374" +
	"1a100a0e3132372e302e302e313a34303031" + "1a03120178" +
	"22060a0268691801" + "2210" + "10ffffffffffffffffff01" + "18ac02" + "2001"

// sameEnvelope compares the fields of two envelopes.
func sameEnvelope(a, b *Envelope) bool {
	if len(a.TypeNames) != len(b.TypeNames) || len(a.Targets) != len(b.Targets) ||
		len(a.Senders) != len(b.Senders) || len(a.Messages) != len(b.Messages) {
		return false
	}
	for i := range a.TypeNames {
		if a.TypeNames[i] != b.TypeNames[i] {
			return false
		}
	}
	samePIDs := func(x, y []*actor.PID) bool {
		for i := range x {
			if x[i].GetAddress() != y[i].GetAddress() || x[i].GetID() != y[i].GetID() {
				return false
			}
		}
		return true
	}
	if !samePIDs(a.Targets, b.Targets) || !samePIDs(a.Senders, b.Senders) {
		return false
	}
	for i := range a.Messages {
		x, y := a.Messages[i], b.Messages[i]
		if !bytes.Equal(x.Data, y.Data) || x.TargetIndex != y.TargetIndex ||
			x.SenderIndex != y.SenderIndex || x.TypeNameIndex != y.TypeNameIndex {
			return false
		}
	}
	return true
}

func TestEnvelopeGolden(t *testing.T) {
	golden, err := hex.DecodeString(goldenEnvelopeHex)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  *Envelope
		hex  string
	}{
		{"every field", goldenEnvelope(), goldenEnvelopeHex},
		{"empty", &Envelope{}, ""},
		{"one PID", &Envelope{Targets: []*actor.PID{{Address: "a", ID: "b"}}}, "12060a0161120162"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.env.MarshalVT()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tt.hex {
				t.Fatalf("MarshalVT = %s\nwant        %s", got, tt.hex)
			}
			var back Envelope
			if err := back.UnmarshalVT(b); err != nil {
				t.Fatal(err)
			}
			if !sameEnvelope(&back, tt.env) {
				t.Fatalf("decoded %+v, want %+v", &back, tt.env)
			}
		})
	}
	// A PID alone, as the remote registers it as a message.
	pb, err := (&actor.PID{Address: "a", ID: "b"}).MarshalVT()
	if err != nil || hex.EncodeToString(pb) != "0a0161120162" {
		t.Fatalf("PID.MarshalVT = %x, %v", pb, err)
	}
	var env Envelope
	if err := env.UnmarshalVT(golden[:len(golden)-1]); err == nil {
		t.Fatal("a truncated envelope decoded without error")
	}
}

// FuzzEnvelopeRoundTrip: whatever decodes re-encodes to bytes that decode
// to the same envelope, and no input panics the decoder.
func FuzzEnvelopeRoundTrip(f *testing.F) {
	golden, _ := hex.DecodeString(goldenEnvelopeHex)
	f.Add(golden)
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b'})
	f.Add([]byte{0x22, 0x02, 0x10, 0xff})
	f.Add([]byte{0x7a, 0x01, 0x00}) // unknown field 15
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Envelope
		if err := e.UnmarshalVT(b); err != nil {
			return
		}
		out, err := e.MarshalVT()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back Envelope
		if err := back.UnmarshalVT(out); err != nil {
			t.Fatalf("re-decode of %x: %v", out, err)
		}
		if !sameEnvelope(&e, &back) {
			t.Fatalf("round trip changed %+v into %+v", &e, &back)
		}
	})
}
