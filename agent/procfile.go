package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"

	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// procFile is a /proc file the agent reads every collection. It stays open
// and every read starts again at offset 0 (pread): /proc files are seq
// files the kernel generates afresh for a read from offset 0, so one
// collection costs one or two pread system calls instead of an open (a
// path walk through procfs), reads and a close. A read error closes the
// file; the next read opens it again. It is used from one goroutine (the
// Collector contract); the os.File's cleanup closes it when the collector
// is dropped.
type procFile struct {
	path string
	// single marks a file the kernel generates in one piece (single_open:
	// /proc/stat, /proc/meminfo, /proc/loadavg): a read that does not fill
	// the buffer returned all of it, so no second read is needed to see
	// the end. Files generated record by record (/proc/diskstats,
	// /proc/net/dev) may return less than asked before their end.
	single bool
	f      *os.File
	buf    []byte
}

// read returns the file's whole current content, in a buffer reused by the
// next read.
func (p *procFile) read() ([]byte, error) {
	return readProcFile(p.path, p.single, &p.f, &p.buf)
}

// readProcFile reads the whole file at path into *buf (grown as needed and
// kept for the next read) through *f, which it opens when nil and keeps
// open; an open file is read again from offset 0. single: a short read is
// the end (see procFile.single). After a read error on a file that was
// already open it opens the file once more and retries (the file may have
// gone stale, e.g. a namespace change).
func readProcFile(path string, single bool, f **os.File, buf *[]byte) ([]byte, error) {
	reopened := false
	if *f == nil {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		*f, reopened = fh, true
	}
	b, err := preadAll(*f, path, single, buf)
	if err == nil {
		return b, nil
	}
	_ = (*f).Close()
	*f = nil
	if reopened {
		return nil, err
	}
	return readProcFile(path, single, f, buf)
}

// preadAll reads f from offset 0 to EOF into *buf; with single, a read
// that does not fill the buffer ends it.
func preadAll(f *os.File, path string, single bool, buf *[]byte) ([]byte, error) {
	if cap(*buf) == 0 {
		*buf = make([]byte, 0, 4096)
	}
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		want := cap(b) - len(b)
		var (
			n   int
			err error
		)
		if single {
			// One pread: os.File.ReadAt would read again to see EOF.
			n, err = pread(f, b[len(b):cap(b)], int64(len(b)))
		} else {
			n, err = f.ReadAt(b[len(b):cap(b)], int64(len(b)))
		}
		b = b[:len(b)+n]
		if err == io.EOF || (err == nil && n == 0) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if single && n < want {
			break
		}
		if len(b) > maxProcFileBytes {
			return nil, fmt.Errorf("read %s: larger than %d bytes", path, maxProcFileBytes)
		}
	}
	*buf = b
	return b, nil
}

// procMeminfo reads memory use from /proc/meminfo (path) with one read into
// a reused buffer. gopsutil's mem.VirtualMemory splits every line of the
// file into strings and parses about 40 fields; the collector uses six.
type procMeminfo struct {
	procFile
	// fallback computes the figures when the kernel has no MemAvailable
	// line (before Linux 3.14): gopsutil then estimates it from
	// /proc/zoneinfo, which this reader does not repeat.
	fallback func(ctx context.Context) (*mem.VirtualMemoryStat, error)
}

// newProcMeminfo returns a reader of path.
func newProcMeminfo(path string) *procMeminfo {
	return &procMeminfo{procFile: procFile{path: path, single: true}, fallback: mem.VirtualMemoryWithContext}
}

