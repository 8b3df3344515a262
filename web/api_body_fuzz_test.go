package web

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAPIBody posts arbitrary bodies to every write endpoint of the JSON
// API and of the dashboard forms: never a panic or a 5xx, JSON answers from
// the API, and a 400 from the API always says what is wrong.
func FuzzAPIBody(f *testing.F) {
	for _, s := range []string{
		`{"name":"r","expr":"*!machine.load:system.load1 > 3 WARN"}`,
		`{"name":"r","expr":"nonsense"}`,
		`{"hosts":"web*","duration":"2h","reason":"deploy"}`,
		`{"hosts":"web*","start":"2026-11-24T12:00:00Z","end":"2026-11-24T11:00:00Z"}`,
		`{"hosts":"[","every":"daily 02:00","duration":"1h"}`,
		`{"name":"r"} {}`, `[]`, `null`, `{`, `"`, ``, "\x00", `{"name":1e999}`,
		"name=r&expr=x+%3E+1", "hosts=*&duration=1h&reason=x", "%zz",
		`{"name":"` + strings.Repeat("x", 300) + `","expr":"a"}`,
	} {
		f.Add(s)
	}
	e := newEnv(f, nil)
	auth := basic("admin", testPassword)
	targets := []struct {
		path, ctype string
		api         bool
	}{
		{"/api/v1/rules", "application/json", true},
		{"/api/v1/maintenance", "application/json", true},
		{"/rules", "application/x-www-form-urlencoded", false},
		{"/maintenance", "application/x-www-form-urlencoded", false},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, tg := range targets {
			r := httptest.NewRequest("POST", tg.path, strings.NewReader(body))
			r.Header.Set("Content-Type", tg.ctype)
			r.Header.Set("Authorization", auth)
			r.RemoteAddr = "192.0.2.9:1"
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("POST %s %q: status %d %s", tg.path, body, w.Code, w.Body.String())
			}
			if !tg.api {
				continue
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("POST %s %q: body is not JSON: %q", tg.path, body, w.Body.String())
			}
			if w.Code == 400 {
				var b apiErrorBody
				_ = json.Unmarshal(w.Body.Bytes(), &b)
				if b.Error == "" {
					t.Fatalf("POST %s %q: 400 without an error message", tg.path, body)
				}
			}
		}
	})
}
