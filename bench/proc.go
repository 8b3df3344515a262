package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat. It is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcUsage is one process's resident memory and CPU time, from /proc.
type ProcUsage struct {
	RSSBytes int64 // VmRSS
	CPUTicks int64 // utime + stime, in clock ticks (1/100 s)
}

// CPUSeconds returns the CPU time in seconds.
func (u ProcUsage) CPUSeconds() float64 { return float64(u.CPUTicks) / clockTicks }

// ReadProc reads VmRSS from /proc/PID/status and utime+stime from
// /proc/PID/stat.
func ReadProc(pid int) (ProcUsage, error) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcUsage{}, fmt.Errorf("bench: reading process status: %w", err)
	}
	rss, err := ParseVmRSS(st)
	if err != nil {
		return ProcUsage{}, fmt.Errorf("bench: /proc/%d/status: %w", pid, err)
	}
	sb, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcUsage{}, fmt.Errorf("bench: reading process stat: %w", err)
	}
	ticks, err := ParseStatCPU(sb)
	if err != nil {
		return ProcUsage{}, fmt.Errorf("bench: /proc/%d/stat: %w", pid, err)
	}
	return ProcUsage{RSSBytes: rss, CPUTicks: ticks}, nil
}

// ParseVmRSS returns the VmRSS line of a /proc/PID/status file, in bytes.
func ParseVmRSS(status []byte) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil || kb < 0 || kb > 1<<40 {
			return 0, fmt.Errorf("malformed VmRSS value %q", f[0])
		}
		return kb * 1024, nil
	}
	return 0, errors.New("no VmRSS line (kernel thread or zombie?)")
}

// ParseStatCPU returns utime+stime (fields 14 and 15) of a /proc/PID/stat
// line. The command name (field 2) may contain spaces and parentheses, so
// fields are counted from the last ')'.
func ParseStatCPU(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no ')' after the command name")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14 -> f[11], stime f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("only %d fields after the command name, want at least 13", len(f))
	}
	var sum int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("malformed cpu time field %q", s)
		}
		sum += v
	}
	if sum < 0 {
		return 0, errors.New("cpu time overflows")
	}
	return sum, nil
}
