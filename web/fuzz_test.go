package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lookout-mon/lookout/configs"
)

// FuzzLoginForm posts arbitrary bodies to /login: the handler must never
// panic or answer 5xx (429 from rate limiting is fine), and must never log
// anybody in without the right password.
func FuzzLoginForm(f *testing.F) {
	seeds := []string{
		"user=admin&password=" + strings.ReplaceAll(testPassword, " ", "+"),
		"user=admin&password=wrong",
		"user=&password=",
		"",
		"%zz",
		"user=admin&user=root&password=x&next=//evil",
		"next=https%3A%2F%2Fevil.example&user=a",
		strings.Repeat("a=b&", 1000),
		"user=%00%ff&password=%e2%82",
		";;;===&&&",
	}
	for _, s := range seeds {
		f.Add(s, "application/x-www-form-urlencoded")
	}
	f.Add("--x\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nadmin\r\n--x--", "multipart/form-data; boundary=x")
	f.Add("{}", "application/json")
	// A huge rate limit, so every input reaches form parsing and the
	// password check instead of the 429 shortcut.
	e := newEnv(f, func(c *configs.HTTPConfig) { c.LoginRate = 1 << 30 })
	f.Fuzz(func(t *testing.T, body, ctype string) {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		r.RemoteAddr = "192.0.2.7:1"
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("status %d for body %q", w.Code, body)
		}
		if w.Code == http.StatusSeeOther {
			if r.PostForm.Get("user") != "admin" || r.PostForm.Get("password") != testPassword {
				t.Fatalf("logged in with form %v", r.PostForm)
			}
			if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Fatalf("redirect to %q", loc)
			}
		}
	})
}

// FuzzAPIParams sends arbitrary query strings to every read endpoint: no
// panic, no 5xx, and the body is always JSON.
func FuzzAPIParams(f *testing.F) {
	for _, s := range []string{
		"host=web1", "host=", "host=web1&series=machine.cpu:all&attr=used_percentage&range=24h",
		"series=.:&attr=", "series=a.b:c&host=%00", "range=7d&limit=5", "limit=-1", "limit=99999999999999999999",
		"host=" + strings.Repeat("x", 300), "%", "host=web1;series=x", "range=1h&range=2h",
	} {
		f.Add(s)
	}
	e := newEnv(f, nil)
	auth := basic("admin", testPassword)
	paths := []string{"server-status", "down-list", "last-value", "server-list", "service-list", "history",
		"downtimes", "alarms", "deliveries", "rules", "maintenance", "cluster"}
	f.Fuzz(func(t *testing.T, q string) {
		for _, p := range paths {
			r := httptest.NewRequest("GET", "/api/v1/"+p, nil)
			r.URL.RawQuery = q
			r.Header.Set("Authorization", auth)
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("%s?%s: status %d %s", p, q, w.Code, w.Body.String())
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("%s?%s: body is not JSON: %q", p, q, w.Body.String())
			}
			if w.Code == http.StatusBadRequest {
				var b apiErrorBody
				_ = json.Unmarshal(w.Body.Bytes(), &b)
				if b.Error == "" {
					t.Fatalf("%s?%s: 400 without an error message", p, q)
				}
			}
		}
	})
}
