package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The writer of the legacy rollup format (one key per attribute), kept
// here only to test that History still reads what it wrote.

// histKey returns the key of a legacy per-attribute history entry.
func histKey(res byte, host, series, attr string, ns int64) []byte {
	return encodeTime(seriesPrefix(res, host, series, attr), ns)
}

// encodePoint encodes a legacy per-attribute rollup value.
func encodePoint(p Point) []byte {
	b := make([]byte, 0, pointSize)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Min))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Avg))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Max))
	return binary.BigEndian.AppendUint64(b, uint64(p.N))
}

// writeLegacyRollups stores the 1m and 1h rollups of vals (time -> value
// of rollupSeries.attr for host) as the store before per-series rollups
// did: one 'm' and one 'h' key per attribute and bucket, read-modify-written
// (so a bucket that already has a legacy key gets the points added).
func writeLegacyRollups(t *testing.T, s *Store, host, attr string, vals map[time.Time]float64) {
	t.Helper()
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, res := range []byte{resMinute, resHour} {
			width, keep := s.resolution(res)
			for ns, p := range expect(vals, width) {
				key := histKey(res, host, rollupSeries, attr, ns)
				item, err := txn.Get(key)
				switch {
				case err == nil:
					v, err := item.ValueCopy(nil)
					if err != nil {
						return err
					}
					q, err := decodePoint(res, v)
					if err != nil {
						return err
					}
					q.merge(p)
					p = q
				case err != badger.ErrKeyNotFound:
					return err
				}
				e := badger.NewEntry(key, encodePoint(p))
				e.ExpiresAt = uint64(time.Unix(0, ns).Add(width + keep).Unix())
				if err := txn.SetEntry(e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRollupLegacyKeys: rollups written in the legacy per-attribute format
// before an upgrade are read together with the per-series rollups written
// after it, including a minute and an hour that have both (each counted
// once), with the open minute in memory and after a restart.
func TestRollupLegacyKeys(t *testing.T) {
	base := hourStart()
	// Points every 20 s from minute 40 of the hour to minute 20 of the
	// next; the upgrade happens at point i = cut (legacy before it).
	const points = 40 * 3
	tests := []struct {
		name string
		cut  int
	}{
		{"only new", 0},
		{"upgrade mid-minute mid-hour", 31},         // minute 50, second 20
		{"upgrade at an hour boundary", 20 * 3},     // minute 60, second 0
		{"upgrade mid-minute of the next hour", 67}, // minute 62, second 20
		{"only legacy", points},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &clock{t: base}
			s := openTest(t, dir, Options{Now: clk.now})
			all := map[string]map[time.Time]float64{"used": {}, "idle": {}}
			legacy := map[string]map[time.Time]float64{"used": {}, "idle": {}}
			for i := range points {
				ts := base.Add(40*time.Minute + time.Duration(i)*20*time.Second)
				v := float64((i*41)%89) + 0.25
				all["used"][ts], all["idle"][ts] = v, 100-v
				if i < tc.cut {
					legacy["used"][ts], legacy["idle"][ts] = v, 100-v
					continue
				}
				clk.t = ts
				if err := s.AddSamples("h", ts, cpu(v)); err != nil {
					t.Fatal(err)
				}
			}
			// The legacy keys were on disk before the upgrade: write them
			// and restart, as the new binary starts on the old data.
			for a, vals := range legacy {
				writeLegacyRollups(t, s, "h", a, vals)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, Options{Now: clk.now})
			n := rawKeys(t, s, "h")
			if wantOld := tc.cut > 0; (n[resMinute] > 0) != wantOld || (n[resHour] > 0) != wantOld {
				t.Fatalf("legacy keys %v, want them: %v", n, wantOld)
			}
			if wantNew := tc.cut < points; (n[resMinuteSeries] > 0) != wantNew || (n[resHourSeries] > 0) != wantNew {
				t.Fatalf("per-series keys %v, want them: %v", n, wantNew)
			}
			// One more point in the last minute, left open in memory.
			ts := base.Add(40*time.Minute + points*20*time.Second - 10*time.Second)
			clk.t = ts
			all["used"][ts], all["idle"][ts] = 7.5, 92.5
			if err := s.AddSamples("h", ts, cpu(7.5)); err != nil {
				t.Fatal(err)
			}
			check := func(when string) {
				t.Helper()
				for a, vals := range all {
					for _, w := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour} {
						got, err := s.History("h", rollupSeries, a, base, base.Add(2*time.Hour-time.Nanosecond), w)
						if err != nil {
							t.Fatal(err)
						}
						checkPoints(t, fmt.Sprintf("%s: %s %v", when, a, w), got, expect(vals, w))
					}
				}
				checkHourIsMinutes(t, s, "h", base)
				checkHourIsMinutes(t, s, "h", base.Add(time.Hour))
			}
			check("open minute in memory")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, Options{Now: clk.now})
			check("after restart")
		})
	}
}

