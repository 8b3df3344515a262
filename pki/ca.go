// Package pki owns Lookout's security material: the private certificate
// authority and the certificates it issues for mutual TLS between engines,
// the agents' ed25519 report-signing keys, the one tls.Config shape used by
// every hollywood remote listener and dialer, and a helper that redacts
// secrets from text before it is logged.
//
// Why mutual TLS everywhere: hollywood v1.0.5 panics the receiving process
// on a malformed envelope from any TCP peer (unchecked index in
// remote/stream_reader.go), so a remote listener must not let a stranger
// finish a connection. Every listener therefore requires a client
// certificate from our CA carrying the expected role, and rejects everything
// else during the TLS handshake, before hollywood reads a byte.
//
// Files: a CA directory holds ca.crt (0644) and ca.key (0600). Issued
// certificates are <name>.crt (0644) and <name>.key (0600). Nothing in this
// package overwrites an existing key or certificate: delete it first to
// replace it.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Role is what a certificate's holder is allowed to be on the network. It is
// stored in the certificate's Subject OrganizationalUnit.
type Role string

// Roles of certificate holders.
const (
	// RoleAgent is an agent: it dials masters' ingest ports and listens for
	// their acks.
	RoleAgent Role = "agent"
	// RoleMaster is a master: it listens for agents, dials agents' ack
	// listeners and talks to other masters on the cluster port.
	RoleMaster Role = "master"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleMaster }

// String implements fmt.Stringer.
func (r Role) String() string { return string(r) }

// ParseRole parses "agent" or "master".
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", fmt.Errorf("pki: unknown role %q (want %q or %q)", s, RoleAgent, RoleMaster)
	}
	return r, nil
}

// File names inside a CA directory.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// CertValidity is how long an issued certificate is valid, capped at the
// CA's own expiry.
const CertValidity = 2 * 365 * 24 * time.Hour

// clockSkew backdates NotBefore so peers with slightly slow clocks accept a
// freshly issued certificate.
const clockSkew = 5 * time.Minute

// File modes.
const (
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
	dirMode  fs.FileMode = 0o700
)

// InitCA creates a self-signed ECDSA P-256 certificate authority named name
// in dir (created 0700 if missing), valid for validFor, and returns the
// paths of its certificate and key (mode 0600). It refuses to overwrite an
// existing CA: either file already present is an error.
func InitCA(dir string, name string, validFor time.Duration) (certPath, keyPath string, err error) {
	if strings.TrimSpace(name) == "" {
		return "", "", errors.New("pki: init CA: empty CA name")
	}
	if validFor <= 0 {
		return "", "", fmt.Errorf("pki: init CA: validity %v must be positive", validFor)
	}
	certPath = filepath.Join(dir, CACertFile)
	keyPath = filepath.Join(dir, CAKeyFile)
	if err := refuseExisting("init CA", certPath, keyPath); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", "", fmt.Errorf("pki: init CA: create directory %s: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("pki: init CA: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return "", "", fmt.Errorf("pki: init CA: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Lookout"}},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", "", fmt.Errorf("pki: init CA: create certificate: %w", err)
	}
	if err := writeKeyAndCert(keyPath, key, certPath, der); err != nil {
		return "", "", fmt.Errorf("pki: init CA: %w", err)
	}
	return certPath, keyPath, nil
}

// IssueCert issues a certificate for name with the given role, signed by
// the CA in caDir, and writes <name>.crt and <name>.key (0600) into outDir
// (created 0700 if missing). The subject is CN=name, OU=role. hosts become
// IP or DNS subject alternative names (informational: peers check the chain
// and the role, not the host name; see MutualTLS). The certificate allows
// both server and client authentication because hollywood uses one
// tls.Config to listen and to dial. It refuses to overwrite existing files.
func IssueCert(caDir string, role Role, name string, hosts []string, outDir string) (certPath, keyPath string, err error) {
	if !role.Valid() {
		return "", "", fmt.Errorf("pki: issue cert: unknown role %q (want %q or %q)", role, RoleAgent, RoleMaster)
	}
	if err := validFileName(name); err != nil {
		return "", "", fmt.Errorf("pki: issue cert: %w", err)
	}
	certPath = filepath.Join(outDir, name+".crt")
	keyPath = filepath.Join(outDir, name+".key")
	if err := refuseExisting("issue cert", certPath, keyPath); err != nil {
		return "", "", err
	}
	caCert, caKey, err := loadCA(caDir)
	if err != nil {
		return "", "", fmt.Errorf("pki: issue cert: %w", err)
	}
	var (
		ips []net.IP
		dns []string
	)
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		switch {
		case h == "":
			continue
		case net.ParseIP(h) != nil:
			ips = append(ips, net.ParseIP(h))
		case validDNSName(h):
			dns = append(dns, h)
		default:
			return "", "", fmt.Errorf("pki: issue cert: host %q is neither an IP address nor a DNS name", h)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("pki: issue cert: generate key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return "", "", fmt.Errorf("pki: issue cert: %w", err)
	}
	now := time.Now()
	notAfter := now.Add(CertValidity)
	if notAfter.After(caCert.NotAfter) {
		notAfter = caCert.NotAfter
	}
	if !notAfter.After(now) {
		return "", "", fmt.Errorf("pki: issue cert: CA %s expired on %s", filepath.Join(caDir, CACertFile), caCert.NotAfter.Format(time.RFC3339))
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         name,
			Organization:       []string{"Lookout"},
			OrganizationalUnit: []string{string(role)},
		},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return "", "", fmt.Errorf("pki: issue cert: sign certificate for %q: %w", name, err)
	}
	if err := os.MkdirAll(outDir, dirMode); err != nil {
		return "", "", fmt.Errorf("pki: issue cert: create directory %s: %w", outDir, err)
	}
	if err := writeKeyAndCert(keyPath, key, certPath, der); err != nil {
		return "", "", fmt.Errorf("pki: issue cert: %w", err)
	}
	return certPath, keyPath, nil
}

