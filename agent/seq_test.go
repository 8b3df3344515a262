package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readSeqFile(t *testing.T, p string) uint64 {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSeqNeverReusedAcrossRestarts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agent-x.seq")
	const block = 10
	seen := map[uint64]bool{}
	var last uint64
	// Each "run" uses a different number of seqs, crossing block borders.
	for run, n := range []int{3, 10, 25, 0, 1} {
		s, err := openSeq(p, block)
		if err != nil {
			t.Fatal(err)
		}
		if got := readSeqFile(t, p); got != s.next+block {
			t.Fatalf("run %d: file holds %d, want reservation %d written before use", run, got, s.next+block)
		}
		for range n {
			v, err := s.Next()
			if err != nil {
				t.Fatal(err)
			}
			if seen[v] || v <= last {
				t.Fatalf("run %d: seq %d reused or not increasing (last %d)", run, v, last)
			}
			if v >= readSeqFile(t, p) {
				t.Fatalf("run %d: seq %d handed out beyond the persisted reservation %d", run, v, readSeqFile(t, p))
			}
			seen[v], last = true, v
		}
	}
	if last == 0 || !seen[1] {
		t.Fatalf("first seq of a fresh agent must be 1; seen %v", seen)
	}
}

func TestSeqFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		wantErr string
		next    uint64
	}{
		{"garbage", "hello", "corrupt", 0},
		{"zero", "0\n", "corrupt", 0},
		{"negative", "-5", "corrupt", 0},
		{"good with spaces", "  42 \n", "", 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".seq")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := openSeq(p, 5)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || s.next != tt.next {
				t.Fatalf("openSeq = %+v, %v", s, err)
			}
		})
	}
	// An unwritable directory fails at start, not silently later.
	if _, err := openSeq(filepath.Join(dir, "missing", "x.seq"), 5); err == nil {
		t.Error("want error for a seq file in a missing directory")
	}
}

func FuzzSeqFile(f *testing.F) {
	for _, s := range []string{"", "1", "1000\n", "18446744073709551615", "abc", "0", " 7 ", "\x00"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(dir, "f.seq")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := openSeq(p, 10)
		if err != nil {
			return
		}
		if s.next == 0 {
			t.Fatalf("seq 0 accepted from %q", content)
		}
		v, _ := s.Next()
		if v != s.next-1 || v == 0 {
			t.Fatalf("Next = %d, next %d", v, s.next)
		}
	})
}
