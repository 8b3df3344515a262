package bench

import (
	"fmt"
	"os"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
		wantErr  bool
	}{
		{"typical", "Name:\tlookout\nVmPeak:\t  100 kB\nVmRSS:\t   23456 kB\nThreads:\t7\n", 23456 * 1024, false},
		{"no trailing newline", "VmRSS:\t1 kB", 1024, false},
		{"missing", "Name:\tkthreadd\nThreads:\t1\n", 0, true},
		{"wrong unit", "VmRSS:\t12 MB\n", 0, true},
		{"not a number", "VmRSS:\tx kB\n", 0, true},
		{"negative", "VmRSS:\t-5 kB\n", 0, true},
		{"extra field", "VmRSS:\t5 kB extra\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVmRSS([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseVmRSS = %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	rest := " S 1 2 3 4 5 6 7 8 9 10 %s %s 13 14 20 0 7 0 100 2000 300"
	line := func(comm, ut, st string) string { return "4242 (" + comm + ")" + fmt.Sprintf(rest, ut, st) }
	tests := []struct {
		name, in string
		want     int64
		wantErr  bool
	}{
		{"typical", line("lookout", "150", "25"), 175, false},
		{"spaces and parens in comm", line("a) b (c", "1", "2"), 3, false},
		{"zero", line("x", "0", "0"), 0, false},
		{"no paren", "4242 lookout S 1 2", 0, true},
		{"short", "4242 (x) S 1 2 3", 0, true},
		{"bad utime", line("x", "u", "2"), 0, true},
		{"negative stime", line("x", "1", "-2"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatCPU([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseStatCPU(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestReadProcSelf(t *testing.T) {
	before, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if before.RSSBytes < 1<<20 {
		t.Fatalf("RSS of this test process is %d bytes, want at least 1 MiB", before.RSSBytes)
	}
	// Burn ~50ms of CPU so the tick counter (1/100 s) must move.
	x := 0
	for i := 0; ; i++ {
		x += i * i
		if i%1_000_000 == 0 {
			u, err := ReadProc(os.Getpid())
			if err != nil {
				t.Fatal(err)
			}
			if u.CPUTicks >= before.CPUTicks+5 {
				break
			}
		}
	}
	_ = x
	if _, err := ReadProc(1 << 30); err == nil {
		t.Fatal("ReadProc of a nonexistent pid succeeded")
	}
}

func FuzzParseProc(f *testing.F) {
	f.Add([]byte("VmRSS:\t   23456 kB\n"))
	f.Add([]byte("4242 (a) b) S 1 2 3 4 5 6 7 8 9 10 150 25 13 14 20"))
	f.Add([]byte("VmRSS:\t9223372036854775807 kB\n"))
	f.Add([]byte("1 () S 1 1 1 1 1 1 1 1 1 1 9223372036854775807 9223372036854775807"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := ParseVmRSS(b); err == nil && v < 0 {
			t.Fatalf("ParseVmRSS returned negative %d without error", v)
		}
		if v, err := ParseStatCPU(b); err == nil && v < 0 {
			t.Fatalf("ParseStatCPU returned negative %d without error", v)
		}
	})
}
