// Package notify defines the Notifier interface every delivery integration
// implements (mail, IRC, SMS, webhook; one sub-package each), plus the plain
// text rendering they share. The notifier actors of the master own retries:
// a Notifier only reports whether a failed Send is worth retrying.
package notify

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

// Notifier delivers notifications to one configured destination (a mail
// server, an IRC network...). Implementations are safe for concurrent use
// unless their documentation says otherwise.
type Notifier interface {
	// Name is the instance name from config, unique per type.
	Name() string
	// Type is "mail", "irc", "sms" or "webhook".
	Type() string
	// MinLevel is the lowest level any of its targets accepts (the router
	// skips the notifier below it).
	MinLevel() model.Level
	// Send delivers n to every target whose minimum level n.Level reaches.
	// It returns retryable=true when a later attempt may succeed (network
	// error, 4xx temporary SMTP, HTTP 5xx/429), false for permanent errors.
	Send(ctx context.Context, n model.Notification) (retryable bool, err error)
	// Close releases the notifier's resources.
	Close() error
}

// Key returns "type/name" for a notifier, the identifier used in delivery
// records (model.Delivery.Notifier) and logs.
func Key(n Notifier) string { return n.Type() + "/" + n.Name() }

// ParseMinLevel parses a configured minimum level, returning def when s is
// empty.
func ParseMinLevel(s string, def model.Level) (model.Level, error) {
	if strings.TrimSpace(s) == "" {
		return def, nil
	}
	l, err := model.ParseLevel(s)
	if err != nil {
		return 0, fmt.Errorf("min_level: %w", err)
	}
	return l, nil
}

// Render is the plain-text rendering shared by mail, SMS and webhook:
// subject is "[LEVEL] subject" on one line (control characters replaced by
// spaces, so it is safe in a mail header), body lists host, kind, level,
// time (RFC 3339, UTC) and the notification ID (empty ones left out), then
// a blank line and the text.
func Render(n model.Notification) (subject, body string) {
	subject = OneLine("[" + n.Level.String() + "] " + n.Subject)
	var b strings.Builder
	if host := OneLine(n.Host); host != "" {
		b.WriteString("Host:  " + host + "\n")
	}
	if n.Kind != "" {
		b.WriteString("Kind:  " + OneLine(n.Kind) + "\n")
	}
	b.WriteString("Level: " + n.Level.String() + "\n")
	b.WriteString("Time:  " + FormatTime(n.Time) + "\n")
	if n.ID != "" {
		b.WriteString("ID:    " + OneLine(n.ID) + "\n")
	}
	if text := strings.ToValidUTF8(n.Text, "\uFFFD"); text != "" {
		b.WriteString("\n" + strings.TrimRight(text, "\r\n") + "\n")
	}
	return subject, b.String()
}

// FormatTime formats t as RFC 3339 in UTC, or "unknown" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

// OneLine returns s as valid UTF-8 with every control character (CR, LF,
// tab...) replaced by a space and surrounding space trimmed.
func OneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// Ellipsis is appended by Truncate when it cuts a string.
const Ellipsis = "…"

// Truncate returns s cut to at most max runes, the last of which is
// Ellipsis when s was cut. It never splits a rune; invalid UTF-8 in s is
// replaced by U+FFFD first. max <= 0 yields "".
func Truncate(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max == 1 {
		return Ellipsis
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + Ellipsis
		}
		n++
	}
	return s
}

// Redact returns err with every non-empty secret replaced by "<secret>" in
// its message, so errors from libraries that echo credentials (URLs with
// tokens, server replies) can be logged and stored safely. errors.Is and
// errors.As still see the wrapped chain. It returns nil for a nil err.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "<secret>")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redacted{msg: msg, err: err}
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }

// RetryableHTTPStatus reports whether an HTTP response status is worth
// retrying: 408, 425, 429 and 5xx are; everything else (other 4xx,
// unexpected 3xx) is permanent.
func RetryableHTTPStatus(code int) bool {
	switch {
	case code == 408 || code == 425 || code == 429:
		return true
	case code >= 500 && code <= 599:
		return true
	}
	return false
}
