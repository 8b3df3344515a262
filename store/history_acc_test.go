package store

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// TestRollupChangingAttributes: the open minute of a series keeps one
// layout of attributes (its shape) and a count per series; samples that do
// not give every attribute a value (a missing attribute, NaN, a bad name),
// attributes that appear or disappear in the middle of a minute, and shapes
// that change between minutes must still give every attribute exactly its
// own min, avg, max and count, in memory (History overlays the open minute)
// and once stored.
func TestRollupChangingAttributes(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	type step struct {
		sec  int // seconds after the hour's start (minutes change at 60, 120...)
		vals map[string]float64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"same attributes", []step{
			{0, map[string]float64{"a": 1, "b": 2}}, {10, map[string]float64{"a": 3, "b": -2}}, {70, map[string]float64{"a": 5, "b": 7}},
		}},
		{"attribute missing in one sample", []step{
			{0, map[string]float64{"a": 1, "b": 2}}, {10, map[string]float64{"a": 3}}, {20, map[string]float64{"a": 4, "b": 8}},
			{61, map[string]float64{"a": 9, "b": 1}},
		}},
		{"NaN and infinity skipped", []step{
			{0, map[string]float64{"a": nan, "b": 2}}, {10, map[string]float64{"a": 3, "b": inf}}, {20, map[string]float64{"a": 4, "b": 8}},
			{30, map[string]float64{"a": nan, "b": nan}},
		}},
		{"attribute appears mid-minute", []step{
			{0, map[string]float64{"a": 1}}, {10, map[string]float64{"a": 2, "c": 5}}, {20, map[string]float64{"a": 3, "c": 1}},
			{65, map[string]float64{"a": 4, "c": 2}},
		}},
		{"attribute replaced mid-minute", []step{
			{0, map[string]float64{"a": 1, "b": 1}}, {10, map[string]float64{"a": 2, "c": 5}}, {20, map[string]float64{"b": 4, "c": 6}},
			{30, map[string]float64{"a": 8, "b": 2, "c": 9}}, {90, map[string]float64{"c": 3}}, {100, map[string]float64{"d": 3}},
		}},
		{"first sample partial", []step{
			{0, map[string]float64{"a": nan, "b": 4}}, {1, map[string]float64{"a": 6, "b": 5}},
		}},
		{"bad attribute name", []step{
			{0, map[string]float64{"a": 1, "x\x00y": 4}}, {1, map[string]float64{"a": 6, "x\x00y": 5}}, {2, map[string]float64{"a": 2}},
		}},
		{"no values", []step{
			{0, map[string]float64{}}, {5, nil}, {6, map[string]float64{"a": 6}}, {70, nil}, {80, map[string]float64{"a": 1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := hourStart()
			clk := &clock{t: base}
			dir := t.TempDir()
			s := openTest(t, dir, Options{Now: clk.now})
			want := map[string]map[time.Time]float64{} // attribute -> time -> value
			for _, st := range tt.steps {
				at := base.Add(time.Duration(st.sec) * time.Second)
				clk.t = at
				smp := model.Sample{Service: "machine", Resource: "cpu", Unit: "all", Values: st.vals}
				if err := s.AddSamples("h", at, []model.Sample{smp}); err != nil {
					t.Fatal(err)
				}
				for a, v := range st.vals {
					if math.IsNaN(v) || math.IsInf(v, 0) || checkName("attribute", a) != nil {
						continue
					}
					if want[a] == nil {
						want[a] = map[time.Time]float64{}
					}
					want[a][at] = v
				}
			}
			clk.t = base.Add(59 * time.Minute)
			check := func(when string) {
				t.Helper()
				for a, vals := range want {
					for _, w := range []time.Duration{time.Minute, time.Hour} {
						got, err := s.History("h", "machine.cpu:all", a, base, clk.t, w)
						if err != nil {
							t.Fatal(err)
						}
						checkPoints(t, fmt.Sprintf("%s: %s %v", when, a, w), got, expect(vals, w))
					}
				}
			}
			check("open minute in memory")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, Options{Now: clk.now})
			check("stored")
			if n := rawKeys(t, s, "h"); n[resMinuteSeries] == 0 && len(want) > 0 {
				t.Fatalf("nothing stored: %v", n)
			}
		})
	}
}

