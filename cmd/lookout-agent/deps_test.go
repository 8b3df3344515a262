package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSlimDeps keeps lookout-agent slim: every package linked in costs
// resident memory (code pages), so the master, store, web UI, notifiers and
// gRPC (dropped from hollywood, Lookout patch 4) must stay out.
func TestSlimDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	forbidden := []string{
		"github.com/lookout-mon/lookout/actors", "github.com/lookout-mon/lookout/store",
		"github.com/lookout-mon/lookout/web", "github.com/lookout-mon/lookout/views",
		"github.com/lookout-mon/lookout/notify", "github.com/lookout-mon/lookout/app",
		"github.com/lookout-mon/lookout/rules", "github.com/dgraph-io/badger",
		"github.com/chromedp", "google.golang.org/grpc", "net/http", "html/template",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f+"/") {
				t.Errorf("lookout-agent links %s", d)
			}
		}
	}
	if len(deps) < 50 {
		t.Fatalf("go list -deps listed only %d packages: %q", len(deps), deps)
	}
}
