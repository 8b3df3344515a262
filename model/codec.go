package model

// Hand-written msgpack codec for the types on the report path (Report,
// Sample, Check, Ack). The reflection codec of vmihailenco/msgpack/v5 spent
// most of its time in reflect and per-field interface calls; this one
// encodes into one byte slice and decodes from one byte slice.
//
// Wire compatibility: the encoding is byte for byte what msgpack.Marshal
// produces for these structs with the default Encoder options (map-encoded
// structs, field names from the msgpack tags, omitempty as the tags say,
// int as the shortest integer, int64 and uint64 as 9-byte integers, float64
// as a 9-byte double); map entries come in Go's map iteration order, like the
// reflection encoder's. Encoder options (UseCompactInts, UseCompactFloats,
// SetSortMapKeys, SetOmitEmpty, UseArrayEncodedStructs, SetCustomStructTag,
// UseInternedStrings) are not honoured for these types, nor are Decoder
// options (DisallowUnknownFields, SetCustomStructTag, UseInternedStrings);
// nothing in Lookout sets them.
//
// Decoding mirrors the reflection decoder of msgpack v5.4.1 exactly: it
// decodes into the existing value (fields not present keep their value,
// maps are merged into, slices are reused) and accepts what it accepts (nil
// for scalars, every integer and float code for numbers, bin for strings,
// array-encoded structs with all fields, an ext header before a map); it
// skips unknown keys, and a duplicate key is decoded again into the same
// field. FuzzReportCodec checks this against the reflection decoder.
// Preallocation is capped by the bytes that remain, so hostile lengths
// cannot make it allocate more than the input justifies, and nesting inside
// skipped values is capped at maxSkipDepth.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/lookout-mon/lookout/internal/mpack"
)

// msgpack codes used below (see the msgpack spec).
const (
	mpNil      = 0xc0
	mpFalse    = 0xc2
	mpTrue     = 0xc3
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpExt8     = 0xc7
	mpExt16    = 0xc8
	mpExt32    = 0xc9
	mpFloat    = 0xca
	mpDouble   = 0xcb
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt16    = 0xd1
	mpInt32    = 0xd2
	mpInt64    = 0xd3
	mpFixExt1  = 0xd4
	mpFixExt16 = 0xd8
	mpStr8     = 0xd9
	mpStr16    = 0xda
	mpStr32    = 0xdb
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpMap16    = 0xde
	mpMap32    = 0xdf
)

// maxSkipDepth caps the nesting of an unknown value the decoder skips, so
// that hostile input cannot recurse without bound.
const maxSkipDepth = 10000

// Decoding errors.
var (
	errTruncated    = errors.New("msgpack input truncated")
	errArrayStruct  = errors.New("msgpack: number of fields in array-encoded struct has changed")
	errSkipTooDeep  = fmt.Errorf("msgpack value nested deeper than %d levels", maxSkipDepth)
	reportFieldKeys = [...]string{"ver", "a", "h", "q", "o", "t", "sm", "ck", "dr"}
	sampleFieldKeys = [...]string{"s", "r", "u", "v"}
	checkFieldKeys  = [...]string{"s", "u", "up", "i", "rt", "since", "d"}
	ackFieldKeys    = [...]string{"m", "a", "q", "rj", "n"}
)

// ---------------------------------------------------------------- encoding

