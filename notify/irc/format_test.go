package irc

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

var formatCases = []struct {
	name string
	n    model.Notification
}{
	{"down", model.Notification{Level: model.ERR, Kind: model.KindDown, Host: "web1",
		Subject: "port sshd (22) is down", Text: "(was up for " + model.HumanDuration(3*time.Hour+2*time.Minute) + ")"}},
	{"up", model.Notification{Level: model.INFO, Kind: model.KindUp, Host: "web1",
		Subject: "port sshd (22) is up", Text: "(was down for 12 seconds)"}},
	{"warning", model.Notification{Level: model.WARN, Kind: model.KindWarning, Host: "db2", Subject: "load average 7.5"}},
	{"alarm", model.Notification{Level: model.CRIT, Kind: model.KindAlarm, Host: "db2",
		Subject: "*!machine.disk:/dev/sd*.used_percentage > 90", Text: "/dev/sda1 used_percentage = 93.2"}},
	{"solved", model.Notification{Level: model.INFO, Kind: model.KindSolved, Host: "db2",
		Subject: "disk_full", Text: "(was active for 2 hours, 5 minutes, 1 second)"}},
	{"blip", model.Notification{Level: model.WARN, Kind: model.KindBlip, Host: "mail", Subject: "port smtp (25) needed 2 retries"}},
	{"downtime_by_level", model.Notification{Level: model.INFO, Kind: model.KindDowntime, Host: "web3", Subject: "maintenance until 03:00"}},
	{"no_kind_crit", model.Notification{Level: model.CRIT, Host: "core", Subject: "master lost quorum"}},
	{"no_kind_debug", model.Notification{Level: model.DEBUG, Subject: "debug message"}},
	{"lowercase_kind", model.Notification{Level: model.ERR, Kind: "down", Host: "h", Subject: "s"}},
	{"host_only", model.Notification{Level: model.ERR, Kind: model.KindDown, Host: "web9"}},
	{"multiline", model.Notification{Level: model.ERR, Kind: model.KindAlarm, Host: "web1", Subject: "3 disks full",
		Text: "first line\r\n/dev/sda1 99%\n\n/dev/sdb1 97%\r/dev/sdc1 95%\n/dev/sdd1 91%\n/dev/sde1 90%\n"}},
	{"injection", model.Notification{Level: model.CRIT, Kind: "DOWN\r\nQUIT :pwned", Host: "web1\r\nJOIN #evil",
		Subject: "sub\x00ject \x02bold\x03" + "04red\x0f \u202eevil\u2028next", Text: "a\tb  c\x01ACTION x\x01"}},
	{"long", model.Notification{Level: model.WARN, Kind: model.KindWarning, Host: "h",
		Subject: strings.Repeat("é", 300), Text: strings.Repeat("x", 100) + "\n" + strings.Repeat("ü", 500)}},
	{"invalid_utf8", model.Notification{Level: model.INFO, Kind: model.KindInfo, Host: "h\xff\xfe", Subject: "bad \xc3 byte"}},
}

func TestFormatLinesGolden(t *testing.T) {
	for _, tc := range formatCases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("# plain\n")
			for _, l := range FormatLines(tc.n, false) {
				b.WriteString(l + "\n")
			}
			b.WriteString("# colors (Go-quoted)\n")
			for _, l := range FormatLines(tc.n, true) {
				b.WriteString(strconv.Quote(l) + "\n")
			}
			got := b.String()
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create): %v", err)
			}
			if got != string(want) {
				t.Errorf("FormatLines output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
			}
			for _, colors := range []bool{false, true} {
				for _, l := range FormatLines(tc.n, colors) {
					checkLine(t, l)
				}
			}
		})
	}
}

func TestFormatLineIsFirstLine(t *testing.T) {
	for _, tc := range formatCases {
		if got, want := FormatLine(tc.n, true), FormatLines(tc.n, true)[0]; got != want {
			t.Errorf("%s: FormatLine = %q, FormatLines[0] = %q", tc.name, got, want)
		}
	}
}

