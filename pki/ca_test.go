package pki

import (
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// mustCA creates a CA in a fresh temp dir and returns the dir.
func mustCA(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ca")
	if _, _, err := InitCA(dir, "Test CA", 24*time.Hour); err != nil {
		t.Fatalf("InitCA: %v", err)
	}
	return dir
}

func mustReadCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, err := readCertsPEM(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(certs) != 1 {
		t.Fatalf("%s holds %d certificates, want 1", path, len(certs))
	}
	return certs[0]
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %#o, want %#o", path, got, want)
	}
}

func TestInitCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "ca")
	before := time.Now()
	certPath, keyPath, err := InitCA(dir, "Lookout Test CA", 48*time.Hour)
	if err != nil {
		t.Fatalf("InitCA: %v", err)
	}
	if certPath != filepath.Join(dir, CACertFile) || keyPath != filepath.Join(dir, CAKeyFile) {
		t.Errorf("paths = %s, %s", certPath, keyPath)
	}
	assertMode(t, keyPath, 0o600)
	assertMode(t, certPath, 0o644)
	assertMode(t, dir, 0o700)

	c := mustReadCert(t, certPath)
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("CA constraints: IsCA=%v valid=%v maxPathLen=%d zero=%v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA lacks KeyUsageCertSign: %v", c.KeyUsage)
	}
	if c.Subject.CommonName != "Lookout Test CA" {
		t.Errorf("CN = %q", c.Subject.CommonName)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("CA is not self-signed: %v", err)
	}
	if d := c.NotAfter.Sub(before); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("NotAfter is %v after now, want ~48h", d)
	}
	if _, _, err := loadCA(dir); err != nil {
		t.Errorf("loadCA: %v", err)
	}
	if _, ok := c.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("CA key is %T, want ECDSA", c.PublicKey)
	}
}

func TestInitCARefusesOverwrite(t *testing.T) {
	dir := mustCA(t)
	keyBefore, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	_, _, err := InitCA(dir, "again", time.Hour)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("second InitCA err = %v, want refusing to overwrite (ErrExist)", err)
	}
	keyAfter, _ := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if string(keyBefore) != string(keyAfter) {
		t.Fatal("CA key changed")
	}

	// Only the key left over (a half-removed CA) must be refused too.
	dir2 := mustCA(t)
	if err := os.Remove(filepath.Join(dir2, CACertFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := InitCA(dir2, "again", time.Hour); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("InitCA over a leftover key: err = %v, want ErrExist", err)
	}
}

func TestInitCAErrors(t *testing.T) {
	tests := []struct {
		name, caName, want string
		validFor           time.Duration
	}{
		{"empty name", " ", "empty CA name", time.Hour},
		{"zero validity", "ca", "must be positive", 0},
		{"negative validity", "ca", "must be positive", -time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, _, err := InitCA(dir, tt.caName, tt.validFor)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("files left behind: %v", entries)
			}
		})
	}
}

func TestIssueCert(t *testing.T) {
	caDir := mustCA(t)
	ca := mustReadCert(t, filepath.Join(caDir, CACertFile))
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	tests := []struct {
		name     string
		role     Role
		certName string
		hosts    []string
		wantIPs  []string
		wantDNS  []string
	}{
		{"agent no hosts", RoleAgent, "web1", nil, nil, nil},
		{"master ip and dns", RoleMaster, "m1.example", []string{"10.0.0.1", "m1.example.org", " ", "::1"}, []string{"10.0.0.1", "::1"}, []string{"m1.example.org"}},
		{"wildcard dns", RoleMaster, "m_2", []string{"*.lan"}, nil, []string{"*.lan"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "certs")
			certPath, keyPath, err := IssueCert(caDir, tt.role, tt.certName, tt.hosts, out)
			if err != nil {
				t.Fatalf("IssueCert: %v", err)
			}
			if certPath != filepath.Join(out, tt.certName+".crt") || keyPath != filepath.Join(out, tt.certName+".key") {
				t.Errorf("paths = %s, %s", certPath, keyPath)
			}
			assertMode(t, keyPath, 0o600)
			assertMode(t, certPath, 0o644)
			c := mustReadCert(t, certPath)
			if c.Subject.CommonName != tt.certName {
				t.Errorf("CN = %q, want %q", c.Subject.CommonName, tt.certName)
			}
			if role, err := CertRole(c); err != nil || role != tt.role {
				t.Errorf("CertRole = %q, %v; want %q", role, err, tt.role)
			}
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			for _, eku := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if !slices.Contains(c.ExtKeyUsage, eku) {
					t.Errorf("ExtKeyUsage %v lacks %v", c.ExtKeyUsage, eku)
				}
				if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{eku}}); err != nil {
					t.Errorf("verify for %v: %v", eku, err)
				}
			}
			var ips []string
			for _, ip := range c.IPAddresses {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IP SANs = %v, want %v", ips, tt.wantIPs)
			}
			if !slices.Equal(c.DNSNames, tt.wantDNS) {
				t.Errorf("DNS SANs = %v, want %v", c.DNSNames, tt.wantDNS)
			}
			if c.NotAfter.After(ca.NotAfter) {
				t.Errorf("leaf NotAfter %v is after the CA's %v", c.NotAfter, ca.NotAfter)
			}
			if _, err := MutualTLS(tlsFiles(caDir, certPath, keyPath), RoleAgent); err != nil {
				t.Errorf("issued pair does not load: %v", err)
			}
		})
	}
}

func TestIssueCertValidityCappedByLongCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	if _, _, err := InitCA(dir, "long CA", 10*CertValidity); err != nil {
		t.Fatal(err)
	}
	certPath, _, err := IssueCert(dir, RoleAgent, "a", nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := mustReadCert(t, certPath)
	if d := time.Until(c.NotAfter); d > CertValidity || d < CertValidity-time.Hour {
		t.Errorf("leaf valid for %v, want ~%v", d, CertValidity)
	}
}

func TestIssueCertErrors(t *testing.T) {
	caDir := mustCA(t)
	otherDir := t.TempDir()
	existing := t.TempDir()
	if _, _, err := IssueCert(caDir, RoleAgent, "taken", nil, existing); err != nil {
		t.Fatal(err)
	}
	// A CA dir whose key does not match its certificate.
	mixed := t.TempDir()
	ca2 := mustCA(t)
	copyFile(t, filepath.Join(caDir, CACertFile), filepath.Join(mixed, CACertFile))
	copyFile(t, filepath.Join(ca2, CAKeyFile), filepath.Join(mixed, CAKeyFile))
	// A "CA" that is a leaf certificate.
	leafCA := t.TempDir()
	lc, lk, err := IssueCert(caDir, RoleMaster, "notca", nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, lc, filepath.Join(leafCA, CACertFile))
	copyFile(t, lk, filepath.Join(leafCA, CAKeyFile))

	tests := []struct {
		name     string
		caDir    string
		role     Role
		certName string
		hosts    []string
		outDir   string
		want     string
	}{
		{"unknown role", caDir, Role("admin"), "x", nil, otherDir, `unknown role "admin"`},
		{"empty role", caDir, "", "x", nil, otherDir, "unknown role"},
		{"empty name", caDir, RoleAgent, "", nil, otherDir, "empty name"},
		{"path in name", caDir, RoleAgent, "../evil", nil, otherDir, "must not start"},
		{"slash in name", caDir, RoleAgent, "a/b", nil, otherDir, `contains '/'`},
		{"bad host", caDir, RoleAgent, "x", []string{"not a host!"}, otherDir, `host "not a host!"`},
		{"missing CA", filepath.Join(otherDir, "nope"), RoleAgent, "x", nil, otherDir, "ca.crt"},
		{"key mismatch", mixed, RoleAgent, "x", nil, otherDir, "does not match"},
		{"leaf as CA", leafCA, RoleAgent, "x", nil, otherDir, "is not a CA"},
		{"existing cert", caDir, RoleAgent, "taken", nil, existing, "refusing to overwrite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := IssueCert(tt.caDir, tt.role, tt.certName, tt.hosts, tt.outDir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(otherDir); len(entries) != 0 {
		t.Errorf("failed issues left files: %v", entries)
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"agent", RoleAgent, false},
		{" Master ", RoleMaster, false},
		{"root", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := ParseRole(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseRole(%q) = %q, %v; want %q, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRequireLoopback(t *testing.T) {
	tests := []struct {
		addrs []string
		bad   []string
	}{
		{[]string{"127.0.0.1:7470", "127.9.9.9:1", "[::1]:7470", "localhost:80", "::1"}, nil},
		{[]string{"127.0.0.1:1", "0.0.0.0:7470"}, []string{"0.0.0.0:7470"}},
		{[]string{"192.168.1.5:7470", "example.org:1", "[::]:1"}, []string{"192.168.1.5:7470", "example.org:1", "[::]:1"}},
	}
	for _, tt := range tests {
		err := RequireLoopback(tt.addrs...)
		if (err != nil) != (len(tt.bad) > 0) {
			t.Errorf("RequireLoopback(%q) = %v, want bad %q", tt.addrs, err, tt.bad)
			continue
		}
		for _, b := range tt.bad {
			if !strings.Contains(err.Error(), `"`+b+`"`) {
				t.Errorf("error %q does not name %q", err, b)
			}
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReadCertInfo(t *testing.T) {
	caDir := mustCA(t)
	certPath, _, err := IssueCert(caDir, RoleMaster, "m1", []string{"m1.lan", "10.1.2.3"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want CertInfo
	}{
		{filepath.Join(caDir, CACertFile), CertInfo{Name: "Test CA", IsCA: true}},
		{certPath, CertInfo{Name: "m1", Role: RoleMaster, Hosts: []string{"m1.lan", "10.1.2.3"}}},
	}
	for _, tt := range tests {
		got, err := ReadCertInfo(tt.path)
		if err != nil {
			t.Fatalf("ReadCertInfo(%s): %v", tt.path, err)
		}
		if got.Name != tt.want.Name || got.Role != tt.want.Role || got.IsCA != tt.want.IsCA || !slices.Equal(got.Hosts, tt.want.Hosts) {
			t.Errorf("ReadCertInfo(%s) = %+v, want %+v", tt.path, got, tt.want)
		}
		if d := time.Until(got.NotAfter); d <= 0 || d > 24*time.Hour {
			t.Errorf("NotAfter in %v, want within the CA's 24h", d)
		}
	}
	if _, err := ReadCertInfo(filepath.Join(caDir, CAKeyFile)); err == nil || !strings.Contains(err.Error(), CAKeyFile) {
		t.Errorf("key file as certificate: err = %v, want naming %s", err, CAKeyFile)
	}
}
