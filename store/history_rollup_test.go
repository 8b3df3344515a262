package store

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rollupSeries is the series the rollup tests write (cpu's "used").
const rollupSeries = "machine.cpu:all"

// checkHourIsMinutes checks the rollup invariant for host's "used" in the
// hour starting at hour: the stored 1h point is exactly the merge of the
// stored 1m points of that hour (so no minute is counted twice or left out
// of its hour), and returns that point.
func checkHourIsMinutes(t *testing.T, s *Store, host string, hour time.Time) Point {
	t.Helper()
	mins, err := s.History(host, rollupSeries, "used", hour, hour.Add(time.Hour-time.Nanosecond), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var want Point
	for _, p := range mins {
		want.merge(p)
	}
	hs, err := s.History(host, rollupSeries, "used", hour, hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(mins) == 0 {
		if len(hs) != 0 {
			t.Fatalf("hour %v = %+v without any minute", hour, hs)
		}
		return Point{}
	}
	if len(hs) != 1 {
		t.Fatalf("hour %v: %d points, want 1 (minutes %+v)", hour, len(hs), mins)
	}
	got := hs[0]
	if got.N != want.N || got.Min != want.Min || got.Max != want.Max || math.Abs(got.Avg-want.Avg) > 1e-9 {
		t.Fatalf("hour %v = %+v, want the merge of its %d minutes %+v", hour, got, len(mins), want)
	}
	return got
}

// TestRollupRestartMidHour: points across several minutes and two hours,
// with a clean restart (Close and reopen of the same badger dir) in the
// middle of a minute, twice in the same minute, and right after a minute
// closed. Every 1m and 1h rollup must equal what the points give, counted
// once, and be unchanged by a final restart.
func TestRollupRestartMidHour(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base}
	dir := t.TempDir()
	s := openTest(t, dir, Options{Now: clk.now})
	vals := map[time.Time]float64{}
	restartAt := map[int]bool{7: true, 8: true, 12: true, 30: true, 31: true, 58: true}
	// Every 20 s from 40 minutes into the hour to 20 minutes into the next.
	for i := 0; i < 40*3; i++ {
		ts := base.Add(40*time.Minute + time.Duration(i)*20*time.Second)
		v := float64((i*53)%97) - 10
		clk.t = ts
		if err := s.AddSamples("h", ts, cpu(v)); err != nil {
			t.Fatal(err)
		}
		vals[ts] = v
		if restartAt[i] {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, Options{Now: clk.now})
		}
	}
	check := func(s *Store) {
		t.Helper()
		from, to := base, base.Add(2*time.Hour-time.Nanosecond)
		for _, w := range []time.Duration{time.Minute, time.Hour} {
			got, err := s.History("h", rollupSeries, "used", from, to, w)
			if err != nil {
				t.Fatal(err)
			}
			checkPoints(t, fmt.Sprintf("%v rollups", w), got, expect(vals, w))
		}
		checkHourIsMinutes(t, s, "h", base)
		checkHourIsMinutes(t, s, "h", base.Add(time.Hour))
	}
	check(s) // the last minute is open, in memory
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{Now: clk.now})
	check(s) // everything stored
	if hh := s.hist.host("h", false); hh != nil && hh.attrCount() != 0 {
		t.Fatalf("a fresh store holds %d accumulators", hh.attrCount())
	}
}

// TestRollupLatePoints: a point older than the open minute goes straight
// into the stored 1m and 1h rollups of its minute, including an hour that
// already ended, and is counted once.
func TestRollupLatePoints(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	vals := map[time.Time]float64{}
	add := func(off time.Duration, v float64) {
		t.Helper()
		ts := base.Add(off)
		clk.t = ts
		if err := s.AddSamples("h", ts, cpu(v)); err != nil {
			t.Fatal(err)
		}
		vals[ts] = v
	}
	add(58*time.Minute, 1)
	add(59*time.Minute, 2)
	add(61*time.Minute, 3)                // next hour: minute 59 written
	add(59*time.Minute+10*time.Second, 4) // late, minute 59 of the ended hour
	add(30*time.Minute, 5)                // late, a minute never written before
	add(61*time.Minute+30*time.Second, 6) // the open minute again
	add(60*time.Minute+59*time.Second, 7) // late, the minute before the open one
	add(58*time.Minute+500*time.Millisecond, 8)
	idle := map[time.Time]float64{}
	for ts, v := range vals {
		idle[ts] = 100 - v
	}
	for a, vals := range map[string]map[time.Time]float64{"used": vals, "idle": idle} {
		for _, w := range []time.Duration{time.Minute, time.Hour} {
			got, err := s.History("h", rollupSeries, a, base, base.Add(2*time.Hour-time.Nanosecond), w)
			if err != nil {
				t.Fatal(err)
			}
			checkPoints(t, fmt.Sprintf("%s %v rollups", a, w), got, expect(vals, w))
		}
	}
	checkHourIsMinutes(t, s, "h", base)
	checkHourIsMinutes(t, s, "h", base.Add(time.Hour))
}

