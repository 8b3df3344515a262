// Package sms is Lookout's SMS notifier. It renders a notification as one
// short text ("[CRIT] web1: disk full" and the text), cut to the configured
// number of SMS segments taking GSM-7 versus UCS-2 encoding into account,
// and hands it to a provider (Twilio's REST API, or a generic HTTP/JSON
// gateway) once per destination number.
//
// A Send to several numbers may partly succeed. The numbers that got the
// message (or failed permanently) are remembered in memory per
// notification ID, so the retry of a retryable failure only goes to the
// numbers still missing it.
package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
)

// Type is the notifier type name.
const Type = "sms"

// Defaults applied by New.
const (
	DefaultMinLevel  = model.CRIT
	DefaultMaxLength = gsmSingle
	DefaultSegments  = 1
	DefaultTimeout   = 10 * time.Second
	// MaxSegments bounds Segments (long SMS cost one segment each).
	MaxSegments = 10
	// MinMaxLength is the smallest accepted MaxLength.
	MinMaxLength = 20
)

// progressTTL / maxProgress bound the memory of partial deliveries.
const (
	progressTTL = 24 * time.Hour
	maxProgress = 10000
)

// Provider sends one SMS. Implementations must not put credentials in
// their errors.
type Provider interface {
	// Name is the provider's name ("twilio", "http").
	Name() string
	// SendSMS sends text to the E.164 number to. retryable is true when a
	// later attempt may succeed (network error, HTTP 429/5xx).
	SendSMS(ctx context.Context, to, text string) (retryable bool, err error)
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// SMS is the SMS notifier. It implements notify.Notifier and is safe for
// concurrent use.
type SMS struct {
	name      string
	provider  Provider
	to        []string
	minLevel  model.Level
	maxLength int
	segments  int
	timeout   time.Duration
	secrets   []string
	log       *slog.Logger
	client    *http.Client

	mu       sync.Mutex
	progress map[string]*progress // by notification ID
	now      func() time.Time
}

// progress is what one notification's earlier attempts settled.
type progress struct {
	settled map[string]bool // number -> delivered or failed permanently
	first   time.Time
}

var _ notify.Notifier = (*SMS)(nil)

// New validates cfg (every problem reported, joined) and returns an SMS
// notifier using the provider cfg.Provider names: "twilio" or "http".
func New(cfg configs.SMSConfig, log *slog.Logger) (*SMS, error) {
	s, errs := newBase(cfg, log)
	switch strings.ToLower(strings.TrimSpace(cfg.Provider)) {
	case "twilio":
		p, perrs := newTwilio(cfg.Twilio, s.client, s.log)
		errs = append(errs, perrs...)
		s.provider = p
	case "http":
		p, perrs := newHTTPProvider(cfg.HTTP, s.client, s.log)
		errs = append(errs, perrs...)
		s.provider = p
	case "":
		errs = append(errs, errors.New(`provider is empty (want "twilio" or "http")`))
	default:
		errs = append(errs, fmt.Errorf(`provider %q is not "twilio" or "http"`, cfg.Provider))
	}
	if len(errs) > 0 {
		return nil, s.configError(errs)
	}
	return s, nil
}

// NewWithProvider is New with a caller-supplied provider; cfg.Provider and
// the provider sections of cfg are ignored.
func NewWithProvider(cfg configs.SMSConfig, p Provider, log *slog.Logger) (*SMS, error) {
	s, errs := newBase(cfg, log)
	if p == nil {
		errs = append(errs, errors.New("provider is nil"))
	}
	if len(errs) > 0 {
		return nil, s.configError(errs)
	}
	s.provider = p
	return s, nil
}

func (s *SMS) configError(errs []error) error {
	return notify.Redact(fmt.Errorf("sms notifier %q: invalid config: %w", s.name, errors.Join(errs...)), s.secrets...)
}

// newBase validates and fills everything but the provider.
func newBase(cfg configs.SMSConfig, log *slog.Logger) (*SMS, []error) {
	s := &SMS{
		name:      strings.TrimSpace(cfg.Name),
		maxLength: cfg.MaxLength,
		segments:  cfg.Segments,
		timeout:   cfg.Timeout,
		progress:  map[string]*progress{},
		now:       time.Now,
		secrets: append([]string{string(cfg.Twilio.AuthToken), string(cfg.HTTP.Token),
			notify.BasicAuthSecret(strings.TrimSpace(cfg.Twilio.AccountSID), string(cfg.Twilio.AuthToken))},
			notify.URLSecrets(cfg.HTTP.URL)...),
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.name == "" {
		add("name is empty")
	}
	l, err := notify.ParseMinLevel(cfg.MinLevel, DefaultMinLevel)
	if err != nil {
		add("%w", err)
	}
	s.minLevel = l
	if len(cfg.To) == 0 {
		add("to is empty (want E.164 numbers such as +41791234567)")
	}
	seen := map[string]bool{}
	for i, to := range cfg.To {
		n := normalizeNumber(to)
		switch {
		case !e164.MatchString(n):
			add("to[%d]: %q is not an E.164 number (+ and 7-15 digits, e.g. +41791234567)", i, to)
		case seen[n]:
			add("to[%d]: %q is listed twice", i, to)
		default:
			seen[n] = true
			s.to = append(s.to, n)
		}
	}
	switch {
	case s.maxLength == 0:
		s.maxLength = DefaultMaxLength
	case s.maxLength < MinMaxLength || s.maxLength > gsmSingle:
		add("max_length %d is out of range %d-%d (characters per SMS)", s.maxLength, MinMaxLength, gsmSingle)
	}
	switch {
	case s.segments == 0:
		s.segments = DefaultSegments
	case s.segments < 1 || s.segments > MaxSegments:
		add("segments %d is out of range 1-%d", s.segments, MaxSegments)
	}
	switch {
	case s.timeout == 0:
		s.timeout = DefaultTimeout
	case s.timeout < 0:
		add("timeout %s is negative", s.timeout)
	}
	if log == nil {
		log = slog.Default()
	}
	s.log = log.With("notifier", Type+"/"+s.name)
	s.client = &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s, errs
}

// normalizeNumber drops the spaces, dashes, dots and parentheses people
// write in phone numbers.
func normalizeNumber(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// checkURL validates an http(s) URL; credentials (token) may only travel
// in clear text to a loopback host.
func checkURL(field, raw string, hasCredential bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s is not a valid URL: %w", field, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%s scheme %q is not http or https", field, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("%s %q has no host", field, raw)
	case u.Scheme == "http" && hasCredential && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%s %q is plain http to a non-loopback host: the credentials would travel in clear text (use https)", field, raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns the configured instance name.
func (s *SMS) Name() string { return s.name }

// Type returns "sms".
func (s *SMS) Type() string { return Type }

// MinLevel returns the configured minimum level (default CRIT).
func (s *SMS) MinLevel() model.Level { return s.minLevel }

// Provider returns the provider in use.
func (s *SMS) Provider() Provider { return s.provider }

// Close releases idle HTTP connections.
func (s *SMS) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// Text renders n as the SMS text: "[CRIT] host: subject" (the host left out
// when the subject already starts with it), then the text on the next
// line, whitespace collapsed, fitted to max_length x segments by Fit.
func (s *SMS) Text(n model.Notification) string {
	return Render(n, s.maxLength, s.segments)
}

// Render is Text for explicit limits.
func Render(n model.Notification, maxLength, segments int) string {
	subject := collapse(n.Subject)
	host := collapse(n.Host)
	head := "[" + n.Level.String() + "] "
	if host != "" && !strings.HasPrefix(subject, host) {
		head += host + ": "
	}
	head += subject
	if text := collapse(n.Text); text != "" {
		head += "\n" + text
	}
	return Fit(head, maxLength, segments)
}

// collapse turns every run of whitespace or control characters into one
// space (SMS room is precious).
func collapse(s string) string {
	return strings.Join(strings.Fields(notify.OneLine(s)), " ")
}

// Send delivers n to every configured number not already settled for n.ID
// by an earlier attempt. A number is settled when it got the message or
// failed permanently. The result is retryable when any number failed
// retryably; the error lists every number that failed in this attempt.
func (s *SMS) Send(ctx context.Context, n model.Notification) (bool, error) {
	if n.Level < s.minLevel {
		return false, nil
	}
	text := s.Text(n)
	settled := s.settled(n.ID)
	var (
		errs   []error
		retry  bool
		sentTo int
	)
	for _, to := range s.to {
		if settled[to] {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("to %s: not attempted: %w", to, err))
			retry = true
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, s.timeout)
		r, err := s.provider.SendSMS(cctx, to, text)
		cancel()
		if err == nil {
			sentTo++
			s.settle(n.ID, to)
			s.log.Info("sms sent", "id", n.ID, "level", n.Level, "to", to, "provider", s.provider.Name())
			continue
		}
		err = notify.Redact(err, s.secrets...)
		s.log.Warn("sms not sent", "id", n.ID, "level", n.Level, "to", to, "provider", s.provider.Name(),
			"retryable", r, "err", err)
		if !r {
			s.settle(n.ID, to) // a retry would fail again: do not repeat it
		}
		retry = retry || r
		errs = append(errs, fmt.Errorf("to %s: %w", to, err))
	}
	if !retry {
		s.forget(n.ID)
	}
	if len(errs) == 0 {
		return false, nil
	}
	return retry, notify.Redact(fmt.Errorf("sms notifier %q: send %s via %s (%d sent, %d failed): %w",
		s.name, n.ID, s.provider.Name(), sentTo, len(errs), errors.Join(errs...)), s.secrets...)
}

// settled returns a copy of the numbers settled for id, and prunes old
// entries.
func (s *SMS) settled(id string) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, p := range s.progress {
		if now.Sub(p.first) > progressTTL {
			delete(s.progress, k)
		}
	}
	out := map[string]bool{}
	if p := s.progress[id]; p != nil {
		for k := range p.settled {
			out[k] = true
		}
	}
	return out
}

func (s *SMS) settle(id, to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.progress[id]
	if p == nil {
		if len(s.progress) >= maxProgress {
			// Drop the oldest entry: bounded memory beats a perfect record.
			var oldest string
			var t time.Time
			for k, v := range s.progress {
				if oldest == "" || v.first.Before(t) {
					oldest, t = k, v.first
				}
			}
			delete(s.progress, oldest)
		}
		p = &progress{settled: map[string]bool{}, first: s.now()}
		s.progress[id] = p
	}
	p.settled[to] = true
}

func (s *SMS) forget(id string) {
	s.mu.Lock()
	delete(s.progress, id)
	s.mu.Unlock()
}

// pending reports how many notification IDs have partial progress (tests).
func (s *SMS) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.progress)
}
