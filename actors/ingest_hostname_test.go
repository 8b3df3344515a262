package actors

import (
	"regexp"
	"strings"
	"testing"
)

// hostNameRE is the definition validHostName implements.
var hostNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

func TestValidHostName(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"web1", true},
		{"a", true},
		{"9", true},
		{"web-1.example_com", true},
		{strings.Repeat("a", 253), true},
		{strings.Repeat("a", 254), false},
		{"", false},
		{"-web", false},
		{".web", false},
		{"_web", false},
		{"web 1", false},
		{"web/1", false},
		{"wéb", false},
		{"web\n", false},
		{"web1\x00", false},
	}
	for _, tt := range tests {
		if got := validHostName(tt.host); got != tt.want {
			t.Errorf("validHostName(%q) = %v, want %v", tt.host, got, tt.want)
		}
		if re := hostNameRE.MatchString(tt.host); re != tt.want {
			t.Errorf("regexp disagrees with the table on %q: %v", tt.host, re)
		}
	}
}

// FuzzValidHostName checks the hand-written check against the regexp.
func FuzzValidHostName(f *testing.F) {
	for _, s := range []string{"web1", "", "-a", "a-", strings.Repeat("b", 253), strings.Repeat("b", 254), "a\n", "ä"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := validHostName(h), hostNameRE.MatchString(h); got != want {
			t.Fatalf("validHostName(%q) = %v, regexp says %v", h, got, want)
		}
	})
}
