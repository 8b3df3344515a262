package main

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/agent"
	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/wire"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	noKey := writeFile(t, dir, "nokey.yaml", fmt.Sprintf(`
node: {name: h1, data_dir: %s}
agent: {enabled: true, listen: "127.0.0.1:0", insecure_loopback: true, masters: ["127.0.0.1:1"], key_file: %s}
`, dir, filepath.Join(dir, "missing.key")))
	notLoop := writeFile(t, dir, "notloop.yaml", fmt.Sprintf(`
node: {name: h1, data_dir: %s}
agent: {enabled: true, listen: "127.0.0.1:0", insecure_loopback: true, masters: ["192.0.2.1:7450"], key_file: %s}
`, dir, filepath.Join(dir, "k.key")))
	if _, err := pki.GenerateAgentKey(filepath.Join(dir, "k.key")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" = success
		wantOut string
	}{
		{"version", []string{"version"}, "", "lookout-agent dev"},
		{"help", []string{"help"}, "", "lookout-agent -c FILE"},
		{"no config", nil, "-c FILE is required", ""},
		{"extra argument", []string{"-c", noKey, "x"}, "unexpected arguments", ""},
		{"bad log level", []string{"-c", noKey, "--log-level", "loud"}, "--log-level", ""},
		{"missing config file", []string{"-c", filepath.Join(dir, "none.yaml")}, "none.yaml", ""},
		{"missing key", []string{"-c", noKey}, "agent.key_file", ""},
		{"plaintext off loopback", []string{"-c", notLoop}, "192.0.2.1", ""},
		{"unknown bench mode", []string{"bench", "load"}, "only `bench agent-child`", ""},
		{"bench child without flags", []string{"bench", "agent-child"}, "--master, --key and --dir are required", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(tt.args, &out, &errb, func(a *agent.Agent, stop chan<- struct{}) { close(stop) })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run(%q) = %v, want success", tt.args, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q does not contain %q", out.String(), tt.wantOut)
			}
		})
	}
}

// TestRunReports runs lookout-agent from a config file against a minimal
// ingest and checks that a signed report of the configured host arrives.
func TestRunReports(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "h1.key")
	pub, ingest, e := keyAndMasterEngine(t, keyPath)
	got := make(chan string, 100)
	e.SpawnFunc(func(c *actor.Context) {
		m, ok := c.Message().(*anypb.Any)
		if !ok {
			return
		}
		if rep, err := wire.OpenReport(m, func(string) (ed25519.PublicKey, bool) { return pub, true }); err == nil {
			got <- rep.Host
		} else {
			got <- "unopened " + m.TypeUrl // session hellos and MAC reports: the agent is running and sending
		}
	}, "lookout/master/ingest", actor.WithID("main"))

	cfg := agentConfig(t, dir, ingest, keyPath)
	var out, errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-c", cfg, "--log-level", "warn"}, &out, &errb, func(a *agent.Agent, stop chan<- struct{}) {
			go func() {
				defer close(stop)
				select {
				case <-got:
				case <-time.After(20 * time.Second):
				}
			}()
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v; stderr: %s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lookout-agent did not stop")
	}
	if !strings.Contains(out.String(), "running as h1") {
		t.Errorf("stdout %q does not say it runs as h1", out.String())
	}
	st, err := os.Stat(filepath.Join(dir, "agent-h1.seq"))
	if err != nil || st.Size() == 0 {
		t.Errorf("seq file not written in the data dir: %v", err)
	}
}

// keyAndMasterEngine writes a new agent key to keyPath and starts a
// hollywood engine with a remote on a free loopback address, for a test
// master; it returns the key's public half, the address and the engine.
func keyAndMasterEngine(t *testing.T, keyPath string) (ed25519.PublicKey, string, *actor.Engine) {
	t.Helper()
	pub, err := pki.GenerateAgentKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	addr := testutil.FreeAddr(t)
	r := remote.New(addr, remote.NewConfig())
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop().Wait() })
	return pub, addr, e
}

// agentConfig writes the config of agent h1 (data in dir, key at keyPath)
// reporting every second to the master at addr over loopback.
func agentConfig(t *testing.T, dir, addr, keyPath string) string {
	t.Helper()
	return writeFile(t, dir, "agent.yaml", fmt.Sprintf(`
node: {name: h1, data_dir: %s}
agent:
  enabled: true
  listen: "127.0.0.1:0"
  insecure_loopback: true
  masters: [%q]
  key_file: %s
  intervals: {cpu: 1s, memory: 1s, heartbeat: 1s}
`, dir, addr, keyPath))
}
