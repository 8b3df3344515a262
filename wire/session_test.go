package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
)

// otherKey is a second fixed key (another agent, or a forger).
var otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))

var helloNow = time.Unix(1_700_000_000, 0)

// handshake runs a full handshake of agent web1 and returns the agent's and
// the master's sessions.
func handshake(t testing.TB) (agent, master *Session) {
	t.Helper()
	h, pend, err := NewHello(testKey, "web1", helloNow)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := OpenHello(h, keysFor("web1", testKey.Public().(ed25519.PublicKey)), helloNow.Add(time.Second))
	if err != nil {
		t.Fatalf("OpenHello: %v", err)
	}
	master, wmsg, err := AcceptHello(opened, "m1", 77)
	if err != nil {
		t.Fatalf("AcceptHello: %v", err)
	}
	w, err := OpenWelcome(wmsg)
	if err != nil {
		t.Fatalf("OpenWelcome: %v", err)
	}
	agent, err = pend.Finish(w)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return agent, master
}

func TestSessionRoundTrip(t *testing.T) {
	agent, master := handshake(t)
	if agent.ID != 77 || master.ID != 77 || agent.Agent != "web1" || master.Agent != "web1" {
		t.Fatalf("sessions %d/%q and %d/%q", agent.ID, agent.Agent, master.ID, master.Agent)
	}
	// Several reports through the same (reused) MAC state on both sides.
	for seq := uint64(1); seq <= 3; seq++ {
		in := sampleReport()
		in.Seq = seq
		msg, err := agent.Seal(in)
		if err != nil {
			t.Fatal(err)
		}
		if msg.TypeUrl != TypeMACReport {
			t.Fatalf("type %q", msg.TypeUrl)
		}
		m, err := DecodeMACReport(msg)
		if err != nil {
			t.Fatal(err)
		}
		if m.Session != 77 || m.Agent != "web1" || len(m.MAC) != MACSize {
			t.Fatalf("envelope %+v", m)
		}
		out, err := master.Open(m)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("round trip changed the report:\n in %+v\nout %+v", in, out)
		}
	}
}

// TestSealBuf: SealBuf gives Seal's bytes, hands its scratch buffer back
// for the next report, never lets the envelope share it, and with a warm
// buffer costs two allocations per report (the Any and its bytes).
func TestSealBuf(t *testing.T) {
	agent, master := handshake(t)
	var scratch []byte
	var prev *Any
	for seq := uint64(1); seq <= 3; seq++ {
		in := sampleReport()
		in.Seq = seq
		want, err := agent.Seal(in)
		if err != nil {
			t.Fatal(err)
		}
		var got *Any
		got, scratch, err = agent.SealBuf(in, scratch)
		if err != nil {
			t.Fatal(err)
		}
		// The same envelope as Seal's (a Values map's order varies
		// between encodings, so compare what the master opens).
		if got.TypeUrl != want.TypeUrl || len(got.Value) != len(want.Value) {
			t.Fatalf("SealBuf = %q, %d bytes; Seal = %q, %d bytes", got.TypeUrl, len(got.Value), want.TypeUrl, len(want.Value))
		}
		gm, err := DecodeMACReport(got)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := master.Open(gm); err != nil || !reflect.DeepEqual(out, in) {
			t.Fatalf("SealBuf's report opens as %+v, %v; want %+v", out, err, in)
		}
		if prev != nil {
			// The previous envelope is intact although scratch was reused.
			m, err := DecodeMACReport(prev)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := master.Open(m); err != nil || out.Seq != seq-1 {
				t.Fatalf("previous envelope after the next SealBuf: %v, %v", out, err)
			}
		}
		prev = got
	}
	if len(scratch) == 0 {
		t.Fatal("SealBuf returned an empty scratch buffer")
	}
	for i := range scratch {
		scratch[i] = 0xff // scribbling on scratch does not reach the envelope
	}
	if m, err := DecodeMACReport(prev); err != nil {
		t.Fatal(err)
	} else if _, err := master.Open(m); err != nil {
		t.Fatalf("envelope after scratch was overwritten: %v", err)
	}
	in := sampleReport()
	if n := testing.AllocsPerRun(50, func() {
		if _, scratch, _ = agent.SealBuf(in, scratch); scratch == nil {
			t.Fatal("no scratch")
		}
	}); n > 2 {
		t.Errorf("SealBuf with a warm buffer: %.0f allocations per report, want at most 2", n)
	}
	// Errors leave the buffer usable.
	if _, sb, err := agent.SealBuf(&model.Report{Agent: "other"}, scratch); !errors.Is(err, ErrAgentID) || cap(sb) != cap(scratch) {
		t.Fatalf("SealBuf of another agent's report = %v (cap %d, want %d)", err, cap(sb), cap(scratch))
	}
}

