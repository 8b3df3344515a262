package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unique"

	"github.com/dgraph-io/badger/v4"

	"github.com/lookout-mon/lookout/model"
)

// History layout. Every key is
//
//	0x01 'H' <res> <host> 0x00 <series> 0x00 <attr> 0x00 <time>
//
// with <res> 'R' (raw samples), 'm' (1m rollup) or 'h' (1h rollup), <series>
// "service.resource:unit" and <time> the unix nanoseconds of the point (raw)
// or of the bucket start (rollups), big-endian with the sign bit flipped so
// keys sort by time and a range query is one prefix scan. Raw history is
// stored per sample, not per value: a raw key has an empty <attr> and its
// value holds every attribute of the sample at that time (see
// appendSampleValue), so a report of 4 samples with 40 values costs 4 raw
// entries instead of 40. Rollup values are 32 bytes: min, avg, max (float64
// bits) and the count (uint64), one key per attribute. Every entry carries a
// badger expiry computed from its own time, so retention holds even for late
// points.
//
// Before raw samples, raw history was one key per value with <res> 'r' and an
// 8-byte value. Those keys are no longer read: they expire by themselves
// within RawRetention (2h by default), so raw history written before the
// upgrade is dropped; rollups are unchanged and keep it.

// Resolutions of stored history.
const (
	resRaw    byte = 'r' // legacy raw values (one key per value), no longer written or read
	resSample byte = 'R' // raw samples: one key per sample holding every attribute
	resMinute byte = 'm'
	resHour   byte = 'h'
)

// MaxName caps the length of a host, series or attribute name in history.
const MaxName = 512

const pointSize = 32

// Point is one point of a history series: a raw value (Min = Avg = Max,
// N = 1) or the aggregate of N values in the bucket starting at T.
type Point struct {
	T             time.Time
	Min, Avg, Max float64
	N             int
}

// merge folds q into p (same bucket).
func (p *Point) merge(q Point) {
	if q.N <= 0 {
		return
	}
	if p.N <= 0 {
		t := p.T
		*p = q
		p.T = t
		return
	}
	p.Min = math.Min(p.Min, q.Min)
	p.Max = math.Max(p.Max, q.Max)
	total := p.N + q.N
	p.Avg = (p.Avg*float64(p.N) + q.Avg*float64(q.N)) / float64(total)
	p.N = total
}

// encodeTime maps unix nanoseconds to 8 bytes that sort like the times.
func encodeTime(dst []byte, ns int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(ns)^(1<<63))
}

func decodeTime(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// seriesPrefix returns the key prefix of one series at one resolution.
func seriesPrefix(res byte, host, series, attr string) []byte {
	k := make([]byte, 0, 3+len(host)+len(series)+len(attr)+3+8)
	k = append(k, 0x01, 'H', res)
	k = append(k, host...)
	k = append(k, 0)
	k = append(k, series...)
	k = append(k, 0)
	k = append(k, attr...)
	k = append(k, 0)
	return k
}

func histKey(res byte, host, series, attr string, ns int64) []byte {
	return encodeTime(seriesPrefix(res, host, series, attr), ns)
}

// histKeyParts is a decoded history key.
type histKeyParts struct {
	Res                byte
	Host, Series, Attr string
	T                  int64
}

// parseHistKey decodes a history key built by histKey.
func parseHistKey(k []byte) (histKeyParts, error) {
	var p histKeyParts
	if len(k) < 3+3+8 || k[0] != 0x01 || k[1] != 'H' {
		return p, fmt.Errorf("store: not a history key: %q", k)
	}
	p.Res = k[2]
	if p.Res != resRaw && p.Res != resSample && p.Res != resMinute && p.Res != resHour {
		return p, fmt.Errorf("store: history key with unknown resolution %q", p.Res)
	}
	body := k[3 : len(k)-8]
	if len(body) == 0 || body[len(body)-1] != 0 {
		return p, fmt.Errorf("store: history key without terminator: %q", k)
	}
	parts := strings.Split(string(body[:len(body)-1]), "\x00")
	if len(parts) != 3 {
		return p, fmt.Errorf("store: history key with %d name parts, want 3: %q", len(parts), k)
	}
	p.Host, p.Series, p.Attr = parts[0], parts[1], parts[2]
	p.T = decodeTime(k[len(k)-8:])
	return p, nil
}

func encodePoint(p Point) []byte {
	b := make([]byte, 0, pointSize)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Min))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Avg))
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Max))
	return binary.BigEndian.AppendUint64(b, uint64(p.N))
}

