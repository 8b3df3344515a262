package app

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/wire"
)

// childEnv names the config file when the test binary runs as a lookout
// master child process (see TestMain).
const childEnv = "LOOKOUT_APP_TEST_CHILD"

// TestMain runs the test binary as a master process when childEnv is set:
// it starts the app from that config, prints "ready", answers each "stats"
// line on stdin with the ingest stats as one JSON line, and stops when its
// stdin closes.
func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

func runChild(path string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := configs.Load(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a, err := Start(cfg, Options{Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := a.Master.IngestStats(ctx)
		cancel()
		if err != nil {
			st = actors.IngestStats{}
		}
		b, _ := json.Marshal(st)
		fmt.Println(string(b))
	}
	a.Stop()
	return 0
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("RSS needs /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// ackCounter is the fake agents' ack receiver.
type ackCounter struct {
	mu    sync.Mutex
	acked map[string]uint64
}

func (a *ackCounter) Receive(c *actor.Context) {
	m, ok := c.Message().(*anypb.Any)
	if !ok {
		return
	}
	var ack model.Ack
	if err := wire.Decode(m, wire.TypeAck, &ack); err != nil || ack.Reject != "" {
		return
	}
	a.mu.Lock()
	if ack.Seq > a.acked[ack.Agent] {
		a.acked[ack.Agent] = ack.Seq
	}
	a.mu.Unlock()
}

func (a *ackCounter) get(agent string) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.acked[agent]
}

// TestRateLimitProcess runs a master as its own process, floods it from one
// agent at 100x its rate limit while a second agent reports normally, and
// checks that the master's RSS stays bounded, the flood is cut to the rate
// limit, and the other agent's reports keep being acknowledged.
func TestRateLimitProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a master child process and floods it for ~8 s")
	}
	_, floodKey, _ := ed25519.GenerateKey(nil)
	_, calmKey, _ := ed25519.GenerateKey(nil)
	masterAddr, agentAddr := freePort(t), freePort(t)
	const rate = 20
	cfgPath := filepath.Join(t.TempDir(), "master.yaml")
	cfg := fmt.Sprintf(`
node: {name: m1, data_dir: %s}
master:
  enabled: true
  listen: %s
  insecure_loopback: true
  rate_limit: %d
  rate_burst: 40
  agents:
    - {name: flood, public_key: %s}
    - {name: calm, public_key: %s}
http: {enabled: false}
agent: {enabled: false}
`, filepath.Join(t.TempDir(), "data"), masterAddr, rate,
		pki.EncodePublicKey(floodKey.Public().(ed25519.PublicKey)), pki.EncodePublicKey(calmKey.Public().(ed25519.PublicKey)))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"="+cfgPath)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	stderr := &syncBuffer{}
	child.Stderr = stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- child.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("master child: %v\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			_ = child.Process.Kill()
			t.Errorf("master child did not stop")
		}
	}()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("master child did not start: %q %v\n%s", line, err, stderr.String())
	}

	r := remote.New(agentAddr, remote.NewConfig())
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { r.Stop().Wait() }()
	acks := &ackCounter{acked: map[string]uint64{}}
	me := e.Spawn(func() actor.Receiver { return acks }, "acks")
	ingest := actor.NewPID(masterAddr, wire.IngestID)
	send := func(key ed25519.PrivateKey, agent string, seq uint64) {
		rep := &model.Report{Version: model.ProtocolVersion, Agent: agent, Host: agent, Seq: seq, Oldest: seq,
			Time: time.Now().UnixNano(), Samples: []model.Sample{{Service: "machine", Resource: "load", Unit: "system",
				Values: map[string]float64{"load1": float64(seq % 7)}}}}
		msg, err := wire.SignReport(key, rep)
		if err != nil {
			t.Error(err)
			return
		}
		e.SendWithSender(ingest, msg, me)
	}
	var calmSeq uint64
	for calmSeq = 1; calmSeq <= 3; calmSeq++ {
		send(calmKey, "calm", calmSeq)
		time.Sleep(300 * time.Millisecond)
	}
	defer func() {
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr.String())
		}
	}()
	waitFor(t, 10*time.Second, "calm agent's first acks", func() bool { return acks.get("calm") == calmSeq-1 })
	baseline := rssKiB(t, child.Process.Pid)

	// Flood: 100x the rate limit for 8 s, the calm agent at 2 reports/s.
	const floodFor = 8 * time.Second
	start := time.Now()
	var floodSeq uint64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	nextCalm := start
	peak := baseline
	for time.Since(start) < floodFor {
		<-tick.C
		for range 100 * rate / 100 { // 20 per 10 ms = 2000/s
			floodSeq++
			send(floodKey, "flood", floodSeq)
		}
		if time.Now().After(nextCalm) {
			send(calmKey, "calm", calmSeq)
			calmSeq++
			nextCalm = nextCalm.Add(500 * time.Millisecond)
		}
		if floodSeq%1000 == 0 {
			peak = max(peak, rssKiB(t, child.Process.Pid))
		}
	}
	elapsed := time.Since(start)
	waitFor(t, 10*time.Second, "the calm agent's reports acknowledged during the flood",
		func() bool { return acks.get("calm") == calmSeq-1 })
	peak = max(peak, rssKiB(t, child.Process.Pid))
	// Wait for the master to drain its inbox, then read its counters.
	var st actors.IngestStats
	waitFor(t, 20*time.Second, "the flood to be processed", func() bool {
		if _, err := io.WriteString(stdin, "stats\n"); err != nil {
			t.Fatal(err)
		}
		l, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stats: %v", err)
		}
		st = actors.IngestStats{}
		if err := json.Unmarshal([]byte(l), &st); err != nil {
			t.Fatalf("stats %q: %v", l, err)
		}
		return st.Accepted+st.RateLimited+st.Duplicates+st.Gaps >= floodSeq+calmSeq-1
	})
	t.Logf("flood: %d sent in %s; master: %+v; RSS %d -> peak %d KiB",
		floodSeq, elapsed.Round(time.Millisecond), st, baseline, peak)

	// Accepted: the calm agent's reports, plus the flood cut to burst +
	// rate x time (with slack for timing).
	calm := calmSeq - 1
	flood := st.Accepted - calm
	if limit := uint64(40 + rate*elapsed.Seconds()*1.5 + 20); st.Accepted < calm || flood > limit {
		t.Errorf("accepted %d reports (%d calm): the rate limit allows about %d of the flood", st.Accepted, calm, limit)
	}
	if st.RateLimited < floodSeq/2 {
		t.Errorf("only %d of %d flood reports were rate limited", st.RateLimited, floodSeq)
	}
	// 100 MiB of growth without the race detector; its shadow memory
	// multiplies every allocation.
	if growth := peak - baseline; growth > 100<<10*raceMemFactor {
		t.Errorf("master RSS grew by %d MiB under the flood (baseline %d MiB, race detector %v)", growth>>10, baseline>>10, raceEnabled)
	}
}
