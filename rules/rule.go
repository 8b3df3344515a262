// Package rules owns Lookout's alarm rule language and the alarm state
// machine. It is pure logic, with no actors and no I/O: the master's alarm
// actors parse rules with [Parse], select values with [Address] or
// [RuleSet.MatchReport], and feed each selected value to [Alarm.Step].
//
// A rule is one line, the same text in config, API, CLI and IRC commands:
//
//	ADDRESS OP VALUE [LEVEL] [, OP VALUE [LEVEL]]... [for DURATION] [clear OP VALUE] [flap N/DURATION]
//
// for example
//
//	*!machine.disk:/dev/sd*.used_percentage > 80% WARN, > 95% CRIT for 5m clear < 75% flap 4/10m
//
// ADDRESS is `host!service.resource:unit.attribute`, every segment a glob
// with path.Match's syntax ('*', '?', '[a-z]', '[^...]', '\' escapes), except
// that '*' and '?' also match '/' (units are names like "/dev/sda1", not
// paths). Text in parentheses in a unit is a comment and is stripped from
// both the pattern and the reported unit before matching, so `UnrealIRCd`
// matches "UnrealIRCd (6667)". Units may contain dots, colons and spaces:
// the address is split from its ends (host before the first '!', attribute
// after the last '.'), and it ends where the first operator begins, so a unit
// pattern cannot contain '<', '>', '=' or "!=".
//
// OP is one of = != > < >= <=. VALUE is a decimal number with an optional
// suffix: k, m, g or t multiply by 1024, 1024², 1024³, 1024⁴ (any case); '%'
// leaves the number as it is. LEVEL is a [model.ParseLevel] name, WARN when
// omitted. Several thresholds escalate: the active level is the highest one
// whose condition holds. `for` delays firing until the condition has held
// that long (Go durations, plus 'd' for days: 1d12h). `clear` adds
// hysteresis: a firing alarm resolves only when the clear condition holds and
// no threshold does. `flap N/WINDOW` marks an alarm flapping when it
// notified N times within WINDOW, and suppresses its notifications until it
// has been stable for WINDOW.
package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

// Op is a comparison operator.
type Op uint8

// Operators. The zero Op is invalid.
const (
	OpEq Op = iota + 1 // =
	OpNe               // !=
	OpGt               // >
	OpLt               // <
	OpGe               // >=
	OpLe               // <=
)

var opNames = [...]string{"", "=", "!=", ">", "<", ">=", "<="}

