package configs

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// validateHooks are the checks other packages add with ValidateHook. It is
// written only at init time (see ValidateHook) and read by Validate.
var validateHooks []func(c *Config) []error

// ValidateHook registers fn to run at the end of every Validate; its errors
// join the others and should be prefixed with their key path, e.g.
// "master.rules[2].expr: ...". It lets packages that configs cannot import
// (the rule parser, notifier constructors) check their sections without an
// import cycle.
//
// Registration must happen before any Load or Validate and from one place:
// app/validate.go registers every hook (package app is what assembles a
// process). It is not safe to call concurrently with Validate.
func ValidateHook(fn func(c *Config) []error) {
	if fn == nil {
		panic("configs.ValidateHook: nil func")
	}
	validateHooks = append(validateHooks, fn)
}

// problems collects validation errors, each prefixed with its key path.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	for i, a := range args {
		if d, ok := a.(time.Duration); ok {
			args[i] = FormatDuration(d)
		}
	}
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Validate checks the whole configuration and returns
// every problem found, joined, each prefixed with its key path, e.g.
// "master.notifiers.mail[0].port: must be 1..65535, got 0". Secret values
// never appear in the messages. Call ApplyDefaults first (Load does): zero
// values such as a 0s timeout are errors here.
func (c *Config) Validate() error {
	var p problems
	c.validateNode(&p)
	if !c.Master.Enabled && !c.Agent.Enabled && !c.HTTP.Enabled {
		p.add("config", "nothing to run: enable at least one of master.enabled, agent.enabled, http.enabled")
	}
	if c.Master.Enabled {
		c.validateMaster(&p)
	}
	if c.Agent.Enabled {
		c.validateAgent(&p)
	}
	if c.HTTP.Enabled {
		c.validateHTTP(&p)
	}
	if c.Cluster.Enabled {
		c.validateCluster(&p)
		if !c.Master.Enabled {
			p.add("cluster.enabled", "clustering needs master.enabled: true")
		}
	}
	for _, h := range validateHooks {
		p = append(p, h(c)...)
	}
	return errors.Join(p...)
}

// ValidateAgent is Validate for a process that runs only the agent
// (lookout-agent, whatever agent.enabled says): it checks the node and
// agent sections exactly as Validate does and leaves out the master, http
// and cluster sections, which such a process does not run, and the
// ValidateHook checks (they are the master's). So the agent binary does
// not link the master's checks (notifier addresses with net/mail, URLs,
// password hashes, their regular expressions).
func (c *Config) ValidateAgent() error {
	var p problems
	c.validateNode(&p)
	c.validateAgent(&p)
	return errors.Join(p...)
}

// validateNode checks the node section, which every role needs.
func (c *Config) validateNode(p *problems) {
	if strings.TrimSpace(c.Node.Name) == "" {
		p.add("node.name", "must not be empty")
	}
	if strings.TrimSpace(c.Node.DataDir) == "" {
		p.add("node.data_dir", "must not be empty")
	}
}

// validateListener checks a role's listen address and its transport
// security: plaintext only with insecure_loopback and loopback addresses,
// otherwise all three mTLS files.
func validateListener(p *problems, prefix, listen string, insecure bool, tls TLSFiles) {
	check := concreteAddr
	if prefix == "agent" {
		// The agent's ack listener may use port 0 (a free port is picked;
		// hollywood tells masters the real address).
		check = concreteAddrAnyPort
	}
	if err := check(listen); err != nil {
		p.add(prefix+".listen", "%v", err)
	} else if insecure && !isLoopback(listen) {
		p.add(prefix+".listen", "%s is not a loopback address, but insecure_loopback (plaintext) allows only 127.0.0.0/8, ::1 or localhost; configure %s.tls instead", listen, prefix)
	}
	validateTLS(p, prefix, insecure, tls)
}

func validateTLS(p *problems, prefix string, insecure bool, tls TLSFiles) {
	if !insecure || tls.Enabled() {
		for _, f := range []struct{ key, val string }{{"ca", tls.CA}, {"cert", tls.Cert}, {"key", tls.Key}} {
			if strings.TrimSpace(f.val) == "" {
				if insecure {
					p.add(prefix+".tls."+f.key, "must be set when any of %s.tls is set (mTLS needs ca, cert and key)", prefix)
				} else {
					p.add(prefix+".tls."+f.key, "must be set: mTLS is required unless %s.insecure_loopback is true (create the files with `lookout ca ...` and `lookout cert ...`)", prefix)
				}
			}
		}
	}
}

