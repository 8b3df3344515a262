package store

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Raw history log.
//
// Raw reports (one entry per report holding every value, see EncodeReport)
// are most of what a master writes: ~600 bytes per report of 40 values,
// 12 MB/s at 20,000 reports/s. In badger they went through every LSM level,
// each compaction merging them with older raw reports of every host (keys
// are host-major), and the table files were mapped into the process: at
// 20,000 reports/s over 40 s the master fell behind in growing stalls while
// compactions ran (acked/s dropping to 9-12k for seconds at a time, then
// shedding and resends) and its RSS climbed to 0.8-1 GiB; without raw
// reports in badger it held 20,000/s throughout at ~100 MiB (BENCHMARKS.md).
//
// So raw reports live in an append-only log of their own, under the data
// directory's rawlog/: one segment file at a time is appended to, with one
// write(2) per commit, and replaced by a new one after rawSegMaxAge or
// rawSegMaxSize. Nothing is rewritten and nothing is mapped; retention
// deletes whole segments once every report in them is older than
// RawRetention.
//
// A segment file is rawSegMagic, then records: a 4-byte payload length, the
// CRC-32C of the payload, and the payload (host, report time, the series
// of the report's first sample, the raw report value; see appendRawRecord).
// The segment being appended to, and one closed until its index is
// written, are indexed in memory (host -> records); a closed segment has an
// index file beside it (.idx, see writeRawIndex) with its time range and
// each host's records sorted by time, which reads search without loading
// it. Reads verify each record's CRC and host. A report written twice
// (same host, time and first series: an agent resent it) reads once, the
// last copy, as a badger key written twice did.
//
// Durability is that of the badger WAL with SyncWrites off: a record is in
// the page cache when append returns, so it survives kill -9 of the
// process. At open, a segment without its index (the one being appended to
// when the process died, or one whose index was being written) is read
// back, cut after its last whole record and indexed.

const (
	rawSegMagic   = "LKRAWS1\n"
	rawIdxMagic   = "LKRAWI1\n"
	rawRecHeader  = 8 // payload length, CRC-32C of the payload
	rawIdxHeader  = 8 + 4 + 4 + 8 + 8
	rawIdxHostLen = 16 // host hash, first ref, ref count
	rawIdxRefLen  = 20 // time, offset, record length
	// rawSegMaxAge and rawSegMaxSize bound a segment: the in-memory index
	// of the segment being appended to holds at most that many records
	// (~1.2 million, ~30 MiB, at 20,000 reports/s; 60,000 at 1,000/s), and
	// retention frees disk space one segment at a time.
	rawSegMaxAge  = time.Minute
	rawSegMaxSize = 256 << 20
	// rawMaxPayload bounds one record (a report is at most wire.MaxReport,
	// 1 MiB, with names); a longer length field is corruption.
	rawMaxPayload = 4 << 20
)

var rawCRC = crc32.MakeTable(crc32.Castagnoli)

// errRawCorrupt is a record or index that does not decode.
var errRawCorrupt = errors.New("store: raw log: corrupt")

// rawRec is one raw report to append.
type rawRec struct {
	host  string
	t     int64 // report time, unix nanoseconds
	first string
	value []byte
}

// rawRef locates one record of a segment.
type rawRef struct {
	t   int64
	off int64  // of the record's header
	n   uint32 // header + payload
}

// rawSeg is one segment file.
type rawSeg struct {
	id         uint64
	path       string // .seg; the index is idxPath(path)
	minT, maxT int64  // report times of its records (minT > maxT: none)
	// mem is the in-memory index (host -> refs in append order) of the
	// segment being appended to, and of a closed one until its index file
	// is written; nil once the index file is there.
	mem map[string][]rawRef
	n   int // records
}

func idxPath(seg string) string { return strings.TrimSuffix(seg, ".seg") + ".idx" }

