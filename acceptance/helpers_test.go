package acceptance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/lrstanley/girc"

	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/notify/webhook"
)

// alertRe finds the alert a notification is about in any channel's text:
// the port check's name (al<N>) and the transition, e.g. "al3 (41235) is down".
var alertRe = regexp.MustCompile(`\b(al\d+) \(\d+\) is (down|up)\b`)

// alertOf returns "al3 down" for a text about port check al3 going down, or
// "" when the text is about something else (host up, watchdog...).
func alertOf(text string) string {
	m := alertRe.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return m[1] + " " + m[2]
}

// arrival is one notification that reached a channel's endpoint.
type arrival struct {
	id    string // the channel's identity of the notification
	alert string // alertOf its text; "" for notifications we do not track
	at    time.Time
}

// sink records what one channel's endpoint received, and can be switched to
// failing (the endpoint then refuses deliveries retryably).
type sink struct {
	name string

	mu       sync.Mutex
	got      []arrival
	refused  map[string]int // alert -> refused attempts
	failing  bool
	protoErr []string // requests not in the expected format
}

func newSink(name string) *sink { return &sink{name: name, refused: map[string]int{}} }

func (s *sink) setFailing(f bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = f
}

// attempt records one delivery attempt; it returns false when the endpoint
// is failing and must refuse it.
func (s *sink) attempt(id, text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := alertOf(text)
	if s.failing {
		s.refused[a]++
		return false
	}
	s.got = append(s.got, arrival{id: id, alert: a, at: time.Now()})
	return true
}

func (s *sink) protocolError(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.protoErr = append(s.protoErr, fmt.Sprintf(format, args...))
}

func (s *sink) protocolErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.protoErr...)
}

// refusedCount is how many attempts for alert were refused.
func (s *sink) refusedCount(alert string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused[alert]
}

// arrivals returns the accepted arrivals of alert.
func (s *sink) arrivals(alert string) []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []arrival
	for _, a := range s.got {
		if a.alert == alert {
			out = append(out, a)
		}
	}
	return out
}

// has reports whether every alert arrived at least once.
func (s *sink) has(alerts ...string) bool {
	for _, a := range alerts {
		if len(s.arrivals(a)) == 0 {
			return false
		}
	}
	return true
}

// tracked returns every tracked arrival grouped by alert, and the number of
// arrivals per channel identity.
func (s *sink) tracked() (byAlert map[string][]arrival, byID map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byAlert, byID = map[string][]arrival{}, map[string]int{}
	for _, a := range s.got {
		if a.alert == "" {
			continue
		}
		byAlert[a.alert] = append(byAlert[a.alert], a)
		byID[a.id]++
	}
	return byAlert, byID
}

func (s *sink) summary() string {
	byAlert, _ := s.tracked()
	keys := make([]string, 0, len(byAlert))
	for k := range byAlert {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s x%d, ", k, len(byAlert[k]))
	}
	s.mu.Lock()
	fmt.Fprintf(&b, "refused %v", s.refused)
	s.mu.Unlock()
	return s.name + ": " + b.String()
}

// ---- webhook ----

const webhookSecret = "acceptance-hmac-key"

// startWebhook serves a webhook sink on 127.0.0.1 that checks the request
// (POST, JSON, X-Lookout-Id equal to the payload's id, valid HMAC) and
// answers 500 while failing. A notification's identity is X-Lookout-Id.
func startWebhook(t *testing.T) (*sink, string) {
	s := newSink("webhook")
	ln := listen(t)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		var p webhook.Payload
		id := r.Header.Get(webhook.HeaderID)
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/hook":
			s.protocolError("%s %s, want POST /hook", r.Method, r.URL.Path)
		case r.Header.Get("Content-Type") != "application/json":
			s.protocolError("Content-Type %q", r.Header.Get("Content-Type"))
		case !webhook.Verify([]byte(webhookSecret), body, r.Header.Get(webhook.HeaderSignature)):
			s.protocolError("bad signature %q", r.Header.Get(webhook.HeaderSignature))
		case json.Unmarshal(body, &p) != nil:
			s.protocolError("body is not a JSON payload: %q", body)
		case id == "" || p.ID != id:
			s.protocolError("X-Lookout-Id %q, payload id %q", id, p.ID)
		default:
			if !s.attempt(id, p.Subject) {
				http.Error(w, "sink is down", http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "bad request", http.StatusBadRequest)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s, "http://" + ln.Addr().String() + "/hook"
}

// ---- SMS (Twilio) ----

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "acceptance-twilio-token"
	twilioFrom  = "+14155550199"
	smsTo       = "+14155550100"
)

