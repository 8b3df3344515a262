package mpack

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// readerOps are the Reader's value decoders next to the msgpack Decoder
// methods they mirror.
var readerOps = []struct {
	name string
	hand func(p *Reader) (any, error)
	ref  func(d *msgpack.Decoder) (any, error)
}{
	{"Str", func(p *Reader) (any, error) { return p.Str() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeString() }},
	{"Bytes", func(p *Reader) (any, error) { return p.Bytes() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeBytes() }},
	{"Int64", func(p *Reader) (any, error) { return p.Int64() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeInt64() }},
	{"Uint64", func(p *Reader) (any, error) { return p.Uint64() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeUint64() }},
	{"Float64", func(p *Reader) (any, error) { return p.Float64() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeFloat64() }},
	{"Bool", func(p *Reader) (any, error) { return p.Bool() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeBool() }},
	{"DecodeMapLen", func(p *Reader) (any, error) { return p.DecodeMapLen() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeMapLen() }},
	{"DecodeArrayLen", func(p *Reader) (any, error) { return p.DecodeArrayLen() }, func(d *msgpack.Decoder) (any, error) { return d.DecodeArrayLen() }},
	{"Skip", func(p *Reader) (any, error) { return nil, p.Skip() }, func(d *msgpack.Decoder) (any, error) { return nil, d.Skip() }},
}

// compareReader decodes the first value of b with each Reader method and
// with msgpack's Decoder: both succeed with the same value and the same
// bytes used, or both fail. Where the Reader finds a declared length
// longer than the input, msgpack is not asked (it would allocate the
// declared length first; wire.Scan keeps such input from both).
func compareReader(t *testing.T, b []byte) {
	t.Helper()
	for _, op := range readerOps {
		p := NewReader(b)
		got, err := op.hand(p)
		if errors.Is(err, ErrTruncated) {
			continue
		}
		r := bytes.NewReader(b)
		want, werr := op.ref(msgpack.NewDecoder(r))
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s(% x): Reader error %v, msgpack error %v", op.name, b[:min(len(b), 32)], err, werr)
		}
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(got, want) && !bothNaN(got, want) {
			t.Fatalf("%s(% x) = %#v, msgpack %#v", op.name, b[:min(len(b), 32)], got, want)
		}
		if used := len(b) - r.Len(); p.Offset() != used {
			t.Fatalf("%s(% x) used %d bytes, msgpack %d", op.name, b[:min(len(b), 32)], p.Offset(), used)
		}
	}
}

// bothNaN reports whether a and b are both a float64 NaN (DeepEqual finds
// NaN unequal to itself).
func bothNaN(a, b any) bool {
	x, ok1 := a.(float64)
	y, ok2 := b.(float64)
	return ok1 && ok2 && math.IsNaN(x) && math.IsNaN(y)
}

// readerSeeds hold every code class at its boundaries.
func readerSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	add := func(v any) {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, n := range []int64{0, 1, 127, 128, 255, 256, math.MaxUint16, math.MaxUint16 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, math.MinInt16, math.MinInt16 - 1, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		add(n)
		add(int8(n))
		add(int16(n))
		add(int32(n))
		add(uint8(n))
		add(uint16(n))
		add(uint32(n))
		add(uint64(n))
	}
	for _, l := range []int{0, 1, 31, 32, 255, 256, math.MaxUint16 + 1} {
		add(strings.Repeat("s", l))
		add(bytes.Repeat([]byte{1}, l))
	}
	add(nil)
	add([]byte(nil))
	add(true)
	add(2.5)
	add(float32(1.5))
	add(map[string]any{"a": []any{1, "x", nil, map[string]int{"b": 2}}})
	add([]any{[]any{[]any{}}})
	seeds = append(seeds,
		[]byte{0xd4, 1, 2}, []byte{0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		[]byte{0xc7, 1, 5, 9}, []byte{0xc8, 0, 1, 5, 9}, []byte{0xc9, 0, 0, 0, 1, 5, 9},
		[]byte{0xc1}, []byte{0xdc, 0, 2, 1, 2}, []byte{0xdf, 0, 0, 0, 1, 1, 2},
		// ext headers in front of a map (DecodeMapLen skips them)
		[]byte{0xd4, 5, 0x81, 0xa1, 'a', 1}, []byte{0xc7, 3, 5, 0x80}, []byte{0xc8, 0, 3, 5, 0x80}, []byte{0xc9, 0, 0, 0, 3, 5, 0xc0})
	return seeds
}

// TestReaderMatchesDecoder runs compareReader over the seeds and every
// truncation of them.
func TestReaderMatchesDecoder(t *testing.T) {
	for _, b := range readerSeeds(t) {
		for n := 0; n <= len(b) && n <= 64; n++ {
			compareReader(t, b[:n])
		}
		compareReader(t, b)
	}
}

// TestReaderStruct covers Struct's forms: a map in any order with unknown
// and repeated keys, an array with every field, nil and an empty array
// (zero), and an array of another length (refused).
func TestReaderStruct(t *testing.T) {
	keys := []string{"a", "b"}
	tests := []struct {
		name    string
		in      []byte
		want    []string // field values as decoded, "" when not set
		zeroed  bool
		wantErr bool
	}{
		{"map", []byte{0x82, 0xa1, 'b', 0xa1, 'y', 0xa1, 'a', 0xa1, 'x'}, []string{"x", "y"}, false, false},
		{"unknown and repeated keys", []byte{0x83, 0xa1, 'z', 0x91, 0x01, 0xa1, 'a', 0xa1, 'x', 0xa1, 'a', 0xa1, 'w'}, []string{"w", ""}, false, false},
		{"array", []byte{0x92, 0xa1, 'x', 0xa1, 'y'}, []string{"x", "y"}, false, false},
		{"nil", []byte{0xc0}, []string{"", ""}, true, false},
		{"empty array", []byte{0x90}, []string{"", ""}, true, false},
		{"short array", []byte{0x91, 0xa1, 'x'}, nil, false, true},
		{"not a struct", []byte{0x01}, nil, false, true},
		{"truncated", []byte{0x82, 0xa1, 'a'}, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]string, len(keys))
			zeroed := false
			p := NewReader(tt.in)
			err := p.Struct(FieldFuncs{ZeroFunc: func() { zeroed = true }, FieldFunc: func(p *Reader, f int) (err error) {
				got[f], err = p.Str()
				return err
			}}, keys)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if zeroed != tt.zeroed || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("fields %q zeroed %v, want %q zeroed %v", got, zeroed, tt.want, tt.zeroed)
			}
		})
	}
}

// FuzzReader: on any input, each Reader method agrees with msgpack's
// Decoder.
func FuzzReader(f *testing.F) {
	for _, b := range readerSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { compareReader(t, b) })
}