// rawLog is the raw history log of a Store. Its methods are safe for
// concurrent use.
type rawLog struct {
	dir       string
	retention time.Duration
	now       func() time.Time
	log       *slog.Logger
	// segAge and segSize bound a segment (rawSegMaxAge, rawSegMaxSize;
	// tests set smaller ones).
	segAge  time.Duration
	segSize int64

	mu     sync.Mutex
	segs   []*rawSeg // oldest first; while f is set the last one is appended to
	f      *os.File
	size   int64
	opened time.Time
	nextID uint64
	buf    []byte
	closed bool
	badAt  time.Time      // last bad-record warning
	idxWG  sync.WaitGroup // index files being written
}

// openRawLog opens (creating it if needed) the raw log in dir: it indexes
// the segments that have no index file, cutting a torn last record, and
// deletes leftovers of interrupted index writes.
func openRawLog(dir string, retention time.Duration, now func() time.Time, log *slog.Logger) (*rawLog, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: raw log: create %s: %w", dir, err)
	}
	l := &rawLog{dir: dir, retention: retention, now: now, log: log, segAge: rawSegMaxAge, segSize: rawSegMaxSize}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: raw log: list %s: %w", dir, err)
	}
	for _, e := range names {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		id, ok := strings.CutSuffix(name, ".seg")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(id, 16, 64)
		if err != nil || len(id) != 16 {
			continue // not ours
		}
		seg := &rawSeg{id: n, path: filepath.Join(dir, name)}
		if err := l.load(seg); err != nil {
			return nil, err
		}
		if seg.n == 0 {
			_ = os.Remove(seg.path)
			_ = os.Remove(idxPath(seg.path))
			continue
		}
		l.segs = append(l.segs, seg)
	}
	slices.SortFunc(l.segs, func(a, b *rawSeg) int { return cmp.Compare(a.id, b.id) })
	if n := len(l.segs); n > 0 {
		l.nextID = l.segs[n-1].id + 1
	}
	return l, nil
}

// load reads seg's index file or, if it has none (or a bad one), indexes
// the segment itself (cutting a torn tail) and writes the index file.
func (l *rawLog) load(seg *rawSeg) error {
	if minT, maxT, n, err := readRawIndexHeader(idxPath(seg.path), seg.path); err == nil {
		seg.minT, seg.maxT, seg.n = minT, maxT, n
		return nil
	}
	mem, minT, maxT, n, err := l.scanSegment(seg.path)
	if err != nil {
		return err
	}
	seg.mem, seg.minT, seg.maxT, seg.n = mem, minT, maxT, n
	if n == 0 {
		return nil
	}
	if err := l.writeRawIndex(seg); err != nil {
		return err
	}
	seg.mem = nil
	return nil
}

// scanSegment reads a segment file and indexes its records. A record that
// does not decode ends the segment: the file is cut there (a write torn by
// a crash, or garbage), with a warning.
func (l *rawLog) scanSegment(path string) (mem map[string][]rawRef, minT, maxT int64, n int, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("store: raw log: open %s: %w", path, err)
	}
	defer f.Close()
	mem, minT, maxT, n, end, bad := scanRawRecords(bufio.NewReaderSize(f, 1<<20))
	if bad != nil {
		l.log.Warn("raw history segment cut after its last whole record", "file", path, "at", end, "reason", bad)
		if err := f.Truncate(end); err != nil {
			return nil, 0, 0, 0, fmt.Errorf("store: raw log: cut %s at %d: %w", path, end, err)
		}
	}
	return mem, minT, maxT, n, nil
}

