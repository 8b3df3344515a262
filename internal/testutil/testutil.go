// Package testutil holds helpers shared by Lookout's tests (real sockets on
// loopback, never fixed ports: tests of several packages run at once).
package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// FreeAddr returns "127.0.0.1:PORT" for a TCP port that was free a moment
// ago. Tests pass it to servers they start, so packages tested in parallel
// never collide on a fixed port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// FreePort is FreeAddr's port number.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// BuildLookout builds cmd/lookout (with the race detector if race) into a
// new temporary directory and returns the binary's path and a cleanup that
// removes the directory. It is meant for TestMain of packages that start
// real lookout processes; it finds the module root itself.
func BuildLookout(race bool) (bin string, cleanup func(), err error) {
	mod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", nil, fmt.Errorf("go env GOMOD: %w", err)
	}
	dir, err := os.MkdirTemp("", "lookout-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, "lookout")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/lookout")...)
	build.Dir = filepath.Dir(strings.TrimSpace(string(mod)))
	if out, err := build.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("go build ./cmd/lookout: %w\n%s", err, out)
	}
	return bin, cleanup, nil
}

// RequireChromium returns the browser for end-to-end tests
// ($LOOKOUT_CHROMIUM, else Debian's /usr/bin/chromium), skipping the test
// with a clear message when it is missing.
func RequireChromium(t testing.TB) string {
	t.Helper()
	exe := os.Getenv("LOOKOUT_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium, or set LOOKOUT_CHROMIUM): %v", exe, err)
	}
	return exe
}

// Browser starts headless Chromium at exe, with the flags this machine's
// closed network needs, and returns a chromedp context that times out after
// 60 s; everything is torn down when the test ends.
func Browser(t testing.TB, exe string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	return ctx
}

// SetEnv sets the environment variable name to v for the test, or unsets it
// when v is "" (t.Setenv restores the original value afterwards either way).
func SetEnv(t *testing.T, name, v string) {
	t.Helper()
	t.Setenv(name, v)
	if v == "" {
		os.Unsetenv(name)
	}
}

// UntunedRuntime unsets GOGC and GOMAXPROCS for the test and restores the
// GC percent and GOMAXPROCS in force when it ends, for tests of the
// defaults that apply when the environment sets neither.
func UntunedRuntime(t *testing.T) {
	t.Helper()
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		runtime.GOMAXPROCS(procs)
	})
	SetEnv(t, "GOGC", "")
	SetEnv(t, "GOMAXPROCS", "")
}