// TestRollupKeyRoundTrip: per-series rollup keys parse back, sort by time
// and never share a prefix with another series, host or resolution.
func TestRollupKeyRoundTrip(t *testing.T) {
	tests := []rollupKeyParts{
		{resMinuteSeries, "web1", "machine.disk:/dev/sda1 (/)", 1700000000123456789},
		{resHourSeries, "h", "port.port:sshd (22)", -5},
		{resMinuteSeries, "x", "s", 0},
	}
	for _, want := range tests {
		k := rollupKey(want.Res, want.Host, want.Series, want.T)
		got, err := parseRollupKey(k)
		if err != nil || got != want {
			t.Errorf("parse(rollupKey(%+v)) = %+v, %v", want, got, err)
		}
		if _, err := parseHistKey(k); err == nil {
			t.Errorf("rollup key %q parses as a legacy key", k)
		}
	}
	if a, b := rollupKey(resHourSeries, "h", "s", -1), rollupKey(resHourSeries, "h", "s", 1); string(a) >= string(b) {
		t.Error("key of t=-1 does not sort before t=1")
	}
	prefixes := [][]byte{
		rollupPrefix(resMinuteSeries, "h", "s"),
		rollupPrefix(resMinuteSeries, "h", "s2"),
		rollupPrefix(resMinuteSeries, "h2", "s"),
		rollupPrefix(resHourSeries, "h", "s"),
		seriesPrefix(resMinute, "h", "s", "a"),
		seriesPrefix(resSample, "h", "s", ""),
		reportPrefix("h"),
	}
	for i, p := range prefixes {
		for j, q := range prefixes {
			if i != j && len(q) >= len(p) && string(q[:len(p)]) == string(p) {
				t.Errorf("prefix %q is a prefix of %q", p, q)
			}
		}
	}
}

