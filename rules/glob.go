package rules

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// glob is a compiled address segment pattern.
//
// The syntax is path.Match's: '*' matches any sequence, '?' any one
// character, '[...]' a character class ('[^...]' negated, 'a-z' ranges), and
// '\' escapes the next character. Unlike path.Match, '*' and '?' also match
// '/': units such as "/dev/sda1" are not paths to walk, and "*" must select
// every unit. Matching runs in O(len(pattern) x len(name)) whatever the
// pattern, so a pattern with many stars cannot stall an alarm actor.
//
// Patterns without meta characters compile to a plain string comparison,
// "*" to an always-true test, and "abc*" / "*abc" to prefix/suffix tests.
type glob struct {
	kind  globKind
	lit   string     // globLiteral, globPrefix, globSuffix
	items []globItem // globGeneral
}

type globKind uint8

const (
	globLiteral globKind = iota // the zero glob matches only ""
	globAll
	globPrefix
	globSuffix
	globGeneral
)

type itemKind uint8

const (
	itemLit itemKind = iota // one character, compared byte for byte
	itemAny
	itemStar
	itemClass
)

// globItem is one step of a general pattern: one literal character, '?',
// '*' or a class.
type globItem struct {
	kind   itemKind
	lit    string // itemLit: the character's bytes (kept raw, even if not UTF-8)
	neg    bool
	ranges []runeRange
}

type runeRange struct{ lo, hi rune }

// errBadPattern is wrapped by every pattern syntax error.
var errBadPattern = errors.New("syntax error in pattern")

// compileGlob compiles pattern. Errors name the offending byte offset.
func compileGlob(pattern string) (glob, error) {
	if pattern == "*" {
		return glob{kind: globAll}, nil
	}
	var items []globItem
	meta := false
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch c {
		case '*':
			meta = true
			if len(items) == 0 || items[len(items)-1].kind != itemStar {
				items = append(items, globItem{kind: itemStar})
			}
			i++
		case '?':
			meta = true
			items = append(items, globItem{kind: itemAny})
			i++
		case '[':
			meta = true
			it, n, err := compileClass(pattern[i:])
			if err != nil {
				return glob{}, fmt.Errorf("%w %q at offset %d: %v", errBadPattern, pattern, i, err)
			}
			items = append(items, it)
			i += n
		case '\\':
			if i+1 >= len(pattern) {
				return glob{}, fmt.Errorf("%w %q: trailing backslash", errBadPattern, pattern)
			}
			meta = true
			_, n := utf8.DecodeRuneInString(pattern[i+1:])
			items = append(items, globItem{kind: itemLit, lit: pattern[i+1 : i+1+n]})
			i += 1 + n
		default:
			_, n := utf8.DecodeRuneInString(pattern[i:])
			items = append(items, globItem{kind: itemLit, lit: pattern[i : i+n]})
			i += n
		}
	}
	if !meta {
		return glob{kind: globLiteral, lit: pattern}, nil
	}
	if len(items) == 1 && items[0].kind == itemStar {
		return glob{kind: globAll}, nil
	}
	// "lit*" and "*lit" where lit has no meta characters (escapes excluded,
	// so the literal is exactly the pattern minus the star).
	if !strings.ContainsAny(pattern, "?[\\") && strings.Count(pattern, "*") == 1 {
		switch {
		case strings.HasSuffix(pattern, "*"):
			return glob{kind: globPrefix, lit: pattern[:len(pattern)-1]}, nil
		case strings.HasPrefix(pattern, "*"):
			return glob{kind: globSuffix, lit: pattern[1:]}, nil
		}
	}
	return glob{kind: globGeneral, items: items}, nil
}

