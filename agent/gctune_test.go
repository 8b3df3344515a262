package agent

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

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