// TestRollupValue checks the per-series value encoding: what mergeRollup
// builds decodes to the merged points, flat attributes take 8 bytes of
// values instead of 24, and malformed values are refused.
func TestRollupValue(t *testing.T) {
	p := func(mn, avg, mx float64, n int) Point { return Point{Min: mn, Avg: avg, Max: mx, N: n} }
	type attr struct {
		name string
		p    Point
	}
	decode := func(t *testing.T, v []byte) []attr {
		t.Helper()
		r, err := newRollupReader(v)
		if err != nil {
			t.Fatal(err)
		}
		var out []attr
		for {
			name, q, ok, err := r.next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return out
			}
			out = append(out, attr{string(name), q})
		}
	}
	first, err := mergeRollup(nil, []string{"a", "b", "c"}, []Point{p(1, 2, 3, 3), {}, p(5, 5, 5, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + (2 + 1 + 24) + (2 + 1 + 8); len(first) != want {
		t.Fatalf("value of 2 attributes (one flat) is %d bytes, want %d: %x", len(first), want, first)
	}
	tests := []struct {
		name  string
		old   []byte
		names []string
		pts   []Point
		want  []attr
	}{
		{"new", nil, []string{"a", "c"}, []Point{p(1, 2, 3, 3), p(5, 5, 5, 2)}, []attr{{"a", p(1, 2, 3, 3)}, {"c", p(5, 5, 5, 2)}}},
		{"merge, insert before, between and after", first, []string{"0", "a", "b", "d"}, []Point{p(9, 9, 9, 1), p(-1, 3, 3, 1), p(4, 4.5, 5, 2), p(6, 6, 6, 1)},
			[]attr{{"0", p(9, 9, 9, 1)}, {"a", p(-1, 2.25, 3, 4)}, {"b", p(4, 4.5, 5, 2)}, {"c", p(5, 5, 5, 2)}, {"d", p(6, 6, 6, 1)}}},
		{"nothing added", first, []string{"a"}, []Point{{}}, []attr{{"a", p(1, 2, 3, 3)}, {"c", p(5, 5, 5, 2)}}},
		{"flat stays flat", first, []string{"c"}, []Point{p(5, 5, 5, 4)}, []attr{{"a", p(1, 2, 3, 3)}, {"c", p(5, 5, 5, 6)}}},
		{"flat becomes wide", first, []string{"c"}, []Point{p(7, 7, 7, 2)}, []attr{{"a", p(1, 2, 3, 3)}, {"c", p(5, 6, 7, 4)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := mergeRollup(tc.old, tc.names, tc.pts)
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, v)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("merged = %+v, want %+v", got, tc.want)
			}
			for _, a := range tc.want {
				if q, ok, err := rollupAttr(v, a.name); err != nil || !ok || q != a.p {
					t.Errorf("rollupAttr(%q) = %+v, %v, %v", a.name, q, ok, err)
				}
			}
			if _, ok, err := rollupAttr(v, "zz"); ok || err != nil {
				t.Errorf("rollupAttr of a missing attribute = %v, %v", ok, err)
			}
		})
	}
	if v, err := mergeRollup(nil, []string{"a"}, []Point{{}}); v != nil || err != nil {
		t.Errorf("empty merge = %x, %v, want nothing", v, err)
	}
	// framing: rollupAttr, which checks only the framing of the
	// attributes it skips, refuses it too.
	bad := []struct {
		name    string
		v       []byte
		framing bool
	}{
		{"empty", []byte{}, true},
		{"no attributes", []byte{rollupValueVersion}, true},
		{"wrong version", append([]byte{9}, first[1:]...), true},
		{"truncated", first[:len(first)-1], true},
		{"trailing byte", append(slices.Clone(first), 0), true},
		{"descending", appendRollupAttr(appendRollupAttr([]byte{rollupValueVersion}, "b", p(1, 1, 1, 1)), "a", p(1, 1, 1, 1)), false},
		{"duplicate", appendRollupAttr(appendRollupAttr([]byte{rollupValueVersion}, "a", p(1, 1, 1, 1)), "a", p(1, 1, 1, 1)), false},
		{"zero count", appendRollupAttr([]byte{rollupValueVersion}, "a", p(1, 1, 1, 0)), true},
		{"count too big", appendRollupAttr([]byte{rollupValueVersion}, "a", p(1, 1, 1, math.MaxInt32+1)), false},
		{"empty name", appendRollupAttr([]byte{rollupValueVersion}, "", p(1, 1, 1, 1)), true},
		{"NUL in name", appendRollupAttr([]byte{rollupValueVersion}, "a\x00", p(1, 1, 1, 1)), false},
		{"wide with min = max", binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(
			[]byte{rollupValueVersion, 1, 'a', 2}, math.Float64bits(1)), math.Float64bits(1)), math.Float64bits(1)), false},
		{"long uvarint", []byte{rollupValueVersion, 0x81, 0x00, 'a', 3, 0, 0, 0, 0, 0, 0, 0, 0}, false},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.name, func(t *testing.T) {
			if _, err := mergeRollup(tc.v, nil, nil); err == nil {
				t.Errorf("mergeRollup(%x) accepted a bad value", tc.v)
			}
			if _, _, err := rollupAttr(tc.v, "zzz"); tc.framing && err == nil {
				t.Errorf("rollupAttr(%x) accepted a bad value", tc.v)
			}
		})
	}
}
