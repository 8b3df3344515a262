package main

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/bench"
)

// TestFootprintChild builds lookout-agent and measures it as `lookout bench
// --agent-bin lookout-agent` does: the slim binary runs the bench child,
// and one collection cycle of all families (one interval) is one report.
func TestFootprintChild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs lookout-agent")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	// The slim build (no protobuf runtime: hand-encoded envelopes and Any)
	// talks to the bench's ingest, a stock hollywood remote with protobuf:
	// hello, welcome, session reports and acks must all get through.
	for _, tags := range []string{"", SlimTags} {
		t.Run("tags="+tags, func(t *testing.T) {
			bin := filepath.Join(t.TempDir(), "lookout-agent")
			if out, err := exec.Command(goBin, "build", "-tags", tags, "-o", bin, ".").CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			res, err := bench.AgentFootprint(ctx, bench.AgentOptions{Binary: bin, Cycles: 20, Interval: 20 * time.Millisecond,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if res.Cycles < 20 || res.RSSIdle <= 0 || res.RSSAfter <= 0 || res.BytesPerReport <= 0 {
				t.Fatalf("footprint %+v", res)
			}
			// Families sharing an interval report together: about one report
			// per cycle (a family slower than the interval now and then sends
			// alone).
			if res.ReportsPerCycle < 1 || res.ReportsPerCycle > 1.5 {
				t.Errorf("%.2f reports per cycle, want about 1 (one combined report per tick)", res.ReportsPerCycle)
			}
		})
	}
}
