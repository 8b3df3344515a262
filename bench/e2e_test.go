package bench

import (
	"context"
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
	res, err := Run(ctx, Options{Binary: bin, Agents: 20, Engines: 2, Interval: 100 * time.Millisecond,
		Duration: 3 * time.Second, Crossings: 10, Log: quiet()})
	if err != nil {
		t.Fatal(err)
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
