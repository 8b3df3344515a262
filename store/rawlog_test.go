package store

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openTestRawLog opens a raw log in dir with a 1 h retention on clk.
func openTestRawLog(t *testing.T, dir string, clk *clock) *rawLog {
	t.Helper()
	l, err := openRawLog(dir, time.Hour, clk.now, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// scanAll returns host's entries in l as "time/first=value" strings.
func scanAll(t *testing.T, l *rawLog, host string) []string {
	t.Helper()
	es, err := l.scan(host, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d/%s=%s", e.t-rawBase, e.first, e.value))
	}
	return out
}

// rawBase is the report time (unix ns) the tests count from.
var rawBase = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC).UnixNano()

func rrec(host string, dt int64, first, value string) rawRec {
	return rawRec{host: host, t: rawBase + dt, first: first, value: []byte(value)}
}

// TestRawLogRoundTrip: what is appended reads back per host, in time
// order (then by first series), only the host's, each (time, first) once
// (the last copy written), within the asked time range; across segments
// and after a reopen, with the segments' index files.
func TestRawLogRoundTrip(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Unix(0, rawBase).Add(time.Minute)}
	l := openTestRawLog(t, dir, clk)
	l.segAge = 10 * time.Second
	steps := [][]rawRec{
		{rrec("web1", 30, "m.cpu:all", "a"), rrec("db1", 10, "m.cpu:all", "x")},
		{rrec("web1", 10, "m.cpu:all", "b"), rrec("web1", 20, "m.disk:/", "c")},
		{rrec("web1", 20, "m.cpu:all", "d"), rrec("web1", 30, "m.cpu:all", "a2")}, // a later copy of 30/m.cpu:all
		{rrec("web2", 5, "m.cpu:all", "y")},
	}
	for _, recs := range steps {
		if err := l.append(recs); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(6 * time.Second) // a new segment every other step
	}
	want := []string{"10/m.cpu:all=b", "20/m.cpu:all=d", "20/m.disk:/=c", "30/m.cpu:all=a2"}
	check := func(when string, l *rawLog) {
		t.Helper()
		if got := scanAll(t, l, "web1"); !slices.Equal(got, want) {
			t.Fatalf("%s: web1 = %q, want %q", when, got, want)
		}
		if got := scanAll(t, l, "db1"); !slices.Equal(got, []string{"10/m.cpu:all=x"}) {
			t.Fatalf("%s: db1 = %q", when, got)
		}
		if got := scanAll(t, l, "nobody"); len(got) != 0 {
			t.Fatalf("%s: unknown host = %q", when, got)
		}
		es, err := l.scan("web1", rawBase+15, rawBase+20)
		if err != nil || len(es) != 2 || es[0].first != "m.cpu:all" || es[1].first != "m.disk:/" {
			t.Fatalf("%s: range 15..20 = %+v, %v", when, es, err)
		}
	}
	check("open", l)
	if n := len(l.segs); n != 2 {
		t.Fatalf("%d segments, want 2 (one per 10 s)", n)
	}
	l.idxWG.Wait() // the first segment's index is written in the background
	check("first segment indexed", l)
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if err := l.append([]rawRec{rrec("web1", 40, "m.cpu:all", "z")}); err == nil {
		t.Fatal("append after close succeeded")
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "*.idx"))
	if len(idx) != 2 {
		t.Fatalf("index files %q, want 2", idx)
	}
	l2 := openTestRawLog(t, dir, clk)
	defer l2.close()
	check("reopened", l2)
	// Appends after a reopen go to a new segment.
	if err := l2.append([]rawRec{rrec("web1", 40, "m.cpu:all", "e")}); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, l2, "web1"); len(got) != 5 || got[4] != "40/m.cpu:all=e" {
		t.Fatalf("after a reopen and an append: %q", got)
	}
}

