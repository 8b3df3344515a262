// Package mpack appends msgpack encodings of single values, byte for byte
// what github.com/vmihailenco/msgpack/v5's Encoder writes for them with its
// default options. The hand-written codecs of hot paths (model/codec.go,
// wire/maccodec.go, store/lastvalues.go, store/kv.go) build on it, so that
// each msgpack rule is written once.
package mpack

import (
	"encoding/binary"
	"math"
)

// msgpack type codes (see the msgpack spec).
const (
	Nil     = 0xc0
	Bin8    = 0xc4
	Bin16   = 0xc5
	Bin32   = 0xc6
	Uint8   = 0xcc
	Uint16  = 0xcd
	Uint32  = 0xce
	Uint64  = 0xcf
	Int8    = 0xd0
	Int16   = 0xd1
	Int32   = 0xd2
	Int64   = 0xd3
	Str8    = 0xd9
	Str16   = 0xda
	Str32   = 0xdb
	Array16 = 0xdc
	Array32 = 0xdd
	Map16   = 0xde
	Map32   = 0xdf
)

// AppendString appends s as EncodeString does (fixstr, str8, str16, str32).
func AppendString(dst []byte, s string) []byte {
	switch l := len(s); {
	case l < 32:
		dst = append(dst, 0xa0|byte(l))
	case l <= math.MaxUint8:
		dst = append(dst, Str8, byte(l))
	case l <= math.MaxUint16:
		dst = append(dst, Str16, byte(l>>8), byte(l))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, Str32), uint32(l))
	}
	return append(dst, s...)
}

// AppendBin appends b as EncodeBytes does (nil for a nil slice).
func AppendBin(dst []byte, b []byte) []byte {
	switch l := len(b); {
	case b == nil:
		return append(dst, Nil)
	case l <= math.MaxUint8:
		dst = append(dst, Bin8, byte(l))
	case l <= math.MaxUint16:
		dst = append(dst, Bin16, byte(l>>8), byte(l))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, Bin32), uint32(l))
	}
	return append(dst, b...)
}

// AppendMapLen appends a map header for l entries (EncodeMapLen).
func AppendMapLen(dst []byte, l int) []byte { return appendLen(dst, l, 0x80, Map16, Map32) }

// AppendArrayLen appends an array header for l elements (EncodeArrayLen).
func AppendArrayLen(dst []byte, l int) []byte { return appendLen(dst, l, 0x90, Array16, Array32) }

// appendLen appends a map or array header for l items: the fix form (fix|l)
// below 16, else the 16- or 32-bit form.
func appendLen(dst []byte, l int, fix, c16, c32 byte) []byte {
	switch {
	case l < 16:
		return append(dst, fix|byte(l))
	case l <= math.MaxUint16:
		return append(dst, c16, byte(l>>8), byte(l))
	default:
		return binary.BigEndian.AppendUint32(append(dst, c32), uint32(l))
	}
}

// AppendUint64 appends v as a uint64 field is encoded (EncodeUint64:
// always the 9-byte form).
func AppendUint64(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, Uint64), v)
}

// AppendInt64 appends v as an int64 field is encoded (EncodeInt64: always
// the 9-byte form).
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, Int64), uint64(v))
}

// AppendInt appends n as an int field is encoded (EncodeInt: the shortest
// form).
func AppendInt(dst []byte, n int64) []byte {
	if n >= 0 {
		u := uint64(n)
		switch {
		case u <= math.MaxInt8:
			return append(dst, byte(u))
		case u <= math.MaxUint8:
			return append(dst, Uint8, byte(u))
		case u <= math.MaxUint16:
			return append(dst, Uint16, byte(u>>8), byte(u))
		case u <= math.MaxUint32:
			return binary.BigEndian.AppendUint32(append(dst, Uint32), uint32(u))
		default:
			return binary.BigEndian.AppendUint64(append(dst, Uint64), u)
		}
	}
	switch {
	case n >= -32:
		return append(dst, byte(n))
	case n >= math.MinInt8:
		return append(dst, Int8, byte(n))
	case n >= math.MinInt16:
		return append(dst, Int16, byte(n>>8), byte(n))
	case n >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, Int32), uint32(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, Int64), uint64(n))
	}
}
