// Package web is Lookout's HTTP layer: the dashboard pages (rendered with the
// templ components of package views), the JSON API under /api/v1/, session
// and basic authentication, login rate limiting, CSRF protection and the
// Server-Sent-Events broadcaster that pushes live HTML fragments to
// browsers. It reaches the master only through the Backend interface.
package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	"github.com/r3labs/sse/v2"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/static"
	"github.com/lookout-mon/lookout/views"
)

// Defaults for zero HTTPConfig fields.
const (
	DefaultSessionTTL = 24 * time.Hour
	DefaultLoginRate  = 10
)

// maxBody caps every request body (forms and JSON).
const maxBody = 64 << 10

// maxConcurrentVerify bounds concurrent password verifications.
const maxConcurrentVerify = 4

// backendTimeout bounds every Backend call made for one request.
const backendTimeout = 10 * time.Second

// Options configures a Server.
type Options struct {
	Config  configs.HTTPConfig
	Backend Backend
	Logger  *slog.Logger
	Version string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Server serves the dashboard and API. Create it with New, mount Handler on
// an http.Server, feed it events with Publish and stop it with Close.
type Server struct {
	cfg      configs.HTTPConfig
	backend  Backend
	log      *slog.Logger
	version  string
	now      func() time.Time
	users    map[string]string // name -> hash
	dummy    string
	sessions *sessionStore
	limiter  *loginLimiter
	basic    *basicCache
	handler  http.Handler
	// verifySem bounds concurrent password checks: each argon2id check
	// takes 64 MiB, and a login flood from many addresses must not OOM us.
	verifySem chan struct{}

	// SSE
	sse         *sse.Server
	events      chan model.Event
	dropped     atomic.Uint64 // events dropped because the queue was full
	clientDrops atomic.Uint64 // per-client events dropped (slow browsers)
	nextClient  atomic.Uint64
	clientsMu   sync.Mutex
	clients     map[string]*sseClient
	clientWG    sync.WaitGroup
	closed      atomic.Bool
	done        chan struct{}
	bcastDone   chan struct{}
	closeOnce   sync.Once
	bstate      broadcastState
}

// New validates o and returns a running Server (its broadcaster goroutine is
// started). Every user's PasswordHash must be a bcrypt or argon2id hash.
func New(o Options) (*Server, error) {
	if o.Backend == nil {
		return nil, errors.New("web: Options.Backend is nil")
	}
	cfg := o.Config
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.LoginRate <= 0 {
		cfg.LoginRate = DefaultLoginRate
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "web")
	now := o.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg: cfg, backend: o.Backend, log: log, version: o.Version, now: now,
		users:     map[string]string{},
		sessions:  newSessionStore(cfg.SessionTTL, now),
		limiter:   newLoginLimiter(cfg.LoginRate, now),
		basic:     &basicCache{m: map[[32]byte]basicEntry{}, now: now},
		events:    make(chan model.Event, eventQueue),
		clients:   map[string]*sseClient{},
		done:      make(chan struct{}),
		bcastDone: make(chan struct{}),
		verifySem: make(chan struct{}, maxConcurrentVerify),
	}
	var errs []error
	for i, u := range cfg.Users {
		if u.Name == "" {
			errs = append(errs, fmt.Errorf("http.users[%d]: empty name", i))
			continue
		}
		if _, dup := s.users[u.Name]; dup {
			errs = append(errs, fmt.Errorf("http.users[%d] (%q): duplicate user", i, u.Name))
			continue
		}
		if err := checkHash(string(u.PasswordHash)); err != nil {
			errs = append(errs, fmt.Errorf("http.users[%d] (%q): password_hash: %w", i, u.Name, err))
			continue
		}
		s.users[u.Name] = string(u.PasswordHash)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("web: invalid users: %w", errors.Join(errs...))
	}
	if len(s.users) == 0 && !cfg.PublicReadOnly {
		log.Warn("no dashboard users configured: nobody can log in (add http.users with `lookout hash-password`)")
	}
	like := ""
	if len(cfg.Users) > 0 {
		like = string(cfg.Users[0].PasswordHash)
	}
	d, err := dummyHash(like)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s.dummy = d

	s.sse = sse.New()
	s.sse.AutoReplay = false
	s.sse.AutoStream = false
	s.sse.SplitData = true
	s.sse.BufferSize = clientBuffer
	s.sse.Headers["X-Accel-Buffering"] = "no"
	s.sse.OnSubscribe = s.onSubscribe

	s.handler = s.routes()
	go s.broadcast()
	return s, nil
}

