// Package mail is Lookout's e-mail notifier: it sends one mail per
// notification over SMTP (github.com/wneessen/go-mail) to every configured
// recipient whose minimum level the notification reaches, with the
// notification's msgpack attachment attached. A fresh SMTP connection is used
// per Send, bounded by the configured timeout and the caller's context.
package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"regexp"
	"strconv"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
)

// Type is the notifier type name.
const Type = "mail"

// AttachmentType is the MIME type of the notification's msgpack attachment.
const AttachmentType = "application/vnd.msgpack"

// Mailer is the SMTP notifier. It implements notify.Notifier and is safe
// for concurrent use.
type Mailer struct {
	s   settings
	log *slog.Logger
	min model.Level

	mu     sync.Mutex
	closed bool
}

var _ notify.Notifier = (*Mailer)(nil)

// New validates cfg (every problem is reported, joined) and returns a
// Mailer. It does not connect: the first Send does.
func New(cfg configs.MailConfig, log *slog.Logger) (*Mailer, error) {
	s, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Mailer{s: s, log: log.With("notifier", Type+"/"+s.name), min: model.CRIT}
	for _, r := range s.recipients {
		m.min = min(m.min, r.level)
	}
	return m, nil
}

// Name returns the configured instance name.
func (m *Mailer) Name() string { return m.s.name }

// Type returns "mail".
func (m *Mailer) Type() string { return Type }

// MinLevel returns the lowest minimum level of all recipients.
func (m *Mailer) MinLevel() model.Level { return m.min }

// Close marks the Mailer closed; later Sends fail permanently. Connections
// are per Send, so there is nothing else to release.
func (m *Mailer) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	return nil
}

// Recipients returns the addresses whose minimum level l reaches, in
// config order.
func (m *Mailer) Recipients(l model.Level) []string {
	var out []string
	for _, r := range m.s.recipients {
		if l >= r.level {
			out = append(out, r.addr)
		}
	}
	return out
}

// Send mails n to every recipient whose minimum level n.Level reaches, in
// one message. Nothing is sent (and nil returned) when no recipient accepts
// it. SMTP 4xx replies and connection problems are retryable, 5xx replies
// and invalid messages are not.
//
// The SMTP transaction is all or nothing (go-mail resets it when any RCPT
// TO is refused), so one recipient the server rejects for good (550) makes
// the whole mail fail permanently; the error names that recipient. When
// RCPT replies mix 4xx and 5xx, the last reply decides.
func (m *Mailer) Send(ctx context.Context, n model.Notification) (bool, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return false, fmt.Errorf("mail notifier %q: closed", m.s.name)
	}
	rcpts := m.Recipients(n.Level)
	if len(rcpts) == 0 {
		m.log.Debug("no recipient accepts level", "id", n.ID, "level", n.Level)
		return false, nil
	}
	msg, err := m.message(n, rcpts)
	if err != nil {
		return false, fmt.Errorf("mail notifier %q: build message for %s: %w", m.s.name, n.ID, err)
	}

	ctx, cancel := context.WithTimeout(ctx, m.s.timeout)
	defer cancel()
	timeout := m.s.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	var (
		connMu sync.Mutex
		stops  []func() bool
	)
	defer func() {
		connMu.Lock()
		for _, stop := range stops {
			stop()
		}
		connMu.Unlock()
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var (
			conn net.Conn
			err  error
		)
		d := &net.Dialer{}
		if m.s.tls == TLSImplicit {
			conn, err = (&tls.Dialer{NetDialer: d, Config: m.tlsConfig()}).DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		// go-mail bounds each command by deadlines only: close the
		// connection when the caller gives up, so Send returns promptly.
		stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
		connMu.Lock()
		stops = append(stops, stop)
		connMu.Unlock()
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(m.s.port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(m.tlsConfig()),
		gomail.WithDialContextFunc(dial),
	}
	if m.s.tls == TLSStartTLS {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	} else {
		// Implicit TLS is done by dial itself; none is clear text.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.s.username != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(m.s.username),
			gomail.WithPassword(m.s.password))
	}
	client, err := gomail.NewClient(m.s.host, opts...)
	if err != nil {
		return false, m.fail(n, rcpts, fmt.Errorf("create SMTP client: %w", err), false)
	}
	start := time.Now()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		retry := retryable(err)
		if ctx.Err() != nil {
			retry = true
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		return retry, m.fail(n, rcpts, err, retry)
	}
	m.log.Info("mail sent", "id", n.ID, "level", n.Level, "recipients", len(rcpts),
		"server", net.JoinHostPort(m.s.host, strconv.Itoa(m.s.port)), "took", time.Since(start))
	return false, nil
}

