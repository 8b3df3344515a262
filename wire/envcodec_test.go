package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
)

// The hand codecs of envcodec.go are checked against msgpack v5, which the
// master used for these messages before (and whose bytes older agents and
// masters send).

// TestEnvelopeEncodersMatchMsgpack: every encoder writes msgpack.Marshal's
// bytes, for every length class of its fields and with and without the
// omitempty field.
func TestEnvelopeEncodersMatchMsgpack(t *testing.T) {
	long := func(n int) []byte { return bytes.Repeat([]byte{7}, n) }
	tests := []struct {
		name string
		v    any
		got  func() []byte
	}{}
	hellos := []Hello{
		{},
		{Agent: "web1", EphPub: long(32), Time: 1764043200123456789, Nonce: long(16)},
		{Agent: "web1", EphPub: long(32), Time: -5, Nonce: []byte{}, AckDelay: 50},
		{Agent: strings.Repeat("h", 32), EphPub: long(256), Time: 1, AckDelay: -1},
		{Agent: strings.Repeat("h", 70000), Nonce: long(70000), AckDelay: 1 << 40},
	}
	for i := range hellos {
		h := &hellos[i]
		tests = append(tests, struct {
			name string
			v    any
			got  func() []byte
		}{fmt.Sprintf("hello %d", i), h, func() []byte { return appendHello(nil, h) }})
	}
	signed := []Signed{
		{},
		{Agent: "web1", Body: long(700), Sig: long(64)},
		{Agent: strings.Repeat("s", 300), Body: []byte{}, Sig: nil},
		{Agent: "x", Body: long(70000), Sig: long(255)},
	}
	for i := range signed {
		s := &signed[i]
		sh := &SignedHello{Agent: s.Agent, Body: s.Body, Sig: s.Sig}
		tests = append(tests, struct {
			name string
			v    any
			got  func() []byte
		}{fmt.Sprintf("signed %d", i), s, func() []byte { return appendSigned(nil, s.Agent, s.Body, s.Sig) }},
			struct {
				name string
				v    any
				got  func() []byte
			}{fmt.Sprintf("signed hello %d", i), sh, func() []byte { return appendSigned(nil, sh.Agent, sh.Body, sh.Sig) }})
	}
	welcomes := []Welcome{
		{},
		{Agent: "web1", Master: "m1", Session: 1 << 63, EphPub: long(32), Confirm: long(32)},
		{Agent: strings.Repeat("w", 31), Master: strings.Repeat("m", 256), Session: 1, EphPub: []byte{}},
	}
	for i := range welcomes {
		w := &welcomes[i]
		tests = append(tests, struct {
			name string
			v    any
			got  func() []byte
		}{fmt.Sprintf("welcome %d", i), w, func() []byte { return appendWelcome(nil, w) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := msgpack.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			got := tt.got()
			if !bytes.Equal(got, want) {
				t.Fatalf("hand encoder = % x...\nmsgpack      = % x...", got[:min(len(got), 48)], want[:min(len(want), 48)])
			}
		})
	}
}

// envDecoders decodes b (after checkMsgpack) with the hand decoder and with
// msgpack.Unmarshal into fresh values of one envelope type.
var envDecoders = []struct {
	name string
	hand func(b []byte) (any, error)
	ref  func(b []byte) (any, error)
}{
	{"hello",
		func(b []byte) (any, error) { var v Hello; err := decodeHello(b, &v); return v, err },
		func(b []byte) (any, error) { var v Hello; err := msgpack.Unmarshal(b, &v); return v, err }},
	{"signed",
		func(b []byte) (any, error) {
			var v Signed
			err := decodeSigned(b, &v.Agent, &v.Body, &v.Sig)
			return v, err
		},
		func(b []byte) (any, error) { var v Signed; err := msgpack.Unmarshal(b, &v); return v, err }},
	{"welcome",
		func(b []byte) (any, error) { var v Welcome; err := decodeWelcome(b, &v); return v, err },
		func(b []byte) (any, error) { var v Welcome; err := msgpack.Unmarshal(b, &v); return v, err }},
	{"bad session",
		func(b []byte) (any, error) { var v BadSession; err := decodeBadSession(b, &v); return v, err },
		func(b []byte) (any, error) { var v BadSession; err := msgpack.Unmarshal(b, &v); return v, err }},
	{"mac report",
		func(b []byte) (any, error) { var v MACReport; err := decodeMACReport(b, &v); return v, err },
		func(b []byte) (any, error) { var v MACReport; err := msgpack.Unmarshal(b, &v); return v, err }},
}

// compareDecoders checks that the hand decoder of every envelope type
// accepts what msgpack accepts, giving the same value, and refuses what it
// refuses. Inputs that fail checkMsgpack never reach either decoder.
func compareDecoders(t *testing.T, b []byte) {
	t.Helper()
	if checkMsgpack(b, MaxMessage) != nil {
		return
	}
	for _, d := range envDecoders {
		got, err := d.hand(b)
		want, werr := d.ref(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: % x: hand decoder error %v, msgpack error %v", d.name, b[:min(len(b), 64)], err, werr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: error %v is not ErrMalformed", d.name, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: % x: hand decoder %#v, msgpack %#v", d.name, b[:min(len(b), 64)], got, want)
		}
	}
}

// envSeeds are encodings of the envelopes in the layouts msgpack reads:
// msgpack.Marshal's, other key orders, unknown and repeated keys, compact
// integers, str for bytes and bin for strings, array-encoded structs, nil.
func envSeeds(t testing.TB) [][]byte {
	marshal := func(v any) []byte {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	asArray := func(v any) []byte {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseArrayEncodedStructs(true)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	compact := func(v any) []byte {
		var buf bytes.Buffer
		enc := msgpack.NewEncoder(&buf)
		enc.UseCompactInts(true)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	key32 := bytes.Repeat([]byte{1}, 32)
	h := &Hello{Agent: "web1", EphPub: key32, Time: 1764043200123456789, Nonce: key32[:16], AckDelay: 20}
	w := &Welcome{Agent: "web1", Master: "m", Session: 99, EphPub: key32, Confirm: key32}
	s := &Signed{Agent: "web1", Body: []byte{0x80}, Sig: key32}
	bs := &BadSession{Agent: "web1", Master: "m", Session: 3, Reason: "restart"}
	mr := &MACReport{Agent: "web1", Session: 3, Body: []byte{0x80}, MAC: key32}
	var seeds [][]byte
	for _, v := range []any{h, &Hello{}, w, s, bs, mr, &Welcome{}} {
		seeds = append(seeds, marshal(v), asArray(v), compact(v))
	}
	seeds = append(seeds,
		marshal(map[string]any{"t": -3, "a": []byte("bin agent"), "zz": map[string]any{"x": []any{1, 2.5, nil}}, "e": "str key", "d": uint8(200)}),
		marshal(map[string]any{"a": "first", "a ": 1, "s": -1, "r": nil, "m": nil}),
		marshal(map[string]any{"s": int16(-300), "b": "", "m": []byte{}, "c": true}),
		[]byte{0xc0},       // nil
		[]byte{0x80},       // empty map
		[]byte{0x90},       // empty array
		[]byte{0x93, 1, 2}, // short array
		[]byte{0x82, 0xa1, 'a', 0xa1, 'x', 0xa1, 'a', 0xa1, 'y'},                      // repeated key
		[]byte{0x81, 0xa1, 's', 0xcb, 0x40, 0x09, 0x21, 0xf9, 0xf0, 0x1b, 0x86, 0x6e}, // float for an int
		[]byte{0x81, 0xc0, 0x01},             // nil key
		[]byte{0x81, 0xa1, 'e', 0xc2},        // bool for bytes
		[]byte{0x81, 0xd4, 0x01, 0x02, 0x03}, // ext key
		[]byte{0xd4, 0x01, 0x02},             // ext top level
		[]byte{0xa3, 'a', 'b', 'c'},          // string top level
	)
	return seeds
}

// TestEnvelopeDecodersMatchMsgpack runs compareDecoders over the seeds and
// over every truncation of them.
func TestEnvelopeDecodersMatchMsgpack(t *testing.T) {
	for i, b := range envSeeds(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			for n := 0; n <= len(b); n++ {
				compareDecoders(t, b[:n])
			}
		})
	}
}

// FuzzEnvelopeDecoders: on any input, each hand decoder agrees with
// msgpack.Unmarshal (same value, or both refuse).
func FuzzEnvelopeDecoders(f *testing.F) {
	for _, b := range envSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		compareDecoders(t, b)
	})
}