// TestSessionKeysDiffer: two handshakes of the same agent give different
// keys, so a MAC of one session is refused by the other.
func TestSessionKeysDiffer(t *testing.T) {
	a1, _ := handshake(t)
	_, m2 := handshake(t)
	msg, err := a1.Seal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	m, _ := DecodeMACReport(msg)
	if _, err := m2.Open(m); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("report of another session with the same ID: %v, want ErrBadMAC", err)
	}
}

func TestSessionRefusals(t *testing.T) {
	agent, master := handshake(t)
	// A session of another agent (B) on the master, same key material path.
	good := func() *MACReport {
		msg, err := agent.Seal(sampleReport())
		if err != nil {
			t.Fatal(err)
		}
		m, err := DecodeMACReport(msg)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// A report claiming agent B sealed with web1's key (as if web1 tried to
	// report for B through its own session).
	claimsB := func() *MACReport {
		r := sampleReport()
		r.Agent = "B"
		body, _ := msgpack.Marshal(r)
		m := good()
		m.Body = body
		m.MAC = append([]byte(nil), agent.sumOf(body)...)
		return m
	}
	tests := []struct {
		name string
		mod  func(*MACReport)
		want error
	}{
		{"tampered body", func(m *MACReport) { m.Body[len(m.Body)-1] ^= 1 }, ErrBadMAC},
		{"tampered MAC", func(m *MACReport) { m.MAC[0] ^= 1 }, ErrBadMAC},
		{"short MAC", func(m *MACReport) { m.MAC = m.MAC[:16] }, ErrBadMAC},
		{"no MAC", func(m *MACReport) { m.MAC = nil }, ErrBadMAC},
		{"other session id", func(m *MACReport) { m.Session++ }, ErrUnknownSession},
		{"envelope names another agent", func(m *MACReport) { m.Agent = "B" }, ErrAgentID},
		{"report claims another agent", func(m *MACReport) { *m = *claimsB() }, ErrAgentID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.mod(m)
			if r, err := master.Open(m); !errors.Is(err, tt.want) {
				t.Fatalf("Open = %+v, %v; want %v", r, err, tt.want)
			}
		})
	}
	if _, err := agent.Seal(&model.Report{Agent: "B", Version: 1}); !errors.Is(err, ErrAgentID) {
		t.Fatalf("sealing another agent's report: %v", err)
	}
	// The master's state is still good after the refusals.
	if _, err := master.Open(good()); err != nil {
		t.Fatalf("good report after refusals: %v", err)
	}
}

func TestOpenHelloRefusals(t *testing.T) {
	pub := testKey.Public().(ed25519.PublicKey)
	keys := keysFor("web1", pub)
	hello := func(key ed25519.PrivateKey, agent string, at time.Time) *anypb.Any {
		h, _, err := NewHello(key, agent, at)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// A signed report whose body is a hello (the signature over the bare
	// body, no hello context): must not pass as a hello.
	hb, _ := msgpack.Marshal(&Hello{Agent: "web1", EphPub: make([]byte, 32), Time: helloNow.UnixNano(), Nonce: make([]byte, helloNonceSize)})
	crossProto, _ := Encode(TypeHello, &SignedHello{Agent: "web1", Body: hb, Sig: ed25519.Sign(testKey, hb)})
	// A correctly signed hello with a malformed key.
	badKey, _ := msgpack.Marshal(&Hello{Agent: "web1", EphPub: []byte{1, 2}, Time: helloNow.UnixNano(), Nonce: make([]byte, helloNonceSize)})
	badKeyMsg, _ := Encode(TypeHello, &SignedHello{Agent: "web1", Body: badKey, Sig: ed25519.Sign(testKey, helloSigned(badKey))})
	// Signed by web1, but the body claims another agent.
	claims, _ := msgpack.Marshal(&Hello{Agent: "B", EphPub: make([]byte, 32), Time: helloNow.UnixNano(), Nonce: make([]byte, helloNonceSize)})
	claimsMsg, _ := Encode(TypeHello, &SignedHello{Agent: "web1", Body: claims, Sig: ed25519.Sign(testKey, helloSigned(claims))})
	tests := []struct {
		name string
		msg  *anypb.Any
		want error
	}{
		{"unknown agent", hello(otherKey, "stranger", helloNow), ErrUnknownAgent},
		{"web1 name, other key", hello(otherKey, "web1", helloNow), ErrBadSignature},
		{"too old", hello(testKey, "web1", helloNow.Add(-HelloMaxSkew-time.Second)), ErrStaleHello},
		{"too far ahead", hello(testKey, "web1", helloNow.Add(HelloMaxSkew+time.Second)), ErrStaleHello},
		{"report-style signature", crossProto, ErrBadSignature},
		{"malformed key", badKeyMsg, ErrMalformed},
		{"claims another agent", claimsMsg, ErrAgentID},
		{"wrong type", &anypb.Any{TypeUrl: TypeSignedReport, Value: hb}, ErrWrongType},
		{"garbage", &anypb.Any{TypeUrl: TypeHello, Value: []byte{0xdf, 0xff, 0xff, 0xff, 0xff}}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, err := OpenHello(tt.msg, keys, helloNow); !errors.Is(err, tt.want) {
				t.Fatalf("OpenHello = %+v, %v; want %v", h, err, tt.want)
			}
		})
	}
	// Within the skew on both sides: accepted.
	for _, d := range []time.Duration{-HelloMaxSkew, HelloMaxSkew} {
		if _, err := OpenHello(hello(testKey, "web1", helloNow.Add(d)), keys, helloNow); err != nil {
			t.Errorf("hello %s off refused: %v", d, err)
		}
	}
	// A hello signature is no report signature either.
	h := hello(testKey, "web1", helloNow)
	var sh SignedHello
	if err := Decode(h, TypeHello, &sh); err != nil {
		t.Fatal(err)
	}
	asReport, _ := Encode(TypeSignedReport, &Signed{Agent: "web1", Body: sh.Body, Sig: sh.Sig})
	if _, err := OpenReport(asReport, keys); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("hello accepted as a signed report: %v", err)
	}
}

