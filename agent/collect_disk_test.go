package agent

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestBlockStatMatchesDiskstats reads every device with counters through
// its own /sys/class/block/<name>/stat file between two reads of
// /proc/diskstats: the same devices, and each cumulative counter within
// the two readings (the in-flight count is a gauge and only parsed).
func TestBlockStatMatchesDiskstats(t *testing.T) {
	full := newProcDiskstats("/proc/diskstats")
	full.sysBlock = "" // every read lists
	d1, err := full.IOCounters(context.Background())
	if err != nil {
		t.Skipf("no /proc/diskstats here: %v", err)
	}
	if _, err := os.Stat("/sys/class/block"); err != nil || len(d1) == 0 {
		t.Skipf("no /sys/class/block or no active device here (%v, %d devices)", err, len(d1))
	}
	files := &procDiskstats{sysBlock: "/sys/class/block", now: time.Now}
	for name := range d1 {
		files.active = append(files.active, &blockStat{name: name, procFile: procFile{
			path: filepath.Join(files.sysBlock, strings.ReplaceAll(name, "/", "!"), "stat"), single: true}})
	}
	got, ok := files.readActive()
	if !ok {
		t.Fatalf("reading the stat files of %v failed", slices.Collect(maps.Keys(d1)))
	}
	d2, err := full.IOCounters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cum := func(d disk.IOCountersStat) []uint64 {
		return []uint64{d.ReadCount, d.MergedReadCount, d.ReadBytes, d.ReadTime, d.WriteCount, d.MergedWriteCount,
			d.WriteBytes, d.WriteTime, d.IoTime, d.WeightedIO}
	}
	for name, a := range d1 {
		s, ok := got[name]
		if !ok {
			t.Errorf("%s: in /proc/diskstats, not read from its stat file", name)
			continue
		}
		if s.Name != name {
			t.Errorf("%s: named %q", name, s.Name)
		}
		b := d2[name]
		lo, mid, hi := cum(a), cum(s), cum(b)
		for i := range mid {
			if mid[i] < lo[i] || mid[i] > hi[i] {
				t.Errorf("%s: counter %d = %d from the stat file, %d and %d from /proc/diskstats before and after", name, i, mid[i], lo[i], hi[i])
			}
		}
	}
	for name := range got {
		if _, ok := d1[name]; !ok {
			t.Errorf("%s: read from its stat file, not in /proc/diskstats", name)
		}
	}
}

// TestProcDiskstatsActiveDevices: after a listing where at most a third of
// the devices have counters, reads take those devices' stat files until
// the listing is listEvery old or a file cannot be read; otherwise every
// read lists.
func TestProcDiskstatsActiveDevices(t *testing.T) {
	const idle = " 7 0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n 7 1 loop1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
	line := func(name string, n int) string {
		return fmt.Sprintf(" 8 0 %s %d 0 %d 0 %d 0 %d 0 0 %d %d\n", name, n, 8*n, n, 8*n, n, 2*n)
	}
	blockStat := func(n int) string { // the same counters as line(_, n)
		return fmt.Sprintf("%8d 0 %d 0 %d 0 %d 0 0 %d %d 0 0 0 0 0 0\n", n, 8*n, n, 8*n, n, 2*n)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "diskstats")
	sys := filepath.Join(dir, "block")
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Unix(1000, 0)
	p := newProcDiskstats(path)
	p.sysBlock, p.now = sys, func() time.Time { return now }
	readCount := func() uint64 {
		t.Helper()
		m, err := p.IOCounters(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != 1 {
			t.Fatalf("devices %v, want cciss/c0d0 only", m)
		}
		d := m["cciss/c0d0"]
		if d.Name != "cciss/c0d0" || d.ReadBytes != 8*512*d.ReadCount || d.WeightedIO != 2*d.ReadCount {
			t.Fatalf("counters %+v", d)
		}
		return d.ReadCount
	}
	statPath := filepath.Join(sys, "cciss!c0d0", "stat")
	write(path, idle+line("cciss/c0d0", 1))
	write(statPath, blockStat(2))
	if n := readCount(); n != 1 {
		t.Fatalf("first read %d, want 1 (a listing)", n)
	}
	write(path, idle+line("cciss/c0d0", 3))
	if n := readCount(); n != 2 {
		t.Fatalf("read after a listing %d, want 2 (the device's stat file)", n)
	}
	now = now.Add(diskListEvery)
	if n := readCount(); n != 3 {
		t.Fatalf("read a listing period later %d, want 3 (a new listing)", n)
	}
	if n := readCount(); n != 2 {
		t.Fatalf("read after the new listing %d, want 2", n)
	}
	write(statPath, "garbage\n")
	write(path, idle+line("cciss/c0d0", 4))
	if n := readCount(); n != 4 {
		t.Fatalf("read with a bad stat file %d, want 4 (listed again)", n)
	}
	write(statPath, blockStat(2))
	if n := readCount(); n != 2 {
		t.Fatalf("read after the new listing %d, want 2", n)
	}
	// A device that is gone: its sysfs file fails to read (ENODEV; here
	// the kept descriptor is closed and the file removed).
	if err := os.Remove(statPath); err != nil {
		t.Fatal(err)
	}
	p.active[0].f.Close()
	write(path, idle+line("cciss/c0d0", 5))
	if n := readCount(); n != 5 {
		t.Fatalf("read with the stat file gone %d, want 5 (listed again)", n)
	}
	// Two active devices of four lines: more than a third, every read lists.
	write(statPath, blockStat(5))
	write(path, idle+line("cciss/c0d0", 6)+line("sdb", 1))
	q := newProcDiskstats(path)
	q.sysBlock, q.now = sys, func() time.Time { return now }
	for range 2 {
		m, err := q.IOCounters(context.Background())
		if err != nil || m["cciss/c0d0"].ReadCount != 6 || len(m) != 2 {
			t.Fatalf("read with half the devices active: %v, %v; want the listing's counters", m, err)
		}
	}
}

func FuzzParseBlockStat(f *testing.F) {
	f.Add([]byte("  1716004   195267 42711770  2687093  1976701   593799 266845464  1296416        0   552672  4148832  1175060     1826 307724792   106903   626240    58418\n"))
	f.Add([]byte("1 2 3 4 5 6 7 8 9 10 11"))
	f.Add([]byte("1 2 3 4 5 6 7 8 9 10\n"))
	f.Add([]byte("18446744073709551615 0 0 0 0 0 0 0 0 0 18446744073709551616\n"))
	f.Add([]byte("1 2 3 4 5 6 7 8 9 10 -1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseBlockStat(b)
		fields := bytes.Fields(b)
		if err != nil {
			if v != ([11]uint64{}) {
				t.Fatal("counters returned with an error")
			}
			return
		}
		if len(fields) < 11 {
			t.Fatalf("%d fields accepted", len(fields))
		}
		for i := range v {
			if strconv.FormatUint(v[i], 10) != strings.TrimLeft(string(fields[i]), "+0") && !(v[i] == 0 && strings.Trim(string(fields[i]), "+0") == "") {
				t.Fatalf("field %d: %q parsed as %d", i, fields[i], v[i])
			}
		}
	})
}
