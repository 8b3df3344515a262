package store

import (
	"bytes"
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

	"github.com/dgraph-io/badger/v4"

	"github.com/lookout-mon/lookout/model"
)

// History layout. Rollup keys are one per (resolution, host, series,
// bucket), holding every attribute of the series:
//
//	0x01 'H' <res> <host> 0x00 <series> 0x00 <time>
//
// with <res> 'M' (1m rollup) or 'H' (1h rollup), <series>
// "service.resource:unit" and <time> the unix nanoseconds of the bucket
// start, big-endian with the sign bit flipped so keys sort by time and a
// range query is one prefix scan. The value is rollupValueVersion, then per
// attribute, in ascending name order, its name and its min, avg, max and
// count (see appendRollupAttr). How rollups are written is described at
// attrAcc. A report shape of 4 series of 10 values costs 8 rollup keys per
// host and minute (one 1m key written, one 1h key read-modify-written per
// series), not 80.
//
// Older rollups ('m' and 'h', written before per-series rollups, one key
// per attribute: <host> 0x00 <series> 0x00 <attr> 0x00 <time>, value 32
// bytes: min, avg, max as float64 bits and the count as uint64) are still
// read until they expire (RollupRetention): History merges them with the
// per-series point of the same bucket, each counted once. Nothing writes
// them any more.
//
// Raw history is stored per report, one entry per (host, report time)
// holding every value of the report, in the raw log (rawlog.go), not in
// badger. Until they expire (RawRetention after an upgrade), raw reports
// written to badger before the raw log are read too, merged in time order
// (the raw log's copy of a report wins):
//
//	0x01 'H' 'P' <host> 0x00 <time> <series of the report's first sample>
//
// (the series only tells apart two reports of a host with the same
// timestamp; a second report with the same time and first series replaces
// the first, as a per-sample key always did). The value, in both places,
// is reportValueVersion, then per sample the series name and its attribute
// list (see appendReportSample). A raw History read takes the host's
// reports in the time range and extracts the value asked for (the
// dashboard's 1h graph of a host reporting every 10 s: ~360 reports per
// collector family). Retention counts from each report's own time, so it
// holds even for late points.
//
// Older formats: raw samples ('R', one key per sample with an empty <attr>,
// value appendSampleValue's) written before raw reports are still read,
// merged in time order, until they expire within RawRetention (2h by
// default); nothing writes them any more. Raw values ('r', one key per
// value, 8-byte value) from before that are not read and expire the same
// way; the rollups keep their data.

// Resolutions of stored history.
const (
	resRaw    byte = 'r' // legacy raw values (one key per value), no longer written or read
	resSample byte = 'R' // legacy raw samples: one key per sample holding every attribute, read, no longer written
	resReport byte = 'P' // raw reports: one key per report holding every sample
	resMinute byte = 'm' // legacy 1m rollups: one key per attribute, read, no longer written
	resHour   byte = 'h' // legacy 1h rollups: one key per attribute, read, no longer written

	resMinuteSeries byte = 'M' // 1m rollups: one key per series holding every attribute
	resHourSeries   byte = 'H' // 1h rollups: one key per series holding every attribute
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

// reportPrefix returns the key prefix of host's raw reports.
func reportPrefix(host string) []byte {
	k := make([]byte, 0, 4+len(host)+8+64)
	k = append(k, 0x01, 'H', resReport)
	k = append(k, host...)
	return append(k, 0)
}

// reportKey returns the key of host's raw report at ns whose first sample
// is of series first.
func reportKey(host string, ns int64, first string) []byte {
	return append(encodeTime(reportPrefix(host), ns), first...)
}

// parseReportKey decodes a key built by reportKey.
func parseReportKey(k []byte) (host string, ns int64, first string, err error) {
	if len(k) < 4 || k[0] != 0x01 || k[1] != 'H' || k[2] != resReport {
		return "", 0, "", fmt.Errorf("store: not a raw report key: %q", k)
	}
	i := bytes.IndexByte(k[3:], 0)
	if i <= 0 || len(k) < 3+i+1+8+1 {
		return "", 0, "", fmt.Errorf("store: raw report key without host, time or series: %q", k)
	}
	host = string(k[3 : 3+i])
	rest := k[3+i+1:]
	return host, decodeTime(rest[:8]), string(rest[8:]), nil
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

// decodePoint decodes a legacy stored value of resolution res (T is left
// zero): a per-attribute rollup ('m', 'h') or a raw value ('r').
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

// rollupPrefix returns the key prefix of one series' rollups at resolution
// res (resMinuteSeries or resHourSeries).
func rollupPrefix(res byte, host, series string) []byte {
	k := make([]byte, 0, 3+len(host)+1+len(series)+1+8)
	k = append(k, 0x01, 'H', res)
	k = append(k, host...)
	k = append(k, 0)
	k = append(k, series...)
	return append(k, 0)
}

// rollupKey returns the key of one series' rollup of the bucket starting
// at ns.
func rollupKey(res byte, host, series string, ns int64) []byte {
	return encodeTime(rollupPrefix(res, host, series), ns)
}

// rollupKeyParts is a decoded rollup key.
type rollupKeyParts struct {
	Res          byte
	Host, Series string
	T            int64
}

// parseRollupKey decodes a key built by rollupKey.
func parseRollupKey(k []byte) (rollupKeyParts, error) {
	var p rollupKeyParts
	if len(k) < 3+4+8 || k[0] != 0x01 || k[1] != 'H' {
		return p, fmt.Errorf("store: not a rollup key: %q", k)
	}
	p.Res = k[2]
	if p.Res != resMinuteSeries && p.Res != resHourSeries {
		return p, fmt.Errorf("store: rollup key with unknown resolution %q", p.Res)
	}
	body := k[3 : len(k)-8]
	host, series, ok := bytes.Cut(body, []byte{0})
	if !ok || len(host) == 0 || len(series) < 2 || series[len(series)-1] != 0 || bytes.IndexByte(series[:len(series)-1], 0) >= 0 {
		return p, fmt.Errorf("store: rollup key without host or series: %q", k)
	}
	p.Host, p.Series = string(host), string(series[:len(series)-1])
	p.T = decodeTime(k[len(k)-8:])
	return p, nil
}

// seriesRes returns the per-series resolution of a legacy one (resMinute,
// resHour).
func seriesRes(res byte) byte {
	if res == resHour {
		return resHourSeries
	}
	return resMinuteSeries
}

// rollupValueVersion is the first byte of a per-series rollup value.
const rollupValueVersion = 1

// appendRollupAttr appends one attribute to a per-series rollup value: the
// name's length (uvarint), the name, N<<1|flat (uvarint) and, if flat (Min
// and Max have the same bits, so Avg is that value too), the value
// (float64 bits, big-endian), else Min, Avg and Max. Attributes are
// appended in ascending name order, each once; p.N is 1..MaxInt32.
func appendRollupAttr[S string | []byte](b []byte, name S, p Point) []byte {
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	flat := math.Float64bits(p.Min) == math.Float64bits(p.Max)
	c := uint64(p.N) << 1
	if flat {
		c |= 1
	}
	b = binary.AppendUvarint(b, c)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Min))
	if flat {
		return b
	}
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(p.Avg))
	return binary.BigEndian.AppendUint64(b, math.Float64bits(p.Max))
}

