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
// skipped values is capped at mpack.MaxSkipDepth.

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/lookout-mon/lookout/internal/mpack"
)

// msgpack codes used below (see the msgpack spec).
const (
	mpNil    = 0xc0
	mpFalse  = 0xc2
	mpTrue   = 0xc3
	mpFloat  = 0xca
	mpDouble = 0xcb
)

// Field names of the decoded structs, in declaration order.
var (
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
	p := mpack.NewReader(b)
	if err := decodeReport(p, r); err != nil {
		return p.Offset(), fmt.Errorf("model: decode report: %w", err)
	}
	return p.Offset(), nil
}

// UnmarshalMsgpackBytes decodes one msgpack-encoded ack from the start of b
// into a, with the same semantics as msgpack.Unmarshal, and returns the
// number of bytes it used.
func (a *Ack) UnmarshalMsgpackBytes(b []byte) (int, error) {
	p := mpack.NewReader(b)
	if err := decodeAck(p, a); err != nil {
		return p.Offset(), fmt.Errorf("model: decode ack: %w", err)
	}
	return p.Offset(), nil
}

// The decoders below are mpack.Reader Fields: a struct of one pointer, so
// passing one to Reader.Struct costs no allocation.
type (
	reportFields struct{ r *Report }
	sampleFields struct{ s *Sample }
	checkFields  struct{ c *Check }
	ackFields    struct{ a *Ack }
)

func decodeReport(p *mpack.Reader, r *Report) error {
	return p.Struct(reportFields{r}, reportFieldKeys[:])
}
func decodeSample(p *mpack.Reader, s *Sample) error {
	return p.Struct(sampleFields{s}, sampleFieldKeys[:])
}
func decodeCheck(p *mpack.Reader, c *Check) error { return p.Struct(checkFields{c}, checkFieldKeys[:]) }
func decodeAck(p *mpack.Reader, a *Ack) error     { return p.Struct(ackFields{a}, ackFieldKeys[:]) }

func (v reportFields) Zero() { *v.r = Report{} }

func (v reportFields) Field(p *mpack.Reader, f int) error {
	r := v.r
	var err error
	switch f {
	case 0:
		var v int64
		v, err = p.Int64()
		r.Version = int(v)
	case 1:
		r.Agent, err = p.Str()
	case 2:
		r.Host, err = p.Str()
	case 3:
		r.Seq, err = p.Uint64()
	case 4:
		r.Oldest, err = p.Uint64()
	case 5:
		r.Time, err = p.Int64()
	case 6:
		err = decodeSlice(p, &r.Samples, decodeSample)
	case 7:
		err = decodeSlice(p, &r.Checks, decodeCheck)
	case 8:
		r.Dropped, err = p.Uint64()
	}
	return err
}

func (v sampleFields) Zero() { *v.s = Sample{} }

func (v sampleFields) Field(p *mpack.Reader, f int) error {
	s := v.s
	var err error
	switch f {
	case 0:
		s.Service, err = p.Str()
	case 1:
		s.Resource, err = p.Str()
	case 2:
		s.Unit, err = p.Str()
	case 3:
		err = decodeValues(p, &s.Values)
	}
	return err
}

func (v checkFields) Zero() { *v.c = Check{} }

func (v checkFields) Field(p *mpack.Reader, f int) error {
	c := v.c
	var err error
	switch f {
	case 0:
		c.Service, err = p.Str()
	case 1:
		c.Unit, err = p.Str()
	case 2:
		c.Up, err = p.Bool()
	case 3:
		c.Initial, err = p.Bool()
	case 4:
		var v int64
		v, err = p.Int64()
		c.Retries = int(v)
	case 5:
		c.Since, err = p.Int64()
	case 6:
		c.Detail, err = p.Str()
	}
	return err
}

func (v ackFields) Zero() { *v.a = Ack{} }

func (v ackFields) Field(p *mpack.Reader, f int) error {
	a := v.a
	var err error
	switch f {
	case 0:
		a.Master, err = p.Str()
	case 1:
		a.Agent, err = p.Str()
	case 2:
		a.Seq, err = p.Uint64()
	case 3:
		a.Reject, err = p.Str()
	case 4:
		a.Next, err = p.Uint64()
	}
	return err
}

// values decodes a map[string]float64 like decodeMapValue: nil sets nil, a
// nil map is made, an existing one is added to. The map is presized to at
// most the entries the remaining bytes can hold (two bytes each).
func decodeValues(p *mpack.Reader, mp *map[string]float64) error {
	n, err := p.DecodeMapLen()
	if err != nil {
		return err
	}
	if n == -1 {
		*mp = nil
		return nil
	}
	m := *mp
	if m == nil {
		m = make(map[string]float64, min(n, p.Remaining()/2))
		*mp = m
	}
	for k := 0; k < n; k++ {
		key, err := p.Str()
		if err != nil {
			return err
		}
		v, err := p.Float64()
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
func decodeSlice[T any](p *mpack.Reader, sp *[]T, elem func(*mpack.Reader, *T) error) error {
	n, err := p.DecodeArrayLen()
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
			grow := min(n-len(s), max(p.Remaining(), 1))
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
