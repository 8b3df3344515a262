package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testPassword = "s3cr3t-Pa55w0rd-xyzzy"

func baseConfig(port int, tlsMode string) configs.MailConfig {
	return configs.MailConfig{
		Name:               "ops",
		Host:               "127.0.0.1",
		Port:               port,
		TLS:                tlsMode,
		From:               "Lookout <lookout@example.org>",
		InsecureSkipVerify: true,
		Timeout:            5 * time.Second,
		Recipients: []configs.MailRecipient{
			{Address: "oncall@example.org", MinLevel: "CRIT"},
			{Address: "team@example.org"}, // default WARN
			{Address: "debug@example.org", MinLevel: "INFO"},
		},
	}
}

func testNotification() model.Notification {
	att, _ := msgpack.Marshal(map[string]any{"rule": "disk", "value": 97.5})
	return model.Notification{
		ID:         "alarm.web1.disk.42",
		Level:      model.CRIT,
		Kind:       model.KindAlarm,
		Host:       "web1",
		Subject:    "web1: disk /dev/sda1 used_percentage 97.5 > 95",
		Text:       "Rule disk fired.\nActive for 5 minutes.",
		Time:       time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC),
		Attachment: att,
	}
}

func newMailer(t *testing.T, cfg configs.MailConfig) (*Mailer, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	m, err := New(cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, &logs
}

func TestNewValidation(t *testing.T) {
	valid := baseConfig(2525, "")
	tests := []struct {
		name   string
		mutate func(*configs.MailConfig)
		want   []string // substrings of the error; none = valid
	}{
		{"valid", func(*configs.MailConfig) {}, nil},
		{"empty name and host", func(c *configs.MailConfig) { c.Name, c.Host = "", "" }, []string{"name is empty", "host is empty"}},
		{"bad tls", func(c *configs.MailConfig) { c.TLS = "ssl" }, []string{`tls "ssl" is not one of`}},
		{"bad port", func(c *configs.MailConfig) { c.Port = 70000 }, []string{"port 70000 is out of range"}},
		{"user without password", func(c *configs.MailConfig) { c.Username = "bob" }, []string{`username "bob" is set but password is empty`}},
		{"password without user", func(c *configs.MailConfig) { c.Password = testPassword }, []string{"password is set but username is empty"}},
		{"auth in clear to remote", func(c *configs.MailConfig) {
			c.Host, c.TLS, c.Username, c.Password = "smtp.example.org", "none", "bob", testPassword
		}, []string{"clear text"}},
		{"bad from", func(c *configs.MailConfig) { c.From = "not an address" }, []string{`from "not an address" is not a valid address`}},
		{"no recipients", func(c *configs.MailConfig) { c.Recipients = nil }, []string{"recipients is empty"}},
		{"bad recipient", func(c *configs.MailConfig) {
			c.Recipients = append(c.Recipients, configs.MailRecipient{Address: "x@"})
		}, []string{`recipients[3]: address "x@" is not valid`}},
		{"duplicate recipient", func(c *configs.MailConfig) {
			c.Recipients = append(c.Recipients, configs.MailRecipient{Address: "Team@example.org"})
		}, []string{"listed twice"}},
		{"bad levels", func(c *configs.MailConfig) {
			c.MinLevel = "loud"
			c.Recipients[0].MinLevel = "urgent"
		}, []string{`unknown level "loud"`, `recipients[0] (oncall@example.org): min_level: unknown level "urgent"`}},
		{"negative timeout", func(c *configs.MailConfig) { c.Timeout = -time.Second }, []string{"timeout -1s is negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			cfg.Recipients = append([]configs.MailRecipient(nil), valid.Recipients...)
			tt.mutate(&cfg)
			_, err := New(cfg, nil)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("New: unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New: want error containing %q, got nil", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		tls      string
		wantPort int
		wantTLS  string
	}{
		{"", 587, TLSStartTLS},
		{"STARTTLS", 587, TLSStartTLS},
		{"tls", 465, TLSImplicit},
		{"none", 25, TLSNone},
	}
	for _, tt := range tests {
		cfg := baseConfig(0, tt.tls)
		cfg.Timeout = 0
		m, err := New(cfg, nil)
		if err != nil {
			t.Fatalf("tls %q: %v", tt.tls, err)
		}
		if m.s.port != tt.wantPort || m.s.tls != tt.wantTLS || m.s.timeout != DefaultTimeout {
			t.Errorf("tls %q: got port %d tls %q timeout %s, want %d %q %s",
				tt.tls, m.s.port, m.s.tls, m.s.timeout, tt.wantPort, tt.wantTLS, DefaultTimeout)
		}
	}
	m, _ := New(baseConfig(25, ""), nil)
	if m.MinLevel() != model.INFO || m.Name() != "ops" || m.Type() != "mail" {
		t.Errorf("MinLevel/Name/Type = %v %q %q", m.MinLevel(), m.Name(), m.Type())
	}
}

// parsedMail is a received message taken apart with the standard library.
type parsedMail struct {
	header     netmail.Header
	body       string
	attachName string
	attachType string
	attachment []byte
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse mail: %v\n%s", err, data)
	}
	p := parsedMail{header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(msg.Body)
		p.body = decodeQP(t, msg.Header.Get("Content-Transfer-Encoding"), b)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if name := part.FileName(); name != "" {
			p.attachName, p.attachType = name, ct
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
			if err != nil {
				t.Fatalf("attachment base64: %v", err)
			}
			p.attachment = dec
			continue
		}
		p.body = decodeQP(t, part.Header.Get("Content-Transfer-Encoding"), b)
	}
	return p
}

// decodeQP: multipart.Reader already decodes quoted-printable parts; a
// single-part body still needs it.
func decodeQP(t *testing.T, cte string, b []byte) string {
	t.Helper()
	if strings.EqualFold(cte, "quoted-printable") {
		out, err := io.ReadAll(newQPReader(b))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		return string(out)
	}
	return string(b)
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

func TestSendModes(t *testing.T) {
	users := map[string]string{"bob": testPassword}
	tests := []struct {
		name     string
		srv      serverOpts
		tls      string
		user     string
		wantTLS  bool
		wantUser string
	}{
		{"starttls with auth", serverOpts{startTLS: true, users: users}, "starttls", "bob", true, "bob"},
		{"implicit tls with auth", serverOpts{implicitTLS: true, users: users}, "tls", "bob", true, "bob"},
		{"clear text loopback with auth", serverOpts{insecure: true, users: users}, "none", "bob", false, "bob"},
		{"clear text no auth", serverOpts{}, "none", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, tt.srv)
			cfg := baseConfig(srv.Port, tt.tls)
			if tt.user != "" {
				cfg.Username, cfg.Password = tt.user, testPassword
			}
			m, _ := newMailer(t, cfg)
			retry, err := m.Send(context.Background(), testNotification())
			if err != nil {
				t.Fatalf("Send: retry=%v err=%v", retry, err)
			}
			msgs := srv.messages()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages, want 1", len(msgs))
			}
			if msgs[0].TLS != tt.wantTLS || msgs[0].User != tt.wantUser {
				t.Errorf("tls=%v user=%q, want %v %q", msgs[0].TLS, msgs[0].User, tt.wantTLS, tt.wantUser)
			}
			if msgs[0].From != "lookout@example.org" {
				t.Errorf("MAIL FROM %q", msgs[0].From)
			}
		})
	}
}

func TestStartTLSMandatory(t *testing.T) {
	srv := startSMTP(t, serverOpts{}) // no STARTTLS offered
	m, _ := newMailer(t, baseConfig(srv.Port, "starttls"))
	retry, err := m.Send(context.Background(), testNotification())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("want STARTTLS error, got retry=%v err=%v", retry, err)
	}
	if len(srv.messages()) != 0 {
		t.Fatal("message delivered in clear text although starttls is mandatory")
	}
}

