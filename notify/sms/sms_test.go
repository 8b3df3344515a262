package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
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
	"unicode/utf8"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "tw1l10-Auth-T0ken-zz9"
	testFrom  = "+15005550006"
)

// twilioReply is what the fake answers for one number.
type twilioReply struct {
	status int
	body   string
}

// fakeTwilio checks requests strictly as Twilio's API would and records the
// accepted messages.
type fakeTwilio struct {
	*httptest.Server
	t       *testing.T
	mu      sync.Mutex
	got     []url2msg
	replies map[string][]twilioReply // per To: answered in order, then 201
	bad     []string                 // protocol violations seen
}

type url2msg struct{ To, From, Body string }

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{t: t, replies: map[string][]twilioReply{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) violation(w http.ResponseWriter, format string, args ...any) {
	f.mu.Lock()
	f.bad = append(f.bad, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"code": 20001, "message": "protocol violation", "status": 400}`)
}

func (f *fakeTwilio) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.violation(w, "method %s", r.Method)
		return
	}
	if want := "/2010-04-01/Accounts/" + testSID + "/Messages.json"; r.URL.Path != want {
		f.violation(w, "path %q, want %q", r.URL.Path, want)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		f.violation(w, "content type %q", ct)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != testSID || pass != testToken {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`)
		return
	}
	if err := r.ParseForm(); err != nil {
		f.violation(w, "form: %v", err)
		return
	}
	for k := range r.PostForm {
		if k != "To" && k != "From" && k != "Body" {
			f.violation(w, "unexpected field %q", k)
			return
		}
	}
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
	if !e164.MatchString(to) || !e164.MatchString(from) || body == "" || len(r.PostForm["To"]) != 1 {
		f.violation(w, "fields To=%q From=%q Body=%q", to, from, body)
		return
	}
	f.mu.Lock()
	var reply *twilioReply
	if q := f.replies[to]; len(q) > 0 {
		reply = &q[0]
		f.replies[to] = q[1:]
	}
	if reply == nil {
		f.got = append(f.got, url2msg{to, from, body})
	}
	n := len(f.got)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if reply != nil {
		w.WriteHeader(reply.status)
		_, _ = io.WriteString(w, reply.body)
		return
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = fmt.Fprintf(w, `{"sid": "SM%032d", "status": "queued", "to": %q, "from": %q}`, n, to, from)
}

func (f *fakeTwilio) queue(to string, replies ...twilioReply) {
	f.mu.Lock()
	f.replies[to] = append(f.replies[to], replies...)
	f.mu.Unlock()
}

func (f *fakeTwilio) messages() []url2msg {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		f.t.Errorf("twilio protocol violations: %v", f.bad)
	}
	return append([]url2msg(nil), f.got...)
}

func twilioConfig(base string, to ...string) configs.SMSConfig {
	return configs.SMSConfig{
		Name:     "oncall",
		Provider: "twilio",
		To:       to,
		Twilio:   configs.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: base},
		Timeout:  2 * time.Second,
	}
}

func newSMS(t *testing.T, cfg configs.SMSConfig) (*SMS, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	s, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, &logs
}

func crit() model.Notification {
	return model.Notification{
		ID: "down.web1.1", Level: model.CRIT, Kind: model.KindDown, Host: "web1",
		Subject: "host down", Text: "No report for 2 minutes.",
		Time: time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC),
	}
}

