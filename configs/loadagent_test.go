package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadAgent: LoadAgent reports exactly Load's errors for problems in
// the sections an agent runs (node, agent) and for parse errors anywhere,
// and ignores the master, http and cluster sections, which lookout-agent
// does not run.
func TestLoadAgent(t *testing.T) {
	bad, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(bad) < 40 {
		t.Fatalf("want at least 40 bad configs, got %d (%v)", len(bad), err)
	}
	parseBad := []string{"testdata/bad/bad_bool.yaml", "testdata/bad/bad_duration.yaml", "testdata/bad/bad_time.yaml",
		"testdata/bad/bare_number_duration.yaml"}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const agentSection = `
agent:
  enabled: true
  listen: 127.0.0.1:0
  insecure_loopback: true
  masters: [127.0.0.1:7450]
`
	masterBad := write("master_bad.yaml", `
node: {name: web1}
master:
  enabled: true
  listen: 127.0.0.1:7450
  insecure_loopback: true
  notifiers:
    mail:
      - name: ops
        host: smtp.example.net:587
        from: lookout at example
        recipients: [{address: "Ops <ops@example.net>"}]
http: {enabled: true, listen: "0.0.0.0:8080"}
`+agentSection)
	agentOff := write("agent_off.yaml", `
node: {name: web1}
agent:
  enabled: false
  listen: 127.0.0.1:0
  insecure_loopback: true
`)
	unknownKey := write("unknown_key.yaml", "master: {notifiers: {mail: [{nmae: ops}]}}\n"+agentSection)

	type tc struct {
		name     string
		path     string
		sameErr  bool     // LoadAgent fails with Load's error
		agentErr []string // else: LoadAgent's error contains these (none: it succeeds)
		loadErr  string   // and Load's error contains this
	}
	var tests []tc
	for _, p := range parseBad {
		tests = append(tests, tc{name: filepath.Base(p), path: p, sameErr: true})
	}
	// Bad configs whose every problem is in the node or agent section:
	// LoadAgent reports each of them too.
	agentOnly := 0
	for _, p := range bad {
		ws := wants(t, p)
		only := true
		for _, w := range ws {
			only = only && (strings.HasPrefix(w, "agent.") || strings.HasPrefix(w, "node."))
		}
		if only {
			agentOnly++
			tests = append(tests, tc{name: filepath.Base(p), path: p, agentErr: ws, loadErr: ws[0]})
		}
	}
	if agentOnly < 10 {
		t.Fatalf("only %d bad configs with agent problems alone", agentOnly)
	}
	tests = append(tests,
		tc{name: "master and http problems ignored", path: masterBad, loadErr: "master.notifiers.mail[0].from"},
		tc{name: "agent checked even when disabled", path: agentOff,
			agentErr: []string{"agent.masters: must list at least one master ingest address"}, loadErr: "nothing to run"},
		tc{name: "unknown key anywhere still refused", path: unknownKey, sameErr: true},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, aerr := LoadAgent(tt.path, nil)
			_, lerr := Load(tt.path, nil)
			if lerr == nil {
				t.Fatalf("Load accepted %s", tt.path)
			}
			if tt.sameErr {
				if aerr == nil || aerr.Error() != lerr.Error() {
					t.Fatalf("LoadAgent error:\n%v\nLoad error:\n%v", aerr, lerr)
				}
				return
			}
			if !strings.Contains(lerr.Error(), tt.loadErr) {
				t.Fatalf("Load error lacks %q: %v", tt.loadErr, lerr)
			}
			if len(tt.agentErr) == 0 {
				if aerr != nil {
					t.Fatalf("LoadAgent: %v", aerr)
				}
				if got := cfg.Agent.Masters; len(got) != 1 || got[0] != "127.0.0.1:7450" {
					t.Fatalf("agent.masters = %q", got)
				}
				return
			}
			if aerr == nil {
				t.Fatal("LoadAgent accepted it")
			}
			for _, w := range tt.agentErr {
				if !strings.Contains(aerr.Error(), w) {
					t.Errorf("LoadAgent error lacks %q: %v", w, aerr)
				}
			}
			for _, s := range []string{"master.", "http.", "cluster."} {
				if strings.Contains(aerr.Error(), "\n"+s) {
					t.Errorf("LoadAgent reports the %s section: %v", s, aerr)
				}
			}
		})
	}
}
