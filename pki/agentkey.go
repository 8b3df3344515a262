package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// GenerateAgentKey creates an agent's ed25519 report-signing key at path as
// a PEM PKCS#8 "PRIVATE KEY" file with mode 0600 (its directory is created
// 0700 if missing) and returns the public key, which goes into the masters'
// `agents` list (see EncodePublicKey). It refuses to overwrite an existing
// file.
func GenerateAgentKey(path string) (ed25519.PublicKey, error) {
	if path == "" {
		return nil, errors.New("pki: generate agent key: empty path")
	}
	if err := refuseExisting("generate agent key", path); err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate agent key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("pki: generate agent key: encode: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, fmt.Errorf("pki: generate agent key: create directory %s: %w", dir, err)
		}
	}
	if err := writeExclusive(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), keyMode); err != nil {
		return nil, fmt.Errorf("pki: generate agent key: %w", err)
	}
	return pub, nil
}

// LoadAgentKey reads an agent's ed25519 private key written by
// GenerateAgentKey. Errors name the file. A file readable or writable by
// group or others still loads, with a warning naming the file and its mode.
func LoadAgentKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pki: read agent key: %w", err)
	}
	warnOpenPerms(path)
	key, err := ParseAgentKey(b)
	if err != nil {
		return nil, fmt.Errorf("pki: agent key %s: %w", path, err)
	}
	return key, nil
}

// ParseAgentKey parses the content of an agent key file: exactly one PEM
// PKCS#8 "PRIVATE KEY" block holding an ed25519 key.
func ParseAgentKey(b []byte) (ed25519.PrivateKey, error) {
	key, err := parsePKCS8PEM(b)
	if err != nil {
		return nil, err
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %s, want ed25519", keyKind(key))
	}
	return priv, nil
}

// LoadOrCreateAgentKey loads the agent key at path, creating it first when
// the file does not exist; created reports whether it did. Used by
// `lookout run`, which provisions its local agent on first start.
func LoadOrCreateAgentKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	_, statErr := os.Stat(path)
	switch {
	case statErr == nil:
		key, err = LoadAgentKey(path)
		return key, false, err
	case !errors.Is(statErr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("pki: agent key: %w", statErr)
	}
	_, err = GenerateAgentKey(path)
	switch {
	case err == nil:
		created = true
	case errors.Is(err, fs.ErrExist):
		// Another process created it between Stat and create: use theirs.
	default:
		return nil, false, err
	}
	key, err = LoadAgentKey(path)
	if err != nil {
		return nil, false, err
	}
	return key, created, nil
}

// EncodePublicKey returns pub as standard base64, the form used in the
// masters' `agents[].public_key` configuration.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey parses a base64 (standard alphabet, padded) ed25519 public
// key as written by EncodePublicKey. Surrounding white space is ignored.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("pki: public key is empty")
	}
	// The decoder skips line breaks anywhere in its input; a key is one
	// token, so one with a line break inside is refused, not reassembled.
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return nil, fmt.Errorf("pki: public key has a line break at byte %d", i)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("pki: public key is not valid standard base64: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("pki: public key is %d bytes, want %d (ed25519)", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// CheckKeyPerms reports an error when the private key file at path is
// accessible by group or others (anything but 0600 or stricter). The error
// names the file, its mode and the fix.
func CheckKeyPerms(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("pki: key file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("pki: key file %s has mode %#o, readable or writable by group/others (want 0600: chmod 600 %s)", path, perm, path)
	}
	return nil
}

// warnOpenPerms logs a warning when path is accessible by group or others.
func warnOpenPerms(path string) {
	if _, err := os.Stat(path); err != nil {
		return // the read that follows reports it
	}
	if err := CheckKeyPerms(path); err != nil {
		slog.Warn("pki: private key file permissions are too open", "file", path, "err", err)
	}
}

func keyKind(k any) string {
	switch k.(type) {
	case ed25519.PrivateKey:
		return "ed25519"
	default:
		return strings.TrimPrefix(fmt.Sprintf("%T", k), "*")
	}
}