func TestNewValidation(t *testing.T) {
	good := twilioConfig("", "+41791234567")
	tests := []struct {
		name   string
		mutate func(*configs.SMSConfig)
		want   []string
	}{
		{"valid twilio", func(*configs.SMSConfig) {}, nil},
		{"valid http", func(c *configs.SMSConfig) {
			c.Provider, c.HTTP = "http", configs.SMSHTTPConfig{URL: "https://sms.example.org/send", Token: testToken}
		}, nil},
		{"formatted number", func(c *configs.SMSConfig) { c.To = []string{"+41 79 123-45-67"} }, nil},
		{"messaging service", func(c *configs.SMSConfig) { c.Twilio.From = "MG0123456789abcdef0123456789abcdef" }, nil},
		{"alphanumeric sender", func(c *configs.SMSConfig) { c.Twilio.From = "Lookout" }, nil},
		{"empty", func(c *configs.SMSConfig) { *c = configs.SMSConfig{} }, []string{"name is empty", "to is empty", "provider is empty"}},
		{"unknown provider", func(c *configs.SMSConfig) { c.Provider = "pigeon" }, []string{`provider "pigeon" is not`}},
		{"bad number", func(c *configs.SMSConfig) { c.To = []string{"0791234567", "+41791234567", "+41 791234567"} }, []string{`to[0]: "0791234567" is not an E.164 number`, `to[2]: "+41 791234567" is listed twice`}},
		{"bad level", func(c *configs.SMSConfig) { c.MinLevel = "pager" }, []string{`unknown level "pager"`}},
		{"bad lengths", func(c *configs.SMSConfig) { c.MaxLength, c.Segments = 500, 20 }, []string{"max_length 500 is out of range", "segments 20 is out of range"}},
		{"negative timeout", func(c *configs.SMSConfig) { c.Timeout = -time.Second }, []string{"timeout -1s is negative"}},
		{"twilio fields", func(c *configs.SMSConfig) {
			c.Twilio = configs.TwilioConfig{AccountSID: "SK123", From: "not a number!"}
		}, []string{`account_sid "SK123" is not a Twilio account SID`, "auth_token is empty", `from "not a number!" is not`}},
		{"twilio plain http", func(c *configs.SMSConfig) { c.Twilio.BaseURL = "http://api.example.org" }, []string{"clear text"}},
		{"http no url", func(c *configs.SMSConfig) { c.Provider = "http" }, []string{"http: url is empty"}},
		{"http bad scheme", func(c *configs.SMSConfig) {
			c.Provider, c.HTTP = "http", configs.SMSHTTPConfig{URL: "smtp://x"}
		}, []string{`scheme "smtp" is not http or https`}},
		{"http token in clear", func(c *configs.SMSConfig) {
			c.Provider, c.HTTP = "http", configs.SMSHTTPConfig{URL: "http://sms.example.org/", Token: testToken}
		}, []string{"clear text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mutate(&cfg)
			s, err := New(cfg, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if s.MinLevel() != model.CRIT || s.maxLength != 160 || s.segments != 1 || s.Type() != "sms" {
					t.Errorf("defaults: level %v max %d segments %d", s.MinLevel(), s.maxLength, s.segments)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestTwilioSend(t *testing.T) {
	tw := newFakeTwilio(t)
	s, _ := newSMS(t, twilioConfig(tw.URL, "+41791234567", "+15551234567"))
	n := crit()
	if retry, err := s.Send(context.Background(), n); err != nil {
		t.Fatalf("Send: retry=%v err=%v", retry, err)
	}
	got := tw.messages()
	want := []url2msg{
		{"+41791234567", testFrom, "[CRIT] web1: host down\nNo report for 2 minutes."},
		{"+15551234567", testFrom, "[CRIT] web1: host down\nNo report for 2 minutes."},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages\n got %q\nwant %q", got, want)
	}
	// Below the minimum level (CRIT by default): nothing is sent.
	n.Level = model.ERR
	if _, err := s.Send(context.Background(), n); err != nil || len(tw.messages()) != 2 {
		t.Fatalf("ERR notification sent to a CRIT-only SMS notifier (err %v)", err)
	}
}

func TestTwilioRetrySkipsDelivered(t *testing.T) {
	tw := newFakeTwilio(t)
	a, b, c := "+41791111111", "+41792222222", "+41793333333"
	s, logs := newSMS(t, twilioConfig(tw.URL, a, b, c))
	tw.queue(b, twilioReply{503, `{"code": 20503, "message": "Service Unavailable", "status": 503}`})
	n := crit()
	retry, err := s.Send(context.Background(), n)
	if err == nil || !retry {
		t.Fatalf("first attempt: retry=%v err=%v, want retryable error", retry, err)
	}
	if !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), "2 sent, 1 failed") {
		t.Errorf("error does not name the failed number: %v", err)
	}
	if got := tw.messages(); len(got) != 2 || got[0].To != a || got[1].To != c {
		t.Fatalf("first attempt delivered %v", got)
	}
	retry, err = s.Send(context.Background(), n)
	if err != nil {
		t.Fatalf("retry: retry=%v err=%v", retry, err)
	}
	got := tw.messages()
	if len(got) != 3 || got[2].To != b {
		t.Fatalf("retry delivered %v, want only %s again", got, b)
	}
	if s.pending() != 0 {
		t.Errorf("progress kept after full delivery: %d", s.pending())
	}
	// A new notification goes to everyone again.
	n.ID = "down.web1.2"
	if _, err := s.Send(context.Background(), n); err != nil || len(tw.messages()) != 6 {
		t.Fatalf("next notification: err %v, %d messages", err, len(tw.messages()))
	}
	if strings.Contains(logs.String(), testToken) {
		t.Error("token in logs")
	}
}

func TestTwilioErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     twilioReply
		wantRetry bool
		want      string
	}{
		{"invalid number 400", twilioReply{400, `{"code": 21211, "message": "The 'To' number +41790000000 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`},
			false, `error 21211: "The 'To' number +41790000000 is not a valid phone number."`},
		{"rate limited 429", twilioReply{429, `{"code": 20429, "message": "Too Many Requests", "status": 429}`}, true, "error 20429"},
		{"unavailable 503", twilioReply{503, `{"code": 20503, "message": "Service Unavailable", "status": 503}`}, true, `"Service Unavailable"`},
		{"html 502", twilioReply{502, `<html>Bad Gateway</html>`}, true, `HTTP 502 Bad Gateway: "<html>Bad Gateway</html>"`},
		{"echoes token", twilioReply{400, `{"code": 1, "message": "bad token ` + testToken + `"}`}, false, "<secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tw := newFakeTwilio(t)
			to := "+41790000000"
			s, logs := newSMS(t, twilioConfig(tw.URL, to))
			tw.queue(to, tt.reply)
			retry, err := s.Send(context.Background(), crit())
			if err == nil || retry != tt.wantRetry || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("retry=%v err=%v, want retry=%v and %q", retry, err, tt.wantRetry, tt.want)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(logs.String(), testToken) {
				t.Errorf("token leaked: %v\n%s", err, logs)
			}
			if !tt.wantRetry && s.pending() != 0 {
				t.Errorf("permanent failure left progress behind")
			}
		})
	}
}

func TestTwilioWrongCredentials(t *testing.T) {
	tw := newFakeTwilio(t)
	cfg := twilioConfig(tw.URL, "+41790000000")
	cfg.Twilio.AuthToken = "wrong-" + testToken
	s, logs := newSMS(t, cfg)
	retry, err := s.Send(context.Background(), crit())
	if err == nil || retry || !strings.Contains(err.Error(), "error 20003") {
		t.Fatalf("retry=%v err=%v, want permanent 20003", retry, err)
	}
	if strings.Contains(err.Error()+logs.String(), testToken) {
		t.Errorf("token leaked: %v", err)
	}
}

func TestMixedPermanentAndRetryable(t *testing.T) {
	tw := newFakeTwilio(t)
	a, b := "+41791111111", "+41792222222"
	s, _ := newSMS(t, twilioConfig(tw.URL, a, b))
	tw.queue(a, twilioReply{400, `{"code": 21614, "message": "not a mobile number", "status": 400}`})
	tw.queue(b, twilioReply{500, `{"code": 20500, "message": "Internal Server Error", "status": 500}`})
	retry, err := s.Send(context.Background(), crit())
	if err == nil || !retry || !strings.Contains(err.Error(), "21614") || !strings.Contains(err.Error(), "20500") {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	// The retry goes only to b: a failed permanently and would fail again.
	if _, err := s.Send(context.Background(), crit()); err != nil {
		t.Fatal(err)
	}
	if got := tw.messages(); len(got) != 1 || got[0].To != b {
		t.Fatalf("retry delivered %v", got)
	}
}

func TestNetworkErrorAndCancel(t *testing.T) {
	tw := newFakeTwilio(t)
	base := tw.URL
	tw.Close()
	s, logs := newSMS(t, twilioConfig(base, "+41791111111"))
	retry, err := s.Send(context.Background(), crit())
	if err == nil || !retry {
		t.Fatalf("refused: retry=%v err=%v", retry, err)
	}
	if strings.Contains(err.Error()+logs.String(), testToken) {
		t.Error("token leaked")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if retry, err := s.Send(ctx, crit()); err == nil || !retry {
		t.Fatalf("cancelled: retry=%v err=%v", retry, err)
	}
}

func TestHTTPProvider(t *testing.T) {
	var mu sync.Mutex
	var got []HTTPRequest
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, "bad request shape", http.StatusBadRequest)
			return
		}
		var req HTTPRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, "gateway says "+testToken, status)
			return
		}
		got = append(got, req)
	}))
	defer srv.Close()
	cfg := configs.SMSConfig{Name: "gw", Provider: "http", To: []string{"+41791111111"}, MinLevel: "ERR",
		HTTP: configs.SMSHTTPConfig{URL: srv.URL + "/send", Token: testToken}}
	s, logs := newSMS(t, cfg)
	if s.Provider().Name() != "http" {
		t.Fatalf("provider %q", s.Provider().Name())
	}
	n := crit()
	n.Level = model.ERR
	if _, err := s.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].To != "+41791111111" || got[0].Text != "[ERR] web1: host down\nNo report for 2 minutes." {
		t.Fatalf("gateway got %+v", got)
	}
	for _, tt := range []struct {
		status int
		retry  bool
	}{{500, true}, {429, true}, {403, false}} {
		mu.Lock()
		status = tt.status
		mu.Unlock()
		retry, err := s.Send(context.Background(), n)
		if err == nil || retry != tt.retry {
			t.Errorf("status %d: retry=%v err=%v", tt.status, retry, err)
		}
		if err != nil && strings.Contains(err.Error(), testToken) {
			t.Errorf("token leaked: %v", err)
		}
	}
	if strings.Contains(logs.String(), testToken) {
		t.Error("token in logs")
	}
}

