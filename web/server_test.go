package web

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/lookout-mon/lookout/configs"
)

const testPassword = "correct horse battery staple"

var (
	hashOnce sync.Once
	testHash string
)

// bcryptHash is a cheap (MinCost) bcrypt hash of testPassword, shared by tests.
func bcryptHash(t testing.TB) string {
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		testHash = string(h)
	})
	return testHash
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type testEnv struct {
	srv   *Server
	fb    *fakeBackend
	clock *fakeClock
	h     http.Handler
}

func newEnv(t testing.TB, mod func(*configs.HTTPConfig)) *testEnv {
	t.Helper()
	cfg := configs.HTTPConfig{Users: []configs.UserConfig{{Name: "admin", PasswordHash: configs.Secret(bcryptHash(t))}}}
	if mod != nil {
		mod(&cfg)
	}
	fb := newFakeBackend()
	clock := &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	srv, err := New(Options{Config: cfg, Backend: fb, Logger: slog.New(slog.DiscardHandler), Version: "test", Now: clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(srv.Close)
	return &testEnv{srv: srv, fb: fb, clock: clock, h: srv.Handler()}
}

// do runs one request through the handler from client address addr.
func (e *testEnv) do(method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = "192.0.2.1:1234"
	for k, v := range hdr {
		if k == "RemoteAddr" {
			r.RemoteAddr = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func form(v url.Values) (string, map[string]string) {
	return v.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
}

// login logs in and returns the session cookie.
func (e *testEnv) login(t testing.TB, extra map[string]string) *http.Cookie {
	t.Helper()
	body, hdr := form(url.Values{"user": {"admin"}, "password": {testPassword}})
	for k, v := range extra {
		hdr[k] = v
	}
	w := e.do("POST", "/login", body, hdr)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: status %d, body %s", w.Code, w.Body.String())
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("login: no session cookie")
	return nil
}

func cookieHdr(c *http.Cookie) map[string]string {
	return map[string]string{"Cookie": c.Name + "=" + c.Value}
}

func TestNewValidatesUsers(t *testing.T) {
	good := bcryptHash(t)
	argon := "$argon2id$v=19$m=65536,t=3,p=2$c29tZXNhbHRzb21lc2FsdA$" + strings.Repeat("A", 43)
	tests := []struct {
		name    string
		users   []configs.UserConfig
		wantErr string
	}{
		{"bcrypt ok", []configs.UserConfig{{Name: "alice", PasswordHash: configs.Secret(good)}}, ""},
		{"argon2id ok", []configs.UserConfig{{Name: "alice", PasswordHash: configs.Secret(argon)}}, ""},
		{"plaintext refused", []configs.UserConfig{{Name: "bob", PasswordHash: "hunter2"}}, `"bob"`},
		{"empty hash refused", []configs.UserConfig{{Name: "carol", PasswordHash: ""}}, `plaintext passwords are refused`},
		{"broken bcrypt", []configs.UserConfig{{Name: "dave", PasswordHash: "$2a$xx"}}, `"dave"`},
		{"argon2 huge memory", []configs.UserConfig{{Name: "erin", PasswordHash: configs.Secret(strings.Replace(argon, "m=65536", "m=99999999", 1))}}, "out of range"},
		{"argon2 wrong version", []configs.UserConfig{{Name: "fay", PasswordHash: configs.Secret(strings.Replace(argon, "v=19", "v=16", 1))}}, "version"},
		{"duplicate", []configs.UserConfig{{Name: "a", PasswordHash: configs.Secret(good)}, {Name: "a", PasswordHash: configs.Secret(good)}}, "duplicate"},
		{"empty name", []configs.UserConfig{{Name: "", PasswordHash: configs.Secret(good)}}, "empty name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Config: configs.HTTPConfig{Users: tc.users}, Backend: newFakeBackend(), Logger: slog.New(slog.DiscardHandler)})
			if s != nil {
				defer s.Close()
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestHashAndVerifyPassword(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash %q is not in the expected PHC format", h)
	}
	h2, _ := HashPassword("s3cret")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	bc := bcryptHash(t)
	tests := []struct {
		hash, pw string
		ok       bool
		err      bool
	}{
		{h, "s3cret", true, false},
		{h, "s3cret ", false, false},
		{h, "", false, false},
		{bc, testPassword, true, false},
		{bc, "nope", false, false},
		{"plain", "plain", false, true},
		{"$argon2id$v=19$m=65536,t=3,p=2$!!$!!", "x", false, true},
		{"$2b$04$short", "x", false, true},
	}
	for _, tc := range tests {
		ok, err := VerifyPassword(tc.hash, tc.pw)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("VerifyPassword(%.20q, %q) = %v, %v; want %v, err=%v", tc.hash, tc.pw, ok, err, tc.ok, tc.err)
		}
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("HashPassword(\"\") succeeded")
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name     string
		user, pw string
		hdr      map[string]string
		want     int
		secure   bool
	}{
		{"success", "admin", testPassword, nil, http.StatusSeeOther, false},
		{"success behind TLS proxy", "admin", testPassword, map[string]string{"X-Forwarded-Proto": "https"}, http.StatusSeeOther, true},
		{"wrong password", "admin", "wrong", nil, http.StatusUnauthorized, false},
		{"unknown user", "mallory", testPassword, nil, http.StatusUnauthorized, false},
		{"empty", "", "", nil, http.StatusUnauthorized, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, hdr := form(url.Values{"user": {tc.user}, "password": {tc.pw}, "next": {"/alarms"}})
			hdr["RemoteAddr"] = "198.51.100." + string(rune('1'+i)) + ":999"
			for k, v := range tc.hdr {
				hdr[k] = v
			}
			w := e.do("POST", "/login", body, hdr)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.want, w.Body.String())
			}
			var sc *http.Cookie
			for _, c := range w.Result().Cookies() {
				if c.Name == sessionCookie {
					sc = c
				}
			}
			if tc.want != http.StatusSeeOther {
				if sc != nil {
					t.Fatal("failed login set a session cookie")
				}
				if !strings.Contains(w.Body.String(), "Wrong user name or password") {
					t.Fatal("failed login page lacks the error message")
				}
				return
			}
			if loc := w.Header().Get("Location"); loc != "/alarms" {
				t.Errorf("redirect to %q, want /alarms", loc)
			}
			if sc == nil || len(sc.Value) != 64 {
				t.Fatalf("session cookie %+v, want a 64-hex-digit id", sc)
			}
			if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure != tc.secure || sc.Path != "/" {
				t.Errorf("cookie flags HttpOnly=%v SameSite=%v Secure=%v Path=%q", sc.HttpOnly, sc.SameSite, sc.Secure, sc.Path)
			}
			if sc.MaxAge != int((24 * time.Hour).Seconds()) {
				t.Errorf("MaxAge %d, want 24h default", sc.MaxAge)
			}
			if w := e.do("GET", "/", "", cookieHdr(sc)); w.Code != http.StatusOK {
				t.Errorf("overview with new session: status %d", w.Code)
			}
		})
	}
}

func TestLoginOpenRedirectRefused(t *testing.T) {
	e := newEnv(t, nil)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
		body, hdr := form(url.Values{"user": {"admin"}, "password": {testPassword}, "next": {next}})
		w := e.do("POST", "/login", body, hdr)
		if loc := w.Header().Get("Location"); loc != "/" {
			t.Errorf("next=%q redirected to %q, want /", next, loc)
		}
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, func(c *configs.HTTPConfig) { c.LoginRate = 3 })
	bad, hdr := form(url.Values{"user": {"admin"}, "password": {"wrong"}})
	good, _ := form(url.Values{"user": {"admin"}, "password": {testPassword}})
	for i := 0; i < 3; i++ {
		if w := e.do("POST", "/login", bad, hdr); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, w.Code)
		}
	}
	if w := e.do("POST", "/login", good, hdr); w.Code != http.StatusTooManyRequests {
		t.Fatalf("after 3 failures, correct password: status %d, want 429", w.Code)
	}
	// Basic auth on the API shares the limit.
	w := e.do("GET", "/api/v1/server-list", "", map[string]string{"Authorization": basic("admin", testPassword)})
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("basic auth while limited: status %d, want 429", w.Code)
	}
	// Another address is not affected.
	hdr2 := map[string]string{"Content-Type": hdr["Content-Type"], "RemoteAddr": "203.0.113.9:5"}
	if w := e.do("POST", "/login", good, hdr2); w.Code != http.StatusSeeOther {
		t.Fatalf("other address: status %d, want 303", w.Code)
	}
	// The window ends after a minute.
	e.clock.Add(61 * time.Second)
	if w := e.do("POST", "/login", good, hdr); w.Code != http.StatusSeeOther {
		t.Fatalf("after a minute: status %d, want 303", w.Code)
	}
}

