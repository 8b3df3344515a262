package wire

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// Session-authenticated reports.
//
// Signing every report with ed25519 (and verifying it on the master) costs
// tens of µs of CPU per report on both sides. Instead, an agent proves once
// per session that it holds its configured ed25519 key, and the two sides
// agree on a MAC key for the reports that follow:
//
//  1. The agent sends a Hello (its name, a fresh X25519 public key, the time
//     and a random nonce) signed with its ed25519 key.
//  2. The master verifies the signature against the agent's configured key,
//     checks that the hello is fresh (within HelloMaxSkew of its clock and
//     newer than the last hello it accepted from that agent), makes its own
//     X25519 key and derives the session key with HKDF-SHA256 from the shared
//     secret, binding the agent's name, both X25519 public keys and the
//     master's name. It answers with a Welcome: a random session ID, its
//     X25519 public key and a key confirmation (an HMAC under the session
//     key), so the agent never switches to a key the master does not hold.
//  3. The agent derives the same key and sends MACReports: the msgpack report
//     body with HMAC-SHA256(session key, session ID, body).
//
// Only the holder of the agent's ed25519 key knows the X25519 private key
// whose shared secret with the master's ephemeral key gives the session key,
// so only it can produce MACs the master accepts. Someone who tampers with
// the Welcome can only make the agent's handshake fail (the agent keeps
// signing reports), which it could do by dropping messages anyway. Replayed
// reports are harmless: the master dedups by (agent, seq).

// Type URLs of the session messages.
const (
	TypeHello      = "lookout/hello.v1"
	TypeWelcome    = "lookout/welcome.v1"
	TypeMACReport  = "lookout/mac-report.v1"
	TypeBadSession = "lookout/bad-session.v1"
)

// HelloMaxSkew is how far a hello's time may be from the master's clock.
const HelloMaxSkew = 5 * time.Minute

// Sizes in the handshake.
const (
	helloNonceSize = 16
	sessionKeySize = 32
	// MACSize is the length of a MACReport's MAC (HMAC-SHA256).
	MACSize = sha256.Size
)

// Domain separation: a hello signature can never be taken for a report
// signature (those sign the bare report body), and the key confirmation
// never equals a report MAC.
const (
	helloSigContext = "lookout hello v1\x00"
	kdfInfo         = "lookout session v1"
	confirmLabel    = "lookout welcome v1"
)

// Session errors, so callers can count them separately.
var (
	ErrUnknownSession = errors.New("wire: unknown session")
	ErrBadMAC         = errors.New("wire: bad report MAC")
	ErrStaleHello     = errors.New("wire: stale hello")
	ErrBadWelcome     = errors.New("wire: welcome does not match this handshake")
)

// Hello opens a session. It travels as SignedHello.
type Hello struct {
	Agent  string `msgpack:"a"`
	EphPub []byte `msgpack:"e"` // X25519 public key, 32 bytes
	Time   int64  `msgpack:"t"` // unix ns
	Nonce  []byte `msgpack:"n"`
	// AckDelay, if set, is how long (in milliseconds) the master may hold
	// back the acks of this session's in-order reports to send one ack for
	// several (see HelloOptions.AckDelay). Older masters ignore it.
	AckDelay int64 `msgpack:"d,omitempty"`
}

// HelloOptions are what an agent asks of a session in its Hello.
type HelloOptions struct {
	// AckDelay lets the master delay the ack of an in-order report by up
	// to this long, so that one ack covers the reports of that time.
	// Zero asks for an ack per report, as before.
	AckDelay time.Duration
}

// SignedHello is a msgpack Hello signed (with a context prefix) by the
// agent's ed25519 key.
type SignedHello struct {
	Agent string `msgpack:"a"`
	Body  []byte `msgpack:"b"` // msgpack(Hello)
	Sig   []byte `msgpack:"s"`
}

// Welcome is the master's answer to an accepted Hello.
type Welcome struct {
	Agent   string `msgpack:"a"`
	Master  string `msgpack:"m"`
	Session uint64 `msgpack:"s"`
	EphPub  []byte `msgpack:"e"` // master's X25519 public key
	// Confirm is HMAC-SHA256(session key, confirmLabel || session ID).
	Confirm []byte `msgpack:"c"`
}

// MACReport is a report authenticated by a session key.
type MACReport struct {
	Agent   string `msgpack:"a"`
	Session uint64 `msgpack:"s"`
	Body    []byte `msgpack:"b"` // msgpack(model.Report)
	MAC     []byte `msgpack:"m"`
}