// rollupReader walks the attributes of a per-series rollup value, checking
// its format: names valid and strictly ascending, counts 1..MaxInt32,
// canonical uvarints and flat encoding, no trailing bytes.
type rollupReader struct {
	b    []byte
	prev []byte
}

// newRollupReader starts reading the rollup value v.
func newRollupReader(v []byte) (rollupReader, error) {
	if len(v) < 2 || v[0] != rollupValueVersion {
		return rollupReader{}, fmt.Errorf("store: rollup value without version byte %d or attributes", rollupValueVersion)
	}
	return rollupReader{b: v[1:]}, nil
}

// next returns the next attribute (ok false after the last one); name
// aliases the value.
func (r *rollupReader) next() (name []byte, p Point, ok bool, err error) {
	if len(r.b) == 0 {
		return nil, Point{}, false, nil
	}
	n, w := binary.Uvarint(r.b)
	if w <= 0 || n == 0 || n > MaxName || w != uvarintLen(n) || uint64(len(r.b)-w) < n {
		return nil, Point{}, false, fmt.Errorf("store: rollup value with a bad attribute name length")
	}
	name = r.b[w : w+int(n)]
	if bytes.IndexByte(name, 0) >= 0 {
		return nil, Point{}, false, fmt.Errorf("store: rollup value with attribute name %q containing NUL", name)
	}
	if r.prev != nil && bytes.Compare(r.prev, name) >= 0 {
		return nil, Point{}, false, fmt.Errorf("store: rollup value with attribute %q after %q (not ascending)", name, r.prev)
	}
	p, size, err := rollupPoint(r.b[w+int(n):], name)
	if err != nil {
		return nil, Point{}, false, err
	}
	r.b, r.prev = r.b[w+int(n)+size:], name
	return name, p, true, nil
}

// rollupPoint decodes the count and values of attribute name at the start
// of b, returning the point and the bytes it took.
func rollupPoint(b, name []byte) (p Point, size int, err error) {
	c, w := binary.Uvarint(b)
	if w <= 0 || w != uvarintLen(c) {
		return Point{}, 0, fmt.Errorf("store: rollup value with a bad count for %q", name)
	}
	cnt, flat := c>>1, c&1 == 1
	if cnt == 0 || cnt > math.MaxInt32 {
		return Point{}, 0, fmt.Errorf("store: rollup value with count %d for %q", cnt, name)
	}
	b = b[w:]
	need := 24
	if flat {
		need = 8
	}
	if len(b) < need {
		return Point{}, 0, fmt.Errorf("store: rollup value truncated in %q (%d bytes left, want %d)", name, len(b), need)
	}
	mn := binary.BigEndian.Uint64(b)
	p = Point{Min: math.Float64frombits(mn), N: int(cnt)}
	if flat {
		p.Avg, p.Max = p.Min, p.Min
	} else {
		mx := binary.BigEndian.Uint64(b[16:])
		if mx == mn {
			return Point{}, 0, fmt.Errorf("store: rollup value with min = max not flat for %q", name)
		}
		p.Avg, p.Max = math.Float64frombits(binary.BigEndian.Uint64(b[8:])), math.Float64frombits(mx)
	}
	return p, w + need, nil
}

// rollupAttr extracts one attribute from a per-series rollup value; ok is
// false if the value has no such attribute. It is the read path of every
// rollup point, so it only checks the framing of the attributes it skips
// (rollupReader checks everything) and stops at the first name whose first
// byte sorts after attr's.
func rollupAttr(v []byte, attr string) (p Point, ok bool, err error) {
	if len(v) < 2 || v[0] != rollupValueVersion {
		return Point{}, false, fmt.Errorf("store: rollup value without version byte %d or attributes", rollupValueVersion)
	}
	if attr == "" {
		return Point{}, false, nil
	}
	b := v[1:]
	for len(b) > 0 {
		n, w := uint64(b[0]), 1
		if n >= 0x80 {
			n, w = binary.Uvarint(b)
		}
		if w <= 0 || n == 0 || uint64(len(b)-w) <= n {
			return Point{}, false, fmt.Errorf("store: rollup value with a bad attribute name length")
		}
		name := b[w : w+int(n)]
		b = b[w+int(n):]
		if int(n) == len(attr) && string(name) == attr {
			p, _, err := rollupPoint(b, name)
			return p, err == nil, err
		}
		if name[0] > attr[0] {
			return Point{}, false, nil // ascending: not there
		}
		// Skip the count (the flat bit is in its first byte) and values.
		size := 24
		if b[0]&1 == 1 {
			size = 8
		}
		c, w := binary.Uvarint(b)
		if w <= 0 || c>>1 == 0 || len(b)-w < size {
			return Point{}, false, fmt.Errorf("store: rollup value with a bad count or truncated after %q", name)
		}
		b = b[w+size:]
	}
	return Point{}, false, nil
}