func TestSessionRotationAndLogout(t *testing.T) {
	e := newEnv(t, nil)
	first := e.login(t, nil)
	// Logging in again with the old cookie yields a new id and kills the old one.
	second := e.login(t, cookieHdr(first))
	if first.Value == second.Value {
		t.Fatal("login reused the session id")
	}
	if w := e.do("GET", "/api/v1/alarms", "", cookieHdr(first)); w.Code != http.StatusUnauthorized {
		t.Fatalf("old session after re-login: status %d, want 401", w.Code)
	}
	if w := e.do("GET", "/api/v1/alarms", "", cookieHdr(second)); w.Code != http.StatusOK {
		t.Fatalf("new session: status %d, want 200", w.Code)
	}
	w := e.do("POST", "/logout", "", cookieHdr(second))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("logout: status %d", w.Code)
	}
	if w := e.do("GET", "/api/v1/alarms", "", cookieHdr(second)); w.Code != http.StatusUnauthorized {
		t.Fatalf("session after logout: status %d, want 401", w.Code)
	}
	if w := e.do("GET", "/", "", cookieHdr(second)); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
		t.Fatalf("page after logout: status %d location %q, want redirect to /login", w.Code, w.Header().Get("Location"))
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t, func(c *configs.HTTPConfig) { c.SessionTTL = time.Hour })
	c := e.login(t, nil)
	e.clock.Add(59 * time.Minute)
	if w := e.do("GET", "/api/v1/alarms", "", cookieHdr(c)); w.Code != http.StatusOK {
		t.Fatalf("before TTL: %d", w.Code)
	}
	e.clock.Add(2 * time.Minute)
	if w := e.do("GET", "/api/v1/alarms", "", cookieHdr(c)); w.Code != http.StatusUnauthorized {
		t.Fatalf("after TTL: %d, want 401", w.Code)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	e := newEnv(t, nil)
	c := e.login(t, nil)
	cross := cookieHdr(c)
	cross["Content-Type"] = "application/json"
	cross["Origin"] = "http://evil.example"
	cross["Sec-Fetch-Site"] = "cross-site"
	w := e.do("POST", "/api/v1/rules", `{"name":"x","expr":"a > 1"}`, cross)
	if w.Code != http.StatusForbidden {
		t.Fatalf("cross-origin API POST: status %d, want 403", w.Code)
	}
	body, hdr := form(url.Values{"name": {"x"}, "expr": {"a > 1"}})
	for k, v := range cross {
		if k != "Content-Type" {
			hdr[k] = v
		}
	}
	if w := e.do("POST", "/rules", body, hdr); w.Code != http.StatusForbidden {
		t.Fatalf("cross-origin form POST: status %d, want 403", w.Code)
	}
	if n := e.fb.count("AddRule"); n != 0 {
		t.Fatalf("backend AddRule called %d times for refused requests", n)
	}
	same := cookieHdr(c)
	same["Content-Type"] = "application/json"
	same["Sec-Fetch-Site"] = "same-origin"
	if w := e.do("POST", "/api/v1/rules", `{"name":"x","expr":"a > 1"}`, same); w.Code != http.StatusOK {
		t.Fatalf("same-origin POST: status %d %s", w.Code, w.Body.String())
	}
}