// AppendMsgpack appends the msgpack encoding of r to dst (the same bytes as
// msgpack.Marshal(r)) and returns the extended slice.
func (r *Report) AppendMsgpack(dst []byte) []byte {
	n := 8
	if r.Dropped != 0 {
		n++
	}
	dst = mpack.AppendMapLen(dst, n)
	dst = mpack.AppendString(dst, "ver")
	dst = mpack.AppendInt(dst, int64(r.Version))
	dst = mpack.AppendString(dst, "a")
	dst = mpack.AppendString(dst, r.Agent)
	dst = mpack.AppendString(dst, "h")
	dst = mpack.AppendString(dst, r.Host)
	dst = mpack.AppendString(dst, "q")
	dst = mpack.AppendUint64(dst, r.Seq)
	dst = mpack.AppendString(dst, "o")
	dst = mpack.AppendUint64(dst, r.Oldest)
	dst = mpack.AppendString(dst, "t")
	dst = mpack.AppendInt64(dst, r.Time)
	dst = mpack.AppendString(dst, "sm")
	if r.Samples == nil {
		dst = append(dst, mpNil)
	} else {
		dst = mpack.AppendArrayLen(dst, len(r.Samples))
		for i := range r.Samples {
			dst = r.Samples[i].AppendMsgpack(dst)
		}
	}
	dst = mpack.AppendString(dst, "ck")
	if r.Checks == nil {
		dst = append(dst, mpNil)
	} else {
		dst = mpack.AppendArrayLen(dst, len(r.Checks))
		for i := range r.Checks {
			dst = r.Checks[i].AppendMsgpack(dst)
		}
	}
	if r.Dropped != 0 {
		dst = mpack.AppendString(dst, "dr")
		dst = mpack.AppendUint64(dst, r.Dropped)
	}
	return dst
}

// AppendMsgpack appends the msgpack encoding of s to dst (the same bytes as
// msgpack.Marshal(s), values in map iteration order).
func (s *Sample) AppendMsgpack(dst []byte) []byte {
	dst = append(dst, 0x84, 0xa1, 's')
	dst = mpack.AppendString(dst, s.Service)
	dst = append(dst, 0xa1, 'r')
	dst = mpack.AppendString(dst, s.Resource)
	dst = append(dst, 0xa1, 'u')
	dst = mpack.AppendString(dst, s.Unit)
	dst = append(dst, 0xa1, 'v')
	if s.Values == nil {
		return append(dst, mpNil)
	}
	dst = mpack.AppendMapLen(dst, len(s.Values))
	for k, v := range s.Values {
		dst = mpack.AppendString(dst, k)
		dst = append(dst, mpDouble)
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v))
	}
	return dst
}

// AppendMsgpack appends the msgpack encoding of c to dst (the same bytes as
// msgpack.Marshal(c)).
func (c *Check) AppendMsgpack(dst []byte) []byte {
	n := 4
	if c.Retries != 0 {
		n++
	}
	if c.Since != 0 {
		n++
	}
	if c.Detail != "" {
		n++
	}
	dst = mpack.AppendMapLen(dst, n)
	dst = append(dst, 0xa1, 's')
	dst = mpack.AppendString(dst, c.Service)
	dst = append(dst, 0xa1, 'u')
	dst = mpack.AppendString(dst, c.Unit)
	dst = append(dst, 0xa2, 'u', 'p', boolCode(c.Up))
	dst = append(dst, 0xa1, 'i', boolCode(c.Initial))
	if c.Retries != 0 {
		dst = append(dst, 0xa2, 'r', 't')
		dst = mpack.AppendInt(dst, int64(c.Retries))
	}
	if c.Since != 0 {
		dst = append(dst, 0xa5, 's', 'i', 'n', 'c', 'e')
		dst = mpack.AppendInt64(dst, c.Since)
	}
	if c.Detail != "" {
		dst = append(dst, 0xa1, 'd')
		dst = mpack.AppendString(dst, c.Detail)
	}
	return dst
}

// AppendMsgpack appends the msgpack encoding of a to dst (the same bytes as
// msgpack.Marshal(a)).
func (a *Ack) AppendMsgpack(dst []byte) []byte {
	n := 3
	if a.Reject != "" {
		n++
	}
	if a.Next != 0 {
		n++
	}
	dst = mpack.AppendMapLen(dst, n)
	dst = append(dst, 0xa1, 'm')
	dst = mpack.AppendString(dst, a.Master)
	dst = append(dst, 0xa1, 'a')
	dst = mpack.AppendString(dst, a.Agent)
	dst = append(dst, 0xa1, 'q')
	dst = mpack.AppendUint64(dst, a.Seq)
	if a.Reject != "" {
		dst = append(dst, 0xa2, 'r', 'j')
		dst = mpack.AppendString(dst, a.Reject)
	}
	if a.Next != 0 {
		dst = append(dst, 0xa1, 'n')
		dst = mpack.AppendUint64(dst, a.Next)
	}
	return dst
}

