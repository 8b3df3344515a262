package irc

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/configs"
)

// scriptedServer is a minimal IRCv3 server on a loopback socket, for what
// ngircd lacks: SASL and account-tag. It logs every line the client sends.
type scriptedServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conn  net.Conn
	lines chan string
}

func newScriptedServer(t *testing.T) *scriptedServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedServer{ln: ln, lines: make(chan string, 100)}
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close()
		}
		s.mu.Unlock()
	})
	go s.serve()
	return s
}

func (s *scriptedServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *scriptedServer) send(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		fmt.Fprintf(s.conn, "%s\r\n", line)
	}
}

func (s *scriptedServer) serve() {
	conn, err := s.ln.Accept()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	r := bufio.NewScanner(conn)
	nick := "bot"
	for r.Scan() {
		line := r.Text()
		s.lines <- line
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "CAP" && len(f) > 1 && f[1] == "LS":
			s.send(":srv CAP * LS :sasl account-tag message-tags")
		case f[0] == "CAP" && len(f) > 1 && f[1] == "REQ":
			s.send(":srv CAP * ACK :" + strings.TrimPrefix(strings.Join(f[2:], " "), ":"))
		case f[0] == "AUTHENTICATE" && len(f) > 1 && f[1] == "PLAIN":
			s.send("AUTHENTICATE +")
		case f[0] == "AUTHENTICATE":
			s.send(":srv 900 " + nick + " " + nick + "!bot@h botacct :You are now logged in")
			s.send(":srv 903 " + nick + " :SASL authentication successful")
		case f[0] == "NICK" && len(f) > 1:
			nick = f[1]
		case f[0] == "CAP" && len(f) > 1 && f[1] == "END":
			s.send(":srv 001 " + nick + " :Welcome")
		case f[0] == "JOIN" && len(f) > 1:
			s.send(":" + nick + "!bot@h JOIN " + f[1])
		case f[0] == "PING" && len(f) > 1:
			s.send(":srv PONG srv " + f[1])
		}
	}
}

// expect reads client lines until one has the prefix, failing after d.
func (s *scriptedServer) expect(t *testing.T, prefix string, d time.Duration) string {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case l := <-s.lines:
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("client never sent a line starting with %q", prefix)
		}
	}
}

func TestSASLAndAccountTag(t *testing.T) {
	srv := newScriptedServer(t)
	admin := &fakeAdmin{}
	cfg := configs.IRCConfig{Name: "v3", Server: "127.0.0.1", Port: srv.port(), Nick: "bot",
		SASLUser: "botacct", SASLPassword: "hunter2",
		Channels: []configs.IRCChannel{{Name: "#ops"}},
		Admins:   []string{"alice!*@*"}, Pace: time.Millisecond}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := newIRC(cfg, quiet, admin, options{backoffMin: time.Hour, backoffMax: time.Hour,
		stableAfter: time.Hour, rejoinEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })

	auth := srv.expect(t, "AUTHENTICATE ", 5*time.Second)
	if auth != "AUTHENTICATE PLAIN" {
		t.Fatalf("first AUTHENTICATE = %q, want PLAIN", auth)
	}
	auth = srv.expect(t, "AUTHENTICATE ", 5*time.Second)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "AUTHENTICATE "))
	if err != nil {
		t.Fatalf("AUTHENTICATE payload %q: %v", auth, err)
	}
	if want := "botacct\x00botacct\x00hunter2"; string(raw) != want {
		t.Fatalf("SASL PLAIN payload = %q, want %q", raw, want)
	}
	srv.expect(t, "JOIN #ops", 10*time.Second)
	waitFor(t, 5*time.Second, "notifier joined", func() bool { return n.ready(n.channels) == nil })
	if !n.client.HasCapability("account-tag") {
		t.Fatal("account-tag capability not negotiated")
	}

	// With account-tag on, a matching mask without an account is refused;
	// with an account, the command runs and the reply comes back.
	srv.send(":alice!a@host PRIVMSG bot :rules")
	srv.send("@account=* :alice!a@host PRIVMSG bot :rules")
	srv.send("@account=mallory :mallory!m@host PRIVMSG bot :rules")
	srv.send("@account=alice :alice!a@host PRIVMSG #ops :bot, rules")
	got := []string{srv.expect(t, "PRIVMSG", 5*time.Second), srv.expect(t, "PRIVMSG", 5*time.Second)}
	want := []string{"PRIVMSG #ops :alice: 2 rules:", "PRIVMSG #ops :alice: disk_full: *!machine.disk:*.used_percentage > 90 PRIVMSG #ops :injected"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replies = %q, want %q", got, want)
	}
	// The refused ones were queued before the accepted one (girc handles
	// events in order): the handler saw only alice's.
	calls := admin.snapshot()
	if wantCalls := []adminCall{{"alice!a@host", []string{"rules"}}}; !reflect.DeepEqual(calls, wantCalls) {
		t.Fatalf("admin calls = %q, want %q", calls, wantCalls)
	}

	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	srv.expect(t, "QUIT", 5*time.Second)
}
