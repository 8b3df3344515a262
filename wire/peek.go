package wire

import (
	"github.com/lookout-mon/lookout/internal/mpack"
)

// PeekSeq reads the agent and seq of a session report without checking its
// MAC, decoding its body or allocating: agent is a view into a.Value (valid
// while a is). It understands only the layout Seal writes (exactly the
// envelope of appendMACReport, around a body whose first keys are ver, a,
// h, q, as model.Report.AppendMsgpack writes them); ok is false for
// anything else, including signed reports and hellos.
//
// Nothing it returns is authenticated. The master uses it for one decision
// only: a report whose seq it already holds or applied is a duplicate
// whatever its MAC, so it can be dropped before the verifier spends an
// HMAC and a decode on it (an agent resending a window after one lost
// report sends mostly such duplicates). A forged report naming an applied
// seq is dropped either way. A body that repeats a key (which the decoder
// accepts, the last one winning) can decode to another seq than PeekSeq
// reads; only the session's agent can make one (it carries the MAC), and
// all it can achieve is that its own report is dropped.
func PeekSeq(a *Any) (agent []byte, seq uint64, ok bool) {
	if a == nil || a.TypeUrl != TypeMACReport {
		return nil, 0, false
	}
	// The whole envelope must be Seal's layout (as decodeMACReportFast
	// wants it), so that the agent read here is the one the decoder sees:
	// a repeated key after the body would otherwise override it.
	env, ok := macEnvelope(a.Value)
	if !ok {
		return nil, 0, false
	}
	agent, body := env.agent, env.body
	// The body: a fixmap (8 or 9 keys), "ver" int, "a" str, "h" str, "q"
	// uint64.
	q := peekReader{b: body}
	if q.i >= len(q.b) || q.b[q.i]&0xf0 != 0x80 {
		return nil, 0, false
	}
	q.i++
	if !q.lit(0xa3, 'v', 'e', 'r') || !q.int() || !q.lit(0xa1, 'a') {
		return nil, 0, false
	}
	inner, ok := q.str()
	if !ok || string(inner) != string(agent) || !q.lit(0xa1, 'h') {
		return nil, 0, false
	}
	if _, ok := q.str(); !ok || !q.lit(0xa1, 'q', mpack.Uint64) {
		return nil, 0, false
	}
	seq, ok = q.n(8)
	if !ok {
		return nil, 0, false
	}
	return agent, seq, true
}

// peekReader reads msgpack values as views (no copies). It reads the
// fixed layouts of PeekSeq and decodeMACReportFast.
type peekReader struct {
	b []byte
	i int
}

func (p *peekReader) lit(want ...byte) bool {
	if len(p.b)-p.i < len(want) || string(p.b[p.i:p.i+len(want)]) != string(want) {
		return false
	}
	p.i += len(want)
	return true
}

func (p *peekReader) skip(n int) bool {
	if len(p.b)-p.i < n {
		return false
	}
	p.i += n
	return true
}

func (p *peekReader) n(size int) (uint64, bool) {
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

// int skips one msgpack integer of any encoding.
func (p *peekReader) int() bool {
	if p.i >= len(p.b) {
		return false
	}
	c := p.b[p.i]
	p.i++
	switch {
	case c <= 0x7f || c >= 0xe0: // positive or negative fixint
		return true
	case c == mpack.Uint8 || c == mpack.Int8:
		return p.skip(1)
	case c == mpack.Uint16 || c == mpack.Int16:
		return p.skip(2)
	case c == mpack.Uint32 || c == mpack.Int32:
		return p.skip(4)
	case c == mpack.Uint64 || c == mpack.Int64:
		return p.skip(8)
	}
	return false
}

// str returns a view of a msgpack string (fixstr, str8/16/32).
func (p *peekReader) str() ([]byte, bool) { return p.sized(true) }

// bin returns a view of a msgpack bin (bin8/16/32; nil gives nil).
func (p *peekReader) bin() ([]byte, bool) { return p.sized(false) }

// sized reads a string (str) or a bin and returns a view of its bytes.
func (p *peekReader) sized(str bool) ([]byte, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	c := p.b[p.i]
	p.i++
	size := 0 // bytes of the length that follows
	switch {
	case str && c&0xe0 == 0xa0:
		return p.view(uint64(c&0x1f), true)
	case !str && c == mpack.Nil:
		return nil, true
	case str && c == mpack.Str8, !str && c == mpack.Bin8:
		size = 1
	case str && c == mpack.Str16, !str && c == mpack.Bin16:
		size = 2
	case str && c == mpack.Str32, !str && c == mpack.Bin32:
		size = 4
	default:
		return nil, false
	}
	return p.view(p.n(size))
}

// view returns a view of the next l bytes (if ok: l was read).
func (p *peekReader) view(l uint64, ok bool) ([]byte, bool) {
	if !ok || l > uint64(len(p.b)-p.i) {
		return nil, false
	}
	s := p.b[p.i : p.i+int(l)]
	p.i += int(l)
	return s, true
}
