package store

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// rawSamples returns the samples of host's raw reports from t0 on, per
// report, with Reports.
func rawSamples(t *testing.T, s *Store, host string, from int64) (times []int64, reports [][]model.Sample) {
	t.Helper()
	if err := s.Reports(host, from, func(ts int64, ss []model.Sample) error {
		times = append(times, ts)
		reports = append(reports, ss)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return times, reports
}

// TestEncodeReportMatchesAddSamples: the raw entry EncodeReport builds and
// PutReport writes decodes to what AddSamples' raw entry decodes to, under
// the same key, with the same filters (bad names, NaN, infinities, samples
// left empty), and the first written series in the key.
func TestEncodeReportMatchesAddSamples(t *testing.T) {
	nul := "a\x00b"
	tests := []struct {
		name    string
		samples []model.Sample
	}{
		{"plain", []model.Sample{
			{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"used_percentage": 5, "idle": 95}},
			{Service: "machine", Resource: "memory", Unit: "ram", Values: map[string]float64{"used": 1 << 30}}}},
		{"filtered", []model.Sample{
			{Service: "machine", Resource: "cpu", Unit: "nan", Values: map[string]float64{"x": math.NaN(), "y": math.Inf(1)}}, // left empty: skipped
			{Service: nul, Resource: "r", Unit: "u", Values: map[string]float64{"v": 1}},
			{Service: "s", Resource: nul, Unit: "u", Values: map[string]float64{"v": 1}},
			{Service: "s", Resource: "r", Unit: strings.Repeat("u", MaxName), Values: map[string]float64{"v": 1}},
			{Service: "machine", Resource: "disk", Unit: "/", Values: map[string]float64{"": 1, nul: 2, "ok": 3, strings.Repeat("a", MaxName+1): 4, "neg": math.Inf(-1)}},
			{Service: "machine", Resource: "net", Unit: "eth0", Values: nil}}},
		{"nothing storable", []model.Sample{{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"x": math.NaN()}}}},
		{"no samples", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := time.Now().Truncate(time.Millisecond)
			a := openTest(t, t.TempDir(), Options{})
			if err := a.AddSamples("web1", ts, tt.samples); err != nil {
				t.Fatal(err)
			}
			b := openTest(t, t.TempDir(), Options{})
			rr := EncodeReport(tt.samples)
			bt := b.Batch()
			if err := bt.PutReport("web1", ts.UnixNano(), rr); err != nil {
				t.Fatal(err)
			}
			if err := bt.Commit(false); err != nil {
				t.Fatal(err)
			}
			keysA, keysB := reportKeys(t, a), reportKeys(t, b)
			if !slices.Equal(keysA, keysB) {
				t.Fatalf("keys: AddSamples %q, PutReport %q", keysA, keysB)
			}
			ta, ra := rawSamples(t, a, "web1", 0)
			tb, rb := rawSamples(t, b, "web1", 0)
			if !slices.Equal(ta, tb) || !reflect.DeepEqual(ra, rb) {
				t.Fatalf("AddSamples raw %v %v, PutReport %v %v", ta, ra, tb, rb)
			}
			if (rr.Value == nil) != (len(keysB) == 0) {
				t.Fatalf("EncodeReport value %x with %d keys written", rr.Value, len(keysB))
			}
		})
	}
}

// reportKeys lists the raw reports of host web1 in s as time/first
// series (the raw log's and any badger holds).
func reportKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	reps, err := s.rawReports("web1", math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		keys = append(keys, fmt.Sprintf("%d/%s", r.t, r.first))
	}
	return keys
}

