package wire

import (
	"fmt"

	"github.com/lookout-mon/lookout/internal/mpack"
	"github.com/lookout-mon/lookout/model"
)

// Hand-written codecs of the handshake and envelope messages (Hello,
// SignedHello, Signed, Welcome, BadSession, MACReport, Ack). The agent uses
// nothing else of msgpack, so with these the slim agent links no reflection
// codec (vmihailenco/msgpack and its reflection were ~100 KB of code it
// kept resident).
//
// Encoding is byte for byte what msgpack.Marshal gives for these structs
// (map-encoded, keys from the msgpack tags in declaration order, omitempty
// as tagged, uint64 and int64 as 9-byte integers, nil []byte as nil).
// Decoding runs Scan first and then decodes exactly as msgpack.Unmarshal
// would (any key order, unknown keys skipped, array-encoded structs, nil
// for zero values, str and bin interchangeable): tests and Fuzz tests
// compare both with msgpack.

// Field names of the envelopes, in declaration order (the index is the
// field number the decoders switch on).
var (
	helloKeys      = []string{"a", "e", "t", "n", "d"}
	signedKeys     = []string{"a", "b", "s"} // Signed and SignedHello
	welcomeKeys    = []string{"a", "m", "s", "e", "c"}
	badSessionKeys = []string{"a", "m", "s", "r"}
	macReportKeys  = []string{"a", "s", "b", "m"}
)

// appendHello appends msgpack.Marshal(h).
func appendHello(dst []byte, h *Hello) []byte {
	n := 4
	if h.AckDelay != 0 {
		n++
	}
	dst = mpack.AppendMapLen(dst, n)
	dst = mpack.AppendString(append(dst, 0xa1, 'a'), h.Agent)
	dst = mpack.AppendBin(append(dst, 0xa1, 'e'), h.EphPub)
	dst = mpack.AppendInt64(append(dst, 0xa1, 't'), h.Time)
	dst = mpack.AppendBin(append(dst, 0xa1, 'n'), h.Nonce)
	if h.AckDelay != 0 {
		dst = mpack.AppendInt64(append(dst, 0xa1, 'd'), h.AckDelay)
	}
	return dst
}

// appendSigned appends msgpack.Marshal of a Signed or a SignedHello (the
// same layout).
func appendSigned(dst []byte, agent string, body, sig []byte) []byte {
	dst = mpack.AppendString(append(dst, 0x83, 0xa1, 'a'), agent)
	dst = mpack.AppendBin(append(dst, 0xa1, 'b'), body)
	return mpack.AppendBin(append(dst, 0xa1, 's'), sig)
}

// appendWelcome appends msgpack.Marshal(w).
func appendWelcome(dst []byte, w *Welcome) []byte {
	dst = mpack.AppendString(append(dst, 0x85, 0xa1, 'a'), w.Agent)
	dst = mpack.AppendString(append(dst, 0xa1, 'm'), w.Master)
	dst = mpack.AppendUint64(append(dst, 0xa1, 's'), w.Session)
	dst = mpack.AppendBin(append(dst, 0xa1, 'e'), w.EphPub)
	return mpack.AppendBin(append(dst, 0xa1, 'c'), w.Confirm)
}

// wrap puts an encoded message in an Any, refusing one over MaxMessage (as
// Encode does).
func wrap(typeURL string, b []byte) (*Any, error) {
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, typeURL, len(b))
	}
	return &Any{TypeUrl: typeURL, Value: b}, nil
}

// envelope checks a's type and size and scans its value, as Decode does
// before msgpack, and returns the value.
func envelope(a *Any, typeURL string) ([]byte, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: nil message", ErrMalformed)
	}
	if a.TypeUrl != typeURL {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrWrongType, a.TypeUrl, typeURL)
	}
	return a.Value, checkMsgpack(a.Value, MaxMessage)
}

// checkMsgpack is Unmarshal's size check and pre-scan.
func checkMsgpack(b []byte, max int) error {
	if len(b) > max {
		return fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(b), max)
	}
	return Scan(b)
}

// decodeStruct decodes b (scanned) with field, wrapping an error as
// ErrMalformed.
func decodeStruct(b []byte, what string, keys []string, zero func(), field func(p *mpack.Reader, f int) error) error {
	p := mpack.NewReader(b)
	if err := p.Struct(mpack.FieldFuncs{ZeroFunc: zero, FieldFunc: field}, keys); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	return nil
}

// decodeHello decodes msgpack b into h as msgpack.Unmarshal would; b must
// have passed checkMsgpack.
func decodeHello(b []byte, h *Hello) error {
	return decodeStruct(b, "hello", helloKeys, func() { *h = Hello{} }, func(p *mpack.Reader, f int) (err error) {
		switch f {
		case 0:
			h.Agent, err = p.Str()
		case 1:
			h.EphPub, err = p.Bytes()
		case 2:
			h.Time, err = p.Int64()
		case 3:
			h.Nonce, err = p.Bytes()
		case 4:
			h.AckDelay, err = p.Int64()
		}
		return err
	})
}

// decodeSigned decodes a Signed or SignedHello (same layout) from scanned b.
func decodeSigned(b []byte, agent *string, body, sig *[]byte) error {
	zero := func() { *agent, *body, *sig = "", nil, nil }
	return decodeStruct(b, "signed envelope", signedKeys, zero, func(p *mpack.Reader, f int) (err error) {
		switch f {
		case 0:
			*agent, err = p.Str()
		case 1:
			*body, err = p.Bytes()
		case 2:
			*sig, err = p.Bytes()
		}
		return err
	})
}

// decodeWelcome decodes a Welcome from scanned b.
func decodeWelcome(b []byte, w *Welcome) error {
	return decodeStruct(b, "welcome", welcomeKeys, func() { *w = Welcome{} }, func(p *mpack.Reader, f int) (err error) {
		switch f {
		case 0:
			w.Agent, err = p.Str()
		case 1:
			w.Master, err = p.Str()
		case 2:
			w.Session, err = p.Uint64()
		case 3:
			w.EphPub, err = p.Bytes()
		case 4:
			w.Confirm, err = p.Bytes()
		}
		return err
	})
}

// decodeBadSession decodes a BadSession from scanned b.
func decodeBadSession(b []byte, s *BadSession) error {
	return decodeStruct(b, "bad session", badSessionKeys, func() { *s = BadSession{} }, func(p *mpack.Reader, f int) (err error) {
		switch f {
		case 0:
			s.Agent, err = p.Str()
		case 1:
			s.Master, err = p.Str()
		case 2:
			s.Session, err = p.Uint64()
		case 3:
			s.Reason, err = p.Str()
		}
		return err
	})
}

// decodeMACReport decodes a MACReport from scanned b in any layout
// msgpack accepts (decodeMACReportFast reads only appendMACReport's).
func decodeMACReport(b []byte, m *MACReport) error {
	return decodeStruct(b, "mac report", macReportKeys, func() { *m = MACReport{} }, func(p *mpack.Reader, f int) (err error) {
		switch f {
		case 0:
			m.Agent, err = p.Str()
		case 1:
			m.Session, err = p.Uint64()
		case 2:
			m.Body, err = p.Bytes()
		case 3:
			m.MAC, err = p.Bytes()
		}
		return err
	})
}

// DecodeAck decodes an Ack message into a (as Decode(m, TypeAck, a) does,
// without the reflection codec).
func DecodeAck(m *Any, a *model.Ack) error {
	b, err := envelope(m, TypeAck)
	if err != nil {
		return err
	}
	if _, err := a.UnmarshalMsgpackBytes(b); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
