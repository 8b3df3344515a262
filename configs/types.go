// Package configs owns Lookout's configuration: the schema (this file), the
// embedded default used by `lookout run`, loading with koanf (YAML file plus
// LOOKOUT_* environment overrides) and validation that reports every error
// with its key path. Other packages receive the typed sections they need.
package configs

import "time"

// Secret is a string that never prints: String, GoString, MarshalText and
// slog all show "<secret>". Use string(s) where the real value is needed.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText hides the value in JSON/YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config is the whole configuration of one lookout process.
type Config struct {
	Node    NodeConfig    `koanf:"node" json:"node"`
	Master  MasterConfig  `koanf:"master" json:"master"`
	Agent   AgentConfig   `koanf:"agent" json:"agent"`
	HTTP    HTTPConfig    `koanf:"http" json:"http"`
	Cluster ClusterConfig `koanf:"cluster" json:"cluster"`
}

// NodeConfig is what identifies this process.
type NodeConfig struct {
	// Name of this node (master name, and default agent name). Default: hostname.
	Name    string `koanf:"name" json:"name"`
	DataDir string `koanf:"data_dir" json:"data_dir"` // default ./data
	Debug   bool   `koanf:"debug" json:"debug"`
}

// TLSFiles names PEM files for a mutual-TLS listener or dialer.
type TLSFiles struct {
	CA   string `koanf:"ca" json:"ca"`
	Cert string `koanf:"cert" json:"cert"`
	Key  string `koanf:"key" json:"key"`
}

// Enabled reports whether any TLS file is configured.
func (t TLSFiles) Enabled() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }

// MasterConfig configures the master role.
type MasterConfig struct {
	Enabled bool `koanf:"enabled" json:"enabled"`
	// Listen is the agent ingest address (hollywood remote). Must be a
	// concrete address (replies dial back to it), never 0.0.0.0.
	Listen string `koanf:"listen" json:"listen"`
	// InsecureLoopback allows plaintext; only loopback addresses then.
	InsecureLoopback bool     `koanf:"insecure_loopback" json:"insecure_loopback"`
	TLS              TLSFiles `koanf:"tls" json:"tls"`
	// HostTimeout: no report for this long = host down.
	HostTimeout time.Duration `koanf:"host_timeout" json:"host_timeout"`
	// PersistentDowntime: down longer than this = persistent downtime (escalates).
	PersistentDowntime time.Duration `koanf:"persistent_downtime" json:"persistent_downtime"`
	// Agents allowed to report; anything else is rejected.
	Agents      []AgentAuth         `koanf:"agents" json:"agents"`
	History     HistoryConfig       `koanf:"history" json:"history"`
	Rules       []RuleConfig        `koanf:"rules" json:"rules"`
	Maintenance []MaintenanceConfig `koanf:"maintenance" json:"maintenance"`
	Notifiers   NotifiersConfig     `koanf:"notifiers" json:"notifiers"`
	Watchdog    WatchdogConfig      `koanf:"watchdog" json:"watchdog"`
	// RateLimit is the per-agent report rate (reports/s) above which reports
	// are dropped and counted; Burst the bucket size.
	RateLimit float64 `koanf:"rate_limit" json:"rate_limit"`
	RateBurst int     `koanf:"rate_burst" json:"rate_burst"`
}

// AgentAuth is one agent allowed to report, identified by its ed25519 public
// key (base64, as printed by `lookout cert issue --agent`).
type AgentAuth struct {
	Name      string `koanf:"name" json:"name"`
	PublicKey string `koanf:"public_key" json:"public_key"`
}

// HistoryConfig bounds history storage.
type HistoryConfig struct {
	RawRetention    time.Duration `koanf:"raw_retention" json:"raw_retention"`       // default 2h
	RollupRetention time.Duration `koanf:"rollup_retention" json:"rollup_retention"` // default 30d
	// MinFreeBytes: below this free space on the data dir, history goes read-only.
	MinFreeBytes int64 `koanf:"min_free_bytes" json:"min_free_bytes"`
}

// RuleConfig is one alarm rule in the rule language of package rules, e.g.
// `*!machine.disk:/dev/sd*.used_percentage > 80% WARN, > 95% CRIT for 5m clear < 75%`.
type RuleConfig struct {
	Name string `koanf:"name" json:"name"`
	Expr string `koanf:"expr" json:"expr"`
}

