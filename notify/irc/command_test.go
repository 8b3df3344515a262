package irc

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line    string
		want    []string
		wantErr string
	}{
		{line: "rules", want: []string{"rules"}},
		{line: "  RULES  ", want: []string{"rules"}},
		{line: "help", want: []string{"help"}},
		{line: "rule add disk *!machine.disk:/dev/sd*.used_percentage > 90",
			want: []string{"rule", "add", "disk", "*!machine.disk:/dev/sd*.used_percentage > 90"}},
		{line: `rule add disk "*!machine.disk:*.used_percentage  >  90"`,
			want: []string{"rule", "add", "disk", "*!machine.disk:*.used_percentage  >  90"}},
		{line: `rule ADD 'my rule' x`, wantErr: "bad rule name"},
		{line: `rule add "" x > 1`, wantErr: "bad rule name"},
		{line: `rule add name`, wantErr: "usage: rule add"},
		{line: `rule add name ""`, wantErr: "empty expression"},
		{line: "rule del disk", want: []string{"rule", "del", "disk"}},
		{line: "rule del", wantErr: "usage: rule del"},
		{line: "rule del a b", wantErr: "usage: rule del"},
		{line: "rule", wantErr: "usage: rule add"},
		{line: "rule frob x", wantErr: `unknown rule subcommand "frob"`},
		{line: "silence web* 2h", want: []string{"silence", "web*", "2h"}},
		{line: "silence web* 3d deploy of v2", want: []string{"silence", "web*", "3d", "deploy of v2"}},
		{line: `silence "db*" 90m "disk swap"`, want: []string{"silence", "db*", "90m", "disk swap"}},
		{line: `silence db\ 1 1h`, wantErr: "bad host glob"},
		{line: "silence web*", wantErr: "usage: silence"},
		{line: "silence web* soon", wantErr: `bad duration "soon"`},
		{line: "silence web* -5m", wantErr: "must be positive"},
		{line: "silence web* 0d", wantErr: "must be positive"},
		{line: "silence web* 123456d", wantErr: "too long"},
		{line: `rule add a "x > 1`, wantErr: "unterminated \" quote"},
		{line: `rule add a 'x > 1`, wantErr: "unterminated ' quote"},
		{line: `rule add a x\`, wantErr: "lone backslash"},
		{line: `rule add a "say \"hi\"" it's`, wantErr: "unterminated ' quote"},
		{line: `rule add a "say \"hi\"" x\ y`, want: []string{"rule", "add", "a", `say "hi" x y`}},
		{line: "", wantErr: "empty command"},
		{line: "   ", wantErr: "empty command"},
		{line: "rules extra", wantErr: "takes no arguments"},
		{line: "reboot now", wantErr: `unknown command "reboot"`},
		{line: "rules\x00", wantErr: "control character"},
		{line: "rule add a \x01x", wantErr: "control character"},
		{line: "rule add a \xff", wantErr: "not valid UTF-8"},
		{line: "rule add a " + strings.Repeat("x", 600), wantErr: "command too long"},
	}
	for _, tt := range tests {
		got, err := ParseCommand(tt.line)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseCommand(%q) = %q, %v; want error containing %q", tt.line, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCommand(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30m", 30 * time.Minute, true},
		{"2h30m", 150 * time.Minute, true},
		{"3d", 72 * time.Hour, true},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"0s", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestMatchMask(t *testing.T) {
	tests := []struct {
		pattern, mask string
		want          bool
	}{
		{"alice!*@*", "alice!~alice@127.0.0.1", true},
		{"ALICE!*@*", "alice!~alice@127.0.0.1", true},
		{"alice!*@*", "alicex!~alice@127.0.0.1", false},
		{"*!*@user/alice", "al!a@user/alice", true},
		{"*!*@*.example.org", "al!a@host.example.org", true},
		{"*!*@*.example.org", "al!a@example.org", false},
		{"a?ice!*@*", "alice!u@h", true},
		{"*", "anything!at@all", true},
		{"*a*a*a*a*a*b", strings.Repeat("a", 200), false},
		{"", "x!y@z", false},
		{"*", "*0", true}, // a '*' in the mask must not stop the pattern's star
		{"a*", "a*b", true},
		{"*!*@*", "n*!u@h", true},
	}
	for _, tt := range tests {
		if got := matchMask(tt.pattern, tt.mask); got != tt.want {
			t.Errorf("matchMask(%q, %q) = %v, want %v", tt.pattern, tt.mask, got, tt.want)
		}
	}
}

func TestAddressedTo(t *testing.T) {
	tests := []struct {
		text, nick, rest string
		ok               bool
	}{
		{"lookout: rules", "lookout", "rules", true},
		{"LookOut, silence web* 1h", "lookout", "silence web* 1h", true},
		{"lookout rules", "lookout", "", false},
		{"lookoutbot: rules", "lookout", "", false},
		{"look", "lookout", "", false},
		{"lookout[m]: x", "lookout{m}", "x", true}, // RFC 1459 case mapping
	}
	for _, tt := range tests {
		rest, ok := addressedTo(tt.text, tt.nick)
		if rest != tt.rest || ok != tt.ok {
			t.Errorf("addressedTo(%q, %q) = %q, %v; want %q, %v", tt.text, tt.nick, rest, ok, tt.rest, tt.ok)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"rules", "help", "rule add disk *!machine.disk:*.used_percentage > 90",
		`rule add "a" "b c" 'd'`, "rule del x", "silence web* 2h deploy", `silence "a b" 3d`,
		`x\`, `"`, "'", "\x00", "rule add a \\\"b"} {
		f.Add(s)
	}
	verbs := map[string]bool{"rules": true, "rule": true, "silence": true, "help": true}
	f.Fuzz(func(t *testing.T, line string) {
		args, err := ParseCommand(line)
		if err != nil {
			if args != nil {
				t.Fatalf("error %v with args %q", err, args)
			}
			return
		}
		if len(args) == 0 || !verbs[args[0]] {
			t.Fatalf("ParseCommand(%q) accepted %q", line, args)
		}
		for _, a := range args {
			if strings.ContainsFunc(a, unicode.IsControl) && !strings.Contains(a, "\t") {
				t.Fatalf("control character in argument %q", a)
			}
		}
		switch args[0] {
		case "rule":
			if args[1] == "add" && len(args) != 4 || args[1] == "del" && len(args) != 3 {
				t.Fatalf("bad rule arity: %q", args)
			}
		case "silence":
			if len(args) < 3 || len(args) > 4 {
				t.Fatalf("bad silence arity: %q", args)
			}
			if _, err := ParseDuration(args[2]); err != nil {
				t.Fatalf("silence accepted bad duration: %q", args)
			}
		}
	})
}

func FuzzMatchMask(f *testing.F) {
	f.Add("*!*@*.example.org", "al!a@host.example.org")
	f.Add("a?c*", "abcdef")
	f.Fuzz(func(t *testing.T, pattern, mask string) {
		if !strings.ContainsAny(pattern, "*?") {
			if got, want := matchMask(pattern, mask), strings.ToLower(pattern) == strings.ToLower(mask); got != want {
				t.Fatalf("literal pattern %q vs %q: got %v", pattern, mask, got)
			}
		}
		if !matchMask("*", mask) {
			t.Fatalf("* does not match %q", mask)
		}
	})
}