func TestWelcomeMismatchRefused(t *testing.T) {
	keys := keysFor("web1", testKey.Public().(ed25519.PublicKey))
	welcomeFor := func(h *anypb.Any, master string) *Welcome {
		o, err := OpenHello(h, keys, helloNow)
		if err != nil {
			t.Fatal(err)
		}
		_, wm, err := AcceptHello(o, master, 5)
		if err != nil {
			t.Fatal(err)
		}
		w, err := OpenWelcome(wm)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	h1, p1, _ := NewHello(testKey, "web1", helloNow)
	h2, p2, _ := NewHello(testKey, "web1", helloNow.Add(time.Millisecond))
	w1 := welcomeFor(h1, "m1")
	tests := []struct {
		name string
		p    *PendingHello
		w    func() *Welcome
	}{
		{"answer to another hello", p2, func() *Welcome { return w1 }},
		{"master name changed", p1, func() *Welcome { w := *w1; w.Master = "m2"; return &w }},
		{"session id changed", p1, func() *Welcome { w := *w1; w.Session = 6; return &w }},
		{"zero session", p1, func() *Welcome { w := *w1; w.Session = 0; return &w }},
		{"other agent", p1, func() *Welcome { w := *w1; w.Agent = "B"; return &w }},
		{"master key replaced", p1, func() *Welcome {
			w := *w1
			w.EphPub = welcomeFor(h2, "m1").EphPub
			return &w
		}},
		{"master key malformed", p1, func() *Welcome { w := *w1; w.EphPub = []byte{1}; return &w }},
		{"confirmation changed", p1, func() *Welcome {
			w := *w1
			w.Confirm = append([]byte(nil), w1.Confirm...)
			w.Confirm[3] ^= 0x40
			return &w
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := tt.p.Finish(tt.w()); !errors.Is(err, ErrBadWelcome) {
				t.Fatalf("Finish = %+v, %v; want ErrBadWelcome", s, err)
			}
		})
	}
	if _, err := p1.Finish(w1); err != nil {
		t.Fatalf("the matching welcome refused: %v", err)
	}
	if _, _, err := AcceptHello(&Hello{Agent: "web1", EphPub: make([]byte, 32)}, "m1", 1); !errors.Is(err, ErrMalformed) {
		t.Fatalf("all-zero (low-order) hello key accepted: %v", err)
	}
	if _, _, err := AcceptHello(&Hello{Agent: "web1", EphPub: w1.EphPub}, "m1", 0); err == nil {
		t.Fatal("session id 0 accepted")
	}
}

func FuzzOpenHello(f *testing.F) {
	h, _, _ := NewHello(testKey, "web1", helloNow)
	f.Add(h.Value)
	var sh SignedHello
	_ = Decode(h, TypeHello, &sh)
	f.Add(sh.Body)
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x83, 0xa1, 'a', 0xa4, 'w', 'e', 'b', '1', 0xa1, 'b', 0xc4, 0x00, 0xa1, 's', 0xc4, 0x00})
	pub := testKey.Public().(ed25519.PublicKey)
	keys := keysFor("web1", pub)
	f.Fuzz(func(t *testing.T, data []byte) {
		// data as the envelope, and as a body correctly signed by web1 (so
		// the fuzzer reaches the hello decoder and its checks).
		envs := [][]byte{data}
		if env, err := msgpack.Marshal(&SignedHello{Agent: "web1", Body: data, Sig: ed25519.Sign(testKey, helloSigned(data))}); err == nil {
			envs = append(envs, env)
		}
		for _, value := range envs {
			var got *Hello
			var err error
			n := allocated(func() { got, err = OpenHello(&anypb.Any{TypeUrl: TypeHello, Value: value}, keys, helloNow) })
			if n > allocBound(len(value)) {
				t.Fatalf("OpenHello of %d bytes allocated %d", len(value), n)
			}
			if err != nil {
				continue
			}
			if got.Agent != "web1" || len(got.EphPub) != 32 || len(got.Nonce) != helloNonceSize {
				t.Fatalf("accepted hello %+v", got)
			}
			var s SignedHello
			if err := Unmarshal(value, MaxMessage, &s); err != nil || !ed25519.Verify(pub, helloSigned(s.Body), s.Sig) {
				t.Fatalf("accepted a hello without a valid signature: %v", err)
			}
			// The master side must not panic on whatever key got through.
			_, _, _ = AcceptHello(got, "m1", 1)
		}
	})
}

