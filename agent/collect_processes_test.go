package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/process"
)

// gopsutilCmdlines is the process table as the agent read it with gopsutil
// before procTable: the reference procTable must match, keyed by pid.
func gopsutilCmdlines(t *testing.T) map[int32][]string {
	t.Helper()
	ctx := context.Background()
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		t.Fatalf("gopsutil: %v", err)
	}
	out := make(map[int32][]string, len(procs))
	for _, p := range procs {
		argv, err := p.CmdlineSliceWithContext(ctx)
		if err != nil || len(argv) == 0 || argv[0] == "" {
			continue
		}
		out[p.Pid] = argv
	}
	return out
}

// TestProcTableMatchesGopsutil reads this machine's process table with
// gopsutil, with procTable, and with gopsutil again: every process seen
// the same way by both gopsutil reads (it neither started, exited nor
// exec'd meanwhile) must be in procTable's read with the same argv, and
// procTable must list no process neither gopsutil read saw.
func TestProcTableMatchesGopsutil(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	t.Setenv("HOST_PROC", "")
	before := gopsutilCmdlines(t)
	var tab procTable
	got := map[int32][]string{}
	var order []int32
	if err := tab.scan(procRoot(), func(pid int32, argv []string) {
		got[pid] = argv
		order = append(order, pid)
	}); err != nil {
		t.Fatal(err)
	}
	after := gopsutilCmdlines(t)
	if !slices.IsSorted(order) {
		t.Errorf("pids not in order: %v", order)
	}
	stable := 0
	for pid, argv := range before {
		if a, ok := after[pid]; !ok || !reflect.DeepEqual(a, argv) {
			continue
		}
		stable++
		if !reflect.DeepEqual(got[pid], argv) {
			t.Errorf("pid %d: procTable %q, gopsutil %q", pid, got[pid], argv)
		}
	}
	for pid, argv := range got {
		_, b := before[pid]
		_, a := after[pid]
		if !a && !b {
			t.Errorf("pid %d (%q): listed by procTable, by neither gopsutil read", pid, argv)
		}
	}
	self := int32(os.Getpid())
	if !reflect.DeepEqual(got[self], os.Args) {
		t.Errorf("own argv %q, want %q", got[self], os.Args)
	}
	if stable == 0 {
		t.Fatal("no process compared")
	}
	// The collector's table is the same list, as argv only.
	cmds, err := NewProcessCollector(nil).Cmdlines(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cmds); n < stable/2 || n > 2*len(got)+10 {
		t.Errorf("Cmdlines listed %d processes, procTable.scan %d", n, len(got))
	}
}

// TestProcTableTree reads a made-up proc tree through HOST_PROC: which
// entries count as processes and how their cmdline splits.
func TestProcTableTree(t *testing.T) {
	root := t.TempDir()
	big := strings.Repeat("x", 3*maxKeptCmdlineBuf)
	entries := []struct {
		name    string
		cmdline *string // nil: no cmdline file (the process exited)
	}{
		{"1", ptr("/sbin/init\x00splash\x00")},
		{"2", ptr("")},                       // kernel thread
		{"3", ptr("\x00\x00")},               // only NULs: argv[0] empty
		{"10", ptr("a\x00\x00b\x00")},        // inner empty argument kept
		{"11", ptr("nginx: worker process")}, // rewrote its argv, no NUL
		{"12", nil},
		{"13", ptr(big + "\x00arg")},
		{"0", ptr("zero\x00")},
		{"abc", ptr("self\x00")},
		{"-5", ptr("neg\x00")},
		{"99999999999", ptr("overflow\x00")},
		{"9", ptr("/usr/bin/python3\x00-u\x00app.py\x00")}, // sorts before 10
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if e.cmdline != nil {
			if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(*e.cmdline), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "42"), []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"/sbin/init", "splash"},
		{"/usr/bin/python3", "-u", "app.py"},
		{"a", "", "b"},
		{"nginx: worker process"},
		{big, "arg"},
	}
	t.Setenv("HOST_PROC", root)
	tab := &procTable{}
	for round := range 2 { // the second read reuses the buffer
		got, err := tab.Cmdlines(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: Cmdlines = %q, want %q", round, got, want)
		}
		if cap(tab.buf) > maxKeptCmdlineBuf {
			t.Errorf("round %d: kept a %d-byte buffer", round, cap(tab.buf))
		}
	}
	t.Setenv("HOST_PROC", filepath.Join(root, "missing"))
	if _, err := tab.Cmdlines(context.Background()); err == nil || !strings.Contains(err.Error(), "list processes") {
		t.Errorf("missing root: err = %v, want a list processes error", err)
	}
}

