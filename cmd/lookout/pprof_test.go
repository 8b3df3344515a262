package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestServePprofLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr    string
		wantErr string
	}{
		{"0.0.0.0:0", "only a loopback"},
		{"10.1.2.3:6060", "only a loopback"},
		{"localhost:0", "only a loopback"}, // IP addresses only: no resolver surprises
		{"127.0.0.1", "missing port"},
		{"127.0.0.1:0", ""},
		{"[::1]:0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := servePprof(tt.addr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("servePprof(%q) = %q, %v; want error containing %q", tt.addr, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				if strings.Contains(tt.addr, "::1") && strings.Contains(err.Error(), "assign requested address") {
					t.Skip("no IPv6 loopback here")
				}
				t.Fatal(err)
			}
			resp, err := http.Get("http://" + got + "/debug/pprof/cmdline")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET cmdline: %s", resp.Status)
			}
		})
	}
}
