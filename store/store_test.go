package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openTest(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type rec struct {
	Name  string            `msgpack:"n"`
	Count int               `msgpack:"c"`
	Tags  map[string]string `msgpack:"t"`
}

func TestKVRoundTrip(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	tests := []struct {
		name, ns, key string
		put           any
		get           func() any // fresh pointer to decode into
		sync          bool
	}{
		{"struct", "hosts", "web1", &rec{Name: "web1", Count: 3, Tags: map[string]string{"dc": "ams"}}, func() any { return new(rec) }, false},
		{"struct synced", "outbox", "mail/0001", &rec{Name: "x", Count: -1}, func() any { return new(rec) }, true},
		{"uint64", "seq", "agent-a", uint64(1) << 60, func() any { return new(uint64) }, false},
		{"string with slash key", "rules", "a/b/c", "cpu > 90", func() any { return new(string) }, true},
		{"model type", "alarms", "r1|web1|x", &model.AlarmStatus{Rule: "r1", Host: "web1", State: model.AlarmFiring, Level: model.CRIT, Value: 97.5, Since: time.Unix(1700000000, 0)}, func() any { return new(model.AlarmStatus) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			put := s.Put
			if tc.sync {
				put = s.PutSync
			}
			if err := put(tc.ns, tc.key, tc.put); err != nil {
				t.Fatalf("put: %v", err)
			}
			got := tc.get()
			ok, err := s.Get(tc.ns, tc.key, got)
			if err != nil || !ok {
				t.Fatalf("get = %v, %v", ok, err)
			}
			want := tc.put
			if reflect.TypeOf(want).Kind() != reflect.Pointer {
				got = reflect.ValueOf(got).Elem().Interface()
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("get = %#v, want %#v", got, want)
			}
			del := s.Delete
			if tc.sync {
				del = s.DeleteSync
			}
			if err := del(tc.ns, tc.key); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if ok, err := s.Get(tc.ns, tc.key, tc.get()); ok || err != nil {
				t.Fatalf("get after delete = %v, %v", ok, err)
			}
		})
	}
}

func TestInvalidKeys(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	tests := []struct{ ns, key string }{
		{"", "k"},
		{"a/b", "k"},
		{"ns", ""},
		{"n s", "k"},
		{"\x01H", "k"},
		{strings.Repeat("n", MaxNamespace+1), "k"},
		{"ns", strings.Repeat("k", MaxKey+1)},
	}
	for _, tc := range tests {
		if err := s.Put(tc.ns, tc.key, 1); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%q, %q) = %v, want ErrInvalidKey", tc.ns, tc.key, err)
		}
		if _, err := s.Get(tc.ns, tc.key, new(int)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get(%q, %q) = %v, want ErrInvalidKey", tc.ns, tc.key, err)
		}
	}
}