func ptr(s string) *string { return &s }

// refParseCmdline is gopsutil's fillSliceFromCmdline on the file content.
func refParseCmdline(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimRight(b, "\x00")
	var out []string
	for _, p := range bytes.Split(b, []byte{0}) {
		out = append(out, string(p))
	}
	return out
}

var refPidName = regexp.MustCompile(`^\d+$`)

// refParsePid is gopsutil's readPidsFromDir and PidExists filter on one
// directory entry name.
func refParsePid(name string) (int32, bool) {
	if !refPidName.MatchString(name) {
		return 0, false
	}
	pid, err := strconv.ParseInt(name, 10, 32)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return int32(pid), true
}

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\x00", []string{""}},
		{"sshd\x00", []string{"sshd"}},
		{"sshd", []string{"sshd"}},
		{"/usr/sbin/sshd\x00-D\x00", []string{"/usr/sbin/sshd", "-D"}},
		{"a\x00\x00b\x00\x00\x00", []string{"a", "", "b"}},
		{"\x00a\x00", []string{"", "a"}},
		{"postgres: writer process   ", []string{"postgres: writer process   "}},
	}
	for _, tt := range tests {
		got := parseCmdline([]byte(tt.in))
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseCmdline(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if ref := refParseCmdline([]byte(tt.in)); !reflect.DeepEqual(got, ref) {
			t.Errorf("parseCmdline(%q) = %q, gopsutil %q", tt.in, got, ref)
		}
	}
}

func TestParsePid(t *testing.T) {
	tests := []struct {
		in   string
		want int32
		ok   bool
	}{
		{"1", 1, true}, {"4194304", 4194304, true}, {"2147483647", 2147483647, true},
		{"017", 17, true}, {"0", 0, false}, {"", 0, false}, {"self", 0, false},
		{"-1", 0, false}, {"+1", 0, false}, {"1a", 0, false}, {"2147483648", 0, false},
		{"١٢", 0, false}, // Arabic-Indic digits: not \d in RE2
	}
	for _, tt := range tests {
		got, ok := parsePid(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parsePid(%q) = %d, %v, want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if rp, rok := refParsePid(tt.in); rp != got || rok != ok {
			t.Errorf("parsePid(%q) = %d, %v, gopsutil %d, %v", tt.in, got, ok, rp, rok)
		}
	}
}

// FuzzParseCmdline: parseCmdline splits any content exactly as gopsutil.
func FuzzParseCmdline(f *testing.F) {
	for _, s := range []string{"", "\x00", "a\x00b\x00", "a\x00\x00b", "\x00\x00x", "nginx: master process", "\xff\xfe\x00\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := parseCmdline(b)
		if want := refParseCmdline(b); !reflect.DeepEqual(got, want) {
			t.Fatalf("parseCmdline(%q) = %q, gopsutil %q", b, got, want)
		}
		if len(b) > 0 && strings.Join(got, "\x00") != string(bytes.TrimRight(b, "\x00")) {
			t.Fatalf("parseCmdline(%q) = %q does not join back", b, got)
		}
	})
}

// FuzzParsePid: parsePid accepts exactly the /proc entry names gopsutil
// took as processes.
func FuzzParsePid(f *testing.F) {
	for _, s := range []string{"1", "0", "", "self", "-1", "2147483648", "007", "12a", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parsePid(s)
		if rp, rok := refParsePid(s); rp != got || rok != ok {
			t.Fatalf("parsePid(%q) = %d, %v, gopsutil %d, %v", s, got, ok, rp, rok)
		}
	})
}
