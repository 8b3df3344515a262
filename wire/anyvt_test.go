package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestVTAnyMatchesProtobuf: the slim agent's Any (vtAny) encodes exactly as
// the protobuf runtime encodes anypb.Any and decodes what it decodes.
func TestVTAnyMatchesProtobuf(t *testing.T) {
	long := bytes.Repeat([]byte{0xab}, 300) // two-byte length
	tests := []struct {
		name    string
		typeURL string
		value   []byte
	}{
		{"empty", "", nil},
		{"type only", TypeAck, nil},
		{"value only", "", []byte{1, 2, 3}},
		{"both", TypeMACReport, []byte("body")},
		{"long value", TypeHello, long},
		{"utf8 type", "lookout/ä", []byte{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&anypb.Any{TypeUrl: tt.typeURL, Value: tt.value})
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&vtAny{TypeUrl: tt.typeURL, Value: tt.value}).MarshalVT()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("MarshalVT = %x, %v; protobuf %x", got, err, want)
			}
			var back vtAny
			if err := back.UnmarshalVT(want); err != nil {
				t.Fatal(err)
			}
			if back.TypeUrl != tt.typeURL || !bytes.Equal(back.Value, tt.value) {
				t.Fatalf("decoded %q %x, want %q %x", back.TypeUrl, back.Value, tt.typeURL, tt.value)
			}
		})
	}
}

func TestVTAnyRefuses(t *testing.T) {
	tests := []struct {
		name         string
		hex          string
		protoAccepts bool // groups: protobuf skips them, vtAny refuses them
	}{
		{"truncated length", "0a05616263", false},
		{"truncated key varint", "8a", false},
		{"field zero", "0200", false},
		{"not utf8 type", "0a01ff", false},
		{"group", "0b0c", true},
		{"wire type 7", "0f", false},
		{"varint overflow", "08ffffffffffffffffff02", false},
		{"truncated fixed64", "0901020304", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			var a vtAny
			err := a.UnmarshalVT(b)
			if !errors.Is(err, errAnyMalformed) {
				t.Fatalf("UnmarshalVT(%s) = %v, want errAnyMalformed", tt.hex, err)
			}
			if perr := proto.Unmarshal(b, &anypb.Any{}); (perr == nil) != tt.protoAccepts {
				t.Fatalf("protobuf on %s: %v, want accepted=%v", tt.hex, perr, tt.protoAccepts)
			}
		})
	}
}

// FuzzAnyCodec holds vtAny against the protobuf runtime: what protobuf
// decodes, vtAny decodes to the same fields (groups aside, which it
// refuses), what vtAny decodes, protobuf decodes, and both encode the
// decoded Any to the same bytes.
func FuzzAnyCodec(f *testing.F) {
	for _, seed := range []string{"", "0a03616263", "0a0361626312020102", "1200", "08011203010203", "0a01ff",
		"0b0c", "2a00", "0d01020304", "09010203040506070812016f", "08ffffffffffffffffff01", "0a05616263"} {
		b, _ := hex.DecodeString(seed)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var pa anypb.Any
		perr := proto.Unmarshal(b, &pa)
		var va vtAny
		verr := va.UnmarshalVT(b)
		switch {
		case perr == nil && verr != nil:
			if errors.Is(verr, errAnyGroup) {
				return
			}
			t.Fatalf("protobuf decodes %x, vtAny: %v", b, verr)
		case perr != nil && verr == nil:
			t.Fatalf("vtAny decodes %x, protobuf: %v", b, perr)
		case perr != nil:
			return
		}
		if va.TypeUrl != pa.TypeUrl || !bytes.Equal(va.Value, pa.Value) {
			t.Fatalf("%x: vtAny %q %x, protobuf %q %x", b, va.TypeUrl, va.Value, pa.TypeUrl, pa.Value)
		}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(&anypb.Any{TypeUrl: pa.TypeUrl, Value: pa.Value})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := va.MarshalVT()
		if !bytes.Equal(got, want) {
			t.Fatalf("re-encode of %x: vtAny %x, protobuf %x", b, got, want)
		}
	})
}
