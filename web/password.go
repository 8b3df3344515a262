package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters used by HashPassword (64 MiB, 3 passes, 2 lanes).
const (
	argonMemory  = 64 * 1024
	argonTime    = 3
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Limits on argon2id parameters accepted from a configured hash, so a typo
// in the config cannot make every login allocate gigabytes.
const (
	maxArgonMemory = 1024 * 1024 // KiB (1 GiB)
	maxArgonTime   = 64
)

// argonParams is one parsed argon2id PHC string.
type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// HashPassword hashes pw with argon2id and returns it in PHC string format:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (unpadded standard base64).
func HashPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("hash password: empty password")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read random salt: %w", err)
	}
	return encodeArgon(argonParams{memory: argonMemory, time: argonTime, threads: argonThreads, salt: salt,
		key: argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)}), nil
}

func encodeArgon(p argonParams) string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		enc.EncodeToString(p.salt), enc.EncodeToString(p.key))
}

func parseArgon(hash string) (argonParams, error) {
	var p argonParams
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, errors.New("argon2id hash: want $argon2id$v=19$m=M,t=T,p=P$salt$hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, fmt.Errorf("argon2id hash: unsupported version %q (want v=%d)", parts[2], argon2.Version)
	}
	var m, t uint32
	var th uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil {
		return p, fmt.Errorf("argon2id hash: bad parameters %q: %w", parts[3], err)
	}
	if m < 8 || m > maxArgonMemory || t < 1 || t > maxArgonTime || th < 1 {
		return p, fmt.Errorf("argon2id hash: parameters %q out of range (m 8..%d KiB, t 1..%d, p >= 1)", parts[3], maxArgonMemory, maxArgonTime)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, errors.New("argon2id hash: bad salt (want unpadded base64 of at least 8 bytes)")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return p, errors.New("argon2id hash: bad hash (want unpadded base64 of 16..128 bytes)")
	}
	return argonParams{memory: m, time: t, threads: th, salt: salt, key: key}, nil
}

// hashKind classifies a configured hash: "argon2id", "bcrypt", or "" for
// anything else (plaintext, unknown scheme).
func hashKind(hash string) string {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return "argon2id"
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		return "bcrypt"
	}
	return ""
}

// checkHash validates a configured hash without a password.
func checkHash(hash string) error {
	switch hashKind(hash) {
	case "argon2id":
		_, err := parseArgon(hash)
		return err
	case "bcrypt":
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("bcrypt hash: %w", err)
		}
		return nil
	}
	return errors.New("not a bcrypt ($2a$/$2b$/$2y$) or argon2id ($argon2id$v=19$...) hash; plaintext passwords are refused (make one with `lookout hash-password`)")
}

// VerifyPassword reports whether pw matches hash, an argon2id PHC string or
// a bcrypt hash. The comparison is constant-time. A malformed hash is an
// error; a wrong password is (false, nil).
func VerifyPassword(hash, pw string) (bool, error) {
	switch hashKind(hash) {
	case "argon2id":
		p, err := parseArgon(hash)
		if err != nil {
			return false, err
		}
		key := argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		return subtle.ConstantTimeCompare(key, p.key) == 1, nil
	case "bcrypt":
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("bcrypt hash: %w", err)
		}
		return true, nil
	}
	return false, errors.New("verify password: unsupported hash scheme")
}

// dummyHash returns a hash of a random password made with the same scheme
// and cost as like, so that a login for an unknown user costs as much as a
// wrong password for a known one.
func dummyHash(like string) (string, error) {
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		return "", fmt.Errorf("dummy hash: %w", err)
	}
	switch hashKind(like) {
	case "bcrypt":
		cost, err := bcrypt.Cost([]byte(like))
		if err != nil {
			return "", fmt.Errorf("dummy hash: %w", err)
		}
		h, err := bcrypt.GenerateFromPassword(pw, cost)
		if err != nil {
			return "", fmt.Errorf("dummy hash: %w", err)
		}
		return string(h), nil
	case "argon2id":
		p, err := parseArgon(like)
		if err != nil {
			return "", err
		}
		p.key = argon2.IDKey(pw, p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
		return encodeArgon(p), nil
	}
	return HashPassword(string(pw))
}