func TestListAndNamespaces(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	for _, k := range []string{"web2", "web1", "db1", "web10"} {
		if err := s.Put("hosts", k, k+"-v"); err != nil {
			t.Fatal(err)
		}
	}
	// Same keys in a namespace that is a prefix of the other must not leak.
	if err := s.Put("host", "web1", "other"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("hostsx", "web1", "other"); err != nil {
		t.Fatal(err)
	}
	// History and downtimes must not show up in any namespace either.
	now := time.Now()
	if err := s.AddSamples("web1", now, []model.Sample{{Service: "machine", Resource: "cpu", Unit: "all", Values: map[string]float64{"used": 1}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"db1", "web1", "web10", "web2"}},
		{"web", []string{"web1", "web10", "web2"}},
		{"web1", []string{"web1", "web10"}},
		{"x", nil},
	}
	for _, tc := range tests {
		var got []string
		err := s.List("hosts", tc.prefix, func(k string, raw []byte) error {
			var v string
			if err := Decode(raw, &v); err != nil {
				return err
			}
			if v != k+"-v" {
				return fmt.Errorf("value of %s = %q", k, v)
			}
			got = append(got, k)
			return nil
		})
		if err != nil {
			t.Fatalf("List(%q): %v", tc.prefix, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("List(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := s.List("hosts", "", func(string, []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("List with failing fn = %v after %d calls, want stop after 1", err, n)
	}
}

func TestBatch(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	if err := s.Put("ledger", "old", 1); err != nil {
		t.Fatal(err)
	}
	b := s.Batch()
	for i := range 100 {
		if err := b.Put("ledger", fmt.Sprintf("n%03d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	b.Delete("ledger", "old")
	if b.Len() != 101 {
		t.Fatalf("Len = %d, want 101", b.Len())
	}
	// Nothing is visible before Commit.
	if ok, _ := s.Get("ledger", "n000", new(int)); ok {
		t.Fatal("batch write visible before commit")
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err == nil {
		t.Fatal("second Commit succeeded")
	}
	n := 0
	if err := s.List("ledger", "", func(k string, raw []byte) error {
		var v int
		if err := Decode(raw, &v); err != nil {
			return err
		}
		if want := fmt.Sprintf("n%03d", v); k != want {
			return fmt.Errorf("key %s holds %d", k, v)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 100 {
		t.Fatalf("%d keys after batch, want 100 (old deleted)", n)
	}

	// A failed Put makes the whole batch fail and write nothing.
	b = s.Batch()
	if err := b.Put("ledger", "good", 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Put("bad/ns", "k", 1); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("bad Put = %v", err)
	}
	if err := b.Commit(false); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("Commit after bad Put = %v, want ErrInvalidKey", err)
	}
	if ok, _ := s.Get("ledger", "good", new(int)); ok {
		t.Fatal("failed batch wrote a key")
	}

	// Discard writes nothing.
	b = s.Batch()
	_ = b.Put("ledger", "discarded", 1)
	b.Discard()
	if ok, _ := s.Get("ledger", "discarded", new(int)); ok {
		t.Fatal("discarded batch wrote a key")
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("seq", "agent", uint64(42)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Put("seq", "agent", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Get("seq", "agent", new(uint64)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
	s = openTest(t, dir, Options{})
	var v uint64
	if ok, err := s.Get("seq", "agent", &v); !ok || err != nil || v != 42 {
		t.Fatalf("after reopen: %v %v %d", ok, err, v)
	}
}

func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{})
	_, err := Open(dir, Options{Logger: quietLogger()})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
	want := fmt.Sprintf("data dir %s in use by another lookout process (pid %d)", dir, os.Getpid())
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("", Options{}); err == nil {
		t.Fatal("Open with empty dir succeeded")
	}
	// Critical free space larger than any disk: Open refuses instead of
	// letting badger crash on a full disk.
	_, err := Open(t.TempDir(), Options{MinFreeBytes: 1 << 62, CriticalFreeBytes: 1 << 62, Logger: quietLogger()})
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Open with huge CriticalFreeBytes = %v, want ErrDiskFull", err)
	}
	// A file where the dir should be.
	f := t.TempDir() + "/file"
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(f, Options{Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("Open on a file = %v, want an error naming it", err)
	}
}

func TestHistoryReadOnly(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{MinFreeBytes: 1 << 62})
	if !s.HistoryReadOnly() {
		t.Fatal("HistoryReadOnly = false with MinFreeBytes above any disk")
	}
	free, ro, err := s.CheckSpace()
	if err != nil || !ro || free == 0 {
		t.Fatalf("CheckSpace = %d, %v, %v", free, ro, err)
	}
	sm := []model.Sample{{Service: "machine", Resource: "cpu", Unit: "all", Values: map[string]float64{"used": 5}}}
	now := time.Now()
	if err := s.AddSamples("web1", now, sm); !errors.Is(err, ErrHistoryReadOnly) {
		t.Fatalf("AddSamples = %v, want ErrHistoryReadOnly", err)
	}
	pts, err := s.History("web1", "machine.cpu:all", "used", now.Add(-time.Minute), now.Add(time.Minute), 0)
	if err != nil || len(pts) != 0 {
		t.Fatalf("History after refused write = %v, %v; want nothing", pts, err)
	}
	if err := s.Put("hosts", "web1", "state"); err != nil {
		t.Fatalf("Put while history read-only: %v", err)
	}
	if err := s.PutDowntime(model.Downtime{Host: "web1", Service: "host", Start: now}); err != nil {
		t.Fatalf("PutDowntime while history read-only: %v", err)
	}

	// The normal case: plenty of space.
	s2 := openTest(t, t.TempDir(), Options{})
	if s2.HistoryReadOnly() {
		t.Fatal("HistoryReadOnly with default MinFreeBytes on a roomy disk")
	}
	if err := s2.AddSamples("web1", now, sm); err != nil {
		t.Fatal(err)
	}
}

// TestHelperWriter is the child process of TestKill9Durability: it writes
// batches until killed, printing "acked <n>" after each Commit returns.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv("LOOKOUT_STORE_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestKill9Durability")
	}
	s, err := Open(dir, Options{Logger: quietLogger()})
	if err != nil {
		fmt.Println("open failed:", err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; i < 1_000_000; i++ {
		b := s.Batch()
		for j := range 5 {
			if err := b.Put("dur", fmt.Sprintf("%07d-%d", i, j), rec{Name: "r", Count: i*10 + j}); err != nil {
				fmt.Println("put failed:", err)
				os.Exit(3)
			}
		}
		if err := b.Commit(false); err != nil {
			fmt.Println("commit failed:", err)
			os.Exit(3)
		}
		fmt.Fprintf(w, "acked %d\n", i)
		w.Flush()
	}
	os.Exit(0)
}

func TestKill9Durability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
	cmd.Env = append(os.Environ(), "LOOKOUT_STORE_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	sc := bufio.NewScanner(out)
	last := -1
	const want = 2000
	for last < want && sc.Scan() {
		line := sc.Text()
		n, ok := strings.CutPrefix(line, "acked ")
		if !ok {
			t.Fatalf("child said %q", line)
		}
		if last, err = strconv.Atoi(n); err != nil {
			t.Fatal(err)
		}
		if last == 50 {
			// While the child holds the dir, another process cannot open it.
			_, err := Open(dir, Options{Logger: quietLogger()})
			if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), fmt.Sprintf("(pid %d)", cmd.Process.Pid)) {
				t.Fatalf("Open while the child holds the dir = %v, want ErrInUse naming pid %d", err, cmd.Process.Pid)
			}
			t.Logf("second process: %v", err)
		}
	}
	if last < want {
		t.Fatalf("child stopped after %d acks: %v", last, sc.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}

	s := openTest(t, dir, Options{})
	for i := 0; i <= last; i++ {
		for j := range 5 {
			var r rec
			k := fmt.Sprintf("%07d-%d", i, j)
			ok, err := s.Get("dur", k, &r)
			if err != nil || !ok || r.Count != i*10+j {
				t.Fatalf("acked key %s after kill -9: found=%v err=%v value=%+v", k, ok, err, r)
			}
		}
	}
	t.Logf("all %d acked batches survived kill -9", last+1)
}

// TestConcurrentUseAndClose: many goroutines write history and state while
// the store closes under them; every call either succeeds or returns
// ErrClosed, and nothing panics (run with -race).
func TestConcurrentUseAndClose(t *testing.T) {
	base := time.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	s, err := Open(t.TempDir(), Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sm := []model.Sample{{Service: "machine", Resource: "load", Unit: "1m", Values: map[string]float64{"v": 1}}}
	errc := make(chan error, 64)
	done := make(chan struct{}, 1)
	for g := range 6 {
		go func() {
			host := fmt.Sprintf("h%d", g)
			for i := 0; ; i++ {
				ts := base.Add(time.Duration(i) * time.Second)
				var err error
				switch i % 3 {
				case 0:
					err = s.AddSamples(host, ts, sm)
				case 1:
					_, err = s.History(host, "machine.load:1m", "v", base, ts, time.Minute)
				case 2:
					err = s.Put("state", host, i)
				}
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						errc <- fmt.Errorf("%s op %d: %w", host, i, err)
					}
					errc <- nil
					return
				}
				if i == 300 {
					select {
					case done <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	<-done
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if err := <-errc; err != nil {
			t.Error(err)
			<-errc
		}
	}
}

func TestBadgerLogger(t *testing.T) {
	var buf strings.Builder
	l := badgerLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	tests := []struct {
		log  func(string, ...any)
		want string // "" = filtered out at INFO
	}{
		{l.Errorf, "level=ERROR msg=\"boom 1\" source=badger"},
		{l.Warningf, "level=WARN msg=\"boom 1\" source=badger"},
		{l.Infof, ""},
		{l.Debugf, ""},
	}
	for i, tc := range tests {
		buf.Reset()
		tc.log("boom %d\n", 1)
		if got := buf.String(); tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("case %d: logged %q, want %q", i, got, tc.want)
		}
	}
}

// TestCriticalSpaceRefusesWrites simulates the space check finding the disk
// almost full (the real statfs path is covered by TestHistoryReadOnly).
func TestCriticalSpaceRefusesWrites(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	if err := s.Put("state", "k", 1); err != nil {
		t.Fatal(err)
	}
	s.setSpace(1 << 20) // 1 MiB free: below both thresholds
	now := time.Now()
	writes := map[string]func() error{
		"Put":     func() error { return s.Put("state", "k", 2) },
		"PutSync": func() error { return s.PutSync("state", "k", 2) },
		"Delete":  func() error { return s.Delete("state", "k") },
		"AddSamples": func() error {
			return s.AddSamples("h", now, []model.Sample{{Service: "machine", Resource: "cpu", Unit: "all", Values: map[string]float64{"used": 1}}})
		},
		"PutDowntime": func() error { return s.PutDowntime(model.Downtime{Host: "h", Service: "host", Start: now}) },
	}
	for name, w := range writes {
		if err := w(); !errors.Is(err, ErrDiskFull) {
			t.Errorf("%s with the disk almost full = %v, want ErrDiskFull", name, err)
		}
	}
	var v int
	if ok, err := s.Get("state", "k", &v); !ok || err != nil || v != 1 {
		t.Fatalf("Get with the disk almost full = %v, %v, %d", ok, err, v)
	}
	if !s.HistoryReadOnly() {
		t.Fatal("history writable with 1 MiB free")
	}
	s.setSpace(1 << 40)
	if err := s.Put("state", "k", 3); err != nil {
		t.Fatalf("Put after space recovered: %v", err)
	}
	if s.HistoryReadOnly() {
		t.Fatal("history still read-only after space recovered")
	}
}

func TestDeletePrefix(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	b := s.Batch()
	for i := range 2500 {
		if err := b.Put("alarms", fmt.Sprintf("rule1/h%04d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"rule10/h1", "rule2/h1"} {
		if err := b.Put("alarms", k, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put("alarmsx", "rule1/h1", 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeletePrefix("alarms", "rule1/")
	if err != nil || n != 2500 {
		t.Fatalf("DeletePrefix = %d, %v; want 2500", n, err)
	}
	var left []string
	if err := s.List("alarms", "", func(k string, _ []byte) error { left = append(left, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"rule10/h1", "rule2/h1"}; !reflect.DeepEqual(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	if ok, _ := s.Get("alarmsx", "rule1/h1", new(int)); !ok {
		t.Fatal("DeletePrefix reached into another namespace")
	}
	if _, err := s.DeletePrefix("bad/ns", ""); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("DeletePrefix on bad namespace = %v", err)
	}
}
