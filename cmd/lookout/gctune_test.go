package main

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuneAgentGC checks that the agent's GOGC default applies only when
// GOGC is not set in the environment.
func TestTuneAgentGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	procs := runtime.GOMAXPROCS(0) // tuneAgentGC also sets the agent's GOMAXPROCS
	t.Cleanup(func() { runtime.GOMAXPROCS(procs) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		env     string // "" = unset
		runtime int    // GC percent in force before (what the runtime took from GOGC)
		want    int
	}{
		{"unset", "", 100, agentGCPercent},
		{"explicit", "70", 70, 70},
		{"explicit off", "off", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env == "" {
				t.Setenv("GOGC", "") // restores the original value afterwards
				os.Unsetenv("GOGC")
			} else {
				t.Setenv("GOGC", tt.env)
			}
			debug.SetGCPercent(tt.runtime)
			if got := tuneAgentGC(log); got != tt.want {
				t.Errorf("tuneAgentGC() = %d, want %d", got, tt.want)
			}
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("GC percent in force = %d, want %d", got, tt.want)
			}
		})
	}
}
