package cluster_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/cluster"
	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/wire"
)

var lookoutBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	bin, cleanup, err := testutil.BuildLookout(false)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster e2e:", err)
		os.Exit(1)
	}
	lookoutBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

func freePort(t *testing.T) string { return testutil.FreeAddr(t) }

// sink is the one webhook endpoint all masters deliver to.
type sink struct {
	mu     sync.Mutex
	counts map[string]int
	first  map[string]time.Time
	all    []time.Time
}

func newSink(t *testing.T) (*sink, string) {
	s := &sink{counts: map[string]int{}, first: map[string]time.Time{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n struct {
			ID   string `json:"id"`
			Host string `json:"host"`
		}
		if err := json.Unmarshal(body, &n); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		id := r.Header.Get("X-Lookout-Id")
		if id == "" {
			id = n.ID
		}
		if n.Host == testHost {
			now := time.Now()
			s.mu.Lock()
			s.counts[id]++
			if _, ok := s.first[id]; !ok {
				s.first[id] = now
			}
			s.all = append(s.all, now)
			s.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[id]
}

func (s *sink) firstAfter(t0 time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.all {
		if at.After(t0) {
			return at
		}
	}
	return time.Time{}
}

const (
	testHost  = "th1"
	testAgent = "ta"
	checkUnit = "web (8080)"
)

// proc is one `lookout master` OS process.
type proc struct {
	name, cfg, log, ingest, http string
	cmd                          *exec.Cmd
	done                         chan struct{}
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	lf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(lookoutBin, "master", "-c", p.cfg)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { _ = p.cmd.Wait(); lf.Close(); close(p.done) }()
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not exit within 15s of %v", p.name, sig)
	}
}

func (p *proc) members() ([]model.MemberStatus, error) {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(p.http + "/api/v1/cluster")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var ms []model.MemberStatus
	return ms, json.NewDecoder(resp.Body).Decode(&ms)
}

// settled reports whether p sees want alive members and no replication lag.
func (p *proc) settled(want int) bool {
	ms, err := p.members()
	if err != nil {
		return false
	}
	alive := 0
	for _, m := range ms {
		if m.Alive {
			alive++
		}
		if m.Alive && m.Lag > 0 {
			return false
		}
	}
	return alive == want
}

// testAgentT signs reports and sends each to every master over hollywood
// remote, one engine per master (a dead master's reconnect stall must not
// delay the others). Like the real agent's uplink (resend in order until
// acked), reports meant for a master that is down are kept and sent, in
// order, when it is back (pause/resume, driven by the test, which knows).
type testAgentT struct {
	key     ed25519.PrivateKey
	engines []*actor.Engine
	targets []*actor.PID
	mu      sync.Mutex
	seq     uint64
	up      bool
	ids     []string
	paused  map[int][]*anypb.Any
}

func (a *testAgentT) pause(i int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.paused[i]; !ok {
		a.paused[i] = []*anypb.Any{}
	}
}

// resume waits until master p is up (its API answers: the actor tree and
// the ingest actor exist by then), then sends what it missed.
func (a *testAgentT) resume(t *testing.T, i int, p *proc) {
	t.Helper()
	waitFor(t, p.name+" API after restart", 10*time.Second, func() bool {
		_, err := p.members()
		return err == nil
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, msg := range a.paused[i] {
		a.engines[i].Send(a.targets[i], msg)
	}
	delete(a.paused, i)
}

func newTestAgent(t *testing.T, key ed25519.PrivateKey, ingests []string) *testAgentT {
	a := &testAgentT{key: key, up: true, paused: map[int][]*anypb.Any{}}
	for _, in := range ingests {
		r := remote.New(freePort(t), remote.NewConfig())
		e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Stop() })
		a.engines = append(a.engines, e)
		a.targets = append(a.targets, actor.NewPID(in, wire.IngestID))
	}
	return a
}

func notifID(parts ...any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:12])
}

