package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

const meminfoSample = `MemTotal:        8030876 kB
MemFree:          512344 kB
MemAvailable:    4123456 kB
Buffers:          204800 kB
Cached:          3000000 kB
SwapCached:            0 kB
Active(file):    1000000 kB
Inactive(file):  2000000 kB
Slab:             400000 kB
SReclaimable:     300000 kB
SUnreclaim:       100000 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
`

// hostProcCtx points gopsutil at dir instead of /proc.
func hostProcCtx(dir string) context.Context {
	return context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: dir})
}

// TestProcMeminfoMatchesGopsutil compares the single-read meminfo parser
// with gopsutil's mem.VirtualMemory on the same file: the fields the
// memory collector reports are equal.
func TestProcMeminfoMatchesGopsutil(t *testing.T) {
	tests := []struct{ name, meminfo string }{
		{"sample", meminfoSample},
		{"no SReclaimable", strings.ReplaceAll(meminfoSample, "SReclaimable:     300000 kB\n", "")},
		{"no final newline", strings.TrimSuffix(meminfoSample, "\n")},
		{"odd spacing", "MemTotal:1000 kB\nMemFree:   10 kB  \nMemAvailable:\t500 kB\nBuffers: 1 kB\nCached: 2 kB\n"},
		{"foreign lines", "garbage\nMemTotal: 100 kB\na:b:c\nMemAvailable: 50 kB\nMemFree: 5 kB\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "meminfo")
			if err := os.WriteFile(path, []byte(tt.meminfo), 0o600); err != nil {
				t.Fatal(err)
			}
			want, err := mem.VirtualMemoryWithContext(hostProcCtx(dir))
			if err != nil {
				t.Fatal(err)
			}
			p := newProcMeminfo(path)
			p.fallback = nil // the sample has MemAvailable: no fallback needed
			got, err := p.VirtualMemory(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			type fields struct{ Total, Available, Used, Free, Buffers, Cached uint64 }
			g := fields{got.Total, got.Available, got.Used, got.Free, got.Buffers, got.Cached}
			w := fields{want.Total, want.Available, want.Used, want.Free, want.Buffers, want.Cached}
			if g != w || got.UsedPercent != want.UsedPercent {
				t.Errorf("got  %+v %v%%\nwant %+v %v%%", g, got.UsedPercent, w, want.UsedPercent)
			}
		})
	}
}

