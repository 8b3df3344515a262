package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/web"
)

// lookoutBin is the binary built once by TestMain.
var lookoutBin string

func TestMain(m *testing.M) {
	// LOOKOUT_E2E_RACE race-checks the processes too (slower).
	bin, cleanup, err := testutil.BuildLookout(os.Getenv("LOOKOUT_E2E_RACE") != "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	lookoutBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// output collects the lines a process writes to one stream.
type output struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line
	closed  bool
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) add(line string) {
	o.mu.Lock()
	o.lines = append(o.lines, line)
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

func (o *output) close() {
	o.mu.Lock()
	o.closed = true
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// Lines returns a copy of every line so far.
func (o *output) Lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.lines...)
}

// tail returns the last n lines.
func (o *output) tail(n int) []string {
	l := o.Lines()
	if len(l) > n {
		return l[len(l)-n:]
	}
	return l
}

// WaitLine waits until a line matches re and returns its submatches.
func (o *output) WaitLine(re *regexp.Regexp, timeout time.Duration) ([]string, bool) {
	var got []string
	ok := o.Wait(timeout, func(lines []string) bool {
		for _, l := range lines {
			if m := re.FindStringSubmatch(l); m != nil {
				got = m
				return true
			}
		}
		return false
	})
	return got, ok
}

// Wait waits until cond holds for the lines so far (checked on every new
// line), or timeout.
func (o *output) Wait(timeout time.Duration, cond func(lines []string) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		o.mu.Lock()
		ch, lines, closed := o.changed, o.lines, o.closed
		o.mu.Unlock()
		if cond(lines) {
			return true
		}
		if closed {
			return false
		}
		select {
		case <-ch:
		case <-deadline.C:
			return cond(o.Lines())
		}
	}
}

// proc is one lookout OS process.
type proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	Stdout *output
	Stderr *output
	done   chan struct{}
	err    error // Wait's result, valid once done is closed
}