// report sends the next report; flip toggles the port check and returns
// the notification ID every master computes for that transition.
func (a *testAgentT) report(t *testing.T, flip bool) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seq++
	first := a.seq == 1
	if flip && !first {
		a.up = !a.up
	}
	r := &model.Report{Version: 1, Agent: testAgent, Host: testHost, Seq: a.seq, Oldest: a.seq, Time: time.Now().UnixNano(),
		Checks: []model.Check{{Service: model.ServicePort, Unit: checkUnit, Up: a.up, Initial: first}}}
	msg, err := wire.SignReport(a.key, r)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range a.engines {
		if q, ok := a.paused[i]; ok {
			a.paused[i] = append(q, msg)
			continue
		}
		e.Send(a.targets[i], msg)
	}
	if !flip || first {
		return ""
	}
	kind := "down"
	if a.up {
		kind = "up"
	}
	id := notifID(testHost, kind, model.ServicePort+"|"+checkUnit, a.seq)
	a.ids = append(a.ids, id)
	return id
}

// stream sends n flips every `every`, calling during(i) before flip i.
func (a *testAgentT) stream(t *testing.T, n int, every time.Duration, during func(i int)) []string {
	var ids []string
	for i := 0; i < n; i++ {
		if during != nil {
			during(i)
		}
		ids = append(ids, a.report(t, true))
		time.Sleep(every)
	}
	return ids
}