// scanRawRecords reads a segment (magic, then records) from r and indexes
// its records. end is the offset after the last whole record (0 if the
// magic is wrong); bad says why reading stopped before the end of r (nil
// at a clean end).
func scanRawRecords(r io.Reader) (mem map[string][]rawRef, minT, maxT int64, n int, end int64, bad error) {
	mem = map[string][]rawRef{}
	minT, maxT = math.MaxInt64, math.MinInt64
	var magic [len(rawSegMagic)]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil || string(magic[:]) != rawSegMagic {
		return mem, minT, maxT, 0, 0, fmt.Errorf("%w: no segment header", errRawCorrupt)
	}
	end = int64(len(rawSegMagic))
	var hdr [rawRecHeader]byte
	var payload []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return mem, minT, maxT, n, end, nil
			}
			return mem, minT, maxT, n, end, fmt.Errorf("%w: record header: %v", errRawCorrupt, err)
		}
		size := binary.BigEndian.Uint32(hdr[:4])
		if size > rawMaxPayload {
			return mem, minT, maxT, n, end, fmt.Errorf("%w: record of %d bytes", errRawCorrupt, size)
		}
		payload = slices.Grow(payload[:0], int(size))[:size]
		if _, err := io.ReadFull(r, payload); err != nil {
			return mem, minT, maxT, n, end, fmt.Errorf("%w: record: %v", errRawCorrupt, err)
		}
		if !rawRecordValid(hdr[:], payload) {
			return mem, minT, maxT, n, end, fmt.Errorf("%w: record checksum", errRawCorrupt)
		}
		host, t, _, _, err := parseRawPayload(payload)
		if err != nil {
			return mem, minT, maxT, n, end, err
		}
		mem[host] = append(mem[host], rawRef{t: t, off: end, n: rawRecHeader + size})
		minT, maxT = min(minT, t), max(maxT, t)
		n++
		end += int64(rawRecHeader + size)
	}
}

// appendRawRecord appends rec's record (header and payload) to dst.
func appendRawRecord(dst []byte, rec *rawRec) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(rec.host)))
	dst = append(dst, rec.host...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(rec.t))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(rec.first)))
	dst = append(dst, rec.first...)
	dst = append(dst, rec.value...)
	payload := dst[start+rawRecHeader:]
	binary.BigEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, rawCRC))
	return dst
}

// rawRecordValid reports whether a record's header (length, CRC-32C)
// matches its payload.
func rawRecordValid(hdr, payload []byte) bool {
	return binary.BigEndian.Uint32(hdr) == uint32(len(payload)) && crc32.Checksum(payload, rawCRC) == binary.BigEndian.Uint32(hdr[4:])
}

// parseRawPayload splits a record's payload. The strings are copies; value
// shares p.
func parseRawPayload(p []byte) (host string, t int64, first string, value []byte, err error) {
	str := func() (string, bool) {
		if len(p) < 2 {
			return "", false
		}
		n := int(binary.BigEndian.Uint16(p))
		if len(p) < 2+n {
			return "", false
		}
		s := string(p[2 : 2+n])
		p = p[2+n:]
		return s, true
	}
	var ok bool
	if host, ok = str(); !ok || len(p) < 8 {
		return "", 0, "", nil, fmt.Errorf("%w: record without host or time", errRawCorrupt)
	}
	t = int64(binary.BigEndian.Uint64(p))
	p = p[8:]
	if first, ok = str(); !ok {
		return "", 0, "", nil, fmt.Errorf("%w: record without series", errRawCorrupt)
	}
	return host, t, first, p, nil
}

