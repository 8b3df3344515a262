package main

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/lookout-mon/lookout/agent"
)

// TestTuneAgentGC: with GOGC and GOMAXPROCS unset, `lookout agent` runs at
// the agent's GOGC and GOMAXPROCS (internal/gctune tests that explicit
// environment values win).
func TestTuneAgentGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	for _, name := range []string{"GOGC", "GOMAXPROCS"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	if got := tuneAgentGC(slog.New(slog.NewTextHandler(io.Discard, nil))); got != agentGCPercent {
		t.Errorf("tuneAgentGC() = %d, want %d", got, agentGCPercent)
	}
	if got := debug.SetGCPercent(100); got != agentGCPercent {
		t.Errorf("GC percent in force = %d, want %d", got, agentGCPercent)
	}
	if got := runtime.GOMAXPROCS(0); got != agent.Procs {
		t.Errorf("GOMAXPROCS in force = %d, want %d", got, agent.Procs)
	}
}
