package notify

import (
	"reflect"
	"testing"
)

func TestURLSecrets(t *testing.T) {
	tests := []struct {
		url  string
		want []string
	}{
		{"https://hooks.example.net/x", nil},
		{"https://u:pw-123@hooks.example.net/x", []string{"pw-123", "pw-123"}},
		{"https://h.example.net/send?key=abcdef&fmt=json", []string{"abcdef", "abcdef"}},
		{"https://h.example.net/send?token=a+b%2Fcdef", []string{"a b/cdef", "a+b%2Fcdef"}},
		{"https://h.example.net/?short=12345", nil},
		{"://bad", nil},
	}
	for _, tt := range tests {
		if got := URLSecrets(tt.url); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("URLSecrets(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestBasicAuthSecret(t *testing.T) {
	if got := BasicAuthSecret("AC1", "tok"); got != "QUMxOnRvaw==" {
		t.Errorf("BasicAuthSecret = %q", got)
	}
	if got := BasicAuthSecret("AC1", ""); got != "" {
		t.Errorf("empty password gives %q", got)
	}
}