// append writes recs, less those already older than the retention, to the
// segment being appended to (one write), after starting a new segment if
// it is too old or too large. It may overwrite recs (dropping the expired).
func (l *rawLog) append(recs []rawRec) error {
	// A report older than the retention would expire at once.
	limit := l.now().Add(-l.retention).UnixNano()
	recs = slices.DeleteFunc(recs, func(r rawRec) bool { return r.t <= limit })
	if len(recs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	now := l.now()
	if l.f == nil || now.Sub(l.opened) >= l.segAge || l.size >= l.segSize {
		if err := l.rotate(now); err != nil {
			return err
		}
	}
	buf := l.buf[:0]
	for i := range recs {
		buf = appendRawRecord(buf, &recs[i])
	}
	if len(buf) <= 1<<20 {
		l.buf = buf // keep a buffer for the usual commit, not a huge one
	}
	if _, err := l.f.Write(buf); err != nil {
		// Whatever part was written is cut off again, so the segment stays
		// a sequence of whole records.
		if terr := l.f.Truncate(l.size); terr != nil {
			err = errors.Join(err, fmt.Errorf("cut back: %w", terr))
		}
		return fmt.Errorf("store: raw log: append %d reports: %w", len(recs), err)
	}
	seg := l.segs[len(l.segs)-1]
	off := l.size
	for i := range recs {
		r := &recs[i]
		n := uint32(rawRecHeader + 2 + len(r.host) + 8 + 2 + len(r.first) + len(r.value))
		seg.mem[r.host] = append(seg.mem[r.host], rawRef{t: r.t, off: off, n: n})
		seg.minT, seg.maxT = min(seg.minT, r.t), max(seg.maxT, r.t)
		off += int64(n)
	}
	seg.n += len(recs)
	l.size = off
	return nil
}

// rotate closes the segment being appended to (its index file is written
// in the background) and starts a new one. l.mu is held.
func (l *rawLog) rotate(now time.Time) error {
	if l.f != nil {
		seg, f := l.segs[len(l.segs)-1], l.f
		l.f = nil
		l.idxWG.Add(1)
		go func() {
			defer l.idxWG.Done()
			l.finish(seg, f)
		}()
	}
	id := l.nextID
	path := filepath.Join(l.dir, fmt.Sprintf("%016x.seg", id))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("store: raw log: new segment: %w", err)
	}
	if _, err := f.Write([]byte(rawSegMagic)); err != nil {
		f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("store: raw log: new segment %s: %w", path, err)
	}
	l.nextID++
	l.f, l.size, l.opened = f, int64(len(rawSegMagic)), now
	l.segs = append(l.segs, &rawSeg{id: id, path: path, mem: map[string][]rawRef{}, minT: math.MaxInt64, maxT: math.MinInt64})
	return nil
}

// finish closes a segment that is no longer appended to and writes its
// index file; then reads use the file, and the in-memory index goes. If
// the index cannot be written, the segment keeps its in-memory index (and
// the next open indexes it again).
func (l *rawLog) finish(seg *rawSeg, f *os.File) {
	if err := f.Close(); err != nil {
		l.log.Warn("raw history segment close", "file", seg.path, "err", err)
	}
	if seg.n == 0 {
		l.mu.Lock()
		l.segs = slices.DeleteFunc(l.segs, func(s *rawSeg) bool { return s == seg })
		l.mu.Unlock()
		_ = os.Remove(seg.path)
		return
	}
	// seg.mem is no longer written (appends go to the next segment), so
	// reading it here while scans read it too is safe.
	if err := l.writeRawIndex(seg); err != nil {
		l.log.Warn("raw history index not written; the segment stays indexed in memory", "file", seg.path, "err", err)
		return
	}
	l.mu.Lock()
	seg.mem = nil
	l.mu.Unlock()
}

// hostHash is the hash of host in index files (64-bit FNV-1a: it must be
// the same in every process). Hosts with the same hash share an index
// entry; reads check each record's host.
func hostHash(host string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(host))
	return h.Sum64()
}