func TestProgressBounded(t *testing.T) {
	p := &stubProvider{fail: map[string]bool{"+41792222222": true}}
	s, err := NewWithProvider(configs.SMSConfig{Name: "x", To: []string{"+41791111111", "+41792222222"}}, p, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	for i := range 3 {
		n := crit()
		n.ID = fmt.Sprint("id", i)
		if retry, err := s.Send(context.Background(), n); err == nil || !retry {
			t.Fatalf("want retryable failure")
		}
	}
	if s.pending() != 3 {
		t.Fatalf("pending = %d, want 3", s.pending())
	}
	now = now.Add(progressTTL + time.Minute)
	s.settled("other") // prunes
	if s.pending() != 0 {
		t.Fatalf("pending after TTL = %d, want 0", s.pending())
	}
	if _, err := NewWithProvider(configs.SMSConfig{Name: "x", To: []string{"+41791111111"}}, nil, nil); err == nil {
		t.Fatal("nil provider accepted")
	}
}

type stubProvider struct{ fail map[string]bool }

func (p *stubProvider) Name() string { return "stub" }
func (p *stubProvider) SendSMS(_ context.Context, to, _ string) (bool, error) {
	if p.fail[to] {
		return true, fmt.Errorf("stub: %s unreachable", to)
	}
	return false, nil
}

func TestFit(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct {
		name          string
		in            string
		max, segments int
		wantLen       int // as counted by Length
		wantGSM       bool
		wantSuffix    string
	}{
		{"short gsm", "hello", 160, 1, 5, true, "hello"},
		{"exact 160", long[:160], 160, 1, 160, true, "a"},
		{"gsm cut", long, 160, 1, 160, true, "..."},
		{"gsm two segments", long, 160, 2, 300, true, "a"},
		{"gsm three segments fit", long + long, 160, 3, 459, true, "..."},
		{"ucs2 cut to 70", "Störung: " + strings.Repeat("ü", 10) + strings.Repeat("ж", 100), 160, 1, 70, false, "…"},
		{"ucs2 two segments", strings.Repeat("ж", 300), 160, 2, 134, false, "…"},
		{"emoji counts two", strings.Repeat("🔥", 50), 160, 1, 69, false, "…"},
		{"extension chars count two", strings.Repeat("{", 100), 160, 1, 159, true, "..."},
		{"smaller max length", long, 100, 1, 100, true, "..."},
		{"ucs2 with small max", strings.Repeat("ж", 100), 50, 1, 50, false, "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Fit(tt.in, tt.max, tt.segments)
			n, gsm := Length(out)
			if n != tt.wantLen || gsm != tt.wantGSM || !strings.HasSuffix(out, tt.wantSuffix) {
				t.Errorf("Fit: len %d gsm %v %q, want len %d gsm %v suffix %q", n, gsm, out, tt.wantLen, tt.wantGSM, tt.wantSuffix)
			}
			if n > Budget(tt.max, tt.segments, gsm) || !utf8.ValidString(out) {
				t.Errorf("over budget or invalid UTF-8: %q", out)
			}
		})
	}
}

