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
func Scan(b []byte) error {
	// stack holds, per open container, how many objects it still expects.
	var stack [MaxDepth + 1]uint64
	depth := 0
	stack[0] = 1
	i := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: at byte %d: %s", ErrMalformed, i, fmt.Sprintf(format, args...))
	}
	for {
		for depth >= 0 && stack[depth] == 0 {
			depth--
		}
		if depth < 0 {
			break
		}
		stack[depth]--
		if i >= len(b) {
			return fail("truncated")
		}
		c := b[i]
		i++
		rem := uint64(len(b) - i)
		var n uint64 // container objects to push
		var skip uint64
		container := false
		lenN := func(size int) (uint64, error) {
			if rem < uint64(size) {
				return 0, fail("truncated length")
			}
			var v uint64
			switch size {
			case 1:
				v = uint64(b[i])
			case 2:
				v = uint64(binary.BigEndian.Uint16(b[i:]))
			case 4:
				v = uint64(binary.BigEndian.Uint32(b[i:]))
			}
			i += size
			rem -= uint64(size)
			return v, nil
		}
		var err error
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			n, container = 2*uint64(c&0x0f), true
		case c >= 0x90 && c <= 0x9f:
			n, container = uint64(c&0x0f), true
		case c >= 0xa0 && c <= 0xbf:
			skip = uint64(c & 0x1f)
		case c == 0xc4 || c == 0xd9:
			skip, err = lenN(1)
		case c == 0xc5 || c == 0xda:
			skip, err = lenN(2)
		case c == 0xc6 || c == 0xdb:
			skip, err = lenN(4)
		case c == 0xc7:
			skip, err = lenN(1)
			skip++
		case c == 0xc8:
			skip, err = lenN(2)
			skip++
		case c == 0xc9:
			skip, err = lenN(4)
			skip++
		case c == 0xca:
			skip = 4
		case c == 0xcb:
			skip = 8
		case c == 0xcc || c == 0xd0:
			skip = 1
		case c == 0xcd || c == 0xd1:
			skip = 2
		case c == 0xce || c == 0xd2:
			skip = 4
		case c == 0xcf || c == 0xd3:
			skip = 8
		case c == 0xd4:
			skip = 2
		case c == 0xd5:
			skip = 3
		case c == 0xd6:
			skip = 5
		case c == 0xd7:
			skip = 9
		case c == 0xd8:
			skip = 17
		case c == 0xdc:
			n, err = lenN(2)
			container = true
		case c == 0xdd:
			n, err = lenN(4)
			container = true
		case c == 0xde:
			n, err = lenN(2)
			n *= 2
			container = true
		case c == 0xdf:
			n, err = lenN(4)
			n *= 2
			container = true
		default: // 0xc1
			return fail("invalid byte 0x%02x", c)
		}
		if err != nil {
			return err
		}
		if skip > rem {
			return fail("length %d exceeds remaining %d bytes", skip, rem)
		}
		i += int(skip)
		if container && n > 0 {
			if n > rem {
				return fail("container of %d objects exceeds remaining %d bytes", n, rem)
			}
			if depth+1 > MaxDepth {
				return fail("nesting deeper than %d", MaxDepth)
			}
			depth++
			stack[depth] = n
		}
	}
	if i != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-i)
	}
	return nil
}