// writeRawIndex writes seg's index file from seg.mem: the header (magic,
// host and ref counts, time range), the host table (host hash, first ref,
// ref count; by hash) and the refs (time, offset, length; by host hash,
// then time, then offset). It is written to a temporary file and renamed.
func (l *rawLog) writeRawIndex(seg *rawSeg) error {
	type hostRefs struct {
		hash uint64
		refs []rawRef
	}
	hosts := make([]hostRefs, 0, len(seg.mem))
	nrefs := 0
	for h, refs := range seg.mem {
		hosts = append(hosts, hostRefs{hostHash(h), refs})
		nrefs += len(refs)
	}
	slices.SortFunc(hosts, func(a, b hostRefs) int { return cmp.Compare(a.hash, b.hash) })
	// Hosts with the same hash (never seen, but possible) share one entry:
	// reads check each record's host.
	b := make([]byte, 0, rawIdxHeader+rawIdxHostLen*len(hosts)+rawIdxRefLen*nrefs)
	b = append(b, rawIdxMagic...)
	b = binary.BigEndian.AppendUint32(b, 0) // host entries, set below
	b = binary.BigEndian.AppendUint32(b, uint32(nrefs))
	b = binary.BigEndian.AppendUint64(b, uint64(seg.minT))
	b = binary.BigEndian.AppendUint64(b, uint64(seg.maxT))
	var table, refs []byte
	var entries uint32
	first := uint32(0)
	for i := 0; i < len(hosts); {
		j := i
		var all []rawRef
		for j < len(hosts) && hosts[j].hash == hosts[i].hash {
			all = append(all, hosts[j].refs...)
			j++
		}
		slices.SortFunc(all, func(a, b rawRef) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.off, b.off)) })
		table = binary.BigEndian.AppendUint64(table, hosts[i].hash)
		table = binary.BigEndian.AppendUint32(table, first)
		table = binary.BigEndian.AppendUint32(table, uint32(len(all)))
		for _, r := range all {
			refs = binary.BigEndian.AppendUint64(refs, uint64(r.t))
			refs = binary.BigEndian.AppendUint64(refs, uint64(r.off))
			refs = binary.BigEndian.AppendUint32(refs, r.n)
		}
		first += uint32(len(all))
		entries++
		i = j
	}
	binary.BigEndian.PutUint32(b[8:], entries)
	b = append(append(b, table...), refs...)
	path := idxPath(seg.path)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: raw log: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: raw log: rename %s: %w", tmp, err)
	}
	return nil
}

// rawIndexHeader is a decoded index file header.
type rawIndexHeader struct {
	hosts, refs uint32
	minT, maxT  int64
}

// decodeRawIndexHeader decodes an index header and checks it against the
// index file's size.
func decodeRawIndexHeader(b []byte, size int64) (rawIndexHeader, error) {
	var h rawIndexHeader
	if len(b) < rawIdxHeader || string(b[:8]) != rawIdxMagic {
		return h, fmt.Errorf("%w: index header", errRawCorrupt)
	}
	h.hosts = binary.BigEndian.Uint32(b[8:])
	h.refs = binary.BigEndian.Uint32(b[12:])
	h.minT = int64(binary.BigEndian.Uint64(b[16:]))
	h.maxT = int64(binary.BigEndian.Uint64(b[24:]))
	if want := int64(rawIdxHeader) + rawIdxHostLen*int64(h.hosts) + rawIdxRefLen*int64(h.refs); want != size {
		return h, fmt.Errorf("%w: index of %d bytes, its header says %d", errRawCorrupt, size, want)
	}
	if h.refs == 0 || h.hosts == 0 || h.hosts > h.refs || h.minT > h.maxT {
		return h, fmt.Errorf("%w: index header counts or times", errRawCorrupt)
	}
	return h, nil
}

// openRawIndex opens an index file and reads and checks its header; the
// caller closes the file.
func openRawIndex(path string) (*os.File, rawIndexHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, rawIndexHeader{}, err
	}
	st, err := f.Stat()
	if err == nil {
		var b [rawIdxHeader]byte
		if _, err = f.ReadAt(b[:], 0); err == nil {
			var h rawIndexHeader
			if h, err = decodeRawIndexHeader(b[:], st.Size()); err == nil {
				return f, h, nil
			}
		}
	}
	f.Close()
	return nil, rawIndexHeader{}, err
}

