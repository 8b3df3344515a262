package pki

import "testing"

func TestRedact(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"no secrets", "token=abc", nil, "token=abc"},
		{"empty secret ignored", "token=abc", []string{""}, "token=abc"},
		{"one", "token=abc&x=abc", []string{"abc"}, "token=<secret>&x=<secret>"},
		{"several", "user:pw@host?key=k3y", []string{"pw", "k3y"}, "user:<secret>@host?key=<secret>"},
		{"prefix overlap longest wins", "pass=hunter22", []string{"hunter", "hunter22"}, "pass=<secret>"},
		{"duplicates", "aXa", []string{"X", "X"}, "a<secret>a"},
		{"absent", "nothing here", []string{"zzz"}, "nothing here"},
		{"unicode", "clé=été", []string{"été"}, "clé=<secret>"},
		{"whole string", "s3cr3t", []string{"s3cr3t"}, "<secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in, tt.secrets...); got != tt.want {
				t.Errorf("Redact(%q, %q) = %q, want %q", tt.in, tt.secrets, got, tt.want)
			}
		})
	}
}
