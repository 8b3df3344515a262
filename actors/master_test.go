package actors

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
	"github.com/lookout-mon/lookout/store"
	"github.com/lookout-mon/lookout/wire"
)

// clock is a settable time source shared by the master and the test.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// sink is a test notifier that records what it is asked to deliver and can
// be told to fail.
type sink struct {
	name string
	min  model.Level
	mu   sync.Mutex
	got  []model.Notification
	fail atomic.Int32 // >0: fail retryably this many more times; -1: fail forever
}

func (s *sink) Name() string          { return s.name }
func (s *sink) Type() string          { return "test" }
func (s *sink) MinLevel() model.Level { return s.min }
func (s *sink) Close() error          { return nil }
func (s *sink) Send(ctx context.Context, n model.Notification) (bool, error) {
	if f := s.fail.Load(); f != 0 {
		if f > 0 {
			s.fail.Add(-1)
		}
		return true, errors.New("451 try again later")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, n)
	return false, nil
}
func (s *sink) all() []model.Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]model.Notification(nil), s.got...)
}
func (s *sink) subjects() []string {
	var out []string
	for _, n := range s.all() {
		out = append(out, fmt.Sprintf("[%s] %s", n.Level, n.Subject))
	}
	return out
}

// waitFor polls cond until it holds or fails the test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// fakeAgent signs reports and collects acks through a local actor.
type fakeAgent struct {
	name string
	key  ed25519.PrivateKey
	pid  *actor.PID
	mu   sync.Mutex
	acks []model.Ack
}

func (f *fakeAgent) lastAck() (model.Ack, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.acks) == 0 {
		return model.Ack{}, false
	}
	return f.acks[len(f.acks)-1], true
}

type harness struct {
	t     *testing.T
	dir   string
	st    *store.Store
	m     *Master
	clk   *clock
	agent *fakeAgent
	sinks []*sink
	opts  MasterOptions
}