// readRawIndexHeader reads the header of segment seg's index file (a
// segment is never appended to once its index is written).
func readRawIndexHeader(path, seg string) (minT, maxT int64, n int, err error) {
	f, h, err := openRawIndex(path)
	if err != nil {
		return 0, 0, 0, err
	}
	f.Close()
	if _, err := os.Stat(seg); err != nil {
		return 0, 0, 0, err
	}
	return h.minT, h.maxT, int(h.refs), nil
}

// indexRefs returns the refs of host (its hash's entry) in an index file.
func (l *rawLog) indexRefs(path, host string) ([]rawRef, error) {
	f, h, err := openRawIndex(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	table := make([]byte, rawIdxHostLen*int(h.hosts))
	if _, err := f.ReadAt(table, rawIdxHeader); err != nil {
		return nil, err
	}
	return searchRawIndex(f, h, table, hostHash(host))
}

// searchRawIndex finds hash in an index's host table and reads its refs
// from r (the index file).
func searchRawIndex(r io.ReaderAt, h rawIndexHeader, table []byte, hash uint64) ([]rawRef, error) {
	lo, hi := 0, int(h.hosts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if binary.BigEndian.Uint64(table[m*rawIdxHostLen:]) < hash {
			lo = m + 1
		} else {
			hi = m
		}
	}
	i := lo
	if i >= int(h.hosts) || binary.BigEndian.Uint64(table[i*rawIdxHostLen:]) != hash {
		return nil, nil
	}
	e := table[i*rawIdxHostLen:]
	first, count := binary.BigEndian.Uint32(e[8:]), binary.BigEndian.Uint32(e[12:])
	if uint64(first)+uint64(count) > uint64(h.refs) {
		return nil, fmt.Errorf("%w: index host entry beyond its refs", errRawCorrupt)
	}
	b := make([]byte, rawIdxRefLen*int(count))
	if _, err := r.ReadAt(b, int64(rawIdxHeader)+rawIdxHostLen*int64(h.hosts)+rawIdxRefLen*int64(first)); err != nil {
		return nil, err
	}
	refs := make([]rawRef, count)
	for k := range refs {
		e := b[k*rawIdxRefLen:]
		refs[k] = rawRef{t: int64(binary.BigEndian.Uint64(e)), off: int64(binary.BigEndian.Uint64(e[8:])), n: binary.BigEndian.Uint32(e[16:])}
	}
	return refs, nil
}

// rawEntry is one raw report read back.
type rawEntry struct {
	t     int64
	first string
	value []byte
}

// scan returns host's raw reports with from <= t <= to that are still
// kept (newer than RawRetention), in time order (then by first series),
// each (time, first series) once: the last one written.
func (l *rawLog) scan(host string, from, to int64) ([]rawEntry, error) {
	from = max(from, l.now().Add(-l.retention).UnixNano())
	if from > to {
		return nil, nil
	}
	// The segments to read, oldest first, and for those indexed in memory
	// the host's refs.
	type segRefs struct {
		path string
		refs []rawRef
		mem  bool // refs is set; else read the index file
	}
	var work []segRefs
	l.mu.Lock()
	for _, seg := range l.segs {
		if seg.n == 0 || seg.maxT < from || seg.minT > to {
			continue
		}
		w := segRefs{path: seg.path}
		if seg.mem != nil {
			w.mem = true
			for _, r := range seg.mem[host] {
				if r.t >= from && r.t <= to {
					w.refs = append(w.refs, r)
				}
			}
			if len(w.refs) == 0 {
				continue
			}
		}
		work = append(work, w)
	}
	l.mu.Unlock()

	type found struct {
		rawRef
		seg int // in work
	}
	var all []found
	for k, w := range work {
		refs := w.refs
		if !w.mem {
			var err error
			refs, err = l.indexRefs(idxPath(w.path), host)
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted by retention meanwhile
			}
			if err != nil {
				return nil, fmt.Errorf("store: raw log: index of %s: %w", w.path, err)
			}
		}
		for _, r := range refs {
			if r.t >= from && r.t <= to {
				all = append(all, found{rawRef: r, seg: k})
			}
		}
	}
	slices.SortFunc(all, func(a, b found) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.seg, b.seg), cmp.Compare(a.off, b.off))
	})
	files := map[int]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	out := make([]rawEntry, 0, len(all))
	var rec []byte
	for _, r := range all {
		path := work[r.seg].path
		f := files[r.seg]
		if f == nil {
			var err error
			if f, err = os.Open(path); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				return nil, fmt.Errorf("store: raw log: %w", err)
			}
			files[r.seg] = f
		}
		if r.n < rawRecHeader || r.n > rawRecHeader+rawMaxPayload {
			l.bad(path, r.off, fmt.Errorf("%w: record length %d in the index", errRawCorrupt, r.n))
			continue
		}
		rec = slices.Grow(rec[:0], int(r.n))[:r.n]
		// A record that cannot be read or does not check out is skipped
		// (and logged): one bad record must not hide a host's history.
		if _, err := f.ReadAt(rec, r.off); err != nil {
			l.bad(path, r.off, err)
			continue
		}
		payload := rec[rawRecHeader:]
		if !rawRecordValid(rec, payload) {
			l.bad(path, r.off, errRawCorrupt)
			continue
		}
		h, t, first, value, err := parseRawPayload(payload)
		if err != nil {
			l.bad(path, r.off, err)
			continue
		}
		if h != host || t != r.t {
			continue // another host with the same hash
		}
		out = append(out, rawEntry{t: t, first: first, value: slices.Clone(value)})
	}
	return lastCopies(out), nil
}

