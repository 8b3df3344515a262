package mpack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Reader decodes msgpack values from a byte slice the way
// github.com/vmihailenco/msgpack/v5 (v5.4.1) decodes them into Go values
// with its default options: each method mirrors the Decoder method of the
// same purpose (what codes it accepts, nil as the zero value, bin for
// strings and str for bytes). Package model's report, sample, check and ack
// decoders and package wire's envelope codecs use it, so that the slim
// agent links no reflection codec and the master decodes reports without
// reflection.
//
// It does not check declared lengths against the input beyond what it
// reads: callers run wire.Scan first, as before msgpack's decoder.
type Reader struct {
	b []byte
	i int
}

// NewReader returns a Reader at the start of b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Offset is the number of bytes read so far.
func (p *Reader) Offset() int { return p.i }

// ErrTruncated is returned when the input ends inside a value.
var ErrTruncated = errors.New("msgpack input truncated")

// errArrayStruct is msgpack's error for an array-encoded struct of another
// length.
var errArrayStruct = errors.New("msgpack: number of fields in array-encoded struct has changed")

// MaxSkipDepth caps the nesting of an unknown value Skip skips, so that
// hostile input cannot recurse without bound.
const MaxSkipDepth = 10000

// ErrSkipTooDeep is returned by Skip for a value nested deeper than
// MaxSkipDepth.
var ErrSkipTooDeep = fmt.Errorf("msgpack value nested deeper than %d levels", MaxSkipDepth)

// Codes not named in mpack.go.
const (
	codeFalse    = 0xc2
	codeTrue     = 0xc3
	codeExt8     = 0xc7
	codeExt16    = 0xc8
	codeExt32    = 0xc9
	codeFloat    = 0xca
	codeDouble   = 0xcb
	codeFixExt1  = 0xd4
	codeFixExt16 = 0xd8
)

// Remaining is the number of bytes not read yet.
func (p *Reader) Remaining() int { return len(p.b) - p.i }

// Peek returns the next code without reading it.
func (p *Reader) Peek() (byte, error) {
	if p.i >= len(p.b) {
		return 0, ErrTruncated
	}
	return p.b[p.i], nil
}

// Code reads the next code.
func (p *Reader) Code() (byte, error) { return p.code() }

func (p *Reader) code() (byte, error) {
	if p.i >= len(p.b) {
		return 0, ErrTruncated
	}
	c := p.b[p.i]
	p.i++
	return c, nil
}

// next returns the next n bytes (a view into the input).
func (p *Reader) next(n int) ([]byte, error) {
	if n < 0 || n > len(p.b)-p.i {
		return nil, ErrTruncated
	}
	s := p.b[p.i : p.i+n]
	p.i += n
	return s, nil
}

// be reads an n-byte big-endian unsigned integer (n is 1, 2, 4 or 8).
func (p *Reader) be(n int) (uint64, error) {
	b, err := p.next(n)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	}
	return binary.BigEndian.Uint64(b), nil
}

// containerLen is Decoder.mapLen (fix = 0x80) or Decoder.arrayLen (fix =
// 0x90): -1 for nil.
func (p *Reader) containerLen(c, fix, c16, c32 byte, what string) (int, error) {
	switch {
	case c == Nil:
		return -1, nil
	case c >= fix && c <= fix|0x0f:
		return int(c & 0x0f), nil
	case c == c16:
		n, err := p.be(2)
		return int(n), err
	case c == c32:
		n, err := p.be(4)
		return int(n), err
	}
	return 0, fmt.Errorf("msgpack: unexpected code=%x decoding %s length", c, what)
}

// MapLen is Decoder.mapLen: the length of the map whose code c was just
// read (its length bytes follow), -1 for nil.
func (p *Reader) MapLen(c byte) (int, error) { return p.mapLen(c) }

// ArrayLen is Decoder.arrayLen: the length of the array whose code c was
// just read, -1 for nil.
func (p *Reader) ArrayLen(c byte) (int, error) { return p.arrayLen(c) }

