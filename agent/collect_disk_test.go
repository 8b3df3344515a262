package agent

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/disk"
)

const diskstatsSample = `   7       0 loop0 46 0 2142 11 0 0 0 0 0 40 11 0 0 0 0 0 0
 253       0 zvda 20516 8218 1703590 7519 1293812 1136373 49107632 1063302 0 1013028 1090871 0 0 0 0 77520 20049
 253       1 zvda1 20321 8218 1694398 7480 1293812 1136373 49107632 1063302 0 1013000 1070782 0 0 0 0 0 0
   7       1 loop1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 short line 1 2 3
 253      16 zvdb 10 0 80 1 5 0 40 2 0 3 3
`

// TestParseDiskstatsMatchesGopsutil compares the parser with gopsutil's
// disk.IOCounters on the same file (HOST_PROC points gopsutil at it),
// leaving out the serial number and label the parser does not read.
func TestParseDiskstatsMatchesGopsutil(t *testing.T) {
	tests := []struct {
		name, stats string
		names       []string
	}{
		{"sample", diskstatsSample, nil},
		{"names filter, paths too", diskstatsSample, []string{"/dev/zvda1", "loop0"}},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "diskstats")
			if err := os.WriteFile(path, []byte(tt.stats), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx := context.WithValue(context.Background(), common.EnvKey, common.EnvMap{
				common.HostProcEnvKey: dir, common.HostDevEnvKey: dir, common.HostRunEnvKey: dir, common.HostSysEnvKey: dir})
			want, err := disk.IOCountersWithContext(ctx, append([]string(nil), tt.names...)...)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range want {
				v.SerialNumber, v.Label = "", ""
				want[k] = v
			}
			names := append([]string(nil), tt.names...)
			got, err := newProcDiskstats(path).IOCounters(context.Background(), names...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
			if !reflect.DeepEqual(names, tt.names) {
				t.Errorf("names changed to %v", names)
			}
		})
	}
}

func TestParseDiskstatsErrors(t *testing.T) {
	tests := []struct{ name, stats, wantErr string }{
		{"not a number", " 8 0 sda 1 2 x 4 5 6 7 8 9 10 11\n", "field 6"},
		{"negative", " 8 0 sda 1 2 3 4 5 6 7 8 9 10 -11\n", "field 14"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDiskstats([]byte(tt.stats), nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseDiskstats(f *testing.F) {
	f.Add([]byte(diskstatsSample))
	f.Add([]byte(" 8 0 sda 18446744073709551615 0 18446744073709551615 0 0 0 0 0 0 0 0\n"))
	f.Add([]byte("a b c d e f g h i j k l m n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseDiskstats(b, nil)
		if err != nil {
			if m != nil {
				t.Fatal("results returned with an error")
			}
			return
		}
		for name, d := range m {
			if name == "" || d.Name != name {
				t.Fatalf("device %q named %q", name, d.Name)
			}
			if d == (disk.IOCountersStat{Name: name}) {
				t.Fatalf("device %q with all-zero counters kept", name)
			}
			if !strings.Contains(string(b), name) {
				t.Fatalf("device %q not in the input", name)
			}
		}
	})
}