// VirtualMemory has mem.VirtualMemoryWithContext's signature; it fills the
// fields the memory collector reports (Total, Available, Used, Free,
// Buffers, Cached and UsedPercent) exactly as gopsutil computes them.
func (p *procMeminfo) VirtualMemory(ctx context.Context) (*mem.VirtualMemoryStat, error) {
	b, err := p.read()
	if err != nil {
		return nil, err
	}
	m, ok, err := parseMeminfo(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	if !ok {
		if p.fallback == nil {
			return nil, fmt.Errorf("%s: no MemAvailable line", p.path)
		}
		return p.fallback(ctx)
	}
	return m, nil
}

// parseMeminfo parses the lines of /proc/meminfo the memory collector
// needs ("Key:   value kB"), as gopsutil does: Cached includes
// SReclaimable, Used is Total - Available. ok is false when the file has no
// MemAvailable line (gopsutil estimates it then; the caller falls back).
// A needed line whose value is not a number is an error, as in gopsutil.
func parseMeminfo(b []byte) (m *mem.VirtualMemoryStat, ok bool, err error) {
	m = &mem.VirtualMemoryStat{}
	var sreclaimable uint64
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		c := bytes.IndexByte(line, ':')
		if c < 0 || bytes.IndexByte(line[c+1:], ':') >= 0 {
			continue // gopsutil skips lines that do not split in two at ':'
		}
		var dst *uint64
		switch key := bytes.TrimSpace(line[:c]); string(key) {
		case "MemTotal":
			dst = &m.Total
		case "MemFree":
			dst = &m.Free
		case "MemAvailable":
			dst, ok = &m.Available, true
		case "Buffers":
			dst = &m.Buffers
		case "Cached":
			dst = &m.Cached
		case "SReclaimable":
			dst = &sreclaimable
		default:
			continue
		}
		v := bytes.TrimSpace(line[c+1:])
		v = bytes.TrimSuffix(v, []byte(" kB"))
		x, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", bytes.TrimSpace(line[:c]), err)
		}
		*dst = x * 1024
	}
	if m.Total == 0 {
		return nil, false, errors.New("no MemTotal line")
	}
	m.Cached += sreclaimable
	m.Used = m.Total - m.Available
	m.UsedPercent = float64(m.Used) / float64(m.Total) * 100.0
	return m, ok, nil
}

// procLoadavg reads the load averages from /proc/loadavg (path) through a
// kept-open file (gopsutil's load.Avg opens, reads and closes it and splits
// it into strings every time).
type procLoadavg struct {
	procFile
}

// Avg has load.AvgWithContext's signature and results.
func (p *procLoadavg) Avg(context.Context) (*load.AvgStat, error) {
	b, err := p.read()
	if err != nil {
		return nil, err
	}
	a, err := parseLoadavg(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	return a, nil
}

// parseLoadavg parses the first three fields of /proc/loadavg.
func parseLoadavg(b []byte) (*load.AvgStat, error) {
	var v [3]float64
	for i := range v {
		b = bytes.TrimLeft(b, " \t\n")
		end := bytes.IndexAny(b, " \t\n")
		if end < 0 {
			end = len(b)
		}
		if end == 0 {
			return nil, fmt.Errorf("%d fields, want at least 3", i)
		}
		x, err := strconv.ParseFloat(string(b[:end]), 64)
		if err != nil {
			return nil, fmt.Errorf("field %d: %w", i+1, err)
		}
		v[i], b = x, b[end:]
	}
	return &load.AvgStat{Load1: v[0], Load5: v[1], Load15: v[2]}, nil
}

// fieldsInto splits b around runs of white space, as bytes.Fields does,
// into dst (fields past len(dst) are dropped) and returns how many it
// stored. It allocates nothing; a line with non-ASCII bytes (never in the
// /proc files it parses) goes through bytes.Fields for its Unicode rules.
func fieldsInto(b []byte, dst [][]byte) int {
	for _, c := range b {
		if c >= 0x80 {
			n := 0
			for _, f := range bytes.Fields(b) {
				if n == len(dst) {
					break
				}
				dst[n] = f
				n++
			}
			return n
		}
	}
	n := 0
	for n < len(dst) {
		i := 0
		for i < len(b) && asciiSpace[b[i]] {
			i++
		}
		b = b[i:]
		if len(b) == 0 {
			break
		}
		j := 0
		for j < len(b) && !asciiSpace[b[j]] {
			j++
		}
		dst[n] = b[:j:j]
		n++
		b = b[j:]
	}
	return n
}

// asciiSpace marks the ASCII bytes unicode.IsSpace accepts.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// pread reads once from f at off into p (os.File.ReadAt reads until p is
// full or EOF, one more system call for every file shorter than p).
func pread(f *os.File, p []byte, off int64) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		n    int
		perr error
	)
	if err := rc.Read(func(fd uintptr) bool {
		for {
			n, perr = syscall.Pread(int(fd), p, off)
			if perr != syscall.EINTR {
				return true
			}
		}
	}); err != nil {
		return 0, err
	}
	if perr != nil {
		return 0, perr
	}
	return n, nil
}

// nextLine splits b at its first newline: the line without it, and the
// rest (nil after the last line).
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}