// startTwilio serves Twilio's "create message" API on 127.0.0.1: it checks
// the path, basic auth, form encoding and fields as Twilio does, answers
// 201 with a message resource, or 503 while failing. A notification's
// identity is the SMS body text.
func startTwilio(t *testing.T) (*sink, string) {
	s := newSink("sms")
	ln := listen(t)
	twilioErr := func(w http.ResponseWriter, status, code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "status": status,
			"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code)})
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wantPath := "/2010-04-01/Accounts/" + twilioSID + "/Messages.json"
		user, pass, ok := r.BasicAuth()
		switch {
		case r.Method != http.MethodPost || r.URL.Path != wantPath:
			s.protocolError("%s %s, want POST %s", r.Method, r.URL.Path, wantPath)
			twilioErr(w, http.StatusNotFound, 20404, "The requested resource was not found")
			return
		case !ok || user != twilioSID || pass != twilioToken:
			s.protocolError("basic auth %q/%q", user, pass)
			twilioErr(w, http.StatusUnauthorized, 20003, "Authenticate")
			return
		case r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
			s.protocolError("Content-Type %q", r.Header.Get("Content-Type"))
			twilioErr(w, http.StatusBadRequest, 21620, "Invalid content type")
			return
		}
		if err := r.ParseForm(); err != nil {
			s.protocolError("form: %v", err)
			twilioErr(w, http.StatusBadRequest, 21620, "Invalid form")
			return
		}
		body := r.PostForm.Get("Body")
		switch {
		case r.PostForm.Get("To") != smsTo:
			s.protocolError("To %q", r.PostForm.Get("To"))
			twilioErr(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number")
			return
		case r.PostForm.Get("From") != twilioFrom:
			s.protocolError("From %q", r.PostForm.Get("From"))
			twilioErr(w, http.StatusBadRequest, 21212, "Invalid From Number")
			return
		case body == "":
			s.protocolError("empty Body")
			twilioErr(w, http.StatusBadRequest, 21602, "Message body is required")
			return
		}
		if !s.attempt(body, body) {
			twilioErr(w, http.StatusServiceUnavailable, 20503, "Service unavailable")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032x", time.Now().UnixNano()),
			"account_sid": twilioSID, "to": smsTo, "from": twilioFrom, "body": body, "status": "queued"})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s, "http://" + ln.Addr().String()
}

// ---- mail ----

// startSMTP runs an emersion/go-smtp server on 127.0.0.1 that answers 451
// to DATA while failing. A notification's identity is its Message-ID.
func startSMTP(t *testing.T) (*sink, int) {
	s := newSink("mail")
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{sink: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 5*time.Second, 5*time.Second
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s, ln.Addr().(*net.TCPAddr).Port
}

type smtpSession struct {
	sink *sink
	from string
	to   []string
}

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		ss.sink.protocolError("unparsable mail: %v", err)
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable"}
	}
	_, _ = io.Copy(io.Discard, msg.Body)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	id := msg.Header.Get("Message-Id")
	switch {
	case ss.from != "lookout@lookout.test" || len(ss.to) != 1 || ss.to[0] != "ops@lookout.test":
		ss.sink.protocolError("envelope %q -> %q", ss.from, ss.to)
	case id == "":
		ss.sink.protocolError("no Message-ID in %q", subject)
	}
	if !ss.sink.attempt(id, subject) {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailbox busy, try again later"}
	}
	return nil
}

