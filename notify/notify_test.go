package notify

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRenderGolden(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	cases := []struct {
		name string
		n    model.Notification
	}{
		{"alarm", model.Notification{ID: "alarm.web1.disk.1", Level: model.CRIT, Kind: model.KindAlarm, Host: "web1",
			Subject: "web1: disk /dev/sda1 used_percentage 97.5 > 95", Text: "Rule disk fired.\nActive for 2 hours, 5 minutes, 1 second.\n",
			Time: time.Date(2026, 11, 24, 21, 30, 5, 123, cet)}},
		{"minimal", model.Notification{Level: model.INFO, Subject: "started"}},
		{"header injection", model.Notification{ID: "x\r\nBcc: evil@example.org", Level: model.WARN, Kind: "UP\n", Host: "db\r\n1",
			Subject: "ok\r\nBcc: evil@example.org", Text: "fine", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		{"invalid utf8", model.Notification{ID: "u", Level: model.ERR, Host: "h\xff", Subject: "bad \xfe bytes", Text: "t\xffext",
			Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
	}
	var out strings.Builder
	for _, c := range cases {
		subject, body := Render(c.n)
		fmt.Fprintf(&out, "=== %s\nSubject: %s\n%s", c.name, subject, body)
		if strings.ContainsAny(subject, "\r\n") {
			t.Errorf("%s: subject contains a line break: %q", c.name, subject)
		}
	}
	golden(t, "render.golden", out.String())
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 4, "hel…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
		{"hello", -3, ""},
		{"", 3, ""},
		{"äöüß", 3, "äö…"},
		{"日本語テキスト", 4, "日本語…"},
		{"🔥🔥🔥", 2, "🔥…"},
		{"a\xffb", 3, "a\uFFFDb"},
		{"ab\xffcd", 3, "ab…"},
	}
	for _, tt := range tests {
		got := Truncate(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestParseMinLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    model.Level
		wantErr bool
	}{
		{"", model.WARN, false},
		{"  ", model.WARN, false},
		{"crit", model.CRIT, false},
		{"Error", model.ERR, false},
		{"urgent", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseMinLevel(tt.in, model.WARN)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseMinLevel(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "min_level") {
			t.Errorf("error %q does not name the field", err)
		}
	}
}

func TestRedact(t *testing.T) {
	base := fmt.Errorf("dial: %w", fs.ErrPermission)
	err := Redact(fmt.Errorf("login hunter2 failed twice: hunter2: %w", base), "hunter2", "")
	if got := err.Error(); got != "login <secret> failed twice: <secret>: dial: permission denied" {
		t.Errorf("Redact = %q", got)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Error("Redact broke errors.Is")
	}
	if Redact(nil, "x") != nil {
		t.Error("Redact(nil) != nil")
	}
	if Redact(base, "absent") != base {
		t.Error("Redact wrapped an error without secrets")
	}
}

func TestRetryableHTTPStatus(t *testing.T) {
	for code, want := range map[int]bool{200: false, 301: false, 400: false, 401: false, 404: false,
		408: true, 425: true, 429: true, 500: true, 502: true, 503: true, 599: true, 600: false} {
		if got := RetryableHTTPStatus(code); got != want {
			t.Errorf("RetryableHTTPStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

func TestFormatTimeAndOneLine(t *testing.T) {
	if got := FormatTime(time.Time{}); got != "unknown" {
		t.Errorf("zero time = %q", got)
	}
	if got := FormatTime(time.Date(2026, 5, 1, 2, 0, 0, 0, time.FixedZone("X", -7200))); got != "2026-05-01T04:00:00Z" {
		t.Errorf("FormatTime = %q", got)
	}
	if got := OneLine(" a\r\nb\tc\u2028d "); got != "a  b c d" {
		t.Errorf("OneLine = %q", got)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func FuzzTruncate(f *testing.F) {
	for _, s := range []string{"", "hello", "äöü", "🔥🔥", "a\xffb", strings.Repeat("x", 300)} {
		for _, m := range []int{-1, 0, 1, 2, 5, 160} {
			f.Add(s, m)
		}
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		out := Truncate(s, max)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		n := utf8.RuneCountInString(out)
		if max <= 0 && out != "" || max > 0 && n > max {
			t.Fatalf("Truncate(%q, %d) = %q: %d runes", s, max, out, n)
		}
		valid := strings.ToValidUTF8(s, "\uFFFD")
		if max > 0 && utf8.RuneCountInString(valid) <= max && out != valid {
			t.Fatalf("Truncate(%q, %d) changed a short string: %q", s, max, out)
		}
		if out != valid && max > 0 && !strings.HasSuffix(out, Ellipsis) {
			t.Fatalf("cut without ellipsis: %q", out)
		}
	})
}

func FuzzRender(f *testing.F) {
	f.Add("id.1", int8(4), "ALARM", "web1", "disk full", "text\nmore", int64(1764000000))
	f.Add("", int8(-3), "", "", "", "", int64(0))
	f.Add("x\r\ny", int8(9), "UP\n", "h\xff", "s\r\nBcc: x", "\xfe", int64(-1))
	f.Fuzz(func(t *testing.T, id string, level int8, kind, host, subj, text string, sec int64) {
		n := model.Notification{ID: id, Level: model.Level(level), Kind: kind, Host: host, Subject: subj, Text: text,
			Time: time.Unix(sec, 0)}
		subject, body := Render(n)
		if !utf8.ValidString(subject) || !utf8.ValidString(body) {
			t.Fatalf("invalid UTF-8: %q / %q", subject, body)
		}
		if strings.ContainsAny(subject, "\r\n") {
			t.Fatalf("line break in subject %q", subject)
		}
		if !strings.HasPrefix(subject, "["+n.Level.String()+"]") {
			t.Fatalf("subject %q lacks level", subject)
		}
		// Header lines of the body never contain stray line breaks: the
		// first blank line separates them from the text.
		head, _, _ := strings.Cut(body, "\n\n")
		for _, line := range strings.Split(strings.TrimSuffix(head, "\n"), "\n") {
			if !strings.Contains(line, ":") || strings.ContainsRune(line, '\r') {
				t.Fatalf("malformed header line %q in %q", line, body)
			}
		}
		// Length bound: rendering adds a fixed amount of labels.
		if len(body) > 3*(len(id)+len(kind)+len(host)+len(text))+200 {
			t.Fatalf("body unexpectedly long: %d", len(body))
		}
	})
}