// String returns the operator as written in rules (">=").
func (o Op) String() string {
	if int(o) < len(opNames) && o != 0 {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// parseOp returns the Op written as s, or 0.
func parseOp(s string) Op {
	for i := 1; i < len(opNames); i++ {
		if opNames[i] == s {
			return Op(i)
		}
	}
	return 0
}

// negate returns the operator that holds exactly when o does not (for
// numbers that are not NaN).
func (o Op) negate() Op {
	switch o {
	case OpEq:
		return OpNe
	case OpNe:
		return OpEq
	case OpGt:
		return OpLe
	case OpLe:
		return OpGt
	case OpLt:
		return OpGe
	case OpGe:
		return OpLt
	}
	return o
}

// Compare reports whether "v o x" holds. It is false whenever v or x is NaN,
// "!=" included: a NaN is no evidence either way.
func (o Op) Compare(v, x float64) bool {
	if math.IsNaN(v) || math.IsNaN(x) {
		return false
	}
	switch o {
	case OpEq:
		return v == x
	case OpNe:
		return v != x
	case OpGt:
		return v > x
	case OpLt:
		return v < x
	case OpGe:
		return v >= x
	case OpLe:
		return v <= x
	}
	return false
}

// Condition is one comparison against a constant, e.g. `< 75%`.
type Condition struct {
	Op    Op
	Value float64
	Raw   string // the value as written ("75%", "1.5g"), for formatting
}

// Holds reports whether v satisfies the condition.
func (c Condition) Holds(v float64) bool { return c.Op.Compare(v, c.Value) }

// String returns "OP RAW" ("< 75%").
func (c Condition) String() string { return c.Op.String() + " " + c.Raw }

// Threshold is one level of a rule: the alarm is at Level while the
// comparison holds.
type Threshold struct {
	Op    Op
	Value float64
	Raw   string // the value as written, for formatting
	Level model.Level
}

// Holds reports whether v satisfies the threshold's comparison.
func (t Threshold) Holds(v float64) bool { return t.Op.Compare(v, t.Value) }

// String returns "OP RAW LEVEL" ("> 95% CRIT").
func (t Threshold) String() string { return t.Op.String() + " " + t.Raw + " " + t.Level.String() }

// Rule is a parsed alarm rule. See the package comment for the syntax.
type Rule struct {
	Name       string
	Address    Address
	Thresholds []Threshold // at least one, in the order written
	For        time.Duration
	Clear      *Condition // nil: resolve as soon as no threshold holds
	FlapCount  int        // 0: no flap damping
	FlapWindow time.Duration
}

// Eval returns the highest level whose threshold holds for v, and whether
// any holds. The first of equal levels wins, so the result is deterministic.
func (r *Rule) Eval(v float64) (level model.Level, firing bool) {
	_, level, firing = r.eval(v)
	return level, firing
}

// eval is Eval that also returns the index of the winning threshold.
func (r *Rule) eval(v float64) (idx int, level model.Level, firing bool) {
	idx = -1
	for i := range r.Thresholds {
		t := &r.Thresholds[i]
		if t.Holds(v) && (!firing || t.Level > level) {
			idx, level, firing = i, t.Level, true
		}
	}
	return idx, level, firing
}

// String returns the rule's canonical text: levels always written, clauses
// in the order for, clear, flap. Parse(r.Name, r.String()) yields r again.
func (r *Rule) String() string {
	var b strings.Builder
	b.WriteString(r.Address.String())
	for i, t := range r.Thresholds {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(' ')
		b.WriteString(t.String())
	}
	if r.For > 0 {
		b.WriteString(" for ")
		b.WriteString(FormatDuration(r.For))
	}
	if r.Clear != nil {
		b.WriteString(" clear ")
		b.WriteString(r.Clear.String())
	}
	if r.FlapCount > 0 {
		fmt.Fprintf(&b, " flap %d/%s", r.FlapCount, FormatDuration(r.FlapWindow))
	}
	return b.String()
}

// ParseError is a rule syntax error. Column counts characters (runes) from 1;
// it is 0 for errors about the rule's name.
type ParseError struct {
	Rule   string
	Column int
	Msg    string
}

// Error returns e.g. `rule "disk": at column 34: expected operator, got ">>"`.
func (e *ParseError) Error() string {
	if e.Column <= 0 {
		return fmt.Sprintf("rule %q: %s", e.Rule, e.Msg)
	}
	return fmt.Sprintf("rule %q: at column %d: %s", e.Rule, e.Column, e.Msg)
}

// Parse parses one rule. Errors are *ParseError values naming the column
// and what was expected.
func Parse(name, text string) (*Rule, error) {
	p := &parser{name: name, text: text}
	if err := checkName(name); err != nil {
		return nil, &ParseError{Rule: name, Msg: err.Error()}
	}
	r, err := p.parse()
	if err != nil {
		return nil, err
	}
	return r, nil
}

// checkName accepts names usable as actor IDs and in IRC commands.
func checkName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("name is empty")
	case !utf8.ValidString(name):
		return fmt.Errorf("name is not valid UTF-8")
	case strings.ContainsRune(name, '/'):
		return fmt.Errorf("name must not contain '/'")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("name must not contain control characters")
	}
	return nil
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokOp
	tokComma
	tokWord
)

type token struct {
	kind tokKind
	text string
	off  int // byte offset in the rule text
}

func (t token) describe() string {
	if t.kind == tokEOF {
		return "end of rule"
	}
	return strconv.Quote(t.text)
}

type parser struct {
	name string
	text string
	pos  int // next byte of text to lex
	peek *token
}

