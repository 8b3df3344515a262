package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"golang.org/x/sys/unix"
)

// procFile is a /proc file the agent reads every collection. It stays open
// and every read starts again at offset 0 (pread): /proc files are seq
// files the kernel generates afresh for a read from offset 0, so one
// collection costs one pread system call (a few for large files) instead
// of an open (a path walk through procfs), reads and a close. A read error
// closes the file; the next read opens it again. It is used from one
// goroutine (the Collector contract); the os.File's cleanup closes it when
// the collector is dropped.
type procFile struct {
	path string
	// single marks a file the kernel generates in one piece (single_open:
	// /proc/stat, /proc/meminfo, /proc/loadavg): a read that does not fill
	// the buffer returned all of it, so no second read is needed to see
	// the end. Files generated record by record (/proc/diskstats,
	// /proc/net/dev) may return less than asked before their end (see
	// seqShortRead).
	single bool
	f      *os.File
	rc     syscall.RawConn // f's, kept: f.SyscallConn allocates
	buf    []byte

	// rawRead is the pread run under rc.Control with the arguments and
	// results below: made once, so a read allocates nothing.
	rawRead func(fd uintptr)
	dst     []byte
	off     int64
	n       int
	errno   syscall.Errno
}

// read returns the file's whole current content, in a buffer reused by the
// next read. It opens the file when it is not open and keeps it open.
// After a read error on a file that was already open it opens the file
// once more and retries (the file may have gone stale, e.g. a namespace
// change).
func (p *procFile) read() ([]byte, error) {
	reopened := false
	if p.f == nil {
		f, err := os.Open(p.path)
		if err != nil {
			return nil, err
		}
		rc, err := f.SyscallConn()
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("open %s: %w", p.path, err)
		}
		p.f, p.rc, reopened = f, rc, true
	}
	b, err := p.readAll()
	if err == nil {
		return b, nil
	}
	_ = p.f.Close()
	p.f, p.rc = nil, nil
	if reopened {
		return nil, err
	}
	return p.read()
}

// readAll reads the open file from offset 0 to its end into p.buf (grown
// as needed and kept). A read that returns less than it asked for ends the
// file when p.single is set, or, for a file generated record by record,
// when it is shorter than seqShortRead; otherwise it reads on until a read
// returns nothing.
func (p *procFile) readAll() ([]byte, error) {
	if cap(p.buf) == 0 {
		p.buf = make([]byte, 0, 4096)
	}
	b := p.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		want := cap(b) - len(b)
		n, err := p.pread(b[len(b):cap(b)], int64(len(b)))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p.path, err)
		}
		b = b[:len(b)+n]
		if n == 0 || (n < want && (p.single || n < seqShortRead)) {
			break
		}
		if len(b) > maxProcFileBytes {
			return nil, fmt.Errorf("read %s: larger than %d bytes", p.path, maxProcFileBytes)
		}
	}
	p.buf = b
	return b, nil
}

// pread reads once from the open file at off into dst with a raw system
// call. Unlike os.File.ReadAt, which goes through the runtime's
// entersyscall/exitsyscall, it does not tell the scheduler: the runtime's
// monitor thread (sysmon) is not woken out of its deep sleep by the read
// (it then polls every 20 µs until the process is idle again), and does
// not hand the P to another thread while the read runs. Each of those is
// a thread wake-up with its context switches, which cost more than the
// read itself. This is only right for files the kernel generates from
// memory in microseconds and that never wait for I/O, as the /proc files
// the collectors read (the goroutine keeps its P during the read: with
// GOMAXPROCS=1 nothing else runs meanwhile). Calls that may hang (statfs
// on a network filesystem) keep the ordinary path. rc.Control holds a
// reference on the descriptor, so a concurrent Close cannot let the read
// reach a reused descriptor number.
func (p *procFile) pread(dst []byte, off int64) (int, error) {
	if p.rawRead == nil {
		p.rawRead = func(fd uintptr) {
			var ptr unsafe.Pointer
			if len(p.dst) > 0 {
				ptr = unsafe.Pointer(&p.dst[0])
			}
			for {
				n, _, errno := unix.RawSyscall6(unix.SYS_PREAD64, fd, uintptr(ptr), uintptr(len(p.dst)), uintptr(p.off), 0, 0)
				if errno != unix.EINTR {
					p.n, p.errno = int(n), errno
					return
				}
			}
		}
	}
	p.dst, p.off = dst, off
	err := p.rc.Control(p.rawRead)
	p.dst = nil
	if err != nil {
		return 0, err
	}
	if p.errno != 0 {
		return 0, p.errno
	}
	return p.n, nil
}

// seqShortRead: a read of a record-by-record /proc file (a seq_file:
// /proc/diskstats, /proc/net/dev) into a buffer of at least 4 KiB that
// returns fewer bytes than this has reached the end of the file. The
// kernel fills its own buffer (one page at first, kept and grown for the
// open file) with whole records until the records end, the reader's buffer
// is full, or the next record does not fit in what is left of its buffer;
// a read stopped by a record that did not fit returned more than the
// buffer less that record, and no line of these files comes near 2 KiB
// (at most ~20 counters of 20 digits and a device name). So a read of
// most hosts' diskstats and net/dev is one system call, where reading
// until a read returns 0 bytes was two.
const seqShortRead = 2048

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

// nextLine splits b at its first newline: the line without it, and the
// rest (nil after the last line).
func nextLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// internTable hands out one string per distinct byte sequence (device,
// interface and cpu names, read every collection), so a collection does not
// allocate them again. It holds at most maxInterned strings (names come
// and go over time: renamed interfaces, hot-plugged disks); past that it
// starts again empty. A nil table allocates every string.
type internTable struct {
	m map[string]string
}

// maxInterned bounds an internTable.
const maxInterned = 1024

// get returns b as a string, the same one as for every earlier equal b.
func (t *internTable) get(b []byte) string {
	if t == nil {
		return string(b)
	}
	if s, ok := t.m[string(b)]; ok { // no allocation for the lookup
		return s
	}
	if t.m == nil || len(t.m) >= maxInterned {
		t.m = make(map[string]string)
	}
	s := string(b)
	t.m[s] = s
	return s
}
