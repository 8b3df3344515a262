//go:build !lookout_noproto

package model

// The msgpack.CustomEncoder and msgpack.CustomDecoder glue of the
// hand-written codec (codec.go), so that msgpack.Marshal and
// msgpack.Unmarshal of these types, alone or inside other structs, use it.
// The slim agent (tag lookout_noproto) encodes and decodes only through
// AppendMsgpack and UnmarshalMsgpackBytes and links no msgpack package.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/internal/mpack"
)

// directWindow is how much of the remaining input of a *bytes.Reader the
// decoder copies at first (see decodeFrom).
const directWindow = 4 << 10

// pooledMax caps the buffers kept in bufPool.
const pooledMax = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= pooledMax {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

var errRawBoundary = errors.New("object extends past the raw msgpack value")

// EncodeMsgpack implements msgpack.CustomEncoder.
func (r Report) EncodeMsgpack(enc *msgpack.Encoder) error {
	bp := getBuf()
	*bp = r.AppendMsgpack((*bp)[:0])
	return writeBuf(enc, bp)
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (s Sample) EncodeMsgpack(enc *msgpack.Encoder) error {
	bp := getBuf()
	*bp = s.AppendMsgpack((*bp)[:0])
	return writeBuf(enc, bp)
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (c Check) EncodeMsgpack(enc *msgpack.Encoder) error {
	bp := getBuf()
	*bp = c.AppendMsgpack((*bp)[:0])
	return writeBuf(enc, bp)
}

// EncodeMsgpack implements msgpack.CustomEncoder.
func (a Ack) EncodeMsgpack(enc *msgpack.Encoder) error {
	bp := getBuf()
	*bp = a.AppendMsgpack((*bp)[:0])
	return writeBuf(enc, bp)
}

// writeBuf writes the encoding in *bp in one call and returns bp to the
// pool; the msgpack Encoder keeps no buffer of its own, so this is the same
// as encoding through it.
func writeBuf(enc *msgpack.Encoder, bp *[]byte) error {
	_, err := enc.Writer().Write(*bp)
	putBuf(bp)
	if err != nil {
		return fmt.Errorf("model: write msgpack: %w", err)
	}
	return nil
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (r *Report) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, "report", func(p *mpack.Reader) error { return decodeReport(p, r) })
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (s *Sample) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, "sample", func(p *mpack.Reader) error { return decodeSample(p, s) })
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (c *Check) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, "check", func(p *mpack.Reader) error { return decodeCheck(p, c) })
}

// DecodeMsgpack implements msgpack.CustomDecoder.
func (a *Ack) DecodeMsgpack(dec *msgpack.Decoder) error {
	return decodeFrom(dec, "ack", func(p *mpack.Reader) error { return decodeAck(p, a) })
}

// decodeFrom runs fn over the bytes of the next object of dec. When dec
// reads from a *bytes.Reader (msgpack.Unmarshal, msgpack.NewDecoder on a
// bytes.Reader), the Decoder keeps no buffer of its own: the object's bytes
// are copied into a pooled buffer, decoded, and the reader is advanced by
// the bytes used. Up to directWindow remaining bytes are copied at once;
// beyond that, the window grows until it holds the object as msgpack's Skip
// sees it, so that decoding many small objects from one large input stays
// linear. Otherwise the object's raw bytes are taken with DecodeRaw.
//
// Either way the decoder sees at most the object as Skip delimits it (or
// the remaining input): the one input on which that differs from the
// reflection decoder is an ext header in front of the values map, which
// Skip treats as a whole ext value; that is refused (errRawBoundary) where
// it would reach past the window.
func decodeFrom(dec *msgpack.Decoder, what string, fn func(*mpack.Reader) error) error {
	if br, ok := dec.Buffered().(*bytes.Reader); ok {
		rem := br.Len()
		off := br.Size() - int64(rem)
		bp := getBuf()
		w := min(rem, directWindow)
		var buf []byte
		for {
			if cap(*bp) < w {
				*bp = make([]byte, w)
			}
			buf = (*bp)[:w]
			n, _ := br.ReadAt(buf, off)
			buf = buf[:n]
			if w >= rem {
				break
			}
			if err := mpack.NewReader(buf).Skip(); err == nil || !errors.Is(err, mpack.ErrTruncated) {
				break
			}
			w = min(rem, 4*w)
		}
		p := mpack.NewReader(buf)
		err := fn(p)
		if err != nil && errors.Is(err, mpack.ErrTruncated) && len(buf) < rem {
			err = errRawBoundary
		}
		_, serr := br.Seek(int64(p.Offset()), io.SeekCurrent)
		putBuf(bp)
		if err != nil {
			return fmt.Errorf("model: decode %s: %w", what, err)
		}
		if serr != nil {
			return fmt.Errorf("model: decode %s: advance reader: %w", what, serr)
		}
		return nil
	}
	raw, err := dec.DecodeRaw()
	if err != nil {
		return fmt.Errorf("model: decode %s: %w", what, err)
	}
	if err := fn(mpack.NewReader(raw)); err != nil {
		if errors.Is(err, mpack.ErrTruncated) {
			err = errRawBoundary
		}
		return fmt.Errorf("model: decode %s: %w", what, err)
	}
	return nil
}
