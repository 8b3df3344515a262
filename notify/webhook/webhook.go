// Package webhook is Lookout's generic webhook notifier: it POSTs each
// notification as JSON to a configured URL, optionally signed with an
// HMAC-SHA256 of the body (header X-Lookout-Signature: sha256=<hex>), in the
// style of GitHub's webhooks, so receivers can authenticate Lookout.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
)

// Type is the notifier type name.
const Type = "webhook"

// Header names set on every request.
const (
	HeaderSignature = "X-Lookout-Signature"
	HeaderID        = "X-Lookout-Id"
)

// Defaults applied by New.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMinLevel = model.WARN
)

// maxErrorBody bounds how much of an error response is read and quoted.
const maxErrorBody = 512

// reservedHeaders cannot be set through config.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true, "Transfer-Encoding": true,
	"Connection": true, HeaderSignature: true, HeaderID: true,
}

// Payload is the JSON document POSTed for one notification.
type Payload struct {
	ID      string      `json:"id"`
	Level   model.Level `json:"level"`
	Kind    string      `json:"kind"`
	Host    string      `json:"host"`
	Subject string      `json:"subject"`
	Text    string      `json:"text"`
	Time    time.Time   `json:"time"`
	// Attachment is the notification's msgpack data, base64 in JSON.
	Attachment []byte `json:"attachment,omitempty"`
}

// NewPayload converts a notification (time in UTC).
func NewPayload(n model.Notification) Payload {
	return Payload{
		ID: n.ID, Level: n.Level, Kind: n.Kind, Host: n.Host, Subject: n.Subject,
		Text: strings.ToValidUTF8(n.Text, "\uFFFD"), Time: n.Time.UTC(), Attachment: n.Attachment,
	}
}

// encodePayload marshals p without HTML escaping (receivers are not
// browsers; "<" stays readable), ending with a newline.
func encodePayload(p Payload) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Sign returns the X-Lookout-Signature value for body: "sha256=" and the
// hex HMAC-SHA256 of body keyed with secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether sig is the valid signature of body for secret
// (constant time). Receivers written in Go can use it.
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}

// Webhook is the webhook notifier. It implements notify.Notifier and is
// safe for concurrent use.
type Webhook struct {
	name   string
	url    string
	secret string
	// redact lists the secret, URL credentials and header values, removed
	// from every error.
	redact   []string
	headers  http.Header
	timeout  time.Duration
	minLevel model.Level
	client   *http.Client
	log      *slog.Logger
}

var _ notify.Notifier = (*Webhook)(nil)

// New validates cfg (every problem reported, joined) and returns a Webhook.
func New(cfg configs.WebhookConfig, log *slog.Logger) (*Webhook, error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	w := &Webhook{
		name:    strings.TrimSpace(cfg.Name),
		secret:  string(cfg.Secret),
		headers: http.Header{},
		timeout: cfg.Timeout,
	}
	if w.name == "" {
		add("name is empty")
	}
	if cfg.URL == "" {
		add("url is empty")
	} else if u, err := url.Parse(cfg.URL); err != nil {
		add("url is not valid: %w", notify.Redact(err, append(notify.URLSecrets(cfg.URL), w.secret)...))
	} else if u.Scheme != "http" && u.Scheme != "https" {
		add("url scheme %q is not http or https", u.Scheme)
	} else if u.Host == "" {
		add("url has no host")
	} else {
		w.url = u.String()
	}
	l, err := notify.ParseMinLevel(cfg.MinLevel, DefaultMinLevel)
	if err != nil {
		add("%w", err)
	}
	w.minLevel = l
	for _, k := range model.SortedKeys(cfg.Headers) {
		v := cfg.Headers[k]
		ck := textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))
		switch {
		case !validHeaderName(ck):
			add("headers: %q is not a valid header name", k)
		case reservedHeaders[ck]:
			add("headers: %q is set by Lookout and cannot be overridden", ck)
		case strings.ContainsAny(v, "\r\n\x00"):
			add("headers: value of %q contains a line break or NUL", ck)
		default:
			w.headers.Set(ck, v)
		}
	}
	w.redact = append(notify.URLSecrets(cfg.URL), w.secret)
	for _, vs := range w.headers {
		for _, v := range vs {
			if len(v) >= 8 { // header values are often tokens (Authorization)
				w.redact = append(w.redact, v)
			}
		}
	}
	switch {
	case w.timeout == 0:
		w.timeout = DefaultTimeout
	case w.timeout < 0:
		add("timeout %s is negative", w.timeout)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("webhook notifier %q: invalid config: %w", cfg.Name, errors.Join(errs...))
	}
	if log == nil {
		log = slog.Default()
	}
	w.log = log.With("notifier", Type+"/"+w.name)
	w.client = &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// A redirected POST would silently turn into a GET: refuse it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// Name returns the configured instance name.
func (w *Webhook) Name() string { return w.name }

// Type returns "webhook".
func (w *Webhook) Type() string { return Type }

// MinLevel returns the configured minimum level.
func (w *Webhook) MinLevel() model.Level { return w.minLevel }

// Close releases idle connections.
func (w *Webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

// Send POSTs n as JSON when its level reaches the minimum level. 2xx is
// success; 408, 425, 429, 5xx and network errors are retryable; other
// statuses (4xx, redirects) are permanent.
func (w *Webhook) Send(ctx context.Context, n model.Notification) (bool, error) {
	if n.Level < w.minLevel {
		return false, nil
	}
	body, err := encodePayload(NewPayload(n))
	if err != nil {
		return false, w.fail(n, fmt.Errorf("encode payload: %w", err), false)
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, w.fail(n, fmt.Errorf("build request: %w", err), false)
	}
	for k, v := range w.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lookout")
	req.Header.Set(HeaderID, notify.OneLine(n.ID))
	if w.secret != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(w.secret), body))
	}
	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		return true, w.fail(n, fmt.Errorf("POST: %w", err), true)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		w.log.Info("webhook delivered", "id", n.ID, "level", n.Level, "status", resp.StatusCode, "took", time.Since(start))
		return false, nil
	}
	retry := notify.RetryableHTTPStatus(resp.StatusCode)
	msg := fmt.Sprintf("POST: HTTP %s", resp.Status)
	if s := notify.Truncate(notify.OneLine(string(snippet)), 200); s != "" {
		msg += ": " + s
	}
	return retry, w.fail(n, errors.New(msg), retry)
}

func (w *Webhook) fail(n model.Notification, err error, retry bool) error {
	err = notify.Redact(fmt.Errorf("webhook notifier %q: send %s: %w", w.name, n.ID, err), w.redact...)
	w.log.Warn("webhook not delivered", "id", n.ID, "level", n.Level, "retryable", retry, "err", err)
	return err
}
