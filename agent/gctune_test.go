package agent

import (
	"io"
	"log/slog"
	"os"
	"runtime"
	"testing"
)

// TestTuneProcs checks that the agent's GOMAXPROCS default applies only
// when GOMAXPROCS is not set in the environment.
func TestTuneProcs(t *testing.T) {
	orig := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(orig) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		env     string // "" = unset
		runtime int    // GOMAXPROCS in force before (what the runtime took from the env)
		want    int
	}{
		{"unset", "", 3, Procs},
		{"explicit", "2", 2, 2},
		{"explicit many", "5", 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env == "" {
				t.Setenv("GOMAXPROCS", "") // restores the original value afterwards
				os.Unsetenv("GOMAXPROCS")
			} else {
				t.Setenv("GOMAXPROCS", tt.env)
			}
			runtime.GOMAXPROCS(tt.runtime)
			if got := TuneProcs(log); got != tt.want {
				t.Errorf("TuneProcs() = %d, want %d", got, tt.want)
			}
			if got := runtime.GOMAXPROCS(0); got != tt.want {
				t.Errorf("GOMAXPROCS in force = %d, want %d", got, tt.want)
			}
		})
	}
}
