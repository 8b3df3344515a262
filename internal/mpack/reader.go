package mpack

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Reader decodes msgpack values from a byte slice the way
// github.com/vmihailenco/msgpack/v5 (v5.4.1) decodes them into Go values
// with its default options: each method mirrors the Decoder method of the
// same purpose (what codes it accepts, nil as the zero value, bin for
// strings and str for bytes). The hand-written envelope codecs of package
// wire use it, so that the slim agent links no reflection codec.
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

var errSkipTooDeep = fmt.Errorf("msgpack value nested deeper than %d levels", MaxSkipDepth)

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

func (p *Reader) mapLen(c byte) (int, error) { return p.containerLen(c, 0x80, Map16, Map32, "map") }

func (p *Reader) arrayLen(c byte) (int, error) {
	return p.containerLen(c, 0x90, Array16, Array32, "array")
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

// key reads a string without copying it (Decoder.decodeStringTemp): nil
// and empty give an empty result.
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

// Skip is Decoder.Skip: it steps over one value of any type, with nesting
// capped at MaxSkipDepth.
func (p *Reader) Skip() error { return p.skip(0) }

func (p *Reader) skip(depth int) error {
	if depth > MaxSkipDepth {
		return errSkipTooDeep
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

// Struct decodes a struct whose msgpack field names are keys, in
// declaration order, like msgpack's decodeStructValue: nil calls zero; a
// map calls field with the index of every key it names (unknown keys are
// skipped; a repeated key is decoded again); an array must hold every
// field in order (an empty one calls zero).
func (p *Reader) Struct(keys []string, zero func(), field func(f int) error) error {
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
			zero()
			return nil
		}
		if n != len(keys) {
			return errArrayStruct
		}
		for f := range keys {
			if err := field(f); err != nil {
				return fmt.Errorf("field %q: %w", keys[f], err)
			}
		}
		return nil
	}
	if n == -1 {
		zero()
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
		if err := field(f); err != nil {
			return fmt.Errorf("field %q: %w", keys[f], err)
		}
	}
	return nil
}