// BadSession is the master's answer to a MACReport whose session it does
// not know (it restarted, or the session was evicted) or whose MAC fails:
// the agent drops that session, signs its reports meanwhile, resends what
// was refused and sends a new hello. It is not authenticated; a forged one
// costs the agent a handshake.
type BadSession struct {
	Agent   string `msgpack:"a"`
	Master  string `msgpack:"m"`
	Session uint64 `msgpack:"s"`
	Reason  string `msgpack:"r"`
}

// OpenBadSession decodes a BadSession.
func OpenBadSession(a *Any) (*BadSession, error) {
	v, err := envelope(a, TypeBadSession)
	if err != nil {
		return nil, err
	}
	var b BadSession
	if err := decodeBadSession(v, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// PendingHello is the agent's side of a handshake in progress: it holds the
// ephemeral private key until the Welcome arrives.
type PendingHello struct {
	agent string
	priv  *ecdh.PrivateKey
}

// NewHello makes a signed Hello for agent at now with a fresh X25519 key.
func NewHello(key ed25519.PrivateKey, agent string, now time.Time) (*Any, *PendingHello, error) {
	return NewHelloOpts(key, agent, now, HelloOptions{})
}

// NewHelloOpts is NewHello with options.
func NewHelloOpts(key ed25519.PrivateKey, agent string, now time.Time, opt HelloOptions) (*Any, *PendingHello, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: hello key: %w", err)
	}
	nonce := make([]byte, helloNonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("wire: hello nonce: %w", err)
	}
	body := appendHello(nil, &Hello{Agent: agent, EphPub: priv.PublicKey().Bytes(), Time: now.UnixNano(), Nonce: nonce, AckDelay: opt.AckDelay.Milliseconds()})
	sig := ed25519.Sign(key, helloSigned(body))
	msg, err := wrap(TypeHello, appendSigned(nil, agent, body, sig))
	if err != nil {
		return nil, nil, err
	}
	return msg, &PendingHello{agent: agent, priv: priv}, nil
}

func helloSigned(body []byte) []byte {
	return append([]byte(helloSigContext), body...)
}

// OpenHello checks a SignedHello's signature against the agent's configured
// key and its time against now (|Time - now| <= HelloMaxSkew). Whether it
// is newer than the agent's previous hello is the caller's check.
func OpenHello(a *Any, keys KeyLookup, now time.Time) (*Hello, error) {
	b, err := envelope(a, TypeHello)
	if err != nil {
		return nil, err
	}
	var s SignedHello
	if err := decodeSigned(b, &s.Agent, &s.Body, &s.Sig); err != nil {
		return nil, err
	}
	pub, ok := keys(s.Agent)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownAgent, s.Agent)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, helloSigned(s.Body), s.Sig) {
		return nil, fmt.Errorf("%w on hello from %q", ErrBadSignature, s.Agent)
	}
	var h Hello
	if err := checkMsgpack(s.Body, MaxMessage); err != nil {
		return nil, fmt.Errorf("hello from %q: %w", s.Agent, err)
	}
	if err := decodeHello(s.Body, &h); err != nil {
		return nil, fmt.Errorf("hello from %q: %w", s.Agent, err)
	}
	if h.Agent != s.Agent {
		return nil, fmt.Errorf("%w: hello signed by %q, claims %q", ErrAgentID, s.Agent, h.Agent)
	}
	if len(h.EphPub) != 32 || len(h.Nonce) != helloNonceSize {
		return nil, fmt.Errorf("%w: hello from %q: key of %d bytes, nonce of %d", ErrMalformed, s.Agent, len(h.EphPub), len(h.Nonce))
	}
	if d := now.Sub(time.Unix(0, h.Time)); d > HelloMaxSkew || d < -HelloMaxSkew {
		return nil, fmt.Errorf("%w from %q: its time is %s off this master's clock", ErrStaleHello, s.Agent, d.Round(time.Second))
	}
	return &h, nil
}

// AcceptHello is the master's side of the handshake for an opened hello:
// it makes the master's ephemeral key, derives the session key and returns
// the session and the Welcome to send back. id must be random and nonzero.
func AcceptHello(h *Hello, master string, id uint64) (*Session, *Any, error) {
	if id == 0 {
		return nil, nil, errors.New("wire: session id must be nonzero")
	}
	agentPub, err := ecdh.X25519().NewPublicKey(h.EphPub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: hello key of %q: %v", ErrMalformed, h.Agent, err)
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("wire: session key: %w", err)
	}
	shared, err := priv.ECDH(agentPub)
	if err != nil { // low-order point: all-zero shared secret
		return nil, nil, fmt.Errorf("%w: hello key of %q: %v", ErrMalformed, h.Agent, err)
	}
	mine := priv.PublicKey().Bytes()
	key, err := sessionKey(shared, h.Agent, master, h.EphPub, mine)
	if err != nil {
		return nil, nil, err
	}
	s := NewSession(id, h.Agent, key)
	msg, err := wrap(TypeWelcome, appendWelcome(nil, &Welcome{Agent: h.Agent, Master: master, Session: id, EphPub: mine, Confirm: confirm(key, id)}))
	if err != nil {
		return nil, nil, err
	}
	return s, msg, nil
}

