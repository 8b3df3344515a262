package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message accepted by the test server.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// smtpServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that
// records what it receives.
type smtpServer struct {
	Addr string
	Port int

	mu       sync.Mutex
	msgs     []received
	sessions int
	users    map[string]string
	// rcptErr / dataErr, when set, are answered to RCPT TO / DATA.
	rcptErr *smtp.SMTPError
	dataErr *smtp.SMTPError
	// authEcho makes failed AUTH replies quote the password (a misbehaving
	// server, to test redaction).
	authEcho bool
}

type serverOpts struct {
	implicitTLS bool // TLS from the first byte
	startTLS    bool // offer STARTTLS
	insecure    bool // allow AUTH without TLS
	users       map[string]string
}

func newSelfSignedCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "lookout test smtp"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func startSMTP(t testing.TB, o serverOpts) *smtpServer {
	t.Helper()
	ts := &smtpServer{users: o.users}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		ts.mu.Lock()
		ts.sessions++
		ts.mu.Unlock()
		return &session{srv: ts, conn: c, tlsAtStart: isTLS}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = o.insecure
	s.ReadTimeout = 5 * time.Second
	s.WriteTimeout = 5 * time.Second
	var tcfg *tls.Config
	if o.implicitTLS || o.startTLS {
		tcfg = &tls.Config{Certificates: []tls.Certificate{newSelfSignedCert(t)}, MinVersion: tls.VersionTLS12}
	}
	if o.startTLS {
		s.TLSConfig = tcfg
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicitTLS {
		ln = tls.NewListener(ln, tcfg)
	}
	ts.Addr = ln.Addr().String()
	ts.Port = ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		<-done
	})
	return ts
}

func (ts *smtpServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

func (ts *smtpServer) sessionCount() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.sessions
}

func (ts *smtpServer) set(f func(*smtpServer)) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	f(ts)
}

type session struct {
	srv        *smtpServer
	conn       *smtp.Conn
	tlsAtStart bool
	user       string
	cur        received
}

func (s *session) AuthMechanisms() []string {
	if s.srv.users == nil {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (s *session) check(user, pass string) error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if want, ok := s.srv.users[user]; ok && want == pass {
		s.user = user
		return nil
	}
	if s.srv.authEcho {
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials " + user + ":" + pass}
	}
	return smtp.ErrAuthFailed
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return s.check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: s.check}, nil
	}
	return nil, smtp.ErrAuthUnsupported
}

// loginServer is the server side of AUTH LOGIN (go-sasl has only the client).
type loginServer struct {
	check      func(user, pass string) error
	step       int
	user, pass string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		l.pass = string(resp)
		return nil, true, l.check(l.user, l.pass)
	}
	return nil, false, errors.New("unexpected LOGIN step")
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.srv.mu.Lock()
	needAuth := s.srv.users != nil
	s.srv.mu.Unlock()
	if needAuth && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	e := s.srv.rcptErr
	s.srv.mu.Unlock()
	if e != nil {
		return e
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.dataErr != nil {
		return s.srv.dataErr
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur.Data = b
	s.cur.TLS = isTLS
	s.cur.User = s.user
	s.srv.msgs = append(s.srv.msgs, s.cur)
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// hangingServer accepts connections and never says anything.
func hangingServer(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().(*net.TCPAddr).Port
}
