package store

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// hourStart is a recent whole hour, so badger's real-time expiry keeps
// everything the tests write (expiry is computed from the points' times).
func hourStart() time.Time { return time.Now().Truncate(time.Hour).Add(-time.Hour) }

func cpu(v float64) []model.Sample {
	return []model.Sample{{Service: "machine", Resource: "cpu", Unit: "all", Values: map[string]float64{"used": v, "idle": 100 - v}}}
}

// expect computes, independently of the store, the rollup points of vals
// (time -> value) in buckets of width.
func expect(vals map[time.Time]float64, width time.Duration) map[int64]Point {
	out := map[int64]Point{}
	for t, v := range vals {
		k := t.Truncate(width).UnixNano()
		p, ok := out[k]
		if !ok {
			p = Point{T: time.Unix(0, k), Min: v, Max: v}
		}
		p.Min = math.Min(p.Min, v)
		p.Max = math.Max(p.Max, v)
		p.Avg += v // sum for now
		p.N++
		out[k] = p
	}
	for k, p := range out {
		p.Avg /= float64(p.N)
		out[k] = p
	}
	return out
}

func checkPoints(t *testing.T, what string, got []Point, want map[int64]Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d: %+v", what, len(got), len(want), got)
	}
	for i, p := range got {
		if i > 0 && !p.T.After(got[i-1].T) {
			t.Fatalf("%s: points out of order at %d: %v after %v", what, i, p.T, got[i-1].T)
		}
		w, ok := want[p.T.UnixNano()]
		if !ok {
			t.Fatalf("%s: unexpected point at %v", what, p.T)
		}
		if p.N != w.N || p.Min != w.Min || p.Max != w.Max || math.Abs(p.Avg-w.Avg) > 1e-9 {
			t.Fatalf("%s: point at %v = %+v, want %+v", what, p.T, p, w)
		}
	}
}