// TestEnvelopeRoundTrips: the public entry points decode what the hand
// encoders wrote, and refuse the wrong type, a nil message and oversized
// or malformed values as Decode did.
func TestEnvelopeRoundTrips(t *testing.T) {
	w := &Welcome{Agent: "web1", Master: "m", Session: 5, EphPub: []byte{1}, Confirm: []byte{2}}
	welcome := &anypb.Any{TypeUrl: TypeWelcome, Value: appendWelcome(nil, w)}
	bsv, err := msgpack.Marshal(&BadSession{Agent: "web1", Master: "m", Session: 5, Reason: "gone"})
	if err != nil {
		t.Fatal(err)
	}
	bad := &anypb.Any{TypeUrl: TypeBadSession, Value: bsv}
	ack := model.Ack{Master: "m", Agent: "web1", Seq: 12, Reject: "no", Next: 14}
	ackMsg := &anypb.Any{TypeUrl: TypeAck, Value: ack.AppendMsgpack(nil)}
	tests := []struct {
		name    string
		open    func() (any, error)
		want    any
		wantErr error
	}{
		{"welcome", func() (any, error) { v, err := OpenWelcome(welcome); return deref(v), err }, *w, nil},
		{"welcome wrong type", func() (any, error) { return OpenWelcome(bad) }, nil, ErrWrongType},
		{"welcome nil", func() (any, error) { return OpenWelcome(nil) }, nil, ErrMalformed},
		{"welcome trailing byte", func() (any, error) {
			return OpenWelcome(&anypb.Any{TypeUrl: TypeWelcome, Value: append(appendWelcome(nil, w), 0)})
		}, nil, ErrMalformed},
		{"welcome not a struct", func() (any, error) { return OpenWelcome(&anypb.Any{TypeUrl: TypeWelcome, Value: []byte{0x01}}) }, nil, ErrMalformed},
		{"welcome too large", func() (any, error) {
			return OpenWelcome(&anypb.Any{TypeUrl: TypeWelcome, Value: make([]byte, MaxMessage+1)})
		}, nil, ErrTooLarge},
		{"bad session", func() (any, error) { v, err := OpenBadSession(bad); return deref(v), err },
			BadSession{Agent: "web1", Master: "m", Session: 5, Reason: "gone"}, nil},
		{"bad session wrong type", func() (any, error) { return OpenBadSession(welcome) }, nil, ErrWrongType},
		{"ack", func() (any, error) { var a model.Ack; err := DecodeAck(ackMsg, &a); return a, err }, ack, nil},
		{"ack wrong type", func() (any, error) { var a model.Ack; return nil, DecodeAck(welcome, &a) }, nil, ErrWrongType},
		{"ack malformed", func() (any, error) {
			var a model.Ack
			return nil, DecodeAck(&anypb.Any{TypeUrl: TypeAck, Value: []byte{0x81, 0xa1, 'q', 0xa1, 'x'}}, &a)
		}, nil, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.open()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// deref returns *v, or nil for a nil pointer.
func deref[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

// TestHelloAckDelayOnTheWire: NewHelloOpts encodes AckDelay only when it is
// set (older masters see the hello they always saw), and OpenHello reads
// it back.
func TestHelloAckDelayOnTheWire(t *testing.T) {
	keys := keysFor("web1", testKey.Public().(ed25519.PublicKey))
	tests := []struct {
		name  string
		delay int64 // ms
	}{{"none", 0}, {"20ms", 20}, {"1h", 3600000}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := helloNow
			msg, _, err := NewHelloOpts(testKey, "web1", now, HelloOptions{AckDelay: time.Duration(tt.delay) * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			var s SignedHello
			if err := msgpack.Unmarshal(msg.Value, &s); err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := msgpack.Unmarshal(s.Body, &raw); err != nil {
				t.Fatal(err)
			}
			if _, has := raw["d"]; has != (tt.delay != 0) {
				t.Fatalf("hello body %v: key d present = %v, want %v", raw, has, tt.delay != 0)
			}
			h, err := OpenHello(msg, keys, now)
			if err != nil {
				t.Fatal(err)
			}
			if h.AckDelay != tt.delay || h.Agent != "web1" || h.Time != now.UnixNano() {
				t.Fatalf("opened hello %+v, want AckDelay %d", h, tt.delay)
			}
		})
	}
}
