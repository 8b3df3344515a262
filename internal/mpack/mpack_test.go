package mpack

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// encoded is what msgpack's Encoder writes for one value through fn.
func encoded(t *testing.T, fn func(*msgpack.Encoder) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := fn(msgpack.NewEncoder(&b)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMatchesEncoder checks every function against msgpack's Encoder at
// and around each length and value boundary of the format.
func TestMatchesEncoder(t *testing.T) {
	lengths := []int{0, 1, 15, 16, 31, 32, 255, 256, math.MaxUint16, math.MaxUint16 + 1}
	for _, l := range lengths {
		s := strings.Repeat("x", l)
		if got, want := AppendString(nil, s), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeString(s) }); !bytes.Equal(got, want) {
			t.Errorf("AppendString(len %d) = % x..., want % x...", l, got[:min(len(got), 5)], want[:min(len(want), 5)])
		}
		b := []byte(s)
		if got, want := AppendBin(nil, b), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeBytes(b) }); !bytes.Equal(got, want) {
			t.Errorf("AppendBin(len %d) = % x..., want % x...", l, got[:min(len(got), 5)], want[:min(len(want), 5)])
		}
		if got, want := AppendMapLen(nil, l), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeMapLen(l) }); !bytes.Equal(got, want) {
			t.Errorf("AppendMapLen(%d) = % x, want % x", l, got, want)
		}
		if got, want := AppendArrayLen(nil, l), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeArrayLen(l) }); !bytes.Equal(got, want) {
			t.Errorf("AppendArrayLen(%d) = % x, want % x", l, got, want)
		}
	}
	if got, want := AppendBin(nil, nil), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeBytes(nil) }); !bytes.Equal(got, want) {
		t.Errorf("AppendBin(nil) = % x, want % x", got, want)
	}
	ints := []int64{0, 1, 127, 128, 255, 256, math.MaxUint16, math.MaxUint16 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, math.MinInt8, math.MinInt8 - 1, math.MinInt16, math.MinInt16 - 1, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	for _, n := range ints {
		if got, want := AppendInt(nil, n), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeInt(n) }); !bytes.Equal(got, want) {
			t.Errorf("AppendInt(%d) = % x, want % x", n, got, want)
		}
		if got, want := AppendInt64(nil, n), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeInt64(n) }); !bytes.Equal(got, want) {
			t.Errorf("AppendInt64(%d) = % x, want % x", n, got, want)
		}
		if got, want := AppendUint64(nil, uint64(n)), encoded(t, func(e *msgpack.Encoder) error { return e.EncodeUint64(uint64(n)) }); !bytes.Equal(got, want) {
			t.Errorf("AppendUint64(%d) = % x, want % x", uint64(n), got, want)
		}
	}
}