// TestReports: Reports returns a host's raw reports from a time on, in
// time order, only that host's, split into service, resource and unit;
// reports older than the raw retention are not written, nor anything while
// the history is read-only; AddRollupsBatch writes rollups and no raw
// entry.
func TestReports(t *testing.T) {
	now := time.Now()
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return now }, RawRetention: time.Hour})
	cpuAt := func(v float64) RawReport {
		return EncodeReport([]model.Sample{{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"used": v}}})
	}
	b := s.Batch()
	base := now.Add(-30 * time.Minute).UnixNano()
	for i, off := range []int64{3, 1, 2} { // out of order
		if err := b.PutReport("web1", base+off, cpuAt(float64(off))); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
	}
	if err := b.PutReport("web10", base+5, cpuAt(50)); err != nil { // a host whose name extends web1's
		t.Fatal(err)
	}
	if err := b.PutReport("web1", now.Add(-2*time.Hour).UnixNano(), cpuAt(-1)); err != nil { // expired
		t.Fatal(err)
	}
	if err := b.PutReport("bad\x00host", base, cpuAt(1)); err == nil {
		t.Fatal("PutReport accepted a host name with NUL")
	}
	if err := b.Commit(false); err == nil {
		t.Fatal("Commit after a refused host name succeeded")
	}
	b = s.Batch()
	for _, off := range []int64{3, 1, 2} {
		if err := b.PutReport("web1", base+off, cpuAt(float64(off))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.PutReport("web10", base+5, cpuAt(50)); err != nil {
		t.Fatal(err)
	}
	if err := b.PutReport("web1", now.Add(-2*time.Hour).UnixNano(), cpuAt(-1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from int64
		want []int64
	}{
		{0, []int64{1, 2, 3}},
		{base + 2, []int64{2, 3}},
		{base + 3, []int64{3}},
		{base + 4, nil},
	} {
		times, reps := rawSamples(t, s, "web1", tc.from)
		var got []int64
		for i, ts := range times {
			got = append(got, ts-base)
			want := model.Sample{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"used": float64(ts - base)}}
			if len(reps[i]) != 1 || !reflect.DeepEqual(reps[i][0], want) {
				t.Fatalf("report at %d: %+v, want %+v", ts, reps[i], want)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("from %d: reports at %v, want %v", tc.from-base, got, tc.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Reports("web1", 0, func(int64, []model.Sample) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("Reports with a failing fn = %v after %d calls", err, n)
	}
	if err := s.Reports("", 0, func(int64, []model.Sample) error { return nil }); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Reports of an empty host = %v", err)
	}

	// Rollups only: no raw entry, but the 1m rollup once the minute closes.
	t0 := now.Truncate(time.Minute).Add(-10 * time.Minute)
	items := []HostSamples{{Host: "db1", Time: t0, Samples: []model.Sample{{Service: "m", Resource: "r", Unit: "u", Values: map[string]float64{"v": 4}}}}}
	if err := s.AddRollupsBatch(items); err != nil {
		t.Fatal(err)
	}
	if _, reps := rawSamples(t, s, "db1", 0); len(reps) != 0 {
		t.Fatalf("AddRollupsBatch wrote raw reports: %v", reps)
	}
	pts, err := s.History("db1", "m.r:u", "v", t0.Add(-time.Minute), t0.Add(time.Minute), time.Minute)
	if err != nil || len(pts) != 1 || pts[0].Avg != 4 {
		t.Fatalf("History after AddRollupsBatch = %+v, %v; want one point of 4", pts, err)
	}

	// Read-only history: PutReport writes nothing (and fails nothing).
	ro := openTest(t, t.TempDir(), Options{MinFreeBytes: 1 << 62})
	b = ro.Batch()
	if err := b.PutReport("web1", time.Now().UnixNano(), cpuAt(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	if keys := reportKeys(t, ro); len(keys) != 0 {
		t.Fatalf("raw reports written while the history is read-only: %q", keys)
	}
}

// TestSplitSeries checks the split of series names.
func TestSplitSeries(t *testing.T) {
	for _, tc := range []struct{ in, service, resource, unit string }{
		{"machine.cpu:total", "machine", "cpu", "total"},
		{"machine.disk:/var/lib:x", "machine", "disk", "/var/lib:x"},
		{"app.e2e:round", "app", "e2e", "round"},
		{"a.b.c:d", "a", "b.c", "d"},
		{"a.b", "a", "b", ""},
		{"nodot", "nodot", "", ""},
		{"", "", "", ""},
	} {
		s, r, u := SplitSeries(tc.in)
		if s != tc.service || r != tc.resource || u != tc.unit {
			t.Errorf("SplitSeries(%q) = %q %q %q, want %q %q %q", tc.in, s, r, u, tc.service, tc.resource, tc.unit)
		}
		if tc.unit != "" && model.SeriesKey(s, r, u) != tc.in {
			t.Errorf("SeriesKey of the split of %q = %q", tc.in, model.SeriesKey(s, r, u))
		}
	}
}

// FuzzEncodeReport: what EncodeReport encodes decodes (decodeReport) to the
// input's storable samples and values, in order; decodeReport of arbitrary
// bytes never panics.
func FuzzEncodeReport(f *testing.F) {
	f.Add("machine", "cpu", "total", "used", 5.0, "idle", 95.0, []byte{reportValueVersion, 1, 'a', 9, 1, 'v', 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add("a\x00", "r", "u", "", math.NaN(), "x", math.Inf(1), []byte{})
	f.Add("s.x", "r:y", "", "v", -0.0, "w", 1e308, []byte{reportValueVersion, 0x80})
	f.Fuzz(func(t *testing.T, service, resource, unit, a1 string, v1 float64, a2 string, v2 float64, raw []byte) {
		if out, err := decodeReport(raw); err == nil {
			for _, s := range out {
				if len(s.Values) == 0 {
					// walkReportValue refuses an empty attribute list.
					t.Fatalf("decoded a sample without values from %x", raw)
				}
			}
		}
		samples := []model.Sample{
			{Service: service, Resource: resource, Unit: unit, Values: map[string]float64{a1: v1, a2: v2}},
			{Service: "m", Resource: "r", Unit: unit + "2", Values: map[string]float64{a2: v2}},
		}
		rr := EncodeReport(samples)
		var want []model.Sample
		first := ""
		for _, s := range samples {
			if strings.IndexByte(s.Service, 0) >= 0 || strings.IndexByte(s.Resource, 0) >= 0 || checkName("series", s.Key()) != nil {
				continue
			}
			vals := map[string]float64{}
			for k, v := range s.Values {
				if checkName("attribute", k) == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
					vals[k] = v
				}
			}
			if len(vals) > 0 {
				if first == "" {
					first = s.Key()
				}
				sv, rv, uv := SplitSeries(s.Key())
				want = append(want, model.Sample{Service: sv, Resource: rv, Unit: uv, Values: vals})
			}
		}
		if len(want) == 0 {
			if rr.Value != nil || rr.First != "" {
				t.Fatalf("nothing storable, but EncodeReport = %x %q", rr.Value, rr.First)
			}
			return
		}
		if rr.First != first {
			t.Fatalf("first series %q, want %q", rr.First, first)
		}
		got, err := decodeReport(rr.Value)
		if err != nil {
			t.Fatalf("decoding %x: %v", rr.Value, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
	})
}