func isOpByte(c byte) bool { return c == '=' || c == '!' || c == '<' || c == '>' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *parser) errAt(off int, format string, args ...any) error {
	if off > len(p.text) {
		off = len(p.text)
	}
	return &ParseError{Rule: p.name, Column: utf8.RuneCountInString(p.text[:off]) + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) next() token {
	if p.peek != nil {
		t := *p.peek
		p.peek = nil
		return t
	}
	for p.pos < len(p.text) && isSpace(p.text[p.pos]) {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(p.text) {
		return token{kind: tokEOF, off: start}
	}
	c := p.text[p.pos]
	switch {
	case c == ',':
		p.pos++
		return token{kind: tokComma, text: ",", off: start}
	case isOpByte(c):
		for p.pos < len(p.text) && isOpByte(p.text[p.pos]) {
			p.pos++
		}
		return token{kind: tokOp, text: p.text[start:p.pos], off: start}
	}
	for p.pos < len(p.text) {
		c := p.text[p.pos]
		if isSpace(c) || c == ',' || isOpByte(c) {
			break
		}
		p.pos++
	}
	return token{kind: tokWord, text: p.text[start:p.pos], off: start}
}

func (p *parser) unread(t token) { p.peek = &t }

// addressEnd returns where the address ends: at the first operator after the
// host's '!' (the first '!' not starting "!=").
func addressEnd(text string) int {
	bang := -1
	for i := 0; i < len(text); i++ {
		if text[i] == '!' && (i+1 >= len(text) || text[i+1] != '=') {
			bang = i
			break
		}
	}
	for i := bang + 1; i < len(text); i++ {
		switch text[i] {
		case '<', '>', '=':
			return i
		case '!':
			if i+1 < len(text) && text[i+1] == '=' {
				return i
			}
		}
	}
	return len(text)
}

func (p *parser) parse() (*Rule, error) {
	r := &Rule{Name: p.name}
	end := addressEnd(p.text)
	start := 0
	for start < end && isSpace(p.text[start]) {
		start++
	}
	stop := end
	for stop > start && isSpace(p.text[stop-1]) {
		stop--
	}
	if start == stop {
		return nil, p.errAt(start, "expected address host!service.resource:unit.attribute, got %s", p.tokenAt(start).describe())
	}
	addr := p.text[start:stop]
	// A space inside the attribute means the operator is missing: say so
	// at the word that follows instead of complaining about the attribute.
	if dot := strings.LastIndexByte(addr, '.'); dot >= 0 && strings.IndexByte(addr[:dot], '!') >= 0 {
		if sp := strings.IndexAny(addr[dot+1:], " \t\r\n"); sp >= 0 {
			return nil, p.errAt(start+dot+1+sp, "expected operator, got %s", p.tokenAt(start+dot+1+sp).describe())
		}
	}
	a, off, err := parseAddress(addr)
	if err != nil {
		return nil, p.errAt(start+off, "%v", err)
	}
	r.Address = a
	p.pos = end

	// Thresholds.
	for {
		op, val, err := p.condition()
		if err != nil {
			return nil, err
		}
		th := Threshold{Op: op, Value: val.Value, Raw: val.Raw, Level: model.WARN}
		t := p.next()
		if t.kind == tokWord && !isKeyword(t.text) {
			lvl, err := model.ParseLevel(t.text)
			if err != nil {
				return nil, p.errAt(t.off, "expected level (WARN, ERR, CRIT), ',', for, clear, flap or end of rule, got %s", t.describe())
			}
			th.Level = lvl
			t = p.next()
		}
		r.Thresholds = append(r.Thresholds, th)
		if t.kind != tokComma {
			p.unread(t)
			break
		}
	}

	// Clauses, each at most once, in any order.
	seen := map[string]bool{}
	for {
		t := p.next()
		if t.kind == tokEOF {
			break
		}
		kw := strings.ToLower(t.text)
		if t.kind != tokWord || !isKeyword(kw) {
			return nil, p.errAt(t.off, "expected ',', for, clear, flap or end of rule, got %s", t.describe())
		}
		if seen[kw] {
			return nil, p.errAt(t.off, "duplicate %s clause", kw)
		}
		seen[kw] = true
		switch kw {
		case "for":
			w := p.next()
			if w.kind != tokWord {
				return nil, p.errAt(w.off, "expected duration after for (5m, 1h30m, 2d), got %s", w.describe())
			}
			d, err := ParseDuration(w.text)
			if err != nil {
				return nil, p.errAt(w.off, "%v", err)
			}
			r.For = d
		case "clear":
			_, val, err := p.condition()
			if err != nil {
				return nil, err
			}
			r.Clear = &val
		case "flap":
			w := p.next()
			if w.kind != tokWord {
				return nil, p.errAt(w.off, "expected N/DURATION after flap (4/10m), got %s", w.describe())
			}
			n, d, err := parseFlap(w.text)
			if err != nil {
				return nil, p.errAt(w.off, "%v", err)
			}
			r.FlapCount, r.FlapWindow = n, d
		}
	}
	return r, nil
}

// tokenAt lexes the token at byte offset off without moving the parser.
func (p *parser) tokenAt(off int) token {
	q := parser{name: p.name, text: p.text, pos: off}
	return q.next()
}

func isKeyword(w string) bool {
	switch strings.ToLower(w) {
	case "for", "clear", "flap":
		return true
	}
	return false
}

// condition parses "OP VALUE".
func (p *parser) condition() (Op, Condition, error) {
	t := p.next()
	if t.kind != tokOp {
		return 0, Condition{}, p.errAt(t.off, "expected operator (= != > < >= <=), got %s", t.describe())
	}
	op := parseOp(t.text)
	if op == 0 {
		return 0, Condition{}, p.errAt(t.off, "expected operator, got %q", t.text)
	}
	w := p.next()
	if w.kind != tokWord {
		return 0, Condition{}, p.errAt(w.off, "expected number after %s, got %s", t.text, w.describe())
	}
	v, err := ParseValue(w.text)
	if err != nil {
		return 0, Condition{}, p.errAt(w.off, "%v", err)
	}
	return op, Condition{Op: op, Value: v, Raw: w.text}, nil
}

// ParseValue parses a rule value: a decimal number with an optional suffix,
// k/m/g/t (x1024^n, any case) or '%' (no scaling).
func ParseValue(s string) (float64, error) {
	num, mult := s, 1.0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			num, mult = s[:n-1], 1<<10
		case 'm', 'M':
			num, mult = s[:n-1], 1<<20
		case 'g', 'G':
			num, mult = s[:n-1], 1<<30
		case 't', 'T':
			num, mult = s[:n-1], 1<<40
		case '%':
			num = s[:n-1]
		}
	}
	if num == "" || strings.Trim(num, "0123456789.+-eE") != "" || !strings.ContainsAny(num, "0123456789") {
		return 0, fmt.Errorf("expected number (90, 1.5g, 95%%), got %q", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("expected number (90, 1.5g, 95%%), got %q", s)
	}
	f *= mult
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("value %q is out of range", s)
	}
	return f, nil
}

