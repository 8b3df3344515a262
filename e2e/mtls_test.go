package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// runLookout runs a short lookout command (ca, cert, check-config) and
// returns its stdout and stderr.
func runLookout(t testing.TB, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, lookoutBin, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	return so.String(), se.String(), err
}

// mustLookout is runLookout that fails the test on an error.
func mustLookout(t testing.TB, args ...string) string {
	t.Helper()
	so, se, err := runLookout(t, args...)
	if err != nil {
		t.Fatalf("lookout %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, so, se)
	}
	return so
}

var publicKeyRE = regexp.MustCompile(`(?m)^\s*public_key: (\S+)$`)

// tlsAgent is what `lookout cert issue --agent NAME` made: the mTLS files
// and the report-signing key with its public key line for master.agents.
type tlsAgent struct {
	Name, Cert, Key, SignKey, Pub string
}

// issueAgent runs `lookout cert issue --agent name --ca caDir --out out
// --host 127.0.0.1` and reads the public key from what it prints.
func issueAgent(t testing.TB, caDir, out, name string) tlsAgent {
	t.Helper()
	so := mustLookout(t, "cert", "issue", "--agent", name, "--ca", caDir, "--out", out, "--host", "127.0.0.1")
	m := publicKeyRE.FindStringSubmatch(so)
	if m == nil {
		t.Fatalf("cert issue --agent %s printed no public_key line:\n%s", name, so)
	}
	if !strings.Contains(so, "- name: "+name) {
		t.Fatalf("cert issue --agent %s: the master.agents snippet does not name the agent:\n%s", name, so)
	}
	return tlsAgent{Name: name, Cert: filepath.Join(out, name+".crt"), Key: filepath.Join(out, name+".key"),
		SignKey: filepath.Join(out, name+".sign.key"), Pub: m[1]}
}

// startTLSMaster starts `lookout master` with mTLS on its ingest
// (insecure_loopback false) and a dashboard on plain HTTP.
func startTLSMaster(t testing.TB, caCert, cert, key string, agents []tlsAgent) *masterNode {
	t.Helper()
	dir := t.TempDir()
	m := &masterNode{t: t, Dir: dir, Ingest: freeAddr(t)}
	httpAddr := freeAddr(t)
	m.URL = "http://" + httpAddr
	m.API = &apiClient{Base: m.URL, User: "admin", Password: testPassword}
	var list []map[string]any
	for _, a := range agents {
		list = append(list, map[string]any{"name": a.Name, "public_key": a.Pub})
	}
	m.Config = writeConfig(t, dir, "master.yaml", map[string]any{
		"node": map[string]any{"name": "m1", "data_dir": filepath.Join(dir, "data")},
		"master": map[string]any{
			"enabled": true, "listen": m.Ingest, "insecure_loopback": false,
			"tls":          map[string]any{"ca": caCert, "cert": cert, "key": key},
			"host_timeout": "5s", "agents": list,
		},
		"agent": map[string]any{"enabled": false},
		"http":  map[string]any{"enabled": true, "listen": httpAddr, "users": []any{adminUser(t)}},
	})
	m.Start()
	return m
}

// startTLSAgent starts `lookout agent` reporting host with the given mTLS
// files and signing key (insecure_loopback false).
func startTLSAgent(t testing.TB, name, host, caCert, cert, key, signKey string, masters []string) *agentNode {
	t.Helper()
	dir := t.TempDir()
	a := &agentNode{t: t, Dir: dir, Host: host}
	a.Config = writeConfig(t, dir, "agent.yaml", map[string]any{
		"node":   map[string]any{"name": name, "data_dir": filepath.Join(dir, "data")},
		"master": map[string]any{"enabled": false},
		"http":   map[string]any{"enabled": false},
		"agent": map[string]any{
			"enabled": true, "name": name, "host": host, "key_file": signKey,
			"listen": freeAddr(t), "insecure_loopback": false,
			"tls":     map[string]any{"ca": caCert, "cert": cert, "key": key},
			"masters": masters, "resend_after": "500ms",
			"intervals": map[string]string{"cpu": "1s", "memory": "1s", "heartbeat": "1s",
				"disk": "1h", "network": "1h", "uptime": "1h"},
		},
	})
	a.Start()
	return a
}

// TestMutualTLSDeployment runs master and agents as a real deployment
// would: certificates from `lookout ca init` / `lookout cert issue`, mTLS
// on every remote listener, no plaintext. The good agent's reports reach
// the API; an agent with a certificate from another CA, one presenting a
// master certificate, and one with a valid certificate but a signing key
// the master does not list get nothing through, and the master keeps
// serving the good agent meanwhile.
func TestMutualTLSDeployment(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	ca := filepath.Join(d, "ca")
	if so := mustLookout(t, "ca", "init", "--dir", ca); !strings.Contains(so, "ca.crt") {
		t.Fatalf("ca init output names no ca.crt: %s", so)
	}
	caCert := filepath.Join(ca, "ca.crt")
	mustLookout(t, "cert", "issue", "--master", "m1", "--ca", ca, "--out", d, "--host", "127.0.0.1")
	a1 := issueAgent(t, ca, d, "a1")
	// a2 is listed but will present the master's certificate; a3 is listed
	// but its certificate comes from a foreign CA; a4 has a certificate
	// from our CA but is not listed.
	a2 := issueAgent(t, ca, d, "a2")
	foreign := filepath.Join(d, "foreign")
	mustLookout(t, "ca", "init", "--dir", filepath.Join(foreign, "ca"), "--name", "Foreign CA")
	a3 := issueAgent(t, filepath.Join(foreign, "ca"), foreign, "a3")
	a4 := issueAgent(t, ca, filepath.Join(d, "unlisted"), "a4")

	m := startTLSMaster(t, caCert, filepath.Join(d, "m1.crt"), filepath.Join(d, "m1.key"), []tlsAgent{a1, a2, a3})
	masters := []string{m.Ingest}
	good := startTLSAgent(t, "a1", "h1", caCert, a1.Cert, a1.Key, a1.SignKey, masters)

	hostStatus := func(host string) (model.HostStatus, error) {
		var st model.HostStatus
		err := m.API.Get("server-status?host="+host, &st)
		return st, err
	}
	var first model.HostStatus
	if err := eventually(20*time.Second, func() error {
		st, err := hostStatus("h1")
		if err != nil {
			return err
		}
		if !st.Up || st.LastSeq < 3 || st.Agent != "a1" || len(st.Samples) == 0 {
			return fmt.Errorf("h1: up %v last_seq %d agent %q, %d samples", st.Up, st.LastSeq, st.Agent, len(st.Samples))
		}
		first = st
		return nil
	}); err != nil {
		t.Fatalf("reports of the good agent did not reach the master over mTLS: %v", err)
	}
	if good.MaxAcked() == 0 {
		if !good.P.Stderr.Wait(5*time.Second, func([]string) bool { return good.MaxAcked() > 0 }) {
			t.Fatal("the good agent got no ack over mTLS")
		}
	}

	bad := []struct {
		name, host string
		a          *agentNode
	}{
		{"foreign CA", "h-foreign", startTLSAgent(t, "a3", "h-foreign", filepath.Join(foreign, "ca", "ca.crt"), a3.Cert, a3.Key, a3.SignKey, masters)},
		{"master certificate", "h-role", startTLSAgent(t, "a2", "h-role", caCert, filepath.Join(d, "m1.crt"), filepath.Join(d, "m1.key"), a2.SignKey, masters)},
		{"unlisted signing key", "h-unlisted", startTLSAgent(t, "a4", "h-unlisted", caCert, a4.Cert, a4.Key, a4.SignKey, masters)},
	}
	// The master names both refusals it can see: the role check in the
	// handshake, and the signature check of the unlisted agent's report.
	if _, ok := m.P.Stderr.WaitLine(regexp.MustCompile(`rejected TLS peer.*has role \\"master\\", this endpoint accepts only \\"agent\\"`), 15*time.Second); !ok {
		t.Errorf("master did not log the refused master certificate of agent a2")
	}
	if _, ok := m.P.Stderr.WaitLine(regexp.MustCompile(`ingest: report refused.*unknown agent`), 15*time.Second); !ok {
		t.Errorf("master did not log a refused report from the unlisted agent a4")
	}
	// Let the bad agents keep trying for a while (each collects every
	// second and resends every 500ms).
	time.Sleep(4 * time.Second)

	for _, b := range bad {
		if b.a.P.Exited() {
			t.Errorf("%s: agent process exited: %v", b.name, b.a.P.err)
		}
		if len(b.a.Seqs()) < 3 {
			t.Errorf("%s: agent built only %d reports; the test needs it to keep trying", b.name, len(b.a.Seqs()))
		}
		if n := b.a.MaxAcked(); n != 0 {
			t.Errorf("%s: agent got an ack for seq %d", b.name, n)
		}
		if _, err := hostStatus(b.host); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("%s: server-status %s = %v, want 404 (the host must never appear)", b.name, b.host, err)
		}
	}
	var list []model.HostStatus
	if err := m.API.Get("server-list", &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Host != "h1" {
		t.Errorf("server-list = %+v, want only h1", list)
	}
	// The master kept serving the good agent all along.
	st, err := hostStatus("h1")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Up || st.LastSeq <= first.LastSeq+3 || st.Dropped != 0 {
		t.Errorf("h1 after the bad agents: up %v last_seq %d (was %d) dropped %d; want up, advancing, nothing dropped",
			st.Up, st.LastSeq, first.LastSeq, st.Dropped)
	}
	if m.P.Exited() {
		t.Fatalf("master exited: %v", m.P.err)
	}

	// A master outage longer than hollywood's three TLS dial attempts
	// (0+1+2 s) while the agent keeps resending: the agent survives (it
	// used to crash on a nil *tls.Conn, see third_party/hollywood) and
	// delivers to the restarted master.
	m.P.Kill9()
	time.Sleep(5 * time.Second)
	if good.P.Exited() {
		t.Fatalf("agent a1 died during a 5s master outage over mTLS: %v", good.P.err)
	}
	seqNow := maxSeq(good.Seqs())
	m.Start()
	if err := eventually(20*time.Second, func() error {
		st, err := hostStatus("h1")
		if err != nil {
			return err
		}
		if st.LastSeq < seqNow {
			return fmt.Errorf("h1 last_seq %d, want >= %d", st.LastSeq, seqNow)
		}
		return nil
	}); err != nil {
		t.Fatalf("after the master restart: %v", err)
	}
	good.P.Stop()
	m.P.Stop()
}

// TestCheckConfigTransportSecurity: check-config refuses a master without
// TLS files when insecure_loopback is false, TLS files that do not exist,
// and plaintext (insecure_loopback) on a non-loopback address, naming the
// keys at fault. 192.0.2.0/24 (TEST-NET-1) is only written into the config,
// never contacted.
func TestCheckConfigTransportSecurity(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope")
	tests := []struct {
		name    string
		master  map[string]any
		agent   map[string]any
		cluster map[string]any
		want    []string
	}{
		{
			name:   "no TLS files without insecure_loopback",
			master: map[string]any{"listen": "127.0.0.1:7461", "insecure_loopback": false},
			want:   []string{"master.tls.ca", "master.tls.cert", "master.tls.key", "insecure_loopback"},
		},
		{
			name: "TLS files that do not exist",
			master: map[string]any{"listen": "127.0.0.1:7461", "insecure_loopback": false,
				"tls": map[string]any{"ca": missing + "/ca.crt", "cert": missing + "/m1.crt", "key": missing + "/m1.key"}},
			want: []string{"master.tls", missing + "/ca.crt", "no such file"},
		},
		{
			name:   "plaintext on a non-loopback master listen address",
			master: map[string]any{"listen": "192.0.2.10:7461", "insecure_loopback": true},
			want:   []string{"master.listen", "192.0.2.10:7461", "not a loopback address"},
		},
		{
			name:   "agent: no TLS files without insecure_loopback",
			master: map[string]any{"enabled": false},
			agent:  map[string]any{"enabled": true, "listen": "127.0.0.1:0", "insecure_loopback": false, "masters": []string{"127.0.0.1:7461"}},
			want:   []string{"agent.tls.ca", "agent.tls.cert", "agent.tls.key"},
		},
		{
			name:   "agent: plaintext to a non-loopback master",
			master: map[string]any{"enabled": false},
			agent:  map[string]any{"enabled": true, "listen": "127.0.0.1:0", "insecure_loopback": true, "masters": []string{"192.0.2.10:7461"}},
			want:   []string{"agent.masters[0]", "not a loopback address"},
		},
		{
			name:    "cluster: plaintext on a non-loopback address",
			master:  map[string]any{"listen": "127.0.0.1:7461", "insecure_loopback": true},
			cluster: map[string]any{"enabled": true, "listen": "192.0.2.10:7470", "insecure_loopback": true, "peers": []string{"127.0.0.1:7471"}},
			want:    []string{"cluster.listen", "not a loopback address"},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master := map[string]any{"enabled": true}
			for k, v := range tt.master {
				master[k] = v
			}
			agent := tt.agent
			if agent == nil {
				agent = map[string]any{"enabled": false}
			} else {
				agent["name"], agent["host"], agent["key_file"] = "a1", "h1", filepath.Join(dir, "a1.sign.key")
			}
			cfg := map[string]any{
				"node":   map[string]any{"name": "m1", "data_dir": filepath.Join(dir, "data")},
				"master": master, "agent": agent,
				"http": map[string]any{"enabled": false},
			}
			if tt.cluster != nil {
				cfg["cluster"] = tt.cluster
			}
			path := writeConfig(t, dir, fmt.Sprintf("c%d.yaml", i), cfg)
			so, se, err := runLookout(t, "check-config", path)
			if err == nil {
				t.Fatalf("check-config accepted it: %s", so)
			}
			if strings.Contains(so, "OK") {
				t.Errorf("check-config printed OK although it failed: %s", so)
			}
			for _, w := range tt.want {
				if !strings.Contains(se, w) {
					t.Errorf("check-config error does not mention %q:\n%s", w, se)
				}
			}
		})
	}
	// The same shape with real files passes: the failures above are the
	// transport settings, not the rest of the config.
	ca := filepath.Join(dir, "ca")
	mustLookout(t, "ca", "init", "--dir", ca)
	mustLookout(t, "cert", "issue", "--master", "m1", "--ca", ca, "--out", dir)
	path := writeConfig(t, dir, "ok.yaml", map[string]any{
		"node": map[string]any{"name": "m1", "data_dir": filepath.Join(dir, "data")},
		"master": map[string]any{"enabled": true, "listen": "127.0.0.1:7461", "insecure_loopback": false,
			"tls": map[string]any{"ca": filepath.Join(ca, "ca.crt"), "cert": filepath.Join(dir, "m1.crt"), "key": filepath.Join(dir, "m1.key")}},
		"agent": map[string]any{"enabled": false},
		"http":  map[string]any{"enabled": false},
	})
	if so := mustLookout(t, "check-config", path); !strings.Contains(so, "OK") {
		t.Fatalf("check-config of a valid mTLS master: %s", so)
	}
}