// TestSeriesAccLayout checks the in-memory layout: the series' names are
// the shared shape of its samples (not per-host copies), a series whose
// samples carry every attribute keeps no counts, and a minute that closes
// goes back to the shape of the next sample.
func TestSeriesAccLayout(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	add := func(sec int, vals map[string]float64) *seriesAcc {
		t.Helper()
		at := base.Add(time.Duration(sec) * time.Second)
		if err := s.AddSamples("h", at, []model.Sample{{Service: "m", Resource: "r", Unit: "u", Values: vals}}); err != nil {
			t.Fatal(err)
		}
		hh := s.hist.host("h", false)
		sa, _ := hh.find("m.r:u", "a")
		if sa == nil {
			t.Fatal("series not in memory")
		}
		return sa
	}
	tests := []struct {
		sec     int
		vals    map[string]float64
		names   []string
		counted bool
		n       int32
	}{
		{0, map[string]float64{"a": 1, "b": 2}, []string{"a", "b"}, false, 1},
		{1, map[string]float64{"a": 1, "b": 2}, []string{"a", "b"}, false, 2},
		{2, map[string]float64{"a": 1}, []string{"a", "b"}, true, 3},
		{3, map[string]float64{"a": 1, "c": 3}, []string{"a", "b", "c"}, true, 4},
		{60, map[string]float64{"a": 1, "c": 3}, []string{"a", "c"}, false, 1},
		{61, map[string]float64{"a": math.NaN(), "c": 3}, []string{"a", "c"}, true, 2},
		{120, map[string]float64{"a": 4, "c": 3}, []string{"a", "c"}, false, 1},
	}
	for _, tt := range tests {
		sa := add(tt.sec, tt.vals)
		if fmt.Sprint(sa.shape.Names) != fmt.Sprint(tt.names) || sa.counted() != tt.counted || sa.n != tt.n {
			t.Fatalf("after the sample at %ds: names %v counted %v n %d, want %v %v %d",
				tt.sec, sa.shape.Names, sa.counted(), sa.n, tt.names, tt.counted, tt.n)
		}
		if want := model.ShapeOf(model.Sample{Service: "m", Resource: "r", Unit: "u", Values: tt.vals}); !tt.counted && sa.shape != want {
			t.Fatalf("after the sample at %ds: the series' shape is not the shared one", tt.sec)
		}
	}
}

// TestRollupSeriesDropped: a series that stops reporting is written and
// dropped by FlushHistory; the blocks of the other series move in the
// host's packed slice and must keep their open minutes intact.
func TestRollupSeriesDropped(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base}
	dir := t.TempDir()
	s := openTest(t, dir, Options{Now: clk.now})
	want := map[string]map[time.Time]float64{} // series/attr -> time -> value
	add := func(sec int, units ...string) {
		t.Helper()
		at := base.Add(time.Duration(sec) * time.Second)
		clk.t = at
		var smps []model.Sample
		for i, u := range units {
			vals := map[string]float64{}
			for j, a := range []string{"a", "b", "c"}[:i+1] { // a different number of attributes per series
				v := float64(sec*10 + j + i)
				vals[a] = v
				key := "m.r:" + u + "/" + a
				if want[key] == nil {
					want[key] = map[time.Time]float64{}
				}
				want[key][at] = v
			}
			smps = append(smps, model.Sample{Service: "m", Resource: "r", Unit: u, Values: vals})
		}
		if err := s.AddSamples("h", at, smps); err != nil {
			t.Fatal(err)
		}
	}
	packed := func(wantSeries int) {
		t.Helper()
		hh := s.hist.host("h", false)
		hh.mu.Lock()
		defer hh.mu.Unlock()
		n := 0
		for i := range hh.series {
			n += hh.series[i].blockLen()
		}
		if len(hh.series) != wantSeries || len(hh.vals) != n || cap(hh.vals) != n {
			t.Fatalf("%d series with blocks of %d values in a slice of %d (cap %d), want %d series, exactly packed",
				len(hh.series), n, len(hh.vals), cap(hh.vals), wantSeries)
		}
	}
	add(0, "x", "y", "z")
	add(10, "x", "y", "z")
	packed(3)
	add(70, "x", "", "z") // y stops; a series with an empty unit starts
	add(80, "x", "z")
	clk.t = base.Add(time.Minute + flushGrace + time.Second)
	if err := s.FlushHistory(); err != nil {
		t.Fatal(err)
	}
	packed(3) // x, "", z: y's minute closed and it was dropped
	add(95, "x", "", "z")
	clk.t = base.Add(59 * time.Minute)
	check := func(when string) {
		t.Helper()
		for key, vals := range want {
			series, attr, _ := strings.Cut(key, "/")
			got, err := s.History("h", series, attr, base, clk.t, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			checkPoints(t, fmt.Sprintf("%s: %s", when, key), got, expect(vals, time.Minute))
		}
	}
	check("open minutes in memory")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{Now: clk.now})
	check("stored")
}