// parseFlap parses "N/DURATION".
func parseFlap(s string) (int, time.Duration, error) {
	ns, ds, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("expected N/DURATION after flap (4/10m), got %q", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 2 || n > 1000 {
		return 0, 0, fmt.Errorf("flap count %q must be a whole number from 2 to 1000", ns)
	}
	d, err := ParseDuration(ds)
	if err != nil {
		return 0, 0, err
	}
	if d <= 0 {
		return 0, 0, fmt.Errorf("flap window %q must be positive", ds)
	}
	return n, d, nil
}

const day = 24 * time.Hour

// ParseDuration parses a Go duration with an optional leading whole number
// of days: "5m", "1h30m", "2d", "1d12h". Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h30m, 2d): %s", s, why)
	}
	var total time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.ParseUint(s[:i], 10, 64)
		if err != nil || i == 0 {
			return 0, bad("days must be a whole number")
		}
		if days > uint64(math.MaxInt64/int64(day)) {
			return 0, bad("too long")
		}
		total = time.Duration(days) * day
		rest = s[i+1:]
		if rest == "" {
			return total, nil
		}
	}
	if rest == "" || rest[0] == '-' || rest[0] == '+' {
		return 0, bad("want a positive duration")
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, bad(strings.TrimPrefix(err.Error(), "time: "))
	}
	if d > math.MaxInt64-total {
		return 0, bad("too long")
	}
	return total + d, nil
}

// FormatDuration renders d compactly in the syntax ParseDuration reads:
// "5m", "1h30m", "1d12h", "1s500ms"; "0s" for zero.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		// Not produced by Parse; keep it readable anyway.
		return d.String()
	}
	units := []struct {
		n    time.Duration
		name string
	}{{day, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"},
		{time.Millisecond, "ms"}, {time.Microsecond, "us"}, {time.Nanosecond, "ns"}}
	for _, u := range units {
		if v := d / u.n; v > 0 {
			b.WriteString(strconv.FormatInt(int64(v), 10))
			b.WriteString(u.name)
			d -= v * u.n
		}
	}
	return b.String()
}
