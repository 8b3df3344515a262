package rules

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

// addr is the expected address of a parsed rule, as written.
type addr struct{ host, service, resource, unit, attr string }

type wantRule struct {
	addr       addr
	thresholds []Threshold
	forDur     time.Duration
	clear      *Condition
	flapN      int
	flapWin    time.Duration
	canonical  string
}

var validRules = []struct {
	name string
	text string
	want wantRule
}{
	{
		name: "simple",
		text: "*!machine.disk:/dev/sd*.used_percentage > 90",
		want: wantRule{
			addr:       addr{"*", "machine", "disk", "/dev/sd*", "used_percentage"},
			thresholds: []Threshold{{OpGt, 90, "90", model.WARN}},
			canonical:  "*!machine.disk:/dev/sd*.used_percentage > 90 WARN",
		},
	},
	{
		name: "escalation with all clauses",
		text: "*!machine.disk:*.used_percentage > 80% WARN, > 95% CRIT for 5m clear < 75 flap 4/10m",
		want: wantRule{
			addr:       addr{"*", "machine", "disk", "*", "used_percentage"},
			thresholds: []Threshold{{OpGt, 80, "80%", model.WARN}, {OpGt, 95, "95%", model.CRIT}},
			forDur:     5 * time.Minute,
			clear:      &Condition{OpLt, 75, "75"},
			flapN:      4, flapWin: 10 * time.Minute,
			canonical: "*!machine.disk:*.used_percentage > 80% WARN, > 95% CRIT for 5m clear < 75 flap 4/10m",
		},
	},
	{
		name: "unit with spaces, parentheses, dots and colons; no spaces around op",
		text: "web1!port.port:UnrealIRCd (6667).up=0 crit",
		want: wantRule{
			addr:       addr{"web1", "port", "port", "UnrealIRCd (6667)", "up"},
			thresholds: []Threshold{{OpEq, 0, "0", model.CRIT}},
			canonical:  "web1!port.port:UnrealIRCd (6667).up = 0 CRIT",
		},
	},
	{
		name: "dots and colons in unit",
		text: "db?!machine.network:eth0.100:a.b.rx_bytes >= 1.5g ERR",
		want: wantRule{
			addr:       addr{"db?", "machine", "network", "eth0.100:a.b", "rx_bytes"},
			thresholds: []Threshold{{OpGe, 1.5 * (1 << 30), "1.5g", model.ERR}},
			canonical:  "db?!machine.network:eth0.100:a.b.rx_bytes >= 1.5g ERR",
		},
	},
	{
		name: "suffixes any case, clause order free, keywords any case, level aliases",
		text: "  h!s.r:u.a <= 2K warning ,!= 1T error,< 3M   FLAP 2/1d12h CLEAR >= 4m FOR 90s  ",
		want: wantRule{
			addr: addr{"h", "s", "r", "u", "a"},
			thresholds: []Threshold{
				{OpLe, 2048, "2K", model.WARN},
				{OpNe, 1 << 40, "1T", model.ERR},
				{OpLt, 3 << 20, "3M", model.WARN},
			},
			forDur:    90 * time.Second,
			clear:     &Condition{OpGe, 4 << 20, "4m"},
			flapN:     2,
			flapWin:   36 * time.Hour,
			canonical: "h!s.r:u.a <= 2K WARN, != 1T ERR, < 3M WARN for 1m30s clear >= 4m flap 2/1d12h",
		},
	},
	{
		name: "negative and exponent values, for 0s is no delay, empty unit",
		text: "h!s.r:.a < -1.5e2 for 0s",
		want: wantRule{
			addr:       addr{"h", "s", "r", "", "a"},
			thresholds: []Threshold{{OpLt, -150, "-1.5e2", model.WARN}},
			canonical:  "h!s.r:.a < -1.5e2 WARN",
		},
	},
	{
		name: "globs with classes and escapes; '!' inside unit",
		text: `web[0-9]!machine.cpu:core[^0]\*!.idle < 5 INFO for 2d`,
		want: wantRule{
			addr:       addr{"web[0-9]", "machine", "cpu", `core[^0]\*!`, "idle"},
			thresholds: []Threshold{{OpLt, 5, "5", model.INFO}},
			forDur:     48 * time.Hour,
			canonical:  `web[0-9]!machine.cpu:core[^0]\*!.idle < 5 INFO for 2d`,
		},
	},
}

func checkRule(t *testing.T, r *Rule, name string, w wantRule) {
	t.Helper()
	got := addr{r.Address.Host, r.Address.Service, r.Address.Resource, r.Address.Unit, r.Address.Attr}
	if got != w.addr {
		t.Errorf("address = %+v, want %+v", got, w.addr)
	}
	if r.Name != name {
		t.Errorf("name = %q, want %q", r.Name, name)
	}
	if !reflect.DeepEqual(r.Thresholds, w.thresholds) {
		t.Errorf("thresholds = %+v, want %+v", r.Thresholds, w.thresholds)
	}
	if r.For != w.forDur {
		t.Errorf("for = %v, want %v", r.For, w.forDur)
	}
	if !reflect.DeepEqual(r.Clear, w.clear) {
		t.Errorf("clear = %+v, want %+v", r.Clear, w.clear)
	}
	if r.FlapCount != w.flapN || r.FlapWindow != w.flapWin {
		t.Errorf("flap = %d/%v, want %d/%v", r.FlapCount, r.FlapWindow, w.flapN, w.flapWin)
	}
	if s := r.String(); s != w.canonical {
		t.Errorf("String() = %q, want %q", s, w.canonical)
	}
}

