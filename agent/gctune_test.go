package agent

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/internal/testutil"
)

// TestTuneDefaults: with GOGC and GOMAXPROCS unset, a standalone agent runs
// at GCPercent and Procs (internal/gctune tests that explicit environment
// values win).
func TestTuneDefaults(t *testing.T) {
	testutil.UntunedRuntime(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if got := TuneGC(log); got != GCPercent || debug.SetGCPercent(100) != GCPercent {
		t.Errorf("TuneGC() = %d, want %d in force", got, GCPercent)
	}
	if got := TuneProcs(log); got != Procs || runtime.GOMAXPROCS(0) != Procs {
		t.Errorf("TuneProcs() = %d, want %d in force", got, Procs)
	}
}

// TestReleaseStartup: after start-up garbage is dropped, ReleaseStartup
// returns most of the free heap to the operating system (the scavenger
// alone returns it only gradually).
func TestReleaseStartup(t *testing.T) {
	garbage := make([][]byte, 0, 256)
	for range 256 {
		garbage = append(garbage, make([]byte, 32<<10)) // 8 MiB in all
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ReleaseStartup()
	runtime.ReadMemStats(&after)
	held := func(m *runtime.MemStats) uint64 { return m.HeapIdle - m.HeapReleased }
	// Other goroutines of the test binary may allocate meanwhile, so the
	// bound is relative: most of the 8 MiB must be gone.
	if held(&after) > held(&before)/2 {
		t.Errorf("free heap still held after ReleaseStartup: %d KiB (before: %d KiB)", held(&after)>>10, held(&before)>>10)
	}
	if after.HeapReleased <= before.HeapReleased && held(&before) > 1<<20 {
		t.Errorf("HeapReleased %d -> %d: nothing returned", before.HeapReleased, after.HeapReleased)
	}
}

// forcedGCs returns the number of collections forced by runtime.GC so far.
func forcedGCs() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

var sink [][]byte

// TestGCPacer: once on, the pacer collects when the garbage since the last
// collection passes its bound, not before, and only once at a time; off,
// it never does.
func TestGCPacer(t *testing.T) {
	garbage := func(n int) {
		for range n >> 12 {
			sink = append(sink[:0], make([]byte, 4096))
		}
		sink = nil
	}
	waitForced := func(after uint64) bool {
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
			if forcedGCs() > after {
				return true
			}
		}
		return false
	}
	var p gcPacer
	defer p.close()
	runtime.GC()
	n0 := forcedGCs()
	garbage(8 << 20)
	p.check()
	if forcedGCs() != n0 {
		t.Fatal("a pacer that is off ran a collection")
	}

	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // only the pacer collects from here on
	p.enable(1 << 20)
	runtime.GC()
	n1 := forcedGCs()
	garbage(64 << 10)
	p.check()
	if time.Sleep(50 * time.Millisecond); forcedGCs() != n1 {
		t.Fatalf("collection after 64 KiB of garbage, bound 1 MiB")
	}
	garbage(2 << 20)
	p.check()
	if !waitForced(n1) {
		t.Fatal("no collection after 2 MiB of garbage, bound 1 MiB")
	}
	for p.running.Load() {
		time.Sleep(time.Millisecond)
	}
	// A collection under way is not asked for again.
	p.running.Store(true)
	n2 := forcedGCs()
	garbage(4 << 20)
	p.check()
	if time.Sleep(50 * time.Millisecond); forcedGCs() != n2 {
		t.Fatal("check asked for a second collection while one was under way")
	}
	p.running.Store(false)
}

// TestPaceGCEnvironment: an explicit GOGC or GOMEMLIMIT leaves the
// collections to the runtime.
func TestPaceGCEnvironment(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(env, func(t *testing.T) {
			testutil.UntunedRuntime(t)
			testutil.SetEnv(t, "GOMEMLIMIT", "")
			t.Setenv(env, "100")
			a := &Agent{}
			defer a.gc.close()
			if PaceGC(a, log) || a.gc.limit.Load() != 0 {
				t.Errorf("PaceGC with %s set turned pacing on", env)
			}
		})
	}
	testutil.UntunedRuntime(t)
	testutil.SetEnv(t, "GOMEMLIMIT", "")
	a := &Agent{}
	defer a.gc.close()
	if !PaceGC(a, log) || a.gc.limit.Load() != GCGarbage {
		t.Errorf("PaceGC without GOGC and GOMEMLIMIT: limit %d, want %d", a.gc.limit.Load(), GCGarbage)
	}
}
