// Package wire is Lookout's one codec for everything that crosses a network
// between engines: msgpack-encoded model types carried inside Any
// (google.protobuf.Any; the Any's TypeUrl names the type), because
// hollywood's remote only moves protobuf messages (a plain struct panics the
// sender). Built with -tags lookout_noproto (the slim agent), Any is the
// same message without the protobuf runtime (any_noproto.go). Every decode is size
// capped and the msgpack is pre-scanned so that no declared length can make
// the decoder allocate more than the input can justify (msgpack v5 would
// otherwise allocate 256 MiB from a 5-byte header).
package wire

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/model"
)

// Type URLs of the messages Lookout sends over hollywood remote.
const (
	TypeSignedReport = "lookout/signed-report.v1"
	TypeAck          = "lookout/ack.v1"
)

// Size limits.
const (
	// MaxMessage caps any encoded message.
	MaxMessage = 1 << 20
	// MaxReport caps one signed report (a host with many disks and
	// interfaces is a few KiB; 256 KiB leaves room and bounds memory).
	MaxReport = 256 << 10
	// MaxDepth caps container nesting.
	MaxDepth = 32
)

// Errors returned by Decode.
var (
	ErrTooLarge  = errors.New("wire: message too large")
	ErrWrongType = errors.New("wire: unexpected message type")
	ErrMalformed = errors.New("wire: malformed msgpack")
)

// Signed is a report body signed by its agent's ed25519 key. The master
// verifies Sig against the public key configured for Agent before decoding
// Body, so an unknown sender never reaches the msgpack decoder with a body.
type Signed struct {
	Agent string `msgpack:"a"`
	Body  []byte `msgpack:"b"` // msgpack(model.Report)
	Sig   []byte `msgpack:"s"`
}

// Marshal msgpack-encodes v.
func Marshal(v any) ([]byte, error) { return msgpack.Marshal(v) }

// Unmarshal decodes msgpack b into v after checking its size against max and
// scanning it for lengths the input cannot back.
func Unmarshal(b []byte, max int, v any) error {
	if len(b) > max {
		return fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(b), max)
	}
	if err := Scan(b); err != nil {
		return err
	}
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// unmarshalReport is Unmarshal for a report body: the same size check and
// pre-scan, then model's hand-written decoder straight from the bytes (it
// decodes exactly as msgpack.Unmarshal would, without the Decoder's setup).
func unmarshalReport(b []byte, r *model.Report) error {
	if len(b) > MaxReport {
		return fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(b), MaxReport)
	}
	if err := Scan(b); err != nil {
		return err
	}
	if _, err := r.UnmarshalMsgpackBytes(b); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// Encode wraps v, msgpack-encoded, in an Any with the given type URL.
func Encode(typeURL string, v any) (*Any, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: encode %s: %w", typeURL, err)
	}
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, typeURL, len(b))
	}
	return &Any{TypeUrl: typeURL, Value: b}, nil
}

// Decode unpacks an Any of the given type URL into v.
func Decode(a *Any, typeURL string, v any) error {
	if a == nil {
		return fmt.Errorf("%w: nil message", ErrMalformed)
	}
	if a.TypeUrl != typeURL {
		return fmt.Errorf("%w: got %q, want %q", ErrWrongType, a.TypeUrl, typeURL)
	}
	return Unmarshal(a.Value, MaxMessage, v)
}

// SignReport encodes r and signs it with key. r.Agent must be set.
func SignReport(key ed25519.PrivateKey, r *model.Report) (*Any, error) {
	body := r.AppendMsgpack(nil)
	if len(body) > MaxReport {
		return nil, fmt.Errorf("%w: report is %d bytes > %d", ErrTooLarge, len(body), MaxReport)
	}
	s := Signed{Agent: r.Agent, Body: body, Sig: ed25519.Sign(key, body)}
	return Encode(TypeSignedReport, &s)
}

// KeyLookup returns the public key of a known agent, or false.
type KeyLookup func(agent string) (ed25519.PublicKey, bool)

// Verification errors, so callers can count them separately.
var (
	ErrUnknownAgent = errors.New("wire: unknown agent")
	ErrBadSignature = errors.New("wire: bad signature")
	ErrAgentID      = errors.New("wire: report agent does not match signer")
)

// OpenReport checks the envelope's signature against the agent's configured
// key and decodes the report. The report's Agent must equal the signer.
func OpenReport(a *Any, keys KeyLookup) (*model.Report, error) {
	var s Signed
	if err := Decode(a, TypeSignedReport, &s); err != nil {
		return nil, err
	}
	pub, ok := keys(s.Agent)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownAgent, s.Agent)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, s.Body, s.Sig) {
		return nil, fmt.Errorf("%w from %q", ErrBadSignature, s.Agent)
	}
	var r model.Report
	if err := unmarshalReport(s.Body, &r); err != nil {
		return nil, fmt.Errorf("report from %q: %w", s.Agent, err)
	}
	if r.Agent != s.Agent {
		return nil, fmt.Errorf("%w: signed by %q, claims %q", ErrAgentID, s.Agent, r.Agent)
	}
	if r.Version < model.MinProtocolVersion {
		return nil, fmt.Errorf("report from %q: protocol version %d < %d", s.Agent, r.Version, model.MinProtocolVersion)
	}
	return &r, nil
}

// IngestID is the hollywood PID ID of the master's ingest actor (child
// "ingest"/"main" of the root actor "lookout"/"master"); agents send to
// actor.NewPID(masterAddr, IngestID).
const IngestID = "lookout/master/ingest/main"