// startProc starts lookout with args in dir. The environment is the test's
// minus every LOOKOUT_* variable, plus env. Output is kept and logged when
// the test fails; the process is killed at the end of the test.
func startProc(t testing.TB, name, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(lookoutBin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LOOKOUT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	p := &proc{t: t, name: name, cmd: cmd, Stdout: newOutput(), Stderr: newOutput(), done: make(chan struct{})}
	so, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: stdout pipe: %v", name, err)
	}
	se, err := cmd.StderrPipe()
	if err != nil {
		t.Fatalf("%s: stderr pipe: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start %s: %v", name, strings.Join(args, " "), err)
	}
	var wg sync.WaitGroup
	for _, s := range []struct {
		r io.Reader
		o *output
	}{{so, p.Stdout}, {se, p.Stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(s.r)
			sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
			for sc.Scan() {
				s.o.add(sc.Text())
			}
			_, _ = io.Copy(io.Discard, s.r)
			s.o.close()
		}()
	}
	go func() {
		wg.Wait() // read everything before Wait closes the pipes
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.Exited() {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		// A panic (also one an actor survived), a Go runtime fatal error or
		// (with LOOKOUT_E2E_RACE) a data race in any process fails the test,
		// even if the checks passed.
		for _, l := range p.Stderr.Lines() {
			if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") || strings.Contains(l, "WARNING: DATA RACE") || strings.Contains(l, `msg="actor panicked`) {
				t.Errorf("%s: %s", p.name, l)
				break
			}
		}
		if t.Failed() {
			p.logTail(150)
		}
	})
	return p
}

// logTail writes the last n lines of both streams to the test log.
func (p *proc) logTail(n int) {
	p.t.Logf("----- %s (pid %d) stdout, last %d lines -----\n%s", p.name, p.cmd.Process.Pid, n, strings.Join(p.Stdout.tail(n), "\n"))
	p.t.Logf("----- %s (pid %d) stderr, last %d lines -----\n%s", p.name, p.cmd.Process.Pid, n, strings.Join(p.Stderr.tail(n), "\n"))
}

// Exited reports whether the process has ended.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill9 kills the process with SIGKILL and waits for it.
func (p *proc) Kill9() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !p.Exited() {
		p.t.Fatalf("%s: kill -9: %v", p.name, err)
	}
	<-p.done
}

// Stop sends SIGTERM and waits for a clean exit (code 0).
func (p *proc) Stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.Exited() {
		p.t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	code, err := p.WaitExit(20 * time.Second)
	if err != nil {
		p.t.Fatalf("%s: after SIGTERM: %v", p.name, err)
	}
	if code != 0 {
		p.t.Fatalf("%s: exit code %d after SIGTERM, want 0", p.name, code)
	}
}

// WaitExit waits up to timeout for the process to end and returns its exit
// code (-1 when killed by a signal).
func (p *proc) WaitExit(timeout time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("%s still running after %s", p.name, timeout)
	}
	if p.err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, p.err
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int { return testutil.FreePort(t) }

// freeAddr is freePort as "127.0.0.1:port".
func freeAddr(t testing.TB) string { return "127.0.0.1:" + strconv.Itoa(freePort(t)) }

// writeConfig writes cfg as JSON (a subset of YAML) and returns the path.
func writeConfig(t testing.TB, dir, name string, cfg map[string]any) string {
	t.Helper()
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testPassword is the API/dashboard password of the test user "admin".
const testPassword = "e2e-secret-password"

var (
	hashOnce sync.Once
	pwHash   string
	hashErr  error
)

// adminUser returns the http.users entry for admin/testPassword, hashed by
// web.HashPassword.
func adminUser(t testing.TB) map[string]any {
	t.Helper()
	hashOnce.Do(func() { pwHash, hashErr = web.HashPassword(testPassword) })
	if hashErr != nil {
		t.Fatalf("hash password: %v", hashErr)
	}
	return map[string]any{"name": "admin", "password_hash": pwHash}
}

// agentKey is an agent's signing key file and its public key for the
// master's agents list.
type agentKey struct {
	Name, File, Pub string
}

func newAgentKey(t testing.TB, dir, name string) agentKey {
	t.Helper()
	f := filepath.Join(dir, name+".key")
	pub, err := pki.GenerateAgentKey(f)
	if err != nil {
		t.Fatalf("agent key: %v", err)
	}
	return agentKey{Name: name, File: f, Pub: pki.EncodePublicKey(pub)}
}

// masterNode is a master (with dashboard) whose process can be killed and
// started again on the same config and data dir.
type masterNode struct {
	t      testing.TB
	Dir    string // working dir; data under Dir/data
	Config string
	Ingest string // agents' address
	URL    string // dashboard base URL, "http://127.0.0.1:P"
	API    *apiClient
	P      *proc   // the current process
	Procs  []*proc // every process started, in order
}

// masterOpts configures startMaster.
type masterOpts struct {
	Agents      []agentKey
	Rules       []map[string]string // name, expr
	WebhookURL  string
	HostTimeout time.Duration // default 3s
}

// startMaster starts `lookout master --debug` and waits until its dashboard
// answers.
func startMaster(t testing.TB, o masterOpts) *masterNode {
	t.Helper()
	dir := t.TempDir()
	m := &masterNode{t: t, Dir: dir, Ingest: freeAddr(t)}
	httpAddr := freeAddr(t)
	m.URL = "http://" + httpAddr
	m.API = &apiClient{Base: m.URL, User: "admin", Password: testPassword}
	if o.HostTimeout == 0 {
		o.HostTimeout = 3 * time.Second
	}
	var agents []map[string]any
	for _, a := range o.Agents {
		agents = append(agents, map[string]any{"name": a.Name, "public_key": a.Pub})
	}
	master := map[string]any{
		"enabled": true, "listen": m.Ingest, "insecure_loopback": true,
		"host_timeout": o.HostTimeout.String(), "agents": agents,
	}
	if o.Rules != nil {
		master["rules"] = o.Rules
	}
	if o.WebhookURL != "" {
		master["notifiers"] = map[string]any{
			"webhook": []map[string]any{{"name": "sink", "url": o.WebhookURL, "timeout": "2s"}},
			"outbox":  map[string]any{"retry_min": "200ms", "retry_max": "1s"},
		}
	}
	m.Config = writeConfig(t, dir, "master.yaml", map[string]any{
		"node":   map[string]any{"name": "m1", "data_dir": filepath.Join(dir, "data")},
		"master": master,
		"agent":  map[string]any{"enabled": false},
		"http":   map[string]any{"enabled": true, "listen": httpAddr, "users": []any{adminUser(t)}},
	})
	m.Start()
	return m
}

// Start starts the master process (again) and waits until the API answers.
func (m *masterNode) Start() {
	m.t.Helper()
	if m.P != nil && !m.P.Exited() {
		m.t.Fatalf("master: Start while the previous process is running")
	}
	m.P = startProc(m.t, fmt.Sprintf("master#%d", len(m.Procs)+1), m.Dir, nil, "master", "-c", m.Config, "--debug")
	m.Procs = append(m.Procs, m.P)
	if _, ok := m.P.Stdout.WaitLine(regexp.MustCompile(`^dashboard: `), 20*time.Second); !ok {
		m.t.Fatalf("master did not print its dashboard URL within 20s")
	}
}

// agentNode is an agent process with a textfile directory.
type agentNode struct {
	t        testing.TB
	Dir      string
	Config   string
	Host     string
	Textfile string
	P        *proc
	started  int
}

// agentOpts configures startAgent.
type agentOpts struct {
	Key     agentKey
	Host    string
	Masters []string
	// Intervals overrides agent.intervals (e.g. "cpu": "1h").
	Intervals map[string]string
	// Textfile is written before the agent starts (name -> content).
	Textfile map[string]string
}

// startAgent starts `lookout agent --debug --log-level debug`: stdout has
// every report built (one JSON line each), stderr the "ack received" lines.
func startAgent(t testing.TB, o agentOpts) *agentNode {
	t.Helper()
	dir := t.TempDir()
	a := &agentNode{t: t, Dir: dir, Host: o.Host, Textfile: filepath.Join(dir, "textfile")}
	if err := os.Mkdir(a.Textfile, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range o.Textfile {
		a.Write(name, content)
	}
	iv := map[string]string{"cpu": "1s", "memory": "1s", "heartbeat": "1s", "disk": "1h", "network": "1h", "uptime": "1h"}
	for k, v := range o.Intervals {
		iv[k] = v
	}
	a.Config = writeConfig(t, dir, "agent.yaml", map[string]any{
		"node":   map[string]any{"name": o.Key.Name, "data_dir": filepath.Join(dir, "data")},
		"master": map[string]any{"enabled": false},
		"http":   map[string]any{"enabled": false},
		"agent": map[string]any{
			"enabled": true, "name": o.Key.Name, "host": o.Host, "key_file": o.Key.File,
			"listen": freeAddr(t), "insecure_loopback": true, "masters": o.Masters,
			"resend_after": "500ms", "intervals": iv, "textfile_dir": a.Textfile,
		},
	})
	a.Start()
	return a
}

// Start starts the agent process (again).
func (a *agentNode) Start() {
	a.t.Helper()
	a.started++
	a.P = startProc(a.t, fmt.Sprintf("agent#%d", a.started), a.Dir, nil, "agent", "-c", a.Config, "--debug", "--log-level", "debug")
	if _, ok := a.P.Stderr.WaitLine(regexp.MustCompile(`msg="agent started"`), 20*time.Second); !ok {
		a.t.Fatalf("agent did not start within 20s")
	}
}

// Write replaces the textfile name atomically (write + rename).
func (a *agentNode) Write(name, content string) {
	a.t.Helper()
	tmp := filepath.Join(a.Textfile, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(a.Textfile, name)); err != nil {
		a.t.Fatal(err)
	}
}

// reportLine is the part of an agent --debug report line the tests use.
type reportLine struct {
	Agent   string         `json:"agent"`
	Seq     uint64         `json:"seq"`
	Samples []model.Sample `json:"samples"`
}

// WaitReportWith waits until the agent printed a report whose sample
// series ("service.resource:unit") has attr == value, and returns its seq.
func (a *agentNode) WaitReportWith(series, attr string, value float64, timeout time.Duration) (uint64, bool) {
	var seq uint64
	ok := a.P.Stdout.Wait(timeout, func(lines []string) bool {
		for _, l := range lines {
			if !strings.HasPrefix(l, "{") || !strings.Contains(l, attr) {
				continue
			}
			var r reportLine
			if json.Unmarshal([]byte(l), &r) != nil {
				continue
			}
			for _, s := range r.Samples {
				if v, ok := s.Values[attr]; ok && s.Key() == series && v == value {
					seq = r.Seq
					return true
				}
			}
		}
		return false
	})
	return seq, ok
}

// Seqs returns the seq of every report the agent printed so far.
func (a *agentNode) Seqs() []uint64 { return reportSeqs(a.P.Stdout.Lines()) }

func reportSeqs(lines []string) []uint64 {
	var out []uint64
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var r reportLine
		if json.Unmarshal([]byte(l), &r) == nil && r.Seq > 0 {
			out = append(out, r.Seq)
		}
	}
	return out
}

var ackRE = regexp.MustCompile(`msg="ack received".* acked_seq=(\d+)`)

// MaxAcked returns the highest seq a master acknowledged to the agent.
func (a *agentNode) MaxAcked() uint64 {
	var hi uint64
	for _, l := range a.P.Stderr.Lines() {
		if m := ackRE.FindStringSubmatch(l); m != nil {
			if v, _ := strconv.ParseUint(m[1], 10, 64); v > hi {
				hi = v
			}
		}
	}
	return hi
}

// apiClient calls the JSON API with HTTP basic auth.
type apiClient struct {
	Base, User, Password string
}

// Get decodes GET /api/v1/path into v.
func (c *apiClient) Get(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/api/v1/"+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.User, c.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: decode %q: %w", path, b, err)
	}
	return nil
}

// query runs `lookout query ARGS` against base with the password in
// $LOOKOUT_PASSWORD and returns its stdout.
func query(t testing.TB, base, password string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lookoutBin, append([]string{"query", "--url", base}, args...)...)
	cmd.Env = append(os.Environ(), "LOOKOUT_PASSWORD="+password)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		return so.String(), fmt.Errorf("lookout query %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(se.String()))
	}
	return so.String(), nil
}

// eventually polls f every 100ms until it returns nil or timeout passes,
// and returns the last error.
func eventually(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
