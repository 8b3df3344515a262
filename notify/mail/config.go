package mail

import (
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
)

// TLS modes of MailConfig.TLS.
const (
	// TLSStartTLS connects in clear text and requires STARTTLS before
	// anything else is sent (the default; port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS; port 465).
	TLSImplicit = "tls"
	// TLSNone never encrypts (port 25); SMTP auth is then only allowed to
	// a loopback server.
	TLSNone = "none"
)

// Defaults applied by New.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMinLevel = model.WARN
)

// recipient is one validated address with its effective minimum level.
type recipient struct {
	addr  string
	level model.Level
}

// settings is a validated MailConfig with defaults filled in.
type settings struct {
	name       string
	host       string
	port       int
	tls        string
	username   string
	password   string
	from       string
	fromDomain string
	recipients []recipient
	timeout    time.Duration
	insecure   bool
}

// parseConfig validates cfg, fills defaults and returns every problem found,
// joined.
func parseConfig(cfg configs.MailConfig) (settings, error) {
	s := settings{
		name:     strings.TrimSpace(cfg.Name),
		host:     strings.TrimSpace(cfg.Host),
		port:     cfg.Port,
		tls:      strings.ToLower(strings.TrimSpace(cfg.TLS)),
		username: cfg.Username,
		password: string(cfg.Password),
		timeout:  cfg.Timeout,
		insecure: cfg.InsecureSkipVerify,
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if s.name == "" {
		add("name is empty")
	}
	if s.host == "" {
		add("host is empty (want the SMTP server's name or address)")
	}
	switch s.tls {
	case "":
		s.tls = TLSStartTLS
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		add("tls %q is not one of %q, %q, %q", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	if s.port == 0 {
		switch s.tls {
		case TLSImplicit:
			s.port = 465
		case TLSNone:
			s.port = 25
		default:
			s.port = 587
		}
	} else if s.port < 1 || s.port > 65535 {
		add("port %d is out of range 1-65535", s.port)
	}
	if s.username != "" && s.password == "" {
		add("username %q is set but password is empty", s.username)
	}
	if s.username == "" && s.password != "" {
		add("password is set but username is empty")
	}
	if s.username != "" && s.tls == TLSNone && !isLoopback(s.host) {
		add("username is set with tls %q to non-loopback host %q: the password would travel in clear text (use %q or %q)",
			TLSNone, s.host, TLSStartTLS, TLSImplicit)
	}
	if strings.TrimSpace(cfg.From) == "" {
		add("from is empty")
	} else if a, err := netmail.ParseAddress(cfg.From); err != nil {
		add("from %q is not a valid address: %w", cfg.From, err)
	} else {
		s.from = a.String()
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			s.fromDomain = a.Address[i+1:]
		}
	}
	def, err := notify.ParseMinLevel(cfg.MinLevel, DefaultMinLevel)
	if err != nil {
		add("%w", err)
	}
	if len(cfg.Recipients) == 0 {
		add("recipients is empty")
	}
	seen := map[string]bool{}
	for i, r := range cfg.Recipients {
		a, err := netmail.ParseAddress(r.Address)
		if err != nil {
			add("recipients[%d]: address %q is not valid: %w", i, r.Address, err)
			continue
		}
		key := strings.ToLower(a.Address)
		if seen[key] {
			add("recipients[%d]: address %q is listed twice", i, a.Address)
			continue
		}
		seen[key] = true
		l, err := notify.ParseMinLevel(r.MinLevel, def)
		if err != nil {
			add("recipients[%d] (%s): %w", i, a.Address, err)
			continue
		}
		s.recipients = append(s.recipients, recipient{addr: a.String(), level: l})
	}
	switch {
	case s.timeout == 0:
		s.timeout = DefaultTimeout
	case s.timeout < 0:
		add("timeout %s is negative", s.timeout)
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("mail notifier %q: invalid config: %w", cfg.Name, errors.Join(errs...))
	}
	return s, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