func TestRenderGolden(t *testing.T) {
	base := crit()
	cases := []struct {
		name string
		n    func(model.Notification) model.Notification
		max  int
		seg  int
	}{
		{"plain", func(n model.Notification) model.Notification { return n }, 160, 1},
		{"subject starts with host", func(n model.Notification) model.Notification {
			n.Subject = "web1: disk /dev/sda1 97% > 95%"
			return n
		}, 160, 1},
		{"long text cut", func(n model.Notification) model.Notification {
			n.Text = strings.Repeat("The quick brown fox jumps over the lazy dog. ", 10)
			return n
		}, 160, 1},
		{"unicode forces ucs2", func(n model.Notification) model.Notification {
			n.Subject, n.Text = "Dienst „nginx“ ausgefallen", "Seit 5 Minuten keine Antwort auf Port 443 – bitte prüfen."
			return n
		}, 160, 1},
		{"whitespace collapsed", func(n model.Notification) model.Notification {
			n.Text = "line one\n\n\tline two   end"
			n.Level = model.WARN
			return n
		}, 160, 1},
	}
	var out strings.Builder
	for _, c := range cases {
		text := Render(c.n(base), c.max, c.seg)
		n, gsm := Length(text)
		enc := "UCS-2"
		if gsm {
			enc = "GSM-7"
		}
		fmt.Fprintf(&out, "== %s (%s, %d)\n%s\n", c.name, enc, n, text)
	}
	path := filepath.Join("testdata", "render.golden")
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if out.String() != string(want) {
		t.Errorf("render mismatch:\n--- got\n%s\n--- want\n%s", out.String(), want)
	}
}