// TestRawLogCrash: a process killed while appending leaves the segment
// without its index, possibly with a torn last record; the next open cuts
// it after its last whole record and indexes it, and a segment whose index
// file went missing is indexed again.
func TestRawLogCrash(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Unix(0, rawBase).Add(time.Minute)}
	l := openTestRawLog(t, dir, clk)
	l.segAge = 10 * time.Second
	for i := range 4 {
		if err := l.append([]rawRec{rrec("h", int64(i), "s", fmt.Sprint("v", i))}); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(6 * time.Second)
	}
	l.idxWG.Wait()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 2 {
		t.Fatalf("segments %q, want 2", segs)
	}
	// "Crash": l is dropped without close. The last segment gets half of
	// a record more, and the first one loses its index.
	last := segs[len(segs)-1]
	torn := appendRawRecord(nil, &rawRec{host: "h", t: rawBase + 9, first: "s", value: []byte("torn")})
	f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(torn[:len(torn)-3])
	f.Close()
	sizeBefore, _ := os.Stat(last)
	if err := os.Remove(idxPath(segs[0])); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "0000000000000000.idx.tmp"), []byte("junk"), 0o600)

	l2 := openTestRawLog(t, dir, clk)
	defer l2.close()
	if got := scanAll(t, l2, "h"); !slices.Equal(got, []string{"0/s=v0", "1/s=v1", "2/s=v2", "3/s=v3"}) {
		t.Fatalf("after the crash: %q", got)
	}
	st, _ := os.Stat(last)
	if st.Size() != sizeBefore.Size()-int64(len(torn)-3) {
		t.Fatalf("last segment %d bytes after open, want the torn record (%d bytes) cut off %d", st.Size(), len(torn)-3, sizeBefore.Size())
	}
	for _, s := range segs {
		if _, err := os.Stat(idxPath(s)); err != nil {
			t.Fatalf("segment %s has no index after open: %v", s, err)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(tmp) != 0 {
		t.Fatalf("leftover temporary files %q", tmp)
	}
}

// TestRawLogCorruptRecord: a record that no longer checks out (bit rot)
// is skipped, with the rest of the host's history still read.
func TestRawLogCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Unix(0, rawBase).Add(time.Minute)}
	l := openTestRawLog(t, dir, clk)
	if err := l.append([]rawRec{rrec("h", 1, "s", "one"), rrec("h", 2, "s", "two"), rrec("h", 3, "s", "three")}); err != nil {
		t.Fatal(err)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	b, _ := os.ReadFile(segs[0])
	i := bytes.Index(b, []byte("two"))
	b[i] ^= 0xff
	os.WriteFile(segs[0], b, 0o600)
	l2 := openTestRawLog(t, dir, clk)
	defer l2.close()
	if got := scanAll(t, l2, "h"); !slices.Equal(got, []string{"1/s=one", "3/s=three"}) {
		t.Fatalf("with record 2 corrupt: %q", got)
	}
}

// TestRawLogRetention: entries older than the retention are not read, and
// segments whose every entry is are deleted with their index; the segment
// being appended to stays.
func TestRawLogRetention(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Unix(0, rawBase)}
	l := openTestRawLog(t, dir, clk)
	defer l.close()
	l.segAge = time.Minute
	if err := l.append([]rawRec{rrec("h", 0, "s", "old")}); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(50 * time.Minute)
	if err := l.append([]rawRec{rrec("h", int64(50*time.Minute), "s", "new")}); err != nil {
		t.Fatal(err)
	}
	l.idxWG.Wait()
	clk.t = clk.t.Add(20 * time.Minute) // the first report is 70 min old, the second 20
	if got := scanAll(t, l, "h"); !slices.Equal(got, []string{fmt.Sprintf("%d/s=new", int64(50*time.Minute))}) {
		t.Fatalf("after the retention: %q", got)
	}
	l.expire()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if len(l.segs) != 1 || slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "0000000000000000.") }) {
		t.Fatalf("after expire: %d segments, files %q; want the first segment and its index gone", len(l.segs), names)
	}
	clk.t = clk.t.Add(2 * time.Hour)
	l.expire() // the segment being appended to is kept
	if len(l.segs) != 1 {
		t.Fatalf("the segment being appended to was expired")
	}
}

// TestRawLogConcurrent: appends, rotations, scans and expiry at once (run
// with -race).
func TestRawLogConcurrent(t *testing.T) {
	clk := &clock{t: time.Unix(0, rawBase)}
	l := openTestRawLog(t, t.TempDir(), clk)
	l.segSize = 4 << 10
	var wg sync.WaitGroup
	const writers, per = 3, 200
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if err := l.append([]rawRec{rrec(fmt.Sprint("h", w), int64(i), "s", "value")}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			if _, err := l.scan("h0", math.MinInt64, math.MaxInt64); err != nil {
				t.Error(err)
			}
			l.expire()
		}
	}()
	wg.Wait()
	<-done
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		if got := scanAll(t, l, fmt.Sprint("h", w)); len(got) != per {
			t.Fatalf("h%d: %d entries, want %d", w, len(got), per)
		}
	}
}

// TestStoreRawLogReopen: raw reports committed through a Batch are read
// back (Reports) after the store is closed and reopened, and after a
// reopen without a close (the raw log's last segment unindexed).
func TestStoreRawLogReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	ts := time.Now().UnixNano()
	b := s.Batch()
	if err := b.PutReport("web1", ts, EncodeReport(cpu(3))); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	count := func(s *Store) int {
		n := 0
		if err := s.Reports("web1", 0, func(int64, []model.Sample) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(s); n != 1 {
		t.Fatalf("%d reports, want 1", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, dir, Options{})
	if n := count(s2); n != 1 {
		t.Fatalf("after reopen: %d reports, want 1", n)
	}
}
