package configs

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/providers/rawbytes"
)

var update = flag.Bool("update", false, "rewrite golden files")

// wants returns the "# want: ..." lines at the top of a bad config.
func wants(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w, ok := strings.CutPrefix(sc.Text(), "# want: ")
		if !ok {
			break
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		t.Fatalf("%s: first line must be `# want: <error substring>`", path)
	}
	return out
}

func TestBadConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 40 {
		t.Fatalf("want at least 40 bad configs, got %d (%v)", len(files), err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			ws := wants(t, path)
			cfg, err := Load(path, nil)
			if err == nil {
				t.Fatalf("loaded without error; want %q\n%s", ws, cfg.Redacted())
			}
			if !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("error does not name the file %s: %v", path, err)
			}
			for _, w := range ws {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestGoodConfigs(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, c *Config)
	}{
		{"agent_only_mtls.yaml", func(t *testing.T, c *Config) {
			if c.Master.Enabled || !c.Agent.Enabled {
				t.Errorf("roles: master %v agent %v", c.Master.Enabled, c.Agent.Enabled)
			}
			if c.Agent.Name != "web1" || c.Agent.Host != "web1" {
				t.Errorf("agent name/host %q/%q, want web1 from node.name", c.Agent.Name, c.Agent.Host)
			}
			if c.Agent.KeyFile != filepath.Join("data", "agent.key") {
				t.Errorf("key_file %q", c.Agent.KeyFile)
			}
			p := c.Agent.Ports[0]
			if p.Host != "127.0.0.1" || p.Timeout != 2*time.Second || p.Retries != 2 || p.Port != 6667 {
				t.Errorf("port check defaults: %+v", p)
			}
			if len(c.Agent.Masters) != 2 {
				t.Errorf("masters %v", c.Agent.Masters)
			}
		}},
		{"loopback_cluster.yaml", func(t *testing.T, c *Config) {
			if c.Master.HostTimeout != 45*time.Second || c.Master.Watchdog.AgentSilence != 90*time.Second {
				t.Errorf("host_timeout %s agent_silence %s (want 45s, 2x)", c.Master.HostTimeout, c.Master.Watchdog.AgentSilence)
			}
			if c.Cluster.Heartbeat != 500*time.Millisecond || c.Cluster.PeerTimeout != 1500*time.Millisecond {
				t.Errorf("cluster timings %s %s", c.Cluster.Heartbeat, c.Cluster.PeerTimeout)
			}
			if c.Agent.KeyFile != filepath.Join("/tmp/lookout-m1", "agent.key") {
				t.Errorf("key_file %q does not follow data_dir", c.Agent.KeyFile)
			}
		}},
		{"dashboard_only.yaml", func(t *testing.T, c *Config) {
			if c.HTTP.Listen != DefaultHTTPListen || !c.HTTP.PublicReadOnly || c.HTTP.SessionTTL != 24*time.Hour {
				t.Errorf("http %+v", c.HTTP)
			}
		}},
		{"empty_sections.yaml", func(t *testing.T, c *Config) {
			if c.Node.Name != "12345" || c.HTTP.LoginRate != 20 {
				t.Errorf("name %q login_rate %d", c.Node.Name, c.HTTP.LoginRate)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, err := Load(filepath.Join("testdata/good", tt.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
	// Every file under good/ must be in the table.
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) != len(tests) {
		t.Errorf("%d files in testdata/good, %d in the table", len(files), len(tests))
	}
}

func TestDefaultYAML(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Master.Enabled || !c.Agent.Enabled || !c.HTTP.Enabled || c.Cluster.Enabled {
		t.Errorf("roles: master %v agent %v http %v cluster %v", c.Master.Enabled, c.Agent.Enabled, c.HTTP.Enabled, c.Cluster.Enabled)
	}
	for _, a := range append([]string{c.Master.Listen, c.Agent.Listen, c.HTTP.Listen}, c.Agent.Masters...) {
		if !isLoopback(a) {
			t.Errorf("%s is not loopback", a)
		}
	}
	if !c.Master.InsecureLoopback || !c.Agent.InsecureLoopback {
		t.Error("default must run plaintext on loopback")
	}
	if c.Node.DataDir != "./data" {
		t.Errorf("data_dir %q", c.Node.DataDir)
	}
	n := c.Master.Notifiers
	if len(n.Mail)+len(n.IRC)+len(n.SMS)+len(n.Webhook) != 0 {
		t.Error("default has notifiers")
	}
	if len(c.Agent.Ports)+len(c.Agent.Processes) != 0 {
		t.Error("default has port/process checks")
	}
	want := map[string]string{
		"disk-space":  "*!machine.disk:*.used_percentage > 90% WARN, > 95% CRIT",
		"disk-inodes": "*!machine.inodes:*.used_percentage > 90% WARN, > 95% CRIT",
		"memory":      "*!machine.memory:physical.used_percentage > 90% WARN",
		"load":        "*!machine.load:system.load1_per_core > 2 WARN for 5m",
		"swap":        "*!machine.swap:swap.used_percentage > 50% WARN",
	}
	got := map[string]string{}
	for _, r := range c.Master.Rules {
		got[r.Name] = r.Expr
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules %v", got)
	}
}

func TestExample(t *testing.T) {
	c, err := Load("example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Master.Notifiers
	if len(n.Mail) != 1 || len(n.IRC) != 1 || len(n.SMS) != 2 || len(n.Webhook) != 1 {
		t.Errorf("notifiers: %d mail %d irc %d sms %d webhook", len(n.Mail), len(n.IRC), len(n.SMS), len(n.Webhook))
	}
	if len(c.Agent.Masters) < 2 || !c.Cluster.Enabled || len(c.Master.Maintenance) != 2 || len(c.HTTP.Users) != 2 {
		t.Error("example must cover a multi-master agent, a cluster, both maintenance kinds and both hash kinds")
	}
	if c.Master.Notifiers.Mail[0].Recipients[0].MinLevel != "WARN" {
		t.Error("recipient min_level does not inherit the mail notifier's")
	}
	if got := c.Master.Maintenance[0].End.Sub(c.Master.Maintenance[0].Start); got != 90*time.Minute {
		t.Errorf("maintenance window %s", got)
	}
	if c.Master.History.RollupRetention != 30*24*time.Hour {
		t.Errorf("30d = %s", c.Master.History.RollupRetention)
	}
}

func TestRedactedGolden(t *testing.T) {
	c, err := Load("example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := c.Redacted()
	golden := "testdata/example.redacted.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Redacted() differs from %s (run with -update):\n%s", golden, got)
	}
	for _, s := range []string{"change-me", "change-me-too", "channel-key", "twilio-token", "gateway-token", "webhook-hmac-key", "$2a$10$", "$argon2id$", "X-Team: ops"} {
		if strings.Contains(got, s) {
			t.Errorf("Redacted() shows %q", s)
		}
	}
}

// TestRedactedRoundTrip parses Redacted output back: it must equal the
// original with every secret replaced by "<secret>".
func TestRedactedRoundTrip(t *testing.T) {
	c, err := Load("example.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := parse("redacted", rawbytes.Provider([]byte(c.Redacted())), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := *c // hideSecrets clones the slices and maps it changes
	hideSecrets(reflect.ValueOf(&want).Elem())
	g, w := reflect.ValueOf(*back), reflect.ValueOf(want)
	for i := 0; i < g.NumField(); i++ {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("round trip differs in %s:\n got %+v\nwant %+v", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
}

// hideSecrets replaces, in place, every non-empty Secret and header value
// by "<secret>" (slices and maps are cloned first) and nil slices by empty.
func hideSecrets(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			hideSecrets(v.Field(i))
		}
	case reflect.Slice:
		if v.IsNil() { // Redacted renders nil as [], which parses as empty
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		v.Set(c)
		for i := 0; i < v.Len(); i++ {
			hideSecrets(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		m := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			m.SetMapIndex(k, reflect.ValueOf(secretMark))
		}
		v.Set(m)
	case reflect.String:
		if v.Type() == secretType && v.String() != "" {
			v.SetString(secretMark)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:pa55@hooks.example.net/x", "https://user:<secret>@hooks.example.net/x"},
		{"https://user@hooks.example.net/x", "https://user@hooks.example.net/x"},
		{"https://hooks.example.net/x?a=1", "https://hooks.example.net/x?a=1"},
		{"::bad", "::bad"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var c Config
	c.Master.Notifiers.Webhook = []WebhookConfig{{URL: "https://u:pa55@example.net/", Headers: map[string]string{"Authorization": "Bearer tok"}}}
	out := c.Redacted()
	if strings.Contains(out, "pa55") || strings.Contains(out, "Bearer") || !strings.Contains(out, "Authorization: <secret>") {
		t.Errorf("Redacted leaks:\n%s", out)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	secrets := []string{"plaintextpass1", "smtppass2", "tok3n-in-url", "hmac-key-4", "sasl-pass-5", "twilio-tok-6", "chankey7"}
	cfg := `master:
  enabled: true
  listen: 127.0.0.1:7450
  insecure_loopback: true
  notifiers:
    mail:
      - name: m
        port: 99999
        password: smtppass2
        from: "not an address"
    irc:
      - name: i
        sasl_password: sasl-pass-5
        channels: [{name: nohash, key: chankey7}]
    sms:
      - name: s
        provider: twilio
        to: [bad]
        twilio: {auth_token: twilio-tok-6, account_sid: XX}
    webhook:
      - name: w
        url: "https://ex ample.net/tok3n-in-url"
        secret: hmac-key-4
      - name: w2
        url: "ftp://example.net/tok3n-in-url"
        secret: {nested: hmac-key-4}
http:
  enabled: true
  users:
    - name: alice
      password_hash: plaintextpass1
`
	_, err := LoadBytes([]byte(cfg), nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows secret %q:\n%v", s, err)
		}
	}
	// Decoding problems stop before Validate; check Validate's messages too.
	cfg = strings.Replace(cfg, "secret: {nested: hmac-key-4}", "secret: hmac-key-4", 1)
	_, err = LoadBytes([]byte(cfg), nil)
	if err == nil || !strings.Contains(err.Error(), `user "alice"`) {
		t.Fatalf("want the plaintext hash refused naming the user, got %v", err)
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows secret %q:\n%v", s, err)
		}
	}
}

// TestValidateJoinsAll checks that every problem is reported, one error each.
func TestValidateJoinsAll(t *testing.T) {
	c := Defaults()
	c.Master.Enabled = true
	c.Master.Listen = "0.0.0.0:1"
	c.HTTP.Enabled = true
	c.HTTP.Listen = "nope"
	c.Agent.Enabled = true
	c.Agent.Listen = "127.0.0.1:0"
	c.Agent.InsecureLoopback = true
	err := c.Validate()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("want joined errors, got %v", err)
	}
	want := []string{"master.listen:", "master.tls.ca:", "master.tls.cert:", "master.tls.key:", "agent.masters:", "http.listen:"}
	if len(joined.Unwrap()) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(joined.Unwrap()), len(want), err)
	}
	for i, w := range want {
		if i < len(joined.Unwrap()) && !strings.HasPrefix(joined.Unwrap()[i].Error(), w) {
			t.Errorf("error %d = %v, want prefix %q", i, joined.Unwrap()[i], w)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	base := []byte(`master:
  enabled: true
  listen: 127.0.0.1:7450
  insecure_loopback: true
  notifiers:
    mail:
      - name: m
        host: smtp.example.net
        from: a@example.net
        recipients: [{address: b@example.net}]
agent:
  enabled: true
  listen: 127.0.0.1:0
  insecure_loopback: true
  masters: [127.0.0.1:7450]
`)
	tests := []struct {
		name    string
		env     []string
		check   func(c *Config) bool
		wantErr string
	}{
		{"duration", []string{"LOOKOUT_MASTER__HOST_TIMEOUT=45s"},
			func(c *Config) bool { return c.Master.HostTimeout == 45*time.Second }, ""},
		{"days", []string{"LOOKOUT_MASTER__HISTORY__ROLLUP_RETENTION=90d"},
			func(c *Config) bool { return c.Master.History.RollupRetention == 90*24*time.Hour }, ""},
		{"underscore in key", []string{"LOOKOUT_MASTER__RATE_BURST=7"},
			func(c *Config) bool { return c.Master.RateBurst == 7 }, ""},
		{"bool and float", []string{"LOOKOUT_NODE__DEBUG=true", "LOOKOUT_MASTER__RATE_LIMIT=2.5"},
			func(c *Config) bool { return c.Node.Debug && c.Master.RateLimit == 2.5 }, ""},
		{"comma list", []string{"LOOKOUT_AGENT__MASTERS=127.0.0.1:7450, 127.0.0.2:7450"},
			func(c *Config) bool {
				return reflect.DeepEqual(c.Agent.Masters, []string{"127.0.0.1:7450", "127.0.0.2:7450"})
			}, ""},
		{"indexed secret", []string{"LOOKOUT_MASTER__NOTIFIERS__MAIL__0__PASSWORD=s3cret: with colon", "LOOKOUT_MASTER__NOTIFIERS__MAIL__0__USERNAME=u"},
			func(c *Config) bool {
				m := c.Master.Notifiers.Mail[0]
				return string(m.Password) == "s3cret: with colon" && m.Username == "u" && m.Host == "smtp.example.net"
			}, ""},
		{"new section", []string{"LOOKOUT_HTTP__ENABLED=true", "LOOKOUT_HTTP__LISTEN=127.0.0.1:9999"},
			func(c *Config) bool { return c.HTTP.Enabled && c.HTTP.Listen == "127.0.0.1:9999" }, ""},
		{"ignored", []string{"LOOKOUT_CONFIG=/etc/x.yaml", "HOME=/root", "lookout_master__listen=x", "LOOKOUT_NOEQUALS"},
			func(c *Config) bool { return c.Master.Listen == "127.0.0.1:7450" }, ""},
		{"unknown key", []string{"LOOKOUT_MASTER__HOST_TIMOUT=5s"}, nil,
			`master.host_timout: unknown key (did you mean "host_timeout"?) (set by LOOKOUT_MASTER__HOST_TIMOUT)`},
		{"bad value", []string{"LOOKOUT_MASTER__HOST_TIMEOUT=soon"}, nil,
			`master.host_timeout: invalid duration "soon" (want e.g. 30s, 5m, 2h, 30d) (set by LOOKOUT_MASTER__HOST_TIMEOUT)`},
		{"index out of range", []string{"LOOKOUT_MASTER__NOTIFIERS__MAIL__3__PASSWORD=x"}, nil,
			"environment variable LOOKOUT_MASTER__NOTIFIERS__MAIL__3__PASSWORD: master.notifiers.mail[3] does not exist (the list has 1 entries)"},
		{"index into missing list", []string{"LOOKOUT_MASTER__NOTIFIERS__IRC__0__NICK=x"}, nil,
			"master.notifiers.irc is not a list in the config file"},
		{"empty segment", []string{"LOOKOUT_MASTER____LISTEN=x"}, nil, "empty or dotted key segment"},
		{"validated", []string{"LOOKOUT_MASTER__LISTEN=10.1.1.1:7450"}, nil,
			"master.listen: 10.1.1.1:7450 is not a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadBytes(base, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("override not applied:\n%s", c.Redacted())
			}
		})
	}
}

func TestValidateHook(t *testing.T) {
	saved := validateHooks
	defer func() { validateHooks = saved }()
	var seen int
	ValidateHook(func(c *Config) []error {
		var errs []error
		for i, r := range c.Master.Rules {
			seen++
			if strings.Contains(r.Expr, ">>") {
				errs = append(errs, fmt.Errorf("master.rules[%d].expr: expected operator, got %q", i, ">>"))
			}
		}
		return errs
	})
	if _, err := Load("", nil); err != nil || seen != 5 {
		t.Fatalf("default config: err %v, hook saw %d rules", err, seen)
	}
	_, err := LoadBytes([]byte(`master:
  enabled: true
  listen: 127.0.0.1:7450
  insecure_loopback: true
  rules: [{name: a, expr: "x >> 1"}]
`), nil)
	if err == nil || !strings.Contains(err.Error(), `master.rules[0].expr: expected operator, got ">>"`) {
		t.Fatalf("hook error not reported: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	d := Defaults()
	if d.Master.Enabled || d.Agent.Enabled || d.HTTP.Enabled || d.Cluster.Enabled {
		t.Error("Defaults enables a role")
	}
	checks := map[string]bool{
		"data_dir":        d.Node.DataDir == "./data",
		"node name":       d.Node.Name != "",
		"host_timeout":    d.Master.HostTimeout == 30*time.Second,
		"raw_retention":   d.Master.History.RawRetention == 2*time.Hour,
		"rollup":          d.Master.History.RollupRetention == 30*24*time.Hour,
		"retry":           d.Master.Notifiers.Outbox.RetryMin == time.Second && d.Master.Notifiers.Outbox.RetryMax == 5*time.Minute,
		"fail_warn_after": d.Master.Notifiers.Outbox.FailWarnAfter == 5*time.Minute,
		"agent_silence":   d.Master.Watchdog.AgentSilence == 60*time.Second,
		"outbox_size":     d.Agent.OutboxSize == 1000 && d.Agent.ResendAfter == 2*time.Second,
		"intervals": d.Agent.Intervals == IntervalConfig{CPU: 5 * time.Second, Memory: 10 * time.Second, Disk: 30 * time.Second,
			Network: 10 * time.Second, Uptime: time.Minute, Ports: 10 * time.Second, Processes: 10 * time.Second, Heartbeat: 10 * time.Second},
		"http":    d.HTTP.Listen == "127.0.0.1:7460" && d.HTTP.SessionTTL == 24*time.Hour && d.HTTP.LoginRate == 10,
		"cluster": d.Cluster.Heartbeat == 500*time.Millisecond && d.Cluster.PeerTimeout == 1500*time.Millisecond,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("default %s wrong", name)
		}
	}
	// Per-entry defaults.
	var c Config
	c.Master.Notifiers.Mail = []MailConfig{{TLS: "tls"}, {}, {TLS: "none"}}
	c.Master.Notifiers.IRC = []IRCConfig{{TLS: true, Nick: "bot", Channels: []IRCChannel{{Name: "#a"}}}, {}}
	c.Master.Notifiers.SMS = []SMSConfig{{Provider: "twilio"}}
	c.Master.Maintenance = []MaintenanceConfig{{}}
	c.ApplyDefaults()
	n := c.Master.Notifiers
	if n.Mail[0].Port != 465 || n.Mail[1].Port != 587 || n.Mail[1].TLS != "starttls" || n.Mail[2].Port != 25 {
		t.Errorf("mail ports %d %d %d", n.Mail[0].Port, n.Mail[1].Port, n.Mail[2].Port)
	}
	if n.IRC[0].Port != 6697 || n.IRC[1].Port != 6667 || n.IRC[0].User != "bot" || !*n.IRC[0].Colors || n.IRC[0].Pace != 500*time.Millisecond || n.IRC[0].Channels[0].MinLevel != "INFO" {
		t.Errorf("irc defaults %+v", n.IRC[0])
	}
	if s := n.SMS[0]; s.MinLevel != "CRIT" || s.MaxLength != 160 || s.Segments != 1 || s.Twilio.BaseURL != DefaultTwilioBaseURL {
		t.Errorf("sms defaults %+v", s)
	}
	if c.Master.Maintenance[0].Hosts != "*" {
		t.Error("maintenance hosts default")
	}
	// Set values survive a second ApplyDefaults.
	before := c.Redacted()
	c.ApplyDefaults()
	if c.Redacted() != before {
		t.Error("ApplyDefaults is not idempotent")
	}
}

func TestParseEvery(t *testing.T) {
	loc := time.UTC
	now := time.Date(2026, 11, 24, 21, 0, 0, 0, loc) // a Tuesday
	tests := []struct {
		in      string
		next    time.Time
		wantErr bool
	}{
		{"daily 02:00", time.Date(2026, 11, 25, 2, 0, 0, 0, loc), false},
		{"Daily 22:30", time.Date(2026, 11, 24, 22, 30, 0, 0, loc), false},
		{"sunday 03:00", time.Date(2026, 11, 29, 3, 0, 0, 0, loc), false},
		{"tue 21:00", time.Date(2026, 12, 1, 21, 0, 0, 0, loc), false},
		{"tue 21:01", time.Date(2026, 11, 24, 21, 1, 0, 0, loc), false},
		{"weekly 02:00", time.Time{}, true},
		{"daily 25:00", time.Time{}, true},
		{"daily", time.Time{}, true},
		{"", time.Time{}, true},
	}
	for _, tt := range tests {
		e, err := ParseEvery(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseEvery(%q) err %v", tt.in, err)
			continue
		}
		if err == nil && !e.Next(now).Equal(tt.next) {
			t.Errorf("ParseEvery(%q).Next = %s, want %s", tt.in, e.Next(now), tt.next)
		}
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in   string
		d    time.Duration
		back string
	}{
		{"30s", 30 * time.Second, "30s"},
		{"30d", 30 * 24 * time.Hour, "30d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"2h", 2 * time.Hour, "2h"},
		{"0", 0, "0s"},
	}
	for _, tt := range tests {
		d, err := ParseDuration(tt.in)
		if err != nil || d != tt.d {
			t.Errorf("ParseDuration(%q) = %s, %v; want %s", tt.in, d, err, tt.d)
		}
		if got := FormatDuration(d); got != tt.back {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, tt.back)
		}
		if d2, _ := ParseDuration(FormatDuration(d)); d2 != d {
			t.Errorf("round trip of %s gives %s", d, d2)
		}
	}
	for _, bad := range []string{"", "5", "5 m", "1000000d", "d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestConcreteAddr(t *testing.T) {
	tests := []struct {
		addr     string
		ok, loop bool
	}{
		{"127.0.0.1:1", true, true},
		{"127.3.2.1:80", true, true},
		{"[::1]:80", true, true},
		{"localhost:80", true, true},
		{"[::ffff:127.0.0.1]:80", true, true},
		{"10.0.0.1:7450", true, false},
		{"master1.example.net:7450", true, false},
		{"0.0.0.0:7450", false, false},
		{"[::]:7450", false, false},
		{":7450", false, false},
		{"127.0.0.1", false, true},
		{"127.0.0.1:0", false, true},
		{"127.0.0.1:65536", false, true},
		{"127.0.0.1:http", false, true},
		{"bad host:1", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if err := concreteAddr(tt.addr); (err == nil) != tt.ok {
			t.Errorf("concreteAddr(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
		if tt.ok && isLoopback(tt.addr) != tt.loop {
			t.Errorf("isLoopback(%q) != %v", tt.addr, tt.loop)
		}
	}
}

func TestPasswordHash(t *testing.T) {
	tests := []struct {
		h  string
		ok bool
	}{
		{"$2a$10$tC9LyHtAXUVWCHWXPyg4c.ZhqSXy3I045Y4k6029dNmjbNBhdL.Ce", true},
		{"$2b$12$tC9LyHtAXUVWCHWXPyg4c.ZhqSXy3I045Y4k6029dNmjbNBhdL.Ce", true},
		{"$2y$10$tC9LyHtAXUVWCHWXPyg4c.ZhqSXy3I045Y4k6029dNmjbNBhdL.Ce", true},
		{"$argon2id$v=19$m=65536,t=3,p=2$bG9va291dC1leGFtcGxlIQ$xqCUMFpB1DKSOjhvvFWfhxs3RfRTp7IWNrLCGn4sXH8", true},
		{"$2a$10$short", false},
		{"$argon2i$v=19$m=65536,t=3,p=2$bG9v$xqCU", false},
		{"$1$md5crypt$abc", false},
		{"hunter2", false},
		{"", false},
	}
	for _, tt := range tests {
		if validPasswordHash(tt.h) != tt.ok {
			t.Errorf("validPasswordHash(%q) != %v", tt.h, tt.ok)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("want a not-exist error naming the file, got %v", err)
	}
	_, err = LoadBytes(bytes.Repeat([]byte("#"), maxConfigBytes+1), nil)
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized config: %v", err)
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(DefaultYAML)
	if b, err := os.ReadFile("example.yaml"); err == nil {
		f.Add(b)
	}
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("master: {agents: [1, [2], {name: x}]}\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("1: 2\nmaster:\n  3: 4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := LoadBytes(b, []string{"LOOKOUT_MASTER__NOTIFIERS__MAIL__0__PASSWORD=p"})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("loaded config does not validate: %v", err)
		}
		if _, err := parse("redacted", rawbytes.Provider([]byte(c.Redacted())), nil); err != nil {
			t.Fatalf("Redacted output does not parse back: %v\n%s", err, c.Redacted())
		}
	})
}