// decodePoint decodes a stored value of resolution res (T is left zero).
func decodePoint(res byte, b []byte) (Point, error) {
	if res == resRaw {
		if len(b) != 8 {
			return Point{}, fmt.Errorf("store: raw history value of %d bytes, want 8", len(b))
		}
		v := math.Float64frombits(binary.BigEndian.Uint64(b))
		return Point{Min: v, Avg: v, Max: v, N: 1}, nil
	}
	if len(b) != pointSize {
		return Point{}, fmt.Errorf("store: rollup history value of %d bytes, want %d", len(b), pointSize)
	}
	n := binary.BigEndian.Uint64(b[24:])
	if n == 0 || n > math.MaxInt32 {
		return Point{}, fmt.Errorf("store: rollup history value with count %d", n)
	}
	return Point{
		Min: math.Float64frombits(binary.BigEndian.Uint64(b[0:])),
		Avg: math.Float64frombits(binary.BigEndian.Uint64(b[8:])),
		Max: math.Float64frombits(binary.BigEndian.Uint64(b[16:])),
		N:   int(n),
	}, nil
}

// sampleValueVersion is the first byte of a raw sample value.
const sampleValueVersion = 1

// appendSampleValue appends one attribute to a raw sample value, which is
// the version byte followed by, for each attribute, its name's length
// (uvarint), the name and the value (float64 bits, big-endian).
func appendSampleValue(b []byte, attr string, v float64) []byte {
	b = binary.AppendUvarint(b, uint64(len(attr)))
	b = append(b, attr...)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

// walkSampleValue calls fn for each attribute of a raw sample value, in
// stored order, until fn returns false. It fails on a value that is not
// well formed (checked up to where fn stopped).
func walkSampleValue(b []byte, fn func(attr []byte, v float64) bool) error {
	if len(b) == 0 || b[0] != sampleValueVersion {
		return fmt.Errorf("store: raw sample value without version byte %d", sampleValueVersion)
	}
	b = b[1:]
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || n == 0 || n > MaxName || w != len(binary.AppendUvarint(nil, n)) {
			return fmt.Errorf("store: raw sample value with a bad attribute name length")
		}
		b = b[w:]
		if uint64(len(b)) < n+8 {
			return fmt.Errorf("store: raw sample value truncated (attribute of %d bytes, %d left)", n, len(b))
		}
		attr := b[:n]
		v := math.Float64frombits(binary.BigEndian.Uint64(b[n:]))
		b = b[n+8:]
		if !fn(attr, v) {
			return nil
		}
	}
	return nil
}

// sampleAttr extracts one attribute from a raw sample value; ok is false if
// the sample has no such attribute.
func sampleAttr(b []byte, attr string) (v float64, ok bool, err error) {
	err = walkSampleValue(b, func(a []byte, x float64) bool {
		if string(a) == attr {
			v, ok = x, true
			return false
		}
		return true
	})
	return v, ok, err
}

func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidKey, what)
	}
	if len(s) > MaxName {
		return fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrInvalidKey, what, len(s), MaxName)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%w: %s %q contains a NUL byte", ErrInvalidKey, what, s)
	}
	return nil
}

// bucket is an open rollup bucket held in memory: 40 bytes, the fields of
// a Point without its time.Time.
type bucket struct {
	start         int64 // unix nanoseconds; valid when n > 0
	min, avg, max float64
	n             int32
	dirty         bool // changed since last written
}

// point returns the bucket's aggregate (T unset).
func (b *bucket) point() Point { return Point{Min: b.min, Avg: b.avg, Max: b.max, N: int(b.n)} }

// set makes b the open bucket starting at start holding p.
func (b *bucket) set(start int64, p Point, dirty bool) {
	n := p.N
	if n > math.MaxInt32 {
		n = math.MaxInt32
	}
	*b = bucket{start: start, min: p.Min, avg: p.Avg, max: p.Max, n: int32(n), dirty: dirty}
}

