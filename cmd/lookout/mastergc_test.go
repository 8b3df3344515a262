package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/lookout-mon/lookout/internal/testutil"
)

// TestTuneMasterGC: with GOGC unset, `lookout master` runs at
// masterGCPercent (internal/gctune tests that an explicit GOGC wins).
func TestTuneMasterGC(t *testing.T) {
	testutil.UntunedRuntime(t)
	if got := tuneMasterGC(slog.New(slog.NewTextHandler(io.Discard, nil))); got != masterGCPercent {
		t.Errorf("tuneMasterGC() = %d, want %d", got, masterGCPercent)
	}
	if got := debug.SetGCPercent(100); got != masterGCPercent {
		t.Errorf("GC percent in force = %d, want %d", got, masterGCPercent)
	}
}
