package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParsePublicKey(f *testing.F) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, s := range []string{EncodePublicKey(pub), "", " ", "AAAA", "====", "\x00", EncodePublicKey(pub) + "=", strings.Repeat("A", 44)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParsePublicKey(s)
		if err != nil {
			return
		}
		if len(k) != ed25519.PublicKeySize {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
		if got := EncodePublicKey(k); got != strings.TrimSpace(s) {
			t.Fatalf("round trip %q -> %q", s, got)
		}
	})
}

func FuzzParseAgentKey(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	good := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der[:len(der)-1]}))
	f.Add(append(good, good...))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseAgentKey(b)
		if err != nil {
			return
		}
		if len(k) != ed25519.PrivateKeySize {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
		msg := []byte("x")
		if !ed25519.Verify(k.Public().(ed25519.PublicKey), msg, ed25519.Sign(k, msg)) {
			t.Fatal("accepted key does not sign")
		}
	})
}

func FuzzParseCertsPEM(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "ca")
	certPath, _, err := InitCA(dir, "fuzz CA", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	ca, _ := os.ReadFile(certPath)
	f.Add(ca)
	f.Add(append(append([]byte{}, ca...), ca...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := parseCertsPEM(b)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}

func FuzzRedact(f *testing.F) {
	f.Add("password=hunter2&x=1", "hunter2", "")
	f.Add("aaaa", "aa", "a")
	f.Add("abcabc", "bca", "abc")
	f.Fuzz(func(t *testing.T, s, sec1, sec2 string) {
		out := Redact(s, sec1, sec2)
		for _, sec := range []string{sec1, sec2} {
			// A secret sharing characters with "<secret>" could be
			// formed across a replacement's edge; others never remain.
			if sec == "" || strings.ContainsAny(sec, Redacted) {
				continue
			}
			if strings.Contains(out, sec) {
				t.Fatalf("Redact(%q, %q, %q) = %q still contains %q", s, sec1, sec2, out, sec)
			}
		}
		if sec1 == "" && sec2 == "" && out != s {
			t.Fatalf("no secrets but output changed: %q -> %q", s, out)
		}
	})
}