// traceID logs every log line of every master that mentions id.
func traceID(t *testing.T, procs []*proc, id string) {
	for _, p := range procs {
		b, _ := os.ReadFile(p.log)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, id) {
				t.Logf("%s: %s", p.name, l)
			}
		}
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestClusterE2E runs three master processes and checks exactly-once
// delivery, failover on kill -9 of the owner, catch-up after restart, and
// a rolling restart.
func TestClusterE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three master processes")
	}
	dir := t.TempDir()
	snk, sinkURL := newSink(t)
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"m1", "m2", "m3"}
	clusterAddrs := []string{freePort(t), freePort(t), freePort(t)}
	var procs []*proc
	var ingests []string
	for i, name := range names {
		p := &proc{name: name, cfg: filepath.Join(dir, name+".yaml"), log: filepath.Join(dir, name+".log"),
			ingest: freePort(t)}
		httpAddr := freePort(t)
		p.http = "http://" + httpAddr
		var peers []string
		for j, a := range clusterAddrs {
			if j != i {
				peers = append(peers, fmt.Sprintf("%q", a))
			}
		}
		cfg := fmt.Sprintf(`node:
  name: %s
  data_dir: %s
master:
  enabled: true
  listen: %s
  insecure_loopback: true
  host_timeout: 10m
  persistent_downtime: 1h
  agents:
    - name: %s
      public_key: %s
  notifiers:
    outbox:
      retry_min: 100ms
      retry_max: 1s
    webhook:
      - name: sink
        url: %s
        timeout: 2s
agent:
  enabled: false
http:
  enabled: true
  listen: %s
  public_read_only: true
cluster:
  enabled: true
  listen: %s
  insecure_loopback: true
  peers: [%s]
`, name, filepath.Join(dir, "data-"+name), p.ingest, testAgent, pki.EncodePublicKey(pub), sinkURL, httpAddr,
			clusterAddrs[i], strings.Join(peers, ", "))
		if err := os.WriteFile(p.cfg, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, p)
		ingests = append(ingests, p.ingest)
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p.cmd != nil && p.cmd.ProcessState == nil {
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			for _, p := range procs {
				if b, err := os.ReadFile(p.log); err == nil {
					keep := filepath.Join(os.TempDir(), "lookout-e2e-"+p.name+".log")
					if os.WriteFile(keep, b, 0o600) == nil {
						t.Logf("%s log kept in %s", p.name, keep)
					}
				}
				b, _ := os.ReadFile(p.log)
				lines := strings.Split(string(b), "\n")
				if len(lines) > 40 {
					lines = lines[len(lines)-40:]
				}
				t.Logf("--- %s log tail ---\n%s", p.name, strings.Join(lines, "\n"))
			}
		}
	})

	// 1. Formation and exactly-once delivery.
	t0 := time.Now()
	for _, p := range procs {
		p.start(t)
	}
	allSettled := func(ps []*proc) func() bool {
		return func() bool {
			for _, p := range ps {
				if !p.settled(len(ps)) {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "cluster formation", 20*time.Second, allSettled(procs))
	t.Logf("cluster formation (process start -> every member sees 3 alive): %s", time.Since(t0).Round(time.Millisecond))
	time.Sleep(time.Second) // readiness flags propagate

	ag := newTestAgent(t, key, ingests)
	ag.report(t, false) // initial: port up, host new
	time.Sleep(300 * time.Millisecond)
	ids := ag.stream(t, 100, 20*time.Millisecond, nil)
	checkAll := func(ids []string, timeout time.Duration) {
		t.Helper()
		waitFor(t, "every notification delivered", timeout, func() bool {
			for _, id := range ids {
				if snk.count(id) == 0 {
					return false
				}
			}
			return true
		})
	}
	checkAll(ids, 20*time.Second)
	time.Sleep(time.Second) // late duplicates would show now
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
		if n := snk.count(id); n != 1 {
			t.Errorf("phase 1: notification %s delivered %d times, want exactly 1", id, n)
		}
	}
	if len(distinct) != 100 {
		t.Fatalf("phase 1: %d distinct ids, want 100", len(distinct))
	}

	// 2. kill -9 the owner while alerts stream.
	owner := cluster.Owner(testHost, names)
	var victim *proc
	vi := 0
	for i, p := range procs {
		if p.name == owner {
			victim, vi = p, i
		}
	}
	var killedAt time.Time
	ids2 := ag.stream(t, 100, 20*time.Millisecond, func(i int) {
		if i == 20 {
			killedAt = time.Now()
			ag.pause(vi)
			_ = victim.cmd.Process.Kill()
			<-victim.done
		}
	})
	checkAll(ids2, 20*time.Second)
	if first := snk.firstAfter(killedAt); !first.IsZero() {
		t.Logf("failover (kill -9 of owner %s -> next notification from the new owner): %s", owner, first.Sub(killedAt).Round(time.Millisecond))
	}
	dups := 0
	for _, id := range ids2 {
		if n := snk.count(id); n > 1 {
			dups += n - 1
		}
	}
	t.Logf("phase 2: %d notifications, %d duplicates (in flight at the kill)", len(ids2), dups)
	if dups > 1 {
		t.Errorf("phase 2: %d duplicates, want at most 1 (one send in flight)", dups)
	}

	// 3. Restart the killed master: it catches up and sends no duplicates.
	before := map[string]int{}
	for _, id := range append(append([]string{}, ids...), ids2...) {
		before[id] = snk.count(id)
	}
	victim.start(t)
	ag.resume(t, vi, victim)
	d := waitFor(t, "restarted master caught up", 20*time.Second, allSettled(procs))
	t.Logf("restarted %s caught up in %s", victim.name, d.Round(time.Millisecond))
	time.Sleep(time.Second)
	ids3 := ag.stream(t, 20, 20*time.Millisecond, nil)
	checkAll(ids3, 20*time.Second)
	time.Sleep(time.Second)
	for id, n := range before {
		if got := snk.count(id); got != n {
			t.Errorf("phase 3: notification %s re-sent after restart (%d -> %d)", id, n, got)
		}
	}
	for _, id := range ids3 {
		if n := snk.count(id); n != 1 {
			t.Errorf("phase 3: notification %s delivered %d times, want exactly 1", id, n)
		}
	}

	// 4. Rolling restart of all three while alerts stream: nothing lost.
	stop := make(chan struct{})
	var ids4 []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ids4 = append(ids4, ag.report(t, true))
			time.Sleep(50 * time.Millisecond)
		}
	}()
	for i, p := range procs {
		ag.pause(i)
		p.signal(t, syscall.SIGTERM)
		p.start(t)
		ag.resume(t, i, p)
		waitFor(t, p.name+" back after rolling restart", 20*time.Second, allSettled(procs))
	}
	close(stop)
	wg.Wait()
	checkAll(ids4, 20*time.Second)
	time.Sleep(time.Second)
	dups = 0
	for _, id := range ids4 {
		if n := snk.count(id); n > 1 {
			dups += n - 1
			traceID(t, procs, id)
		}
	}
	t.Logf("phase 4 (rolling restart): %d notifications, none lost, %d duplicates", len(ids4), dups)
	if dups > len(procs) {
		t.Errorf("phase 4: %d duplicates, want at most one per restart", dups)
	}
}
