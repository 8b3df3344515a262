package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/internal/testutil"
)

// buildLookout builds cmd/lookout into a temp dir (the build cache makes
// this quick after the first time).
func buildLookout(t *testing.T) string {
	t.Helper()
	bin, cleanup, err := testutil.BuildLookout(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return bin
}

// TestRunEndToEnd runs a small bench against a real `lookout master`
// process and a real agent child process.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the lookout binary and starts processes")
	}
	bin := buildLookout(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var series bytes.Buffer
	res, err := Run(ctx, Options{Binary: bin, Agents: 20, Engines: 2, Interval: 100 * time.Millisecond,
		Duration: 3 * time.Second, Crossings: 10, Log: quiet(), Series: &series, Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	// --series: a line per second of load; --keep: the master's directory
	// stays, with its log.
	if lines := strings.Count(series.String(), "\n"); lines < 2 || !strings.Contains(series.String(), "acked=") {
		t.Errorf("series output (%d lines): %q", lines, series.String())
	}
	if res.KeptDir == "" {
		t.Error("Keep set, no KeptDir")
	} else {
		if _, err := os.Stat(filepath.Join(res.KeptDir, "master.log")); err != nil {
			t.Errorf("kept directory has no master log: %v", err)
		}
		os.RemoveAll(res.KeptDir)
	}
	if res.Acked == 0 || res.UnackedAtEnd != 0 || res.Rejects != 0 {
		t.Fatalf("acked %d, unacked at end %d, rejects %d", res.Acked, res.UnackedAtEnd, res.Rejects)
	}
	if res.Requested == 0 || len(res.Latencies) != res.Requested {
		t.Fatalf("%d crossings, %d latencies", res.Requested, len(res.Latencies))
	}
	if res.Notifications["ALARM"] != res.Requested {
		t.Fatalf("webhook ALARMs %d, crossings %d (all: %v)", res.Notifications["ALARM"], res.Requested, res.Notifications)
	}
	if res.RSSIdle <= 0 || res.RSSLoad <= 0 || res.MasterCPUPerReport <= 0 {
		t.Fatalf("no process figures: %+v", res)
	}
	a, err := AgentFootprint(ctx, AgentOptions{Binary: bin, Cycles: 20, Interval: 20 * time.Millisecond, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if a.Cycles < 20 || a.RSSIdle <= 0 || a.RSSAfter <= 0 || a.BytesPerReport <= 0 || a.ReportsPerCycle < 1 {
		t.Fatalf("agent footprint %+v", a)
	}
}