func (c *Config) validateMaster(p *problems) {
	m := &c.Master
	validateListener(p, "master", m.Listen, m.InsecureLoopback, m.TLS)
	positive(p, "master.host_timeout", m.HostTimeout, time.Second)
	positive(p, "master.persistent_downtime", m.PersistentDowntime, time.Second)
	if m.PersistentDowntime < m.HostTimeout {
		p.add("master.persistent_downtime", "must be at least master.host_timeout (%s), got %s", m.HostTimeout, m.PersistentDowntime)
	}
	names := map[string]int{}
	keys := map[string]int{}
	for i, a := range m.Agents {
		k := fmt.Sprintf("master.agents[%d]", i)
		if strings.TrimSpace(a.Name) == "" {
			p.add(k+".name", "must not be empty")
		} else if j, dup := names[a.Name]; dup {
			p.add(k+".name", "duplicate agent name %q (also master.agents[%d])", a.Name, j)
		} else {
			names[a.Name] = i
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a.PublicKey))
		switch {
		case strings.TrimSpace(a.PublicKey) == "":
			p.add(k+".public_key", "must be set (base64 ed25519 public key from `lookout cert issue --agent`)")
		case err != nil:
			p.add(k+".public_key", "is not valid base64 (standard alphabet with padding)")
		case len(raw) != 32:
			p.add(k+".public_key", "must decode to 32 bytes (ed25519), got %d", len(raw))
		default:
			if j, dup := keys[string(raw)]; dup {
				p.add(k+".public_key", "same key as master.agents[%d]: an agent's identity must be unique", j)
			} else {
				keys[string(raw)] = i
			}
		}
	}
	h := m.History
	positive(p, "master.history.raw_retention", h.RawRetention, time.Minute)
	positive(p, "master.history.rollup_retention", h.RollupRetention, time.Minute)
	if h.RollupRetention < h.RawRetention {
		p.add("master.history.rollup_retention", "must be at least raw_retention (%s), got %s", h.RawRetention, h.RollupRetention)
	}
	if h.MinFreeBytes < 0 {
		p.add("master.history.min_free_bytes", "must not be negative, got %d", h.MinFreeBytes)
	}
	if !(m.RateLimit > 0) || m.RateLimit > 1e6 {
		p.add("master.rate_limit", "must be a positive number of reports per second, got %v", m.RateLimit)
	}
	if m.RateBurst < 1 {
		p.add("master.rate_burst", "must be at least 1, got %d", m.RateBurst)
	}
	rules := map[string]int{}
	for i, r := range m.Rules {
		k := fmt.Sprintf("master.rules[%d]", i)
		if strings.TrimSpace(r.Name) == "" {
			p.add(k+".name", "must not be empty")
		} else if j, dup := rules[r.Name]; dup {
			p.add(k+".name", "duplicate rule name %q (also master.rules[%d])", r.Name, j)
		} else {
			rules[r.Name] = i
		}
		if strings.TrimSpace(r.Expr) == "" {
			p.add(k+".expr", "must not be empty")
		}
	}
	validateMaintenance(p, m.Maintenance)
	validateWatchdog(p, m.Watchdog)
	validateNotifiers(p, &m.Notifiers)
}