// TestProcMeminfoFallback: without MemAvailable (kernels before 3.14) the
// reader asks gopsutil, which estimates it from /proc/zoneinfo.
func TestProcMeminfoFallback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meminfo")
	if err := os.WriteFile(path, []byte("MemTotal: 100 kB\nMemFree: 10 kB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newProcMeminfo(path)
	called := 0
	p.fallback = func(context.Context) (*mem.VirtualMemoryStat, error) {
		called++
		return &mem.VirtualMemoryStat{Total: 1}, nil
	}
	got, err := p.VirtualMemory(context.Background())
	if err != nil || called != 1 || got.Total != 1 {
		t.Fatalf("got %+v, %v after %d fallback calls; want the fallback's result", got, err, called)
	}
	p.fallback = nil
	if _, err := p.VirtualMemory(context.Background()); err == nil {
		t.Fatal("no MemAvailable and no fallback: no error")
	}
}

func TestParseMeminfoErrors(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"empty", "", "no MemTotal"},
		{"bad number", "MemTotal: x kB\n", "MemTotal"},
		{"negative", "MemTotal: 1 kB\nCached: -4 kB\n", "Cached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := parseMeminfo([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestProcMeminfoHost reads this host's /proc/meminfo with both readers:
// same total, and the rest close (memory moves between the two reads).
func TestProcMeminfoHost(t *testing.T) {
	want, err := mem.VirtualMemory()
	if err != nil {
		t.Skipf("gopsutil cannot read memory here: %v", err)
	}
	got, err := newProcMeminfo("/proc/meminfo").VirtualMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const slack = 256 << 20
	near := func(a, b uint64) bool { return a-b < slack || b-a < slack }
	if got.Total != want.Total || !near(got.Available, want.Available) || !near(got.Cached, want.Cached) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestProcLoadavgMatchesGopsutil compares the loadavg parser with
// gopsutil's load.Avg on the same file.
func TestProcLoadavgMatchesGopsutil(t *testing.T) {
	for _, in := range []string{"0.52 0.58 0.59 2/1250 12345\n", "12.00 7.5 0.00 1/1 1", "1 2 3\n"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "loadavg")
		if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		want, err := load.AvgWithContext(hostProcCtx(dir))
		if err != nil {
			t.Fatal(err)
		}
		got, err := (&procLoadavg{procFile{path: path}}).Avg(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if *got != *want {
			t.Errorf("%q: got %+v, want %+v", in, got, want)
		}
	}
}

func TestParseLoadavgErrors(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"empty", "", "0 fields"},
		{"two fields", "1 2\n", "2 fields"},
		{"not a number", "1 x 3\n", "field 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseLoadavg([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseMeminfo(f *testing.F) {
	f.Add([]byte(meminfoSample))
	f.Add([]byte("MemTotal: 1 kB\n"))
	f.Add([]byte("MemTotal: 18446744073709551615 kB\nMemAvailable: 1 kB\n"))
	f.Add([]byte(":\n::\nMemTotal:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok, err := parseMeminfo(b)
		if err != nil {
			return
		}
		if m == nil || m.Total == 0 {
			t.Fatalf("no error but no total: %+v", m)
		}
		if ok && m.Used != m.Total-m.Available {
			t.Fatalf("used %d != total %d - available %d", m.Used, m.Total, m.Available)
		}
	})
}

func FuzzParseLoadavg(f *testing.F) {
	f.Add([]byte("0.52 0.58 0.59 2/1250 12345\n"))
	f.Add([]byte("1 2 3"))
	f.Add([]byte("\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseLoadavg(b)
		if err == nil && a == nil {
			t.Fatal("no error and no result")
		}
	})
}

// TestFieldsInto compares fieldsInto with bytes.Fields, capped at the
// destination's length.
func TestFieldsInto(t *testing.T) {
	for _, in := range []string{"", " ", "a", " a  b\tc\n", "cpu0 1 2 3 4 5 6 7 8 9 10 11 12 13", "x\u00a0y z", "\v\fa\rb", "a\x85b c"} {
		for _, size := range []int{0, 1, 3, 20} {
			want := bytes.Fields([]byte(in))
			if len(want) > size {
				want = want[:size]
			}
			dst := make([][]byte, size)
			n := fieldsInto([]byte(in), dst)
			if n != len(want) {
				t.Fatalf("%q into %d: %d fields, want %d", in, size, n, len(want))
			}
			for i := range want {
				if !bytes.Equal(dst[i], want[i]) {
					t.Fatalf("%q into %d: field %d = %q, want %q", in, size, i, dst[i], want[i])
				}
			}
		}
	}
}

func FuzzFieldsInto(f *testing.F) {
	f.Add([]byte("cpu0 1 2 3 4 5 6 7 8 9 10 11 12 13"), 5)
	f.Add([]byte(" a\u00a0b\tc "), 3)
	f.Fuzz(func(t *testing.T, b []byte, size int) {
		if size < 0 || size > 64 {
			return
		}
		want := bytes.Fields(b)
		if len(want) > size {
			want = want[:size]
		}
		dst := make([][]byte, size)
		if n := fieldsInto(b, dst); n != len(want) {
			t.Fatalf("%d fields, want %d", n, len(want))
		}
		for i := range want {
			if !bytes.Equal(dst[i], want[i]) {
				t.Fatalf("field %d = %q, want %q", i, dst[i], want[i])
			}
		}
	})
}

// TestProcFileSeqOneRead: the record-by-record /proc files the agent reads
// (diskstats, net/dev) come whole from the kept-open handle, in one read
// when shorter than seqShortRead (see there): the same lines as a read to
// EOF through a fresh open, within counters moving in between.
func TestProcFileSeqOneRead(t *testing.T) {
	for _, path := range []string{"/proc/diskstats", "/proc/net/dev", "/proc/self/mountinfo"} {
		t.Run(path, func(t *testing.T) {
			pf := &procFile{path: path}
			got, err := pf.read()
			if err != nil {
				t.Skipf("no %s here: %v", path, err)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := firstFields(got), firstFields(want); !slices.Equal(g, w) {
				t.Fatalf("read through the kept handle has lines %q, a fresh read %q", g, w)
			}
			if !bytes.HasSuffix(got, []byte("\n")) {
				t.Fatalf("read ends in %q, not at a line end", got[max(0, len(got)-20):])
			}
		})
	}
}

// firstFields returns the first three fields of every line (the names,
// not the counters).
func firstFields(b []byte) []string {
	var out []string
	for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		f := bytes.Fields(line)
		out = append(out, string(bytes.Join(f[:min(3, len(f))], []byte(" "))))
	}
	return out
}

// TestProcFileSeqShortReadRule: a record-by-record file read in pieces
// (a buffer smaller than the file) still comes whole: reads go on until
// one is short enough to prove the end.
func TestProcFileSeqShortReadRule(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	for _, size := range []int{seqShortRead - 1, seqShortRead, 4095, 4096, 4097, 3 * 4096, 10_000} {
		want := bytes.Repeat([]byte("x"), size)
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		pf := &procFile{path: p}
		got, err := pf.read()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: read %d bytes, %v", size, len(got), err)
		}
		pf.f.Close()
	}
}