// mergeRollup returns the per-series rollup value old (nil: none) with
// pts merged in: pts[j] (N = 0: nothing) belongs to names[j], which are
// ascending and distinct. The result is nil if it holds no attribute.
func mergeRollup(old []byte, names []string, pts []Point) ([]byte, error) {
	out := make([]byte, 1, len(old)+len(names)*(8+1+24)+16)
	out[0] = rollupValueVersion
	var r rollupReader
	var name []byte
	var p Point
	more := false
	if old != nil {
		var err error
		if r, err = newRollupReader(old); err != nil {
			return nil, err
		}
		if name, p, more, err = r.next(); err != nil {
			return nil, err
		}
	}
	j := 0
	for {
		for j < len(names) && pts[j].N <= 0 {
			j++
		}
		if !more && j >= len(names) {
			break
		}
		switch {
		case !more || (j < len(names) && string(name) > names[j]):
			out = appendRollupAttr(out, names[j], pts[j])
			j++
			continue
		case j >= len(names) || string(name) < names[j]:
			out = appendRollupAttr(out, name, p)
		default:
			p.merge(pts[j])
			out = appendRollupAttr(out, name, p)
			j++
		}
		var err error
		if name, p, more, err = r.next(); err != nil {
			return nil, err
		}
	}
	if len(out) == 1 {
		return nil, nil
	}
	return out, nil
}

// mergeByTime merges two time-ordered point lists; points of the same
// bucket are merged into one.
func mergeByTime(a, b []Point) []Point {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]Point, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || len(a) > 0 && a[0].T.Before(b[0].T):
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0].T.Before(a[0].T):
			out, b = append(out, b[0]), b[1:]
		default:
			p := a[0]
			p.merge(b[0])
			out, a, b = append(out, p), a[1:], b[1:]
		}
	}
	return out
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
	_, err := walkAttrs(b[1:], fn)
	return err
}

// walkAttrs calls fn for each attribute of an encoded attribute list (a
// sample value without its version byte) until fn returns false, which
// stopped reports. It fails on a list that is not well formed (checked up
// to where fn stopped).
func walkAttrs(b []byte, fn func(attr []byte, v float64) bool) (stopped bool, err error) {
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || n == 0 || n > MaxName || w != uvarintLen(n) {
			return false, fmt.Errorf("store: raw history value with a bad attribute name length")
		}
		b = b[w:]
		if uint64(len(b)) < n+8 {
			return false, fmt.Errorf("store: raw history value truncated (attribute of %d bytes, %d left)", n, len(b))
		}
		attr := b[:n]
		v := math.Float64frombits(binary.BigEndian.Uint64(b[n:]))
		b = b[n+8:]
		if !fn(attr, v) {
			return true, nil
		}
	}
	return false, nil
}

// uvarintLen is the length of the canonical uvarint encoding of n.
func uvarintLen(n uint64) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// reportValueVersion is the first byte of a raw report value.
const reportValueVersion = 2

// maxReportSample caps the encoded attributes of one sample in a raw report
// value (a sanity bound for decoding).
const maxReportSample = 1 << 24

// appendReportSample appends one sample to a raw report value: the series
// name's length (uvarint), the name, the attribute list's length (uvarint)
// and the list (appendSampleValue's format without the version byte).
func appendReportSample(b []byte, series string, attrs []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(series)))
	b = append(b, series...)
	b = binary.AppendUvarint(b, uint64(len(attrs)))
	return append(b, attrs...)
}

// walkReportValue calls fn with the series name and the encoded attribute
// list of each sample of a raw report value, in stored order, until fn
// returns false. It checks the framing, not the attribute lists.
func walkReportValue(b []byte, fn func(series, attrs []byte) bool) error {
	if len(b) == 0 || b[0] != reportValueVersion {
		return fmt.Errorf("store: raw report value without version byte %d", reportValueVersion)
	}
	b = b[1:]
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || n == 0 || n > MaxName || w != uvarintLen(n) || uint64(len(b)-w) < n {
			return fmt.Errorf("store: raw report value with a bad series name")
		}
		series := b[w : w+int(n)]
		b = b[w+int(n):]
		m, w := binary.Uvarint(b)
		if w <= 0 || m == 0 || m > maxReportSample || w != uvarintLen(m) || uint64(len(b)-w) < m {
			return fmt.Errorf("store: raw report value with a bad sample length after series %q", series)
		}
		attrs := b[w : w+int(m)]
		b = b[w+int(m):]
		if !fn(series, attrs) {
			return nil
		}
	}
	return nil
}