func basic(u, p string) string {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(u, p)
	return r.Header.Get("Authorization")
}

func TestAPIErrors(t *testing.T) {
	e := newEnv(t, nil)
	auth := map[string]string{"Authorization": basic("admin", testPassword)}
	tests := []struct {
		method, path, body string
		want               int
		wantMsg            string
	}{
		{"GET", "/api/v1/server-status", "", 400, `missing query parameter "host"`},
		{"GET", "/api/v1/server-status?host=nope", "", 404, `host "nope": not found`},
		{"GET", "/api/v1/server-status?host=" + url.QueryEscape("a\x01b"), "", 400, `"host" contains a control character`},
		{"GET", "/api/v1/server-status?host=" + strings.Repeat("h", 300), "", 400, `"host" is too long`},
		{"GET", "/api/v1/last-value?host=web1&attr=x", "", 400, `missing query parameter "series"`},
		{"GET", "/api/v1/last-value?host=web1&series=disk&attr=x", "", 400, `"series" = "disk": want service.resource:unit`},
		{"GET", "/api/v1/last-value?host=web1&series=machine.cpu:all", "", 400, `missing query parameter "attr"`},
		{"GET", "/api/v1/history?host=web1&series=machine.cpu:all&attr=used_percentage&range=2h", "", 400, `"range" = "2h": want 1h, 24h or 7d`},
		{"GET", "/api/v1/downtimes?range=1y", "", 400, `"range" = "1y": want 24h, 7d or 30d`},
		{"GET", "/api/v1/deliveries?limit=0", "", 400, `"limit" = "0"`},
		{"GET", "/api/v1/deliveries?limit=abc", "", 400, `"limit" = "abc"`},
		{"POST", "/api/v1/rules", `{"name":"r","expr":"x > 1","extra":1}`, 400, `unknown field "extra"`},
		{"POST", "/api/v1/rules", `{"name":"","expr":"x > 1"}`, 400, `field "name" is empty`},
		{"POST", "/api/v1/rules", `{"name":"r","expr":"nonsense"}`, 400, `rule "r": parse error at 1:5: expected operator`},
		{"POST", "/api/v1/rules", ``, 400, `empty`},
		{"POST", "/api/v1/rules", `{"name":"r"} {}`, 400, `trailing data`},
		{"POST", "/api/v1/rules", `{"name":"r","expr":"` + strings.Repeat("x", 70000) + `"}`, 400, `larger than 65536 bytes`},
		{"DELETE", "/api/v1/rules/none", "", 404, `rule "none": not found`},
		{"POST", "/api/v1/maintenance", `{"hosts":""}`, 400, `field "hosts" is empty`},
		{"POST", "/api/v1/maintenance", `{"hosts":"*","every":"daily 02:00"}`, 400, `"duration" is required`},
		{"POST", "/api/v1/maintenance", `{"hosts":"*","start":"2026-11-24T12:00:00Z","end":"2026-11-24T11:00:00Z"}`, 400, `"end" must be after "start"`},
		{"POST", "/api/v1/maintenance", `{"hosts":"*","duration":"soon"}`, 400, `"duration" = "soon"`},
		{"DELETE", "/api/v1/maintenance/none", "", 404, `not found`},
		{"GET", "/api/v1/nothing", "", 404, `no API endpoint`},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+truncate(tc.path, 60), func(t *testing.T) {
			hdr := map[string]string{"Authorization": auth["Authorization"]}
			if tc.body != "" {
				hdr["Content-Type"] = "application/json"
			}
			w := e.do(tc.method, tc.path, tc.body, hdr)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.want, w.Body.String())
			}
			var body apiErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body is not JSON: %v: %s", err, w.Body.String())
			}
			if !strings.Contains(body.Error, tc.wantMsg) {
				t.Fatalf("error %q, want it to contain %q", body.Error, tc.wantMsg)
			}
		})
	}
}

