package main

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/lookout-mon/lookout/agent"
	"github.com/lookout-mon/lookout/internal/testutil"
)

// TestTuneAgentGC: with GOGC and GOMAXPROCS unset, `lookout agent` runs at
// the agent's GOGC and GOMAXPROCS (internal/gctune tests that explicit
// environment values win).
func TestTuneAgentGC(t *testing.T) {
	testutil.UntunedRuntime(t)
	if got := tuneAgentGC(nil, slog.New(slog.NewTextHandler(io.Discard, nil))); got != agentGCPercent {
		t.Errorf("tuneAgentGC() = %d, want %d", got, agentGCPercent)
	}
	if got := debug.SetGCPercent(100); got != agentGCPercent {
		t.Errorf("GC percent in force = %d, want %d", got, agentGCPercent)
	}
	if got := runtime.GOMAXPROCS(0); got != agent.Procs {
		t.Errorf("GOMAXPROCS in force = %d, want %d", got, agent.Procs)
	}
}
