package store

import (
	"bytes"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/model"
)

// TestMarshalMatchesReflection: the hand-written encoders of marshal give
// the bytes of the reflection encoder (values with at most one map entry,
// so map order cannot differ) and decode to the same value otherwise.
func TestMarshalMatchesReflection(t *testing.T) {
	many := func(n, vals int) []model.Sample {
		out := make([]model.Sample, n)
		for i := range out {
			out[i] = model.Sample{Service: "svc", Resource: "r" + strconv.Itoa(i), Unit: "u", Values: map[string]float64{}}
			for j := range vals {
				out[i].Values["v"+strconv.Itoa(j)] = float64(i*j) + 0.5
			}
		}
		return out
	}
	tests := []struct {
		name  string
		v     any
		exact bool
	}{
		{"nil samples", []model.Sample(nil), true},
		{"empty samples", []model.Sample{}, true},
		{"one sample nil values", []model.Sample{{Service: "s", Resource: "r"}}, true},
		{"one value", many(1, 1), true},
		{"15 samples", many(15, 1), true},
		{"16 samples (array16)", many(16, 1), true},
		{"70000 samples (array32)", many(70000, 0), true},
		{"many values", many(4, 10), false},
		{"odd floats", []model.Sample{{Service: "s", Resource: "r", Unit: "ü", Values: map[string]float64{"x": math.Inf(-1)}}}, true},
		{"uint64 0", uint64(0), true},
		{"uint64 max", uint64(math.MaxUint64), true},
		{"uint64 small", uint64(7), true},
		{"other type", "fallback", true},
		{"last values zero", &LastValues{}, true},
		{"last values empty samples", &LastValues{Agent: "a", Samples: []model.Sample{}}, true},
		{"last values", &LastValues{Agent: "web1", Seq: 42, Seen: 1_700_000_000_123_456_789, Samples: many(4, 1)}, true},
		{"last values max seq, negative seen", &LastValues{Agent: "x", Seq: math.MaxUint64, Seen: -5, Samples: many(1, 1)}, true},
		{"last values str8 agent", &LastValues{Agent: strings.Repeat("a", 40), Seq: 1}, true},
		{"last values str16 agent", &LastValues{Agent: strings.Repeat("b", 300), Seq: 1}, true},
		{"last values str32 agent", &LastValues{Agent: strings.Repeat("c", 70000), Seq: 1}, true},
		{"last values many values", &LastValues{Agent: "h", Seq: 3, Seen: 9, Samples: many(17, 10)}, false},
		{"last values with T", &LastValues{Agent: "web1", Seq: 42, Seen: 7, Samples: many(3, 1), T: 1_700_000_000_000_000_001}, true},
		{"last values negative T, nil samples", &LastValues{Agent: "w", Seq: 1, T: -1}, true},
		{"host seq zero", &HostSeq{}, true},
		{"host seq", &HostSeq{Agent: "agent-1", Seq: 123456789, Seen: 1_700_000_000_123_456_789}, true},
		{"host seq max, str16 agent", &HostSeq{Agent: strings.Repeat("d", 300), Seq: math.MaxUint64, Seen: math.MinInt64}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			want, err := msgpack.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if tt.exact && !bytes.Equal(got, want) {
				t.Fatalf("marshal = % x\nreflection = % x", got[:min(len(got), 64)], want[:min(len(want), 64)])
			}
			if len(got) != len(want) {
				t.Fatalf("marshal gave %d bytes, reflection %d", len(got), len(want))
			}
			dst := reflect.New(reflect.TypeOf(tt.v))
			if err := Decode(got, dst.Interface()); err != nil {
				t.Fatalf("decoding marshal's bytes: %v", err)
			}
			if !reflect.DeepEqual(dst.Elem().Interface(), tt.v) {
				t.Fatalf("round trip: got %v, want %v", dst.Elem().Interface(), tt.v)
			}
		})
	}
}