// attrAcc holds the open 1m and 1h buckets of one attribute of a series.
// The attribute name is interned: hosts share one copy of each name.
type attrAcc struct {
	attr unique.Handle[string]
	m, h bucket
}

// bucket returns the bucket of resolution res.
func (a *attrAcc) bucket(res byte) *bucket {
	if res == resHour {
		return &a.h
	}
	return &a.m
}

// hostHist holds the open buckets of one host: per series (interned name,
// shared by all hosts), a compact slice of its attributes' accumulators.
type hostHist struct {
	mu     sync.Mutex
	series map[unique.Handle[string]][]attrAcc
}

// find returns the accumulator of series.attr, nil if none. Caller holds mu.
func (hh *hostHist) find(series, attr string) *attrAcc {
	accs := hh.series[unique.Make(series)]
	ah := unique.Make(attr)
	for i := range accs {
		if accs[i].attr == ah {
			return &accs[i]
		}
	}
	return nil
}

// count returns the number of attribute accumulators. Caller holds mu.
func (hh *hostHist) count() int {
	n := 0
	for _, accs := range hh.series {
		n += len(accs)
	}
	return n
}

// history is the in-memory part of the history: open rollup buckets.
type history struct {
	mu    sync.Mutex
	hosts map[string]*hostHist
}

func (h *history) init() { h.hosts = make(map[string]*hostHist) }

func (h *history) host(name string, create bool) *hostHist {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.hosts[name]
	if hh == nil && create {
		hh = &hostHist{series: make(map[unique.Handle[string]][]attrAcc)}
		h.hosts[name] = hh
	}
	return hh
}

func (h *history) all() map[string]*hostHist {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]*hostHist, len(h.hosts))
	for k, v := range h.hosts {
		out[k] = v
	}
	return out
}

// txnWriter writes entries, committing and starting a new transaction when
// one grows too big (history writes need no atomicity).
type txnWriter struct {
	db  *badger.DB
	txn *badger.Txn
}

func newTxnWriter(db *badger.DB) *txnWriter {
	return &txnWriter{db: db, txn: db.NewTransaction(true)}
}

func (w *txnWriter) set(e *badger.Entry) error {
	err := w.txn.SetEntry(e)
	if errors.Is(err, badger.ErrTxnTooBig) {
		if err = w.txn.Commit(); err != nil {
			return err
		}
		w.txn = w.db.NewTransaction(true)
		err = w.txn.SetEntry(e)
	}
	return err
}

// get reads a stored rollup point, zero Point if absent.
func (w *txnWriter) get(res byte, key []byte) (Point, error) {
	it, err := w.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Point{}, nil
	}
	if err != nil {
		return Point{}, err
	}
	var p Point
	err = it.Value(func(v []byte) error {
		var err error
		p, err = decodePoint(res, v)
		return err
	})
	return p, err
}

func (w *txnWriter) commit() error { return w.txn.Commit() }
func (w *txnWriter) discard()      { w.txn.Discard() }

// width and retention of a rollup resolution.
func (s *Store) resolution(res byte) (width, keep time.Duration) {
	switch res {
	case resMinute:
		return time.Minute, MinuteRollupRetention
	case resHour:
		return time.Hour, s.opt.RollupRetention
	}
	return 0, s.opt.RawRetention
}

// entry builds the badger entry of a point, or nil if it already expired.
func (s *Store) entry(key []byte, val []byte, res byte, t int64, now time.Time) *badger.Entry {
	width, keep := s.resolution(res)
	exp := time.Unix(0, t).Add(width + keep)
	if !exp.After(now) {
		return nil
	}
	e := badger.NewEntry(key, val)
	e.ExpiresAt = uint64(exp.Unix())
	return e
}

func floorNS(t int64, width time.Duration) int64 {
	w := int64(width)
	r := t % w
	if r < 0 {
		r += w
	}
	return t - r
}