// compileClass compiles the class starting at s[0] == '[' and returns it with
// the number of bytes it used. The rules are path.Match's: at least one range,
// a leading '^' negates, ']' and '-' must be escaped where they would start a
// range.
func compileClass(s string) (globItem, int, error) {
	it := globItem{kind: itemClass}
	i := 1
	if i < len(s) && s[i] == '^' {
		it.neg = true
		i++
	}
	for {
		if i < len(s) && s[i] == ']' && len(it.ranges) > 0 {
			return it, i + 1, nil
		}
		lo, n, err := classChar(s[i:])
		if err != nil {
			return globItem{}, 0, err
		}
		i += n
		hi := lo
		if i < len(s) && s[i] == '-' {
			hi, n, err = classChar(s[i+1:])
			if err != nil {
				return globItem{}, 0, err
			}
			i += 1 + n
		}
		it.ranges = append(it.ranges, runeRange{lo, hi})
	}
}

// classChar reads one (possibly escaped) character of a class.
func classChar(s string) (rune, int, error) {
	if s == "" {
		return 0, 0, errors.New("unterminated character class")
	}
	if s[0] == '-' || s[0] == ']' {
		return 0, 0, fmt.Errorf("unexpected %q in character class (escape it with \\)", s[0])
	}
	n := 0
	if s[0] == '\\' {
		n = 1
		s = s[1:]
		if s == "" {
			return 0, 0, errors.New("unterminated character class")
		}
	}
	r, w := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && w == 1 {
		return 0, 0, errors.New("invalid UTF-8 in character class")
	}
	return r, n + w, nil
}

func (it *globItem) matchRune(r rune) bool {
	switch it.kind {
	case itemAny:
		return true
	case itemClass:
		in := false
		for _, rg := range it.ranges {
			if rg.lo <= r && r <= rg.hi {
				in = true
				break
			}
		}
		return in != it.neg
	}
	return false
}

// match reports whether name matches the whole pattern.
func (g *glob) match(name string) bool {
	switch g.kind {
	case globAll:
		return true
	case globLiteral:
		return name == g.lit
	case globPrefix:
		return strings.HasPrefix(name, g.lit)
	case globSuffix:
		return strings.HasSuffix(name, g.lit)
	}
	return matchItems(g.items, name)
}

// matchItems is the classic iterative wildcard match: on a mismatch it
// retries from the most recent star, one rune further. Going back to an
// earlier star is never needed, which bounds the work to
// O(len(items) x len(name)).
func matchItems(items []globItem, name string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(name) {
		if p < len(items) {
			it := &items[p]
			if it.kind == itemStar {
				starP, starI = p, i
				p++
				continue
			}
			if it.kind == itemLit {
				if strings.HasPrefix(name[i:], it.lit) {
					p++
					i += len(it.lit)
					continue
				}
			} else if r, n := utf8.DecodeRuneInString(name[i:]); it.matchRune(r) {
				p++
				i += n
				continue
			}
		}
		if starP < 0 {
			return false
		}
		_, n := utf8.DecodeRuneInString(name[starI:])
		starI += n
		i = starI
		p = starP + 1
	}
	for p < len(items) && items[p].kind == itemStar {
		p++
	}
	return p == len(items)
}

// stripComments removes every "(comment)" from a unit, with the spaces around
// it, so "UnrealIRCd (6667)" becomes "UnrealIRCd" and "a (x) b" becomes
// "a b". Parentheses nest; an unmatched '(' is kept as text. Units without
// '(' are returned as they are, without allocating.
func stripComments(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for i := 0; i < len(s); {
		if s[i] == '(' {
			if end := matchingParen(s, i); end >= 0 {
				// Drop the spaces before the comment; remember that the
				// comment separated words.
				out := strings.TrimRight(b.String(), " \t")
				b.Reset()
				b.WriteString(out)
				pendingSpace = out != ""
				i = end + 1
				for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
					i++
				}
				continue
			}
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// matchingParen returns the index of the ')' closing the '(' at s[open], or
// -1 when it is not closed.
func matchingParen(s string, open int) int {
	depth := 0
	for j := open; j < len(s); j++ {
		switch s[j] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}
