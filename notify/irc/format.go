package irc

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

// MaxLineBytes is the longest message text FormatLine and FormatLines
// produce, in bytes. It leaves room in the 512-byte IRC line for the
// "PRIVMSG #channel :" prefix and the server-added source.
const MaxLineBytes = 400

// MaxExtraLines is how many lines of a multi-line notification text are sent
// after the first one.
const MaxExtraLines = 3

// mIRC formatting bytes and colour numbers.
const (
	fmtBold  = "\x02"
	fmtColor = "\x03"
	fmtReset = "\x0f"

	colorGreen  = "03"
	colorRed    = "04"
	colorOrange = "07"
	colorYellow = "08"
	colorBlue   = "12"
	colorGrey   = "14"
)

// maxTagRunes caps the kind shown in the "[ KIND ]" tag.
const maxTagRunes = 16

// ellipsis marks text cut to fit MaxLineBytes.
const ellipsis = "…"

// FormatLine renders the first IRC line of n: the "[ KIND ]" tag (mIRC
// coloured when colors is set), then "host: subject" and the first line of
// n.Text, e.g.
//
//	[ DOWN ] web1: port sshd (22) is down (was up for 3 hours, 2 minutes)
//
// Every interpolated field is stripped of control characters (CR, LF, NUL,
// mIRC formatting codes...), so the result is always a single line that
// cannot inject IRC commands, and it is at most MaxLineBytes bytes.
func FormatLine(n model.Notification, colors bool) string {
	return FormatLines(n, colors)[0]
}

// FormatLines renders n as the lines sent to a channel: FormatLine, then up
// to MaxExtraLines further non-empty lines of n.Text (each sanitized and
// capped like the first; when lines are left out, the last one ends with
// "[+N lines]"). It always returns at least one line.
func FormatLines(n model.Notification, colors bool) []string {
	var textLines []string
	for _, l := range strings.Split(strings.ReplaceAll(n.Text, "\r\n", "\n"), "\n") {
		// A lone CR also ends a line: the IRC protocol treats it so.
		for _, p := range strings.Split(l, "\r") {
			if s := Sanitize(p); s != "" {
				textLines = append(textLines, s)
			}
		}
	}

	var b strings.Builder
	b.WriteString(tag(n, colors))
	host, subject := Sanitize(n.Host), Sanitize(n.Subject)
	switch {
	case host != "" && subject != "":
		b.WriteString(" " + host + ": " + subject)
	case host != "":
		b.WriteString(" " + host + ":")
	case subject != "":
		b.WriteString(" " + subject)
	}
	if len(textLines) > 0 {
		b.WriteString(" " + textLines[0])
		textLines = textLines[1:]
	}
	out := []string{truncate(b.String(), MaxLineBytes)}

	extra := textLines
	if len(extra) > MaxExtraLines {
		extra = extra[:MaxExtraLines]
	}
	for i, l := range extra {
		if i == len(extra)-1 && len(textLines) > len(extra) {
			suffix := " [+" + strconv.Itoa(len(textLines)-len(extra)) + " lines]"
			out = append(out, truncate(l, MaxLineBytes-len(suffix))+suffix)
			continue
		}
		out = append(out, truncate(l, MaxLineBytes))
	}
	return out
}

// tag returns the "[ KIND ]" tag of n, coloured by kind (or by level for
// kinds without a colour of their own) when colors is set.
func tag(n model.Notification, colors bool) string {
	kind := strings.ToUpper(Sanitize(n.Kind))
	if kind == "" {
		kind = n.Level.String()
	}
	if utf8.RuneCountInString(kind) > maxTagRunes {
		kind = string([]rune(kind)[:maxTagRunes])
	}
	t := "[ " + kind + " ]"
	if !colors {
		return t
	}
	var prefix string
	switch kind {
	case model.KindUp:
		prefix = fmtColor + colorGreen
	case model.KindDown:
		prefix = fmtColor + colorRed
	case model.KindWarning:
		prefix = fmtColor + colorOrange
	case model.KindAlarm:
		prefix = fmtBold + fmtColor + colorRed
	case model.KindSolved:
		prefix = fmtBold + fmtColor + colorGreen
	case model.KindBlip:
		prefix = fmtColor + colorYellow
	default:
		switch {
		case n.Level >= model.CRIT:
			prefix = fmtBold + fmtColor + colorRed
		case n.Level == model.ERR:
			prefix = fmtColor + colorRed
		case n.Level == model.WARN:
			prefix = fmtColor + colorOrange
		case n.Level == model.INFO:
			prefix = fmtColor + colorBlue
		default:
			prefix = fmtColor + colorGrey
		}
	}
	return prefix + t + fmtReset
}

// Sanitize makes s safe to interpolate into one IRC line: invalid UTF-8 is
// replaced by U+FFFD, tabs and line breaks become spaces, every other
// control character (C0, DEL, C1, mIRC formatting codes, Unicode line and
// paragraph separators, bidi overrides) is dropped, runs of spaces collapse
// to one and the result is trimmed.
func Sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == ' ' || r == '\u2028' || r == '\u2029':
			space = true
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// truncate cuts s to at most max bytes on a rune boundary, ending it with an
// ellipsis when something was cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(ellipsis)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	out := strings.TrimRight(s[:cut], " ") + ellipsis
	if len(out) > max { // max smaller than the ellipsis itself
		return ""
	}
	return out
}
