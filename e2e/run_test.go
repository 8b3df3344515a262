package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// TestRunEmbedded starts `lookout run` with the embedded default config in
// an empty directory (ports moved with LOOKOUT_* variables) and uses it the
// way the README tells a new user to.
func TestRunEmbedded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	httpAddr := freeAddr(t)
	ingest := freeAddr(t)
	env := []string{
		"LOOKOUT_MASTER__LISTEN=" + ingest,
		"LOOKOUT_AGENT__MASTERS=" + ingest,
		"LOOKOUT_AGENT__LISTEN=" + freeAddr(t),
		"LOOKOUT_HTTP__LISTEN=" + httpAddr,
		// Short intervals so the first samples arrive quickly.
		"LOOKOUT_AGENT__INTERVALS__CPU=1s",
		"LOOKOUT_AGENT__INTERVALS__MEMORY=1s",
	}
	p := startProc(t, "run", dir, env, "run")
	m, ok := p.Stdout.WaitLine(regexp.MustCompile(`^dashboard: (http://\S+)/$`), 20*time.Second)
	if !ok {
		t.Fatal("lookout run printed no dashboard URL within 20s")
	}
	base := m[1]
	if base != "http://"+httpAddr {
		t.Errorf("dashboard URL %s, want http://%s (LOOKOUT_HTTP__LISTEN)", base, httpAddr)
	}
	m, ok = p.Stdout.WaitLine(regexp.MustCompile(`^dashboard login: admin / (\S+)`), 5*time.Second)
	if !ok {
		t.Fatalf("lookout run printed no generated admin password:\n%s", strings.Join(p.Stdout.Lines(), "\n"))
	}
	password := m[1]
	if len(password) < 12 {
		t.Errorf("generated password %q is shorter than 12 characters", password)
	}

	t.Run("dashboard login", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		resp, err := c.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(resp.Request.URL.Path, "/login") || !strings.Contains(string(body), `id="password"`) {
			t.Fatalf("GET / without a session: ended at %s, want the login form", resp.Request.URL)
		}
		// A wrong password is refused.
		resp, err = c.PostForm(base+"/login", url.Values{"user": {"admin"}, "password": {password + "x"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("login with a wrong password: %s, want 401", resp.Status)
		}
		resp, err = c.PostForm(base+"/login", url.Values{"user": {"admin"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
			t.Fatalf("login with the printed password: %s at %s, want 200 at /", resp.Status, resp.Request.URL)
		}
		if !strings.Contains(string(body), `id="grid"`) {
			t.Fatalf("overview after login has no host grid:\n%.2000s", body)
		}
	})

	host := ""
	t.Run("server-list", func(t *testing.T) {
		err := eventually(15*time.Second, func() error {
			out, err := query(t, base, password, "server-list")
			if err != nil {
				return err
			}
			var hs []model.HostStatus
			if err := json.Unmarshal([]byte(out), &hs); err != nil {
				return fmt.Errorf("server-list output %q: %w", out, err)
			}
			if len(hs) != 1 {
				return fmt.Errorf("server-list has %d hosts, want the local one: %s", len(hs), out)
			}
			h := hs[0]
			if !h.Up || h.LastSeq == 0 {
				return fmt.Errorf("local host not up yet: up=%v last_seq=%d", h.Up, h.LastSeq)
			}
			// server-list is a summary; the samples are in server-status.
			out, err = query(t, base, password, "server-status", h.Host)
			if err != nil {
				return err
			}
			var st model.HostStatus
			if err := json.Unmarshal([]byte(out), &st); err != nil {
				return fmt.Errorf("server-status output %q: %w", out, err)
			}
			if len(st.Samples) == 0 {
				return fmt.Errorf("host %s has no samples yet", h.Host)
			}
			host = h.Host
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	if host == "" {
		t.FailNow()
	}

	t.Run("last-value", func(t *testing.T) {
		err := eventually(10*time.Second, func() error {
			out, err := query(t, base, password, "last-value", host, "machine.memory:physical", "used_percentage")
			if err != nil {
				return err
			}
			var v struct {
				Value *float64 `json:"value"`
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.Value == nil {
				return fmt.Errorf("last-value output %q has no number (%v)", out, err)
			}
			if *v.Value <= 0 || *v.Value > 100 {
				return fmt.Errorf("memory used_percentage %v is not in (0, 100]", *v.Value)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("other queries", func(t *testing.T) {
		tests := []struct {
			args    []string
			check   func(out string) error
			wantErr string
		}{
			{[]string{"down-list"}, func(out string) error {
				var hs []model.HostStatus
				if err := json.Unmarshal([]byte(out), &hs); err != nil {
					return err
				}
				if len(hs) != 0 {
					return fmt.Errorf("down-list has %d hosts, want none", len(hs))
				}
				return nil
			}, ""},
			{[]string{"service-list"}, func(out string) error {
				var ss []model.ServiceStatus
				if err := json.Unmarshal([]byte(out), &ss); err != nil {
					return err
				}
				for _, s := range ss {
					if s.Host == host && s.Service == model.ServiceMachine && s.Resource == model.ResMemory {
						return nil
					}
				}
				return fmt.Errorf("service-list lacks %s machine.memory: %s", host, out)
			}, ""},
			{[]string{"server-status", host}, func(out string) error {
				var h model.HostStatus
				if err := json.Unmarshal([]byte(out), &h); err != nil {
					return err
				}
				if h.Host != host || !h.Up || h.LastSeq == 0 {
					return fmt.Errorf("server-status %s: %s", host, out)
				}
				return nil
			}, ""},
			{[]string{"server-status", "no-such-host"}, nil, "404"},
		}
		for _, tt := range tests {
			out, err := query(t, base, password, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("query %v: err = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				continue
			}
			if err != nil {
				t.Errorf("query %v: %v", tt.args, err)
				continue
			}
			if err := tt.check(out); err != nil {
				t.Errorf("query %v: %v", tt.args, err)
			}
		}
		// A wrong password is refused by the API.
		if _, err := query(t, base, "wrong-password", "server-list"); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("query with a wrong password: err = %v, want 401", err)
		}
	})

	t.Run("second run on the same data dir", func(t *testing.T) {
		env2 := []string{
			"LOOKOUT_MASTER__LISTEN=" + freeAddr(t),
			"LOOKOUT_AGENT__LISTEN=" + freeAddr(t),
			"LOOKOUT_HTTP__LISTEN=" + freeAddr(t),
		}
		p2 := startProc(t, "run#2", dir, env2, "run")
		code, err := p2.WaitExit(20 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code == 0 {
			t.Fatalf("second lookout run on the same data dir exited 0")
		}
		errText := strings.Join(p2.Stderr.Lines(), "\n")
		if !strings.Contains(errText, "in use") {
			t.Fatalf("second lookout run: stderr lacks \"in use\":\n%s", errText)
		}
		if p.Exited() {
			t.Fatalf("the first lookout run died when the second started")
		}
	})

	// The first process stops cleanly on SIGTERM, and starts again on the
	// same data dir without printing a new password.
	p.Stop()
	p3 := startProc(t, "run#3", dir, env, "run")
	if _, ok := p3.Stdout.WaitLine(regexp.MustCompile(`^dashboard: `), 20*time.Second); !ok {
		t.Fatal("restarted lookout run printed no dashboard URL")
	}
	for _, l := range p3.Stdout.Lines() {
		if strings.Contains(l, password) {
			t.Fatalf("restart printed the password again: %q", l)
		}
	}
	if _, err := query(t, base, password, "server-status", host); err != nil {
		t.Fatalf("after restart, the first password no longer works: %v", err)
	}
	p3.Stop()
}
