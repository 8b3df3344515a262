package gctune

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/lookout-mon/lookout/internal/testutil"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestGCPercent: the default applies only when GOGC is not set in the
// environment; an explicit GOGC (what the runtime took from it) stays.
func TestGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	tests := []struct {
		name    string
		env     string // "" = unset
		runtime int    // GC percent in force before (what the runtime took from GOGC)
		def     int
		want    int
	}{
		{"unset, agent default", "", 100, 25, 25},
		{"unset, master default", "", 100, 50, 50},
		{"explicit", "200", 200, 50, 200},
		{"explicit low", "70", 70, 25, 70},
		{"explicit off", "off", -1, 50, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.SetEnv(t, "GOGC", tt.env)
			debug.SetGCPercent(tt.runtime)
			if got := GCPercent(quiet, "test", tt.def); got != tt.want {
				t.Errorf("GCPercent() = %d, want %d", got, tt.want)
			}
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("GC percent in force = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestMaxProcs: the default applies only when GOMAXPROCS is not set in the
// environment.
func TestMaxProcs(t *testing.T) {
	orig := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(orig) })
	tests := []struct {
		name    string
		env     string // "" = unset
		runtime int    // GOMAXPROCS in force before (what the runtime took from the env)
		def     int
		want    int
	}{
		{"unset", "", 3, 1, 1},
		{"explicit", "2", 2, 1, 2},
		{"explicit many", "5", 5, 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.SetEnv(t, "GOMAXPROCS", tt.env)
			runtime.GOMAXPROCS(tt.runtime)
			if got := MaxProcs(quiet, "test", tt.def); got != tt.want {
				t.Errorf("MaxProcs() = %d, want %d", got, tt.want)
			}
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Errorf("GOMAXPROCS in force = %d, want %d", got, tt.want)
			}
		})
	}
}