// CertRole returns the role stored in cert's OrganizationalUnit. A
// certificate must carry exactly one known role.
func CertRole(cert *x509.Certificate) (Role, error) {
	var found []Role
	for _, ou := range cert.Subject.OrganizationalUnit {
		if r := Role(ou); r.Valid() {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("certificate %q carries no role (OU %q, want %q or %q)",
			cert.Subject.CommonName, cert.Subject.OrganizationalUnit, RoleAgent, RoleMaster)
	case 1:
		return found[0], nil
	default:
		return "", fmt.Errorf("certificate %q carries several roles %q", cert.Subject.CommonName, found)
	}
}

// loadCA reads and checks the CA certificate and key in dir.
func loadCA(dir string) (*x509.Certificate, crypto.Signer, error) {
	certPath := filepath.Join(dir, CACertFile)
	keyPath := filepath.Join(dir, CAKeyFile)
	certs, err := readCertsPEM(certPath)
	if err != nil {
		return nil, nil, err
	}
	if len(certs) != 1 {
		return nil, nil, fmt.Errorf("CA certificate %s holds %d certificates, want 1", certPath, len(certs))
	}
	caCert := certs[0]
	if !caCert.IsCA {
		return nil, nil, fmt.Errorf("certificate %s is not a CA", certPath)
	}
	warnOpenPerms(keyPath)
	b, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", err)
	}
	key, err := parsePKCS8PEM(b)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key %s: %w", keyPath, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("CA key %s: %T cannot sign", keyPath, key)
	}
	if !publicKeysEqual(signer.Public(), caCert.PublicKey) {
		return nil, nil, fmt.Errorf("CA key %s does not match CA certificate %s", keyPath, certPath)
	}
	return caCert, signer, nil
}

// readCertsPEM reads every CERTIFICATE block of a PEM file.
func readCertsPEM(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read certificate: %w", err)
	}
	certs, err := parseCertsPEM(b)
	if err != nil {
		return nil, fmt.Errorf("certificate file %s: %w", path, err)
	}
	return certs, nil
}

// parseCertsPEM parses every CERTIFICATE block in b. Other block types and
// text between blocks are errors, and at least one certificate is required.
func parseCertsPEM(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := b
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE", len(certs)+1, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("unparsable data after %d PEM certificate(s)", len(certs))
	}
	return certs, nil
}

// parsePKCS8PEM parses exactly one "PRIVATE KEY" PEM block.
func parsePKCS8PEM(b []byte) (any, error) {
	block, rest := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block is %q, want PRIVATE KEY (PKCS#8)", block.Type)
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, errors.New("unexpected data after the PEM block")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8 key: %w", err)
	}
	return key, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// writeKeyAndCert writes the key (0600) then the certificate (0644), both
// exclusively; if the certificate cannot be written the key is removed.
func writeKeyAndCert(keyPath string, key crypto.PrivateKey, certPath string, der []byte) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	if err := writeExclusive(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), keyMode); err != nil {
		return err
	}
	if err := writeExclusive(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), certMode); err != nil {
		_ = os.Remove(keyPath)
		return err
	}
	return nil
}

// writeExclusive creates path with mode, failing if it exists. A partial
// file is removed on error.
func writeExclusive(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("refusing to overwrite existing %s: %w", path, err)
		}
		return fmt.Errorf("create %s: %w", path, err)
	}
	// The umask may have narrowed the mode; make it exact.
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// refuseExisting fails if any of paths exists (or cannot be checked).
func refuseExisting(op string, paths ...string) error {
	for _, p := range paths {
		_, err := os.Lstat(p)
		switch {
		case err == nil:
			return fmt.Errorf("pki: %s: refusing to overwrite existing %s (remove it first to replace it): %w", op, p, fs.ErrExist)
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("pki: %s: check %s: %w", op, p, err)
		}
	}
	return nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil // never zero
}

// validFileName accepts names safe to use as a file name: letters, digits,
// '.', '-', '_', not starting with '.', at most 128 bytes.
func validFileName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 128 {
		return fmt.Errorf("name %q is longer than 128 bytes", name)
	}
	if name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("name %q must not start with %q", name, name[0])
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("name %q contains %q (allowed: letters, digits, '.', '-', '_')", name, c)
		}
	}
	return nil
}

// validDNSName is a loose host name check: labels of letters, digits, '-'
// and '_', optionally a leading "*." wildcard.
func validDNSName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// CertInfo describes a certificate file, for `lookout cert` output and for
// the watchdog's expiry warning.
type CertInfo struct {
	Name     string    // subject common name
	Role     Role      // "" for a CA or a certificate without role
	IsCA     bool      // a CA certificate
	NotAfter time.Time // expiry
	Hosts    []string  // DNS and IP subject alternative names
}

// ReadCertInfo reads the first certificate of the PEM file at path.
func ReadCertInfo(path string) (CertInfo, error) {
	certs, err := readCertsPEM(path)
	if err != nil {
		return CertInfo{}, fmt.Errorf("pki: %w", err)
	}
	c := certs[0]
	info := CertInfo{Name: c.Subject.CommonName, IsCA: c.IsCA, NotAfter: c.NotAfter}
	if !c.IsCA {
		info.Role, _ = CertRole(c)
	}
	info.Hosts = append(info.Hosts, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		info.Hosts = append(info.Hosts, ip.String())
	}
	return info, nil
}
