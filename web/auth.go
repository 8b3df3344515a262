package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"
)

// sessionCookie is the name of the session cookie.
const sessionCookie = "lookout_session"

// session is one logged-in browser.
type session struct {
	user    string
	expires time.Time
}

// sessionStore keeps sessions in memory: a restart logs everybody out, which
// is acceptable for a dashboard and keeps session ids off the disk.
type sessionStore struct {
	mu  sync.Mutex
	m   map[string]session
	ttl time.Duration
	now func() time.Time
}

func newSessionStore(ttl time.Duration, now func() time.Time) *sessionStore {
	return &sessionStore{m: map[string]session{}, ttl: ttl, now: now}
}

// create starts a session for user under a fresh random 256-bit id.
func (s *sessionStore) create(user string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= 1024 && len(s.m)%256 == 0 {
		for k, v := range s.m {
			if now.After(v.expires) {
				delete(s.m, k)
			}
		}
	}
	s.m[id] = session{user: user, expires: now.Add(s.ttl)}
	return id, nil
}

// get returns the user of a live session.
func (s *sessionStore) get(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok {
		return "", false
	}
	if s.now().After(v.expires) {
		delete(s.m, id)
		return "", false
	}
	return v.user, true
}

// delete ends a session (server-side logout).
func (s *sessionStore) delete(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// loginLimiter counts failed logins per client address in fixed one-minute
// windows.
type loginLimiter struct {
	mu    sync.Mutex
	m     map[string]*failWindow
	limit int
	now   func() time.Time
}

type failWindow struct {
	start time.Time
	fails int
}

func newLoginLimiter(limit int, now func() time.Time) *loginLimiter {
	return &loginLimiter{m: map[string]*failWindow{}, limit: limit, now: now}
}

// blocked reports whether addr used up its failures for the current minute.
func (l *loginLimiter) blocked(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.m[addr]
	if !ok {
		return false
	}
	if l.now().Sub(w.start) >= time.Minute {
		delete(l.m, addr)
		return false
	}
	return w.fails >= l.limit
}

// fail records one failed login of addr.
func (l *loginLimiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) > 10000 {
		for k, w := range l.m {
			if now.Sub(w.start) >= time.Minute {
				delete(l.m, k)
			}
		}
	}
	w, ok := l.m[addr]
	if !ok || now.Sub(w.start) >= time.Minute {
		l.m[addr] = &failWindow{start: now, fails: 1}
		return
	}
	w.fails++
}

// basicCache remembers successful basic-auth checks for a few minutes, so
// scripts polling the API do not pay an argon2id hash per request. Keys are
// SHA-256 of user and password; the password itself is never kept.
type basicCache struct {
	mu  sync.Mutex
	m   map[[32]byte]basicEntry
	now func() time.Time
}

type basicEntry struct {
	user    string
	expires time.Time
}

const basicCacheTTL = 5 * time.Minute

func basicKey(user, pw string) [32]byte {
	return sha256.Sum256([]byte(user + "\x00" + pw))
}

func (c *basicCache) get(user, pw string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[basicKey(user, pw)]
	return ok && e.user == user && c.now().Before(e.expires)
}

func (c *basicCache) put(user, pw string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 1000 {
		clear(c.m)
	}
	c.m[basicKey(user, pw)] = basicEntry{user: user, expires: c.now().Add(basicCacheTTL)}
}

// clientAddr is the client's IP address (the rate-limiting key). Proxy
// headers are not trusted: behind a reverse proxy all clients share a limit.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isSecure reports whether the client reached us over HTTPS.
func isSecure(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

type userKey struct{}

// userFrom returns the authenticated user stored in ctx by the auth
// middleware, "" for anonymous (public read-only) access.
func userFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

// checkPassword verifies user's password. Unknown users are checked against
// a dummy hash of the same cost, so timing does not reveal which users exist.
func (s *Server) checkPassword(user, pw string) bool {
	hash, known := s.users[user]
	if !known || len(user) > 256 || len(pw) > 1024 {
		hash = s.dummy
		known = false
	}
	s.verifySem <- struct{}{}
	ok, err := VerifyPassword(hash, pw)
	<-s.verifySem
	if err != nil {
		s.log.Error("verify password", "user", user, "err", err)
		return false
	}
	return ok && known
}

// authenticate returns the user of the request's session cookie or basic
// auth credentials. Failed basic auth counts towards the login rate limit;
// when it is exhausted, limited is set.
func (s *Server) authenticate(r *http.Request) (user string, limited bool) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if u, ok := s.sessions.get(c.Value); ok {
			return u, false
		}
	}
	u, pw, ok := r.BasicAuth()
	if !ok {
		return "", false
	}
	if s.basic.get(u, pw) {
		return u, false
	}
	addr := clientAddr(r)
	if s.limiter.blocked(addr) {
		return "", true
	}
	if !s.checkPassword(u, pw) {
		s.limiter.fail(addr)
		s.log.Warn("basic auth failed", "user", u, "client", addr)
		return "", false
	}
	s.basic.put(u, pw)
	return u, false
}
