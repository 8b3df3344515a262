package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// hookSink is an in-test webhook receiver that keeps every notification.
type hookSink struct {
	mu   sync.Mutex
	got  []model.Notification
	srv  *httptest.Server
	fail []string
}

func newHookSink(t *testing.T) *hookSink {
	s := &hookSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var n model.Notification
		if err == nil {
			err = json.Unmarshal(b, &n)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.fail = append(s.fail, fmt.Sprintf("%s %s: %v: %q", r.Method, r.URL, err, b))
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		s.got = append(s.got, n)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// alarms returns the ALARM and SOLVED notifications about host so far.
func (s *hookSink) alarms(host string) []model.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.Notification
	for _, n := range s.got {
		if n.Host == host && (n.Kind == model.KindAlarm || n.Kind == model.KindSolved) {
			out = append(out, n)
		}
	}
	return out
}

func (s *hookSink) describe(host string) string {
	var b strings.Builder
	for _, n := range s.alarms(host) {
		fmt.Fprintf(&b, "\n  %s [%s] %s: %s", n.Kind, n.Level, n.Subject, n.Text)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fail {
		fmt.Fprintf(&b, "\n  bad request: %s", f)
	}
	return b.String()
}

// firing returns the firing alarms of rule on host, by `lookout query alarms`.
func firing(t *testing.T, m *masterNode, rule, host string) ([]model.AlarmStatus, error) {
	out, err := query(t, m.URL, testPassword, "alarms")
	if err != nil {
		return nil, err
	}
	var as []model.AlarmStatus
	if err := json.Unmarshal([]byte(out), &as); err != nil {
		return nil, fmt.Errorf("alarms output %q: %w", out, err)
	}
	var f []model.AlarmStatus
	for _, a := range as {
		if a.Rule == rule && a.Host == host && a.State == model.AlarmFiring {
			f = append(f, a)
		}
	}
	return f, nil
}

// TestAlarmThroughAgent drives a rule with values written into a real
// agent's textfile and checks the webhook sees exactly one ALARM and one
// SOLVED, with hysteresis (a value between clear and threshold keeps the
// alarm firing).
func TestAlarmThroughAgent(t *testing.T) {
	t.Parallel()
	sink := newHookSink(t)
	key := newAgentKey(t, t.TempDir(), "a1")
	const rule = "queue"
	m := startMaster(t, masterOpts{
		Agents:     []agentKey{key},
		Rules:      []map[string]string{{"name": rule, "expr": "*!app.queue:jobs.length > 100 CRIT clear < 50"}},
		WebhookURL: sink.srv.URL + "/hook",
	})
	a := startAgent(t, agentOpts{Key: key, Host: "h1", Masters: []string{m.Ingest},
		Textfile: map[string]string{"queue.txt": "# queue depth\napp.queue:jobs.length 12\n"}})
	set := func(v int) { a.Write("queue.txt", fmt.Sprintf("# queue depth\napp.queue:jobs.length %d\n", v)) }

	lastValue := func(want float64) error {
		var v struct {
			Value float64 `json:"value"`
		}
		if err := m.API.Get("last-value?host=h1&series=app.queue:jobs&attr=length", &v); err != nil {
			return err
		}
		if v.Value != want {
			return fmt.Errorf("last value %v, want %v", v.Value, want)
		}
		return nil
	}
	if err := eventually(15*time.Second, func() error { return lastValue(12) }); err != nil {
		t.Fatalf("textfile value never reached the master: %v", err)
	}

	set(150)
	if err := eventually(15*time.Second, func() error {
		if n := len(sink.alarms("h1")); n == 0 {
			return fmt.Errorf("no ALARM yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v; webhook got:%s", err, sink.describe("h1"))
	}
	got := sink.alarms("h1")
	if got[0].Kind != model.KindAlarm || got[0].Level != model.CRIT {
		t.Fatalf("first notification %s [%s], want ALARM [CRIT]; webhook got:%s", got[0].Kind, got[0].Level, sink.describe("h1"))
	}
	f, err := firing(t, m, rule, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if len(f) != 1 || f[0].Value != 150 || f[0].Level != model.CRIT {
		t.Fatalf("lookout query alarms: firing %+v, want one CRIT alarm at 150", f)
	}

	// Between clear (50) and the threshold (100): still firing, no SOLVED.
	set(70)
	if err := eventually(10*time.Second, func() error { return lastValue(70) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // a few more evaluations at 70
	if f, err := firing(t, m, rule, "h1"); err != nil || len(f) != 1 {
		t.Fatalf("at 70 (above clear < 50) the alarm should still fire: %+v, %v", f, err)
	}
	if n := len(sink.alarms("h1")); n != 1 {
		t.Fatalf("at 70 the webhook got %d alarm notifications, want still 1:%s", n, sink.describe("h1"))
	}

	set(20)
	if err := eventually(15*time.Second, func() error {
		if n := len(sink.alarms("h1")); n < 2 {
			return fmt.Errorf("no SOLVED yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v; webhook got:%s", err, sink.describe("h1"))
	}
	// Nothing more arrives: exactly one ALARM and one SOLVED.
	time.Sleep(2 * time.Second)
	got = sink.alarms("h1")
	if len(got) != 2 || got[1].Kind != model.KindSolved {
		t.Fatalf("webhook got %d alarm notifications, want ALARM then SOLVED:%s", len(got), sink.describe("h1"))
	}
	if !strings.Contains(got[1].Text, "was active for") && !strings.Contains(got[1].Subject, "was active for") {
		t.Errorf("SOLVED does not say how long the alarm was active: %q / %q", got[1].Subject, got[1].Text)
	}
	if got[0].ID == got[1].ID {
		t.Errorf("ALARM and SOLVED share the id %q", got[0].ID)
	}
	if f, err := firing(t, m, rule, "h1"); err != nil || len(f) != 0 {
		t.Fatalf("after SOLVED, alarms still shows it firing: %+v, %v", f, err)
	}
}

// TestMasterRestartNoFalseDown restarts the master (SIGTERM or SIGKILL,
// then start again at once) while the agent is paused (SIGSTOP) for less
// than host_timeout: the host was never silent for host_timeout, so no DOWN
// may be sent, neither by the webhook nor on the event stream (--debug
// output). The master's persisted last-seen time is older than the timeout
// (the agent ran longer than that before the restart), which must not count
// against the host: the master cannot know what happened while it was down.
func TestMasterRestartNoFalseDown(t *testing.T) {
	t.Parallel()
	for _, kill := range []bool{false, true} {
		name := "SIGTERM"
		if kill {
			name = "SIGKILL"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testRestartNoFalseDown(t, kill)
		})
	}
}

func testRestartNoFalseDown(t *testing.T, kill bool) {
	const timeout = 5 * time.Second
	sink := newHookSink(t)
	key := newAgentKey(t, t.TempDir(), "a1")
	m := startMaster(t, masterOpts{Agents: []agentKey{key}, HostTimeout: timeout, WebhookURL: sink.srv.URL + "/hook"})
	a := startAgent(t, agentOpts{Key: key, Host: "h1", Masters: []string{m.Ingest}})
	waitApplied(t, m.P, "h1", 1, 20*time.Second)
	time.Sleep(timeout + time.Second)

	if err := a.P.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	if kill {
		m.P.Kill9()
	} else {
		m.P.Stop()
	}
	m.Start()
	time.Sleep(time.Until(paused.Add(timeout / 2)))
	if err := a.P.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("agent paused for %v", time.Since(paused).Round(10*time.Millisecond))
	waitApplied(t, m.P, "h1", 1, 20*time.Second)
	time.Sleep(2 * time.Second) // a few host ticks after the first report
	down := regexp.MustCompile(`\bDOWN\b`)
	for _, l := range m.P.Stdout.Lines() {
		if down.MatchString(l) {
			t.Errorf("restarted master reported the host down though it was silent for less than %s: %s", timeout, l)
		}
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, n := range sink.got {
		if n.Kind == model.KindDown {
			t.Errorf("webhook got a false DOWN after a master restart: %s: %s", n.Subject, n.Text)
		}
	}
}