// AddSamples records every value of every sample at t for host: one raw
// entry per sample holding all its values (kept RawRetention), and each
// value folded into the open 1m and 1h rollup buckets of its attribute, which are written when the next
// bucket starts (the open hour also whenever a minute closes), by
// FlushHistory once idle, and on Close. After a kill -9 the 1m and 1h
// rollups lose at most the minute that was open. NaN and infinite values are skipped, as are
// samples whose names are empty or contain NUL. While free space is below
// MinFreeBytes it writes nothing and returns ErrHistoryReadOnly.
func (s *Store) AddSamples(host string, t time.Time, samples []model.Sample) error {
	return s.AddSamplesBatch([]HostSamples{{Host: host, Time: t, Samples: samples}})
}

// HostSamples is one report's samples for AddSamplesBatch.
type HostSamples struct {
	Host    string
	Time    time.Time
	Samples []model.Sample
}

// AddSamplesBatch is AddSamples for several reports in one badger
// transaction (split only when it grows too big), so a burst of reports
// costs one commit instead of one per report. An invalid host name fails the
// whole batch before anything is written.
func (s *Store) AddSamplesBatch(items []HostSamples) error {
	for _, it := range items {
		if err := checkName("host", it.Host); err != nil {
			return err
		}
	}
	if err := s.enterWrite(); err != nil {
		return err
	}
	defer s.leave()
	if s.historyRO.Load() {
		return ErrHistoryReadOnly
	}
	now := s.opt.Now()
	// Every host's lock is held until the commit, as AddSamples always did,
	// so FlushHistory never interleaves with these rollup writes. Locks are
	// taken in name order; only this function takes more than one.
	hosts := map[string]*hostHist{}
	for _, it := range items {
		if hosts[it.Host] == nil {
			hosts[it.Host] = s.hist.host(it.Host, true)
		}
	}
	names := slices.Sorted(maps.Keys(hosts))
	for _, n := range names {
		hosts[n].mu.Lock()
	}
	defer func() {
		for _, n := range names {
			hosts[n].mu.Unlock()
		}
	}()
	w := newTxnWriter(s.db)
	defer w.discard()
	for _, it := range items {
		if err := s.addSamples(w, hosts[it.Host], it.Host, it.Time, it.Samples, now); err != nil {
			return err
		}
	}
	if err := w.commit(); err != nil {
		return fmt.Errorf("store: commit history of %d reports: %w", len(items), err)
	}
	return nil
}

// addSamples adds one report's values to w: one raw entry per sample and
// every value into its rollups. Caller holds hh.mu.
func (s *Store) addSamples(w *txnWriter, hh *hostHist, host string, t time.Time, samples []model.Sample, now time.Time) error {
	ts := t.UnixNano()
	skipped := 0
	for _, sm := range samples {
		series := sm.Key()
		if checkName("series", series) != nil || strings.IndexByte(sm.Service, 0) >= 0 || strings.IndexByte(sm.Resource, 0) >= 0 {
			skipped++
			continue
		}
		raw := make([]byte, 1, 1+len(sm.Values)*24)
		raw[0] = sampleValueVersion
		sh := unique.Make(series)
		accs := hh.series[sh]
		grown := false
		for attr, v := range sm.Values {
			if checkName("attribute", attr) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				skipped++
				continue
			}
			raw = appendSampleValue(raw, attr, v)
			ah := unique.Make(attr)
			i := slices.IndexFunc(accs, func(a attrAcc) bool { return a.attr == ah })
			if i < 0 {
				if accs == nil {
					accs = make([]attrAcc, 0, len(sm.Values))
				}
				accs = append(accs, attrAcc{attr: ah})
				i, grown = len(accs)-1, true
			}
			if err := s.addRollups(w, &accs[i], host, series, attr, ts, v, now); err != nil {
				if grown {
					hh.series[sh] = accs
				}
				return fmt.Errorf("store: history rollup of %s %s.%s: %w", host, series, attr, err)
			}
		}
		if grown {
			hh.series[sh] = accs
		}
		if len(raw) == 1 {
			continue
		}
		if e := s.entry(histKey(resSample, host, series, "", ts), raw, resSample, ts, now); e != nil {
			if err := w.set(e); err != nil {
				return fmt.Errorf("store: history of %s %s: %w", host, series, err)
			}
		}
	}
	if skipped > 0 {
		s.log.Debug("history values skipped (bad name or not finite)", "host", host, "skipped", skipped)
	}
	return nil
}