func FuzzOpenWelcome(f *testing.F) {
	keys := keysFor("web1", testKey.Public().(ed25519.PublicKey))
	h, pend, _ := NewHello(testKey, "web1", helloNow)
	o, _ := OpenHello(h, keys, helloNow)
	_, wm, _ := AcceptHello(o, "m1", 9)
	f.Add(wm.Value)
	f.Add([]byte{0x85, 0xa1, 'a', 0xa4, 'w', 'e', 'b', '1', 0xa1, 's', 0x01, 0xa1, 'e', 0xc4, 0x00, 0xa1, 'c', 0xc4, 0x00, 0xa1, 'm', 0xa0})
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var w *Welcome
		var err error
		n := allocated(func() { w, err = OpenWelcome(&anypb.Any{TypeUrl: TypeWelcome, Value: data}) })
		if n > allocBound(len(data)) {
			t.Fatalf("OpenWelcome of %d bytes allocated %d", len(data), n)
		}
		if err != nil {
			return
		}
		s, err := pend.Finish(w)
		if err != nil {
			return
		}
		// Only the master's real answer (same key, same confirmation) can
		// open a session.
		if !bytes.Equal(data, wm.Value) {
			var real Welcome
			_ = Decode(wm, TypeWelcome, &real)
			if w.Session != real.Session || !bytes.Equal(w.EphPub, real.EphPub) || w.Master != real.Master || !bytes.Equal(w.Confirm, real.Confirm) {
				t.Fatalf("a forged welcome opened session %d: %+v", s.ID, w)
			}
		}
	})
}

func FuzzMACReport(f *testing.F) {
	agent, master := handshake(f)
	good, _ := agent.Seal(sampleReport())
	f.Add(good.Value, false)
	body, _ := msgpack.Marshal(sampleReport())
	f.Add(body, true)
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}, true)
	f.Add([]byte{0x84, 0xa1, 'a', 0xa4, 'w', 'e', 'b', '1', 0xa1, 's', 0x4d, 0xa1, 'b', 0xc4, 0x00, 0xa1, 'm', 0xc4, 0x00}, false)
	f.Fuzz(func(t *testing.T, data []byte, mac bool) {
		// mac=true: data is the report body with a valid MAC, so the fuzzer
		// reaches the report decoder; else data is the envelope.
		value := data
		if mac {
			env, err := msgpack.Marshal(&MACReport{Agent: "web1", Session: 77, Body: data, MAC: append([]byte(nil), agent.sumOf(data)...)})
			if err != nil {
				t.Fatal(err)
			}
			value = env
		}
		var r *model.Report
		var err error
		n := allocated(func() {
			var m *MACReport
			if m, err = DecodeMACReport(&anypb.Any{TypeUrl: TypeMACReport, Value: value}); err == nil {
				r, err = master.Open(m)
			}
		})
		if n > allocBound(len(value)) {
			t.Fatalf("MAC report of %d bytes allocated %d", len(value), n)
		}
		if err != nil {
			return
		}
		if r.Agent != "web1" || r.Version < model.MinProtocolVersion {
			t.Fatalf("accepted report %+v", r)
		}
		if !mac {
			var m MACReport
			if err := Unmarshal(value, MaxMessage, &m); err != nil || !bytes.Equal(m.MAC, agent.sumOf(m.Body)) {
				t.Fatalf("accepted an envelope without a valid MAC: %v", err)
			}
		}
	})
}