// Handler returns the HTTP handler of the dashboard and API.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the broadcaster and disconnects every SSE client. Publish
// after Close drops the event.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.clientsMu.Lock()
		s.closed.Store(true)
		s.clientsMu.Unlock()
		close(s.done)
		<-s.bcastDone
		s.clientsMu.Lock()
		for _, c := range s.clients {
			c.cancel()
		}
		s.clientsMu.Unlock()
		waited := make(chan struct{})
		go func() { s.clientWG.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(2 * time.Second):
			s.log.Warn("SSE clients still connected at close")
		}
		s.sse.Close()
	})
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	files := http.StripPrefix("/static/", http.FileServerFS(static.FS))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))

	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)

	mux.Handle("GET /{$}", s.read(s.pageHandler(s.overviewPage)))
	mux.Handle("GET /host/{name}", s.read(s.pageHandler(s.hostPage)))
	mux.Handle("GET /downtimes", s.read(s.pageHandler(s.downtimesPage)))
	mux.Handle("GET /alarms", s.read(s.pageHandler(s.alarmsPage)))
	mux.Handle("GET /maintenance", s.read(s.pageHandler(s.maintenancePage)))
	mux.Handle("GET /cluster", s.read(s.pageHandler(s.clusterPage)))
	mux.Handle("POST /rules", s.write(s.pageHandler(s.formAddRule)))
	mux.Handle("POST /rules/{name}/delete", s.write(s.pageHandler(s.formDeleteRule)))
	mux.Handle("POST /maintenance", s.write(s.pageHandler(s.formAddMaintenance)))
	mux.Handle("POST /maintenance/{id}/delete", s.write(s.pageHandler(s.formDeleteMaintenance)))
	mux.Handle("GET /events", s.read(http.HandlerFunc(s.serveEvents)))

	s.apiRoutes(mux)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "client", clientAddr(r))
		if isAPI(r) {
			apiError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return securityHeaders(cop.Handler(mux))
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// securityHeaders sets headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		next.ServeHTTP(w, r)
	})
}

// read guards read-only endpoints: a logged-in user, or anyone when
// PublicReadOnly is set.
func (s *Server) read(next http.Handler) http.Handler { return s.guard(next, false) }

// write guards mutating endpoints: always a logged-in user.
func (s *Server) write(next http.Handler) http.Handler { return s.guard(next, true) }

func (s *Server) guard(next http.Handler, mutating bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, limited := s.authenticate(r)
		if limited {
			if isAPI(r) {
				apiError(w, http.StatusTooManyRequests, "too many failed logins from this address; try again in a minute")
			} else {
				http.Error(w, "too many failed logins from this address; try again in a minute", http.StatusTooManyRequests)
			}
			return
		}
		if user == "" && (mutating || !s.cfg.PublicReadOnly) {
			if isAPI(r) || r.URL.Path == "/events" {
				w.Header().Set("WWW-Authenticate", `Basic realm="lookout", charset="UTF-8"`)
				if isAPI(r) {
					apiError(w, http.StatusUnauthorized, "authentication required (session cookie or basic auth)")
				} else {
					http.Error(w, "authentication required", http.StatusUnauthorized)
				}
				return
			}
			next := "/"
			if r.Method == http.MethodGet {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(next), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

// pageFunc builds a page for a request; it returns the HTTP status with it.
type pageFunc func(ctx context.Context, w http.ResponseWriter, r *http.Request, p views.Page) (int, templ.Component, error)

// pageHandler renders a page into a buffer (so a failure yields a clean 500)
// and maps ErrNotFound to 404.
func (s *Server) pageHandler(f pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), backendTimeout)
		defer cancel()
		user := userFrom(r.Context())
		p := views.Page{User: user, Version: s.version, Now: s.now(), CanEdit: user != ""}
		status, c, err := f(ctx, w, r, p)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				http.Error(w, "not found: "+err.Error(), http.StatusNotFound)
				return
			}
			s.log.Error("render page", "path", r.URL.Path, "err", err)
			http.Error(w, "internal error (see the server log)", http.StatusInternalServerError)
			return
		}
		if c == nil { // redirect already written
			return
		}
		s.render(w, r, status, c)
	})
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.log.Error("render", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error (see the server log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// safeNext returns next if it is a local path, else "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.Login(views.LoginData{Version: s.version, Next: safeNext(r.URL.Query().Get("next"))}))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	addr := clientAddr(r)
	if s.limiter.blocked(addr) {
		s.log.Warn("login rate limited", "client", addr)
		s.render(w, r, http.StatusTooManyRequests, views.Login(views.LoginData{Version: s.version,
			Error: "Too many failed logins from this address; try again in a minute."}))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, views.Login(views.LoginData{Version: s.version,
			Error: "Bad login form: " + err.Error()}))
		return
	}
	user, pw := r.PostForm.Get("user"), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	if !s.checkPassword(user, pw) {
		s.limiter.fail(addr)
		s.log.Warn("login failed", "user", user, "client", addr)
		s.render(w, r, http.StatusUnauthorized, views.Login(views.LoginData{Version: s.version, Next: next,
			Error: "Wrong user name or password."}))
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.delete(c.Value) // rotate: never keep a pre-login id
	}
	id, err := s.sessions.create(user)
	if err != nil {
		s.log.Error("create session", "err", err)
		http.Error(w, "internal error (see the server log)", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isSecure(r), MaxAge: int(s.cfg.SessionTTL / time.Second),
	})
	s.log.Info("login", "user", user, "client", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if u, ok := s.sessions.get(c.Value); ok {
			s.log.Info("logout", "user", u, "client", clientAddr(r))
		}
		s.sessions.delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: isSecure(r), MaxAge: -1,
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
