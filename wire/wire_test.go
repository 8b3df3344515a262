package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
)

// testKey is a fixed agent key so fuzz corpora stay valid across runs.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func keysFor(name string, pub ed25519.PublicKey) KeyLookup {
	return func(agent string) (ed25519.PublicKey, bool) {
		if agent == name {
			return pub, true
		}
		return nil, false
	}
}

func sampleReport() *model.Report {
	return &model.Report{Version: model.ProtocolVersion, Agent: "web1", Host: "web1", Seq: 42, Oldest: 40, Time: 1700000000123456789,
		Samples: []model.Sample{
			{Service: "machine", Resource: "disk", Unit: "/dev/sda1", Values: map[string]float64{"used_percentage": 91.5, "free": 1 << 30}},
			{Service: "machine", Resource: "load", Unit: "system", Values: map[string]float64{"load1": 0.25}},
		},
		Checks:  []model.Check{{Service: "port", Unit: "UnrealIRCd (6667)", Up: true}},
		Dropped: 3}
}

func TestReportRoundTrip(t *testing.T) {
	r := sampleReport()
	a, err := SignReport(testKey, r)
	if err != nil {
		t.Fatal(err)
	}
	if a.TypeUrl != TypeSignedReport {
		t.Fatalf("type URL %q", a.TypeUrl)
	}
	got, err := OpenReport(a, keysFor("web1", testKey.Public().(ed25519.PublicKey)))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   any
		out  func() any
	}{
		{"ack", &model.Ack{Master: "m1", Agent: "web1", Seq: 9, Reject: "unknown agent"}, func() any { return &model.Ack{} }},
		{"empty ack", &model.Ack{}, func() any { return &model.Ack{} }},
		{"report", sampleReport(), func() any { return &model.Report{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Encode(TypeAck, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			out := tt.out()
			if err := Decode(a, TypeAck, out); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out, tt.in) {
				t.Fatalf("got %+v, want %+v", out, tt.in)
			}
			if err := Decode(a, TypeSignedReport, tt.out()); !errors.Is(err, ErrWrongType) {
				t.Fatalf("wrong type URL: %v, want ErrWrongType", err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	big := make([]byte, MaxMessage+1)
	tests := []struct {
		name string
		a    *anypb.Any
		want error
	}{
		{"nil", nil, ErrMalformed},
		{"too large", &anypb.Any{TypeUrl: TypeAck, Value: big}, ErrTooLarge},
		{"empty", &anypb.Any{TypeUrl: TypeAck}, ErrMalformed},
		{"invalid byte", &anypb.Any{TypeUrl: TypeAck, Value: []byte{0xc1}}, ErrMalformed},
		{"trailing bytes", &anypb.Any{TypeUrl: TypeAck, Value: []byte{0x80, 0x01}}, ErrMalformed},
		{"wrong field type", &anypb.Any{TypeUrl: TypeAck, Value: []byte{0x81, 0xa1, 'q', 0xa1, 'x'}}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ack model.Ack
			if err := Decode(tt.a, TypeAck, &ack); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOpenReportErrors(t *testing.T) {
	pub := testKey.Public().(ed25519.PublicKey)
	_, otherKey, _ := ed25519.GenerateKey(nil)
	sign := func(key ed25519.PrivateKey, mod func(r *model.Report)) *anypb.Any {
		r := sampleReport()
		if mod != nil {
			mod(r)
		}
		a, err := SignReport(key, r)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	envelope := func(s Signed) *anypb.Any {
		a, err := Encode(TypeSignedReport, &s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	// A body signed by web1 but claiming to be from web2.
	body2, _ := msgpack.Marshal(func() *model.Report { r := sampleReport(); r.Agent = "web2"; return r }())
	// A body that is not msgpack, correctly signed.
	junk := []byte{0xdf, 0xff, 0xff, 0xff, 0xff}
	tests := []struct {
		name    string
		a       *anypb.Any
		keys    KeyLookup
		want    error
		wantMsg string
	}{
		{"unknown agent", sign(testKey, nil), keysFor("other", pub), ErrUnknownAgent, `"web1"`},
		{"bad signature", sign(otherKey, nil), keysFor("web1", pub), ErrBadSignature, `"web1"`},
		{"wrong key length", sign(testKey, nil), keysFor("web1", pub[:16]), ErrBadSignature, ""},
		{"tampered body", func() *anypb.Any {
			a := sign(testKey, nil)
			var s Signed
			if err := Decode(a, TypeSignedReport, &s); err != nil {
				t.Fatal(err)
			}
			s.Body[len(s.Body)-1] ^= 1
			return envelope(s)
		}(), keysFor("web1", pub), ErrBadSignature, ""},
		{"agent id mismatch", envelope(Signed{Agent: "web1", Body: body2, Sig: ed25519.Sign(testKey, body2)}),
			keysFor("web1", pub), ErrAgentID, `signed by "web1", claims "web2"`},
		{"old protocol version", sign(testKey, func(r *model.Report) { r.Version = model.MinProtocolVersion - 1 }),
			keysFor("web1", pub), nil, "protocol version"},
		{"signed junk body", envelope(Signed{Agent: "web1", Body: junk, Sig: ed25519.Sign(testKey, junk)}),
			keysFor("web1", pub), ErrMalformed, "exceeds remaining"},
		{"wrong type", &anypb.Any{TypeUrl: TypeAck, Value: []byte{0x80}}, keysFor("web1", pub), ErrWrongType, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := OpenReport(tt.a, tt.keys)
			if err == nil {
				t.Fatalf("accepted: %+v", r)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestSignReportTooLarge(t *testing.T) {
	r := sampleReport()
	r.Samples = nil
	for i := 0; i < 10000; i++ {
		r.Samples = append(r.Samples, model.Sample{Service: "machine", Resource: "network", Unit: strings.Repeat("x", 30),
			Values: map[string]float64{"rx_bytes": float64(i)}})
	}
	if _, err := SignReport(testKey, r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

// allocated returns the bytes fn allocated on the heap.
// allocated returns the bytes fn allocates: the least of 5 runs, because
// TotalAlloc is process-wide and a runtime or test-framework goroutine
// allocating at the same moment made single measurements flaky (~1 in
// 3,000). An allocation caused by fn's input happens in every run.
func allocated(fn func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 5 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// TestHugeHeadersRejected: a 5-byte header declaring a 4 G-element container
// or string must be refused by Scan before msgpack sees it (msgpack v5 would
// allocate hundreds of MiB for it).
func TestHugeHeadersRejected(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"map32", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}},
		{"array32", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}},
		{"str32", []byte{0xdb, 0xff, 0xff, 0xff, 0xff}},
		{"bin32", []byte{0xc6, 0xff, 0xff, 0xff, 0xff}},
		{"ext32", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"map16", []byte{0xde, 0xff, 0xff}},
		{"array16 in map", []byte{0x81, 0xa1, 'a', 0xdc, 0xff, 0xff}},
		{"nested arrays", append(bytes.Repeat([]byte{0x91}, MaxDepth+1), 0xc0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() { err = Scan(tt.b) })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Scan: %v, want ErrMalformed", err)
			}
			// The error message itself allocates; the header's size must not.
			if n > 4<<10 {
				t.Fatalf("Scan allocated %d bytes for a %d-byte input", n, len(tt.b))
			}
			var v any
			n = allocated(func() { err = Unmarshal(tt.b, MaxMessage, &v) })
			if !errors.Is(err, ErrMalformed) || n > 4<<10 {
				t.Fatalf("Unmarshal: %v after allocating %d bytes", err, n)
			}
		})
	}
}

func TestScanValid(t *testing.T) {
	for _, v := range []any{nil, true, 1, -1, 1 << 40, 1.5, "s", strings.Repeat("x", 70000), []byte{1, 2},
		map[string]any{"a": []any{1, "b", map[string]any{}}}, sampleReport()} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := Scan(b); err != nil {
			t.Errorf("Scan(%T): %v", v, err)
		}
		if len(b) > 1 {
			if err := Scan(b[:len(b)-1]); !errors.Is(err, ErrMalformed) {
				t.Errorf("Scan(truncated %T): %v, want ErrMalformed", v, err)
			}
		}
	}
}

// allocBound is the allowed heap allocation for decoding n input bytes.
func allocBound(n int) uint64 { return 200*uint64(n) + 64<<10 }

func FuzzScan(f *testing.F) {
	for _, v := range []any{sampleReport(), &model.Ack{Master: "m", Seq: 1}, map[string]any{"x": []any{1, 2.5, "y"}}} {
		b, _ := msgpack.Marshal(v)
		f.Add(b)
	}
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0xdd, 0x00, 0x01, 0x00, 0x00, 0xc0})
	f.Add([]byte{0xc7, 0x02, 0x01, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var scanErr, decErr error
		var v any
		n := allocated(func() {
			scanErr = Scan(b)
			decErr = Unmarshal(b, MaxMessage, &v)
		})
		if scanErr != nil && decErr == nil {
			t.Fatalf("Unmarshal accepted what Scan refused (%v)", scanErr)
		}
		if n > allocBound(len(b)) {
			t.Fatalf("decoding %d bytes allocated %d (bound %d)", len(b), n, allocBound(len(b)))
		}
		if scanErr == nil && decErr == nil {
			// What decoded must encode and scan again.
			out, err := msgpack.Marshal(v)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if err := Scan(out); err != nil {
				t.Fatalf("re-encoded value fails Scan: %v", err)
			}
		}
	})
}

func FuzzOpenReport(f *testing.F) {
	good, _ := msgpack.Marshal(sampleReport())
	f.Add(good, true)
	f.Add(good, false)
	a, _ := SignReport(testKey, sampleReport())
	f.Add(a.Value, false)
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}, true)
	f.Add([]byte{0x83, 0xa1, 'a', 0xa4, 'w', 'e', 'b', '1', 0xa1, 'b', 0xc4, 0x00, 0xa1, 's', 0xc4, 0x00}, false)
	pub := testKey.Public().(ed25519.PublicKey)
	keys := keysFor("web1", pub)
	f.Fuzz(func(t *testing.T, data []byte, sign bool) {
		// sign=true: data is the report body, correctly signed by web1, so
		// the fuzzer reaches the report decoder; else data is the envelope.
		value := data
		if sign {
			env, err := msgpack.Marshal(&Signed{Agent: "web1", Body: data, Sig: ed25519.Sign(testKey, data)})
			if err != nil {
				t.Fatal(err)
			}
			value = env
		}
		any := &anypb.Any{TypeUrl: TypeSignedReport, Value: value}
		var r *model.Report
		var err error
		n := allocated(func() { r, err = OpenReport(any, keys) })
		if n > allocBound(len(value)) {
			t.Fatalf("OpenReport of %d bytes allocated %d (bound %d)", len(value), n, allocBound(len(value)))
		}
		if err != nil {
			return
		}
		if r.Agent != "web1" || r.Version < model.MinProtocolVersion {
			t.Fatalf("accepted report %+v", r)
		}
		if !sign {
			// Only a valid signature by web1 can get here.
			var s Signed
			if err := Unmarshal(value, MaxMessage, &s); err != nil || !ed25519.Verify(pub, s.Body, s.Sig) {
				t.Fatalf("accepted an envelope without a valid signature: %v", err)
			}
		}
	})
}