// TestHelperRollupWriter is the child of TestRollupKill9: it adds one cpu
// point per second of store time from the base hour given in the
// environment, as many as it says, prints "acked <i>" after each returned
// AddSamples and then waits to be killed.
func TestHelperRollupWriter(t *testing.T) {
	dir := os.Getenv("LOOKOUT_ROLLUP_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestRollupKill9")
	}
	baseNS, err := strconv.ParseInt(os.Getenv("LOOKOUT_ROLLUP_HELPER_BASE"), 10, 64)
	if err != nil {
		fmt.Println("bad base:", err)
		os.Exit(3)
	}
	base := time.Unix(0, baseNS)
	clk := &clock{t: base}
	s, err := Open(dir, Options{Logger: quietLogger(), Now: clk.now})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(3)
	}
	n, err := strconv.Atoi(os.Getenv("LOOKOUT_ROLLUP_HELPER_N"))
	if err != nil {
		fmt.Println("bad count:", err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; i < n; i++ {
		clk.t = base.Add(time.Duration(i) * time.Second)
		if err := s.AddSamples("k", clk.t, cpu(float64(i%100))); err != nil {
			fmt.Println("add failed:", err)
			os.Exit(3)
		}
		fmt.Fprintf(w, "acked %d\n", i)
		w.Flush()
	}
	// Wait to be killed, with the last minute still open in memory.
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestRollupKill9 kills a writer with SIGKILL in the middle of a minute and
// of an hour, reopens its badger dir and checks that every point of the
// minutes that closed before the kill is in both its 1m and its 1h rollup,
// that the open minute's points are in neither (lost, not half counted),
// and that after more points in the same hour and the next, and a clean
// restart, each hour is still exactly the merge of its minutes.
func TestRollupKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	base := hourStart().Add(-time.Hour)
	dir := t.TempDir()
	// The child stops at point 1234 (minute 20, second 34): 20 closed
	// minutes of 60 points and 35 points of the open minute.
	const last = 1234
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRollupWriter$")
	cmd.Env = append(os.Environ(), "LOOKOUT_ROLLUP_HELPER_DIR="+dir,
		"LOOKOUT_ROLLUP_HELPER_BASE="+strconv.FormatInt(base.UnixNano(), 10),
		"LOOKOUT_ROLLUP_HELPER_N="+strconv.Itoa(last+1))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(out)
	got := -1
	for got < last && sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "acked ")
		if !ok {
			t.Fatalf("child said %q", sc.Text())
		}
		if got, err = strconv.Atoi(n); err != nil {
			t.Fatal(err)
		}
	}
	if got < last {
		t.Fatalf("child stopped after %d points: %v", got, sc.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	cmd.Wait()
	clk := &clock{t: base.Add(last * time.Second)}
	s := openTest(t, dir, Options{Now: clk.now})
	hour := checkHourIsMinutes(t, s, "k", base)
	closedMinutes := (last / 60) * 60
	if hour.N != closedMinutes {
		t.Fatalf("hour after kill -9 holds %d points, want the %d of the closed minutes (the open minute's %d lost, none counted twice)", hour.N, closedMinutes, last+1-closedMinutes)
	}
	mins, err := s.History("k", rollupSeries, "used", base, base.Add(time.Hour-time.Nanosecond), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range mins {
		wantT := base.Add(time.Duration(i) * time.Minute)
		if !p.T.Equal(wantT) || p.N != 60 || p.Min != float64((i*60)%100) && p.Min != 0 {
			t.Fatalf("minute %d after kill -9 = %+v, want a full minute at %v", i, p, wantT)
		}
	}
	// Continue in the same hour (the minute the kill cut, again from its
	// start: its points were lost) and into the next one, then restart.
	stored := hour.N
	added := 0
	for i := stored; i < 3600+120; i += 7 {
		clk.t = base.Add(time.Duration(i) * time.Second)
		if err := s.AddSamples("k", clk.t, cpu(float64(i%100))); err != nil {
			t.Fatal(err)
		}
		if i < 3600 {
			added++
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{Now: clk.now})
	if h := checkHourIsMinutes(t, s, "k", base); h.N != stored+added {
		t.Fatalf("hour after continuing = %d points, want %d stored before + %d added", h.N, stored, added)
	}
	if h := checkHourIsMinutes(t, s, "k", base.Add(time.Hour)); h.N == 0 {
		t.Fatal("the next hour is empty")
	}
}