func boolCode(b bool) byte {
	if b {
		return mpTrue
	}
	return mpFalse
}

// ---------------------------------------------------------------- decoding

// UnmarshalMsgpackBytes decodes one msgpack-encoded report from the start of
// b into r, with the same semantics as msgpack.Unmarshal (it decodes into
// the existing value), and returns the number of bytes it used.
func (r *Report) UnmarshalMsgpackBytes(b []byte) (int, error) {
	p := reader{b: b}
	if err := p.report(r); err != nil {
		return p.i, fmt.Errorf("model: decode report: %w", err)
	}
	return p.i, nil
}

// UnmarshalMsgpackBytes decodes one msgpack-encoded ack from the start of b
// into a, with the same semantics as msgpack.Unmarshal, and returns the
// number of bytes it used.
func (a *Ack) UnmarshalMsgpackBytes(b []byte) (int, error) {
	p := reader{b: b}
	if err := p.ack(a); err != nil {
		return p.i, fmt.Errorf("model: decode ack: %w", err)
	}
	return p.i, nil
}

// reader decodes msgpack from b, starting at i. Its methods mirror the
// msgpack v5 Decoder methods of the same purpose.
type reader struct {
	b []byte
	i int
}

func (p *reader) code() (byte, error) {
	if p.i >= len(p.b) {
		return 0, errTruncated
	}
	c := p.b[p.i]
	p.i++
	return c, nil
}

func (p *reader) peek() (byte, error) {
	if p.i >= len(p.b) {
		return 0, errTruncated
	}
	return p.b[p.i], nil
}

// next returns the next n bytes.
func (p *reader) next(n int) ([]byte, error) {
	if n < 0 || n > len(p.b)-p.i {
		return nil, errTruncated
	}
	s := p.b[p.i : p.i+n]
	p.i += n
	return s, nil
}

func (p *reader) remaining() int { return len(p.b) - p.i }

func (p *reader) u8() (uint64, error) {
	b, err := p.next(1)
	if err != nil {
		return 0, err
	}
	return uint64(b[0]), nil
}

func (p *reader) u16() (uint64, error) {
	b, err := p.next(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.BigEndian.Uint16(b)), nil
}

func (p *reader) u32() (uint64, error) {
	b, err := p.next(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.BigEndian.Uint32(b)), nil
}

func (p *reader) u64() (uint64, error) {
	b, err := p.next(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b), nil
}

// mapLen is Decoder.mapLen: -1 for nil.
func (p *reader) mapLen(c byte) (int, error) {
	switch {
	case c == mpNil:
		return -1, nil
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f), nil
	case c == mpMap16:
		n, err := p.u16()
		return int(n), err
	case c == mpMap32:
		n, err := p.u32()
		return int(n), err
	}
	return 0, fmt.Errorf("msgpack: unexpected code=%x decoding map length", c)
}

// arrayLen is Decoder.arrayLen: -1 for nil.
func (p *reader) arrayLen(c byte) (int, error) {
	switch {
	case c == mpNil:
		return -1, nil
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f), nil
	case c == mpArray16:
		n, err := p.u16()
		return int(n), err
	case c == mpArray32:
		n, err := p.u32()
		return int(n), err
	}
	return 0, fmt.Errorf("msgpack: invalid code=%x decoding array length", c)
}

func isExt(c byte) bool { return c >= mpFixExt1 && c <= mpFixExt16 || c >= mpExt8 && c <= mpExt32 }

// decodeMapLen is Decoder.DecodeMapLen: an ext header before the map is
// skipped (its type byte and, for ext 8/16/32, its length).
func (p *reader) decodeMapLen() (int, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	if isExt(c) {
		skip := 1
		switch c {
		case mpExt8:
			skip = 2
		case mpExt16:
			skip = 3
		case mpExt32:
			skip = 5
		}
		if _, err := p.next(skip); err != nil {
			return 0, err
		}
		if c, err = p.code(); err != nil {
			return 0, err
		}
	}
	return p.mapLen(c)
}

