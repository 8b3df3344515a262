package irc

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxCommandBytes caps an admin command line (an IRC line is 512 bytes).
const maxCommandBytes = 512

// HelpLines is the reply to the "help" admin command.
var HelpLines = []string{
	"rules - list alarm rules",
	"rule add NAME EXPR... - add a rule, e.g. rule add disk *!machine.disk:*.used_percentage > 90",
	"rule del NAME - delete a run-time rule",
	"silence HOSTGLOB DURATION [reason] - hold notifications for matching hosts, e.g. silence web* 2h deploy",
	"help - this text",
}

// ParseCommand splits an admin command line into arguments and checks it.
// Arguments are separated by spaces; single or double quotes group words
// ("rule add x \"a > 1\""), and a backslash escapes the next character
// inside double quotes and outside quotes. The verb (first argument) is
// lower-cased. The result is normalized so an AdminHandler need not re-parse:
//
//	rules                               -> [rules]
//	rule add NAME EXPR...               -> [rule add NAME EXPR] (EXPR words joined by one space)
//	rule del NAME                       -> [rule del NAME]
//	silence HOSTGLOB DURATION [reason]  -> [silence HOSTGLOB DURATION] or [... REASON] (reason words joined)
//	help                                -> [help]
//
// DURATION is a Go duration ("90m", "2h30m") or a number of days ("3d"),
// and must be positive. Control characters are rejected.
func ParseCommand(line string) ([]string, error) {
	if len(line) > maxCommandBytes {
		return nil, fmt.Errorf("command too long (%d bytes, at most %d)", len(line), maxCommandBytes)
	}
	args, err := splitArgs(line)
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("empty command (try: help)")
	}
	args[0] = strings.ToLower(args[0])
	switch args[0] {
	case "help", "rules":
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes no arguments", args[0])
		}
		return args, nil
	case "rule":
		if len(args) < 2 {
			return nil, errors.New("usage: rule add NAME EXPR... | rule del NAME")
		}
		sub := strings.ToLower(args[1])
		switch sub {
		case "add":
			if len(args) < 4 {
				return nil, errors.New("usage: rule add NAME EXPR...")
			}
			if err := checkWord("rule name", args[2]); err != nil {
				return nil, err
			}
			expr := strings.Join(args[3:], " ")
			if strings.TrimSpace(expr) == "" {
				return nil, errors.New("rule add: empty expression")
			}
			return []string{"rule", "add", args[2], expr}, nil
		case "del":
			if len(args) != 3 {
				return nil, errors.New("usage: rule del NAME")
			}
			if err := checkWord("rule name", args[2]); err != nil {
				return nil, err
			}
			return []string{"rule", "del", args[2]}, nil
		}
		return nil, fmt.Errorf("unknown rule subcommand %q (want add or del)", sub)
	case "silence":
		if len(args) < 3 {
			return nil, errors.New("usage: silence HOSTGLOB DURATION [reason]")
		}
		if err := checkWord("host glob", args[1]); err != nil {
			return nil, err
		}
		if _, err := ParseDuration(args[2]); err != nil {
			return nil, fmt.Errorf("silence: %w", err)
		}
		out := []string{"silence", args[1], args[2]}
		if len(args) > 3 {
			if reason := strings.Join(args[3:], " "); strings.TrimSpace(reason) != "" {
				out = append(out, reason)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown command %q (try: help)", args[0])
}

// ParseDuration parses a silence duration: a Go duration ("90m", "2h30m")
// or whole days ("3d"). It must be positive.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok && days != "" && strings.Trim(days, "0123456789") == "" {
		if len(days) > 5 {
			return 0, fmt.Errorf("duration %q too long", s)
		}
		n := 0
		for _, c := range days {
			n = n*10 + int(c-'0')
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		d, err = time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q (want e.g. 30m, 2h or 3d)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", s)
	}
	return d, nil
}

// checkWord rejects an empty argument or one with spaces where a single
// word is required.
func checkWord(what, s string) error {
	if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
		return fmt.Errorf("bad %s %q (one word expected)", what, s)
	}
	return nil
}

// splitArgs splits line into shell-like words (see ParseCommand).
func splitArgs(line string) ([]string, error) {
	if !utf8.ValidString(line) {
		return nil, errors.New("command is not valid UTF-8")
	}
	var (
		args  []string
		cur   strings.Builder
		inArg bool
		quote rune // 0, '\'' or '"'
		esc   bool
	)
	for _, r := range line {
		if unicode.IsControl(r) && r != '\t' {
			return nil, fmt.Errorf("control character %U in command", r)
		}
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, inArg = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if esc {
		return nil, errors.New("command ends with a lone backslash")
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

// matchMask reports whether mask ("nick!user@host") matches the glob
// pattern, case-insensitively ('*' is any run of characters, '?' one).
// Unlike path.Match, '*' also matches '/' (common in cloaked hosts).
func matchMask(pattern, mask string) bool {
	return globMatch([]rune(strings.ToLower(pattern)), []rune(strings.ToLower(mask)))
}

// globMatch is an iterative '*'/'?' matcher with single-star backtracking
// (linear in practice, no exponential blow-up).
func globMatch(p, s []rune) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
