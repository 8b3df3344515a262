package irc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lrstanley/girc"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
)

const ngircdPath = "/usr/sbin/ngircd"

// ngircd is a real ngIRCd server run as a child process for tests.
type ngircd struct {
	t       *testing.T
	dir     string
	port    int
	tlsPort int // 0: no TLS listener
	cmd     *exec.Cmd
}

const ngircdConf = `[Global]
	Name = irc.lookout.test
	Info = Lookout test server
	Listen = 127.0.0.1
	Ports = %d
	Password = srvpass
	MotdPhrase = "lookout test"
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
[Channel]
	Name = #oncall
	Modes = +tnk sekrit
`

const ngircdTLSConf = `[SSL]
	CertFile = %[1]s/cert.pem
	KeyFile = %[1]s/key.pem
	Ports = %[2]d
`

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int { return testutil.FreePort(t) }

// startNgircd writes a config for free loopback ports into a temp dir and
// starts ngircd on it; with withTLS it also listens for TLS with a fresh
// self-signed certificate.
func startNgircd(t *testing.T, withTLS bool) *ngircd {
	t.Helper()
	if _, err := os.Stat(ngircdPath); err != nil {
		t.Skipf("ngircd not installed (%v): apt-get install -y ngircd to run the IRC integration test", err)
	}
	s := &ngircd{t: t, dir: t.TempDir(), port: freePort(t)}
	if withTLS {
		s.tlsPort = freePort(t)
		writeSelfSigned(t, s.dir)
	}
	s.start()
	return s
}

// writeSelfSigned writes cert.pem and key.pem (ECDSA P-256, for 127.0.0.1)
// into dir.
func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "irc.lookout.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "PRIVATE KEY", Bytes: kder},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *ngircd) start() {
	t := s.t
	t.Helper()
	conf := filepath.Join(s.dir, "ngircd.conf")
	text := fmt.Sprintf(ngircdConf, s.port, s.dir)
	if s.tlsPort != 0 {
		text += fmt.Sprintf(ngircdTLSConf, s.dir, s.tlsPort)
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(ngircdPath, "-n", "-f", conf)
	logf, err := os.Create(filepath.Join(s.dir, "ngircd.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting ngircd: %v", err)
	}
	cmd := s.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		logf.Close()
	})
	for _, port := range []int{s.port, s.tlsPort} {
		if port == 0 {
			continue
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				out, _ := os.ReadFile(filepath.Join(s.dir, "ngircd.log"))
				t.Fatalf("ngircd did not listen on port %d: %v\n%s", port, err, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (s *ngircd) stop() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// message is one PRIVMSG seen by a test client.
type message struct{ from, target, text string }

// ircClient is a plain IRC user (girc) that records the PRIVMSGs it sees.
type ircClient struct {
	c    *girc.Client
	msgs chan message
}

func newIRCClient(t *testing.T, port int, nick string, join map[string]string) *ircClient {
	t.Helper()
	cl := &ircClient{msgs: make(chan message, 100)}
	cl.c = girc.New(girc.Config{Server: "127.0.0.1", Port: port, Nick: nick, User: nick,
		ServerPass: "srvpass", AllowFlood: true})
	cl.c.Handlers.Add(girc.PRIVMSG, func(_ *girc.Client, e girc.Event) {
		if e.Source != nil && len(e.Params) > 0 {
			cl.msgs <- message{from: e.Source.Name, target: e.Params[0], text: e.Last()}
		}
	})
	cl.c.Handlers.Add(girc.CONNECTED, func(c *girc.Client, _ girc.Event) {
		for ch, key := range join {
			c.Cmd.JoinKey(ch, key)
		}
	})
	done := make(chan struct{})
	go func() { _ = cl.c.Connect(); close(done) }()
	t.Cleanup(func() {
		cl.c.Close()
		<-done
	})
	waitFor(t, 10*time.Second, nick+" joined its channels", func() bool {
		if !cl.c.IsConnected() {
			return false
		}
		for ch := range join {
			if !cl.c.IsInChannel(ch) {
				return false
			}
		}
		return true
	})
	return cl
}

// collect reads messages until n arrived, then waits quiet for extra ones.
func (cl *ircClient) collect(t *testing.T, n int, quiet time.Duration) []message {
	t.Helper()
	var got []message
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case m := <-cl.msgs:
			got = append(got, m)
		case <-timeout:
			t.Fatalf("got %d messages, want %d: %q", len(got), n, got)
		}
	}
	select {
	case m := <-cl.msgs:
		t.Fatalf("unexpected extra message %q after %q", m, got)
	case <-time.After(quiet):
	}
	return got
}

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

// fakeAdmin records admin commands and answers with fixed lines.
type fakeAdmin struct {
	mu    sync.Mutex
	calls []adminCall
}

type adminCall struct {
	from string
	args []string
}

func (a *fakeAdmin) Command(_ context.Context, from string, args []string) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, adminCall{from, args})
	if args[0] == "rule" {
		return nil, errors.New("rule " + args[2] + " exists")
	}
	return []string{"2 rules:", "disk_full: *!machine.disk:*.used_percentage > 90\r\nPRIVMSG #ops :injected"}, nil
}

