package agent

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/common"
	gnet "github.com/shirou/gopsutil/v4/net"
)

const netDevSample = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 4815162342 1234567    0    0    0     0          0         0 4815162342 1234567    0    0    0     0       0          0
  eth0: 987654321  765432    1    2    3     4          5         6 123456789  234567    7    8    9    10      11         12
veth:a1:  10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0
 short: 1 2 3
     : 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
nocolon 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16
 wlan0: 1 2 3 4 5 6 7 8 9 10 11 12 13`

// TestParseNetDevMatchesGopsutil compares the parser with gopsutil's
// net.IOCounters on the same file (HOST_PROC points gopsutil at it).
func TestParseNetDevMatchesGopsutil(t *testing.T) {
	tests := []struct{ name, dev string }{
		{"sample", netDevSample},
		{"headers only", "a\nb\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "net"), 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "net", "dev")
			if err := os.WriteFile(path, []byte(tt.dev), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx := context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: dir})
			want, err := gnet.IOCountersWithContext(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			got, err := newProcNetDev(path).IOCounters(context.Background(), true)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseNetDevErrors(t *testing.T) {
	tests := []struct{ name, dev, wantErr string }{
		{"one line", "Inter-|\n", "2 header lines"},
		{"empty", "", "2 header lines"},
		{"not a number", "h\nh\neth0: 1 2 x 4 5 6 7 8 9 10 11 12 13\n", "counter 3"},
		{"negative", "h\nh\neth0: 1 2 3 4 5 6 7 8 9 10 11 12 -13\n", "counter 13"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseNetDev([]byte(tt.dev))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := newProcNetDev("/proc/net/dev").IOCounters(context.Background(), false); err == nil {
		t.Error("totals (pernic false): no error")
	}
}

func FuzzParseNetDev(f *testing.F) {
	f.Add([]byte(netDevSample))
	f.Add([]byte("h\nh\n:::: 1 2 3 4 5 6 7 8 9 10 11 12 13\n"))
	f.Add([]byte("h\nh\neth0: 18446744073709551615 0 0 0 0 0 0 0 18446744073709551615 0 0 0 0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := parseNetDev(b)
		if err != nil {
			if list != nil {
				t.Fatal("results returned with an error")
			}
			return
		}
		for _, s := range list {
			if strings.TrimSpace(s.Name) != s.Name || s.Name == "" || !strings.Contains(string(b), s.Name) {
				t.Fatalf("interface name %q", s.Name)
			}
		}
	})
}
