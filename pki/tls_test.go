package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/configs"
)

func tlsFiles(caDir, cert, key string) configs.TLSFiles {
	return configs.TLSFiles{CA: filepath.Join(caDir, CACertFile), Cert: cert, Key: key}
}

// pkiFixture is one CA with certificates for every case the tests need.
type pkiFixture struct {
	caDir         string
	agent, master configs.TLSFiles
	agent2        configs.TLSFiles
	noRole        configs.TLSFiles // signed by the CA, no OU role
	expired       configs.TLSFiles // signed by the CA, expired
	foreignCA     configs.TLSFiles // a different CA issued it (role master)
	selfSigned    configs.TLSFiles // self-signed, role master, CA file = ours
	foreignCADir  string
}

func newFixture(t *testing.T) *pkiFixture {
	t.Helper()
	root := t.TempDir()
	f := &pkiFixture{caDir: filepath.Join(root, "ca"), foreignCADir: filepath.Join(root, "foreign-ca")}
	if _, _, err := InitCA(f.caDir, "Lookout CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := InitCA(f.foreignCADir, "Foreign CA", time.Hour); err != nil {
		t.Fatal(err)
	}
	issue := func(caDir string, role Role, name string) configs.TLSFiles {
		c, k, err := IssueCert(caDir, role, name, []string{"127.0.0.1"}, filepath.Join(root, "certs"))
		if err != nil {
			t.Fatal(err)
		}
		return tlsFiles(f.caDir, c, k)
	}
	f.agent = issue(f.caDir, RoleAgent, "agent1")
	f.agent2 = issue(f.caDir, RoleAgent, "agent2")
	f.master = issue(f.caDir, RoleMaster, "master1")
	f.foreignCA = issue(f.foreignCADir, RoleMaster, "intruder")

	caCert, caKey, err := loadCA(f.caDir)
	if err != nil {
		t.Fatal(err)
	}
	custom := func(name string, ou []string, notAfter time.Time, selfSign bool) configs.TLSFiles {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: name, OrganizationalUnit: ou},
			NotBefore:    time.Now().Add(-2 * time.Hour),
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		parent, signer := caCert, any(caKey)
		if selfSign {
			parent, signer = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "custom")
		_ = os.MkdirAll(dir, 0o700)
		kp, cp := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".crt")
		if err := writeKeyAndCert(kp, key, cp, der); err != nil {
			t.Fatal(err)
		}
		return tlsFiles(f.caDir, cp, kp)
	}
	f.noRole = custom("norole", []string{"ops"}, time.Now().Add(time.Hour), false)
	f.expired = custom("expired", []string{string(RoleMaster)}, time.Now().Add(-time.Hour), false)
	f.selfSigned = custom("selfsigned", []string{string(RoleMaster)}, time.Now().Add(time.Hour), true)
	return f
}

// strangerConfig builds a client config that presents files' cert but trusts
// anything: a stranger trying to get in.
func strangerConfig(t *testing.T, files configs.TLSFiles) *tls.Config {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13} //nolint:gosec // test stranger
	if files.Cert != "" {
		pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
		if err != nil {
			t.Fatal(err)
		}
		// Always send it, even when it does not match the server's CA
		// list (a Go client would otherwise send none).
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return cfg
}

func mustMutualTLS(t *testing.T, files configs.TLSFiles, roles ...Role) *tls.Config {
	t.Helper()
	cfg, err := MutualTLS(files, roles...)
	if err != nil {
		t.Fatalf("MutualTLS: %v", err)
	}
	return cfg
}

func TestMutualTLSConfig(t *testing.T) {
	f := newFixture(t)
	cfg := mustMutualTLS(t, f.master, RoleAgent)
	if cfg.MinVersion != tls.VersionTLS13 || cfg.ClientAuth != tls.RequireAndVerifyClientCert ||
		cfg.ClientCAs == nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 {
		t.Fatalf("config: min=%x auth=%v clientCAs=%v roots=%v certs=%d",
			cfg.MinVersion, cfg.ClientAuth, cfg.ClientCAs != nil, cfg.RootCAs != nil, len(cfg.Certificates))
	}
	if cfg.InsecureSkipVerify && cfg.VerifyConnection == nil {
		t.Fatal("InsecureSkipVerify without VerifyConnection")
	}
}

func TestMutualTLSErrors(t *testing.T) {
	f := newFixture(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		files configs.TLSFiles
		roles []Role
		want  []string
	}{
		{"nothing set", configs.TLSFiles{}, []Role{RoleAgent}, []string{"tls.ca", "tls.cert", "tls.key"}},
		{"no roles", f.master, nil, []string{"no peer role"}},
		{"bad role", f.master, []Role{"root"}, []string{`unknown peer role "root"`}},
		{"missing CA file", configs.TLSFiles{CA: "/nonexistent/ca.crt", Cert: f.master.Cert, Key: f.master.Key}, []Role{RoleAgent}, []string{"/nonexistent/ca.crt"}},
		{"garbage CA", configs.TLSFiles{CA: garbage, Cert: f.master.Cert, Key: f.master.Key}, []Role{RoleAgent}, []string{garbage, "no PEM CERTIFICATE"}},
		{"leaf as CA", configs.TLSFiles{CA: f.agent.Cert, Cert: f.master.Cert, Key: f.master.Key}, []Role{RoleAgent}, []string{"is not a CA"}},
		{"key mismatch", configs.TLSFiles{CA: f.master.CA, Cert: f.master.Cert, Key: f.agent.Key}, []Role{RoleAgent}, []string{f.master.Cert, f.agent.Key}},
		{"cert from other CA", f.foreignCA, []Role{RoleAgent}, []string{"does not verify against CA", f.foreignCA.Cert}},
		{"expired cert", f.expired, []Role{RoleAgent}, []string{"expired"}},
		{"cert without role", f.noRole, []Role{RoleAgent}, []string{"carries no role"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MutualTLS(tt.files, tt.roles...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want containing %q", err, w)
				}
			}
		})
	}
}