func TestHistoryRawAndRollups(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	vals := map[time.Time]float64{}
	// 90 minutes, a value every 20 s, crossing an hour boundary.
	for i := 0; i < 90*3; i++ {
		ts := base.Add(time.Duration(i) * 20 * time.Second)
		v := float64((i * 37) % 101)
		vals[ts] = v
		clk.t = ts
		if err := s.AddSamples("web1", ts, cpu(v)); err != nil {
			t.Fatal(err)
		}
	}
	clk.t = base.Add(90 * time.Minute)
	from, to := base, clk.t

	raw, err := s.History("web1", "machine.cpu:all", "used", from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkPoints(t, "raw", raw, expect(vals, 20*time.Second))

	tests := []struct {
		name  string
		step  time.Duration
		width time.Duration
	}{
		{"1m rollups", time.Minute, time.Minute},
		{"1m rollups downsampled to 5m", 5 * time.Minute, 5 * time.Minute},
		{"raw downsampled to 40s", 40 * time.Second, 40 * time.Second},
		{"1h rollups", time.Hour, time.Hour},
		{"1h rollups downsampled to 2h", 2 * time.Hour, 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.History("web1", "machine.cpu:all", "used", from, to, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			// Epoch-aligned buckets: 2h buckets may start before base.
			checkPoints(t, tc.name, got, expect(vals, tc.width))
		})
	}

	// The other attribute is its own series.
	idle, err := s.History("web1", "machine.cpu:all", "idle", from, to, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	idleVals := map[time.Time]float64{}
	for ts, v := range vals {
		idleVals[ts] = 100 - v
	}
	checkPoints(t, "idle", idle, expect(idleVals, time.Hour))

	// Unknown series: empty, no error.
	if got, err := s.History("web2", "machine.cpu:all", "used", from, to, 0); err != nil || len(got) != 0 {
		t.Fatalf("unknown host: %v, %v", got, err)
	}

	// After a restart the rollups (flushed on Close) are the same.
	before, _ := s.History("web1", "machine.cpu:all", "used", from, to, time.Minute)
	dir := s.Dir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{Now: clk.now})
	after, err := s.History("web1", "machine.cpu:all", "used", from, to, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pointsUTC(before), pointsUTC(after)) {
		t.Fatalf("1m rollups changed over restart:\nbefore %+v\nafter  %+v", before, after)
	}
}

func pointsUTC(p []Point) []Point {
	out := make([]Point, len(p))
	for i, q := range p {
		q.T = q.T.UTC()
		out[i] = q
	}
	return out
}

func TestHistoryResolutionChoice(t *testing.T) {
	// Raw points expire by the wall clock: they must be recent.
	base := time.Now().Add(-31 * time.Minute).Truncate(time.Minute)
	clk := &clock{t: base}
	s := openTest(t, t.TempDir(), Options{Now: clk.now, RawRetention: 10 * time.Minute})
	for i := 0; i < 30*6; i++ { // 30 minutes, every 10 s
		clk.t = base.Add(time.Duration(i) * 10 * time.Second)
		if err := s.AddSamples("h", clk.t, cpu(float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	now := clk.t
	tests := []struct {
		name  string
		from  time.Time
		step  time.Duration
		width time.Duration // expected spacing of points
		n     int           // values per point
	}{
		{"within raw retention, native", now.Add(-5 * time.Minute), 0, 10 * time.Second, 1},
		{"within raw retention, 30s step", now.Add(-5 * time.Minute), 30 * time.Second, 30 * time.Second, 3},
		{"beyond raw retention falls back to 1m", now.Add(-20 * time.Minute), 0, time.Minute, 6},
		{"step of a minute uses 1m", now.Add(-5 * time.Minute), time.Minute, time.Minute, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pts, err := s.History("h", "machine.cpu:all", "used", tc.from, now, tc.step)
			if err != nil {
				t.Fatal(err)
			}
			if len(pts) < 2 {
				t.Fatalf("%d points", len(pts))
			}
			for i, p := range pts {
				if i > 0 {
					if d := p.T.Sub(pts[i-1].T); d != tc.width {
						t.Fatalf("spacing %v at %d, want %v", d, i, tc.width)
					}
				}
				// The first and last buckets may be partial.
				if i > 0 && i < len(pts)-1 && p.N != tc.n {
					t.Fatalf("point %d has N=%d, want %d: %+v", i, p.N, tc.n, p)
				}
			}
		})
	}
	// The raw retention counts from the point's own time, by the store's
	// clock: a point written when it is fresh is gone once it is older
	// than the retention (10m here), though its hour rollup stays.
	old := base.Add(-3 * time.Hour)
	clk.t = old.Add(time.Minute)
	if err := s.AddSamples("old", old, cpu(1)); err != nil {
		t.Fatal(err)
	}
	pts, err := s.History("old", "machine.cpu:all", "used", old, old.Add(time.Minute), 0)
	if err != nil || len(pts) != 1 {
		t.Fatalf("fresh raw point = %+v, %v; want it", pts, err)
	}
	clk.t = old.Add(11 * time.Minute)
	n := 0
	if err := s.Reports("old", 0, func(int64, []model.Sample) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("raw reports past their retention: %d, %v; want none", n, err)
	}
	clk.t = base
	// Its hour rollup is kept (30d).
	pts, err = s.History("old", "machine.cpu:all", "used", old, old.Add(time.Minute), time.Hour)
	if err != nil || len(pts) != 1 || pts[0].N != 1 {
		t.Fatalf("hour rollup of old point = %+v, %v", pts, err)
	}
}

func TestHistoryLateAndRestartedBuckets(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base}
	dir := t.TempDir()
	s := openTest(t, dir, Options{Now: clk.now})
	add := func(s *Store, off time.Duration, v float64) {
		t.Helper()
		clk.t = base.Add(off)
		if err := s.AddSamples("h", clk.t, cpu(v)); err != nil {
			t.Fatal(err)
		}
	}
	add(s, 5*time.Minute, 10)
	add(s, 5*time.Minute+30*time.Second, 20)
	add(s, 6*time.Minute, 30)                // closes minute 5
	add(s, 5*time.Minute+45*time.Second, 60) // late: merged into stored minute 5
	if err := s.Close(); err != nil {        // open minute 6 and hour written
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{Now: clk.now})
	add(s, 6*time.Minute+10*time.Second, 50) // continues the stored minute 6 and hour

	got, err := s.History("h", "machine.cpu:all", "used", base, base.Add(time.Hour), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{
		{T: base.Add(5 * time.Minute), Min: 10, Avg: 30, Max: 60, N: 3},
		{T: base.Add(6 * time.Minute), Min: 30, Avg: 40, Max: 50, N: 2},
	}
	if !reflect.DeepEqual(pointsUTC(got), pointsUTC(want)) {
		t.Fatalf("1m after late point and restart:\n got %+v\nwant %+v", got, want)
	}
	hour, err := s.History("h", "machine.cpu:all", "used", base, base.Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantH := []Point{{T: base, Min: 10, Avg: 34, Max: 60, N: 5}}
	if !reflect.DeepEqual(pointsUTC(hour), pointsUTC(wantH)) {
		t.Fatalf("1h after late point and restart:\n got %+v\nwant %+v", hour, wantH)
	}
}

func TestFlushHistoryForgetsClosedBuckets(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	if err := s.AddSamples("h", base, cpu(7)); err != nil {
		t.Fatal(err)
	}
	// A minute within its grace period stays in memory, unwritten.
	clk.t = base.Add(time.Minute)
	if err := s.FlushHistory(); err != nil {
		t.Fatal(err)
	}
	if hh := s.hist.host("h", false); hh == nil || hh.attrCount() != 2 {
		t.Fatalf("open minute not kept in memory: %+v", hh)
	} else if _, a := hh.find("machine.cpu:all", "used"); a == nil || a.n != 1 {
		t.Fatalf("open minute of used = %+v", a)
	}
	if n := rawKeys(t, s, "h"); n[resMinuteSeries] != 0 || n[resHourSeries] != 0 {
		t.Fatalf("open minute written before it closed: %v", n)
	}
	clk.t = base.Add(time.Minute + flushGrace)
	if err := s.FlushHistory(); err != nil {
		t.Fatal(err)
	}
	if hh := s.hist.host("h", false); hh == nil || hh.attrCount() != 0 || len(hh.series) != 0 {
		t.Fatalf("closed minute still held in memory: %+v", hh)
	}
	if n := rawKeys(t, s, "h"); n[resMinuteSeries] != 1 || n[resHourSeries] != 1 || n[resMinute] != 0 || n[resHour] != 0 {
		t.Fatalf("closed minute not written to one 1m and one 1h key (2 attributes, 1 series): %v", n)
	}
	clk.t = base.Add(time.Hour)
	got, err := s.History("h", "machine.cpu:all", "used", base, base, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].N != 1 || got[0].Avg != 7 {
		t.Fatalf("flushed hour = %+v", got)
	}
}

func TestHistoryInputChecks(t *testing.T) {
	base := hourStart()
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return base }})
	bad := []model.Sample{
		{Service: "machine", Resource: "cpu", Unit: "a\x00b", Values: map[string]float64{"used": 1}},
		{Service: "machine", Resource: "cpu", Unit: "all", Values: map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "": 3, "ok": 4}},
	}
	if err := s.AddSamples("h", base, bad); err != nil {
		t.Fatal(err)
	}
	if pts, _ := s.History("h", "machine.cpu:all", "ok", base, base, 0); len(pts) != 1 || pts[0].Avg != 4 {
		t.Fatalf("good value next to bad ones: %+v", pts)
	}
	if pts, _ := s.History("h", "machine.cpu:all", "nan", base, base, 0); len(pts) != 0 {
		t.Fatalf("NaN stored: %+v", pts)
	}
	for _, host := range []string{"", "a\x00b"} {
		if err := s.AddSamples(host, base, cpu(1)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("AddSamples(host %q) = %v, want ErrInvalidKey", host, err)
		}
	}
	if _, err := s.History("h", "machine.cpu:all", "ok", base, base.Add(-time.Second), 0); err == nil {
		t.Error("History with to < from succeeded")
	}
	if _, err := s.History("h", "machine.cpu:all", "ok", base, base, -time.Second); err == nil {
		t.Error("History with negative step succeeded")
	}
}