// bytesLen is Decoder.bytesLen: str or bin, -1 for nil.
func (p *reader) bytesLen(c byte) (int, error) {
	switch {
	case c == mpNil:
		return -1, nil
	case c >= 0xa0 && c <= 0xbf:
		return int(c & 0x1f), nil
	case c == mpStr8 || c == mpBin8:
		n, err := p.u8()
		return int(n), err
	case c == mpStr16 || c == mpBin16:
		n, err := p.u16()
		return int(n), err
	case c == mpStr32 || c == mpBin32:
		n, err := p.u32()
		return int(n), err
	}
	return 0, fmt.Errorf("msgpack: invalid code=%x decoding string/bytes length", c)
}

// key reads a struct field name without copying it (decodeStringTemp).
func (p *reader) key() ([]byte, error) {
	c, err := p.code()
	if err != nil {
		return nil, err
	}
	n, err := p.bytesLen(c)
	if err != nil || n <= 0 {
		return nil, err
	}
	return p.next(n)
}

// str is Decoder.DecodeString; the string is a copy.
func (p *reader) str() (string, error) {
	b, err := p.key()
	if err != nil || len(b) == 0 {
		return "", err
	}
	return string(b), nil
}

// int64 is Decoder.DecodeInt64.
func (p *reader) int64() (int64, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	return p.intCode(c)
}

func (p *reader) intCode(c byte) (int64, error) {
	if c == mpNil {
		return 0, nil
	}
	if c <= 0x7f || c >= 0xe0 {
		return int64(int8(c)), nil
	}
	switch c {
	case mpUint8:
		n, err := p.u8()
		return int64(n), err
	case mpInt8:
		n, err := p.u8()
		return int64(int8(n)), err
	case mpUint16:
		n, err := p.u16()
		return int64(n), err
	case mpInt16:
		n, err := p.u16()
		return int64(int16(n)), err
	case mpUint32:
		n, err := p.u32()
		return int64(n), err
	case mpInt32:
		n, err := p.u32()
		return int64(int32(n)), err
	case mpUint64, mpInt64:
		n, err := p.u64()
		return int64(n), err
	}
	return 0, fmt.Errorf("msgpack: invalid code=%x decoding int64", c)
}

// uint64 is Decoder.DecodeUint64.
func (p *reader) uint64() (uint64, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	if c == mpNil {
		return 0, nil
	}
	if c <= 0x7f || c >= 0xe0 {
		return uint64(int8(c)), nil
	}
	switch c {
	case mpUint8:
		return p.u8()
	case mpInt8:
		n, err := p.u8()
		return uint64(int8(n)), err
	case mpUint16:
		return p.u16()
	case mpInt16:
		n, err := p.u16()
		return uint64(int16(n)), err
	case mpUint32:
		return p.u32()
	case mpInt32:
		n, err := p.u32()
		return uint64(int32(n)), err
	case mpUint64, mpInt64:
		return p.u64()
	}
	return 0, fmt.Errorf("msgpack: invalid code=%x decoding uint64", c)
}

// float64 is Decoder.DecodeFloat64: float32, float64 and every integer code
// (and nil, as 0).
func (p *reader) float64() (float64, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	switch c {
	case mpDouble:
		n, err := p.u64()
		return math.Float64frombits(n), err
	case mpFloat:
		n, err := p.u32()
		return float64(math.Float32frombits(uint32(n))), err
	}
	n, err := p.intCode(c)
	if err != nil {
		if errors.Is(err, errTruncated) {
			return 0, err
		}
		return 0, fmt.Errorf("msgpack: invalid code=%x decoding float64", c)
	}
	return float64(n), nil
}

// bool is Decoder.DecodeBool (nil is false).
func (p *reader) bool() (bool, error) {
	c, err := p.code()
	if err != nil {
		return false, err
	}
	switch c {
	case mpNil, mpFalse:
		return false, nil
	case mpTrue:
		return true, nil
	}
	return false, fmt.Errorf("msgpack: invalid code=%x decoding bool", c)
}

