package app

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify/webhook"
	"github.com/lookout-mon/lookout/store"
)

type fakeSpace struct {
	free uint64
	ro   bool
	err  error
}

func (f *fakeSpace) CheckSpace() (uint64, bool, error) { return f.free, f.ro, f.err }
func (f *fakeSpace) Dir() string                       { return "/data/master" }

type notified struct {
	n      model.Notification
	alert  string
	active bool
}

type fakeNotifier struct{ got []notified }

func (f *fakeNotifier) Notify(n model.Notification, alert string, active bool) {
	f.got = append(f.got, notified{n, alert, active})
}

func TestSpaceWatchTransitions(t *testing.T) {
	type step struct {
		free uint64
		ro   bool
		err  error
		// want is "" for no notification, else "LEVEL|subject substring".
		want string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"stays writable", []step{{free: 900 << 20}, {free: 800 << 20}}},
		{"goes read-only then recovers", []step{
			{free: 900 << 20},
			{free: 100 << 20, ro: true, want: "WARN|data dir /data/master: only 100 MiB free; history is read-only, alerting continues"},
			{free: 90 << 20, ro: true},
			{free: 500 << 20, want: "INFO|data dir /data/master: 500 MiB free; history is writable again"},
		}},
		{"read-only at start", []step{{free: 10 << 20, ro: true, want: "WARN|only 10 MiB free"}}},
		{"check errors change nothing", []step{
			{free: 10 << 20, ro: true, want: "WARN|only 10 MiB"},
			{err: errors.New("statfs: boom")},
			{free: 10 << 20, ro: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeSpace{}
			fn := &fakeNotifier{}
			clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			w := &spaceWatch{st: fs, n: fn, node: "m1", now: func() time.Time { return clock },
				log: testLogger(io.Discard)}
			for i, s := range tt.steps {
				clock = clock.Add(time.Minute)
				fs.free, fs.ro, fs.err = s.free, s.ro, s.err
				before := len(fn.got)
				w.check()
				if s.want == "" {
					if len(fn.got) != before {
						t.Fatalf("step %d: unexpected notification %+v", i, fn.got[len(fn.got)-1])
					}
					continue
				}
				if len(fn.got) != before+1 {
					t.Fatalf("step %d: want one notification %q, got %d", i, s.want, len(fn.got)-before)
				}
				got := fn.got[len(fn.got)-1]
				level, sub, _ := strings.Cut(s.want, "|")
				if got.n.Level.String() != level || !strings.Contains(got.n.Subject, sub) {
					t.Fatalf("step %d: got %s %q, want %s containing %q", i, got.n.Level, got.n.Subject, level, sub)
				}
				if got.alert != spaceAlert || got.active != s.ro || got.n.ID == "" || !got.n.Time.Equal(clock) {
					t.Fatalf("step %d: bad routing fields %+v", i, got)
				}
			}
		})
	}
}

// mountTmpfs mounts a tmpfs of size MiB on a new directory, or skips.
func mountTmpfs(t *testing.T, mib int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mib), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("disk-full test needs a small tmpfs and `mount` failed (needs root or CAP_SYS_ADMIN): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return st.Bavail * uint64(st.Bsize)
}

// fillTo writes a ballast file until free space on dir is about target.
func fillTo(t *testing.T, path string, target uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for freeBytes(t, filepath.Dir(path)) > target+uint64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			t.Fatalf("writing ballast: %v", err)
		}
	}
}

// TestDiskFullInProcess runs a whole master + agent on a 160 MiB tmpfs,
// fills it below master.history.min_free_bytes and checks that history goes
// read-only with a WARN while reports are acked and alarms still notify,
// then frees the space and checks the INFO and that history resumes.
func TestDiskFullInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("disk-full test mounts a tmpfs and runs ~10 s")
	}
	dir := mountTmpfs(t, 160)
	sk := newSink(t)
	const minFree = 96 << 20 // critical level is then the store default, 64 MiB
	masterAddr := freePort(t)
	// A port the agent checks: closing it while history is read-only must
	// still page (host state, downtime and outbox are state writes).
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	probePort := probe.Addr().(*net.TCPAddr).Port
	cfg := loadConfig(t, fmt.Sprintf(`
node: {name: m1, data_dir: %s}
master:
  enabled: true
  listen: %s
  insecure_loopback: true
  history: {min_free_bytes: %d}
  notifiers:
    webhook:
      - {name: sink, url: %q, min_level: INFO}
agent:
  enabled: true
  listen: %s
  insecure_loopback: true
  masters: [%s]
  intervals: {cpu: 1s, heartbeat: 1s, ports: 1s}
  ports: [{name: probe, port: %d, timeout: 500ms, retries: 1}]
http: {enabled: false}
`, dir, masterAddr, minFree, sk.srv.URL, freePort(t), masterAddr, probePort))
	logs := &syncBuffer{}
	a, err := Start(cfg, Options{Log: testLogger(logs), Embedded: true, SpaceCheckInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	acked := func() uint64 { return a.Agent.Stats().Uplinks[0].AckedSeq }
	waitFor(t, 15*time.Second, "first ack", func() bool { return acked() > 0 })
	if a.Store.HistoryReadOnly() {
		t.Fatalf("history read-only at start with %d MiB free", freeBytes(t, dir)>>20)
	}

	ballast := filepath.Join(dir, "ballast")
	fillTo(t, ballast, 80<<20)
	warn := sk.wait(t, 10*time.Second, "disk WARN", func(p webhook.Payload) bool {
		return p.Level == model.WARN && strings.Contains(p.Subject, "history is read-only, alerting continues")
	})
	if !strings.Contains(warn.Subject, "data dir "+filepath.Join(dir, "master")+": only ") {
		t.Errorf("WARN subject %q does not name the data dir", warn.Subject)
	}
	if err := a.Store.AddSamples("probe", time.Now(), []model.Sample{{Service: "machine", Resource: "load", Unit: "system",
		Values: map[string]float64{"load1": 1}}}); !errors.Is(err, store.ErrHistoryReadOnly) {
		t.Fatalf("AddSamples while low on space: %v, want ErrHistoryReadOnly", err)
	}

	// Reports are still acknowledged, and a port going down still pages.
	seq := acked()
	waitFor(t, 10*time.Second, "acks while read-only", func() bool { return acked() >= seq+2 })
	probe.Close()
	sk.wait(t, 15*time.Second, "DOWN while read-only", func(p webhook.Payload) bool {
		return p.Kind == model.KindDown && strings.Contains(p.Subject+p.Text, "probe")
	})

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	sk.wait(t, 10*time.Second, "disk INFO", func(p webhook.Payload) bool {
		return p.Level == model.INFO && strings.Contains(p.Subject, "history is writable again")
	})
	if err := a.Store.AddSamples("probe", time.Now(), []model.Sample{{Service: "machine", Resource: "load", Unit: "system",
		Values: map[string]float64{"load1": 1}}}); err != nil {
		t.Fatalf("AddSamples after space returned: %v", err)
	}
	seq = acked()
	waitFor(t, 10*time.Second, "acks after recovery", func() bool { return acked() >= seq+2 })
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