func TestDownsample(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	tests := []struct {
		name string
		in   []Point
		step time.Duration
		want []Point
	}{
		{"empty", nil, time.Minute, nil},
		{"zero step keeps", []Point{{T: at(1), Min: 1, Avg: 1, Max: 1, N: 1}}, 0, []Point{{T: at(1), Min: 1, Avg: 1, Max: 1, N: 1}}},
		{"weighted average", []Point{
			{T: at(0), Min: 1, Avg: 2, Max: 3, N: 1},
			{T: at(30), Min: 0, Avg: 5, Max: 9, N: 3},
			{T: at(60), Min: 4, Avg: 4, Max: 4, N: 1},
		}, time.Minute, []Point{
			{T: at(0), Min: 0, Avg: 4.25, Max: 9, N: 4},
			{T: at(60), Min: 4, Avg: 4, Max: 4, N: 1},
		}},
		{"aligned to epoch", []Point{{T: at(70), Min: 1, Avg: 1, Max: 1, N: 1}, {T: at(110), Min: 3, Avg: 3, Max: 3, N: 1}}, time.Minute,
			[]Point{{T: at(60), Min: 1, Avg: 2, Max: 3, N: 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := downsample(tc.in, tc.step)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHistKeyRoundTrip(t *testing.T) {
	tests := []histKeyParts{
		{resRaw, "web1", "machine.disk:/dev/sda1", "used_percentage", 1700000000123456789},
		{resMinute, "h", "port.port:sshd (22)", "up", -5},
		{resHour, "x", "s", "a", 0},
	}
	for _, want := range tests {
		k := histKey(want.Res, want.Host, want.Series, want.Attr, want.T)
		got, err := parseHistKey(k)
		if err != nil || got != want {
			t.Errorf("parse(histKey(%+v)) = %+v, %v", want, got, err)
		}
	}
	// Keys sort by time, including across zero.
	a := histKey(resRaw, "h", "s", "a", -1)
	b := histKey(resRaw, "h", "s", "a", 1)
	if string(a) >= string(b) {
		t.Error("key of t=-1 does not sort before t=1")
	}
}