func TestAPIReads(t *testing.T) {
	e := newEnv(t, nil)
	auth := map[string]string{"Authorization": basic("admin", testPassword)}
	get := func(path string, v any) {
		t.Helper()
		w := e.do("GET", path, "", auth)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d: %s", path, w.Code, w.Body.String())
		}
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var st struct {
		Host    string `json:"host"`
		Samples []any  `json:"samples"`
	}
	get("/api/v1/server-status?host=web1", &st)
	if st.Host != "web1" || len(st.Samples) != 2 {
		t.Errorf("server-status = %+v", st)
	}
	var lv lastValue
	get("/api/v1/last-value?host=web1&series=machine.disk:/dev/sda1&attr=used_percentage", &lv)
	if lv.Value != 40 {
		t.Errorf("last-value = %+v, want 40", lv)
	}
	var down []struct{ Host string }
	get("/api/v1/down-list", &down)
	if len(down) != 1 || down[0].Host != "db1" {
		t.Errorf("down-list = %+v", down)
	}
	var pts []map[string]any
	get("/api/v1/history?host=web1&series=machine.cpu:all&attr=used_percentage&range=24h", &pts)
	if len(pts) != 10 {
		t.Errorf("history returned %d points", len(pts))
	}
	e.fb.mu.Lock()
	lh := e.fb.lastHistory
	e.fb.mu.Unlock()
	if lh.to.Sub(lh.from) != 24*time.Hour || lh.step != 10*time.Minute || lh.series != "machine.cpu:all" {
		t.Errorf("history asked backend for %+v", lh)
	}
	var empty []any
	get("/api/v1/deliveries", &empty)
	if empty == nil {
		t.Error("deliveries: null instead of []")
	}
	for _, p := range []string{"server-list", "service-list?host=web1", "downtimes?host=db1&range=30d", "alarms", "rules", "maintenance", "cluster"} {
		var v any
		get("/api/v1/"+p, &v)
	}
	// Mutations through the API.
	hdr := map[string]string{"Authorization": auth["Authorization"], "Content-Type": "application/json"}
	if w := e.do("POST", "/api/v1/maintenance", `{"hosts":"web*","start":"2026-11-24T12:00:00Z","duration":"2h","reason":"upgrade"}`, hdr); w.Code != 200 {
		t.Fatalf("add maintenance: %d %s", w.Code, w.Body.String())
	}
	e.fb.mu.Lock()
	m := e.fb.maint[0]
	e.fb.mu.Unlock()
	if m.By != "admin" || !m.End.Equal(m.Start.Add(2*time.Hour)) || m.Hosts != "web*" {
		t.Errorf("stored window %+v", m)
	}
	if w := e.do("DELETE", "/api/v1/maintenance/"+m.ID, "", hdr); w.Code != http.StatusNoContent {
		t.Fatalf("delete maintenance: %d %s", w.Code, w.Body.String())
	}
}

