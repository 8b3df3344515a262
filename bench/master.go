package bench

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/lookout-mon/lookout/pki"
)

// MasterSpec describes the master process the bench starts.
type MasterSpec struct {
	Binary     string // the lookout binary
	Dir        string // data dir and config file live here
	Listen     string // agent ingest address (loopback)
	WebhookURL string
	Keys       map[string]ed25519.PublicKey
	Pprof      string // optional --pprof address
}

// masterConfig renders the master's config. JSON is valid YAML, so the
// document is built from maps and marshalled with encoding/json.
func masterConfig(s MasterSpec) ([]byte, error) {
	names := make([]string, 0, len(s.Keys))
	for n := range s.Keys {
		names = append(names, n)
	}
	sort.Strings(names)
	agents := make([]map[string]string, 0, len(names))
	for _, n := range names {
		agents = append(agents, map[string]string{"name": n, "public_key": pki.EncodePublicKey(s.Keys[n])})
	}
	cfg := map[string]any{
		"node": map[string]any{"name": "bench-master", "data_dir": filepath.Join(s.Dir, "data")},
		"master": map[string]any{
			"enabled":           true,
			"listen":            s.Listen,
			"insecure_loopback": true,
			"agents":            agents,
			"host_timeout":      "10m",
			"rate_limit":        1000,
			"rate_burst":        10000,
			"rules":             []map[string]string{{"name": "bench", "expr": BenchRule}},
			"watchdog":          map[string]any{"agent_silence": "1h"},
			"notifiers": map[string]any{
				"webhook": []map[string]any{{"name": "sink", "url": s.WebhookURL, "min_level": "WARN", "timeout": "5s"}},
				"outbox":  map[string]any{"retry_min": "100ms", "retry_max": "1s"},
			},
		},
		"agent": map[string]any{"enabled": false},
		"http":  map[string]any{"enabled": false},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// MasterProc is a running `lookout master` process.
type MasterProc struct {
	cmd     *exec.Cmd
	logPath string
	done    chan error
}

// StartMaster writes the config and starts `lookout master`, returning
// once it printed that it runs (or failing with its log's tail).
func StartMaster(ctx context.Context, s MasterSpec) (*MasterProc, error) {
	b, err := masterConfig(s)
	if err != nil {
		return nil, fmt.Errorf("bench: rendering master config: %w", err)
	}
	cfgPath := filepath.Join(s.Dir, "master.yaml")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return nil, fmt.Errorf("bench: writing master config: %w", err)
	}
	args := []string{"master", "-c", cfgPath, "--log-level", "info"}
	if s.Pprof != "" {
		args = append(args, "--pprof", s.Pprof)
	}
	logPath := filepath.Join(s.Dir, "master.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("bench: creating master log: %w", err)
	}
	cmd := exec.Command(s.Binary, args...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("bench: master stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("bench: starting %s master: %w", s.Binary, err)
	}
	m := &MasterProc{cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), " running (") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
		m.done <- cmd.Wait()
		_ = logf.Close()
	}()
	select {
	case <-ready:
		return m, nil
	case err := <-m.done:
		m.done <- err
		return nil, fmt.Errorf("bench: master exited before it was ready (%v): %s", err, m.logTail())
	case <-time.After(30 * time.Second):
		m.Stop()
		return nil, fmt.Errorf("bench: master not ready after 30s: %s", m.logTail())
	case <-ctx.Done():
		m.Stop()
		return nil, ctx.Err()
	}
}

// PID is the master's process id.
func (m *MasterProc) PID() int { return m.cmd.Process.Pid }

// logTail returns the end of the master's stderr.
func (m *MasterProc) logTail() string {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// ingestTotals returns the fields of the master's "ingest totals" log
// line (written when it stops), or "".
func (m *MasterProc) ingestTotals() string {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(b)) {
		if _, rest, ok := strings.Cut(line, `msg="master: ingest totals" `); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// Stop sends SIGTERM and waits up to 15 s, then kills.
func (m *MasterProc) Stop() error {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-m.done:
		m.done <- err
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return err
		}
		return nil
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		err := <-m.done
		m.done <- err
		return fmt.Errorf("bench: master did not stop within 15s after SIGTERM; killed: %s", m.logTail())
	}
}
