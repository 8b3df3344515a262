package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lookout-mon/lookout/web"
)

// TestMain lets the tests run the real CLI: with LOOKOUT_TEST_MAIN=1 the
// test binary is `lookout` (main() with the given arguments).
func TestMain(m *testing.M) {
	if os.Getenv("LOOKOUT_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lookout runs the CLI in a child process and returns stdout, stderr and
// the exit code.
func lookout(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LOOKOUT_TEST_MAIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running lookout %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

const mailSecret = "smtp-pw-F3gH8jK1"

const goodConfig = `
node: {name: m1, data_dir: /var/lib/lookout}
master:
  enabled: true
  listen: 127.0.0.1:7450
  insecure_loopback: true
  rules:
    - {name: disk, expr: "*!machine.disk:*.used_percentage > 90% WARN"}
    - {name: load, expr: "*!machine.load:system.load1 > 4 WARN for 5m"}
  notifiers:
    mail:
      - {name: ops, host: smtp.example.net, username: ops, password: ` + mailSecret + `, from: lookout@example.net,
         recipients: [{address: ops@example.net}]}
    webhook:
      - {name: hook, url: "https://hooks.example.net/x", secret: hook-secret-P0oI9uY8}
http:
  enabled: true
  listen: 127.0.0.1:7460
  users: [{name: admin, password_hash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}]
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI as child processes")
	}
	tests := []struct {
		name     string
		config   string // "" = no file argument
		path     string // overrides the written file's path
		wantCode int
		// wantOut must all appear in stdout+stderr; notOut must not.
		wantOut []string
		notOut  []string
	}{
		{name: "good", config: goodConfig, wantCode: 0,
			wantOut: []string{": OK (2 rules, 2 notifiers)"}, notOut: []string{mailSecret, "hook-secret-P0oI9uY8"}},
		{name: "every error with its key path", wantCode: 1, config: strings.NewReplacer(
			"listen: 127.0.0.1:7450", "listen: 0.0.0.0:7450",
			`"*!machine.load:system.load1 > 4 WARN for 5m"`, `"*!machine.load:system.load1 >>> 4"`,
			"host: smtp.example.net", "host: smtp.example.net, port: 99999",
			"https://hooks.example.net/x", "ftp://hooks.example.net/x",
		).Replace(goodConfig),
			wantOut: []string{"master.listen", "master.rules[1]", "master.notifiers.mail[0].port", "master.notifiers.webhook[0]"},
			notOut:  []string{mailSecret, "hook-secret-P0oI9uY8", ": OK"}},
		{name: "plaintext password refused", wantCode: 1,
			config:  strings.Replace(goodConfig, `"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"`, "plain-Text-pw-1", 1),
			wantOut: []string{"http.users[0].password_hash", "plaintext passwords are refused"},
			notOut:  []string{"plain-Text-pw-1", ": OK"}},
		{name: "unknown key", wantCode: 1, config: goodConfig + "bogus: 1\n", wantOut: []string{"bogus"}},
		{name: "missing file", wantCode: 1, path: "/nonexistent/lookout.yaml", wantOut: []string{"/nonexistent/lookout.yaml"}},
		{name: "no argument", wantCode: 1, wantOut: []string{"usage: lookout check-config FILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			switch {
			case tt.path != "":
				args = []string{"check-config", tt.path}
			case tt.config != "":
				args = []string{"check-config", writeFile(t, "lookout.yaml", tt.config)}
			default:
				args = []string{"check-config"}
			}
			stdout, stderr, code := lookout(t, "", args...)
			all := stdout + stderr
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, n := range tt.notOut {
				if strings.Contains(all, n) {
					t.Errorf("output contains %q:\n%s", n, all)
				}
			}
		})
	}
}

func TestHashPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI as child processes")
	}
	tests := []struct {
		name, stdin string
		wantCode    int
		wantErr     string
	}{
		{"ok", "correct horse battery\n", 0, ""},
		{"crlf", "correct horse battery\r\n", 0, ""},
		{"too short", "short\n", 1, "at least 8 characters"},
		{"empty", "", 1, "at least 8 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := lookout(t, tt.stdin, "hash-password")
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr)
			}
			if tt.wantCode != 0 {
				if !strings.Contains(stderr, tt.wantErr) || stdout != "" {
					t.Fatalf("stdout %q stderr %q, want error %q", stdout, stderr, tt.wantErr)
				}
				return
			}
			hash := strings.TrimSpace(stdout)
			if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(stdout, "correct horse") {
				t.Fatalf("bad hash output %q", stdout)
			}
			ok, err := web.VerifyPassword(hash, "correct horse battery")
			if err != nil || !ok {
				t.Fatalf("hash does not verify: %v %v", ok, err)
			}
			if ok, _ := web.VerifyPassword(hash, "correct horse batterY"); ok {
				t.Fatal("hash verifies a wrong password")
			}
			// The hash is accepted by check-config as a user's password_hash.
			cfg := strings.Replace(goodConfig, `"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"`, `"`+hash+`"`, 1)
			if out, errOut, code := lookout(t, "", "check-config", writeFile(t, "c.yaml", cfg)); code != 0 {
				t.Fatalf("check-config refused the generated hash: %s %s", out, errOut)
			}
		})
	}
}