func TestRecipientsByLevel(t *testing.T) {
	srv := startSMTP(t, serverOpts{})
	m, _ := newMailer(t, baseConfig(srv.Port, "none"))
	tests := []struct {
		level model.Level
		want  []string
	}{
		{model.CRIT, []string{"oncall@example.org", "team@example.org", "debug@example.org"}},
		{model.ERR, []string{"team@example.org", "debug@example.org"}},
		{model.WARN, []string{"team@example.org", "debug@example.org"}},
		{model.INFO, []string{"debug@example.org"}},
		{model.DEBUG, nil},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			before := len(srv.messages())
			sessions := srv.sessionCount()
			n := testNotification()
			n.Level = tt.level
			if _, err := m.Send(context.Background(), n); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.messages()
			if tt.want == nil {
				if len(msgs) != before || srv.sessionCount() != sessions {
					t.Fatal("a notification no recipient accepts was sent")
				}
				return
			}
			if len(msgs) != before+1 {
				t.Fatalf("got %d new messages, want 1", len(msgs)-before)
			}
			got := msgs[len(msgs)-1].To
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("RCPT TO %v, want %v", got, tt.want)
			}
			hdr := parseMail(t, msgs[len(msgs)-1].Data).header
			if to, _ := hdr.AddressList("To"); len(to) != len(tt.want) {
				t.Errorf("To header %v, want %v", to, tt.want)
			}
		})
	}
}