func validateMaintenance(p *problems, ms []MaintenanceConfig) {
	names := map[string]int{}
	for i, w := range ms {
		k := fmt.Sprintf("master.maintenance[%d]", i)
		if strings.TrimSpace(w.Name) == "" {
			p.add(k+".name", "must not be empty")
		} else if j, dup := names[w.Name]; dup {
			p.add(k+".name", "duplicate maintenance window name %q (also master.maintenance[%d])", w.Name, j)
		} else {
			names[w.Name] = i
		}
		if _, err := path.Match(w.Hosts, ""); err != nil {
			p.add(k+".hosts", "invalid glob %q", w.Hosts)
		}
		oneOff := !w.Start.IsZero() || !w.End.IsZero()
		recurring := w.Every != "" || w.Duration != 0
		switch {
		case oneOff && recurring:
			p.add(k, "set either start+end (one-off) or every+duration (recurring), not both")
		case oneOff:
			if w.Start.IsZero() {
				p.add(k+".start", "must be set together with end")
			} else if w.End.IsZero() {
				p.add(k+".end", "must be set together with start")
			} else if !w.End.After(w.Start) {
				p.add(k+".end", "must be after start (%s), got %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
			}
		case recurring:
			if _, err := ParseEvery(w.Every); err != nil {
				p.add(k+".every", "%v", err)
			}
			if w.Duration <= 0 {
				p.add(k+".duration", "must be positive for a recurring window, got %s", w.Duration)
			} else if w.Duration > 7*24*time.Hour {
				p.add(k+".duration", "must be at most 7 days, got %s", w.Duration)
			}
		default:
			p.add(k, "set start+end (one-off) or every+duration (recurring)")
		}
	}
}

func validateWatchdog(p *problems, w WatchdogConfig) {
	positive(p, "master.watchdog.agent_silence", w.AgentSilence, time.Second)
	positive(p, "master.watchdog.peer_silence", w.PeerSilence, 100*time.Millisecond)
	positive(p, "master.watchdog.notifier_failing", w.NotifierFailing, time.Second)
	if w.RestartStorm < 1 {
		p.add("master.watchdog.restart_storm", "must be at least 1, got %d", w.RestartStorm)
	}
	positive(p, "master.watchdog.restart_window", w.RestartWindow, time.Second)
	if w.HeartbeatURL != "" {
		checkURL(p, "master.watchdog.heartbeat_url", w.HeartbeatURL)
		positive(p, "master.watchdog.heartbeat_interval", w.HeartbeatInterval, time.Second)
	}
}

func validateNotifiers(p *problems, n *NotifiersConfig) {
	o := n.Outbox
	positive(p, "master.notifiers.outbox.retry_min", o.RetryMin, 10*time.Millisecond)
	positive(p, "master.notifiers.outbox.retry_max", o.RetryMax, 10*time.Millisecond)
	if o.RetryMax < o.RetryMin {
		p.add("master.notifiers.outbox.retry_max", "must be at least retry_min (%s), got %s", o.RetryMin, o.RetryMax)
	}
	positive(p, "master.notifiers.outbox.fail_warn_after", o.FailWarnAfter, time.Second)
	if o.GiveUpAfter < 0 {
		p.add("master.notifiers.outbox.give_up_after", "must not be negative (0 = never), got %s", o.GiveUpAfter)
	}

	names := map[string]int{}
	for i, m := range n.Mail {
		k := fmt.Sprintf("master.notifiers.mail[%d]", i)
		uniqueName(p, k, "mail", m.Name, i, names)
		if strings.TrimSpace(m.Host) == "" {
			p.add(k+".host", "must be set (SMTP server)")
		} else if !validHostname(m.Host) && net.ParseIP(m.Host) == nil {
			p.add(k+".host", "must be a host name or IP without port (set port separately), got %q", m.Host)
		}
		checkPort(p, k+".port", m.Port)
		switch m.TLS {
		case "starttls", "tls", "none":
		default:
			p.add(k+".tls", "must be starttls, tls or none, got %q", m.TLS)
		}
		if m.Password != "" && m.Username == "" {
			p.add(k+".username", "must be set when password is set")
		}
		if m.From == "" {
			p.add(k+".from", "must be set (sender address)")
		} else if !validMailAddress(m.From) {
			p.add(k+".from", "%q is not a valid mail address", m.From)
		}
		checkLevel(p, k+".min_level", m.MinLevel)
		if len(m.Recipients) == 0 {
			p.add(k+".recipients", "must list at least one recipient")
		}
		for j, r := range m.Recipients {
			rk := fmt.Sprintf("%s.recipients[%d]", k, j)
			if r.Address == "" {
				p.add(rk+".address", "must be set")
			} else if !validMailAddress(r.Address) {
				p.add(rk+".address", "%q is not a valid mail address", r.Address)
			}
			checkLevel(p, rk+".min_level", r.MinLevel)
		}
		positive(p, k+".timeout", m.Timeout, 100*time.Millisecond)
	}

	names = map[string]int{}
	for i, r := range n.IRC {
		k := fmt.Sprintf("master.notifiers.irc[%d]", i)
		uniqueName(p, k, "irc", r.Name, i, names)
		if strings.TrimSpace(r.Server) == "" {
			p.add(k+".server", "must be set (IRC server host name)")
		} else if strings.ContainsAny(r.Server, " :/") && net.ParseIP(r.Server) == nil {
			p.add(k+".server", "must be a host name without port or scheme (set port separately), got %q", r.Server)
		}
		checkPort(p, k+".port", r.Port)
		if !validNick(r.Nick) {
			if r.Nick == "" {
				p.add(k+".nick", "must be set")
			} else {
				p.add(k+".nick", "%q is not a valid IRC nick (letters, digits, []\\`_^{|}-, not starting with a digit or -, at most 30)", r.Nick)
			}
		}
		if strings.ContainsAny(r.User, " @!") {
			p.add(k+".user", "must not contain spaces, @ or !, got %q", r.User)
		}
		if (r.SASLUser == "") != (r.SASLPassword == "") {
			p.add(k+".sasl_user", "sasl_user and sasl_password must be set together")
		}
		if len(r.Channels) == 0 {
			p.add(k+".channels", "must list at least one channel")
		}
		chans := map[string]int{}
		for j, ch := range r.Channels {
			ck := fmt.Sprintf("%s.channels[%d]", k, j)
			if len(ch.Name) < 2 || (ch.Name[0] != '#' && ch.Name[0] != '&') || strings.ContainsAny(ch.Name, " ,\a\x00\r\n") {
				p.add(ck+".name", "must start with # or & and contain no spaces or commas, got %q", ch.Name)
			} else if j2, dup := chans[strings.ToLower(ch.Name)]; dup {
				p.add(ck+".name", "duplicate channel %q (also %s.channels[%d])", ch.Name, k, j2)
			} else {
				chans[strings.ToLower(ch.Name)] = j
			}
			checkLevel(p, ck+".min_level", ch.MinLevel)
		}
		for j, a := range r.Admins {
			if _, err := path.Match(a, ""); err != nil || a == "" {
				p.add(fmt.Sprintf("%s.admins[%d]", k, j), "invalid nick!user@host glob %q", a)
			}
		}
		positive(p, k+".pace", r.Pace, 0)
	}

	names = map[string]int{}
	for i, s := range n.SMS {
		k := fmt.Sprintf("master.notifiers.sms[%d]", i)
		uniqueName(p, k, "sms", s.Name, i, names)
		checkLevel(p, k+".min_level", s.MinLevel)
		if len(s.To) == 0 {
			p.add(k+".to", "must list at least one phone number")
		}
		for j, to := range s.To {
			if !e164().MatchString(to) {
				p.add(fmt.Sprintf("%s.to[%d]", k, j), "%q is not an E.164 number (+ then 8 to 15 digits, e.g. +14155550100)", to)
			}
		}
		if s.MaxLength < 1 || s.MaxLength > 1600 {
			p.add(k+".max_length", "must be 1..1600, got %d", s.MaxLength)
		}
		if s.Segments < 1 || s.Segments > 10 {
			p.add(k+".segments", "must be 1..10, got %d", s.Segments)
		}
		positive(p, k+".timeout", s.Timeout, 100*time.Millisecond)
		switch s.Provider {
		case "twilio":
			t := s.Twilio
			if !strings.HasPrefix(t.AccountSID, "AC") || len(t.AccountSID) < 4 {
				p.add(k+".twilio.account_sid", "must be a Twilio account SID starting with \"AC\"")
			}
			if t.AuthToken == "" {
				p.add(k+".twilio.auth_token", "must be set")
			}
			if t.From == "" {
				p.add(k+".twilio.from", "must be set (a Twilio number in E.164 or a messaging service SID)")
			} else if !e164().MatchString(t.From) && !strings.HasPrefix(t.From, "MG") {
				p.add(k+".twilio.from", "%q is neither an E.164 number nor a messaging service SID (MG...)", t.From)
			}
			checkURL(p, k+".twilio.base_url", t.BaseURL)
		case "http":
			if s.HTTP.URL == "" {
				p.add(k+".http.url", "must be set for provider http")
			} else {
				checkURL(p, k+".http.url", s.HTTP.URL)
			}
		case "":
			p.add(k+".provider", "must be set: twilio or http")
		default:
			p.add(k+".provider", "must be twilio or http, got %q", s.Provider)
		}
	}

	names = map[string]int{}
	for i, w := range n.Webhook {
		k := fmt.Sprintf("master.notifiers.webhook[%d]", i)
		uniqueName(p, k, "webhook", w.Name, i, names)
		if w.URL == "" {
			p.add(k+".url", "must be set")
		} else {
			checkURL(p, k+".url", w.URL)
		}
		checkLevel(p, k+".min_level", w.MinLevel)
		for h := range w.Headers {
			if !validHeaderName(h) {
				p.add(k+".headers", "%q is not a valid HTTP header name", h)
			}
		}
		positive(p, k+".timeout", w.Timeout, 100*time.Millisecond)
	}
}

func (c *Config) validateAgent(p *problems) {
	a := &c.Agent
	if strings.TrimSpace(a.Name) == "" {
		p.add("agent.name", "must not be empty")
	}
	if strings.TrimSpace(a.Host) == "" {
		p.add("agent.host", "must not be empty")
	}
	if strings.TrimSpace(a.KeyFile) == "" {
		p.add("agent.key_file", "must be set")
	}
	validateListener(p, "agent", a.Listen, a.InsecureLoopback, a.TLS)
	if len(a.Masters) == 0 {
		p.add("agent.masters", "must list at least one master ingest address (host:port)")
	}
	seen := map[string]int{}
	for i, m := range a.Masters {
		k := fmt.Sprintf("agent.masters[%d]", i)
		if err := concreteAddr(m); err != nil {
			p.add(k, "%v", err)
			continue
		}
		if a.InsecureLoopback && !isLoopback(m) {
			p.add(k, "%s is not a loopback address, but agent.insecure_loopback (plaintext) allows only 127.0.0.0/8, ::1 or localhost; configure agent.tls instead", m)
		}
		if j, dup := seen[m]; dup {
			p.add(k, "duplicate master %s (also agent.masters[%d])", m, j)
		}
		seen[m] = i
	}
	if a.OutboxSize < 1 || a.OutboxSize > 1_000_000 {
		p.add("agent.outbox_size", "must be 1..1000000, got %d", a.OutboxSize)
	}
	positive(p, "agent.resend_after", a.ResendAfter, 100*time.Millisecond)
	iv := a.Intervals
	for _, f := range []struct {
		key string
		d   time.Duration
	}{
		{"cpu", iv.CPU}, {"memory", iv.Memory}, {"disk", iv.Disk}, {"network", iv.Network},
		{"uptime", iv.Uptime}, {"ports", iv.Ports}, {"processes", iv.Processes}, {"heartbeat", iv.Heartbeat},
	} {
		if f.d < time.Second {
			p.add("agent.intervals."+f.key, "must be at least 1s, got %s", f.d)
		}
	}
	if a.TextfileDir != "" {
		if st, err := os.Stat(a.TextfileDir); err != nil {
			p.add("agent.textfile_dir", "%v (create the directory or remove the setting)", err)
		} else if !st.IsDir() {
			p.add("agent.textfile_dir", "%s is not a directory", a.TextfileDir)
		}
	}
	if c.Master.Enabled && iv.Heartbeat >= c.Master.HostTimeout {
		p.add("agent.intervals.heartbeat", "must be shorter than master.host_timeout (%s), got %s, or the host flaps down", c.Master.HostTimeout, iv.Heartbeat)
	}
	names := map[string]int{}
	for i, pc := range a.Ports {
		k := fmt.Sprintf("agent.ports[%d]", i)
		if strings.TrimSpace(pc.Name) == "" {
			p.add(k+".name", "must not be empty")
		} else if strings.ContainsAny(pc.Name, "()!:") {
			p.add(k+".name", "must not contain ( ) ! or : (they are rule syntax), got %q", pc.Name)
		} else if j, dup := names[pc.Name]; dup {
			p.add(k+".name", "duplicate port check name %q (also agent.ports[%d])", pc.Name, j)
		} else {
			names[pc.Name] = i
		}
		if strings.TrimSpace(pc.Host) == "" {
			p.add(k+".host", "must not be empty")
		}
		checkPort(p, k+".port", pc.Port)
		positive(p, k+".timeout", pc.Timeout, 10*time.Millisecond)
		if pc.Retries < 0 || pc.Retries > 10 {
			p.add(k+".retries", "must be 0..10, got %d", pc.Retries)
		}
	}
	names = map[string]int{}
	for i, pc := range a.Processes {
		k := fmt.Sprintf("agent.processes[%d]", i)
		if strings.TrimSpace(pc.Name) == "" {
			p.add(k+".name", "must not be empty")
		} else if strings.ContainsAny(pc.Name, "()!:") {
			p.add(k+".name", "must not contain ( ) ! or : (they are rule syntax), got %q", pc.Name)
		} else if j, dup := names[pc.Name]; dup {
			p.add(k+".name", "duplicate process check name %q (also agent.processes[%d])", pc.Name, j)
		} else {
			names[pc.Name] = i
		}
		if pc.Match == "" {
			p.add(k+".match", "must be set (glob matched against argv[0])")
		} else if _, err := path.Match(pc.Match, ""); err != nil {
			p.add(k+".match", "invalid glob %q", pc.Match)
		}
		for j, g := range pc.Args {
			if _, err := path.Match(g, ""); err != nil {
				p.add(fmt.Sprintf("%s.args[%d]", k, j), "invalid glob %q", g)
			}
		}
	}
	for i, g := range a.ExcludeInterfaces {
		if _, err := path.Match(g, ""); err != nil {
			p.add(fmt.Sprintf("agent.exclude_interfaces[%d]", i), "invalid glob %q", g)
		}
	}
}

func (c *Config) validateHTTP(p *problems) {
	h := &c.HTTP
	if err := concreteAddr(h.Listen); err != nil {
		p.add("http.listen", "%v", err)
	}
	if h.TLS.Cert != "" || h.TLS.Key != "" {
		if h.TLS.Cert == "" {
			p.add("http.tls.cert", "must be set together with http.tls.key")
		}
		if h.TLS.Key == "" {
			p.add("http.tls.key", "must be set together with http.tls.cert")
		}
	}
	names := map[string]int{}
	for i, u := range h.Users {
		k := fmt.Sprintf("http.users[%d]", i)
		if strings.TrimSpace(u.Name) == "" || strings.ContainsAny(u.Name, " :") {
			p.add(k+".name", "must be non-empty without spaces or colons")
		} else if j, dup := names[u.Name]; dup {
			p.add(k+".name", "duplicate user %q (also http.users[%d])", u.Name, j)
		} else {
			names[u.Name] = i
		}
		if u.PasswordHash == "" {
			p.add(k+".password_hash", "user %q: must be set (bcrypt or argon2id hash, e.g. from `lookout hash-password`)", u.Name)
		} else if !validPasswordHash(string(u.PasswordHash)) {
			p.add(k+".password_hash", "user %q: not a bcrypt ($2a$/$2b$/$2y$) or argon2id ($argon2id$) hash; plaintext passwords are refused", u.Name)
		}
	}
	positive(p, "http.session_ttl", h.SessionTTL, time.Minute)
	if h.LoginRate < 1 {
		p.add("http.login_rate", "must be at least 1, got %d", h.LoginRate)
	}
}

func (c *Config) validateCluster(p *problems) {
	cl := &c.Cluster
	validateListener(p, "cluster", cl.Listen, cl.InsecureLoopback, cl.TLS)
	if len(cl.Peers) == 0 {
		p.add("cluster.peers", "must list the other masters' cluster addresses when cluster.enabled is true")
	}
	seen := map[string]int{}
	for i, peer := range cl.Peers {
		k := fmt.Sprintf("cluster.peers[%d]", i)
		if err := concreteAddr(peer); err != nil {
			p.add(k, "%v", err)
			continue
		}
		if cl.InsecureLoopback && !isLoopback(peer) {
			p.add(k, "%s is not a loopback address, but cluster.insecure_loopback (plaintext) allows only 127.0.0.0/8, ::1 or localhost; configure cluster.tls instead", peer)
		}
		if peer == cl.Listen {
			p.add(k, "%s is this master's own cluster.listen", peer)
		}
		if j, dup := seen[peer]; dup {
			p.add(k, "duplicate peer %s (also cluster.peers[%d])", peer, j)
		}
		seen[peer] = i
	}
	if c.Master.Enabled && cl.Listen != "" && cl.Listen == c.Master.Listen {
		p.add("cluster.listen", "must differ from master.listen (agent and cluster traffic use separate engines)")
	}
	positive(p, "cluster.heartbeat", cl.Heartbeat, 10*time.Millisecond)
	positive(p, "cluster.peer_timeout", cl.PeerTimeout, 10*time.Millisecond)
	if cl.PeerTimeout < 2*cl.Heartbeat {
		p.add("cluster.peer_timeout", "must be at least twice cluster.heartbeat (%s), got %s", cl.Heartbeat, cl.PeerTimeout)
	}
}

// concreteAddr checks that addr is host:port with a non-empty, specific host
// (not 0.0.0.0 or ::, since hollywood replies dial back to it) and a numeric
// port 1..65535.
func concreteAddr(addr string) error { return concreteAddrPort(addr, 1) }

// concreteAddrAnyPort is concreteAddr allowing port 0.
func concreteAddrAnyPort(addr string) error { return concreteAddrPort(addr, 0) }

func concreteAddrPort(addr string, minPort int) error {
	if addr == "" {
		return errors.New("must be set to a concrete host:port")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < minPort || n > 65535 {
		return fmt.Errorf("%q: port must be %d..65535", addr, minPort)
	}
	if host == "" {
		return fmt.Errorf("%q: the host is empty; name a concrete address to listen on", addr)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.IsUnspecified() {
			return fmt.Errorf("%q: %s is not a concrete address; name the interface address to listen on (hollywood replies dial back to it)", addr, host)
		}
		return nil
	}
	if !validHostname(host) {
		return fmt.Errorf("%q: %q is not a valid host name or IP address", addr, host)
	}
	return nil
}

// isLoopback reports whether host:port addr is on 127.0.0.0/8, ::1 or localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

var hostnameRe = regexp.MustCompile(`^([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$`)

func validHostname(h string) bool { return len(h) <= 253 && hostnameRe.MatchString(h) }

// The master's patterns are compiled on first use (sync.OnceValue), so that
// a process that never validates the master (lookout-agent, ValidateAgent)
// neither compiles nor keeps them.
var e164 = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`) })

var nickRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z\[\]\\` + "`" + `_^{|}][A-Za-z0-9\[\]\\` + "`" + `_^{|}-]{0,29}$`)
})

