package web

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/views"
)

// TestBrowserEndToEnd drives real headless Chromium: log in through the
// form, see the grid, and watch SSE updates recolour a tile and mark a host
// down.
func TestBrowserEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := testutil.RequireChromium(t)
	e := newEnv(t, nil)
	ts := httptest.NewServer(e.h)
	t.Cleanup(ts.Close) // after the browser's cleanup: Close waits for its SSE stream
	ctx := testutil.Browser(t, exe)

	err := chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#user"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#grid #tile-web1")),
	)
	if err != nil {
		t.Fatalf("log in and load grid: %v", err)
	}
	class := func() string {
		t.Helper()
		r, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#tile-web1"), "class"))
		if err != nil {
			t.Fatalf("read tile class: %v", err)
		}
		return r.Value
	}
	if c := class(); c != "tile load-1" {
		t.Fatalf("initial tile class %q, want \"tile load-1\"", c)
	}
	waitClients(t, e.srv, 1)

	st := model.HostStatus{Host: "web1", Up: true, Load: 93}
	e.srv.Publish(model.Event{Type: model.EvReport, Host: "web1", Status: &st})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#tile-web1.load-9"))); err != nil {
		t.Fatalf("tile did not turn load-9: %v", err)
	}
	if c := class(); c != "tile load-9" {
		t.Fatalf("tile class %q after load 93", c)
	}

	down := model.HostStatus{Host: "web1", Up: false, DownSince: e.clock.Now().Add(-3 * time.Minute)}
	e.srv.Publish(model.Event{Type: model.EvHostState, Host: "web1", Status: &down})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#tile-web1.down"))); err != nil {
		t.Fatalf("tile not marked down: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#tile-web1")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "DOWN") || !strings.Contains(text, "since 3 minutes") {
		t.Errorf("down tile text %q", text)
	}
	downCount, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#count-down")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(downCount) != "2" {
		t.Errorf("down count %q, want 2", downCount)
	}

	// A host the page has never seen is added to the grid.
	e.srv.Publish(model.Event{Type: model.EvReport, Host: "new1", Status: &model.HostStatus{Host: "new1", Up: true, Load: 45}})
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#grid #tile-new1.load-4"))); err != nil {
		t.Fatalf("new host tile not added: %v", err)
	}

	// Alarms page: a new alarm row is appended, an existing one replaced in
	// place (not duplicated), a notification prepended to the transitions.
	t0 := time.Now()
	before := e.srv.nextClient.Load()
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/alarms"), chromedp.WaitVisible(chromedp.CSS("#alarm-rows"))); err != nil {
		t.Fatalf("open alarms page: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.nextClient.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("alarms page did not open an SSE connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitClients(t, e.srv, 1)
	t.Logf("alarms page connected after %v", time.Since(t0))
	e.fb.mu.Lock()
	existing := e.fb.alarms[0]
	e.fb.mu.Unlock()
	existing.State = model.AlarmResolved
	fresh := model.AlarmStatus{Rule: "load", Host: "web1", Series: "machine.load:all.load1", State: model.AlarmFiring, Level: model.WARN, Value: 7}
	e.srv.Publish(model.Event{Type: model.EvAlarm, Alarm: &existing})
	e.srv.Publish(model.Event{Type: model.EvAlarm, Alarm: &fresh})
	e.srv.Publish(model.Event{Type: model.EvAlarm, Alarm: &fresh}) // repeated: must stay one row
	e.srv.Publish(model.Event{Type: model.EvNotification, Notification: &model.Notification{ID: "n-e2e", Kind: "ALARM", Host: "web1", Subject: "load high on web1"}})
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#"+views.AlarmID(fresh))),
		chromedp.WaitVisible(chromedp.CSS("#"+views.AlarmID(existing)+" td.state-resolved")),
		chromedp.WaitVisible(chromedp.CSS("#transition-rows #"+views.NotificationID(model.Notification{ID: "n-e2e"}))),
	); err != nil {
		t.Fatalf("alarm updates not applied: %v", err)
	}
	t.Logf("alarm updates applied after %v", time.Since(t0))
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll("#alarm-rows > tr")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d alarm rows, want 2 (one replaced, one added once)", len(rows))
	}
}
