package store

import (
	"bytes"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// FuzzParseHistKey: parsing never panics, and whatever parses re-encodes to
// the same key.
func FuzzParseHistKey(f *testing.F) {
	f.Add(histKey(resRaw, "web1", "machine.disk:/dev/sda1", "used_percentage", 1700000000123456789))
	f.Add(histKey(resHour, "h", "s", "a", -1))
	f.Add([]byte{0x01, 'H', 'm', 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte("\x01Hr\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, k []byte) {
		p, err := parseHistKey(k)
		if err != nil {
			return
		}
		if again := histKey(p.Res, p.Host, p.Series, p.Attr, p.T); !bytes.Equal(again, k) {
			t.Fatalf("parse(%q) = %+v re-encodes to %q", k, p, again)
		}
	})
}

// FuzzDecodePoint: decoding never panics, accepted rollups round-trip.
func FuzzDecodePoint(f *testing.F) {
	f.Add(byte(resMinute), encodePoint(Point{Min: 1, Avg: 2, Max: 3, N: 4}))
	f.Add(byte(resRaw), []byte{0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18})
	f.Add(byte(resHour), make([]byte, pointSize))
	f.Add(byte('x'), []byte{1})
	f.Fuzz(func(t *testing.T, res byte, b []byte) {
		p, err := decodePoint(res, b)
		if err != nil {
			return
		}
		if p.N <= 0 {
			t.Fatalf("decoded point with N=%d", p.N)
		}
		if res != resRaw {
			if again := encodePoint(p); !bytes.Equal(again, b) {
				t.Fatalf("decode(%x) = %+v re-encodes to %x", b, p, again)
			}
		} else if math.Float64bits(p.Avg) != math.Float64bits(p.Min) {
			t.Fatalf("raw point with Avg != Min: %+v", p)
		}
	})
}

// FuzzParseRollupKey: parsing never panics, and whatever parses re-encodes
// to the same key.
func FuzzParseRollupKey(f *testing.F) {
	f.Add(rollupKey(resMinuteSeries, "web1", "machine.disk:/dev/sda1 (/)", 1700000000123456789))
	f.Add(rollupKey(resHourSeries, "h", "s", -1))
	f.Add([]byte("\x01HMh\x00s\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x01HMh\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, k []byte) {
		p, err := parseRollupKey(k)
		if err != nil {
			return
		}
		if again := rollupKey(p.Res, p.Host, p.Series, p.T); !bytes.Equal(again, k) {
			t.Fatalf("parse(%q) = %+v re-encodes to %q", k, p, again)
		}
	})
}

// FuzzRollupValue: decoding a per-series rollup value never panics; a value
// that decodes re-encodes to the same bytes, every attribute is found by
// rollupAttr, merging nothing into it gives it back and merging its own
// points into it doubles every count.
func FuzzRollupValue(f *testing.F) {
	one := func(mn, avg, mx float64, n int) Point { return Point{Min: mn, Avg: avg, Max: mx, N: n} }
	v, err := mergeRollup(nil, []string{"free", "used", "used_percentage"}, []Point{one(1, 2, 3, 6), one(4, 4, 4, 1), one(-0.5, 0.25, math.Inf(1), 60)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v, "used")
	f.Add(v[:len(v)-3], "free")
	f.Add([]byte{rollupValueVersion}, "a")
	f.Add([]byte{rollupValueVersion, 1, 'a', 3, 0, 0, 0, 0, 0, 0, 0, 0}, "a")
	f.Add([]byte{rollupValueVersion, 0x80}, "")
	f.Add([]byte{}, "x")
	f.Fuzz(func(t *testing.T, b []byte, probe string) {
		r, err := newRollupReader(b)
		if err != nil {
			return
		}
		var names []string
		var pts []Point
		for {
			name, p, ok, err := r.next()
			if err != nil {
				if _, err2 := mergeRollup(b, nil, nil); err2 == nil {
					t.Fatalf("mergeRollup accepted %x, which does not decode: %v", b, err)
				}
				return
			}
			if !ok {
				break
			}
			if p.N <= 0 {
				t.Fatalf("decoded %q with N=%d", name, p.N)
			}
			names, pts = append(names, string(name)), append(pts, p)
		}
		again := []byte{rollupValueVersion}
		for i, n := range names {
			again = appendRollupAttr(again, n, pts[i])
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decode(%x) = %v %+v re-encodes to %x", b, names, pts, again)
		}
		for i, n := range names {
			p, ok, err := rollupAttr(b, n)
			if !ok || err != nil || math.Float64bits(p.Min) != math.Float64bits(pts[i].Min) || p.N != pts[i].N {
				t.Fatalf("attribute %q of %x = %+v, %v, %v, want %+v", n, b, p, ok, err, pts[i])
			}
		}
		if _, ok, err := rollupAttr(b, probe); err != nil || ok != slices.Contains(names, probe) {
			t.Fatalf("rollupAttr(%x, %q) = %v, %v", b, probe, ok, err)
		}
		same, err := mergeRollup(b, nil, nil)
		if err != nil || !bytes.Equal(same, b) {
			t.Fatalf("merging nothing into %x gives %x, %v", b, same, err)
		}
		if slices.ContainsFunc(pts, func(p Point) bool { return p.N > math.MaxInt32/2 }) {
			return
		}
		doubled, err := mergeRollup(b, names, pts)
		if err != nil {
			t.Fatalf("merging %x into itself: %v", b, err)
		}
		r, err = newRollupReader(doubled)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			name, p, ok, err := r.next()
			if err != nil {
				t.Fatalf("merged value %x does not decode: %v", doubled, err)
			}
			if !ok {
				if i != len(names) {
					t.Fatalf("merged value has %d attributes, want %d", i, len(names))
				}
				break
			}
			if string(name) != names[i] || p.N != 2*pts[i].N {
				t.Fatalf("merged attribute %d = %q %+v, want %q with N=%d", i, name, p, names[i], 2*pts[i].N)
			}
		}
	})
}

// FuzzDecode: Decode of arbitrary bytes into the stored types never panics
// nor allocates wildly (wire.Scan runs first), and what wire.Marshal wrote
// decodes.
func FuzzDecode(f *testing.F) {
	for _, v := range []any{
		model.Downtime{Host: "h", Service: "host", Start: time.Unix(1, 0)},
		model.AlarmStatus{Rule: "r", State: model.AlarmFiring},
		map[string]any{"a": []any{1, "x", nil}},
		uint64(7),
	} {
		b, err := wire.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff}) // array of 4G elements
	f.Add([]byte{0xc1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d model.Downtime
		_ = Decode(b, &d)
		var a model.AlarmStatus
		_ = Decode(b, &a)
		var anyV any
		if err := Decode(b, &anyV); err != nil {
			return
		}
		// Whatever decodes generically re-encodes and decodes again.
		again, err := wire.Marshal(anyV)
		if err != nil {
			return // e.g. extension types msgpack cannot re-encode generically
		}
		var v2 any
		if err := Decode(again, &v2); err != nil {
			t.Fatalf("re-encoded value does not decode: %v (%x)", err, again)
		}
	})
}

// FuzzSampleValue: decoding a raw sample value never panics, and a value
// that decodes re-encodes to the same bytes, with every attribute found by
// sampleAttr.
func FuzzSampleValue(f *testing.F) {
	f.Add(appendSampleValue(appendSampleValue([]byte{sampleValueVersion}, "used", 1.5), "free", 98.5))
	f.Add([]byte{sampleValueVersion})
	f.Add([]byte{sampleValueVersion, 0x80})
	f.Add([]byte{sampleValueVersion, 3, 'a', 'b'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		type kv struct {
			a string
			v float64
		}
		var all []kv
		if err := walkSampleValue(b, func(a []byte, v float64) bool {
			all = append(all, kv{string(a), v})
			return true
		}); err != nil {
			return
		}
		again := []byte{sampleValueVersion}
		for _, x := range all {
			again = appendSampleValue(again, x.a, x.v)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decode(%x) = %v re-encodes to %x", b, all, again)
		}
		for _, x := range all {
			if _, ok, err := sampleAttr(b, x.a); !ok || err != nil {
				t.Fatalf("attribute %q of %x not found: %v", x.a, b, err)
			}
		}
	})
}

// FuzzLastValuesEncode: the hand-written LastValues encoder gives the
// reflection encoder's bytes, and they decode back to the same value.
func FuzzLastValuesEncode(f *testing.F) {
	f.Add("web1", uint64(7), int64(1_700_000_000_000_000_000), "machine", "cpu", "total", "v", 1.5)
	f.Add("", uint64(0), int64(-1), "", "", "", "", 0.0)
	f.Add(strings.Repeat("a", 300), uint64(math.MaxUint64), int64(math.MinInt64), "s", "r", "ü", "x", math.Inf(1))
	f.Fuzz(func(t *testing.T, agent string, seq uint64, seen int64, svc, res, unit, key string, v float64) {
		if math.IsNaN(v) {
			v = 0 // NaN != NaN: the round-trip comparison would fail on equal bytes
		}
		lv := &LastValues{Agent: agent, Seq: seq, Seen: seen,
			Samples: []model.Sample{{Service: svc, Resource: res, Unit: unit, Values: map[string]float64{key: v}}}}
		got, err := marshal(lv)
		if err != nil {
			t.Fatal(err)
		}
		want, err := msgpack.Marshal(lv)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("marshal = % x\nreflection = % x", got, want)
		}
		var back LastValues
		if err := Decode(got, &back); err != nil {
			if len(got) > MaxValue {
				return
			}
			t.Fatalf("decoding: %v", err)
		}
		if !reflect.DeepEqual(&back, lv) {
			t.Fatalf("round trip: got %+v, want %+v", back, *lv)
		}
	})
}
