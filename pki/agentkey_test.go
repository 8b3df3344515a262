package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateAndLoadAgentKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "agent.key")
	pub, err := GenerateAgentKey(path)
	if err != nil {
		t.Fatalf("GenerateAgentKey: %v", err)
	}
	assertMode(t, path, 0o600)
	b, _ := os.ReadFile(path)
	if block, _ := pem.Decode(b); block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("file is not a PEM PRIVATE KEY:\n%s", b)
	}
	priv, err := LoadAgentKey(path)
	if err != nil {
		t.Fatalf("LoadAgentKey: %v", err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("loaded key does not match the returned public key")
	}
	msg := []byte("report")
	if !ed25519.Verify(pub, msg, ed25519.Sign(priv, msg)) {
		t.Fatal("signature does not verify")
	}

	// Refuses to overwrite, and leaves the file as it was.
	if _, err := GenerateAgentKey(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second GenerateAgentKey err = %v, want ErrExist", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
		t.Fatal("key file changed")
	}
}

func TestLoadOrCreateAgentKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.key")
	k1, created, err := LoadOrCreateAgentKey(path)
	if err != nil || !created {
		t.Fatalf("first call: created=%v err=%v, want created", created, err)
	}
	assertMode(t, path, 0o600)
	k2, created, err := LoadOrCreateAgentKey(path)
	if err != nil || created {
		t.Fatalf("second call: created=%v err=%v, want loaded", created, err)
	}
	if !k1.Equal(k2) {
		t.Fatal("second call returned a different key")
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateAgentKey(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("corrupt key: err = %v, want an error naming %s", err, bad)
	}
	if b, _ := os.ReadFile(bad); string(b) != "garbage" {
		t.Fatal("corrupt key file was replaced")
	}
}

func TestLoadAgentKeyErrors(t *testing.T) {
	dir := t.TempDir()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edPriv)
	tests := []struct {
		name    string
		content []byte // nil: file missing
		want    string
	}{
		{"missing", nil, "no such file"},
		{"empty", []byte{}, "no PEM block"},
		{"not pem", []byte("hello"), "no PEM block"},
		{"wrong block type", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), `"EC PRIVATE KEY", want PRIVATE KEY`},
		{"ecdsa key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), "want ed25519"},
		{"bad der", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "parse PKCS#8"},
		{"trailing data", append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER}), "junk"...), "after the PEM block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".key")
			if tt.content != nil {
				if err := os.WriteFile(path, tt.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadAgentKey(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want naming %s and containing %q", err, path, tt.want)
			}
		})
	}
}

// TestLoadAgentKeyWarnsOnOpenPerms swaps the default logger: not parallel.
func TestLoadAgentKeyWarnsOnOpenPerms(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	path := filepath.Join(t.TempDir(), "agent.key")
	if _, err := GenerateAgentKey(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAgentKey(path); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("warning for a 0600 key: %s", buf.String())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAgentKey(path); err != nil {
		t.Fatalf("a too-open key must still load: %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, path) || !strings.Contains(out, "0644") {
		t.Fatalf("log = %q, want a WARN naming the file and mode 0644", out)
	}
}

func TestCheckKeyPerms(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o666, false},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, "k")
		_ = os.Remove(path)
		if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckKeyPerms(path)
		if (err == nil) != tt.ok {
			t.Errorf("mode %#o: err = %v, want ok=%v", tt.mode, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	}
	if err := CheckKeyPerms(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	enc := EncodePublicKey(pub)
	if len(enc) != 44 {
		t.Errorf("encoded length %d, want 44", len(enc))
	}
	got, err := ParsePublicKey("  " + enc + "\n")
	if err != nil || !got.Equal(pub) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty"},
		{"spaces", "   ", "empty"},
		{"not base64", "!!!!", "not valid standard base64"},
		{"url alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff}, 16))), "not valid standard base64"},
		{"short", base64.StdEncoding.EncodeToString(make([]byte, 31)), "31 bytes, want 32"},
		{"long", base64.StdEncoding.EncodeToString(make([]byte, 64)), "64 bytes, want 32"},
		{"unpadded", strings.TrimRight(enc, "="), "not valid standard base64"},
		{"line break inside", enc[:20] + "\r" + enc[20:], "line break at byte 20"},
		{"newline inside", enc[:5] + "\n" + enc[5:], "line break at byte 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePublicKey(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParsePublicKey(%q) err = %v, want containing %q", tt.in, err, tt.want)
			}
		})
	}
}
