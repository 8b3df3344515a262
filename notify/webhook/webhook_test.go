package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testSecret = "hmac-K3y-very-s3cret"

func testNotification() model.Notification {
	// A struct, not a map: map key order is random, and the golden file
	// holds these exact bytes.
	att, _ := msgpack.Marshal(struct {
		Rule  string  `msgpack:"rule"`
		Value float64 `msgpack:"value"`
	}{"disk", 97.5})
	return model.Notification{
		ID:         "alarm.web1.disk.42",
		Level:      model.CRIT,
		Kind:       model.KindAlarm,
		Host:       "web1",
		Subject:    "web1: disk /dev/sda1 97.5% > 95%",
		Text:       "Rule disk fired <now> & \"quoted\".",
		Time:       time.Date(2026, 11, 24, 21, 0, 0, 0, time.FixedZone("CET", 3600)),
		Attachment: att,
	}
}

// request is one request as the receiving server saw it.
type request struct {
	Method string
	Header http.Header
	Body   []byte
}

type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []request
	status int
	reply  string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{status: http.StatusOK}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, request{Method: req.Method, Header: req.Header.Clone(), Body: b})
		status, reply := r.status, r.reply
		r.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

func (r *receiver) answer(status int, reply string) {
	r.mu.Lock()
	r.status, r.reply = status, reply
	r.mu.Unlock()
}

func newWebhook(t *testing.T, cfg configs.WebhookConfig) (*Webhook, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	w, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, &logs
}

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  configs.WebhookConfig
		want []string
	}{
		{"valid", configs.WebhookConfig{Name: "a", URL: "https://hooks.example.org/x"}, nil},
		{"empty", configs.WebhookConfig{}, []string{"name is empty", "url is empty"}},
		{"bad scheme", configs.WebhookConfig{Name: "a", URL: "ftp://x/y"}, []string{`url scheme "ftp" is not http or https`}},
		{"no host", configs.WebhookConfig{Name: "a", URL: "http:///path"}, []string{"url has no host"}},
		{"unparsable", configs.WebhookConfig{Name: "a", URL: "http://[::1"}, []string{"url is not valid"}},
		{"level", configs.WebhookConfig{Name: "a", URL: "http://x", MinLevel: "panic"}, []string{`unknown level "panic"`}},
		{"reserved header", configs.WebhookConfig{Name: "a", URL: "http://x", Headers: map[string]string{"content-type": "text/plain"}}, []string{`"Content-Type" is set by Lookout`}},
		{"signature header", configs.WebhookConfig{Name: "a", URL: "http://x", Headers: map[string]string{"X-Lookout-Signature": "x"}}, []string{"cannot be overridden"}},
		{"bad header name", configs.WebhookConfig{Name: "a", URL: "http://x", Headers: map[string]string{"Bad Name": "x"}}, []string{`"Bad Name" is not a valid header name`}},
		{"header injection", configs.WebhookConfig{Name: "a", URL: "http://x", Headers: map[string]string{"X-A": "1\r\nX-B: 2"}}, []string{"line break"}},
		{"negative timeout", configs.WebhookConfig{Name: "a", URL: "http://x", Timeout: -1}, []string{"is negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Secret = testSecret
			w, err := New(tt.cfg, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if w.MinLevel() != DefaultMinLevel || w.timeout != DefaultTimeout || w.Type() != "webhook" || w.Name() != "a" {
					t.Errorf("defaults: level %v timeout %s", w.MinLevel(), w.timeout)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q", tt.want)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error leaks secret: %v", err)
			}
		})
	}
}

func TestSendSignedPayload(t *testing.T) {
	r := newReceiver(t)
	w, _ := newWebhook(t, configs.WebhookConfig{
		Name: "hook", URL: r.URL + "/hook", Secret: testSecret,
		Headers: map[string]string{"x-team": "ops", "Authorization": "Bearer abc"},
	})
	n := testNotification()
	if retry, err := w.Send(context.Background(), n); err != nil {
		t.Fatalf("Send: retry=%v err=%v", retry, err)
	}
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("method %s content-type %q", req.Method, req.Header.Get("Content-Type"))
	}
	if got := req.Header.Get(HeaderID); got != n.ID {
		t.Errorf("%s = %q", HeaderID, got)
	}
	if req.Header.Get("X-Team") != "ops" || req.Header.Get("Authorization") != "Bearer abc" {
		t.Errorf("custom headers missing: %v", req.Header)
	}
	sig := req.Header.Get(HeaderSignature)
	if !strings.HasPrefix(sig, "sha256=") || !Verify([]byte(testSecret), req.Body, sig) {
		t.Errorf("signature %q does not verify", sig)
	}
	if Verify([]byte("wrong"), req.Body, sig) || Verify([]byte(testSecret), append(req.Body, ' '), sig) {
		t.Error("signature verifies with wrong key or body")
	}
	var p Payload
	if err := json.Unmarshal(req.Body, &p); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	var att map[string]any
	if err := msgpack.Unmarshal(p.Attachment, &att); err != nil || att["rule"] != "disk" {
		t.Errorf("attachment round trip: %v %v", att, err)
	}
	if !p.Time.Equal(n.Time) || p.Level != model.CRIT {
		t.Errorf("payload time %v level %v", p.Time, p.Level)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, req.Body, "", "  "); err != nil {
		t.Fatal(err)
	}

	golden(t, "payload.golden.json", pretty.String())
}

