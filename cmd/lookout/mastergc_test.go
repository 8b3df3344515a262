package main

import (
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"testing"
)

// TestTuneMasterGC: with GOGC unset, `lookout master` runs at
// masterGCPercent (internal/gctune tests that an explicit GOGC wins).
func TestTuneMasterGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	if got := tuneMasterGC(slog.New(slog.NewTextHandler(io.Discard, nil))); got != masterGCPercent {
		t.Errorf("tuneMasterGC() = %d, want %d", got, masterGCPercent)
	}
	if got := debug.SetGCPercent(100); got != masterGCPercent {
		t.Errorf("GC percent in force = %d, want %d", got, masterGCPercent)
	}
}
