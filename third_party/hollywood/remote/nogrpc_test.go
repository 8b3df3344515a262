package remote

// Lookout patch 4 regression test: the remote package must not link gRPC
// (its unused generated stubs pulled in grpc, net/http and html/template).

import (
	"os/exec"
	"strings"
	"testing"
)

func TestNoGRPCDependency(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		if d == "google.golang.org/grpc" || strings.HasPrefix(d, "google.golang.org/grpc/") || d == "net/http" {
			t.Errorf("remote links %s", d)
		}
	}
}