func (ss *smtpSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *smtpSession) Logout() error { return nil }

// ---- IRC ----

const ngircdPath = "/usr/sbin/ngircd"

const ngircdConf = `[Global]
	Name = irc.lookout.test
	Info = Lookout acceptance test
	Listen = 127.0.0.1
	Ports = %d
	Password = srvpass
	MotdPhrase = "lookout acceptance"
	PidFile = %s/ngircd.pid
[Limits]
	MaxNickLength = 30
	MaxPenaltyTime = 0
	MaxConnectionsIP = 0
	PingTimeout = 120
	PongTimeout = 20
[Options]
	PAM = no
	Ident = no
	DNS = no
	ConnectIPv6 = no
	MorePrivacy = no
`

// ngircd is a real ngIRCd child process on a fixed loopback port, which can
// be stopped and started again on the same port.
type ngircd struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
	logf *os.File
}

func newNgircd(t *testing.T) *ngircd {
	s := &ngircd{t: t, dir: t.TempDir(), port: freePort(t)}
	if err := os.WriteFile(filepath.Join(s.dir, "ngircd.conf"), fmt.Appendf(nil, ngircdConf, s.port, s.dir), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

func (s *ngircd) start() {
	t := s.t
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "ngircd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	s.logf = logf
	s.cmd = exec.Command(ngircdPath, "-n", "-f", filepath.Join(s.dir, "ngircd.conf"))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting ngircd: %v", err)
	}
	waitFor(t, 10*time.Second, "ngircd listening", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

func (s *ngircd) stop() {
	if s.cmd == nil || s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.logf.Close()
}

// ircReader is a plain IRC user in #ops recording the bot's lines into a
// sink; a line's identity is its text.
type ircReader struct {
	c    *girc.Client
	done chan struct{}
}

func newIRCReader(t *testing.T, port int, s *sink, bot string) *ircReader {
	t.Helper()
	r := &ircReader{done: make(chan struct{})}
	r.c = girc.New(girc.Config{Server: "127.0.0.1", Port: port, Nick: "reader", User: "reader",
		ServerPass: "srvpass", AllowFlood: true})
	r.c.Handlers.Add(girc.PRIVMSG, func(_ *girc.Client, e girc.Event) {
		if e.Source != nil && e.Source.Name == bot && len(e.Params) > 0 && e.Params[0] == "#ops" {
			s.attempt(e.Last(), e.Last())
		}
	})
	r.c.Handlers.Add(girc.CONNECTED, func(c *girc.Client, _ girc.Event) { c.Cmd.Join("#ops") })
	go func() { _ = r.c.Connect(); close(r.done) }()
	waitFor(t, 10*time.Second, "IRC reader joined #ops", func() bool {
		return r.c.IsConnected() && r.c.IsInChannel("#ops")
	})
	return r
}

func (r *ircReader) close() {
	r.c.Close()
	<-r.done
}

// ---- processes and ports ----

// proc is a lookout child process with its output in a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(lookoutBin, args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		b, _ := os.ReadFile(p.log)
		for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:", "actor panicked"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s output contains %q (see below)", name, bad)
			}
		}
		if t.Failed() {
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("---- last output of %s ----\n%s", name, b)
		}
	})
	return p
}

// stop asks the process to exit (SIGTERM) and kills it after 10 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill9 kills the process with SIGKILL and waits for it.
func (p *proc) kill9() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// portListener is a TCP listener a port check watches: open = up.
type portListener struct {
	t    *testing.T
	port int
	ln   net.Listener
}

func newPortListener(t *testing.T) *portListener {
	p := &portListener{t: t, port: freePort(t)}
	p.open()
	t.Cleanup(p.close)
	return p
}

func (p *portListener) open() {
	p.t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
	if err != nil {
		p.t.Fatalf("reopening port %d: %v", p.port, err)
	}
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (p *portListener) close() {
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int { return testutil.FreePort(t) }

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
