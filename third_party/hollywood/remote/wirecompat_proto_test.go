//go:build !lookout_noproto

package remote

import (
	"encoding/hex"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestEnvelopeGoldenIsProtobuf: the golden bytes both builds check are what
// the protobuf runtime encodes (so the build without it stays compatible).
func TestEnvelopeGoldenIsProtobuf(t *testing.T) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(goldenEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(b); got != goldenEnvelopeHex {
		t.Fatalf("proto.Marshal = %s\nwant          %s", got, goldenEnvelopeHex)
	}
	golden, _ := hex.DecodeString(goldenEnvelopeHex)
	var e Envelope
	if err := proto.Unmarshal(golden, &e); err != nil {
		t.Fatal(err)
	}
	if !sameEnvelope(&e, goldenEnvelope()) {
		t.Fatalf("proto.Unmarshal(golden) = %+v", &e)
	}
}