// skip is Decoder.Skip, with nesting capped at maxSkipDepth.
func (p *reader) skip(depth int) error {
	if depth > maxSkipDepth {
		return errSkipTooDeep
	}
	c, err := p.code()
	if err != nil {
		return err
	}
	var n, items int // bytes to skip, objects to skip
	switch {
	case c <= 0x7f || c >= 0xe0, c == mpNil, c == mpFalse, c == mpTrue:
		return nil
	case c >= 0x80 && c <= 0x8f, c == mpMap16, c == mpMap32:
		m, err := p.mapLen(c)
		if err != nil {
			return err
		}
		items = 2 * m
	case c >= 0x90 && c <= 0x9f, c == mpArray16, c == mpArray32:
		if items, err = p.arrayLen(c); err != nil {
			return err
		}
	case c >= 0xa0 && c <= 0xbf, c == mpStr8, c == mpStr16, c == mpStr32, c == mpBin8, c == mpBin16, c == mpBin32:
		if n, err = p.bytesLen(c); err != nil {
			return err
		}
	case c == mpUint8 || c == mpInt8:
		n = 1
	case c == mpUint16 || c == mpInt16:
		n = 2
	case c == mpUint32 || c == mpInt32 || c == mpFloat:
		n = 4
	case c == mpUint64 || c == mpInt64 || c == mpDouble:
		n = 8
	case c >= mpFixExt1 && c <= mpFixExt16:
		n = 1 + 1<<(c-mpFixExt1)
	case c == mpExt8:
		m, err := p.u8()
		if err != nil {
			return err
		}
		n = int(m) + 1
	case c == mpExt16:
		m, err := p.u16()
		if err != nil {
			return err
		}
		n = int(m) + 1
	case c == mpExt32:
		m, err := p.u32()
		if err != nil {
			return err
		}
		n = int(m) + 1
	default:
		return fmt.Errorf("msgpack: unknown code %x", c)
	}
	if n > 0 {
		if _, err := p.next(n); err != nil {
			return err
		}
	}
	for k := 0; k < items; k++ {
		if err := p.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// structHeader reads the header of a struct (decodeStructValue): it returns
// n = -1 for nil, the number of map entries, or, with asArray set, the
// number of array elements.
func (p *reader) structHeader() (n int, asArray bool, err error) {
	c, err := p.code()
	if err != nil {
		return 0, false, err
	}
	n, err = p.mapLen(c)
	if err == nil {
		return n, false, nil
	}
	n, err2 := p.arrayLen(c)
	if err2 != nil {
		return 0, false, err
	}
	return n, true, nil
}

// structTarget is a struct type the reader decodes: mpZero resets it,
// mpField decodes field f (declaration order, as in its key list).
type structTarget interface {
	mpZero()
	mpField(p *reader, f int) error
}

// decodeStruct decodes a struct whose field names are keys into v, like
// decodeStructValue: nil resets it, a map sets the fields it names (unknown
// ones skipped), an array must hold every field in order (empty: reset).
func (p *reader) decodeStruct(v structTarget, keys []string) error {
	n, asArray, err := p.structHeader()
	if err != nil {
		return err
	}
	if asArray {
		if n <= 0 {
			v.mpZero()
			return nil
		}
		if n != len(keys) {
			return errArrayStruct
		}
		for f := range keys {
			if err := v.mpField(p, f); err != nil {
				return fmt.Errorf("field %q: %w", keys[f], err)
			}
		}
		return nil
	}
	if n == -1 {
		v.mpZero()
		return nil
	}
	for k := 0; k < n; k++ {
		name, err := p.key()
		if err != nil {
			return err
		}
		f := -1
		for i, key := range keys {
			if string(name) == key {
				f = i
				break
			}
		}
		if f < 0 {
			if err := p.skip(0); err != nil {
				return err
			}
			continue
		}
		if err := v.mpField(p, f); err != nil {
			return fmt.Errorf("field %q: %w", keys[f], err)
		}
	}
	return nil
}

func (p *reader) report(r *Report) error { return p.decodeStruct(r, reportFieldKeys[:]) }
func (p *reader) sample(s *Sample) error { return p.decodeStruct(s, sampleFieldKeys[:]) }
func (p *reader) check(c *Check) error   { return p.decodeStruct(c, checkFieldKeys[:]) }
func (p *reader) ack(a *Ack) error       { return p.decodeStruct(a, ackFieldKeys[:]) }

func (r *Report) mpZero() { *r = Report{} }

func (r *Report) mpField(p *reader, f int) error {
	var err error
	switch f {
	case 0:
		var v int64
		v, err = p.int64()
		r.Version = int(v)
	case 1:
		r.Agent, err = p.str()
	case 2:
		r.Host, err = p.str()
	case 3:
		r.Seq, err = p.uint64()
	case 4:
		r.Oldest, err = p.uint64()
	case 5:
		r.Time, err = p.int64()
	case 6:
		err = decodeSlice(p, &r.Samples, (*reader).sample)
	case 7:
		err = decodeSlice(p, &r.Checks, (*reader).check)
	case 8:
		r.Dropped, err = p.uint64()
	}
	return err
}

func (s *Sample) mpZero() { *s = Sample{} }

func (s *Sample) mpField(p *reader, f int) error {
	var err error
	switch f {
	case 0:
		s.Service, err = p.str()
	case 1:
		s.Resource, err = p.str()
	case 2:
		s.Unit, err = p.str()
	case 3:
		err = p.values(&s.Values)
	}
	return err
}

func (c *Check) mpZero() { *c = Check{} }

func (c *Check) mpField(p *reader, f int) error {
	var err error
	switch f {
	case 0:
		c.Service, err = p.str()
	case 1:
		c.Unit, err = p.str()
	case 2:
		c.Up, err = p.bool()
	case 3:
		c.Initial, err = p.bool()
	case 4:
		var v int64
		v, err = p.int64()
		c.Retries = int(v)
	case 5:
		c.Since, err = p.int64()
	case 6:
		c.Detail, err = p.str()
	}
	return err
}

func (a *Ack) mpZero() { *a = Ack{} }

func (a *Ack) mpField(p *reader, f int) error {
	var err error
	switch f {
	case 0:
		a.Master, err = p.str()
	case 1:
		a.Agent, err = p.str()
	case 2:
		a.Seq, err = p.uint64()
	case 3:
		a.Reject, err = p.str()
	case 4:
		a.Next, err = p.uint64()
	}
	return err
}

// values decodes a map[string]float64 like decodeMapValue: nil sets nil, a
// nil map is made, an existing one is added to. The map is presized to at
// most the entries the remaining bytes can hold (two bytes each).
func (p *reader) values(mp *map[string]float64) error {
	n, err := p.decodeMapLen()
	if err != nil {
		return err
	}
	if n == -1 {
		*mp = nil
		return nil
	}
	m := *mp
	if m == nil {
		m = make(map[string]float64, min(n, p.remaining()/2))
		*mp = m
	}
	for k := 0; k < n; k++ {
		key, err := p.str()
		if err != nil {
			return err
		}
		v, err := p.float64()
		if err != nil {
			return err
		}
		m[key] = v
	}
	return nil
}

// decodeSlice decodes a slice of structs like decodeSliceValue: nil sets
// nil, the existing slice (and its capacity) is reused and its elements are
// decoded into. It grows by at most the elements the remaining bytes can
// hold (one byte each) at a time.
func decodeSlice[T any](p *reader, sp *[]T, elem func(*reader, *T) error) error {
	c, err := p.code()
	if err != nil {
		return err
	}
	n, err := p.arrayLen(c)
	if err != nil {
		return err
	}
	s := *sp
	switch {
	case n == -1:
		*sp = nil
		return nil
	case n == 0 && s == nil:
		*sp = []T{}
		return nil
	}
	if cap(s) >= n {
		s = s[:n]
	} else if len(s) < cap(s) {
		s = s[:cap(s)]
	}
	for i := 0; i < n; i++ {
		if i >= len(s) {
			grow := min(n-len(s), max(p.remaining(), 1))
			s = append(s, make([]T, grow)...)
		}
		if err := elem(p, &s[i]); err != nil {
			*sp = s
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	*sp = s
	return nil
}