// lastCopies sorts entries by time, then first series, keeping of each
// (time, first series) the last one in entries: a report written again
// (an agent resent it) replaces the earlier copy. entries is reused.
func lastCopies(entries []rawEntry) []rawEntry {
	slices.SortStableFunc(entries, func(a, b rawEntry) int {
		return cmp.Or(cmp.Compare(a.t, b.t), strings.Compare(a.first, b.first))
	})
	out := entries[:0]
	for _, e := range entries {
		if n := len(out); n > 0 && out[n-1].t == e.t && out[n-1].first == e.first {
			out[n-1] = e
			continue
		}
		out = append(out, e)
	}
	return out
}

// bad logs a record that could not be read, at most once a minute.
func (l *rawLog) bad(path string, off int64, err error) {
	l.mu.Lock()
	now := l.now()
	quiet := now.Sub(l.badAt) < time.Minute
	if !quiet {
		l.badAt = now
	}
	l.mu.Unlock()
	if !quiet {
		l.log.Warn("raw history record skipped: it does not read back", "file", path, "offset", off, "err", err)
	}
}

// expire deletes the segments whose every report is older than the
// retention. The segment being appended to is kept.
func (l *rawLog) expire() {
	limit := l.now().Add(-l.retention).UnixNano()
	l.mu.Lock()
	var gone []*rawSeg
	keep := l.segs[:0]
	for i, seg := range l.segs {
		appending := l.f != nil && i == len(l.segs)-1
		if !appending && seg.mem == nil && seg.maxT < limit {
			gone = append(gone, seg)
			continue
		}
		keep = append(keep, seg)
	}
	clear(l.segs[len(keep):])
	l.segs = keep
	l.mu.Unlock()
	for _, seg := range gone {
		for _, p := range []string{seg.path, idxPath(seg.path)} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				l.log.Warn("raw history segment not deleted", "file", p, "err", err)
			}
		}
	}
}

// close ends appends: the segment being appended to gets its index file,
// and close waits for index files being written.
func (l *rawLog) close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	var seg *rawSeg
	f := l.f
	if f != nil {
		seg = l.segs[len(l.segs)-1]
		l.f = nil
	}
	l.mu.Unlock()
	if f != nil {
		l.finish(seg, f)
	}
	l.idxWG.Wait()
	return nil
}
