package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// scanRef is Scan as it was before the single-pass rewrite: the rewrite
// must accept and refuse exactly the same inputs.
func scanRef(b []byte) error {
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

// FuzzScanMatchesReference: Scan accepts exactly what scanRef accepts.
func FuzzScanMatchesReference(f *testing.F) {
	for _, v := range []any{sampleReport(), map[string]any{"x": []any{1, 2.5, "y", []byte{1}, nil, true, -40, 1 << 40}}} {
		b, _ := msgpack.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xc7, 0x02, 0x01, 0xff, 0xff})
	f.Add([]byte{0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(append(bytes.Repeat([]byte{0x91}, MaxDepth), 0xc0))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Scan(b), scanRef(b)
		if (got == nil) != (want == nil) {
			t.Fatalf("Scan: %v, reference: %v", got, want)
		}
	})
}

func TestScanMatchesReference(t *testing.T) {
	// Every one- and two-byte input, and every code before a few bodies.
	var inputs [][]byte
	for c := 0; c < 256; c++ {
		inputs = append(inputs, []byte{byte(c)})
		for d := 0; d < 256; d += 17 {
			inputs = append(inputs, []byte{byte(c), byte(d)})
		}
		for _, tail := range [][]byte{{0, 1, 0xc0}, {0, 0, 0, 2, 0xc0, 0xc0}, bytes.Repeat([]byte{1}, 20)} {
			inputs = append(inputs, append([]byte{byte(c)}, tail...))
		}
	}
	for _, in := range inputs {
		got, want := Scan(in), scanRef(in)
		if (got == nil) != (want == nil) {
			t.Errorf("%x: Scan: %v, reference: %v", in, got, want)
		}
	}
}