// addRollups folds v at ts into the 1m and 1h buckets of one series
// attribute. Caller holds the host's lock.
func (s *Store) addRollups(w *txnWriter, acc *attrAcc, host, series, attr string, ts int64, v float64, now time.Time) error {
	vp := Point{Min: v, Avg: v, Max: v, N: 1}
	for _, res := range [2]byte{resMinute, resHour} {
		b := acc.bucket(res)
		width, _ := s.resolution(res)
		start := floorNS(ts, width)
		switch {
		case b.n > 0 && start == b.start:
			p := b.point()
			p.merge(vp)
			b.set(start, p, true)
		case b.n > 0 && start < b.start:
			// Late point for a bucket already closed: merge into the stored one.
			key := histKey(res, host, series, attr, start)
			p, err := w.get(res, key)
			if err != nil {
				return err
			}
			p.merge(vp)
			if e := s.entry(key, encodePoint(p), res, start, now); e != nil {
				if err := w.set(e); err != nil {
					return err
				}
			}
		default:
			// New bucket: close the open one, then start from what is stored
			// (a partial bucket written before a restart), if anything.
			if b.n > 0 {
				if err := s.writeBucket(w, res, host, series, attr, b, now); err != nil {
					return err
				}
				if res == resMinute && acc.h.dirty {
					// A minute closed: persist the open hour so far, so a
					// crash loses at most a minute of the hour's rollup.
					if err := s.writeBucket(w, resHour, host, series, attr, &acc.h, now); err != nil {
						return err
					}
				}
			}
			p, err := w.get(res, histKey(res, host, series, attr, start))
			if err != nil {
				return err
			}
			p.merge(vp)
			b.set(start, p, true)
		}
	}
	return nil
}

// writeBucket writes an open bucket as it is and marks it clean.
func (s *Store) writeBucket(w *txnWriter, res byte, host, series, attr string, b *bucket, now time.Time) error {
	if b.n <= 0 || !b.dirty {
		return nil
	}
	if e := s.entry(histKey(res, host, series, attr, b.start), encodePoint(b.point()), res, b.start, now); e != nil {
		if err := w.set(e); err != nil {
			return err
		}
	}
	b.dirty = false
	return nil
}

// flushGrace is how long after a bucket's end FlushHistory waits before
// writing and forgetting it (a later point for it is then merged into the
// stored bucket).
const flushGrace = 30 * time.Second

// FlushHistory writes and forgets the rollup buckets that closed (ended
// more than 30 s ago) without a newer point of their series closing them: a
// series that stopped reporting. Open buckets stay in memory (the open hour
// is written each time a minute closes, everything on Close). It runs every
// minute by itself.
func (s *Store) FlushHistory() error {
	if err := s.enterWrite(); err != nil {
		return err
	}
	defer s.leave()
	if s.historyRO.Load() {
		return ErrHistoryReadOnly
	}
	return s.flush(false)
}

// flush writes closed buckets and forgets them; with all set it writes the
// open ones too (Close).
func (s *Store) flush(all bool) error {
	now := s.opt.Now()
	nowNS := now.UnixNano()
	var errs []error
	for host, hh := range s.hist.all() {
		hh.mu.Lock()
		w := newTxnWriter(s.db)
		err := func() error {
			for sh, accs := range hh.series {
				series := sh.Value()
				kept := accs[:0]
				for i := range accs {
					acc := &accs[i]
					attr := acc.attr.Value()
					for _, res := range [2]byte{resMinute, resHour} {
						b := acc.bucket(res)
						if b.n == 0 {
							continue
						}
						width, _ := s.resolution(res)
						closed := b.start+int64(width)+int64(flushGrace) <= nowNS
						if !closed && !all {
							continue
						}
						if err := s.writeBucket(w, res, host, series, attr, b, now); err != nil {
							return err
						}
						if closed {
							*b = bucket{}
						}
					}
					if acc.m.n != 0 || acc.h.n != 0 {
						kept = append(kept, *acc)
					}
				}
				switch {
				case len(kept) == 0:
					delete(hh.series, sh)
				case len(kept) < len(accs):
					clear(accs[len(kept):])
					hh.series[sh] = slices.Clip(kept)
				}
			}
			return w.commit()
		}()
		w.discard()
		hh.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("host %s: %w", host, err))
		}
	}
	return errors.Join(errs...)
}