// handshake runs one TLS connection between a server with serverCfg and a
// client with clientCfg over 127.0.0.1 and returns each side's error: the
// server's handshake error, and the client's handshake-or-first-read error
// (in TLS 1.3 a client learns that the server rejected its certificate
// only on its first read).
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if err := c.(*tls.Conn).Handshake(); err != nil {
			done <- err
			return
		}
		_, err = c.Write([]byte("ok"))
		done <- err
	}()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), clientCfg)
	if err == nil {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 2)
		_, err = io.ReadFull(c, buf)
		if err == nil && string(buf) != "ok" {
			t.Fatalf("read %q", buf)
		}
		c.Close()
	}
	return <-done, err
}

func TestHandshakeMatrix(t *testing.T) {
	f := newFixture(t)
	ingest := mustMutualTLS(t, f.master, RoleAgent)   // master's agent listener
	cluster := mustMutualTLS(t, f.master, RoleMaster) // master's cluster listener
	ackL := mustMutualTLS(t, f.agent, RoleMaster)     // agent's ack listener
	agentDial := mustMutualTLS(t, f.agent2, RoleMaster)
	tests := []struct {
		name       string
		server     *tls.Config
		client     *tls.Config
		wantServer string // "" = accepted
		wantClient string
	}{
		{"agent to ingest", ingest, agentDial, "", ""},
		{"master to agent ack listener", ackL, mustMutualTLS(t, f.master, RoleAgent), "", ""},
		{"master to cluster", cluster, mustMutualTLS(t, f.master, RoleMaster), "", ""},
		{"either role listener", mustMutualTLS(t, f.master, RoleAgent, RoleMaster), agentDial, "", ""},
		{"agent to cluster port", cluster, mustMutualTLS(t, f.agent, RoleMaster), `role "agent", this endpoint accepts only "master"`, "bad certificate"},
		{"agent to another agent's ack listener", ackL, mustMutualTLS(t, f.agent2, RoleAgent), `role "agent"`, "bad certificate"},
		{"dialer rejects server of wrong role", ingest, mustMutualTLS(t, f.agent, RoleAgent), "bad certificate", `role "master", this endpoint accepts only "agent"`},
		{"no client certificate", ingest, strangerConfig(t, configs.TLSFiles{}), "didn't provide a certificate", "certificate required"},
		{"self-signed client", ingest, strangerConfig(t, f.selfSigned), "unknown authority", "unknown certificate authority"},
		{"client from a foreign CA", cluster, strangerConfig(t, f.foreignCA), "unknown authority", "unknown certificate authority"},
		{"expired client", cluster, strangerConfig(t, f.expired), "expired", "expired certificate"},
		{"client without role", ingest, strangerConfig(t, f.noRole), "carries no role", "bad certificate"},
		{"dialer rejects foreign server", mustTLSServer(t, f.foreignCA), agentDial, "bad certificate", "not from our CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serr, cerr := handshake(t, tt.server, tt.client)
			t.Logf("server: %v; client: %v", serr, cerr)
			check := func(side string, err error, want string) {
				switch {
				case want == "" && err != nil:
					t.Errorf("%s: unexpected error %v", side, err)
				case want != "" && err == nil:
					t.Errorf("%s: accepted, want an error containing %q", side, want)
				case want != "" && !strings.Contains(err.Error(), want):
					t.Errorf("%s: error %v, want containing %q", side, err, want)
				}
			}
			check("server", serr, tt.wantServer)
			if tt.wantServer == "" || tt.wantClient != "" {
				check("client", cerr, tt.wantClient)
			}
		})
	}
}

// mustTLSServer is a plain TLS server presenting files' certificate and
// requiring any client certificate (a stranger's listener).
func mustTLSServer(t *testing.T, files configs.TLSFiles) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAnyClientCert, MinVersion: tls.VersionTLS13}
}

func TestVerifyPeerNoCertificate(t *testing.T) {
	if err := VerifyPeer(x509.NewCertPool(), nil, time.Now(), RoleAgent); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseCertsPEM(t *testing.T) {
	f := newFixture(t)
	ca, _ := os.ReadFile(filepath.Join(f.caDir, CACertFile))
	other, _ := os.ReadFile(filepath.Join(f.foreignCADir, CACertFile))
	key, _ := os.ReadFile(f.agent.Key)
	tests := []struct {
		name  string
		in    []byte
		count int
		want  string
	}{
		{"one", ca, 1, ""},
		{"two for rotation", append(append([]byte{}, ca...), other...), 2, ""},
		{"empty", nil, 0, "no PEM CERTIFICATE"},
		{"key block", key, 0, `"PRIVATE KEY", want CERTIFICATE`},
		{"trailing junk", append(append([]byte{}, ca...), "junk"...), 0, "unparsable data after 1"},
		{"bad der", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}}), 0, "PEM block 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := parseCertsPEM(tt.in)
			if tt.want == "" {
				if err != nil || len(certs) != tt.count {
					t.Fatalf("got %d certs, err %v; want %d", len(certs), err, tt.count)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
}
