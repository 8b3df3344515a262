package sms

import (
	"strings"
	"unicode/utf8"
)

// SMS encodings and their segment sizes. A single GSM-7 SMS carries 160
// septets, a UCS-2 one 70 UTF-16 code units. Concatenated (multi-part) SMS
// lose room to the UDH header in every part: 153 septets or 67 units.
const (
	gsmSingle  = 160
	gsmMulti   = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

// gsmBasic is the GSM 03.38 default alphabet (one septet each; ESC
// excluded).
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension characters need an escape septet: two septets each.
const gsmExtension = "^{}\\[~]|€\f"

// gsmCost returns how many septets r takes in GSM-7, or 0 when r is not
// in the GSM-7 alphabet.
func gsmCost(r rune) int {
	switch {
	case strings.ContainsRune(gsmBasic, r):
		return 1
	case strings.ContainsRune(gsmExtension, r):
		return 2
	}
	return 0
}

// IsGSM7 reports whether every character of s is in the GSM-7 alphabet
// (basic table or extension table), i.e. whether s can be sent without
// switching the whole SMS to UCS-2.
func IsGSM7(s string) bool {
	for _, r := range s {
		if gsmCost(r) == 0 {
			return false
		}
	}
	return utf8.ValidString(s)
}

// ucs2Cost is the number of UTF-16 code units of r (2 for characters
// outside the Basic Multilingual Plane, e.g. most emoji).
func ucs2Cost(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// Length returns the length of s as an SMS counts it: septets for GSM-7
// text, UTF-16 code units otherwise, and whether s is GSM-7.
func Length(s string) (n int, gsm bool) {
	gsm = IsGSM7(s)
	for _, r := range s {
		if gsm {
			n += gsmCost(r)
		} else {
			n += ucs2Cost(r)
		}
	}
	return n, gsm
}

// Budget returns how long a text may be for maxLength (the per-SMS length
// in GSM-7 septets, at most 160) and segments: a single segment holds
// maxLength septets (GSM-7) or min(maxLength, 70) code units (UCS-2);
// several concatenated segments hold 7 septets / 3 units less each (UDH).
func Budget(maxLength, segments int, gsm bool) int {
	per := maxLength
	if !gsm {
		per = min(maxLength, ucs2Single)
	}
	if segments <= 1 {
		return per
	}
	if gsm {
		per -= gsmSingle - gsmMulti
	} else {
		per -= ucs2Single - ucs2Multi
	}
	return max(per, 1) * segments
}

// Fit cuts s so that it fits maxLength x segments as sent (see Budget). A
// cut text ends in an ellipsis: "..." for GSM-7 text, because "…" is not in
// the GSM-7 alphabet and would turn the whole SMS into UCS-2 (less than
// half the room); "…" for UCS-2 text. This is why notify.Truncate, which
// counts runes and always appends "…", is not used here.
func Fit(s string, maxLength, segments int) string {
	s = strings.ToValidUTF8(s, "?")
	n, gsm := Length(s)
	budget := Budget(maxLength, segments, gsm)
	if n <= budget {
		return s
	}
	ellipsis, cost := "…", ucs2Cost
	if gsm {
		ellipsis, cost = "...", gsmCost
	}
	room := budget - len(ellipsis)
	if !gsm {
		room = budget - 1
	}
	if room <= 0 { // absurdly small budget: as much ellipsis as fits
		if !gsm {
			return ellipsis[:len(ellipsis)*min(max(budget, 0), 1)]
		}
		return ellipsis[:min(len(ellipsis), max(budget, 0))]
	}
	used := 0
	for i, r := range s {
		c := cost(r)
		if used+c > room {
			return strings.TrimRight(s[:i], " \n") + ellipsis
		}
		used += c
	}
	return s
}