func (m *Mailer) fail(n model.Notification, rcpts []string, err error, retry bool) error {
	err = notify.Redact(fmt.Errorf("mail notifier %q: send %s to %s:%d: %w", m.s.name, n.ID, m.s.host, m.s.port, err), m.s.password)
	m.log.Warn("mail not sent", "id", n.ID, "level", n.Level, "recipients", len(rcpts), "retryable", retry, "err", err)
	return err
}

func (m *Mailer) tlsConfig() *tls.Config {
	return &tls.Config{
		ServerName:         m.s.host,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: m.s.insecure, //nolint:gosec // explicit config option, documented as for tests/self-signed
	}
}

// message builds the mail for n.
func (m *Mailer) message(n model.Notification, rcpts []string) (*gomail.Msg, error) {
	subject, body := notify.Render(n)
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.s.from); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(rcpts...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(subject)
	msg.SetMessageIDWithValue(MessageID(n.ID, m.s.fromDomain))
	if n.Time.IsZero() {
		msg.SetDate()
	} else {
		msg.SetDateWithValue(n.Time)
	}
	msg.SetGenHeader("X-Lookout-Level", n.Level.String())
	msg.SetGenHeader("X-Lookout-Id", notify.OneLine(n.ID))
	if n.Kind != "" {
		msg.SetGenHeader("X-Lookout-Kind", notify.OneLine(n.Kind))
	}
	if n.Host != "" {
		msg.SetGenHeader("X-Lookout-Host", notify.OneLine(n.Host))
	}
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetGenHeader(gomail.HeaderXMailer, "Lookout")
	msg.SetBodyString(gomail.TypeTextPlain, body)
	if len(n.Attachment) > 0 {
		if err := msg.AttachReader(AttachmentName(n.ID), bytes.NewReader(n.Attachment),
			gomail.WithFileContentType(AttachmentType)); err != nil {
			return nil, fmt.Errorf("attachment: %w", err)
		}
	}
	return msg, nil
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// idPart returns id itself when it is safe in a Message-ID or file name and
// not too long, else a hex digest of it (still stable per ID).
func idPart(id string) string {
	if len(id) <= 64 && safeID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h" + hex.EncodeToString(sum[:16])
}

// MessageID returns the Message-ID value (without angle brackets) for a
// notification ID: the same ID always gives the same Message-ID, so a
// retried mail is recognisable as a duplicate by mail software.
func MessageID(id, domain string) string {
	if domain == "" {
		domain = "lookout.invalid"
	}
	return "lookout." + idPart(id) + "@" + domain
}

// AttachmentName returns the file name of a notification's attachment,
// "notification-<id>.msgpack" (the ID digested when unsafe in a file name).
func AttachmentName(id string) string {
	return "notification-" + idPart(id) + ".msgpack"
}

// retryable classifies a go-mail error: 4xx SMTP replies and errors without
// an SMTP reply code (network, TLS handshake, timeouts) are retryable, 5xx
// replies are permanent.
func retryable(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		if code := se.ErrorCode(); code >= 500 {
			return false
		} else if code >= 400 {
			return true
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code < 500
	}
	return true
}
