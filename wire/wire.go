// Package wire is Lookout's one codec for everything that crosses a network
// between engines: msgpack-encoded model types carried inside Any
// (google.protobuf.Any; the Any's TypeUrl names the type), because
// hollywood's remote only moves protobuf messages (a plain struct panics the
// sender). Built with -tags lookout_noproto (the slim agent), Any is the
// same message without the protobuf runtime (any_noproto.go). Every decode is size
// capped and the msgpack is pre-scanned so that no declared length can make
// the decoder allocate more than the input can justify (msgpack v5 would
// otherwise allocate 256 MiB from a 5-byte header).
//
// The messages an agent sends and receives (hello, welcome, bad session,
// signed and MAC'd reports, acks) have hand codecs (envcodec.go,
// maccodec.go, model/codec.go) that give msgpack's bytes and decode what it
// decodes; the general Marshal, Unmarshal, Encode and Decode (msgpack.go)
// are left out of the slim agent's build (tag lookout_noproto), which links
// no msgpack package.
package wire

import (
	"crypto/ed25519"
	"errors"
	"fmt"

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

// unmarshalReport is Unmarshal for a report body: the same size check and
// pre-scan, then model's hand-written decoder straight from the bytes (it
// decodes exactly as msgpack.Unmarshal would, without the Decoder's setup).
func unmarshalReport(b []byte, r *model.Report) error {
	if err := checkMsgpack(b, MaxReport); err != nil {
		return err
	}
	if _, err := r.UnmarshalMsgpackBytes(b); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// SignReport encodes r and signs it with key. r.Agent must be set.
func SignReport(key ed25519.PrivateKey, r *model.Report) (*Any, error) {
	body := r.AppendMsgpack(nil)
	if len(body) > MaxReport {
		return nil, fmt.Errorf("%w: report is %d bytes > %d", ErrTooLarge, len(body), MaxReport)
	}
	return wrap(TypeSignedReport, appendSigned(make([]byte, 0, 96+len(r.Agent)+len(body)), r.Agent, body, ed25519.Sign(key, body)))
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
	b, err := envelope(a, TypeSignedReport)
	if err != nil {
		return nil, err
	}
	var s Signed
	if err := decodeSigned(b, &s.Agent, &s.Body, &s.Sig); err != nil {
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