func TestParseValid(t *testing.T) {
	for _, tc := range validRules {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse("r1", tc.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.text, err)
			}
			checkRule(t, r, "r1", tc.want)
			// Round trip: the canonical text parses to the same rule.
			r2, err := Parse("r1", r.String())
			if err != nil {
				t.Fatalf("Parse(String()) = %v; String() = %q", err, r.String())
			}
			if !reflect.DeepEqual(r, r2) {
				t.Errorf("round trip differs:\n first %#v\nsecond %#v", r, r2)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, rule, text, want string
	}{
		{"bad operator", "disk", "*!machine.disk:*.used_percentage >> 90",
			`rule "disk": at column 34: expected operator, got ">>"`},
		{"no operator", "disk", "*!machine.disk:*.used_percentage",
			`rule "disk": at column 33: expected operator (= != > < >= <=), got end of rule`},
		{"missing operator before value", "disk", "*!machine.disk:*.used_percentage 90",
			`rule "disk": at column 33: expected operator, got "90"`},
		{"empty", "x", "   ",
			`rule "x": at column 4: expected address host!service.resource:unit.attribute, got end of rule`},
		{"no host", "x", "machine.disk:*.used > 1",
			`rule "x": at column 1: address "machine.disk:*.used" has no '!' after the host (want host!service.resource:unit.attribute)`},
		{"no attribute", "x", "h!machine > 1",
			`rule "x": at column 3: address "h!machine" has no '.' before the attribute (want host!service.resource:unit.attribute)`},
		{"no resource", "x", "h!machine.used > 1",
			`rule "x": at column 3: address "h!machine.used" has no '.' between service and resource (want host!service.resource:unit.attribute)`},
		{"no colon", "x", "h!machine.disk.used > 1",
			`rule "x": at column 11: address "h!machine.disk.used" has no ':' between resource and unit (want host!service.resource:unit.attribute)`},
		{"empty service", "x", "h!.disk:u.used > 1",
			`rule "x": at column 3: address "h!.disk:u.used" has an empty service (use * for any)`},
		{"space in host", "x", "web 1!m.d:u.a > 1",
			`rule "x": at column 4: host pattern "web 1" contains a space`},
		{"control character in unit", "x", "h!m.d:a\x00b.c > 1",
			`rule "x": at column 8: unit pattern "a\x00b" contains a control character`},
		{"bad glob", "x", "h!m.d:[a.b > 1",
			`rule "x": at column 7: unit pattern: syntax error in pattern "[a" at offset 0: unterminated character class`},
		{"bad attr glob", "x", `h!m.d:u.a\ > 1`,
			`rule "x": at column 9: attribute pattern: syntax error in pattern "a\\": trailing backslash`},
		{"missing value", "x", "h!m.d:u.a >",
			`rule "x": at column 12: expected number after >, got end of rule`},
		{"bad value", "x", "h!m.d:u.a > 9x",
			`rule "x": at column 13: expected number (90, 1.5g, 95%), got "9x"`},
		{"nan value", "x", "h!m.d:u.a > nan",
			`rule "x": at column 13: expected number (90, 1.5g, 95%), got "nan"`},
		{"overflow", "x", "h!m.d:u.a > 1e308t",
			`rule "x": at column 13: value "1e308t" is out of range`},
		{"bad level", "x", "h!m.d:u.a > 9 LOUD",
			`rule "x": at column 15: expected level (WARN, ERR, CRIT), ',', for, clear, flap or end of rule, got "LOUD"`},
		{"trailing comma", "x", "h!m.d:u.a > 9 WARN,",
			`rule "x": at column 20: expected operator (= != > < >= <=), got end of rule`},
		{"junk after level", "x", "h!m.d:u.a > 9 WARN CRIT",
			`rule "x": at column 20: expected ',', for, clear, flap or end of rule, got "CRIT"`},
		{"two operators", "x", "h!m.d:u.a > 9 > 10",
			`rule "x": at column 15: expected ',', for, clear, flap or end of rule, got ">"`},
		{"for without duration", "x", "h!m.d:u.a > 9 for",
			`rule "x": at column 18: expected duration after for (5m, 1h30m, 2d), got end of rule`},
		{"bad duration", "x", "h!m.d:u.a > 9 for 5 minutes",
			`rule "x": at column 19: invalid duration "5" (want e.g. 90s, 5m, 1h30m, 2d): missing unit in duration "5"`},
		{"negative duration", "x", "h!m.d:u.a > 9 for -5m",
			`rule "x": at column 19: invalid duration "-5m" (want e.g. 90s, 5m, 1h30m, 2d): want a positive duration`},
		{"fractional days", "x", "h!m.d:u.a > 9 for 1.5d",
			`rule "x": at column 19: invalid duration "1.5d" (want e.g. 90s, 5m, 1h30m, 2d): days must be a whole number`},
		{"duplicate for", "x", "h!m.d:u.a > 9 for 1m for 2m",
			`rule "x": at column 22: duplicate for clause`},
		{"clear without op", "x", "h!m.d:u.a > 9 clear 5",
			`rule "x": at column 21: expected operator (= != > < >= <=), got "5"`},
		{"flap without slash", "x", "h!m.d:u.a > 9 flap 4",
			`rule "x": at column 20: expected N/DURATION after flap (4/10m), got "4"`},
		{"flap count too small", "x", "h!m.d:u.a > 9 flap 1/10m",
			`rule "x": at column 20: flap count "1" must be a whole number from 2 to 1000`},
		{"flap zero window", "x", "h!m.d:u.a > 9 flap 3/0s",
			`rule "x": at column 20: flap window "0s" must be positive`},
		{"columns count runes", "x", "hé!m.d:u.a >> 9",
			`rule "x": at column 12: expected operator, got ">>"`},
		{"empty name", "", "h!m.d:u.a > 9", `rule "": name is empty`},
		{"slash in name", "a/b", "h!m.d:u.a > 9", `rule "a/b": name must not contain '/'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.rule, tc.text)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, want error", tc.text, r.String())
			}
			if err.Error() != tc.want {
				t.Errorf("Parse(%q) error\n got %s\nwant %s", tc.text, err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *ParseError", err)
			}
		})
	}
}

func TestEval(t *testing.T) {
	r, err := Parse("disk", "h!m.d:u.a > 80 WARN, > 95 CRIT, > 90 ERR, = 42 INFO")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		v      float64
		level  model.Level
		firing bool
	}{
		{10, 0, false},
		{42, model.INFO, true},
		{80, 0, false},
		{80.5, model.WARN, true},
		{91, model.ERR, true},
		{95, model.ERR, true},
		{96, model.CRIT, true},
		{math.Inf(1), model.CRIT, true},
		{math.NaN(), 0, false},
	}
	for _, tc := range tests {
		level, firing := r.Eval(tc.v)
		if level != tc.level || firing != tc.firing {
			t.Errorf("Eval(%v) = %v, %v; want %v, %v", tc.v, level, firing, tc.level, tc.firing)
		}
	}
}

func TestOpCompareNaN(t *testing.T) {
	for op := OpEq; op <= OpLe; op++ {
		if op.Compare(math.NaN(), 1) || op.Compare(1, math.NaN()) {
			t.Errorf("%v holds with NaN", op)
		}
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"5m", 5 * time.Minute, "5m"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"2d", 48 * time.Hour, "2d"},
		{"1d12h", 36 * time.Hour, "1d12h"},
		{"1.5s", 1500 * time.Millisecond, "1s500ms"},
		{"1h0m1us", time.Hour + time.Microsecond, "1h1us"},
		{"0", 0, "0s"},
		{"106751d23h47m16.854775807s", math.MaxInt64, "106751d23h47m16s854ms775us807ns"},
	}
	for _, tc := range tests {
		d, err := ParseDuration(tc.in)
		if err != nil || d != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, d, err, tc.want)
			continue
		}
		if s := FormatDuration(d); s != tc.out {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, s, tc.out)
		}
		if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v)) = %v, %v", d, back, err)
		}
	}
	for _, bad := range []string{"", "d", "1d-1h", "106752d", "106751d24h", "x", "1d+1h"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want error", bad, d)
		}
	}
}

// FuzzParse checks that Parse never panics and that everything it accepts
// round-trips through String.
func FuzzParse(f *testing.F) {
	for _, tc := range validRules {
		f.Add(tc.text)
	}
	for _, s := range []string{
		"*!machine.disk:*.used_percentage >> 90",
		"h!m.d:u.a > 9 for 1m for 2m",
		"a<b!s.r:u.x! = 5",
		"h!m.d:u.a != 1 clear = 2 flap 1000/1ns",
		"h!m.d:(x (y)) z.a > 1",
		"!=!!.:.= 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := Parse("fuzz", text)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			if pe.Column < 1 || pe.Column > utf8.RuneCountInString(text)+1 {
				t.Fatalf("error column %d outside the rule %q: %v", pe.Column, text, err)
			}
			return
		}
		s := r.String()
		r2, err := Parse("fuzz", s)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but Parse(String() = %q): %v", text, s, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip of %q via %q differs:\n%#v\n%#v", text, s, r, r2)
		}
		if s2 := r2.String(); s2 != s {
			t.Fatalf("String not stable: %q then %q", s, s2)
		}
	})
}