func TestFormatColors(t *testing.T) {
	tests := []struct {
		kind   string
		level  model.Level
		prefix string
	}{
		{model.KindUp, model.INFO, "\x0303[ UP ]\x0f"},
		{model.KindDown, model.ERR, "\x0304[ DOWN ]\x0f"},
		{model.KindWarning, model.WARN, "\x0307[ WARNING ]\x0f"},
		{model.KindAlarm, model.CRIT, "\x02\x0304[ ALARM ]\x0f"},
		{model.KindSolved, model.INFO, "\x02\x0303[ SOLVED ]\x0f"},
		{model.KindBlip, model.WARN, "\x0308[ BLIP ]\x0f"},
		{"", model.CRIT, "\x02\x0304[ CRIT ]\x0f"},
		{"", model.ERR, "\x0304[ ERR ]\x0f"},
		{model.KindInfo, model.WARN, "\x0307[ INFO ]\x0f"},
		{model.KindInfo, model.INFO, "\x0312[ INFO ]\x0f"},
		{model.KindDowntime, model.DEBUG, "\x0314[ DOWNTIME ]\x0f"},
	}
	for _, tt := range tests {
		n := model.Notification{Kind: tt.kind, Level: tt.level, Host: "h", Subject: "s"}
		got := FormatLine(n, true)
		if want := tt.prefix + " h: s"; got != want {
			t.Errorf("kind %q level %s: got %q, want %q", tt.kind, tt.level, got, want)
		}
		if plain := FormatLine(n, false); strings.ContainsAny(plain, "\x02\x03\x0f") {
			t.Errorf("kind %q: colors=false output has formatting codes: %q", tt.kind, plain)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"  a \r\n b\t\tc  ", "a b c"},
		{"PRIVMSG\r\nQUIT", "PRIVMSG QUIT"},
		{"nul\x00byte", "nulbyte"},
		{"\x02bold\x02 \x0304red\x0f", "bold 04red"},
		{"del\x7f c1\u0085x", "del c1x"},
		{"rtl\u202eoverride\u200b", "rtloverride"},
		{"line\u2028sep", "line sep"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
	}
	for _, tt := range tests {
		if got := Sanitize(tt.in); got != tt.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 7, "éé…"}, // 10 bytes; cut must not split a rune
		{"abc def", 7, "abc def"},
		{"abcd    efghij", 10, "abcd…"},
		{"abcdef", 2, ""},
	}
	for _, tt := range tests {
		got := truncate(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if len(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q: too long or invalid UTF-8", tt.in, tt.max, got)
		}
	}
}

// checkLine asserts the invariants every rendered IRC line keeps.
func checkLine(t *testing.T, l string) {
	t.Helper()
	if l == "" {
		t.Errorf("empty line")
	}
	if strings.ContainsAny(l, "\r\n\x00") {
		t.Errorf("line contains CR, LF or NUL: %q", l)
	}
	if len(l) > MaxLineBytes {
		t.Errorf("line is %d bytes, more than %d: %q", len(l), MaxLineBytes, l)
	}
	if !utf8.ValidString(l) {
		t.Errorf("line is not valid UTF-8: %q", l)
	}
}

func FuzzFormatLine(f *testing.F) {
	for _, tc := range formatCases {
		f.Add(tc.n.Kind, tc.n.Host, tc.n.Subject, tc.n.Text, int8(tc.n.Level))
	}
	f.Fuzz(func(t *testing.T, kind, host, subject, text string, level int8) {
		n := model.Notification{Kind: kind, Host: host, Subject: subject, Text: text, Level: model.Level(level)}
		for _, colors := range []bool{false, true} {
			lines := FormatLines(n, colors)
			if len(lines) == 0 || len(lines) > 1+MaxExtraLines {
				t.Fatalf("FormatLines returned %d lines", len(lines))
			}
			if lines[0] != FormatLine(n, colors) {
				t.Fatalf("FormatLine differs from FormatLines[0]")
			}
			for _, l := range lines {
				checkLine(t, l)
				// The only formatting codes are the tag's own.
				body := l
				if colors && l == lines[0] {
					if i := strings.Index(l, fmtReset); i >= 0 {
						body = l[i+1:]
					}
				}
				if strings.ContainsFunc(body, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
					t.Fatalf("control character in interpolated text: %q", l)
				}
			}
		}
	})
}