func quietLog() *slog.Logger {
	if os.Getenv("LOOKOUT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newHarness(t *testing.T, mod func(*MasterOptions)) *harness {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	h := &harness{t: t, dir: t.TempDir(), clk: newClock(), agent: &fakeAgent{name: "agent1", key: priv}}
	h.sinks = []*sink{{name: "all", min: model.DEBUG}, {name: "crit", min: model.CRIT}}
	h.opts = MasterOptions{Name: "m1", Log: quietLog(), Keys: map[string]ed25519.PublicKey{"agent1": pub},
		HostTimeout: 30 * time.Second, PersistentDowntime: 10 * time.Minute, Tick: 20 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Now: h.clk.Now}
	for _, s := range h.sinks {
		h.opts.Notifiers = append(h.opts.Notifiers, s)
	}
	if mod != nil {
		mod(&h.opts)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	st, err := store.Open(h.dir, store.Options{Logger: quietLog()})
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	h.opts.Store = st
	m, err := StartMaster(h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.m = m
	fa := h.agent
	fa.mu.Lock()
	fa.acks = nil // acks of an earlier incarnation must not satisfy waits
	fa.mu.Unlock()
	fa.pid = m.Engine().SpawnFunc(func(c *actor.Context) {
		if a, ok := c.Message().(*anypb.Any); ok {
			var ack model.Ack
			if err := wire.Decode(a, wire.TypeAck, &ack); err == nil {
				fa.mu.Lock()
				fa.acks = append(fa.acks, ack)
				fa.mu.Unlock()
			}
		}
	}, "fakeagent")
}

func (h *harness) stop() {
	if h.m != nil {
		h.m.Stop()
		h.m = nil
	}
	if h.st != nil {
		_ = h.st.Close()
		h.st = nil
	}
}

func (h *harness) restart() {
	h.stop()
	h.start()
}

func (h *harness) sendRaw(a *anypb.Any) {
	h.m.Engine().SendWithSender(h.m.pids["ingest"], a, h.agent.pid)
}

func (h *harness) send(r model.Report) {
	h.t.Helper()
	if r.Agent == "" {
		r.Agent = h.agent.name
	}
	if r.Host == "" {
		r.Host = "web1"
	}
	r.Version = model.ProtocolVersion
	if r.Oldest == 0 {
		r.Oldest = r.Seq
	}
	r.Time = h.clk.Now().UnixNano()
	a, err := wire.SignReport(h.agent.key, &r)
	if err != nil {
		h.t.Fatal(err)
	}
	h.sendRaw(a)
}

func cpu(v float64) []model.Sample {
	return []model.Sample{{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"used_percentage": v}}}
}

func (h *harness) waitAck(seq uint64) {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("ack %d", seq), func() bool {
		a, ok := h.agent.lastAck()
		return ok && a.Seq == seq && a.Reject == ""
	})
}

func (h *harness) status(host string) *model.HostStatus {
	s, err := h.m.ServerStatus(context.Background(), host)
	if err != nil {
		return nil
	}
	return s
}

func hasSubject(s *sink, part string) bool {
	for _, sub := range s.subjects() {
		if strings.Contains(sub, part) {
			return true
		}
	}
	return false
}

func TestIngestAcksDedupsAndRepairsGaps(t *testing.T) {
	h := newHarness(t, nil)
	for seq := uint64(1); seq <= 3; seq++ {
		h.send(model.Report{Seq: seq, Samples: cpu(10)})
	}
	h.waitAck(3)
	// A resend of an applied report is acked again, not applied twice.
	h.send(model.Report{Seq: 2, Oldest: 2, Samples: cpu(99)})
	// Seq 5 arrives while 4 is still unacked at the agent (Oldest 4): a gap.
	h.send(model.Report{Seq: 5, Oldest: 4, Samples: cpu(55)})
	time.Sleep(100 * time.Millisecond)
	if a, _ := h.agent.lastAck(); a.Seq != 3 {
		t.Fatalf("after duplicate and gap, last ack = %d, want 3", a.Seq)
	}
	// The agent resends in order and the gap is repaired: 5 was held, so
	// 4 applies both, and the resent 5 is a duplicate.
	h.send(model.Report{Seq: 4, Oldest: 4, Samples: cpu(44)})
	h.send(model.Report{Seq: 5, Oldest: 4, Samples: cpu(55)})
	h.waitAck(5)
	// Seq 8 with Oldest 8: the agent dropped 6 and 7 for good; applied.
	h.send(model.Report{Seq: 8, Oldest: 8, Samples: cpu(88)})
	h.waitAck(8)
	st, err := h.m.IngestStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepted != 6 || st.Duplicates != 2 || st.Gaps != 1 || st.Reordered != 1 {
		t.Fatalf("stats = %+v, want accepted 6, duplicates 2, gaps 1, reordered 1", st)
	}
	waitFor(t, "last value 88", func() bool {
		v, _, err := h.m.LastValue(context.Background(), "web1", "machine.cpu:total", "used_percentage")
		return err == nil && v == 88
	})
	// Sequence numbers survive a restart: an old seq is still a duplicate.
	h.restart()
	h.send(model.Report{Seq: 8, Oldest: 8, Samples: cpu(1)})
	h.waitAck(8)
	st, _ = h.m.IngestStats(context.Background())
	if st.Accepted != 0 || st.Duplicates != 1 {
		t.Fatalf("after restart stats = %+v, want the replay counted as duplicate", st)
	}
	// And the last values were reloaded from the store.
	if v, _, err := h.m.LastValue(context.Background(), "web1", "machine.cpu:total", "used_percentage"); err != nil || v != 88 {
		t.Fatalf("last value after restart = %v, %v; want 88", v, err)
	}
}

func TestIngestRejectsUnknownAgentsAndForgeries(t *testing.T) {
	h := newHarness(t, nil)
	_, strangerKey, _ := ed25519.GenerateKey(nil)
	r := model.Report{Version: 1, Agent: "stranger", Host: "x", Seq: 1, Oldest: 1}
	a, _ := wire.SignReport(strangerKey, &r)
	h.sendRaw(a)
	// agent1's name with another key: bad signature.
	r.Agent = "agent1"
	a, _ = wire.SignReport(strangerKey, &r)
	h.sendRaw(a)
	// Garbage in the envelope.
	h.sendRaw(&anypb.Any{TypeUrl: wire.TypeSignedReport, Value: []byte{0xdf, 0xff, 0xff, 0xff, 0xff}})
	waitFor(t, "three refusals", func() bool {
		st, _ := h.m.IngestStats(context.Background())
		return st.Rejected == 2 && st.Malformed == 1
	})
	waitFor(t, "three reject acks", func() bool {
		h.agent.mu.Lock()
		defer h.agent.mu.Unlock()
		for _, a := range h.agent.acks {
			if a.Reject == "" {
				t.Fatalf("refused report acked without a reason: %+v", a)
			}
		}
		return len(h.agent.acks) == 3
	})
	if hosts, _ := h.m.ServerList(context.Background()); len(hosts) != 0 {
		t.Fatalf("refused reports created hosts: %+v", hosts)
	}
}

func TestIngestRateLimit(t *testing.T) {
	h := newHarness(t, func(o *MasterOptions) { o.RateLimit = 1; o.RateBurst = 5 })
	for seq := uint64(1); seq <= 50; seq++ {
		h.send(model.Report{Seq: seq, Samples: cpu(1)})
	}
	waitFor(t, "rate limiting", func() bool {
		st, _ := h.m.IngestStats(context.Background())
		return st.Accepted+st.RateLimited+st.Gaps >= 50
	})
	st, _ := h.m.IngestStats(context.Background())
	if st.Accepted != 5 || st.RateLimited != 45 {
		t.Fatalf("stats = %+v, want 5 accepted and 45 rate limited", st)
	}
}

func TestHostDownUpAndPersistentDowntime(t *testing.T) {
	h := newHarness(t, nil)
	all := h.sinks[0]
	h.send(model.Report{Seq: 1, Samples: cpu(10)})
	waitFor(t, "new host notification", func() bool { return hasSubject(all, "web1 is reporting") })
	h.clk.Add(31 * time.Second)
	waitFor(t, "DOWN", func() bool { return hasSubject(all, "[ERR] web1 is down") })
	if s := h.status("web1"); s == nil || s.Up {
		t.Fatalf("status after timeout = %+v, want down", s)
	}
	if dl, _ := h.m.DownList(context.Background()); len(dl) != 1 || dl[0].Host != "web1" {
		t.Fatalf("down-list = %+v", dl)
	}
	h.clk.Add(10 * time.Minute)
	waitFor(t, "persistent downtime CRIT", func() bool { return hasSubject(h.sinks[1], "web1 has been down for") })
	h.send(model.Report{Seq: 2, Samples: cpu(10)})
	waitFor(t, "UP", func() bool { return hasSubject(all, "[INFO] web1 is up") })
	var up model.Notification
	for _, n := range all.all() {
		if n.Subject == "web1 is up" {
			up = n
		}
	}
	if !strings.Contains(up.Text, "was down for 10 minutes, 31 seconds") {
		t.Fatalf("UP text = %q, want the downtime duration", up.Text)
	}
	dts, err := h.m.Downtimes(context.Background(), "web1", time.Time{}, h.clk.Now().Add(time.Hour))
	if err != nil || len(dts) != 1 || dts[0].End.IsZero() || !dts[0].Persistent {
		t.Fatalf("downtimes = %+v, %v; want one ended persistent downtime", dts, err)
	}
}

func TestChecksUpDownBlip(t *testing.T) {
	h := newHarness(t, nil)
	all := h.sinks[0]
	ck := func(up bool, initial bool, retries int) []model.Check {
		return []model.Check{{Service: "port", Unit: "sshd (22)", Up: up, Initial: initial, Retries: retries}}
	}
	h.send(model.Report{Seq: 1, Checks: ck(true, true, 0)})
	h.send(model.Report{Seq: 2, Checks: ck(false, false, 0)})
	waitFor(t, "port down", func() bool { return hasSubject(all, "[ERR] web1: port sshd (22) is down") })
	h.clk.Add(2*time.Hour + 5*time.Minute + time.Second)
	h.send(model.Report{Seq: 3, Checks: ck(true, false, 0)})
	waitFor(t, "port up", func() bool { return hasSubject(all, "[INFO] web1: port sshd (22) is up") })
	h.send(model.Report{Seq: 4, Checks: ck(true, false, 2)})
	waitFor(t, "blip", func() bool { return hasSubject(all, "[WARN] web1: port sshd (22) blipped") })
	for _, n := range all.all() {
		if strings.Contains(n.Subject, "is up") && strings.Contains(n.Subject, "sshd") &&
			!strings.Contains(n.Text, "was down for 2 hours, 5 minutes, 1 second") {
			t.Fatalf("port UP text = %q", n.Text)
		}
	}
	svc, err := h.m.ServiceList(context.Background(), "web1")
	if err != nil || len(svc) != 1 || svc[0].Up == nil || !*svc[0].Up {
		t.Fatalf("service-list = %+v, %v", svc, err)
	}
}

func TestAlarmFireResolveAndRuntimeRules(t *testing.T) {
	h := newHarness(t, func(o *MasterOptions) {
		o.Rules = []model.RuleInfo{{Name: "cpu", Expr: "*!machine.cpu:total.used_percentage > 90 CRIT"}}
	})
	all, crit := h.sinks[0], h.sinks[1]
	h.send(model.Report{Seq: 1, Samples: cpu(50)})
	h.send(model.Report{Seq: 2, Samples: cpu(97)})
	waitFor(t, "ALARM", func() bool { return len(crit.all()) == 1 })
	if n := crit.all()[0]; n.Kind != model.KindAlarm || len(n.Attachment) == 0 {
		t.Fatalf("alarm notification = %+v", n)
	}
	waitFor(t, "firing alarm in query", func() bool {
		al, _ := h.m.Alarms(context.Background())
		return len(al) == 1 && al[0].State == model.AlarmFiring
	})
	// A restart neither re-fires nor forgets the firing alarm.
	h.restart()
	waitFor(t, "firing alarm after restart", func() bool {
		al, _ := h.m.Alarms(context.Background())
		return len(al) == 1 && al[0].State == model.AlarmFiring
	})
	h.send(model.Report{Seq: 3, Samples: cpu(98)})
	h.clk.Add(2 * time.Hour)
	h.send(model.Report{Seq: 4, Samples: cpu(20)})
	waitFor(t, "SOLVED", func() bool { return hasSubject(all, "SOLVED") })
	if got := len(crit.all()); got != 1 {
		t.Fatalf("CRIT notifications = %d (%v), want exactly 1", got, crit.subjects())
	}
	// Run-time rules: bad ones are refused with the parser's error.
	if err := h.m.AddRule(context.Background(), "bad", "*!machine.cpu:total.used_percentage >> 5"); err == nil {
		t.Fatal("bad rule accepted")
	}
	if err := h.m.AddRule(context.Background(), "cpu", "*!x.y:z.w > 1"); err == nil || !strings.Contains(err.Error(), "config") {
		t.Fatalf("overriding a config rule: err = %v", err)
	}
	if err := h.m.AddRule(context.Background(), "low", "web*!machine.cpu:total.used_percentage < 5 WARN"); err != nil {
		t.Fatal(err)
	}
	h.send(model.Report{Seq: 5, Samples: cpu(1)})
	waitFor(t, "runtime rule fires", func() bool { return hasSubject(all, "[WARN]") && hasSubject(all, "< 5") })
	h.restart()
	rs, _ := h.m.Rules(context.Background())
	if len(rs) != 2 {
		t.Fatalf("rules after restart = %+v, want config + runtime", rs)
	}
	if err := h.m.DeleteRule(context.Background(), "low"); err != nil {
		t.Fatal(err)
	}
	if rs, _ := h.m.Rules(context.Background()); len(rs) != 1 {
		t.Fatalf("rules after delete = %+v", rs)
	}
}

func TestPanickingHostIsRestartedWithStateAndStormEscalates(t *testing.T) {
	var panics atomic.Int32
	h := newHarness(t, func(o *MasterOptions) {
		o.StormBackoff = 300 * time.Millisecond
		o.Inject = func(host string, r *model.Report) {
			if host == "boom" && r.Samples[0].Values["used_percentage"] == 666 {
				panics.Add(1)
				panic("injected failure")
			}
		}
	})
	all := h.sinks[0]
	seq := uint64(0)
	send := func(host string, v float64) {
		seq++
		h.send(model.Report{Seq: seq, Host: host, Samples: cpu(v)})
	}
	send("boom", 42)
	send("calm", 7)
	waitFor(t, "hosts known", func() bool { return h.status("boom") != nil && h.status("calm") != nil })
	// Ten injected panics: the first five are restarted at once, the sixth
	// is a storm (the host is parked for StormBackoff, reports to it are
	// dropped meanwhile), and so on; the process never dies.
	deadline := time.Now().Add(20 * time.Second)
	for panics.Load() < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d panics injected", panics.Load())
		}
		send("boom", 666)
		time.Sleep(40 * time.Millisecond)
	}
	waitFor(t, "restart storm WARN", func() bool { return hasSubject(all, "[WARN] restart storm") })
	// The other host never noticed, and the process is alive.
	send("calm", 8)
	waitFor(t, "calm keeps working", func() bool {
		v, _, err := h.m.LastValue(context.Background(), "calm", "machine.cpu:total", "used_percentage")
		return err == nil && v == 8
	})
	// After the backoff the host actor comes back with its state from the store.
	waitFor(t, "boom restarted", func() bool {
		send("boom", 43)
		time.Sleep(200 * time.Millisecond)
		s := h.status("boom")
		return s != nil && s.Up && len(s.Samples) == 1 && s.Samples[0].Values["used_percentage"] == 43
	})
	if hasSubject(all, "boom is reporting") && strings.Count(strings.Join(all.subjects(), "\n"), "boom is reporting") > 1 {
		t.Fatalf("restart lost host state (new-host notification repeated): %v", all.subjects())
	}
}