func TestMessageContent(t *testing.T) {
	srv := startSMTP(t, serverOpts{startTLS: true})
	m, _ := newMailer(t, baseConfig(srv.Port, "starttls"))
	n := testNotification()
	if _, err := m.Send(context.Background(), n); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	p := parseMail(t, msgs[0].Data)
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(p.header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"Subject":         subj,
		"Message-Id":      p.header.Get("Message-Id"),
		"X-Lookout-Level": p.header.Get("X-Lookout-Level"),
		"X-Lookout-Id":    p.header.Get("X-Lookout-Id"),
		"Auto-Submitted":  p.header.Get("Auto-Submitted"),
	}
	want := map[string]string{
		"Subject":         "[CRIT] web1: disk /dev/sda1 used_percentage 97.5 > 95",
		"Message-Id":      "<lookout.alarm.web1.disk.42@example.org>",
		"X-Lookout-Level": "CRIT",
		"X-Lookout-Id":    "alarm.web1.disk.42",
		"Auto-Submitted":  "auto-generated",
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("header %s = %q, want %q", k, checks[k], w)
		}
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(n.Time) {
		t.Errorf("Date = %v (%v), want %v", d, err, n.Time)
	}
	if p.attachName != "notification-alarm.web1.disk.42.msgpack" || p.attachType != AttachmentType {
		t.Errorf("attachment %q type %q", p.attachName, p.attachType)
	}
	var att map[string]any
	if err := msgpack.Unmarshal(p.attachment, &att); err != nil {
		t.Fatalf("attachment not decodable: %v", err)
	}
	if att["rule"] != "disk" || att["value"] != 97.5 {
		t.Errorf("attachment = %v", att)
	}
	golden(t, "body.golden", strings.ReplaceAll(p.body, "\r\n", "\n"))

	// Without attachment: a single text part, no file.
	n.Attachment = nil
	n.ID = "id with spaces/and:colons"
	if _, err := m.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	p2 := parseMail(t, srv.messages()[1].Data)
	if p2.attachName != "" {
		t.Errorf("unexpected attachment %q", p2.attachName)
	}
	if got := p2.header.Get("Message-Id"); got != "<"+MessageID(n.ID, "example.org")+">" || strings.Contains(got, " ") {
		t.Errorf("Message-ID for unsafe id = %q", got)
	}
}

