package pki

import (
	"cmp"
	"slices"
	"strings"
)

// Redacted is what Redact puts in place of a secret.
const Redacted = "<secret>"

// Redact returns s with every occurrence of each non-empty secret replaced
// by "<secret>". Longer secrets win where secrets overlap, so a secret that
// is a prefix of another does not leave the other's tail visible. Use it on
// any text that may echo configuration back (provider error bodies, URLs,
// SMTP transcripts) before logging or displaying it.
func Redact(s string, secrets ...string) string {
	uniq := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		if sec != "" && !slices.Contains(uniq, sec) {
			uniq = append(uniq, sec)
		}
	}
	if len(uniq) == 0 {
		return s
	}
	// strings.Replacer tries the old strings in argument order at each
	// position: longest first gives the longest match.
	slices.SortStableFunc(uniq, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	pairs := make([]string, 0, 2*len(uniq))
	for _, sec := range uniq {
		pairs = append(pairs, sec, Redacted)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