func TestUnsignedAndLevelFilter(t *testing.T) {
	r := newReceiver(t)
	w, _ := newWebhook(t, configs.WebhookConfig{Name: "hook", URL: r.URL, MinLevel: "ERR"})
	n := testNotification()
	n.Level = model.WARN
	if _, err := w.Send(context.Background(), n); err != nil || len(r.requests()) != 0 {
		t.Fatalf("WARN below ERR was sent (err %v)", err)
	}
	n.Level = model.ERR
	n.Attachment = nil
	if _, err := w.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	reqs := r.requests()
	if len(reqs) != 1 || reqs[0].Header.Get(HeaderSignature) != "" {
		t.Fatalf("want 1 unsigned request, got %d (sig %q)", len(reqs), reqs[0].Header.Get(HeaderSignature))
	}
	if bytes.Contains(reqs[0].Body, []byte(`"attachment"`)) {
		t.Errorf("empty attachment serialized: %s", reqs[0].Body)
	}
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		status    int
		reply     string
		wantErr   bool
		wantRetry bool
	}{
		{200, "", false, false},
		{201, "", false, false},
		{204, "", false, false},
		{301, "", true, false},
		{400, `{"error":"bad payload"}`, true, false},
		{401, "", true, false},
		{404, "", true, false},
		{408, "", true, true},
		{429, "slow down", true, true},
		{500, "", true, true},
		{502, "", true, true},
		{503, "", true, true},
	}
	r := newReceiver(t)
	w, logs := newWebhook(t, configs.WebhookConfig{Name: "hook", URL: r.URL, Secret: testSecret})
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			r.answer(tt.status, tt.reply)
			retry, err := w.Send(context.Background(), testNotification())
			if (err != nil) != tt.wantErr || retry != tt.wantRetry {
				t.Fatalf("status %d: retry=%v err=%v, want err=%v retry=%v", tt.status, retry, err, tt.wantErr, tt.wantRetry)
			}
			if err != nil && tt.reply != "" && !strings.Contains(err.Error(), tt.reply) {
				t.Errorf("error %q does not quote the reply %q", err, tt.reply)
			}
		})
	}
	if strings.Contains(logs.String(), testSecret) {
		t.Error("secret in logs")
	}
}

func TestNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		r := newReceiver(t)
		url := r.URL
		r.Close()
		w, logs := newWebhook(t, configs.WebhookConfig{Name: "hook", URL: url, Secret: testSecret})
		retry, err := w.Send(context.Background(), testNotification())
		if err == nil || !retry {
			t.Fatalf("retry=%v err=%v, want retryable", retry, err)
		}
		if strings.Contains(err.Error()+logs.String(), testSecret) {
			t.Error("secret leaked")
		}
	})
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		w, _ := newWebhook(t, configs.WebhookConfig{Name: "hook", URL: srv.URL, Timeout: 200 * time.Millisecond})
		start := time.Now()
		retry, err := w.Send(context.Background(), testNotification())
		if err == nil || !retry {
			t.Fatalf("retry=%v err=%v, want retryable", retry, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %s despite 200ms timeout", d)
		}
	})
	t.Run("secret in url echoed", func(t *testing.T) {
		// A secret that also appears in the URL must not show in errors.
		r := newReceiver(t)
		r.answer(500, "token "+testSecret+" rejected")
		w, logs := newWebhook(t, configs.WebhookConfig{Name: "hook", URL: r.URL + "/?k=" + testSecret, Secret: testSecret})
		_, err := w.Send(context.Background(), testNotification())
		if err == nil || strings.Contains(err.Error(), testSecret) || strings.Contains(logs.String(), testSecret) {
			t.Fatalf("secret leaked or no error: %v\n%s", err, logs)
		}
	})
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
