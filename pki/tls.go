package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/configs"
)

// MutualTLS builds the one tls.Config a hollywood remote engine uses both to
// listen and to dial (hollywood v1.0.5 takes a single config for both):
//
//   - Certificates: our own certificate and key from files.Cert/files.Key.
//   - ClientAuth RequireAndVerifyClientCert with ClientCAs = the CA pool from
//     files.CA: a peer dialing in without a certificate from our CA fails
//     the handshake, before hollywood parses any envelope (a malformed
//     envelope panics the receiving process, see the package comment).
//   - RootCAs = the same pool; MinVersion TLS 1.3.
//   - InsecureSkipVerify = true, ONLY together with VerifyConnection, which
//     verifies the peer's chain against our CA pool itself. The reason:
//     hollywood dials the peer's "ip:port" as written in a PID, and the
//     standard client check would demand that IP as a SAN in the peer's
//     certificate, tying certificates to addresses that change (DHCP,
//     NAT, containers). Identity here is "holds a certificate from our
//     private CA with the right role", not a host name; agent identity is
//     further proven by ed25519-signed reports.
//   - VerifyConnection also checks the peer's role (certificate OU) is one
//     of wantPeerRoles, on both sides of every connection, including
//     resumed sessions.
//
// Because one config serves both directions, wantPeerRoles is both who may
// connect to us and whom we accept when we dial out. The listeners:
//
//   - master's agent ingest engine: RoleAgent (agents dial in; the master
//     dials agents' ack listeners);
//   - agent's ack engine: RoleMaster (masters dial in with acks; the agent
//     dials masters' ingest ports);
//   - master's cluster engine: RoleMaster only (agents are kept off it:
//     hollywood's cluster membership panics on events from non-members).
//
// The CA file may hold several CA certificates (during a CA rotation).
// MutualTLS fails with an error naming the file when a file is missing or
// unparsable, when our own certificate does not chain to the CA, is expired,
// or carries no role.
func MutualTLS(files configs.TLSFiles, wantPeerRoles ...Role) (*tls.Config, error) {
	var errs []error
	if files.CA == "" {
		errs = append(errs, errors.New("tls.ca (CA certificate file) is not set"))
	}
	if files.Cert == "" {
		errs = append(errs, errors.New("tls.cert (certificate file) is not set"))
	}
	if files.Key == "" {
		errs = append(errs, errors.New("tls.key (private key file) is not set"))
	}
	if len(wantPeerRoles) == 0 {
		errs = append(errs, errors.New("no peer role given"))
	}
	for _, r := range wantPeerRoles {
		if !r.Valid() {
			errs = append(errs, fmt.Errorf("unknown peer role %q", r))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("pki: mutual TLS: %w", errors.Join(errs...))
	}

	cas, err := readCertsPEM(files.CA)
	if err != nil {
		return nil, fmt.Errorf("pki: mutual TLS: CA: %w", err)
	}
	pool := x509.NewCertPool()
	for i, c := range cas {
		if !c.IsCA {
			return nil, fmt.Errorf("pki: mutual TLS: CA file %s: certificate %d (%q) is not a CA", files.CA, i+1, c.Subject.CommonName)
		}
		pool.AddCert(c)
	}

	warnOpenPerms(files.Key)
	pair, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: mutual TLS: load certificate %s with key %s: %w", files.Cert, files.Key, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("pki: mutual TLS: parse certificate %s: %w", files.Cert, err)
		}
		pair.Leaf = leaf
	}
	if err := verifyChain(pool, leaf, pair.Certificate[1:], time.Now()); err != nil {
		return nil, fmt.Errorf("pki: mutual TLS: own certificate %s does not verify against CA %s: %w", files.Cert, files.CA, err)
	}
	if _, err := CertRole(leaf); err != nil {
		return nil, fmt.Errorf("pki: mutual TLS: own certificate %s: %w", files.Cert, err)
	}

	roles := slices.Clone(wantPeerRoles)
	return &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		RootCAs:      pool,
		MinVersion:   tls.VersionTLS13,
		// See the doc comment: the chain is verified by VerifyConnection
		// against our own CA; only the host name check is skipped.
		InsecureSkipVerify: true, //nolint:gosec // replaced by VerifyConnection below.
		VerifyConnection: func(cs tls.ConnectionState) error {
			err := VerifyPeer(pool, cs.PeerCertificates, time.Now(), roles...)
			if err != nil {
				slog.Warn("pki: rejected TLS peer", "server_name", cs.ServerName, "err", err)
			}
			return err
		},
	}, nil
}

// VerifyPeer checks a peer's certificate chain (leaf first, as in
// tls.ConnectionState.PeerCertificates) against pool at time now (any
// extended key usage), and that the leaf carries one of wantRoles.
func VerifyPeer(pool *x509.CertPool, chain []*x509.Certificate, now time.Time, wantRoles ...Role) error {
	if len(chain) == 0 {
		return errors.New("pki: peer presented no certificate")
	}
	leaf := chain[0]
	var rest [][]byte
	for _, c := range chain[1:] {
		rest = append(rest, c.Raw)
	}
	if err := verifyChain(pool, leaf, rest, now); err != nil {
		return fmt.Errorf("pki: peer certificate %q is not from our CA: %w", leaf.Subject.CommonName, err)
	}
	role, err := CertRole(leaf)
	if err != nil {
		return fmt.Errorf("pki: peer %w", err)
	}
	if !slices.Contains(wantRoles, role) {
		return fmt.Errorf("pki: peer %q has role %q, this endpoint accepts only %s", leaf.Subject.CommonName, role, rolesString(wantRoles))
	}
	return nil
}

func verifyChain(pool *x509.CertPool, leaf *x509.Certificate, intermediatesDER [][]byte, now time.Time) error {
	inter := x509.NewCertPool()
	for _, der := range intermediatesDER {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("parse intermediate certificate: %w", err)
		}
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

func rolesString(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmt.Sprintf("%q", r)
	}
	return strings.Join(s, " or ")
}

// RequireLoopback returns an error unless every address ("host:port" or a
// bare host) is on a loopback interface: a literal loopback IP or
// "localhost". Plaintext remote traffic (insecure_loopback) is allowed only
// then; the error names each offending address.
func RequireLoopback(addrs ...string) error {
	var errs []error
	for _, a := range addrs {
		host := a
		if h, _, err := net.SplitHostPort(a); err == nil {
			host = h
		}
		if strings.EqualFold(host, "localhost") {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			errs = append(errs, fmt.Errorf("address %q is not a loopback address: plaintext (insecure_loopback) is allowed only on 127.0.0.0/8, ::1 or localhost; configure tls instead", a))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("pki: %w", errors.Join(errs...))
	}
	return nil
}
