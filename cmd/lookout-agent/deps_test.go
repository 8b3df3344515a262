package main

import (
	"os/exec"
	"strings"
	"testing"
)

// SlimTags are the build tags the Makefile builds lookout-agent with.
const SlimTags = "lookout_noproto"

// TestSlimDeps keeps lookout-agent slim: every package linked in costs
// resident memory (code pages), so the master, store, web UI, notifiers and
// gRPC (dropped from hollywood, Lookout patch 4) must stay out, and with
// SlimTags the protobuf runtime too.
func TestSlimDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	forbidden := []string{
		"github.com/lookout-mon/lookout/actors", "github.com/lookout-mon/lookout/store",
		"github.com/lookout-mon/lookout/web", "github.com/lookout-mon/lookout/views",
		"github.com/lookout-mon/lookout/notify", "github.com/lookout-mon/lookout/app",
		"github.com/lookout-mon/lookout/rules", "github.com/dgraph-io/badger",
		"github.com/chromedp", "google.golang.org/grpc", "net/http", "html/template",
		// The process checks read /proc/<pid>/cmdline themselves
		// (agent.procTable): gopsutil's process package also links
		// os/user and more, about 48 KB.
		"github.com/shirou/gopsutil/v4/process", "github.com/shirou/gopsutil/v3",
	}
	// The Makefile builds lookout-agent with SlimTags: without the protobuf
	// runtime (hollywood Lookout patch 6, wire.Any), about 1.5 MB of code
	// and 1.3 MiB of RSS less.
	// The bench child's profiling hooks (agentchild/profile.go) are left
	// out of the slim build too: runtime/pprof and runtime/trace are
	// 0.32 MB of code.
	noProto := append([]string{"google.golang.org/protobuf", "github.com/planetscale/vtprotobuf",
		"runtime/pprof", "runtime/trace", "compress/gzip", "text/tabwriter",
		// The agent's envelopes (hello, welcome, signed and MAC'd reports,
		// acks) have hand codecs (wire/envcodec.go, model/codec.go): the
		// reflection codec was ~100 KB of code and 0.3-0.5 MiB of RSS.
		"github.com/vmihailenco"}, forbidden...)
	tests := []struct {
		name      string
		tags      string
		forbidden []string
	}{
		{"default build", "", forbidden},
		{"slim build", SlimTags, noProto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(goBin, "list", "-deps", "-tags", tt.tags, ".").Output()
			if err != nil {
				t.Fatalf("go list -deps: %v", err)
			}
			deps := strings.Fields(string(out))
			for _, d := range deps {
				for _, f := range tt.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("lookout-agent (tags %q) links %s", tt.tags, d)
					}
				}
			}
			if len(deps) < 50 {
				t.Fatalf("go list -deps listed only %d packages: %q", len(deps), deps)
			}
		})
	}
}
