package agent

import (
	"crypto/ed25519"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// fakeMaster is a minimal ingest: it verifies reports, applies seq iff
// seq == last+1 or Oldest == seq (gap explained), acks cumulatively with its
// last applied seq, and ignores without ack a seq that leaves an unexplained
// gap. Its state lives outside the engine, like a master's store, so it
// survives a restart of the engine.
type fakeMaster struct {
	pub ed25519.PublicKey

	mu      sync.Mutex
	last    uint64
	applied []uint64
	ignored int
	checks  []model.Check
	engine  *actor.Engine
	remote  *remote.Remote
}

func (m *fakeMaster) Receive(c *actor.Context) {
	msg, ok := c.Message().(*anypb.Any)
	if !ok {
		return
	}
	r, err := wire.OpenReport(msg, func(a string) (ed25519.PublicKey, bool) { return m.pub, a == "ag" })
	if err != nil {
		ack, _ := wire.Encode(wire.TypeAck, &model.Ack{Master: "fm", Reject: err.Error()})
		c.Respond(ack)
		return
	}
	m.mu.Lock()
	switch {
	case r.Seq == m.last+1 || (r.Oldest == r.Seq && r.Seq > m.last):
		m.last = r.Seq
		m.applied = append(m.applied, r.Seq)
		m.checks = append(m.checks, r.Checks...)
	case r.Seq <= m.last: // duplicate: ack again
	default:
		m.ignored++
		m.mu.Unlock()
		return
	}
	last := m.last
	m.mu.Unlock()
	ack, _ := wire.Encode(wire.TypeAck, &model.Ack{Master: "fm", Agent: r.Agent, Seq: last})
	c.Respond(ack)
}

// start runs the master's engine on addr.
func (m *fakeMaster) start(t *testing.T, addr string) {
	t.Helper()
	var err error
	for range 50 { // the previous engine's listener may take a moment to close
		m.remote = remote.New(addr, remote.NewConfig())
		m.engine, err = actor.NewEngine(actor.NewEngineConfig().WithRemote(m.remote))
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("start fake master: %v", err)
	}
	// Spawn at wire.IngestID: hollywood PID IDs are kind + "/" + id.
	i := strings.LastIndex(wire.IngestID, "/")
	pid := m.engine.Spawn(func() actor.Receiver { return m }, wire.IngestID[:i], actor.WithID(wire.IngestID[i+1:]), actor.WithMaxRestarts(maxRestarts))
	if pid.ID != wire.IngestID {
		t.Fatalf("fake master spawned at %q, want %q", pid.ID, wire.IngestID)
	}
}

func (m *fakeMaster) stop() { m.remote.Stop().Wait() }

func (m *fakeMaster) snapshot() (uint64, []uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last, append([]uint64(nil), m.applied...)
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	defer func(s time.Time) { t.Logf("waited %v for %s", time.Since(s), what) }(time.Now())
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// quietConfig runs only the heartbeat often; the other families collect
// once at start.
func quietConfig(masters ...string) configs.AgentConfig {
	return configs.AgentConfig{
		Name: "ag", Host: "host-a", Listen: "127.0.0.1:0", Masters: masters,
		ResendAfter: 300 * time.Millisecond,
		Intervals: configs.IntervalConfig{CPU: time.Hour, Memory: time.Hour, Disk: time.Hour, Network: time.Hour,
			Uptime: time.Hour, Ports: time.Hour, Processes: time.Hour, Heartbeat: 50 * time.Millisecond},
	}
}

func TestAgentSurvivesMasterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines and stops a master for seconds")
	}
	pub, priv := testKey(t)
	addr := freeAddr(t)
	m := &fakeMaster{pub: pub}
	m.start(t, addr)
	dir := t.TempDir()
	var dbg sync.Map
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	self, _ := os.Executable()
	cfg := quietConfig(addr)
	cfg.Ports = []configs.PortCheck{{Name: "svc", Port: ln.Addr().(*net.TCPAddr).Port}}
	cfg.Processes = []configs.ProcessCheck{{Name: "self", Match: self}, {Name: "ghost", Match: "no-such-binary-*"}}
	a, err := Start(Options{Config: cfg, DataDir: dir, Key: priv, Logger: testLog,
		Debug: func(s string) { dbg.Store(s, true) }})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "10 reports applied", func() bool { l, _ := m.snapshot(); return l >= 10 })
	waitFor(t, 10*time.Second, "initial checks", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		want := map[string]bool{"port/svc (" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + ")": true, "process/self": true, "process/ghost": false}
		for _, c := range m.checks {
			if up, ok := want[c.Service+"/"+c.Unit]; ok && c.Initial && c.Up == up {
				delete(want, c.Service+"/"+c.Unit)
			}
		}
		return len(want) == 0
	})

	m.stop()
	time.Sleep(2500 * time.Millisecond)
	during := a.Stats()
	if during.Uplinks[0].Queued == 0 {
		t.Errorf("reports were acked while the master was down: %+v", during.Uplinks[0])
	}
	m.start(t, addr)
	waitFor(t, 15*time.Second, "outbox drained after the master restart", func() bool {
		s := a.Stats()
		return s.Uplinks[0].Queued == 0 && s.Uplinks[0].AckedSeq == s.LastSeq && s.LastSeq > during.LastSeq
	})
	st := a.Stats()
	a.Stop()
	a.Stop() // idempotent

	last, applied := m.snapshot()
	if st.Uplinks[0].Dropped != 0 {
		t.Errorf("dropped %d with a roomy outbox", st.Uplinks[0].Dropped)
	}
	for i, s := range applied {
		if s != uint64(i+1) {
			t.Fatalf("applied seqs not exactly 1..%d: position %d holds %d (%v)", last, i, s, applied)
		}
	}
	if last < st.LastSeq || st.Uplinks[0].Resent == 0 {
		t.Errorf("master last %d, agent last %d, resent %d", last, st.LastSeq, st.Uplinks[0].Resent)
	}
	n := 0
	dbg.Range(func(k, _ any) bool {
		n++
		if !strings.Contains(k.(string), `"agent":"ag"`) {
			t.Errorf("debug line %q", k)
		}
		return true
	})
	if n == 0 {
		t.Error("Debug received no reports")
	}
	if st.Collectors["cpu"].Runs == 0 || st.Collectors["heartbeat"].Runs == 0 {
		t.Errorf("collector stats %+v", st.Collectors)
	}

	// A restarted agent never reuses a seq, and the master accepts its first
	// report through Oldest == Seq.
	a2, err := Start(Options{Config: quietConfig(addr), DataDir: dir, Key: priv, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Stop()
	waitFor(t, 10*time.Second, "restarted agent's reports applied", func() bool {
		l, _ := m.snapshot()
		return l > last+5
	})
	_, applied = m.snapshot()
	// The first run reserved 1..seqBlock at start and used fewer, so the
	// restart begins at the next block.
	if first := applied[last]; first != seqBlock+1 {
		t.Errorf("restarted agent began at seq %d (last before restart %d), want %d", first, last, seqBlock+1)
	}
}

func TestAgentDropsOldestExactly(t *testing.T) {
	_, priv := testKey(t)
	cfg := quietConfig(freeAddr(t)) // nobody listens there
	cfg.OutboxSize = 5
	a, err := Start(Options{Config: cfg, DataDir: t.TempDir(), Key: priv, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	waitFor(t, 10*time.Second, "dropped + queued == reports", func() bool {
		s := a.Stats()
		u := s.Uplinks[0]
		return s.Reports >= 12 && u.Queued == 5 && u.Dropped == s.Reports-5
	})
}

func TestStartValidation(t *testing.T) {
	_, priv := testKey(t)
	good := quietConfig("127.0.0.1:1")
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"no masters", func(o *Options) { o.Config.Masters = nil }, "masters is empty"},
		{"bad master", func(o *Options) { o.Config.Masters = []string{"nohost"} }, "not host:port"},
		{"wildcard listen", func(o *Options) { o.Config.Listen = "0.0.0.0:7000" }, "wildcard"},
		{"empty listen host", func(o *Options) { o.Config.Listen = ":7000" }, "no host"},
		{"short key", func(o *Options) { o.Key = priv[:10] }, "ed25519"},
		{"no data dir", func(o *Options) { o.DataDir = "" }, "data dir"},
		{"bad port check", func(o *Options) { o.Config.Ports = []configs.PortCheck{{Name: "x", Port: 70000}} }, "1..65535"},
		{"bad process check", func(o *Options) { o.Config.Processes = []configs.ProcessCheck{{Name: "x"}} }, "match glob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Config: good, DataDir: t.TempDir(), Key: priv, Logger: testLog}
			o.Config.Masters = append([]string(nil), good.Masters...)
			tt.mod(&o)
			a, err := Start(o)
			if err == nil {
				a.Stop()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestRecoverMiddlewareKeepsActorAlive(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	pid := e.SpawnFunc(func(c *actor.Context) {
		if s, ok := c.Message().(string); ok {
			if s == "panic" {
				panic("boom")
			}
			got <- s
		}
	}, "p", actor.WithMaxRestarts(0), actor.WithMiddleware(recoverMW(testLog, "p")))
	e.Send(pid, "panic")
	e.Send(pid, "after")
	select {
	case s := <-got:
		if s != "after" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("actor did not survive the panic")
	}
}

func TestAgentKeepsRejectedReports(t *testing.T) {
	otherPub, _ := testKey(t)
	_, priv := testKey(t)
	addr := freeAddr(t)
	m := &fakeMaster{pub: otherPub} // the master knows another key: every report is rejected
	m.start(t, addr)
	defer m.stop()
	a, err := Start(Options{Config: quietConfig(addr), DataDir: t.TempDir(), Key: priv, Logger: testLog})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	waitFor(t, 10*time.Second, "rejection seen, reports kept", func() bool {
		u := a.Stats().Uplinks[0]
		return strings.Contains(u.LastReject, "bad signature") && u.Queued >= 5 && u.AckedSeq == 0
	})
}
