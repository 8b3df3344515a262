package rules

import (
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/lookout-mon/lookout/model"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"*", "/dev/sda1", true},
		{"", "", true},
		{"", "x", false},
		{"eth0", "eth0", true},
		{"eth0", "eth00", false},
		{"/dev/sd*", "/dev/sda1", true},
		{"/dev/sd*", "/dev/nvme0n1", false},
		{"*sda1", "/dev/sda1", true}, // '*' crosses '/', unlike path.Match
		{"*a1", "/dev/sdb1", false},
		{"/dev/*1", "/dev/sda1", true},
		{"/dev/*1", "/dev/sda2", false},
		{"core?", "core1", true},
		{"core?", "core10", false},
		{"?", "é", true}, // '?' is one character, not one byte
		{"core[0-3]", "core2", true},
		{"core[0-3]", "core4", false},
		{"core[^0]", "core0", false},
		{"core[^0]", "core7", true},
		{"[a-cx]*", "xeon", true},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{`[\]]`, "]", true},
		{"*a*b*c", "xxaxxbxxc", true},
		{"*a*b*c", "xxaxxbxxcx", false},
		{"a*a*a*a*b", strings.Repeat("a", 200), false},
		{"**x", "yx", true},
		{"?\xc3", "0\xa9", false}, // literals compare bytes, not decoded runes
	}
	for _, tc := range tests {
		g, err := compileGlob(tc.pattern)
		if err != nil {
			t.Errorf("compileGlob(%q): %v", tc.pattern, err)
			continue
		}
		if got := g.match(tc.name); got != tc.want {
			t.Errorf("%q matching %q = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"[", "[]", "[a", "a\\", "[-a]", "[a-]", "[^]", "[\xcb]"} {
		if _, err := compileGlob(bad); err == nil {
			t.Errorf("compileGlob(%q) accepted a bad pattern", bad)
		}
	}
}

func TestStripComments(t *testing.T) {
	tests := []struct{ in, want string }{
		{"UnrealIRCd (6667)", "UnrealIRCd"},
		{"/dev/sda1 (/)", "/dev/sda1"},
		{"(x) core", "core"},
		{"a (x) b", "a b"},
		{"a (x (y)) b (z)", "a b"},
		{"a(x)b", "a b"},
		{"no comment", "no comment"},
		{"open ( only", "open ( only"},
		{"a ) b", "a ) b"},
		{"()", ""},
	}
	for _, tc := range tests {
		if got := stripComments(tc.in); got != tc.want {
			t.Errorf("stripComments(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAddressMatch(t *testing.T) {
	type series struct{ host, service, resource, unit string }
	tests := []struct {
		addr string
		in   series
		want bool
	}{
		{"*!machine.disk:/dev/sd*.used", series{"web1", "machine", "disk", "/dev/sda1 (/)"}, true},
		{"*!machine.disk:/dev/sd*.used", series{"web1", "machine", "disk", "/dev/nvme0n1 (/)"}, false},
		{"*!port.port:UnrealIRCd.up", series{"irc", "port", "port", "UnrealIRCd (6667)"}, true},
		{"*!port.port:UnrealIRCd (7000).up", series{"irc", "port", "port", "UnrealIRCd (6667)"}, true},
		{"*!port.port:UnrealIRCd.up", series{"irc", "port", "port", "UnrealIRCd2 (6667)"}, false},
		{"web?!*.*:*.x", series{"web1", "a", "b", "c"}, true},
		{"web?!*.*:*.x", series{"db1", "a", "b", "c"}, false},
		{"*!machine.*:*.x", series{"h", "port", "cpu", "core0"}, false},
		{"*!machine.load:*.x", series{"h", "machine", "cpu", "core0"}, false},
		{"*!machine.net*:eth0.100:x.rx", series{"h", "machine", "network", "eth0.100:x"}, true},
		{"*!machine.net*:eth0.100:x.rx", series{"h", "machine", "network", "eth0.100"}, false},
		{"*!machine.cpu:core[0-1].idle", series{"h", "machine", "cpu", "core1"}, true},
		{"*!machine.cpu:core[0-1].idle", series{"h", "machine", "cpu", "core2"}, false},
		{"*!machine.load:.load1", series{"h", "machine", "load", ""}, true},
		{"*!machine.load:.load1", series{"h", "machine", "load", "x"}, false},
	}
	for _, tc := range tests {
		a, err := ParseAddress(tc.addr)
		if err != nil {
			t.Errorf("ParseAddress(%q): %v", tc.addr, err)
			continue
		}
		if got := a.Match(tc.in.host, tc.in.service, tc.in.resource, tc.in.unit); got != tc.want {
			t.Errorf("%q.Match(%+v) = %v, want %v", tc.addr, tc.in, got, tc.want)
		}
		if a.String() != tc.addr {
			t.Errorf("String() = %q, want %q", a.String(), tc.addr)
		}
	}
}

func TestMatchSample(t *testing.T) {
	s := model.Sample{Service: "machine", Resource: "memory", Unit: "physical (ram)",
		Values: map[string]float64{"used": 1, "used_percentage": 2, "free": 3, "total": 4}}
	tests := []struct {
		addr, host string
		want       []string
	}{
		{"*!machine.memory:physical.used*", "h", []string{"used", "used_percentage"}},
		{"*!machine.memory:*.*", "h", []string{"free", "total", "used", "used_percentage"}},
		{"*!machine.memory:*.free", "h", []string{"free"}},
		{"*!machine.memory:*.missing", "h", nil},
		{"other!machine.memory:*.*", "h", nil},
		{"*!machine.memory:swap.*", "h", nil},
	}
	for _, tc := range tests {
		a, err := ParseAddress(tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.MatchSample(tc.host, s); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q.MatchSample = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

// FuzzGlob compares the glob matcher with path.Match on ASCII names without
// '/' (where '*' and '?' mean the same in both: path.Match's '*' steps
// through bytes, so on multi-byte names it lets "*??" match "€"; ours steps
// through characters) and checks that pattern validation agrees.
func FuzzGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"*", "abc"}, {"a*c", "abc"}, {"[a-c]?", "bz"}, {"[^x]", "y"}, {`\[`, "["},
		{"*a*b*c", "xaybzc"}, {"[", "a"}, {"[]a]", "]"}, {"a[", "a"}, {"?é", "xé"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		g, err := compileGlob(pattern)
		if strings.Contains(name, "/") || strings.Contains(pattern, "/") || !isASCII(name) {
			if err == nil {
				g.match(name) // must not panic
			}
			return
		}
		want, werr := path.Match(pattern, name)
		if (err != nil) != (werr != nil) {
			t.Fatalf("pattern %q: compile error %v, path.Match error %v", pattern, err, werr)
		}
		if err != nil {
			return
		}
		if got := g.match(name); got != want {
			t.Fatalf("%q matching %q = %v, path.Match says %v", pattern, name, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
