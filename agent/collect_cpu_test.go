package agent

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/cpu"
)

const procStatSample = `cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0
cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0
cpu1 1335514 32337 385917 13489186 3316 0 3436 12 19410 7
intr 199292331 33 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0
ctxt 280345467
btime 1700000000
cpu2 100 0 200 300 0 0 0
procs_running 2
`

// TestParseProcStatMatchesGopsutil compares the single-read parser with
// gopsutil's cpu.Times on the same files (HOST_PROC points gopsutil at
// them): same cores, same totals, same values.
func TestParseProcStatMatchesGopsutil(t *testing.T) {
	tests := []struct {
		name, stat string
	}{
		{"sample", procStatSample},
		{"short lines (no steal/guest)", "cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n"},
		{"extra columns ignored", "cpu  1 2 3 4 5 6 7 8 9 10 11 12\ncpu0 1 2 3 4 5 6 7 8 9 10 11 12\n"},
		{"no final newline", "cpu 9 8 7 6 5 4 3 2\ncpu0 9 8 7 6 5 4 3 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "stat")
			if err := os.WriteFile(path, []byte(tt.stat), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx := context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: dir})
			ps := newProcStat(path)
			for _, percpu := range []bool{true, false} {
				want, err := cpu.TimesWithContext(ctx, percpu)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ps.Times(context.Background(), percpu)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("percpu=%v:\n got %+v\nwant %+v", percpu, got, want)
				}
			}
		})
	}
}

// TestProcStatOneReadPerCollection: the total call after a per-core call
// uses that read; a total call alone reads the file.
func TestProcStatOneReadPerCollection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stat")
	write := func(user string) {
		if err := os.WriteFile(path, []byte("cpu "+user+" 0 0 100 0 0 0 0\ncpu0 "+user+" 0 0 100 0 0 0 0\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ps := newProcStat(path)
	write("100")
	if _, err := ps.Times(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	write("200") // changed between the two calls of one collection
	tot, err := ps.Times(context.Background(), false)
	if err != nil || len(tot) != 1 || tot[0].User != 100/cpu.ClocksPerSec {
		t.Fatalf("total after a per-core read = %+v, %v; want the same read's total (user %v)", tot, err, 100/cpu.ClocksPerSec)
	}
	tot, err = ps.Times(context.Background(), false)
	if err != nil || len(tot) != 1 || tot[0].User != 200/cpu.ClocksPerSec {
		t.Fatalf("total alone = %+v, %v; want a fresh read (user %v)", tot, err, 200/cpu.ClocksPerSec)
	}
}

func TestParseProcStatErrors(t *testing.T) {
	tests := []struct {
		name, stat string
		ticks      float64
		wantErr    string
	}{
		{"no cpu lines", "intr 1 2\nctxt 3\n", 100, "no cpu lines"},
		{"empty", "", 100, "no cpu lines"},
		{"too few fields", "cpu 1 2 3 4 5 6\n", 100, "want at least 8"},
		{"not a number", "cpu 1 2 x 4 5 6 7\n", 100, "field 3"},
		{"negative", "cpu 1 2 -3 4 5 6 7\n", 100, "field 3"},
		{"bad ticks", procStatSample, 0, "not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseProcStat([]byte(tt.stat), tt.ticks)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestReadProcFile reads files of many sizes through one kept-open file
// handle per path: every read sees the file's current content (rewritten
// in place, as /proc regenerates it), and a missing file is an error.
func TestReadProcFile(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single=%v", single), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f")
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			pf := &procFile{path: p, single: single}
			defer func() {
				if pf.f != nil {
					pf.f.Close()
				}
			}()
			for _, size := range []int{0, 10, 4096, 4097, 100_000, 5, 8192} {
				want := strings.Repeat(string(rune('a'+size%26)), size)
				if err := os.WriteFile(p, []byte(want), 0o600); err != nil {
					t.Fatal(err)
				}
				got, err := pf.read()
				if err != nil || string(got) != want {
					t.Fatalf("size %d: read %d bytes, %v", size, len(got), err)
				}
				if pf.f == nil {
					t.Fatalf("size %d: the file was not kept open", size)
				}
			}
			missing := &procFile{path: filepath.Join(dir, "missing"), single: single}
			if _, err := missing.read(); err == nil || missing.f != nil {
				t.Fatalf("reading a missing file: err %v, file %v; want an error and no file", err, missing.f)
			}
		})
	}
}

// TestReadProcFileRealProc re-reads a real /proc file through the same
// handle and sees it change (the kernel regenerates it for a read from
// offset 0: /proc/uptime moves every 10 ms), and a handle closed underneath
// is reopened.
func TestReadProcFileRealProc(t *testing.T) {
	pf := &procFile{path: "/proc/uptime", single: true}
	first, err := pf.read()
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	first = append([]byte(nil), first...)
	changed := false
	for i := 0; i < 100 && !changed; i++ {
		time.Sleep(20 * time.Millisecond)
		b, err := pf.read()
		if err != nil {
			t.Fatal(err)
		}
		changed = string(b) != string(first)
	}
	if !changed {
		t.Errorf("/proc/uptime read through a kept-open handle stayed %q for 2 s", first)
	}
	pf.f.Close() // stale handle: the next read reopens
	if b, err := pf.read(); err != nil || len(b) == 0 {
		t.Fatalf("read after the handle was closed: %d bytes, %v", len(b), err)
	}
}

func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte(procStatSample))
	f.Add([]byte("cpu 1 2 3 4 5 6 7\n"))
	f.Add([]byte("cpu0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0\n"))
	f.Add([]byte("cpu\ncpu 1\n"))
	f.Add([]byte("cpux 1 2 3 4 5 6 7 8\n\n\ncpu 1 2 3 4 5 6 7"))
	f.Fuzz(func(t *testing.T, b []byte) {
		per, tot, err := parseProcStat(b, 100)
		if err != nil {
			if per != nil || tot != nil {
				t.Fatal("results returned with an error")
			}
			return
		}
		if len(per)+len(tot) == 0 {
			t.Fatal("no error and no cpu lines")
		}
		for _, c := range append(per, tot...) {
			if !strings.HasPrefix(c.CPU, "cpu") {
				t.Fatalf("cpu name %q", c.CPU)
			}
			for _, v := range []float64{c.User, c.Nice, c.System, c.Idle, c.Iowait, c.Irq, c.Softirq, c.Steal, c.Guest, c.GuestNice} {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: value %v", c.CPU, v)
				}
			}
		}
		for _, c := range tot {
			if c.CPU != "cpu-total" {
				t.Fatalf("total named %q", c.CPU)
			}
		}
	})
}