func (p *Reader) mapLen(c byte) (int, error) { return p.containerLen(c, 0x80, Map16, Map32, "map") }

func (p *Reader) arrayLen(c byte) (int, error) {
	return p.containerLen(c, 0x90, Array16, Array32, "array")
}

// DecodeArrayLen is Decoder.DecodeArrayLen: -1 for nil.
func (p *Reader) DecodeArrayLen() (int, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	return p.arrayLen(c)
}

// DecodeMapLen is Decoder.DecodeMapLen: -1 for nil; an ext header before
// the map is skipped (its type byte and, for ext 8/16/32, its length), as
// msgpack does.
func (p *Reader) DecodeMapLen() (int, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	if c >= codeFixExt1 && c <= codeFixExt16 || c >= codeExt8 && c <= codeExt32 {
		skip := 1 // the type byte
		if c >= codeExt8 && c <= codeExt32 {
			skip += 1 << (c - codeExt8)
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
func (p *Reader) bytesLen(c byte) (int, error) {
	var w int
	switch {
	case c == Nil:
		return -1, nil
	case c >= 0xa0 && c <= 0xbf:
		return int(c & 0x1f), nil
	case c == Str8 || c == Bin8:
		w = 1
	case c == Str16 || c == Bin16:
		w = 2
	case c == Str32 || c == Bin32:
		w = 4
	default:
		return 0, fmt.Errorf("msgpack: invalid code=%x decoding string/bytes length", c)
	}
	n, err := p.be(w)
	return int(n), err
}

// Key reads a string without copying it (Decoder.decodeStringTemp): nil
// and empty give an empty result. The result aliases the input.
func (p *Reader) Key() ([]byte, error) { return p.key() }

func (p *Reader) key() ([]byte, error) {
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

// Str is Decoder.DecodeString: str or bin, "" for nil.
func (p *Reader) Str() (string, error) {
	b, err := p.key()
	if err != nil || len(b) == 0 {
		return "", err
	}
	return string(b), nil
}

// Bytes is Decoder.DecodeBytes: a copy of a bin or str, nil for nil, and
// a non-nil empty slice for an empty one.
func (p *Reader) Bytes() ([]byte, error) {
	c, err := p.code()
	if err != nil {
		return nil, err
	}
	n, err := p.bytesLen(c)
	if err != nil || n == -1 {
		return nil, err
	}
	b, err := p.next(n)
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, n), b...), nil
}

// Int64 is Decoder.DecodeInt64: every integer code, 0 for nil.
func (p *Reader) Int64() (int64, error) {
	u, err := p.integer("int64")
	return int64(u), err
}

// Uint64 is Decoder.DecodeUint64: every integer code (negative ones
// wrap), 0 for nil.
func (p *Reader) Uint64() (uint64, error) { return p.integer("uint64") }

// integer reads any msgpack integer as its 64-bit two's complement.
func (p *Reader) integer(what string) (uint64, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	if c == Nil {
		return 0, nil
	}
	if c <= 0x7f || c >= 0xe0 {
		return uint64(int64(int8(c))), nil
	}
	switch c {
	case Uint8, Uint16, Uint32, Uint64:
		return p.be(1 << (c - Uint8))
	case Int8:
		n, err := p.be(1)
		return uint64(int64(int8(n))), err
	case Int16:
		n, err := p.be(2)
		return uint64(int64(int16(n))), err
	case Int32:
		n, err := p.be(4)
		return uint64(int64(int32(n))), err
	case Int64:
		return p.be(8)
	}
	return 0, fmt.Errorf("msgpack: invalid code=%x decoding %s", c, what)
}

// Float64 is Decoder.DecodeFloat64: float32, float64 and every integer
// code (and nil, as 0).
func (p *Reader) Float64() (float64, error) {
	c, err := p.code()
	if err != nil {
		return 0, err
	}
	switch c {
	case codeDouble:
		n, err := p.be(8)
		return math.Float64frombits(n), err
	case codeFloat:
		n, err := p.be(4)
		return float64(math.Float32frombits(uint32(n))), err
	}
	p.i--
	n, err := p.integer("float64")
	if err != nil && !errors.Is(err, ErrTruncated) {
		return 0, fmt.Errorf("msgpack: invalid code=%x decoding float64", c)
	}
	return float64(int64(n)), err
}

// Bool is Decoder.DecodeBool (nil is false).
func (p *Reader) Bool() (bool, error) {
	c, err := p.code()
	if err != nil {
		return false, err
	}
	switch c {
	case Nil, codeFalse:
		return false, nil
	case codeTrue:
		return true, nil
	}
	return false, fmt.Errorf("msgpack: invalid code=%x decoding bool", c)
}

// Skip is Decoder.Skip: it steps over one value of any type, with nesting
// capped at MaxSkipDepth.
func (p *Reader) Skip() error { return p.skip(0) }

func (p *Reader) skip(depth int) error {
	if depth > MaxSkipDepth {
		return ErrSkipTooDeep
	}
	c, err := p.code()
	if err != nil {
		return err
	}
	var n, items int // bytes to skip, objects to skip
	switch {
	case c <= 0x7f || c >= 0xe0, c == Nil, c == codeFalse, c == codeTrue:
		return nil
	case c >= 0x80 && c <= 0x8f, c == Map16, c == Map32:
		m, err := p.mapLen(c)
		if err != nil {
			return err
		}
		items = 2 * m
	case c >= 0x90 && c <= 0x9f, c == Array16, c == Array32:
		if items, err = p.arrayLen(c); err != nil {
			return err
		}
	case c >= 0xa0 && c <= 0xbf, c == Str8, c == Str16, c == Str32, c == Bin8, c == Bin16, c == Bin32:
		if n, err = p.bytesLen(c); err != nil {
			return err
		}
	case c == Uint8 || c == Int8:
		n = 1
	case c == Uint16 || c == Int16:
		n = 2
	case c == Uint32 || c == Int32 || c == codeFloat:
		n = 4
	case c == Uint64 || c == Int64 || c == codeDouble:
		n = 8
	case c >= codeFixExt1 && c <= codeFixExt16:
		n = 1 + 1<<(c-codeFixExt1)
	case c == codeExt8 || c == codeExt16 || c == codeExt32:
		m, err := p.be(1 << (c - codeExt8))
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

// Fields is a struct Struct decodes: Zero resets it (msgpack nil, or an
// empty array), Field decodes its field f (the index in the key list, in
// declaration order) from p.
type Fields interface {
	Zero()
	Field(p *Reader, f int) error
}

// Struct decodes a struct whose msgpack field names are keys, in
// declaration order, like msgpack's decodeStructValue: nil calls v.Zero; a
// map calls v.Field with the index of every key it names (unknown keys are
// skipped; a repeated key is decoded again); an array must hold every
// field in order (an empty one calls v.Zero). A Fields that is a pointer or
// a struct of one pointer costs no allocation.
func (p *Reader) Struct(v Fields, keys []string) error {
	c, err := p.code()
	if err != nil {
		return err
	}
	n, err := p.mapLen(c)
	if err != nil {
		var err2 error
		if n, err2 = p.arrayLen(c); err2 != nil {
			return err
		}
		if n <= 0 {
			v.Zero()
			return nil
		}
		if n != len(keys) {
			return errArrayStruct
		}
		for f := range keys {
			if err := v.Field(p, f); err != nil {
				return fmt.Errorf("field %q: %w", keys[f], err)
			}
		}
		return nil
	}
	if n == -1 {
		v.Zero()
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
		if err := v.Field(p, f); err != nil {
			return fmt.Errorf("field %q: %w", keys[f], err)
		}
	}
	return nil
}

// FieldFuncs is a Fields made of two functions.
type FieldFuncs struct {
	ZeroFunc  func()
	FieldFunc func(p *Reader, f int) error
}

// Zero calls ZeroFunc.
func (ff FieldFuncs) Zero() { ff.ZeroFunc() }

// Field calls FieldFunc.
func (ff FieldFuncs) Field(p *Reader, f int) error { return ff.FieldFunc(p, f) }
