package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
)

var tileLoadRE = regexp.MustCompile(`^tile load-(\d)$`)

// TestDashboardBrowser drives real headless Chromium against a real master
// process fed by a real agent process: log in, see the host's tile, push
// values through the agent's textfile that change the host's load, and see
// the tile recolour live (SSE, no reload); kill the agent and see the tile
// turn down.
//
// The host load (actors.HostLoad) is the mean of cpu total, memory, the
// fullest disk and the fullest inode table. The agent runs with a 1h cpu
// interval (its first cpu run only primes counters), so the textfile alone
// sets machine.cpu:total; a textfile disk and inode table at 100 % dominate
// the real ones.
func TestDashboardBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := testutil.RequireChromium(t)
	t.Parallel()
	key := newAgentKey(t, t.TempDir(), "a1")
	m := startMaster(t, masterOpts{Agents: []agentKey{key}, HostTimeout: 3 * time.Second})
	const idle = "machine.cpu:total.used_percentage 0\n"
	const busy = "machine.cpu:total.used_percentage 100\n" +
		"machine.disk:/dev/e2e (/e2e).used_percentage 100\n" +
		"machine.inodes:/dev/e2e (/e2e).used_percentage 100\n"
	a := startAgent(t, agentOpts{Key: key, Host: "h1", Masters: []string{m.Ingest},
		Intervals: map[string]string{"cpu": "1h"},
		Textfile:  map[string]string{"load.txt": idle}})

	// Wait until the master has the idle values, so the first page shows them.
	if err := eventually(15*time.Second, func() error {
		var st model.HostStatus
		if err := m.API.Get("server-status?host=h1", &st); err != nil {
			return err
		}
		for _, s := range st.Samples {
			if s.Key() == "machine.cpu:total" {
				return nil
			}
		}
		return fmt.Errorf("no machine.cpu:total sample yet")
	}); err != nil {
		t.Fatal(err)
	}

	ctx := testutil.Browser(t, exe)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(m.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#user"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#grid #tile-h1")),
	); err != nil {
		t.Fatalf("log in and see the host tile: %v", err)
	}
	// A marker that a page reload would erase: updates must arrive live.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.e2eMarker = true`)); err != nil {
		t.Fatal(err)
	}
	band := func() int {
		t.Helper()
		r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#tile-h1"), "class"))
		if err != nil {
			t.Fatalf("read tile class: %v", err)
		}
		mm := tileLoadRE.FindStringSubmatch(r.Value)
		if mm == nil {
			t.Fatalf("tile class %q, want \"tile load-N\"", r.Value)
		}
		n, _ := strconv.Atoi(mm[1])
		return n
	}
	if b := band(); b > 6 {
		t.Fatalf("idle host shows load band %d, want <= 6 (cpu 0 %%, real memory and disks)", b)
	}

	a.Write("load.txt", busy)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#tile-h1.load-7, #tile-h1.load-8, #tile-h1.load-9"))); err != nil {
		var st model.HostStatus
		_ = m.API.Get("server-status?host=h1", &st)
		t.Fatalf("tile did not turn load-7..9 after the busy values (API load %.1f): %v", st.Load, err)
	}
	if b := band(); b < 7 {
		t.Fatalf("busy host shows load band %d, want >= 7", b)
	}

	a.P.Kill9()
	killed := time.Now()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#tile-h1.down"))); err != nil {
		t.Fatalf("tile not marked down after the agent was killed: %v", err)
	}
	if d := time.Since(killed); d < 1500*time.Millisecond {
		t.Errorf("host marked down %v after the kill, before host_timeout 3s", d)
	}
	marker, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.e2eMarker === true`))
	if err != nil {
		t.Fatal(err)
	}
	if !marker {
		t.Fatal("the page was reloaded: updates must arrive over SSE")
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#tile-h1")))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?i)down`).MatchString(text) {
		t.Errorf("down tile text %q does not say DOWN", text)
	}
	t.Logf("host marked down %v after the agent was killed", time.Since(killed).Round(100*time.Millisecond))
}
