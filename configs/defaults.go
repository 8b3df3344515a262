package configs

import (
	"os"
	"path/filepath"
	"time"
)

// Default values not written in types.go comments. They are chosen for a
// small deployment (tens of hosts) and documented in example.yaml.
const (
	DefaultDataDir            = "./data"
	DefaultHostTimeout        = 30 * time.Second
	DefaultPersistentDowntime = 30 * time.Minute
	DefaultRawRetention       = 2 * time.Hour
	DefaultRollupRetention    = 30 * 24 * time.Hour
	DefaultMinFreeBytes       = 256 << 20
	DefaultRateLimit          = 20.0 // reports/s per agent
	DefaultRateBurst          = 200
	DefaultHTTPListen         = "127.0.0.1:7460"
	DefaultNotifierTimeout    = 10 * time.Second
	DefaultTwilioBaseURL      = "https://api.twilio.com"
)

// Defaults returns the configuration with every default filled in and
// nothing enabled: no roles, listeners, rules or notifiers. Load decodes a
// config file over it.
func Defaults() Config {
	var c Config
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills every zero value that has a default, including those
// inside list entries (notifiers, port checks...). Values that are set are
// kept, so it is safe to call more than once.
func (c *Config) ApplyDefaults() {
	if c.Node.Name == "" {
		if h, err := os.Hostname(); err == nil && h != "" {
			c.Node.Name = h
		} else {
			c.Node.Name = "localhost"
		}
	}
	setS(&c.Node.DataDir, DefaultDataDir)

	m := &c.Master
	setD(&m.HostTimeout, DefaultHostTimeout)
	setD(&m.PersistentDowntime, DefaultPersistentDowntime)
	setD(&m.History.RawRetention, DefaultRawRetention)
	setD(&m.History.RollupRetention, DefaultRollupRetention)
	if m.History.MinFreeBytes == 0 {
		m.History.MinFreeBytes = DefaultMinFreeBytes
	}
	if m.RateLimit == 0 {
		m.RateLimit = DefaultRateLimit
	}
	if m.RateBurst == 0 {
		m.RateBurst = DefaultRateBurst
	}
	for i := range m.Maintenance {
		setS(&m.Maintenance[i].Hosts, "*")
	}
	w := &m.Watchdog
	setD(&w.AgentSilence, 2*m.HostTimeout)
	setD(&w.PeerSilence, 5*time.Second)
	setD(&w.NotifierFailing, 5*time.Minute)
	if w.RestartStorm == 0 {
		w.RestartStorm = 5
	}
	setD(&w.RestartWindow, time.Minute)
	if w.HeartbeatURL != "" {
		setD(&w.HeartbeatInterval, time.Minute)
	}
	c.applyNotifierDefaults()

	a := &c.Agent
	setS(&a.Name, c.Node.Name)
	setS(&a.Host, a.Name)
	setS(&a.KeyFile, filepath.Join(c.Node.DataDir, "agent.key"))
	if a.OutboxSize == 0 {
		a.OutboxSize = 1000
	}
	setD(&a.ResendAfter, 2*time.Second)
	iv := &a.Intervals
	setD(&iv.CPU, 5*time.Second)
	setD(&iv.Memory, 10*time.Second)
	setD(&iv.Disk, 30*time.Second)
	setD(&iv.Network, 10*time.Second)
	setD(&iv.Uptime, 60*time.Second)
	setD(&iv.Ports, 10*time.Second)
	setD(&iv.Processes, 10*time.Second)
	setD(&iv.Heartbeat, 10*time.Second)
	for i := range a.Ports {
		p := &a.Ports[i]
		setS(&p.Host, "127.0.0.1")
		setD(&p.Timeout, 2*time.Second)
		if p.Retries == 0 {
			p.Retries = 2
		}
	}

	h := &c.HTTP
	setS(&h.Listen, DefaultHTTPListen)
	setD(&h.SessionTTL, 24*time.Hour)
	if h.LoginRate == 0 {
		h.LoginRate = 10
	}

	cl := &c.Cluster
	setD(&cl.Heartbeat, 500*time.Millisecond)
	setD(&cl.PeerTimeout, 1500*time.Millisecond)
}

// applyNotifierDefaults fills the per-notifier defaults.
func (c *Config) applyNotifierDefaults() {
	n := &c.Master.Notifiers
	setD(&n.Outbox.RetryMin, time.Second)
	setD(&n.Outbox.RetryMax, 5*time.Minute)
	setD(&n.Outbox.FailWarnAfter, 5*time.Minute)

	for i := range n.Mail {
		m := &n.Mail[i]
		setS(&m.TLS, "starttls")
		if m.Port == 0 {
			switch m.TLS {
			case "tls":
				m.Port = 465
			case "none":
				m.Port = 25
			default:
				m.Port = 587
			}
		}
		setS(&m.MinLevel, "WARN")
		for j := range m.Recipients {
			setS(&m.Recipients[j].MinLevel, m.MinLevel)
		}
		setD(&m.Timeout, DefaultNotifierTimeout)
	}
	for i := range n.IRC {
		r := &n.IRC[i]
		if r.Port == 0 {
			r.Port = 6667
			if r.TLS {
				r.Port = 6697
			}
		}
		setS(&r.User, r.Nick)
		if r.Colors == nil {
			t := true
			r.Colors = &t
		}
		setD(&r.Pace, 500*time.Millisecond)
		for j := range r.Channels {
			setS(&r.Channels[j].MinLevel, "INFO")
		}
	}
	for i := range n.SMS {
		s := &n.SMS[i]
		setS(&s.MinLevel, "CRIT")
		if s.MaxLength == 0 {
			s.MaxLength = 160
		}
		if s.Segments == 0 {
			s.Segments = 1
		}
		setD(&s.Timeout, DefaultNotifierTimeout)
		if s.Provider == "twilio" {
			setS(&s.Twilio.BaseURL, DefaultTwilioBaseURL)
		}
	}
	for i := range n.Webhook {
		wh := &n.Webhook[i]
		setS(&wh.MinLevel, "INFO")
		setD(&wh.Timeout, DefaultNotifierTimeout)
	}
}

func setS[T ~string](p *T, v T) {
	if *p == "" {
		*p = v
	}
}

func setD(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}
