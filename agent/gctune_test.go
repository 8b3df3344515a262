package agent

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuneDefaults: with GOGC and GOMAXPROCS unset, a standalone agent runs
// at GCPercent and Procs (internal/gctune tests that explicit environment
// values win).
func TestTuneDefaults(t *testing.T) {
	origGC := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(origGC) })
	origProcs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(origProcs) })
	for _, name := range []string{"GOGC", "GOMAXPROCS"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if got := TuneGC(log); got != GCPercent || debug.SetGCPercent(100) != GCPercent {
		t.Errorf("TuneGC() = %d, want %d in force", got, GCPercent)
	}
	if got := TuneProcs(log); got != Procs || runtime.GOMAXPROCS(0) != Procs {
		t.Errorf("TuneProcs() = %d, want %d in force", got, Procs)
	}
}