func TestOutboxRetriesDeliversOnceAndWarnsThroughOthers(t *testing.T) {
	crit := &sink{name: "warn", min: model.WARN}
	h := newHarness(t, func(o *MasterOptions) {
		o.FailWarnAfter = time.Minute
		o.HostTimeout = time.Hour
		o.Notifiers = append(o.Notifiers, crit)
	})
	flaky := h.sinks[0]
	flaky.fail.Store(-1)
	h.send(model.Report{Seq: 1, Samples: cpu(1)})
	waitFor(t, "pending delivery", func() bool {
		ds, _ := h.m.Deliveries(context.Background(), 10)
		return len(ds) > 0 && ds[0].State == model.DeliveryPending && ds[0].Attempts >= 2
	})
	h.clk.Add(2 * time.Minute)
	waitFor(t, "failing WARN through the other notifier", func() bool { return hasSubject(crit, "notifier test/all is failing") })
	flaky.fail.Store(0)
	waitFor(t, "delivered", func() bool { return len(flaky.all()) >= 1 })
	time.Sleep(200 * time.Millisecond)
	got := flaky.all()
	if len(got) != 1 || !strings.Contains(got[0].Subject, "web1 is reporting") {
		t.Fatalf("flaky notifier got %v, want the one notification exactly once", flaky.subjects())
	}
	if !hasSubject(crit, "is failing") || hasSubject(crit, "web1 is reporting") {
		t.Fatalf("the other notifier got %v", crit.subjects())
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	h := newHarness(t, nil)
	flaky := h.sinks[0]
	flaky.fail.Store(-1)
	h.send(model.Report{Seq: 1, Samples: cpu(1)})
	waitFor(t, "attempted", func() bool {
		ds, _ := h.m.Deliveries(context.Background(), 10)
		return len(ds) > 0 && ds[0].Attempts >= 1
	})
	h.stop()
	flaky.fail.Store(0)
	h.start()
	waitFor(t, "delivered after restart", func() bool { return len(flaky.all()) == 1 })
	h.restart()
	time.Sleep(300 * time.Millisecond)
	if n := len(flaky.all()); n != 1 {
		t.Fatalf("delivered %d times, want once (ledger must stop resends)", n)
	}
}

func TestMaintenanceHoldsAndReleasesStillFiring(t *testing.T) {
	h := newHarness(t, func(o *MasterOptions) {
		o.Rules = []model.RuleInfo{{Name: "cpu", Expr: "*!machine.cpu:total.used_percentage > 90 CRIT"}}
		o.HostTimeout = 24 * time.Hour
	})
	crit := h.sinks[1]
	now := h.clk.Now()
	mw, err := h.m.AddMaintenance(context.Background(), model.Maintenance{Hosts: "web*", Start: now.Add(-time.Minute), End: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.AddMaintenance(context.Background(), model.Maintenance{Hosts: "x", Start: now, End: now.Add(-time.Hour)}); err == nil {
		t.Fatal("window ending before its start was accepted")
	}
	h.send(model.Report{Seq: 1, Samples: cpu(99)})
	h.send(model.Report{Seq: 2, Host: "db1", Samples: cpu(99)})
	waitFor(t, "db1 alarm (not in window)", func() bool { return len(crit.all()) == 1 })
	time.Sleep(200 * time.Millisecond)
	if len(crit.all()) != 1 {
		t.Fatalf("web1's alarm was not held: %v", crit.subjects())
	}
	h.clk.Add(2 * time.Hour)
	waitFor(t, "held alarm released once", func() bool { return len(crit.all()) == 2 })
	time.Sleep(200 * time.Millisecond)
	if got := crit.subjects(); len(got) != 2 || !strings.Contains(got[1], "still active after maintenance") {
		t.Fatalf("after window: %v", got)
	}
	if ms, _ := h.m.Maintenance(context.Background()); len(ms) != 1 || ms[0].ID != mw.ID {
		t.Fatalf("maintenance list = %+v", ms)
	}
}

func TestMaintenanceRecurring(t *testing.T) {
	mw := model.Maintenance{Every: "sunday 03:00", Duration: 2 * time.Hour}
	if err := ValidateMaintenance(&mw, time.Now()); err != nil {
		t.Fatal(err)
	}
	sun := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC) // a Sunday
	cases := []struct {
		t    time.Time
		want bool
	}{
		{sun, true}, {sun.Add(-90 * time.Minute), false}, {sun.Add(time.Hour + time.Minute), false},
		{sun.Add(24 * time.Hour), false}, {sun.Add(7 * 24 * time.Hour), true},
	}
	for _, c := range cases {
		if got := MaintenanceActive(mw, c.t); got != c.want {
			t.Errorf("active at %s = %v, want %v", c.t, got, c.want)
		}
	}
	// Short day names pass config validation (configs.ParseEvery), so the
	// window must also be active with them.
	short := model.Maintenance{Every: "sun 03:00", Duration: 2 * time.Hour}
	if err := ValidateMaintenance(&short, time.Now()); err != nil || !MaintenanceActive(short, sun) {
		t.Errorf("\"sun 03:00\": err %v, active at %s = %v, want active", err, sun, MaintenanceActive(short, sun))
	}
	for _, bad := range []model.Maintenance{{Every: "someday 03:00", Duration: time.Hour}, {Every: "daily 25:00", Duration: time.Hour}, {Every: "daily 03:00"}, {Hosts: "[", Start: sun, End: sun.Add(time.Hour)}} {
		if err := ValidateMaintenance(&bad, time.Now()); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestRuntimeRuleChangesWhileReportsFlow(t *testing.T) {
	h := newHarness(t, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			name := fmt.Sprintf("r%d", i%3)
			_ = h.m.AddRule(context.Background(), name, fmt.Sprintf("*!machine.cpu:total.used_percentage > %d", 50+i))
			if i%4 == 0 {
				_ = h.m.DeleteRule(context.Background(), name)
			}
		}
	}()
	for seq := uint64(1); seq <= 300; seq++ {
		h.send(model.Report{Seq: seq, Host: fmt.Sprintf("h%d", seq%5), Samples: cpu(float64(seq % 100))})
	}
	<-done
	h.waitAck(300)
}

func TestPruneLedger(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for i, age := range []time.Duration{time.Hour, 29 * 24 * time.Hour, 31 * 24 * time.Hour, 90 * 24 * time.Hour} {
		d := model.Delivery{NotificationID: fmt.Sprint("n", i), Notifier: "test/x", State: model.DeliverySent, LastAttempt: now.Add(-age)}
		if err := st.Put(nsLedger, d.NotificationID+"|test/x", d); err != nil {
			t.Fatal(err)
		}
	}
	n, err := PruneLedger(st, now)
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	var left int
	_ = st.List(nsLedger, "", func(string, []byte) error { left++; return nil })
	if left != 2 {
		t.Fatalf("%d entries left, want 2", left)
	}
}

// slowSink takes a while to deliver.
type slowSink struct {
	sink
	delay time.Duration
}

func (s *slowSink) Send(ctx context.Context, n model.Notification) (bool, error) {
	time.Sleep(s.delay)
	return s.sink.Send(ctx, n)
}

func TestStopWaitsForInFlightDelivery(t *testing.T) {
	slow := &slowSink{sink: sink{name: "slow", min: model.DEBUG}, delay: 700 * time.Millisecond}
	h := newHarness(t, func(o *MasterOptions) { o.Notifiers = []notify.Notifier{slow} })
	h.send(model.Report{Seq: 1, Samples: cpu(1)})
	time.Sleep(300 * time.Millisecond) // the delivery is in flight now
	h.restart()
	time.Sleep(1500 * time.Millisecond)
	if n := len(slow.all()); n != 1 {
		t.Fatalf("delivered %d times across a stop during the send, want 1", n)
	}
}

func TestDownSinceAfterRestartIsTheLastReport(t *testing.T) {
	h := newHarness(t, nil)
	h.send(model.Report{Seq: 1, Samples: cpu(1)})
	h.waitAck(1)
	h.clk.Add(10 * time.Second)
	h.send(model.Report{Seq: 2, Samples: cpu(2)}) // no state change: host state not saved
	h.waitAck(2)
	last := h.clk.Now()
	h.restart()
	h.clk.Add(31 * time.Second)
	waitFor(t, "down after restart", func() bool { s := h.status("web1"); return s != nil && !s.Up })
	if s := h.status("web1"); !s.DownSince.Equal(last) {
		t.Fatalf("down since %s, want the last report's arrival %s", s.DownSince, last)
	}
}

func TestIngestShedsLoadWhenVerifiersFallBehind(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("signs and floods 20,000 reports: needs full speed (not -short, not -race)")
	}
	const agents, per = 200, 100
	keys := make([]ed25519.PrivateKey, agents)
	h := newHarness(t, func(o *MasterOptions) {
		o.IngestBacklog = 4096 // well below the 20,000 sent at once
		for i := range keys {
			pub, priv, _ := ed25519.GenerateKey(nil)
			keys[i] = priv
			o.Keys[fmt.Sprint("a", i)] = pub
		}
	})
	msgs := make([]*anypb.Any, 0, agents*per)
	for seq := uint64(1); seq <= per; seq++ {
		for i := range keys {
			r := model.Report{Version: model.ProtocolVersion, Agent: fmt.Sprint("a", i), Host: fmt.Sprint("h", i),
				Seq: seq, Oldest: 1, Time: time.Now().UnixNano(), Samples: cpu(1)}
			a, err := wire.SignReport(keys[i], &r)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, a)
		}
	}
	for _, a := range msgs {
		h.sendRaw(a) // far faster than signatures can be checked
	}
	var st IngestStats
	waitFor(t, "every report accounted for", func() bool {
		st, _ = h.m.IngestStats(context.Background())
		return st.Accepted+st.Overloaded+st.Gaps+st.Duplicates == uint64(len(msgs))
	})
	t.Logf("accepted %d, shed %d, gaps %d of %d", st.Accepted, st.Overloaded, st.Gaps, len(msgs))
	if st.Overloaded == 0 {
		t.Skip("the verifiers kept up on this machine; nothing to shed")
	}
	// The master stays responsive while shedding.
	if _, err := h.m.ServerList(context.Background()); err != nil {
		t.Fatal(err)
	}
}