func validNick(n string) bool { return nickRe().MatchString(n) }

var headerRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$") })

func validHeaderName(h string) bool { return headerRe().MatchString(h) }

// validMailAddress accepts one RFC 5322 address ("ops@example.net" or
// "Lookout <lookout@example.net>") whose domain is a valid host name.
func validMailAddress(a string) bool {
	addr, err := mail.ParseAddress(a)
	if err != nil {
		return false
	}
	at := strings.LastIndexByte(addr.Address, '@')
	return at > 0 && validHostname(addr.Address[at+1:])
}

// validPasswordHash reports whether h looks like a bcrypt or argon2id hash
// (structure only; the verifier checks the rest).
var (
	bcryptRe   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$`) })
	argon2idRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$`)
	})
)

func validPasswordHash(h string) bool {
	return bcryptRe().MatchString(h) || argon2idRe().MatchString(h)
}

// checkURL requires an absolute http(s) URL with a host. The URL itself is
// never echoed: webhook URLs often carry tokens.
func checkURL(p *problems, key, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		p.add(key, "is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		p.add(key, "must be an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		p.add(key, "must include a host")
	}
}

func checkPort(p *problems, key string, port int) {
	if port < 1 || port > 65535 {
		p.add(key, "must be 1..65535, got %d", port)
	}
}

func checkLevel(p *problems, key, level string) {
	if _, err := model.ParseLevel(level); err != nil {
		p.add(key, "%v", err)
	}
}

// positive requires d >= min (and d > 0).
func positive(p *problems, key string, d, min time.Duration) {
	switch {
	case d <= 0:
		p.add(key, "must be positive, got %s", d)
	case d < min:
		p.add(key, "must be at least %s, got %s", min, d)
	}
}

func uniqueName(p *problems, k, typ, name string, i int, seen map[string]int) {
	if strings.TrimSpace(name) == "" {
		p.add(k+".name", "must not be empty")
		return
	}
	if j, dup := seen[name]; dup {
		p.add(k+".name", "duplicate %s notifier name %q (also master.notifiers.%s[%d])", typ, name, typ, j)
		return
	}
	seen[name] = i
}