// reportAttr extracts series.attr from a raw report value; ok is false if
// the report has no such value.
func reportAttr(b []byte, series, attr string) (v float64, ok bool, err error) {
	var inner error
	err = walkReportValue(b, func(s, attrs []byte) bool {
		if string(s) != series {
			return true
		}
		var stopped bool
		stopped, inner = walkAttrs(attrs, func(a []byte, x float64) bool {
			if string(a) == attr {
				v, ok = x, true
				return false
			}
			return true
		})
		return !stopped && inner == nil // a report holds a series once, but be lenient
	})
	if err == nil {
		err = inner
	}
	return v, ok, err
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

// Rollups. Each series has a 1m and a 1h rollup in badger, one key each
// holding every attribute of the series (see appendRollupAttr). In memory a host keeps, per series, only the open minute: its start
// (shared by every attribute of the series, as all attributes of a sample
// have the same time) and, per attribute, the aggregate of the points added
// since that minute was last written (seriesAcc: 24 bytes per series and
// 24 per attribute in one packed slice per host, the names shared with
// every host). There is no open hour in memory.
//
// Scheme (why a point is never counted twice, and lost only with the open
// minute on kill -9): every point is, at any time, in exactly one of
//
//	(a) the in-memory accumulator of its series' open minute, or
//	(b) both the stored 1m rollup of its minute and the stored 1h rollup
//	    of its hour.
//
// A point moves from (a) to (b) when the minute closes (a point of a later
// minute arrives, FlushHistory finds it idle, or Close): in one badger
// transaction the series' accumulators (every attribute) are added to the
// stored 1m value and to the stored 1h value of the series (one
// read-modify-write each; an absent key counts as empty), and the
// accumulators are emptied. A late point (older than the open minute) goes
// straight to (b) the same way. So the stored hour is always the merge of
// the stored minutes of that hour, whatever the restarts: after Close the
// open minute is stored (partial) and a later point of the same minute,
// after the restart, is simply added to it again as a new accumulator.
// After kill -9 the accumulators, i.e. the points of the open minutes since
// their last write, are lost from both the 1m and the 1h rollups, and
// nothing else. (Only if a transaction grows past badger's size limit is it
// split in several commits; a kill -9 between two of them can lose a closed
// minute from its hour as well, never count it twice.) History adds the
// open accumulator to the stored minute or hour it belongs to. A bucket
// that also has a legacy per-attribute key (the store was upgraded in
// that minute or hour) counts both: the legacy key holds what was stored
// before the upgrade, the per-series key what was stored after it.

// noMinute marks a series without an open minute.
const noMinute = math.MinInt64

// attrAcc is the aggregate of the open minute of one attribute, as
// hostHist.find returns it (a copy: the aggregates are kept in
// hostHist.vals).
type attrAcc struct {
	min, max, sum float64
	n             int32
}

// point returns the accumulated aggregate (T unset), N = 0 if empty.
func (a *attrAcc) point() Point {
	if a.n <= 0 {
		return Point{}
	}
	return Point{Min: a.min, Avg: a.sum / float64(a.n), Max: a.max, N: int(a.n)}
}

// seriesAcc is the open minute of one series: 24 bytes, plus its block of
// 24 bytes per attribute in its host's vals. Its identity and attribute
// names are a shared, interned model.Shape (model.ShapeOf: hosts of one
// kind share them, and so do the host actors' last values), so no name is
// stored per host. Its block holds, for attribute i of shape.Names, min,
// max and sum at 3i, 3i+1 and 3i+2. Usually every attribute got every one
// of the n samples of the open minute and its count is n. When one did not
// (a sample without it, a NaN value, an attribute that appeared in the
// middle of the minute), the series is "counted" until the minute closes:
// hostHist.counts holds a count per attribute.
type seriesAcc struct {
	shape  *model.Shape
	minute int64  // start of the open minute (unix ns), noMinute if none
	n      int32  // samples added since the open minute was last stored
	off    uint32 // start of the block in hostHist.vals, | countedBit
}

// countedBit in seriesAcc.off marks a series with a count per attribute.
const countedBit = 1 << 31

// attrs returns the number of attributes of sa's layout.
func (sa *seriesAcc) attrs() int { return len(sa.shape.Names) }

// counted reports whether sa has a count per attribute.
func (sa *seriesAcc) counted() bool { return sa.off&countedBit != 0 }

// blockLen returns the length of sa's block.
func (sa *seriesAcc) blockLen() int { return 3 * sa.attrs() }

// attrValue is one value of a sample to accumulate: its attribute, the
// attribute's index in the series' shape (-1 if not in it) and the value.
type attrValue struct {
	name string
	i    int
	v    float64
}

// hostHist holds the open minutes of one host's series, in a flat slice
// (hosts have tens of series; reports usually list them in the same order,
// so the search starts where the previous one ended), and their aggregates
// in one slice, trimmed to its exact size after every report (see trim):
// per host two allocations, whatever the number of series.
type hostHist struct {
	mu     sync.Mutex
	series []seriesAcc
	vals   []float64 // the series' blocks, in series order
	// counts holds the count per attribute of the counted series, by
	// their shape (unique per series); nil when there are none.
	counts map[*model.Shape][]int32
	next   int // search hint: index after the last series found
}

// block returns series i's block in vals.
func (hh *hostHist) block(i int) []float64 {
	sa := &hh.series[i]
	s := int(sa.off &^ countedBit)
	e := s + sa.blockLen()
	return hh.vals[s:e:e]
}

// count returns the number of points of attribute j of series i in the
// open minute.
func (hh *hostHist) count(i, j int) int32 {
	sa := &hh.series[i]
	if sa.counted() {
		return hh.counts[sa.shape][j]
	}
	return sa.n
}

// acc returns the aggregate of attribute j of series i.
func (hh *hostHist) acc(i, j int) attrAcc {
	b := hh.block(i)
	return attrAcc{min: b[3*j], max: b[3*j+1], sum: b[3*j+2], n: hh.count(i, j)}
}

// repack rebuilds vals at its exact size from the series' blocks, series
// i (if >= 0) getting shape sh and the block blk (zeros if nil; 3 values
// per name of sh). Layouts change rarely: when a series changes shape,
// and when FlushHistory drops series.
func (hh *hostHist) repack(i int, sh *model.Shape, blk []float64) {
	total := 0
	for j := range hh.series {
		if j == i {
			total += 3 * len(sh.Names)
			continue
		}
		total += hh.series[j].blockLen()
	}
	var vals []float64
	if total > 0 {
		vals = make([]float64, total)
	}
	off := 0
	for j := range hh.series {
		sa := &hh.series[j]
		var src []float64
		if j == i {
			src = blk
			sa.shape = sh
			copy(vals[off:off+3*len(sh.Names)], src)
			sa.off = uint32(off) | sa.off&countedBit
			off += 3 * len(sh.Names)
			continue
		}
		src = hh.block(j)
		copy(vals[off:off+len(src)], src)
		sa.off = uint32(off) | sa.off&countedBit
		off += len(src)
	}
	hh.vals = vals
}

// trim drops vals' spare capacity (left by series added with append).
func (hh *hostHist) trim() {
	if cap(hh.vals) > len(hh.vals) {
		hh.vals = slices.Clip(append(make([]float64, 0, len(hh.vals)), hh.vals...))
	}
}

// setCounts makes series i counted with counts c (one per attribute).
func (hh *hostHist) setCounts(i int, c []int32) {
	sa := &hh.series[i]
	if hh.counts == nil {
		hh.counts = map[*model.Shape][]int32{}
	}
	hh.counts[sa.shape] = c
	sa.off |= countedBit
}

// dropCounts makes series i uncounted.
func (hh *hostHist) dropCounts(i int) {
	sa := &hh.series[i]
	if !sa.counted() {
		return
	}
	delete(hh.counts, sa.shape)
	if len(hh.counts) == 0 {
		hh.counts = nil
	}
	sa.off &^= countedBit
}

// reshape gives series i the layout of sh, keeping what was accumulated:
// an attribute of the old layout missing from sh is kept too (sh is then
// widened to the union), and the series becomes counted unless nothing was
// accumulated yet.
func (hh *hostHist) reshape(i int, sh *model.Shape) {
	sa := &hh.series[i]
	old := sa.shape
	if sa.n == 0 {
		hh.dropCounts(i)
		if len(sh.Names) == len(old.Names) {
			sa.shape = sh // same block size: in place
			clear(hh.block(i))
			return
		}
		hh.repack(i, sh, nil)
		return
	}
	for _, n := range old.Names {
		if sh.Index(n) < 0 {
			union := make(map[string]float64, len(old.Names)+len(sh.Names))
			for _, n := range old.Names {
				union[n] = 0
			}
			for _, n := range sh.Names {
				union[n] = 0
			}
			sh = model.ShapeOf(model.Sample{Service: sh.Service, Resource: sh.Resource, Unit: sh.Unit, Values: union})
			break
		}
	}
	k := len(sh.Names)
	blk := make([]float64, 3*k)
	counts := make([]int32, k)
	for j, n := range sh.Names {
		if o := old.Index(n); o >= 0 {
			a := hh.acc(i, o)
			blk[3*j], blk[3*j+1], blk[3*j+2] = a.min, a.max, a.sum
			counts[j] = a.n
		}
	}
	hh.dropCounts(i)
	hh.repack(i, sh, blk)
	hh.setCounts(i, counts)
}

// makeCounted gives series i a count per attribute (all n so far).
func (hh *hostHist) makeCounted(i int) {
	sa := &hh.series[i]
	if sa.counted() {
		return
	}
	c := make([]int32, sa.attrs())
	for j := range c {
		c[j] = sa.n
	}
	hh.setCounts(i, c)
}

// reset empties the open minute of series i, keeping its shape.
func (hh *hostHist) reset(i int) {
	hh.dropCounts(i)
	clear(hh.block(i))
	hh.series[i].n = 0
}

// add folds one sample's valid values vs (attribute indexes in the
// series' shape; exact tells whether smp has exactly the shape's
// attributes) into the open minute of series i.
func (hh *hostHist) add(i int, smp model.Sample, vs []attrValue, exact bool) {
	sa := &hh.series[i]
	if !exact || len(vs) != sa.attrs() || sa.counted() {
		hh.addCounted(i, smp, vs, exact)
		return
	}
	b := hh.block(i)
	if sa.n == 0 {
		for _, x := range vs {
			b[3*x.i], b[3*x.i+1], b[3*x.i+2] = x.v, x.v, x.v
		}
	} else {
		for _, x := range vs {
			a := b[3*x.i : 3*x.i+3 : 3*x.i+3]
			a[0] = math.Min(a[0], x.v)
			a[1] = math.Max(a[1], x.v)
			a[2] += x.v
		}
	}
	if sa.n < math.MaxInt32 {
		sa.n++
	}
}

// addCounted is add for a sample that does not give every attribute of
// the layout a value, or has attributes the layout lacks, or a series
// already counted.
func (hh *hostHist) addCounted(i int, smp model.Sample, vs []attrValue, exact bool) {
	if !exact {
		// smp's attributes are not the layout's: take smp's shape (widened
		// to keep what the minute holds) and find the indexes again.
		hh.reshape(i, model.ShapeOf(smp))
		for j := range vs {
			vs[j].i = hh.series[i].shape.Index(vs[j].name)
		}
	}
	sa := &hh.series[i]
	if sa.n > 0 || len(vs) != sa.attrs() {
		hh.makeCounted(i)
	}
	b := hh.block(i)
	var counts []int32
	if sa.counted() {
		counts = hh.counts[sa.shape]
	}
	for _, x := range vs {
		a := b[3*x.i : 3*x.i+3 : 3*x.i+3]
		if hh.count(i, x.i) == 0 {
			a[0], a[1], a[2] = x.v, x.v, x.v
		} else {
			a[0] = math.Min(a[0], x.v)
			a[1] = math.Max(a[1], x.v)
			a[2] += x.v
		}
		if counts != nil && counts[x.i] < math.MaxInt32 {
			counts[x.i]++
		}
	}
	if sa.n < math.MaxInt32 {
		sa.n++
	}
}

// index returns the index of the series whose key matches, -1 if absent.
// Caller holds mu.
func (hh *hostHist) index(match func(key string) bool) int {
	n := len(hh.series)
	for k := 0; k < n; k++ {
		i := hh.next + k
		if i >= n {
			i -= n
		}
		if match(hh.series[i].shape.Key) {
			hh.next = i + 1
			return i
		}
	}
	return -1
}

// get returns the index of smp's series, adding it (without an open
// minute, with smp's shape) if needed; -1 if the series' names are not
// valid history names. sizeHint is the capacity of a new slice. Caller
// holds mu.
func (hh *hostHist) get(smp model.Sample, sizeHint int) int {
	if i := hh.index(func(key string) bool {
		return model.CompareKey(key, smp.Service, smp.Resource, smp.Unit) == 0
	}); i >= 0 {
		return i
	}
	if checkName("series", smp.Key()) != nil || strings.IndexByte(smp.Service, 0) >= 0 || strings.IndexByte(smp.Resource, 0) >= 0 {
		return -1
	}
	if hh.series == nil {
		hh.series = make([]seriesAcc, 0, max(sizeHint, 1))
	}
	// The block is appended (amortized: a host's first report adds all its
	// series); addSamples trims vals once the report is in.
	sh := model.ShapeOf(smp)
	off := len(hh.vals)
	hh.vals = append(hh.vals, make([]float64, 3*len(sh.Names))...)
	hh.series = append(hh.series, seriesAcc{shape: sh, minute: noMinute, off: uint32(off)})
	hh.next = len(hh.series)
	return len(hh.series) - 1
}

// find returns the open minute of series and the aggregate of its
// attribute attr, nil if none. Caller holds mu.
func (hh *hostHist) find(series, attr string) (*seriesAcc, *attrAcc) {
	i := hh.index(func(key string) bool { return key == series })
	if i < 0 {
		return nil, nil
	}
	sa := &hh.series[i]
	j := sa.shape.Index(attr)
	if j < 0 {
		return sa, nil
	}
	a := hh.acc(i, j)
	return sa, &a
}

// attrCount returns the number of attribute accumulators. Caller holds mu.
func (hh *hostHist) attrCount() int {
	n := 0
	for i := range hh.series {
		n += hh.series[i].attrs()
	}
	return n
}

// history is the in-memory part of the history: open minutes per host.
type history struct {
	mu    sync.Mutex
	hosts map[string]*hostHist

	// legacyOnce finds out, at the first rollup read, whether any legacy
	// per-attribute rollup is stored (legacy); nothing writes them any
	// more, so without any the reads skip their scan.
	legacyOnce sync.Once
	legacy     bool
}

// hasLegacy reports whether db held legacy per-attribute rollups ('m' or
// 'h' keys) when first asked. If the check fails it reports true (reads
// then scan them).
func (h *history) hasLegacy(db *badger.DB) bool {
	h.legacyOnce.Do(func() {
		found := false
		err := db.View(func(txn *badger.Txn) error {
			for _, res := range [2]byte{resMinute, resHour} {
				opts := badger.DefaultIteratorOptions
				opts.Prefix = []byte{0x01, 'H', res}
				opts.PrefetchValues = false
				it := txn.NewIterator(opts)
				it.Rewind()
				found = found || it.Valid()
				it.Close()
			}
			return nil
		})
		h.legacy = found || err != nil
	})
	return h.legacy
}

func (h *history) init() { h.hosts = make(map[string]*hostHist) }

func (h *history) host(name string, create bool) *hostHist {
	h.mu.Lock()
	defer h.mu.Unlock()
	hh := h.hosts[name]
	if hh == nil && create {
		hh = &hostHist{}
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
	raw []rawRec // raw reports, for the raw log (addSamples)
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

// mergeRollup reads the per-series rollup value at key (absent: empty)
// and returns it with pts merged in (see mergeRollup).
func (w *txnWriter) mergeRollup(key []byte, names []string, pts []Point) ([]byte, error) {
	it, err := w.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return mergeRollup(nil, names, pts)
	}
	if err != nil {
		return nil, err
	}
	var out []byte
	err = it.Value(func(v []byte) error {
		var err error
		out, err = mergeRollup(v, names, pts)
		return err
	})
	return out, err
}

func (w *txnWriter) commit() error { return w.txn.Commit() }
func (w *txnWriter) discard()      { w.txn.Discard() }

// width and retention of a rollup resolution.
func (s *Store) resolution(res byte) (width, keep time.Duration) {
	switch res {
	case resMinute, resMinuteSeries:
		return time.Minute, MinuteRollupRetention
	case resHour, resHourSeries:
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
// entry holding all of them (kept RawRetention), and each
// value folded into its series' open minute in memory, which is added to
// the stored 1m and 1h rollups of its series when a point of a later
// minute arrives, by FlushHistory once idle, and on Close (see the rollup
// scheme at attrAcc). After a kill -9 the 1m and 1h rollups lose at most the
// minute that was open, and count nothing twice. NaN and infinite values
// are skipped, as are samples whose names are empty or contain NUL. While
// free space is below MinFreeBytes it writes nothing and returns
// ErrHistoryReadOnly.
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
	return s.addSamplesBatch(items, true)
}

// addSamplesBatch is AddSamplesBatch, with the raw entries only if raw is
// set (AddRollupsBatch: they were committed with the reports).
func (s *Store) addSamplesBatch(items []HostSamples, raw bool) error {
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
		if err := s.addSamples(w, hosts[it.Host], it.Host, it.Time, it.Samples, now, raw); err != nil {
			return err
		}
	}
	// Raw reports first, as Batch.Commit does.
	if err := s.raw.append(w.raw); err != nil {
		return fmt.Errorf("store: raw history of %d reports: %w", len(items), err)
	}
	if err := w.commit(); err != nil {
		return fmt.Errorf("store: commit history of %d reports: %w", len(items), err)
	}
	return nil
}

// addSamples adds one report's values to w: one raw entry for the report
// (if raw is set; EncodeReport encodes the same value) and every value
// into its series' open minute (see the rollup scheme above). Caller holds
// hh.mu.
func (s *Store) addSamples(w *txnWriter, hh *hostHist, host string, t time.Time, samples []model.Sample, now time.Time, raw bool) error {
	defer hh.trim()
	ts := t.UnixNano()
	minute := floorNS(ts, time.Minute)
	skipped := 0
	var rep, attrs []byte // the report's raw value; one sample's attributes
	var vbuf [64]attrValue
	first := ""
	for _, sm := range samples {
		si := hh.get(sm, len(samples))
		if si < 0 {
			skipped++
			continue
		}
		sa := &hh.series[si]
		series := sa.shape.Key
		late := false
		switch {
		case sa.minute == noMinute:
			sa.minute = minute
		case minute > sa.minute:
			if err := s.closeMinute(w, host, hh, si, now); err != nil {
				return err
			}
			sa.minute = minute
		case minute < sa.minute:
			late = true // its minute was already written: add to the stored rollups
		}
		attrs = attrs[:0]
		vs := vbuf[:0]
		exact := len(sm.Values) == sa.attrs()
		for attr, v := range sm.Values {
			i := sa.shape.Index(attr)
			if i < 0 {
				exact = false
			}
			if checkName("attribute", attr) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				skipped++
				continue
			}
			if raw {
				attrs = appendSampleValue(attrs, attr, v)
			}
			if !late {
				vs = append(vs, attrValue{name: attr, i: i, v: v})
				continue
			}
			if err := s.addStored(w, host, series, attr, minute, Point{Min: v, Avg: v, Max: v, N: 1}, now); err != nil {
				return fmt.Errorf("store: late history rollup of %s %s.%s: %w", host, series, attr, err)
			}
		}
		if !late {
			hh.add(si, sm, vs, exact)
		}
		if len(attrs) == 0 {
			continue
		}
		if rep == nil {
			rep = make([]byte, 1, 16+len(samples)*(len(series)+len(attrs)+4))
			rep[0] = reportValueVersion
			first = series
		}
		rep = appendReportSample(rep, series, attrs)
	}
	if rep != nil {
		w.raw = append(w.raw, rawRec{host: host, t: ts, first: first, value: rep})
	}
	if skipped > 0 {
		s.log.Debug("history values skipped (bad name or not finite)", "host", host, "skipped", skipped)
	}
	return nil
}

// closeMinute adds the accumulators of the open minute of series i (every
// attribute) to the series' stored 1m and 1h rollups in w and empties
// them; the series then has no open minute. On an error the accumulators
// are kept and w holds nothing of them unless it committed part of its
// entries on the way (see txnWriter). Caller holds the host's lock.
func (s *Store) closeMinute(w *txnWriter, host string, hh *hostHist, i int, now time.Time) error {
	sa := &hh.series[i]
	if sa.minute == noMinute {
		return nil
	}
	names := sa.shape.Names
	var buf [16]Point
	pts := buf[:0]
	points := false
	for j := range names {
		a := hh.acc(i, j)
		pts = append(pts, a.point())
		points = points || a.n > 0
	}
	if points {
		if err := s.addStoredSeries(w, host, sa.shape.Key, sa.minute, names, pts, now); err != nil {
			return fmt.Errorf("store: history rollup of %s %s: %w", host, sa.shape.Key, err)
		}
	}
	hh.reset(i)
	sa.minute = noMinute
	return nil
}

// addStored merges p, points of attribute attr of the minute starting at
// minute, into the series' stored 1m rollup of that minute and stored 1h
// rollup of its hour.
func (s *Store) addStored(w *txnWriter, host, series, attr string, minute int64, p Point, now time.Time) error {
	names, pts := [1]string{attr}, [1]Point{p}
	return s.addStoredSeries(w, host, series, minute, names[:], pts[:], now)
}

// addStoredSeries merges pts (pts[j] the points of attribute names[j],
// ascending; N = 0: none) of the minute starting at minute into the
// series' stored 1m rollup of that minute and stored 1h rollup of its hour:
// one read-modify-write of one key each.
func (s *Store) addStoredSeries(w *txnWriter, host, series string, minute int64, names []string, pts []Point, now time.Time) error {
	var ents [2]*badger.Entry
	for k, res := range [2]byte{resMinuteSeries, resHourSeries} {
		width, _ := s.resolution(res)
		start := floorNS(minute, width)
		key := rollupKey(res, host, series, start)
		val, err := w.mergeRollup(key, names, pts)
		if err != nil {
			return fmt.Errorf("%v rollup at %v: %w", width, time.Unix(0, start).UTC(), err)
		}
		if val != nil {
			ents[k] = s.entry(key, val, res, start, now)
		}
	}
	for _, e := range ents {
		if e == nil {
			continue
		}
		if err := w.set(e); err != nil {
			return err
		}
	}
	return nil
}

// flushGrace is how long after a minute's end FlushHistory waits before
// writing and forgetting it (a later point for it is then merged into the
// stored rollups).
const flushGrace = 30 * time.Second

// FlushHistory writes and forgets the open minutes that ended more than
// 30 s ago without a newer point of their series closing them: series that
// stopped reporting. It runs every minute by itself.
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

// flush writes the closed minutes and forgets their series; with all set it
// writes the open ones too (Close).
func (s *Store) flush(all bool) error {
	now := s.opt.Now()
	nowNS := now.UnixNano()
	var errs []error
	for host, hh := range s.hist.all() {
		hh.mu.Lock()
		w := newTxnWriter(s.db)
		err := func() error {
			// Series whose minute closed are written, then dropped (and the
			// blocks of the others packed). On an error the failed series
			// and the ones after it are kept as they are.
			closed := make([]bool, len(hh.series))
			failed := len(hh.series)
			var err error
			for i := range hh.series {
				sa := &hh.series[i]
				closed[i] = sa.minute == noMinute || sa.minute+int64(time.Minute+flushGrace) <= nowNS
				if err == nil && (closed[i] || all) {
					if err = s.closeMinute(w, host, hh, i, now); err != nil {
						failed = i
					}
				}
			}
			kept := hh.series[:0]
			for i := range hh.series {
				if !closed[i] || i >= failed {
					kept = append(kept, hh.series[i])
				}
			}
			clear(hh.series[len(kept):])
			hh.series, hh.next = kept, 0
			if len(kept) == 0 {
				hh.series = nil
			}
			hh.repack(-1, nil, nil)
			if err != nil {
				return err
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
// point's T is its bucket start; the open minute is included). With step
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
	// A rollup read holds the host's lock across the stored read and the
	// open minute, so a minute closing in between is seen exactly once.
	var hh *hostHist
	if res != resSample {
		if hh = s.hist.host(host, false); hh != nil {
			hh.mu.Lock()
			defer hh.mu.Unlock()
		}
	}
	legacy := res != resSample && s.hist.hasLegacy(s.db)
	var pts []Point
	if res == resSample {
		// Raw: the host's reports (the raw log, and badger's from before
		// it), then legacy per-sample entries (only for RawRetention after
		// the upgrade), merged in time order.
		reps, err := s.rawReports(host, fromNS, toNS)
		if err != nil {
			return nil, fmt.Errorf("store: history of %s %s.%s: %w", host, series, attr, err)
		}
		for _, r := range reps {
			x, ok, err := reportAttr(r.value, series, attr)
			if err != nil {
				return nil, fmt.Errorf("store: history of %s %s.%s: raw report at %d: %w", host, series, attr, r.t, err)
			}
			if ok {
				pts = append(pts, Point{T: time.Unix(0, r.t), Min: x, Avg: x, Max: x, N: 1})
			}
		}
	}
	err := s.db.View(func(txn *badger.Txn) error {
		if res != resSample {
			return scanRollups(txn, &pts, res, host, series, attr, fromNS, toNS, legacy)
		}
		n := len(pts)
		if err := scanPoints(txn, &pts, seriesPrefix(resSample, host, series, ""), false, fromNS, toNS, func(v []byte) (Point, bool, error) {
			x, ok, err := sampleAttr(v, attr)
			return Point{Min: x, Avg: x, Max: x, N: 1}, ok, err
		}); err != nil {
			return err
		}
		if n > 0 && len(pts) > n {
			slices.SortStableFunc(pts, func(a, b Point) int { return a.T.Compare(b.T) })
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history of %s %s.%s: %w", host, series, attr, err)
	}
	if hh != nil {
		pts = s.overlayOpen(pts, hh, res, series, attr, fromNS, toNS)
	}
	if step > width {
		pts = downsample(pts, step)
	}
	return pts, nil
}

// scanRollups appends to pts the rollup points of series.attr of host at
// res (resMinute or resHour) with fromNS <= T <= toNS, in time order: the
// per-series keys, merged, if legacy is set, with the legacy per-attribute
// keys (a bucket with both counts both).
func scanRollups(txn *badger.Txn, pts *[]Point, res byte, host, series, attr string, fromNS, toNS int64, legacy bool) error {
	if err := scanPoints(txn, pts, rollupPrefix(seriesRes(res), host, series), false, fromNS, toNS, func(v []byte) (Point, bool, error) {
		return rollupAttr(v, attr)
	}); err != nil {
		return err
	}
	if !legacy {
		return nil
	}
	var old []Point
	if err := scanPoints(txn, &old, seriesPrefix(res, host, series, attr), false, fromNS, toNS, func(v []byte) (Point, bool, error) {
		p, err := decodePoint(res, v)
		return p, true, err
	}); err != nil {
		return fmt.Errorf("legacy rollups: %w", err)
	}
	*pts = mergeByTime(*pts, old)
	return nil
}

// scanPoints appends to pts the points of the keys prefix+<time>[+suffix]
// with fromNS <= time <= toNS, in time order; keys longer than prefix+8 are
// skipped unless suffixed (raw reports carry a series after the time).
// decode turns a value into a point, ok false to skip it.
func scanPoints(txn *badger.Txn, pts *[]Point, prefix []byte, suffixed bool, fromNS, toNS int64, decode func(v []byte) (Point, bool, error)) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	// History values are small and stored in the LSM tree: reading them in
	// place is cheaper than prefetching copies.
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(encodeTime(append([]byte(nil), prefix...), fromNS)); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		k := item.Key()
		if len(k) < len(prefix)+8 || (!suffixed && len(k) != len(prefix)+8) {
			continue // a longer name that shares this prefix cannot happen (NUL-separated), but be safe
		}
		ts := decodeTime(k[len(prefix) : len(prefix)+8])
		if ts > toNS {
			break
		}
		var p Point
		ok := false
		if err := item.Value(func(v []byte) error {
			var err error
			p, ok, err = decode(v)
			return err
		}); err != nil {
			return fmt.Errorf("point at %d: %w", ts, err)
		}
		if !ok {
			continue // this sample or report had no such value at ts
		}
		p.T = time.Unix(0, ts)
		*pts = append(*pts, p)
	}
	return nil
}

// overlayOpen adds the open in-memory minute of the series (the points not
// yet stored) to the stored point of its minute or hour, or inserts it.
// Caller holds hh.mu.
func (s *Store) overlayOpen(pts []Point, hh *hostHist, res byte, series, attr string, fromNS, toNS int64) []Point {
	var p Point
	var start int64
	if sa, a := hh.find(series, attr); a != nil && sa.minute != noMinute {
		p = a.point()
		width, _ := s.resolution(res)
		start = floorNS(sa.minute, width)
	}
	if p.N <= 0 || start < fromNS || start > toNS {
		return pts
	}
	p.T = time.Unix(0, start)
	i := sort.Search(len(pts), func(i int) bool { return pts[i].T.UnixNano() >= start })
	if i < len(pts) && pts[i].T.UnixNano() == start {
		pts[i].merge(p)
		return pts
	}
	pts = slices.Insert(pts, i, p)
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
