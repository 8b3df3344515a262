package bench

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestParseStatTimes(t *testing.T) {
	tests := []struct {
		name, stat   string
		utime, stime int64
		wantErr      string
	}{
		{"plain", "42 (lookout-agent) S 1 42 42 0 -1 4194560 100 0 0 0 27 31 0 0 20 0 6 0 1 2 3\n", 27, 31, ""},
		{"name with spaces and parens", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0\n", 5, 6, ""},
		{"no name", "7 a R 1", 0, 0, "no ')'"},
		{"short", "7 (x) R 1 2 3\n", 0, 0, "want at least 13"},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 u 6 0\n", 0, 0, "utime"},
		{"negative stime accepted as read", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 5 -6 0\n", 5, -6, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, s, err := parseStatTimes([]byte(tt.stat))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || u != tt.utime || s != tt.stime {
				t.Fatalf("got %d, %d, %v; want %d, %d", u, s, err, tt.utime, tt.stime)
			}
		})
	}
}

func TestParseCtxtSwitches(t *testing.T) {
	tests := []struct {
		name, status string
		vol, invol   int64
		wantErr      string
	}{
		{"status", "Name:\tx\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t5692\nnonvoluntary_ctxt_switches:\t209\n", 5692, 209, ""},
		{"missing", "Name:\tx\nvoluntary_ctxt_switches:\t1\n", 0, 0, "no voluntary"},
		{"one line twice", "voluntary_ctxt_switches:\t1\nvoluntary_ctxt_switches:\t2\n", 0, 0, "no voluntary"},
		{"bad number", "voluntary_ctxt_switches:\tx\nnonvoluntary_ctxt_switches:\t1\n", 0, 0, "voluntary_ctxt_switches"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n, err := parseCtxtSwitches([]byte(tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || v != tt.vol || n != tt.invol {
				t.Fatalf("got %d, %d, %v; want %d, %d", v, n, err, tt.vol, tt.invol)
			}
		})
	}
}

// TestReadThreads reads this process: its CPU time and switches only grow.
func TestReadThreads(t *testing.T) {
	a, err := readThreads(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	x := 0
	for i := range 3_000_000 { // some CPU time
		x += i % 7
	}
	done := make(chan int)
	go func() { done <- x }()
	<-done
	b, err := readThreads(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if b.utime < a.utime || b.stime < a.stime || b.voluntary+b.involuntary < a.voluntary+a.involuntary ||
		b.voluntary+b.involuntary == 0 {
		t.Fatalf("before %+v, after %+v", a, b)
	}
}

func FuzzParseStatTimes(f *testing.F) {
	f.Add([]byte("42 (lookout-agent) S 1 42 42 0 -1 4194560 100 0 0 0 27 31 0 0 20 0 6 0 1 2 3\n"))
	f.Add([]byte("7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0\n"))
	f.Add([]byte("7 (x) R"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, s, err := parseStatTimes(b)
		if err != nil {
			if u != 0 || s != 0 {
				t.Fatal("times returned with an error")
			}
			return
		}
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		if len(f) < 13 {
			t.Fatalf("%d fields after the name accepted", len(f))
		}
		if wu, _ := strconv.ParseInt(string(f[11]), 10, 64); wu != u {
			t.Fatalf("utime %q read as %d", f[11], u)
		}
		if ws, _ := strconv.ParseInt(string(f[12]), 10, 64); ws != s {
			t.Fatalf("stime %q read as %d", f[12], s)
		}
	})
}

func FuzzParseCtxtSwitches(f *testing.F) {
	f.Add([]byte("voluntary_ctxt_switches:\t5692\nnonvoluntary_ctxt_switches:\t209\n"))
	f.Add([]byte("voluntary_ctxt_switches:\nnonvoluntary_ctxt_switches:1"))
	f.Add([]byte("voluntary_ctxt_switches:1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := parseCtxtSwitches(b)
		if err != nil {
			if v != 0 || n != 0 {
				t.Fatal("counts returned with an error")
			}
			return
		}
		if !bytes.Contains(b, []byte("voluntary_ctxt_switches:")) || !bytes.Contains(b, []byte("nonvoluntary_ctxt_switches:")) {
			t.Fatal("counts without both lines")
		}
	})
}