// OpenWelcome decodes a Welcome.
func OpenWelcome(a *Any) (*Welcome, error) {
	b, err := envelope(a, TypeWelcome)
	if err != nil {
		return nil, err
	}
	var w Welcome
	if err := decodeWelcome(b, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

// Finish derives the session key from the master's Welcome and checks its
// key confirmation: a Welcome for another hello (an older one, or a
// tampered one) is refused with ErrBadWelcome.
func (p *PendingHello) Finish(w *Welcome) (*Session, error) {
	if w.Agent != p.agent || w.Session == 0 {
		return nil, fmt.Errorf("%w: for agent %q, session %d", ErrBadWelcome, w.Agent, w.Session)
	}
	masterPub, err := ecdh.X25519().NewPublicKey(w.EphPub)
	if err != nil {
		return nil, fmt.Errorf("%w: master key: %v", ErrBadWelcome, err)
	}
	shared, err := p.priv.ECDH(masterPub)
	if err != nil {
		return nil, fmt.Errorf("%w: master key: %v", ErrBadWelcome, err)
	}
	key, err := sessionKey(shared, p.agent, w.Master, p.priv.PublicKey().Bytes(), w.EphPub)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal(confirm(key, w.Session), w.Confirm) {
		return nil, fmt.Errorf("%w: key confirmation differs", ErrBadWelcome)
	}
	return NewSession(w.Session, p.agent, key), nil
}

// sessionKey derives the session key, binding the names and both ephemeral
// keys (length-prefixed, so no two transcripts give the same info).
func sessionKey(shared []byte, agent, master string, agentEph, masterEph []byte) ([]byte, error) {
	info := []byte(kdfInfo)
	for _, part := range [][]byte{[]byte(agent), []byte(master), agentEph, masterEph} {
		info = binary.BigEndian.AppendUint32(info, uint32(len(part)))
		info = append(info, part...)
	}
	key, err := hkdf.Key(sha256.New, shared, nil, string(info), sessionKeySize)
	if err != nil {
		return nil, fmt.Errorf("wire: derive session key: %w", err)
	}
	return key, nil
}

func confirm(key []byte, id uint64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(confirmLabel))
	m.Write(binary.BigEndian.AppendUint64(nil, id))
	return m.Sum(nil)
}

// Session is one side of an established session. It is not safe for
// concurrent use (it keeps one keyed HMAC state to avoid re-keying per
// report).
type Session struct {
	// ID is the master-chosen session ID.
	ID uint64
	// Agent is the agent the session authenticates.
	Agent string
	// inner and outer are HMAC-SHA256's two SHA-256 states after the
	// key's ipad and opad blocks (sha256's MarshalBinary form): ~220 bytes
	// per session instead of a live hmac.Hash (~860 bytes), which a master
	// keeps for every agent.
	inner, outer []byte
	idb          [8]byte
	sum          [MACSize]byte
}

// NewSession returns a session with the given ID, agent and key.
func NewSession(id uint64, agent string, key []byte) *Session {
	s := &Session{ID: id, Agent: agent}
	s.inner, s.outer = hmacStates(key)
	binary.BigEndian.PutUint64(s.idb[:], id)
	return s
}

// hmacStates returns the SHA-256 states of HMAC-SHA256 under key after the
// ipad and opad blocks (RFC 2104: a key longer than the block is hashed
// first, then padded with zeros to the block size).
func hmacStates(key []byte) (inner, outer []byte) {
	if len(key) > sha256.BlockSize {
		k := sha256.Sum256(key)
		key = k[:]
	}
	var ipad, opad [sha256.BlockSize]byte
	copy(ipad[:], key)
	copy(opad[:], key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	state := func(pad []byte) []byte {
		h := sha256.New()
		h.Write(pad)
		b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic("wire: sha256 state: " + err.Error()) // sha256 always marshals
		}
		return b
	}
	return state(ipad[:]), state(opad[:])
}

// shaPool holds SHA-256 hashes for sumOf.
var shaPool = sync.Pool{New: func() any { return sha256.New() }}

// sumOf computes HMAC-SHA256(key, ID || body) into s.sum from the saved
// states (the same bytes as crypto/hmac gives; tested against it).
func (s *Session) sumOf(body []byte) []byte {
	h := shaPool.Get().(hash.Hash)
	defer shaPool.Put(h)
	u := h.(encoding.BinaryUnmarshaler)
	if err := u.UnmarshalBinary(s.inner); err != nil {
		panic("wire: sha256 state: " + err.Error()) // made by hmacStates
	}
	h.Write(s.idb[:])
	h.Write(body)
	in := h.Sum(s.sum[:0])
	if err := u.UnmarshalBinary(s.outer); err != nil {
		panic("wire: sha256 state: " + err.Error())
	}
	h.Write(in)
	return h.Sum(s.sum[:0])
}

// Seal encodes r and authenticates it with the session key. r.Agent must
// be the session's agent.
func (s *Session) Seal(r *model.Report) (*Any, error) {
	m, _, err := s.SealBuf(r, make([]byte, 0, 1024))
	return m, err
}

// SealBuf is Seal with a scratch buffer for the report's encoding, which
// it returns (grown if it was too small) for the next call. A sender that
// seals one report after another keeps one buffer, and a report then
// costs one allocation, its envelope's exact size, instead of the body's
// growing buffer, a copy of the MAC and the envelope (BENCHMARKS.md: about
// 3 KiB less garbage per agent report). The envelope does not share
// scratch; scratch must not be used by two calls at once.
func (s *Session) SealBuf(r *model.Report, scratch []byte) (*Any, []byte, error) {
	if r.Agent != s.Agent {
		return nil, scratch, fmt.Errorf("%w: report of %q in a session of %q", ErrAgentID, r.Agent, s.Agent)
	}
	body := r.AppendMsgpack(scratch[:0])
	if len(body) > MaxReport {
		return nil, body, fmt.Errorf("%w: report is %d bytes > %d", ErrTooLarge, len(body), MaxReport)
	}
	// encodeMACReport copies body and the MAC (s.sum) into the envelope.
	m, err := encodeMACReport(&MACReport{Agent: s.Agent, Session: s.ID, Body: body, MAC: s.sumOf(body)})
	return m, body, err
}

// AuthReport encodes r for sending: MAC'd under s when the agent has a
// session (in scratch, as SealBuf, which it returns for the next report),
// else signed with key (before its first welcome, or when its master does
// not answer hellos).
func AuthReport(s *Session, key ed25519.PrivateKey, r *model.Report, scratch []byte) (*Any, []byte, error) {
	if s != nil {
		return s.SealBuf(r, scratch)
	}
	m, err := SignReport(key, r)
	return m, scratch, err
}

// DecodeMACReport decodes a MACReport envelope without checking it. Its
// Body and MAC may share a.Value's bytes (they do for Seal's layout): the
// caller must not change a.Value while it uses them. Session.Open does
// not keep them (the report it decodes copies its strings).
func DecodeMACReport(a *Any) (*MACReport, error) {
	var m MACReport
	fast := false
	if a != nil && a.TypeUrl == TypeMACReport && len(a.Value) <= MaxMessage {
		m, fast = decodeMACReportFast(a.Value)
	}
	if !fast {
		b, err := envelope(a, TypeMACReport)
		if err != nil {
			return nil, err
		}
		if err := decodeMACReport(b, &m); err != nil {
			return nil, err
		}
	}
	if len(m.Body) > MaxReport {
		return nil, fmt.Errorf("%w: report from %q is %d bytes > %d", ErrTooLarge, m.Agent, len(m.Body), MaxReport)
	}
	return &m, nil
}

// Open checks m's MAC with the session key (in constant time) and decodes
// the report, whose Agent must be the session's agent.
func (s *Session) Open(m *MACReport) (*model.Report, error) {
	if m.Session != s.ID {
		return nil, fmt.Errorf("%w %d", ErrUnknownSession, m.Session)
	}
	if m.Agent != s.Agent {
		return nil, fmt.Errorf("%w: session of %q used by %q", ErrAgentID, s.Agent, m.Agent)
	}
	if !hmac.Equal(s.sumOf(m.Body), m.MAC) {
		return nil, fmt.Errorf("%w from %q", ErrBadMAC, s.Agent)
	}
	var r model.Report
	if err := unmarshalReport(m.Body, &r); err != nil {
		return nil, fmt.Errorf("report from %q: %w", s.Agent, err)
	}
	if r.Agent != s.Agent {
		return nil, fmt.Errorf("%w: session of %q, report claims %q", ErrAgentID, s.Agent, r.Agent)
	}
	if r.Version < model.MinProtocolVersion {
		return nil, fmt.Errorf("report from %q: protocol version %d < %d", s.Agent, r.Version, model.MinProtocolVersion)
	}
	return &r, nil
}