func FuzzFit(f *testing.F) {
	for _, s := range []string{"", "hello", strings.Repeat("{", 200), "ж€🔥", "\xff\xfe", strings.Repeat("a€", 120)} {
		f.Add(s, 160, 1)
		f.Add(s, 20, 3)
	}
	f.Fuzz(func(t *testing.T, s string, max, seg int) {
		// Map any input onto the valid config range.
		max = MinMaxLength + int(uint(max)%uint(gsmSingle-MinMaxLength+1))
		seg = 1 + int(uint(seg)%MaxSegments)
		out := Fit(s, max, seg)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 %q", out)
		}
		n, gsm := Length(out)
		if n > Budget(max, seg, gsm) {
			t.Fatalf("Fit(%q, %d, %d) = %q: length %d over budget %d", s, max, seg, out, n, Budget(max, seg, gsm))
		}
		if in := strings.ToValidUTF8(s, "?"); len(in) > 0 && IsGSM7(in) && !gsm {
			t.Fatalf("GSM-7 input became UCS-2: %q", out)
		}
	})
}

func TestFitTinyBudget(t *testing.T) {
	for _, tt := range []struct {
		in   string
		max  int
		want string
	}{
		{"abcdef", 2, ".."}, {"abcdef", 0, ""}, {"жжжж", 1, "…"}, {"жжжж", 0, ""}, {"abcd", 4, "abcd"},
	} {
		if got := Fit(tt.in, tt.max, 1); got != tt.want {
			t.Errorf("Fit(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
