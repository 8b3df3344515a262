//go:build !lookout_noproto

package remote

// Lookout patch 8 regression tests: the serializer decodes Any messages
// with their value aliasing the message's bytes, exactly as proto.Unmarshal
// decodes them otherwise.

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

func TestDeserializeAnyAlias(t *testing.T) {
	in := &anypb.Any{TypeUrl: "lookout/mac-report.v1", Value: bytes.Repeat([]byte{0x84, 7}, 1000)}
	data, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ProtoSerializer{}.Deserialize(data, anyTypeName)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := m.(*anypb.Any)
	if !ok || !proto.Equal(a, in) {
		t.Fatalf("Deserialize = %v, want %v", m, in)
	}
	if &a.Value[0] != &data[len(data)-len(a.Value)] {
		t.Error("Value is a copy, want a view into the message's bytes")
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := (ProtoSerializer{}).Deserialize(data, anyTypeName); err != nil {
			t.Fatal(err)
		}
	}); n > 2 {
		t.Errorf("Deserialize(Any): %.0f allocations, want at most 2 (the Any and its type URL)", n)
	}
	// Anything but the canonical layout goes to proto.Unmarshal, with its
	// results: unknown fields kept, a repeated field's last value, errors.
	unknown := protoAppend(data, 3, []byte("x"))
	twice := protoAppend(data, 2, []byte("second"))
	for _, b := range [][]byte{unknown, twice, {0x0a, 0x02, 0xff, 0xfe}, {0x0a, 0x05, 'a'}} {
		got, gotErr := ProtoSerializer{}.Deserialize(b, anyTypeName)
		want := &anypb.Any{}
		wantErr := proto.Unmarshal(b, want)
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && !proto.Equal(got.(*anypb.Any), want)) {
			t.Errorf("Deserialize(% x) = %v, %v; proto.Unmarshal gives %v, %v", b, got, gotErr, want, wantErr)
		}
	}
}

// protoAppend appends a length-delimited field num holding v to b.
func protoAppend(b []byte, num byte, v []byte) []byte {
	out := append(bytes.Clone(b), num<<3|2, byte(len(v)))
	return append(out, v...)
}

// FuzzDecodeAnyAlias: whatever the alias decoder takes, proto.Unmarshal
// takes too, with an equal message.
func FuzzDecodeAnyAlias(f *testing.F) {
	for _, a := range []*anypb.Any{{}, {TypeUrl: "t"}, {Value: []byte{1}}, {TypeUrl: "lookout/ack.v1", Value: []byte{0x83, 0xa1, 'm'}}} {
		b, _ := proto.Marshal(a)
		f.Add(b)
	}
	f.Add([]byte{0x12, 0x00, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, ok := decodeAnyAlias(data)
		if !ok {
			return
		}
		var want anypb.Any
		if err := proto.Unmarshal(data, &want); err != nil {
			t.Fatalf("alias decoder took % x, proto.Unmarshal refused it: %v", data, err)
		}
		if !proto.Equal(a, &want) {
			t.Fatalf("alias decoder %v, proto.Unmarshal %v", a, &want)
		}
	})
}
