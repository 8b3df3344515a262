package wire

import (
	"encoding/binary"
	"fmt"
)

// Scan walks msgpack b without allocating and checks that it is exactly one
// well-formed object, that nesting stays within MaxDepth, and that every
// declared length fits in the bytes that remain (an array of n elements needs
// at least n bytes, a map 2n). After Scan succeeds, msgpack's decoder cannot
// be talked into allocating more than a small constant times len(b).
//
// It is one pass over b with the common codes (fixed ints, strings, maps
// and arrays, doubles) handled first; errors are formatted only on failure.
func Scan(b []byte) error {
	// stack holds, per open container, how many objects it still expects.
	var stack [MaxDepth + 1]uint64
	depth := 0
	stack[0] = 1
	i := 0
	end := len(b)
	for {
		for stack[depth] == 0 {
			if depth == 0 {
				if i != end {
					return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, end-i)
				}
				return nil
			}
			depth--
		}
		stack[depth]--
		if i >= end {
			return scanErr(i, "truncated")
		}
		c := b[i]
		i++
		var skip, n uint64 // bytes to skip, objects of a container to push
		switch {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
			continue
		case c >= 0xa0 && c <= 0xbf:
			skip = uint64(c & 0x1f)
		case c >= 0x80 && c <= 0x8f:
			n = 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			n = uint64(c & 0x0f)
		case c == 0xcb || c == 0xcf || c == 0xd3:
			skip = 8
		case c == 0xca || c == 0xce || c == 0xd2:
			skip = 4
		case c == 0xcc || c == 0xd0:
			skip = 1
		case c == 0xcd || c == 0xd1:
			skip = 2
		case c >= 0xd4 && c <= 0xd8: // fixext 1, 2, 4, 8, 16 plus the type byte
			skip = 1 + 1<<(c-0xd4)
		default:
			// Codes followed by a 1, 2 or 4-byte length: str, bin, ext,
			// array, map. 0xc1 is never valid.
			var size int
			switch c {
			case 0xc4, 0xc7, 0xd9:
				size = 1
			case 0xc5, 0xc8, 0xda, 0xdc, 0xde:
				size = 2
			case 0xc6, 0xc9, 0xdb, 0xdd, 0xdf:
				size = 4
			default:
				return scanErr(i, fmt.Sprintf("invalid byte 0x%02x", c))
			}
			if end-i < size {
				return scanErr(i, "truncated length")
			}
			var v uint64
			switch size {
			case 1:
				v = uint64(b[i])
			case 2:
				v = uint64(binary.BigEndian.Uint16(b[i:]))
			default:
				v = uint64(binary.BigEndian.Uint32(b[i:]))
			}
			i += size
			switch c {
			case 0xc7, 0xc8, 0xc9: // ext: type byte and data
				skip = v + 1
			case 0xdc, 0xdd:
				n = v
			case 0xde, 0xdf:
				n = 2 * v
			default:
				skip = v
			}
		}
		rem := uint64(end - i)
		if skip > rem {
			return scanErr(i, fmt.Sprintf("length %d exceeds remaining %d bytes", skip, rem))
		}
		i += int(skip)
		if n > 0 {
			if n > rem {
				return scanErr(i, fmt.Sprintf("container of %d objects exceeds remaining %d bytes", n, rem))
			}
			if depth+1 > MaxDepth {
				return scanErr(i, fmt.Sprintf("nesting deeper than %d", MaxDepth))
			}
			depth++
			stack[depth] = n
		}
	}
}

func scanErr(i int, msg string) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, i, msg)
}
