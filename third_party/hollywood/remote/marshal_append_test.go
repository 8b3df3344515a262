package remote

// Lookout patch 7 regression tests (both builds): drpc's encoding encodes
// envelopes into the stream's reused write buffer.

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"storj.io/drpc/drpcenc"
)

func TestMarshalAppend(t *testing.T) {
	var enc drpcEncoding_File_remote_proto
	for _, env := range []*Envelope{goldenEnvelope(), {}} {
		want, err := env.MarshalVT()
		if err != nil {
			t.Fatal(err)
		}
		// drpc's own entry point takes the MarshalAppend path.
		got, err := drpcenc.MarshalAppend(env, enc, []byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("MarshalAppend = %x, want prefix + %x", got, want)
		}
	}
	if got, err := drpcenc.MarshalAppend(goldenEnvelope(), enc, nil); err != nil || hex.EncodeToString(got) != goldenEnvelopeHex {
		t.Fatalf("MarshalAppend(nil) = %x, %v; want the golden envelope", got, err)
	}
	// A buffer with room: the envelope costs no allocation (stock v1.0.5
	// allocated one slice of its size per send).
	env, buf := goldenEnvelope(), make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = enc.MarshalAppend(buf[:0], env); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("MarshalAppend into a large enough buffer: %.0f allocations, want 0", n)
	}
	if _, err := enc.MarshalAppend(nil, "not a message"); err == nil || !strings.Contains(err.Error(), "string") {
		t.Errorf("MarshalAppend(string) = %v, want an error naming the type", err)
	}
}