func (a *fakeAdmin) snapshot() []adminCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]adminCall(nil), a.calls...)
}

func TestIRCWithNgircd(t *testing.T) {
	srv := startNgircd(t, false)
	reader := newIRCClient(t, srv.port, "reader", map[string]string{"#ops": "", "#oncall": "sekrit"})

	admin := &fakeAdmin{}
	cfg := configs.IRCConfig{
		Name:           "test",
		Server:         "127.0.0.1",
		Port:           srv.port,
		Nick:           "lookout",
		ServerPassword: "srvpass",
		Channels: []configs.IRCChannel{
			{Name: "#ops"}, // default INFO
			{Name: "#oncall", Key: "sekrit", MinLevel: "ERR"},
		},
		Admins: []string{"reader!*@127.0.0.1"},
		Pace:   20 * time.Millisecond,
	}
	opts := options{backoffMin: 100 * time.Millisecond, backoffMax: 400 * time.Millisecond,
		stableAfter: time.Minute, rejoinEvery: 200 * time.Millisecond}
	n, err := newIRC(cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), admin, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	if n.MinLevel() != model.INFO || n.Type() != "irc" || n.Name() != "test" {
		t.Fatalf("MinLevel/Type/Name = %s/%s/%s", n.MinLevel(), n.Type(), n.Name())
	}
	waitFor(t, 10*time.Second, "notifier joined #ops and #oncall", func() bool { return n.ready(n.channels) == nil })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	notes := []model.Notification{
		{ID: "1", Level: model.DEBUG, Kind: model.KindInfo, Host: "web1", Subject: "below every channel"},
		{ID: "2", Level: model.INFO, Kind: model.KindUp, Host: "web1", Subject: "port sshd (22) is up", Text: "(was down for 5 seconds)"},
		{ID: "3", Level: model.WARN, Kind: model.KindWarning, Host: "db1", Subject: "load 7.5"},
		{ID: "4", Level: model.CRIT, Kind: model.KindAlarm, Host: "db1", Subject: "disk full", Text: "/dev/sda1 99%\n/dev/sdb1 98%\r\nQUIT :x"},
	}
	for _, note := range notes {
		if retry, err := n.Send(ctx, note); err != nil {
			t.Fatalf("Send(%s) = %v, %v", note.ID, retry, err)
		}
	}
	line := func(i, l int) string { return FormatLines(notes[i], true)[l] }
	want := map[string][]string{
		"#ops":    {line(1, 0), line(2, 0), line(3, 0), line(3, 1), line(3, 2)},
		"#oncall": {line(3, 0), line(3, 1), line(3, 2)},
	}
	got := map[string][]string{}
	for _, m := range reader.collect(t, 8, 300*time.Millisecond) {
		if m.from != "lookout" {
			t.Errorf("message from %q, want lookout", m.from)
		}
		got[m.target] = append(got[m.target], m.text)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("channel lines:\n got %q\nwant %q", got, want)
	}

	// A non-admin's command is ignored; the admin's reaches the handler and
	// the reply comes back where the command was given.
	mallory := newIRCClient(t, srv.port, "mallory", map[string]string{"#ops": ""})
	mallory.c.Cmd.Message("lookout", "rules")
	mallory.c.Cmd.Message("#ops", "lookout: rules")
	reader.c.Cmd.Message("#ops", "lookout: rules")
	replies := reader.collect(t, 3, 300*time.Millisecond) // mallory's channel line + 2 reply lines
	var ops []string
	for _, m := range replies {
		if m.from == "lookout" {
			if m.target != "#ops" {
				t.Errorf("reply sent to %q, want #ops", m.target)
			}
			ops = append(ops, m.text)
		}
	}
	wantReply := []string{"reader: 2 rules:", "reader: disk_full: *!machine.disk:*.used_percentage > 90 PRIVMSG #ops :injected"}
	if !reflect.DeepEqual(ops, wantReply) {
		t.Fatalf("admin reply = %q, want %q", ops, wantReply)
	}
	reader.c.Cmd.Message("lookout", `rule add disk "*!machine.disk:*.used_percentage > 90"`)
	reader.c.Cmd.Message("lookout", `silence web* later`)
	reader.c.Cmd.Message("lookout", `help`)
	priv := reader.collect(t, 2+len(HelpLines), 300*time.Millisecond)
	wantPriv := append([]string{"error: rule disk exists", `error: silence: bad duration "later" (want e.g. 30m, 2h or 3d)`}, HelpLines...)
	var gotPriv []string
	for _, m := range priv {
		if m.target != "reader" {
			t.Errorf("private reply sent to %q, want reader", m.target)
		}
		gotPriv = append(gotPriv, m.text)
	}
	if !reflect.DeepEqual(gotPriv, wantPriv) {
		t.Fatalf("private replies:\n got %q\nwant %q", gotPriv, wantPriv)
	}
	calls := admin.snapshot()
	wantCalls := []adminCall{
		{"reader!~reader@127.0.0.1", []string{"rules"}},
		{"reader!~reader@127.0.0.1", []string{"rule", "add", "disk", "*!machine.disk:*.used_percentage > 90"}},
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Fatalf("admin handler calls = %q, want %q", calls, wantCalls)
	}

	// Server down: Send is a retryable error, and nothing is sent.
	srv.stop()
	waitFor(t, 5*time.Second, "notifier noticed the disconnect", func() bool { return !n.client.IsConnected() })
	down := model.Notification{ID: "5", Level: model.ERR, Kind: model.KindDown, Host: "web2", Subject: "host is down"}
	retry, err := n.Send(ctx, down)
	if err == nil || !retry || !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send while server down = %v, %v; want retryable ErrNotConnected", retry, err)
	}

	// Server back on the same port: the notifier reconnects and rejoins.
	srv.start()
	reader2 := newIRCClient(t, srv.port, "reader", map[string]string{"#ops": "", "#oncall": "sekrit"})
	waitFor(t, 10*time.Second, "notifier rejoined after restart", func() bool { return n.ready(n.channels) == nil })
	if retry, err := n.Send(ctx, down); err != nil {
		t.Fatalf("Send after reconnect = %v, %v", retry, err)
	}
	got = map[string][]string{}
	for _, m := range reader2.collect(t, 2, 300*time.Millisecond) {
		got[m.target] = append(got[m.target], m.text)
	}
	want = map[string][]string{"#ops": {FormatLine(down, true)}, "#oncall": {FormatLine(down, true)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reconnect:\n got %q\nwant %q", got, want)
	}

	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if retry, err := n.Send(ctx, down); err == nil || !retry {
		t.Fatalf("Send after Close = %v, %v; want retryable error", retry, err)
	}
}