func TestBackendFailureIs500WithoutDetails(t *testing.T) {
	e := newEnv(t, nil)
	e.fb.failAll = io.ErrUnexpectedEOF
	w := e.do("GET", "/api/v1/alarms", "", map[string]string{"Authorization": basic("admin", testPassword)})
	if w.Code != 500 || strings.Contains(w.Body.String(), "EOF") {
		t.Fatalf("status %d body %s: want 500 without internal detail", w.Code, w.Body.String())
	}
}

func TestPublicReadOnly(t *testing.T) {
	e := newEnv(t, func(c *configs.HTTPConfig) { c.PublicReadOnly = true })
	for _, p := range []string{"/", "/host/web1", "/downtimes", "/alarms", "/maintenance", "/cluster", "/api/v1/server-list", "/api/v1/rules"} {
		if w := e.do("GET", p, "", nil); w.Code != http.StatusOK {
			t.Errorf("public GET %s: status %d", p, w.Code)
		}
	}
	if w := e.do("GET", "/alarms", "", nil); strings.Contains(w.Body.String(), `action="/rules"`) {
		t.Error("public alarms page shows the add-rule form")
	}
	js := map[string]string{"Content-Type": "application/json"}
	mut := []struct{ method, path, body string }{
		{"POST", "/api/v1/rules", `{"name":"x","expr":"a > 1"}`},
		{"DELETE", "/api/v1/rules/disk", ""},
		{"POST", "/api/v1/maintenance", `{"hosts":"*","every":"daily 02:00","duration":"1h"}`},
		{"DELETE", "/api/v1/maintenance/mw1", ""},
	}
	for _, m := range mut {
		if w := e.do(m.method, m.path, m.body, js); w.Code != http.StatusUnauthorized {
			t.Errorf("public %s %s: status %d, want 401", m.method, m.path, w.Code)
		}
	}
	body, hdr := form(url.Values{"name": {"x"}, "expr": {"a > 1"}})
	for _, p := range []string{"/rules", "/rules/disk/delete", "/maintenance", "/maintenance/mw1/delete"} {
		w := e.do("POST", p, body, hdr)
		if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/login") {
			t.Errorf("public form POST %s: status %d location %q, want redirect to login", p, w.Code, w.Header().Get("Location"))
		}
	}
	for _, name := range []string{"AddRule", "DeleteRule", "AddMaintenance", "DeleteMaintenance"} {
		if n := e.fb.count(name); n != 0 {
			t.Errorf("backend %s called %d times by anonymous users", name, n)
		}
	}
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []string{"/", "/host/web1", "/alarms", "/maintenance", "/cluster", "/downtimes"} {
		w := e.do("GET", p, "", nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape(p) {
			t.Errorf("GET %s: status %d location %q", p, w.Code, w.Header().Get("Location"))
		}
	}
	if w := e.do("GET", "/events", "", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /events without auth: status %d, want 401", w.Code)
	}
	if w := e.do("GET", "/api/v1/server-list", "", nil); w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("API without auth: status %d", w.Code)
	}
	if w := e.do("GET", "/api/v1/server-list", "", map[string]string{"Authorization": basic("admin", "wrong")}); w.Code != http.StatusUnauthorized {
		t.Errorf("API with wrong basic auth: status %d", w.Code)
	}
	if w := e.do("GET", "/static/app.js", "", nil); w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "max-age") {
		t.Errorf("static: status %d cache %q", w.Code, w.Header().Get("Cache-Control"))
	}
	if w := e.do("GET", "/login", "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `name="password"`) {
		t.Errorf("login form: status %d", w.Code)
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t, nil)
	c := cookieHdr(e.login(t, nil))
	tests := []struct {
		path string
		want int
		has  []string
	}{
		{"/", 200, []string{`id="tile-web1"`, `class="tile load-1"`, `id="tile-db1"`, `class="tile down"`, "since 1 hour", `id="count-down">1<`, `id="count-firing">1<`}},
		{"/host/web1", 200, []string{`id="hostrow-web1"`, "<svg", `class="avg"`, "sshd (22)", "used_percentage=12.50", "100.000 %", "state-firing"}},
		{"/host/web1?range=7d", 200, []string{`class="active">7d`}},
		{"/host/db1", 200, []string{"DOWN", "(ongoing)", "95.833 %"}},
		{"/host/nope", 404, nil},
		{"/host/web1?range=1y", 404, nil},
		{"/downtimes", 200, []string{"db1", "1 hour (ongoing)"}},
		{"/alarms", 200, []string{`id="alarm-rows"`, "firing", `action="/rules"`, "*!machine.disk:*.used_percentage &gt; 90"}},
		{"/maintenance", 200, []string{`action="/maintenance"`}},
		{"/cluster", 200, []string{"127.0.0.1:7470", "alive"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := e.do("GET", tc.path, "", c)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body.String())
			}
			for _, s := range tc.has {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("page lacks %q", s)
				}
			}
			if tc.want == 200 && w.Header().Get("Content-Security-Policy") == "" {
				t.Error("no CSP header")
			}
		})
	}
}