// History returns the points of one attribute of one series
// ("service.resource:unit") of host with from <= T <= to, oldest first. It
// reads raw points if from is within RawRetention and step < 1m, else 1m
// rollups if from is within 48h and step < 1h, else 1h rollups (a rollup
// point's T is its bucket start; the open buckets are included). With step
// > 0 the points are then merged into step-wide buckets aligned on the unix
// epoch: min of mins, average weighted by N, max of maxes.
func (s *Store) History(host, series, attr string, from, to time.Time, step time.Duration) ([]Point, error) {
	for _, c := range [][2]string{{"host", host}, {"series", series}, {"attribute", attr}} {
		if err := checkName(c[0], c[1]); err != nil {
			return nil, err
		}
	}
	if step < 0 {
		return nil, fmt.Errorf("store: history step %v is negative", step)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("store: history range ends (%v) before it starts (%v)", to, from)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	now := s.opt.Now()
	res := resHour
	switch {
	case !from.Before(now.Add(-s.opt.RawRetention)) && step < time.Minute:
		res = resSample
	case !from.Before(now.Add(-MinuteRollupRetention)) && step < time.Hour:
		res = resMinute
	}
	width, _ := s.resolution(res)
	fromNS, toNS := from.UnixNano(), to.UnixNano()
	if width > 0 {
		fromNS = floorNS(fromNS, width)
	}
	keyAttr := attr
	if res == resSample {
		keyAttr = "" // one key per sample; the attribute is in the value
	}
	prefix := seriesPrefix(res, host, series, keyAttr)
	var pts []Point
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(encodeTime(append([]byte(nil), prefix...), fromNS)); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+8 {
				continue // a longer name that shares this prefix cannot happen (NUL-separated), but be safe
			}
			ts := decodeTime(k[len(prefix):])
			if ts > toNS {
				break
			}
			var p Point
			found := true
			if err := item.Value(func(v []byte) error {
				if res == resSample {
					x, ok, err := sampleAttr(v, attr)
					p, found = Point{Min: x, Avg: x, Max: x, N: 1}, ok
					return err
				}
				var err error
				p, err = decodePoint(res, v)
				return err
			}); err != nil {
				return fmt.Errorf("point at %d: %w", ts, err)
			}
			if !found {
				continue // this sample had no such attribute at ts
			}
			p.T = time.Unix(0, ts)
			pts = append(pts, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history of %s %s.%s: %w", host, series, attr, err)
	}
	if res != resSample {
		pts = s.overlayOpen(pts, res, host, series, attr, fromNS, toNS)
	}
	if step > width {
		pts = downsample(pts, step)
	}
	return pts, nil
}

// overlayOpen replaces or adds the open in-memory bucket of the series,
// which supersedes what is stored for the same bucket start.
func (s *Store) overlayOpen(pts []Point, res byte, host, series, attr string, fromNS, toNS int64) []Point {
	hh := s.hist.host(host, false)
	if hh == nil {
		return pts
	}
	hh.mu.Lock()
	var b bucket
	if acc := hh.find(series, attr); acc != nil {
		b = *acc.bucket(res)
	}
	hh.mu.Unlock()
	if b.n <= 0 || b.start < fromNS || b.start > toNS {
		return pts
	}
	p := b.point()
	p.T = time.Unix(0, b.start)
	i := sort.Search(len(pts), func(i int) bool { return pts[i].T.UnixNano() >= b.start })
	if i < len(pts) && pts[i].T.UnixNano() == b.start {
		pts[i] = p
		return pts
	}
	pts = append(pts, Point{})
	copy(pts[i+1:], pts[i:])
	pts[i] = p
	return pts
}

// downsample merges time-ordered points into step-wide buckets aligned on
// the unix epoch; each output point's T is its bucket start.
func downsample(pts []Point, step time.Duration) []Point {
	if step <= 0 || len(pts) == 0 {
		return pts
	}
	out := make([]Point, 0, len(pts))
	for _, p := range pts {
		start := floorNS(p.T.UnixNano(), step)
		if n := len(out); n > 0 && out[n-1].T.UnixNano() == start {
			out[n-1].merge(p)
			continue
		}
		q := p
		q.T = time.Unix(0, start)
		out = append(out, q)
	}
	return out
}