// MaintenanceConfig is a maintenance window. One-off windows have Start/End;
// recurring ones have Cron-like Every ("daily 02:00", "sunday 03:00") + Duration.
type MaintenanceConfig struct {
	Name     string        `koanf:"name" json:"name"`
	Hosts    string        `koanf:"hosts" json:"hosts"` // glob, default "*"
	Start    time.Time     `koanf:"start" json:"start"`
	End      time.Time     `koanf:"end" json:"end"`
	Every    string        `koanf:"every" json:"every"`
	Duration time.Duration `koanf:"duration" json:"duration"`
}

// WatchdogConfig configures the watchdog.
type WatchdogConfig struct {
	// AgentSilence: WARN when an agent sends nothing for this long (default 2x host_timeout).
	AgentSilence time.Duration `koanf:"agent_silence" json:"agent_silence"`
	// PeerSilence: WARN when a master peer is silent this long.
	PeerSilence time.Duration `koanf:"peer_silence" json:"peer_silence"`
	// NotifierFailing: WARN when a notifier keeps failing this long.
	NotifierFailing time.Duration `koanf:"notifier_failing" json:"notifier_failing"`
	// RestartStorm: this many restarts within RestartWindow = storm.
	RestartStorm  int           `koanf:"restart_storm" json:"restart_storm"`
	RestartWindow time.Duration `koanf:"restart_window" json:"restart_window"`
	// HeartbeatURL, if set, gets an HTTP GET every HeartbeatInterval (dead man's switch).
	HeartbeatURL      string        `koanf:"heartbeat_url" json:"heartbeat_url"`
	HeartbeatInterval time.Duration `koanf:"heartbeat_interval" json:"heartbeat_interval"`
}

// NotifiersConfig lists notifier instances by type.
type NotifiersConfig struct {
	Mail    []MailConfig    `koanf:"mail" json:"mail"`
	IRC     []IRCConfig     `koanf:"irc" json:"irc"`
	SMS     []SMSConfig     `koanf:"sms" json:"sms"`
	Webhook []WebhookConfig `koanf:"webhook" json:"webhook"`
	Outbox  OutboxConfig    `koanf:"outbox" json:"outbox"`
}

// OutboxConfig tunes delivery retries, shared by all notifiers.
type OutboxConfig struct {
	RetryMin time.Duration `koanf:"retry_min" json:"retry_min"` // default 1s
	RetryMax time.Duration `koanf:"retry_max" json:"retry_max"` // default 5m
	// FailWarnAfter: a notifier failing this long raises a WARN via the others.
	FailWarnAfter time.Duration `koanf:"fail_warn_after" json:"fail_warn_after"` // default 5m
	// GiveUpAfter: drop a notification after trying this long (0 = never).
	GiveUpAfter time.Duration `koanf:"give_up_after" json:"give_up_after"`
}

// MailConfig is one SMTP notifier.
type MailConfig struct {
	Name     string `koanf:"name" json:"name"`
	Host     string `koanf:"host" json:"host"`
	Port     int    `koanf:"port" json:"port"`
	TLS      string `koanf:"tls" json:"tls"` // "starttls" (default), "tls", "none"
	Username string `koanf:"username" json:"username"`
	Password Secret `koanf:"password" json:"password"`
	From     string `koanf:"from" json:"from"`
	// MinLevel is the default minimum level for recipients without their own.
	MinLevel   string          `koanf:"min_level" json:"min_level"`
	Recipients []MailRecipient `koanf:"recipients" json:"recipients"`
	Timeout    time.Duration   `koanf:"timeout" json:"timeout"`
	// InsecureSkipVerify disables certificate checks (tests, self-signed).
	InsecureSkipVerify bool `koanf:"insecure_skip_verify" json:"insecure_skip_verify"`
}

// MailRecipient is one address with its own minimum level.
type MailRecipient struct {
	Address  string `koanf:"address" json:"address"`
	MinLevel string `koanf:"min_level" json:"min_level"`
}