func TestMessageIDStable(t *testing.T) {
	a, b := MessageID("x.1", "example.org"), MessageID("x.1", "example.org")
	if a != b || a != "lookout.x.1@example.org" {
		t.Errorf("MessageID not stable: %q %q", a, b)
	}
	u1, u2 := MessageID("a b", ""), MessageID("a c", "")
	if u1 == u2 || !strings.HasSuffix(u1, "@lookout.invalid") || strings.ContainsAny(u1, " <>") {
		t.Errorf("unsafe IDs: %q %q", u1, u2)
	}
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		rcptErr   *smtp.SMTPError
		dataErr   *smtp.SMTPError
		wantRetry bool
		wantText  string
	}{
		{"451 on RCPT", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}, nil, true, "451"},
		{"550 on RCPT", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, nil, false, "550"},
		{"451 on DATA", nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "queue full"}, true, "451"},
		{"554 on DATA", nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected"}, false, "554"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, serverOpts{})
			srv.set(func(s *smtpServer) { s.rcptErr, s.dataErr = tt.rcptErr, tt.dataErr })
			m, logs := newMailer(t, baseConfig(srv.Port, "none"))
			retry, err := m.Send(context.Background(), testNotification())
			if err == nil {
				t.Fatal("Send succeeded, want error")
			}
			t.Logf("error: %v", err)
			if retry != tt.wantRetry || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("retry=%v err=%v, want retry=%v containing %q", retry, err, tt.wantRetry, tt.wantText)
			}
			if !strings.Contains(logs.String(), "mail not sent") {
				t.Errorf("failure not logged: %s", logs)
			}
			// The server recovers: the retry goes through with the same Message-ID.
			srv.set(func(s *smtpServer) { s.rcptErr, s.dataErr = nil, nil })
			if _, err := m.Send(context.Background(), testNotification()); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got := parseMail(t, srv.messages()[0].Data).header.Get("Message-Id"); got != "<lookout.alarm.web1.disk.42@example.org>" {
				t.Errorf("retry Message-ID %q", got)
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		m, _ := newMailer(t, baseConfig(freePort(t), "none"))
		retry, err := m.Send(context.Background(), testNotification())
		if err == nil || !retry {
			t.Fatalf("retry=%v err=%v, want retryable error", retry, err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := startSMTP(t, serverOpts{implicitTLS: true})
		cfg := baseConfig(srv.Port, "tls")
		cfg.InsecureSkipVerify = false
		m, _ := newMailer(t, cfg)
		retry, err := m.Send(context.Background(), testNotification())
		if err == nil || !retry || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("retry=%v err=%v, want retryable certificate error", retry, err)
		}
	})
	t.Run("server never greets, context deadline", func(t *testing.T) {
		port := hangingServer(t)
		cfg := baseConfig(port, "none")
		cfg.Timeout = 10 * time.Second
		m, _ := newMailer(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		retry, err := m.Send(ctx, testNotification())
		if err == nil || !retry {
			t.Fatalf("retry=%v err=%v, want retryable error", retry, err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("Send took %s, ignoring the context deadline", took)
		}
	})
	t.Run("server never greets, config timeout", func(t *testing.T) {
		port := hangingServer(t)
		cfg := baseConfig(port, "none")
		cfg.Timeout = 300 * time.Millisecond
		m, _ := newMailer(t, cfg)
		start := time.Now()
		retry, err := m.Send(context.Background(), testNotification())
		if err == nil || !retry {
			t.Fatalf("retry=%v err=%v, want retryable error", retry, err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("Send took %s, ignoring the configured timeout", took)
		}
	})
	t.Run("closed mailer", func(t *testing.T) {
		m, _ := newMailer(t, baseConfig(freePort(t), "none"))
		_ = m.Close()
		if retry, err := m.Send(context.Background(), testNotification()); err == nil || retry {
			t.Fatalf("retry=%v err=%v, want permanent error", retry, err)
		}
	})
}

func TestSecretNeverLeaks(t *testing.T) {
	tests := []struct {
		name     string
		srv      serverOpts
		tls      string
		authEcho bool
	}{
		{"wrong password", serverOpts{startTLS: true, users: map[string]string{"bob": "other"}}, "starttls", false},
		{"server echoes credentials", serverOpts{startTLS: true, users: map[string]string{"bob": "other"}}, "starttls", true},
		{"no auth offered", serverOpts{startTLS: true}, "starttls", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startSMTP(t, tt.srv)
			srv.set(func(s *smtpServer) { s.authEcho = tt.authEcho })
			cfg := baseConfig(srv.Port, tt.tls)
			cfg.Username, cfg.Password = "bob", testPassword
			m, logs := newMailer(t, cfg)
			retry, err := m.Send(context.Background(), testNotification())
			if err == nil {
				t.Fatal("Send succeeded with wrong credentials")
			}
			t.Logf("error: %v", err)
			if tt.authEcho && !strings.Contains(err.Error(), "<secret>") {
				t.Errorf("echoed password not redacted as <secret>: %v", err)
			}
			if strings.Contains(err.Error(), testPassword) || strings.Contains(logs.String(), testPassword) {
				t.Errorf("password leaked:\nerr: %v\nlogs: %s", err, logs)
			}
			if tt.name == "wrong password" && retry {
				t.Errorf("535 authentication failure should be permanent: %v", err)
			}
		})
	}
}

func FuzzMessageID(f *testing.F) {
	for _, s := range []string{"", "a.b", "x y", "a..b", ".a", "<>", "\r\n", strings.Repeat("z", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		mid := MessageID(id, "example.org")
		local, domain, ok := strings.Cut(mid, "@")
		if !ok || domain != "example.org" || !safeID.MatchString(local) || len(local) > 80 {
			t.Fatalf("MessageID(%q) = %q is not a valid dot-atom id", id, mid)
		}
		if MessageID(id, "example.org") != mid {
			t.Fatal("MessageID not deterministic")
		}
		name := AttachmentName(id)
		if strings.ContainsAny(name, "/\\ \r\n\"") || !strings.HasSuffix(name, ".msgpack") {
			t.Fatalf("AttachmentName(%q) = %q", id, name)
		}
	})
}