func TestIRCOverTLS(t *testing.T) {
	srv := startNgircd(t, true)
	reader := newIRCClient(t, srv.port, "reader", map[string]string{"#ops": ""})
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	opts := options{backoffMin: 100 * time.Millisecond, backoffMax: 200 * time.Millisecond,
		stableAfter: time.Minute, rejoinEvery: 200 * time.Millisecond}
	base := configs.IRCConfig{Server: "127.0.0.1", Port: srv.tlsPort, TLS: true, ServerPassword: "srvpass",
		Channels: []configs.IRCChannel{{Name: "#ops"}}, Pace: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Certificate checks on: the self-signed server is refused, Send retries.
	strict := base
	strict.Name, strict.Nick = "strict", "strictbot"
	s, err := newIRC(strict, quiet, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	insecure := base
	insecure.Name, insecure.Nick, insecure.InsecureSkipVerify = "insecure", "tlsbot", true
	n, err := newIRC(insecure, quiet, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	waitFor(t, 10*time.Second, "TLS notifier joined #ops", func() bool { return n.ready(n.channels) == nil })
	if state, err := n.client.TLSConnectionState(); err != nil || !state.HandshakeComplete {
		t.Fatalf("connection is not TLS: %v", err)
	}
	note := model.Notification{ID: "t1", Level: model.WARN, Kind: model.KindWarning, Host: "h", Subject: "over TLS"}
	if retry, err := n.Send(ctx, note); err != nil {
		t.Fatalf("Send over TLS = %v, %v", retry, err)
	}
	msgs := reader.collect(t, 1, 200*time.Millisecond)
	if msgs[0].from != "tlsbot" || msgs[0].target != "#ops" || msgs[0].text != FormatLine(note, true) {
		t.Fatalf("got %q, want %q from tlsbot in #ops", msgs[0], FormatLine(note, true))
	}

	if retry, err := s.Send(ctx, note); err == nil || !retry || !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Send with an unverifiable certificate = %v, %v; want retryable ErrNotConnected", retry, err)
	}
}