// IRCConfig is one IRC network connection.
type IRCConfig struct {
	Name               string        `koanf:"name" json:"name"`
	Server             string        `koanf:"server" json:"server"`
	Port               int           `koanf:"port" json:"port"`
	TLS                bool          `koanf:"tls" json:"tls"`
	InsecureSkipVerify bool          `koanf:"insecure_skip_verify" json:"insecure_skip_verify"`
	Nick               string        `koanf:"nick" json:"nick"`
	User               string        `koanf:"user" json:"user"`
	ServerPassword     Secret        `koanf:"server_password" json:"server_password"`
	SASLUser           string        `koanf:"sasl_user" json:"sasl_user"`
	SASLPassword       Secret        `koanf:"sasl_password" json:"sasl_password"`
	Channels           []IRCChannel  `koanf:"channels" json:"channels"`
	Admins             []string      `koanf:"admins" json:"admins"` // nick!user@host globs
	Colors             *bool         `koanf:"colors" json:"colors"` // default true
	Pace               time.Duration `koanf:"pace" json:"pace"`     // min gap between lines, default 500ms
}

// IRCChannel is one channel with its minimum level.
type IRCChannel struct {
	Name     string `koanf:"name" json:"name"`
	Key      Secret `koanf:"key" json:"key"`
	MinLevel string `koanf:"min_level" json:"min_level"`
}

// SMSConfig is one SMS notifier.
type SMSConfig struct {
	Name     string   `koanf:"name" json:"name"`
	Provider string   `koanf:"provider" json:"provider"`   // "twilio" or "http"
	MinLevel string   `koanf:"min_level" json:"min_level"` // default CRIT
	To       []string `koanf:"to" json:"to"`
	// MaxLength: longer texts are cut (default 160 GSM-7 chars; "segments" below).
	MaxLength int           `koanf:"max_length" json:"max_length"`
	Segments  int           `koanf:"segments" json:"segments"` // max segments, default 1
	Timeout   time.Duration `koanf:"timeout" json:"timeout"`
	Twilio    TwilioConfig  `koanf:"twilio" json:"twilio"`
	HTTP      SMSHTTPConfig `koanf:"http" json:"http"`
}

// TwilioConfig is Twilio's REST API account.
type TwilioConfig struct {
	AccountSID string `koanf:"account_sid" json:"account_sid"`
	AuthToken  Secret `koanf:"auth_token" json:"auth_token"`
	From       string `koanf:"from" json:"from"`
	// BaseURL defaults to Twilio's API; tests point it at a local server.
	BaseURL string `koanf:"base_url" json:"base_url"`
}

// SMSHTTPConfig is the generic HTTP/JSON SMS provider: POST
// {"to": ..., "text": ...} to URL with an optional bearer token.
type SMSHTTPConfig struct {
	URL   string `koanf:"url" json:"url"`
	Token Secret `koanf:"token" json:"token"`
}

// WebhookConfig is one generic webhook.
type WebhookConfig struct {
	Name     string            `koanf:"name" json:"name"`
	URL      string            `koanf:"url" json:"url"`
	MinLevel string            `koanf:"min_level" json:"min_level"`
	Secret   Secret            `koanf:"secret" json:"secret"` // HMAC-SHA256 key for X-Lookout-Signature
	Headers  map[string]string `koanf:"headers" json:"headers"`
	Timeout  time.Duration     `koanf:"timeout" json:"timeout"`
}

// AgentConfig configures the agent role.
type AgentConfig struct {
	Enabled bool `koanf:"enabled" json:"enabled"`
	// Name identifies the agent (default node.name); Host is the monitored
	// host's name shown on the dashboard (default Name).
	Name string `koanf:"name" json:"name"`
	Host string `koanf:"host" json:"host"`
	// KeyFile holds the agent's ed25519 private key (created by
	// `lookout cert issue --agent`, or on first start of `lookout run`).
	KeyFile string `koanf:"key_file" json:"key_file"`
	// Listen is where masters' acks arrive (concrete address).
	Listen           string         `koanf:"listen" json:"listen"`
	InsecureLoopback bool           `koanf:"insecure_loopback" json:"insecure_loopback"`
	TLS              TLSFiles       `koanf:"tls" json:"tls"`
	Masters          []string       `koanf:"masters" json:"masters"`           // ingest addresses
	OutboxSize       int            `koanf:"outbox_size" json:"outbox_size"`   // default 1000 reports per master
	ResendAfter      time.Duration  `koanf:"resend_after" json:"resend_after"` // default 2s
	Intervals        IntervalConfig `koanf:"intervals" json:"intervals"`
	Ports            []PortCheck    `koanf:"ports" json:"ports"`
	Processes        []ProcessCheck `koanf:"processes" json:"processes"`
	// ExcludeFSTypes are skipped by the disk collector (tmpfs, overlay...).
	ExcludeFSTypes []string `koanf:"exclude_fstypes" json:"exclude_fstypes"`
	// ExcludeInterfaces are skipped by the network collector (globs, e.g. "veth*").
	ExcludeInterfaces []string `koanf:"exclude_interfaces" json:"exclude_interfaces"`
	// TextfileDir, if set, is a directory whose *.txt files hold
	// "service.resource:unit.attribute value" lines the agent reports every
	// intervals.memory (like node_exporter's textfile collector).
	TextfileDir string `koanf:"textfile_dir" json:"textfile_dir"`
}

