package web

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/static"
)

// sseClient connects to /events with basic auth and returns a channel of
// (event name, data) pairs.
type sseMsg struct{ event, data string }

func connectSSE(t testing.TB, ctx context.Context, base string) <-chan sseMsg {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	req.SetBasicAuth("admin", testPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("connect SSE: %v", err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("SSE: status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseMsg, 4096)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var m sseMsg
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.event != "" {
					m.data = strings.Join(data, "\n")
					select {
					case out <- m:
					case <-ctx.Done():
						return
					}
				}
				m, data = sseMsg{}, nil
			case strings.HasPrefix(line, "event: "):
				m.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return out
}

// waitClients waits until n SSE clients are registered.
func waitClients(t testing.TB, s *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Clients < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d SSE clients connected", s.Stats().Clients, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSSEDeliversPublishedEvents(t *testing.T) {
	e := newEnv(t, nil)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs := connectSSE(t, ctx, ts.URL)
	waitClients(t, e.srv, 1)

	st := model.HostStatus{Host: "web1", Up: true, Load: 77, Samples: []model.Sample{{Service: "machine", Resource: "cpu", Unit: "all", Values: map[string]float64{"used_percentage": 31}}}}
	e.srv.Publish(model.Event{Type: model.EvReport, Host: "web1", Status: &st})
	down := model.HostStatus{Host: "web1", Up: false, DownSince: e.clock.Now().Add(-5 * time.Minute)}
	e.srv.Publish(model.Event{Type: model.EvHostState, Host: "web1", Status: &down})
	al := model.AlarmStatus{Rule: "load", Host: "web1", Series: "machine.load:all.load1", State: model.AlarmFiring, Level: model.WARN}
	e.srv.Publish(model.Event{Type: model.EvAlarm, Host: "web1", Alarm: &al})
	e.srv.Publish(model.Event{Type: model.EvNotification, Notification: &model.Notification{ID: "n1", Kind: "DOWN", Host: "web1", Subject: "web1 is down"}})
	e.srv.Publish(model.Event{Type: model.EvSystem, Text: "ignored"})

	want := []struct {
		event string
		has   []string
	}{
		{"host", []string{`id="tile-web1"`, `class="tile load-7"`, `id="hostrow-web1"`, `id="values-web1"`, "used_percentage=31", `id="count-up">1<`}},
		{"host", []string{`class="tile down"`, "since 5 minutes", `id="count-up">0<`, `id="count-down">2<`}},
		{"alarm", []string{`data-parent="alarm-rows"`, "state-firing", `id="count-firing">2<`}},
		{"notification", []string{`data-parent="transition-rows"`, "web1 is down"}},
	}
	for i, w := range want {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("stream ended before event %d", i)
			}
			if m.event != w.event {
				t.Fatalf("event %d: name %q, want %q", i, m.event, w.event)
			}
			for _, s := range w.has {
				if !strings.Contains(m.data, s) {
					t.Errorf("event %d (%s) lacks %q:\n%s", i, m.event, s, m.data)
				}
			}
		case <-ctx.Done():
			t.Fatalf("timeout waiting for event %d", i)
		}
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Stats().Clients != 0 {
		if time.Now().After(deadline) {
			t.Fatal("client not unregistered after disconnect")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPublishNeverBlocks connects a client that never reads, floods events,
// and checks that Publish stays fast, the healthy client still gets the
// final event, and the stalled one loses only its own events.
func TestPublishNeverBlocks(t *testing.T) {
	e := newEnv(t, nil)
	ts := httptest.NewServer(e.h)
	defer ts.Close()

	// Stalled client: raw TCP, tiny receive buffer, never reads.
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", basic("admin", testPassword))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := connectSSE(t, ctx, ts.URL)
	waitClients(t, e.srv, 2)

	big := strings.Repeat("x", 8<<10) // ~8 KiB per fragment: kernel buffers fill quickly
	const n = 3000
	var worst time.Duration
	start := time.Now()
	for i := 0; i < n; i++ {
		st := model.HostStatus{Host: fmt.Sprintf("h%d-%s", i%50, big), Up: true, Load: float64(i % 100)}
		t0 := time.Now()
		e.srv.Publish(model.Event{Type: model.EvReport, Status: &st})
		if d := time.Since(t0); d > worst {
			worst = d
		}
		if i%200 == 0 {
			time.Sleep(2 * time.Millisecond) // let the healthy client keep up
		}
	}
	total := time.Since(start)
	if worst > 50*time.Millisecond {
		t.Errorf("slowest Publish took %v", worst)
	}
	t.Logf("%d publishes in %v (worst %v)", n, total, worst)

	// A marker after the flood must reach the healthy client.
	deadline := time.Now().Add(15 * time.Second)
	for {
		e.srv.Publish(model.Event{Type: model.EvReport, Status: &model.HostStatus{Host: "marker", Up: true}})
		got := false
		drain := time.After(200 * time.Millisecond)
	loop:
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					t.Fatal("healthy client's stream ended")
				}
				if strings.Contains(m.data, `id="tile-marker"`) {
					got = true
					break loop
				}
			case <-drain:
				break loop
			}
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("healthy client never received the marker event")
		}
	}
	if d := e.srv.Stats().ClientDrops; d == 0 {
		t.Error("stalled client dropped no events: test did not exercise back-pressure")
	} else {
		t.Logf("stalled client dropped %d events", d)
	}
}

func TestPublishAfterCloseDrops(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.Close()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 5000; i++ {
			e.srv.Publish(model.Event{Type: model.EvReport, Status: &model.HostStatus{Host: "x"}})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked after Close")
	}
	if e.srv.Stats().Dropped != 5000 {
		t.Fatalf("dropped %d, want 5000", e.srv.Stats().Dropped)
	}
}

func TestCloseDisconnectsClients(t *testing.T) {
	e := newEnv(t, nil)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs := connectSSE(t, ctx, ts.URL)
	waitClients(t, e.srv, 1)
	start := time.Now()
	e.srv.Close()
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Close took %v", d)
	}
	select {
	case _, ok := <-msgs:
		if ok {
			t.Fatal("unexpected event after Close")
		}
	case <-ctx.Done():
		t.Fatal("client stream still open after Close")
	}
	if e.srv.Stats().Clients != 0 {
		t.Fatalf("%d clients registered after Close", e.srv.Stats().Clients)
	}
}

// TestAppJSKnowsFragmentSeparator keeps static/app.js and fragmentSep in step.
func TestAppJSKnowsFragmentSeparator(t *testing.T) {
	js, err := static.FS.ReadFile("app.js")
	if err != nil {
		t.Fatal(err)
	}
	jsLiteral := strings.ReplaceAll(fragmentSep, "\n", `\n`)
	if !strings.Contains(string(js), `"`+jsLiteral+`"`) {
		t.Fatalf("app.js does not split on %q", jsLiteral)
	}
	for _, ev := range []string{sseHost, sseAlarm, sseNotification} {
		if !strings.Contains(string(js), `"`+ev+`"`) {
			t.Errorf("app.js does not listen for %q events", ev)
		}
	}
}