func TestForms(t *testing.T) {
	e := newEnv(t, nil)
	c := cookieHdr(e.login(t, nil))
	post := func(path string, v url.Values) *httptest.ResponseRecorder {
		body, hdr := form(v)
		for k, x := range c {
			hdr[k] = x
		}
		return e.do("POST", path, body, hdr)
	}
	if w := post("/rules", url.Values{"name": {"load"}, "expr": {"*!machine.load:*.load1 > 4"}}); w.Code != 303 {
		t.Fatalf("add rule: %d %s", w.Code, w.Body.String())
	}
	if w := post("/rules", url.Values{"name": {"bad"}, "expr": {"nonsense"}}); w.Code != 400 || !strings.Contains(w.Body.String(), "parse error at 1:5") {
		t.Fatalf("bad rule: %d, body lacks the parse error", w.Code)
	}
	if w := post("/rules/load/delete", nil); w.Code != 303 {
		t.Fatalf("delete rule: %d", w.Code)
	}
	if w := post("/rules/load/delete", nil); w.Code != 404 {
		t.Fatalf("delete missing rule: %d", w.Code)
	}
	if w := post("/maintenance", url.Values{"hosts": {"*"}, "start": {"2026-11-25 02:00"}, "end": {"2026-11-25T03:00"}}); w.Code != 303 {
		t.Fatalf("add window: %d %s", w.Code, w.Body.String())
	}
	if w := post("/maintenance", url.Values{"hosts": {"*"}, "start": {"tomorrow"}}); w.Code != 400 || !strings.Contains(w.Body.String(), "start: &#34;tomorrow&#34; is not a time") {
		t.Fatalf("bad window: %d %s", w.Code, w.Body.String())
	}
	if w := post("/maintenance/mw1/delete", nil); w.Code != 303 {
		t.Fatalf("delete window: %d", w.Code)
	}
}

// TestUnknownUserCostsTheSame checks the dummy hash used for unknown users
// has the scheme and cost of the configured users' hashes.
func TestUnknownUserCostsTheSame(t *testing.T) {
	e := newEnv(t, nil)
	want, _ := bcrypt.Cost([]byte(bcryptHash(t)))
	got, err := bcrypt.Cost([]byte(e.srv.dummy))
	if err != nil || got != want {
		t.Fatalf("dummy hash cost %d (%v), want bcrypt cost %d", got, err, want)
	}
	argon := "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$" + strings.Repeat("A", 43)
	d, err := dummyHash(argon)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d, "$argon2id$v=19$m=1024,t=2,p=1$") {
		t.Fatalf("argon2id dummy %q does not reuse the parameters", d)
	}
}