// IntervalConfig gives each collector family its own interval.
type IntervalConfig struct {
	CPU       time.Duration `koanf:"cpu" json:"cpu"`             // cpu + load, default 5s
	Memory    time.Duration `koanf:"memory" json:"memory"`       // memory + swap, default 10s
	Disk      time.Duration `koanf:"disk" json:"disk"`           // space + inodes + io, default 30s
	Network   time.Duration `koanf:"network" json:"network"`     // default 10s
	Uptime    time.Duration `koanf:"uptime" json:"uptime"`       // default 60s
	Ports     time.Duration `koanf:"ports" json:"ports"`         // default 10s
	Processes time.Duration `koanf:"processes" json:"processes"` // default 10s
	Heartbeat time.Duration `koanf:"heartbeat" json:"heartbeat"` // default 10s
}

// PortCheck is one local TCP port check; its unit is "Name (port)".
type PortCheck struct {
	Name    string        `koanf:"name" json:"name"`
	Host    string        `koanf:"host" json:"host"` // default 127.0.0.1
	Port    int           `koanf:"port" json:"port"`
	Timeout time.Duration `koanf:"timeout" json:"timeout"` // default 2s
	Retries int           `koanf:"retries" json:"retries"` // default 2
}

// ProcessCheck is one process check: up when any process's argv[0] (base
// name or full) matches Match, and every glob in Args matches some positional
// argument.
type ProcessCheck struct {
	Name  string   `koanf:"name" json:"name"`
	Match string   `koanf:"match" json:"match"`
	Args  []string `koanf:"args" json:"args"`
}

// HTTPConfig configures the dashboard and API listener.
type HTTPConfig struct {
	Enabled bool   `koanf:"enabled" json:"enabled"`
	Listen  string `koanf:"listen" json:"listen"` // default 127.0.0.1:7460
	// TLS (server certificate; CA unused) enables HTTPS.
	TLS            TLSFiles      `koanf:"tls" json:"tls"`
	Users          []UserConfig  `koanf:"users" json:"users"`
	PublicReadOnly bool          `koanf:"public_read_only" json:"public_read_only"`
	SessionTTL     time.Duration `koanf:"session_ttl" json:"session_ttl"` // default 24h
	// LoginRate: failed logins allowed per minute per client address (default 10).
	LoginRate int `koanf:"login_rate" json:"login_rate"`
}

// UserConfig is one dashboard/API user. PasswordHash must be bcrypt ($2a$,
// $2b$, $2y$) or argon2id ($argon2id$); plaintext is refused.
type UserConfig struct {
	Name         string `koanf:"name" json:"name"`
	PasswordHash Secret `koanf:"password_hash" json:"password_hash"`
}

// ClusterConfig configures master-to-master clustering.
type ClusterConfig struct {
	Enabled bool `koanf:"enabled" json:"enabled"`
	// Listen is this master's cluster address (dedicated engine, mTLS).
	Listen           string        `koanf:"listen" json:"listen"`
	InsecureLoopback bool          `koanf:"insecure_loopback" json:"insecure_loopback"`
	TLS              TLSFiles      `koanf:"tls" json:"tls"`
	Peers            []string      `koanf:"peers" json:"peers"`         // other masters' cluster addresses
	Heartbeat        time.Duration `koanf:"heartbeat" json:"heartbeat"` // default 500ms
	// PeerTimeout: a member silent this long is considered dead (default 1.5s).
	PeerTimeout time.Duration `koanf:"peer_timeout" json:"peer_timeout"`
}
