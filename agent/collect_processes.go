package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

// ProcessCollector checks that processes run (service and resource
// "process", unit = the check's Name). A check is up when any process
// matches: its argv[0], as full path or base name, matches Match (path.Match
// glob), and every glob in Args matches at least one positional argument
// (argv[1:] not starting with "-"). Each call reports a sample per check (up,
// count of matching processes) and a model.Check on change and, for every
// check, on the first call (Initial).
type ProcessCollector struct {
	// Checks are the configured process checks.
	Checks []configs.ProcessCheck
	// Cmdlines lists the argv of every running process.
	Cmdlines func(ctx context.Context) ([][]string, error)
	// Now is the clock for Since.
	Now func() time.Time

	state map[string]checkState
}

// NewProcessCollector returns a ProcessCollector reading the host's process
// table.
func NewProcessCollector(checks []configs.ProcessCheck) *ProcessCollector {
	return &ProcessCollector{Checks: checks, Cmdlines: (&procTable{}).Cmdlines, Now: time.Now}
}

// procTable reads the argv of every process from /proc/<pid>/cmdline, as
// gopsutil's process.Processes and Process.CmdlineSlice did (same pids,
// same order, same split), without linking gopsutil's process package
// (os/user, regexp and its other readers: code pages in every agent's
// RSS). It is used from one goroutine (the Collector contract).
type procTable struct {
	buf []byte // read buffer, reused across calls
}

// maxKeptCmdlineBuf bounds the read buffer kept between calls: a rare
// huge command line (up to ARG_MAX) is read, then its buffer dropped.
const maxKeptCmdlineBuf = 64 << 10

// procRoot is the proc file system the table is read from: $HOST_PROC
// when set (a host's /proc mounted into a container), else /proc, as
// gopsutil chose it. (gopsutil also skipped, for a HOST_PROC that is not a
// mount point, the pids that do not exist in the agent's own pid
// namespace; the table lists every readable process of the tree.)
func procRoot() string {
	if r := os.Getenv("HOST_PROC"); r != "" {
		return r
	}
	return "/proc"
}

// Cmdlines returns the argv of every process in pid order; processes that
// exit while being read, kernel threads and zombies (empty argv) are
// skipped. Only a failure to list the process directory is an error.
func (t *procTable) Cmdlines(context.Context) ([][]string, error) {
	out := make([][]string, 0, 256)
	if err := t.scan(procRoot(), func(_ int32, argv []string) { out = append(out, argv) }); err != nil {
		return nil, err
	}
	return out, nil
}

// scan calls fn with the pid and argv of every process under root with a
// non-empty argv[0], in pid order.
func (t *procTable) scan(root string, fn func(pid int32, argv []string)) error {
	d, err := os.Open(root)
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	_ = d.Close()
	if err != nil {
		return fmt.Errorf("list processes in %s: %w", root, err)
	}
	pids := make([]int32, 0, len(names))
	for _, n := range names {
		if pid, ok := parsePid(n); ok {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	defer func() {
		if cap(t.buf) > maxKeptCmdlineBuf {
			t.buf = nil
		}
	}()
	file := make([]byte, 0, len(root)+24)
	for _, pid := range pids {
		file = append(strconv.AppendInt(append(append(file[:0], root...), '/'), int64(pid), 10), "/cmdline"...)
		b, err := t.read(string(file))
		if err != nil {
			continue // the process exited, or its cmdline is not readable
		}
		if argv := parseCmdline(b); len(argv) > 0 && argv[0] != "" {
			fn(pid, argv)
		}
	}
	return nil
}

// read returns the content of the file at name in t.buf (valid until the
// next read).
func (t *procTable) read(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if t.buf == nil {
		t.buf = make([]byte, 0, 4096)
	}
	b := t.buf[:0]
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, cap(b))
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			break
		}
		if err != nil {
			t.buf = b
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
	}
	t.buf = b
	return b, nil
}

// parsePid returns the pid a /proc entry name stands for: the names
// gopsutil took (only ASCII digits, fitting an int32) and whose process
// it could find (pid > 0).
func parsePid(name string) (int32, bool) {
	if name == "" {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	pid, err := strconv.ParseInt(name, 10, 32)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return int32(pid), true
}

// parseCmdline splits the content of /proc/<pid>/cmdline into argv as
// gopsutil's CmdlineSlice does: empty content is no argv, else trailing
// NULs are dropped and the rest split at every NUL (so inner empty
// arguments stay, and a process that rewrote its command line without
// NULs gives one argument). The strings share one allocation.
func parseCmdline(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
}

// Name implements Collector.
func (c *ProcessCollector) Name() string { return model.ResProcess }

// Collect implements Collector; it returns the samples and drops the checks
// (use CollectChecks).
func (c *ProcessCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	s, _, err := c.CollectChecks(ctx)
	return s, err
}

// CollectChecks implements CheckCollector.
func (c *ProcessCollector) CollectChecks(ctx context.Context) ([]model.Sample, []model.Check, error) {
	if len(c.Checks) == 0 {
		return nil, nil, nil
	}
	cmds, err := c.Cmdlines(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("process: %w", err)
	}
	initial := c.state == nil
	if initial {
		c.state = make(map[string]checkState, len(c.Checks))
	}
	now := c.Now()
	samples := make([]model.Sample, 0, len(c.Checks))
	var checks []model.Check
	for _, pc := range c.Checks {
		n := 0
		for _, argv := range cmds {
			if processMatches(pc, argv) {
				n++
			}
		}
		up := n > 0
		samples = append(samples, model.Sample{
			Service: model.ServiceProcess, Resource: model.ResProcess, Unit: pc.Name,
			Values: map[string]float64{"up": b2f(up), "count": float64(n)},
		})
		old, known := c.state[pc.Name]
		if known && old.up == up && !initial {
			continue
		}
		st := old
		if !known || old.up != up {
			st = checkState{up: up, since: now}
			c.state[pc.Name] = st
		}
		ck := model.Check{Service: model.ServiceProcess, Unit: pc.Name, Up: up, Initial: initial, Since: st.since.UnixNano()}
		if !up {
			ck.Detail = "no process matches " + pc.Match
		}
		checks = append(checks, ck)
	}
	return samples, checks, nil
}

// processMatches applies a ProcessCheck's rule to one argv.
func processMatches(pc configs.ProcessCheck, argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	if !globMatch(pc.Match, argv[0]) && !globMatch(pc.Match, path.Base(argv[0])) {
		return false
	}
	for _, g := range pc.Args {
		found := false
		for _, a := range argv[1:] {
			if !strings.HasPrefix(a, "-") && globMatch(g, a) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// globMatch is path.Match with a malformed pattern matching nothing.
func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// b2f converts a bool to 1 or 0.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
