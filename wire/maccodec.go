package wire

import (
	"fmt"

	"github.com/lookout-mon/lookout/internal/mpack"
)

// The session report envelope is encoded by Seal and decoded by
// DecodeMACReport for every report, on the agent and on the master. The
// reflection codec cost ~2% of a loaded master's CPU for these four
// fields, so both are written out here: appendMACReport gives the bytes of
// msgpack.Marshal(&MACReport{...}), and decodeMACReportFast reads exactly
// that layout (any other valid encoding falls back to the reflection
// decoder, so what is accepted does not change).

// appendMACReport appends the msgpack encoding of m, byte for byte what
// msgpack.Marshal(m) gives.
func appendMACReport(dst []byte, m *MACReport) []byte {
	dst = append(dst, 0x84, 0xa1, 'a')
	dst = mpack.AppendString(dst, m.Agent)
	dst = mpack.AppendUint64(append(dst, 0xa1, 's'), m.Session)
	dst = mpack.AppendBin(append(dst, 0xa1, 'b'), m.Body)
	return mpack.AppendBin(append(dst, 0xa1, 'm'), m.MAC)
}

// encodeMACReport is Encode(TypeMACReport, m) without reflection.
func encodeMACReport(m *MACReport) (*Any, error) {
	b := appendMACReport(make([]byte, 0, 32+len(m.Agent)+len(m.Body)+len(m.MAC)), m)
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, TypeMACReport, len(b))
	}
	return &Any{TypeUrl: TypeMACReport, Value: b}, nil
}

// decodeMACReportFast decodes b if it has exactly the layout
// appendMACReport writes (keys a, s, b, m in that order; s as a uint64;
// nothing after); ok is false otherwise, and the caller uses the general
// decoder. Body and MAC are copies, as the general decoder gives.
func decodeMACReportFast(b []byte) (m MACReport, ok bool) {
	p := macReader{b: b}
	if !p.lit(0x84, 0xa1, 'a') {
		return m, false
	}
	agent, ok := p.str()
	if !ok || !p.lit(0xa1, 's', mpack.Uint64) {
		return m, false
	}
	session, ok := p.u64()
	if !ok || !p.lit(0xa1, 'b') {
		return m, false
	}
	body, ok := p.bin()
	if !ok || !p.lit(0xa1, 'm') {
		return m, false
	}
	mac, ok := p.bin()
	if !ok || p.i != len(p.b) {
		return m, false
	}
	return MACReport{Agent: agent, Session: session, Body: body, MAC: mac}, true
}

// macReader reads the fixed layout of decodeMACReportFast.
type macReader struct {
	b []byte
	i int
}

// lit consumes exactly the bytes want.
func (p *macReader) lit(want ...byte) bool {
	if len(p.b)-p.i < len(want) || string(p.b[p.i:p.i+len(want)]) != string(want) {
		return false
	}
	p.i += len(want)
	return true
}

// n reads an n-byte big-endian length or integer.
func (p *macReader) n(size int) (uint64, bool) {
	if len(p.b)-p.i < size {
		return 0, false
	}
	var v uint64
	for _, c := range p.b[p.i : p.i+size] {
		v = v<<8 | uint64(c)
	}
	p.i += size
	return v, true
}

func (p *macReader) u64() (uint64, bool) { return p.n(8) }

// take returns a copy of the next l bytes.
func (p *macReader) take(l uint64) ([]byte, bool) {
	if l > uint64(len(p.b)-p.i) {
		return nil, false
	}
	out := append([]byte{}, p.b[p.i:p.i+int(l)]...)
	p.i += int(l)
	return out, true
}

// str reads a msgpack string (fixstr, str8/16/32).
func (p *macReader) str() (string, bool) {
	if p.i >= len(p.b) {
		return "", false
	}
	c := p.b[p.i]
	p.i++
	var l uint64
	ok := true
	switch {
	case c&0xe0 == 0xa0:
		l = uint64(c & 0x1f)
	case c == mpack.Str8:
		l, ok = p.n(1)
	case c == mpack.Str16:
		l, ok = p.n(2)
	case c == mpack.Str32:
		l, ok = p.n(4)
	default:
		return "", false
	}
	if !ok || l > uint64(len(p.b)-p.i) {
		return "", false
	}
	s := string(p.b[p.i : p.i+int(l)])
	p.i += int(l)
	return s, true
}

// bin reads a msgpack bin (bin8/16/32) or nil.
func (p *macReader) bin() ([]byte, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	c := p.b[p.i]
	p.i++
	var l uint64
	ok := true
	switch c {
	case mpack.Nil:
		return nil, true
	case mpack.Bin8:
		l, ok = p.n(1)
	case mpack.Bin16:
		l, ok = p.n(2)
	case mpack.Bin32:
		l, ok = p.n(4)
	default:
		return nil, false
	}
	if !ok {
		return nil, false
	}
	return p.take(l)
}
