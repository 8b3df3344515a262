package model

import (
	"github.com/lookout-mon/lookout/internal/mpack"

	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The ref* types are copies of the codec's types without its methods: the
// msgpack reflection codec encodes and decodes them as it did the model
// types before codec.go, so they give the reference bytes and results.

type refSample struct {
	Service  string             `msgpack:"s"`
	Resource string             `msgpack:"r"`
	Unit     string             `msgpack:"u"`
	Values   map[string]float64 `msgpack:"v"`
}

type refCheck struct {
	Service string `msgpack:"s"`
	Unit    string `msgpack:"u"`
	Up      bool   `msgpack:"up"`
	Initial bool   `msgpack:"i"`
	Retries int    `msgpack:"rt,omitempty"`
	Since   int64  `msgpack:"since,omitempty"`
	Detail  string `msgpack:"d,omitempty"`
}

type refReport struct {
	Version int         `msgpack:"ver"`
	Agent   string      `msgpack:"a"`
	Host    string      `msgpack:"h"`
	Seq     uint64      `msgpack:"q"`
	Oldest  uint64      `msgpack:"o"`
	Time    int64       `msgpack:"t"`
	Samples []refSample `msgpack:"sm"`
	Checks  []refCheck  `msgpack:"ck"`
	Dropped uint64      `msgpack:"dr,omitempty"`
}

type refAck struct {
	Master string `msgpack:"m"`
	Agent  string `msgpack:"a"`
	Seq    uint64 `msgpack:"q"`
	Reject string `msgpack:"rj,omitempty"`
	Next   uint64 `msgpack:"n,omitempty"`
}

func toRef(r *Report) *refReport {
	out := &refReport{Version: r.Version, Agent: r.Agent, Host: r.Host, Seq: r.Seq, Oldest: r.Oldest, Time: r.Time, Dropped: r.Dropped}
	if r.Samples != nil {
		out.Samples = make([]refSample, len(r.Samples))
		for i, s := range r.Samples {
			out.Samples[i] = refSample(s)
		}
	}
	if r.Checks != nil {
		out.Checks = make([]refCheck, len(r.Checks))
		for i, c := range r.Checks {
			out.Checks[i] = refCheck(c)
		}
	}
	return out
}

func fromRef(r *refReport) *Report {
	out := &Report{Version: r.Version, Agent: r.Agent, Host: r.Host, Seq: r.Seq, Oldest: r.Oldest, Time: r.Time, Dropped: r.Dropped}
	if r.Samples != nil {
		out.Samples = make([]Sample, len(r.Samples))
		for i, s := range r.Samples {
			out.Samples[i] = Sample(s)
		}
	}
	if r.Checks != nil {
		out.Checks = make([]Check, len(r.Checks))
		for i, c := range r.Checks {
			out.Checks[i] = Check(c)
		}
	}
	return out
}

// diffReport says how a and b differ ("" if they do not): floats compare
// by bits (NaN equals NaN), nil and empty maps and slices differ.
func diffReport(a, b *Report) string {
	if a.Version != b.Version || a.Agent != b.Agent || a.Host != b.Host || a.Seq != b.Seq ||
		a.Oldest != b.Oldest || a.Time != b.Time || a.Dropped != b.Dropped {
		return fmt.Sprintf("header %+v != %+v", *a, *b)
	}
	if (a.Samples == nil) != (b.Samples == nil) || len(a.Samples) != len(b.Samples) {
		return fmt.Sprintf("samples nil=%v len=%d vs nil=%v len=%d", a.Samples == nil, len(a.Samples), b.Samples == nil, len(b.Samples))
	}
	for i := range a.Samples {
		x, y := a.Samples[i], b.Samples[i]
		if x.Service != y.Service || x.Resource != y.Resource || x.Unit != y.Unit {
			return fmt.Sprintf("sample %d: %q/%q/%q vs %q/%q/%q", i, x.Service, x.Resource, x.Unit, y.Service, y.Resource, y.Unit)
		}
		if (x.Values == nil) != (y.Values == nil) || len(x.Values) != len(y.Values) {
			return fmt.Sprintf("sample %d values nil=%v len=%d vs nil=%v len=%d", i, x.Values == nil, len(x.Values), y.Values == nil, len(y.Values))
		}
		for k, v := range x.Values {
			w, ok := y.Values[k]
			if !ok || math.Float64bits(v) != math.Float64bits(w) {
				return fmt.Sprintf("sample %d value %q: %v vs %v (present %v)", i, k, v, w, ok)
			}
		}
	}
	if (a.Checks == nil) != (b.Checks == nil) || len(a.Checks) != len(b.Checks) {
		return fmt.Sprintf("checks nil=%v len=%d vs nil=%v len=%d", a.Checks == nil, len(a.Checks), b.Checks == nil, len(b.Checks))
	}
	for i := range a.Checks {
		if a.Checks[i] != b.Checks[i] {
			return fmt.Sprintf("check %d: %+v vs %+v", i, a.Checks[i], b.Checks[i])
		}
	}
	return ""
}

var testStrings = []string{"", "a", "machine", "ünïcödé ✓ 監視", "/dev/sda1 (/)", strings.Repeat("x", 31), strings.Repeat("y", 32),
	strings.Repeat("z", 255), strings.Repeat("w", 256), "\x00\xff invalid utf-8 \xc3"}

var testFloats = []float64{0, math.Copysign(0, -1), 1, -1, 42.5, 1e300, -1e-300, math.MaxFloat64, math.SmallestNonzeroFloat64,
	math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(0x7ff8000000000001), float64(1 << 53)}

var testInts = []int64{0, 1, -1, 31, -32, -33, 127, 128, 255, 256, -128, -129, 65535, 65536, -32768, -32769,
	math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1, math.MaxInt64, math.MinInt64}

// randReport builds a report exercising the codec's corners; with maxVals
// 1 every map has at most one entry, so the encoding is deterministic.
func randReport(rng *rand.Rand, maxVals int) *Report {
	str := func() string {
		if rng.IntN(500) == 0 {
			return strings.Repeat("L", 65536+rng.IntN(3))
		}
		if rng.IntN(3) == 0 {
			return "s" + strconv.Itoa(rng.IntN(1000))
		}
		return testStrings[rng.IntN(len(testStrings))]
	}
	i64 := func() int64 {
		if rng.IntN(2) == 0 {
			return testInts[rng.IntN(len(testInts))]
		}
		return rng.Int64() - rng.Int64()
	}
	u64 := func() uint64 {
		switch rng.IntN(3) {
		case 0:
			return 0
		case 1:
			return uint64(rng.IntN(300))
		}
		return rng.Uint64()
	}
	f64 := func() float64 {
		if rng.IntN(2) == 0 {
			return testFloats[rng.IntN(len(testFloats))]
		}
		return (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
	}
	count := func() int {
		switch rng.IntN(8) {
		case 0:
			return -1 // nil
		case 1:
			return 0
		case 2:
			return 15 + rng.IntN(4) // fixarray/array16 boundary
		}
		return 1 + rng.IntN(6)
	}
	r := &Report{Version: int(i64()), Agent: str(), Host: str(), Seq: u64(), Oldest: u64(), Time: i64(), Dropped: u64()}
	if n := count(); n >= 0 {
		r.Samples = make([]Sample, n)
		for i := range r.Samples {
			s := Sample{Service: str(), Resource: str(), Unit: str()}
			if m := count(); m >= 0 {
				m = min(m, maxVals)
				s.Values = make(map[string]float64, m)
				for j := 0; j < m; j++ {
					s.Values[str()+strconv.Itoa(j)] = f64()
				}
			}
			r.Samples[i] = s
		}
	}
	if n := count(); n >= 0 {
		r.Checks = make([]Check, n)
		for i := range r.Checks {
			c := Check{Service: str(), Unit: str(), Up: rng.IntN(2) == 0, Initial: rng.IntN(2) == 0}
			if rng.IntN(2) == 0 {
				c.Retries = int(i64())
			}
			if rng.IntN(2) == 0 {
				c.Since = i64()
			}
			if rng.IntN(2) == 0 {
				c.Detail = str()
			}
			r.Checks[i] = c
		}
	}
	return r
}

// canonical re-encodes msgpack b with sorted map keys, keeping every
// value's msgpack type, so that encodings differing only in map order
// compare equal.
func canonical(t testing.TB, b []byte) []byte {
	t.Helper()
	var v any
	if err := msgpack.Unmarshal(b, &v); err != nil {
		t.Fatalf("canonical: %v", err)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("canonical: %v", err)
	}
	return buf.Bytes()
}

func TestReportEncodingMatchesReflection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		maxVals := 1
		if i%2 == 1 {
			maxVals = 40
		}
		r := randReport(rng, maxVals)
		got, err := msgpack.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		want, err := msgpack.Marshal(toRef(r))
		if err != nil {
			t.Fatal(err)
		}
		if maxVals == 1 {
			if !bytes.Equal(got, want) {
				t.Fatalf("report %d: codec bytes differ from reflection\n got %x\nwant %x", i, got, want)
			}
		} else if len(got) != len(want) || !bytes.Equal(canonical(t, got), canonical(t, want)) {
			t.Fatalf("report %d: codec encoding differs from reflection (beyond map order)", i)
		}
		// By value and through a pointer the same bytes.
		byValue, err := msgpack.Marshal(*r)
		if err != nil {
			t.Fatal(err)
		}
		if len(byValue) != len(got) {
			t.Fatalf("report %d: by value %d bytes, by pointer %d", i, len(byValue), len(got))
		}
		// Both decoders read the reflection bytes to the same report.
		var dec Report
		if err := msgpack.Unmarshal(want, &dec); err != nil {
			t.Fatalf("report %d: decode: %v", i, err)
		}
		var ref refReport
		if err := msgpack.Unmarshal(want, &ref); err != nil {
			t.Fatal(err)
		}
		if d := diffReport(&dec, fromRef(&ref)); d != "" {
			t.Fatalf("report %d: decoded differently: %s", i, d)
		}
		if d := diffReport(&dec, r); d != "" {
			t.Fatalf("report %d: round trip: %s", i, d)
		}
	}
}

func TestAckAndCheckEncodingMatchReflection(t *testing.T) {
	for _, a := range []Ack{{}, {Master: "m1", Agent: "ag", Seq: 7}, {Master: "ü", Agent: strings.Repeat("a", 300), Seq: math.MaxUint64, Reject: "bad signature"}, {Master: "m1", Agent: "ag", Seq: 7, Next: 12}} {
		got, err := msgpack.Marshal(&a)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := msgpack.Marshal(refAck(a))
		if !bytes.Equal(got, want) {
			t.Errorf("ack %+v: got %x, want %x", a, got, want)
		}
		var back Ack
		if err := msgpack.Unmarshal(want, &back); err != nil || back != a {
			t.Errorf("ack %+v: decoded %+v, %v", a, back, err)
		}
	}
	for _, c := range []Check{{}, {Service: ServicePort, Unit: "sshd (22)", Up: true, Initial: true}, {Service: "p", Retries: -5, Since: math.MinInt64, Detail: "connection refused"}} {
		got, err := msgpack.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := msgpack.Marshal(refCheck(c))
		if !bytes.Equal(got, want) {
			t.Errorf("check %+v: got %x, want %x", c, got, want)
		}
		var back Check
		if err := msgpack.Unmarshal(want, &back); err != nil || back != c {
			t.Errorf("check %+v: decoded %+v, %v", c, back, err)
		}
	}
}

// TestCodecKeysMatchStructTags fails when a field is added to, removed
// from or renamed in a codec type without updating codec.go.
func TestCodecKeysMatchStructTags(t *testing.T) {
	tests := []struct {
		v    any
		keys []string
	}{
		{Report{}, reportFieldKeys[:]},
		{Sample{}, sampleFieldKeys[:]},
		{Check{}, checkFieldKeys[:]},
		{Ack{}, ackFieldKeys[:]},
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.v)
		var tags []string
		for i := 0; i < typ.NumField(); i++ {
			tags = append(tags, strings.Split(typ.Field(i).Tag.Get("msgpack"), ",")[0])
		}
		if !slices.Equal(tags, tt.keys) {
			t.Errorf("%s: struct tags %q, codec keys %q: update model/codec.go", typ.Name(), tags, tt.keys)
		}
	}
}

// mp builds msgpack test input from pieces: strings are msgpack strings,
// ints are raw bytes, []byte are copied.
func mp(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b = mpack.AppendString(b, v)
		case int:
			b = append(b, byte(v))
		case rune:
			b = append(b, byte(v))
		case []byte:
			b = append(b, v...)
		case float64:
			b = binary.BigEndian.AppendUint64(append(b, mpDouble), math.Float64bits(v))
		default:
			panic(fmt.Sprintf("mp: %T", p))
		}
	}
	return b
}

func TestReportDecodeEdgeCases(t *testing.T) {
	f32 := func(f float32) []byte { return binary.BigEndian.AppendUint32([]byte{mpFloat}, math.Float32bits(f)) }
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"nil report", mp(0xc0), false},
		{"empty map", mp(0x80), false},
		{"unknown keys skipped", mp(0x83, "zz", 0x92, 0x81, "k", 0xc3, 0xd4, 1, 2, "a", "ag", "new", 0xc7, 2, 9, 1, 2), false},
		{"duplicate scalar", mp(0x82, "a", "x", "a", "y"), false},
		{"duplicate samples merge", mp(0x82, "sm", 0x92, 0x81, "v", 0x81, "a", 1.0, 0x80, "sm", 0x91, 0x81, "v", 0x81, "b", 2.0), false},
		{"duplicate values nil then map", mp(0x81, "sm", 0x91, 0x82, "v", 0xc0, "v", 0x81, "b", 2.0), false},
		{"values of every numeric type", mp(0x81, "sm", 0x91, 0x81, "v", 0x8a, "a", 5, "b", 0xe0, "c", 0xcc, 200, "d", 0xd1, 0x80, 0, "e", 0xce, 1, 2, 3, 4,
			"f", 0xcf, 0xff, 0, 0, 0, 0, 0, 0, 1, "g", f32(1.5), "h", f32(float32(math.NaN())), "i", 0xc0, "j", 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), false},
		{"values key as bin", mp(0x81, "sm", 0x91, 0x81, "v", 0x81, 0xc4, 1, 'k', 1.0), false},
		{"values map behind ext header", mp(0x81, "sm", 0x91, 0x81, "v", 0xd4, 5, 0x81, "k", 1.0), false},
		{"array-encoded report", mp(0x99, 1, "ag", "h", 2, 3, 4, 0x91, 0x94, "s", "r", "u", 0xc0, 0xc0, 0), false},
		{"empty array report", mp(0x90), false},
		{"array report with wrong field count", mp(0x92, 1, "ag"), true},
		{"nil scalars", mp(0x86, "ver", 0xc0, "a", 0xc0, "q", 0xc0, "t", 0xc0, "sm", 0xc0, "ck", 0x91, 0x82, "up", 0xc0, "rt", 0xc0), false},
		{"empty slices", mp(0x82, "sm", 0x90, "ck", 0x90), false},
		{"nil sample element", mp(0x81, "sm", 0x92, 0xc0, 0x80), false},
		{"uint64 from negative int", mp(0x81, "q", 0xff), false},
		{"int from uint64", mp(0x81, "ver", 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), false},
		{"string where int", mp(0x81, "ver", "1"), true},
		{"float where int", mp(0x81, "t", 1.0), true},
		{"int where string", mp(0x81, "a", 1), true},
		{"map where slice", mp(0x81, "sm", 0x80), true},
		{"string where map", mp(0x81, "sm", 0x91, 0x81, "v", "x"), true},
		{"string value in values", mp(0x81, "sm", 0x91, 0x81, "v", 0x81, "k", "x"), true},
		{"bool where string", mp(0x81, "h", 0xc3), true},
		{"int where bool", mp(0x81, "ck", 0x91, 0x81, "up", 1), true},
		{"key not a string", mp(0x81, 1, 2), true},
		{"string report", mp("report"), true},
		{"truncated map", mp(0x82, "a", "x"), true},
		{"truncated float", mp(0x81, "sm", 0x91, 0x81, "v", 0x81, "k", 0xcb, 1, 2), true},
		{"hostile map32 length", mp(0x81, "sm", 0x91, 0x81, "v", 0xdf, 0xff, 0xff, 0xff, 0xff, "k", 1.0), true},
		{"hostile array32 length", mp(0x81, "sm", 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80), true},
		{"hostile str32 length", mp(0x81, "a", 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'), true},
		{"invalid code 0xc1", mp(0x81, "zz", 0xc1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantErr && !plausible(tt.in) {
				// The reflection decoder would allocate what the lengths
				// claim (wire.Scan keeps such input from it): codec only.
				var got Report
				if err := msgpack.Unmarshal(tt.in, &got); err == nil {
					t.Fatal("codec decoded hostile input without error")
				}
				return
			}
			var ref refReport
			refErr := msgpack.Unmarshal(tt.in, &ref)
			var got Report
			err := msgpack.Unmarshal(tt.in, &got)
			if (err != nil) != tt.wantErr || (refErr != nil) != tt.wantErr {
				t.Fatalf("codec err %v, reflection err %v, want error %v", err, refErr, tt.wantErr)
			}
			if err == nil {
				if d := diffReport(&got, fromRef(&ref)); d != "" {
					t.Fatalf("differs from reflection: %s", d)
				}
			}
			compareStreaming(t, tt.in)
		})
	}
}

// compareStreaming decodes b from a msgpack.Decoder over a plain
// io.Reader (the DecodeRaw path) and checks it against the reflection
// decoder, and checks that both decoders leave a bytes.Reader at the same
// offset.
func compareStreaming(t testing.TB, b []byte) {
	t.Helper()
	var ref refReport
	refBR := bytes.NewReader(b)
	refErr := msgpack.NewDecoder(refBR).Decode(&ref)
	var got Report
	gotBR := bytes.NewReader(b)
	err := msgpack.NewDecoder(gotBR).Decode(&got)
	if (err != nil) != (refErr != nil) {
		t.Fatalf("bytes.Reader decoder: codec err %v, reflection err %v", err, refErr)
	}
	if err == nil {
		if d := diffReport(&got, fromRef(&ref)); d != "" {
			t.Fatalf("bytes.Reader decoder: %s", d)
		}
		if gotBR.Len() != refBR.Len() {
			t.Fatalf("codec left %d bytes unread, reflection %d", gotBR.Len(), refBR.Len())
		}
	}
	var streamed Report
	serr := msgpack.NewDecoder(bufio.NewReader(io.MultiReader(bytes.NewReader(b)))).Decode(&streamed)
	switch {
	case serr == nil && refErr != nil:
		t.Fatalf("stream decoder accepted what reflection refuses (%v)", refErr)
	case serr == nil:
		if d := diffReport(&streamed, fromRef(&ref)); d != "" {
			t.Fatalf("stream decoder: %s", d)
		}
	case refErr == nil && !errors.Is(serr, errRawBoundary) && !isSkipError(b):
		t.Fatalf("stream decoder failed (%v) where reflection succeeds", serr)
	}
}

// isSkipError reports whether msgpack's Skip (which DecodeRaw uses to find
// the object's end) fails on b, which the streaming path then reports.
func isSkipError(b []byte) bool {
	return msgpack.NewDecoder(bytes.NewReader(b)).Skip() != nil
}

func TestDecodeIntoExistingMatchesReflection(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		first, second := randReport(rng, 5), randReport(rng, 5)
		b1, _ := msgpack.Marshal(toRef(first))
		b2, _ := msgpack.Marshal(toRef(second))
		var got Report
		var ref refReport
		for _, b := range [][]byte{b1, b2} {
			if err := msgpack.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if err := msgpack.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
		}
		if d := diffReport(&got, fromRef(&ref)); d != "" {
			t.Fatalf("case %d: decoding into an existing report: %s", i, d)
		}
	}
}

func TestCodecInsideOtherValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	type wrapper struct {
		Before  string    `msgpack:"b"`
		Reports []Report  `msgpack:"r"`
		Ptr     *Report   `msgpack:"p"`
		Nil     *Report   `msgpack:"n"`
		Acks    []Ack     `msgpack:"k"`
		After   []float64 `msgpack:"x"`
	}
	w := wrapper{Before: "x", Reports: []Report{*randReport(rng, 1), *randReport(rng, 1)}, Ptr: randReport(rng, 1),
		Acks: []Ack{{Master: "m", Agent: "a", Seq: 3}}, After: []float64{1, 2}}
	b, err := msgpack.Marshal(&w)
	if err != nil {
		t.Fatal(err)
	}
	for name, dec := range map[string]*msgpack.Decoder{
		"bytes.Reader": msgpack.NewDecoder(bytes.NewReader(b)),
		"stream":       msgpack.NewDecoder(io.MultiReader(bytes.NewReader(b))),
	} {
		var back wrapper
		if err := dec.Decode(&back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.Before != "x" || len(back.Reports) != 2 || back.Ptr == nil || back.Nil != nil || len(back.After) != 2 || back.After[1] != 2 ||
			len(back.Acks) != 1 || back.Acks[0] != w.Acks[0] {
			t.Fatalf("%s: decoded %+v", name, back)
		}
		for i := range w.Reports {
			if d := diffReport(&back.Reports[i], &w.Reports[i]); d != "" {
				t.Fatalf("%s: report %d: %s", name, i, d)
			}
		}
		if d := diffReport(back.Ptr, w.Ptr); d != "" {
			t.Fatalf("%s: ptr: %s", name, d)
		}
	}
	// Two reports back to back on one decoder.
	r1, r2 := randReport(rng, 3), randReport(rng, 3)
	b1, _ := msgpack.Marshal(r1)
	b2, _ := msgpack.Marshal(r2)
	dec := msgpack.NewDecoder(bytes.NewReader(append(b1, b2...)))
	var g1, g2 Report
	if err := dec.Decode(&g1); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&g2); err != nil {
		t.Fatal(err)
	}
	if d := diffReport(&g1, r1) + diffReport(&g2, r2); d != "" {
		t.Fatal(d)
	}
	n, err := new(Report).UnmarshalMsgpackBytes(append(b1, 0xc0))
	if err != nil || n != len(b1) {
		t.Fatalf("UnmarshalMsgpackBytes used %d of %d bytes, %v", n, len(b1), err)
	}
}

// TestManySamplesInOneValue decodes a long []Sample through the reflection
// slice decoder (each element through Sample.DecodeMsgpack), and a large
// report followed by more data: the copy window must stay bounded.
func TestManySamplesInOneValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	samples := make([]Sample, 5000)
	for i := range samples {
		samples[i] = Sample{Service: "machine", Resource: "disk", Unit: strconv.Itoa(i), Values: map[string]float64{"used": rng.Float64()}}
	}
	b, err := msgpack.Marshal(samples)
	if err != nil {
		t.Fatal(err)
	}
	var back []Sample
	n := testing.AllocsPerRun(1, func() {
		back = nil
		if err := msgpack.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
	})
	if d := diffReport(&Report{Samples: back}, &Report{Samples: samples}); d != "" {
		t.Fatal(d)
	}
	if n > 10*5000 {
		t.Errorf("%.0f allocations for 5000 samples", n)
	}

	big := benchShapeReport(rng)
	for i := 0; i < 200; i++ {
		big.Samples = append(big.Samples, Sample{Service: "s", Resource: "r", Unit: strings.Repeat("u", 40), Values: map[string]float64{"x": float64(i)}})
	}
	rb, _ := msgpack.Marshal(big)
	if len(rb) <= directWindow {
		t.Fatalf("big report is only %d bytes", len(rb))
	}
	tail, _ := msgpack.Marshal(samples[:100])
	dec := msgpack.NewDecoder(bytes.NewReader(append(rb, tail...)))
	var gotR Report
	var gotS []Sample
	if err := dec.Decode(&gotR); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&gotS); err != nil {
		t.Fatal(err)
	}
	if d := diffReport(&gotR, big) + diffReport(&Report{Samples: gotS}, &Report{Samples: samples[:100]}); d != "" {
		t.Fatal(d)
	}
}

func TestHostileLengthsDoNotAllocate(t *testing.T) {
	inputs := [][]byte{
		mp(0x81, "sm", 0x91, 0x81, "v", 0xdf, 0x7f, 0xff, 0xff, 0xff),
		mp(0x81, "sm", 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x80),
		mp(0x81, "ck", 0xdd, 0x7f, 0xff, 0xff, 0xff),
		mp(0x81, "a", 0xdb, 0x7f, 0xff, 0xff, 0xff),
	}
	for _, in := range inputs {
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		var r Report
		err := msgpack.Unmarshal(in, &r)
		runtime.ReadMemStats(&ms1)
		if err == nil {
			t.Errorf("%x: decoded without error", in)
		}
		if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 64<<10 {
			t.Errorf("%x: allocated %d bytes for %d bytes of input", in, alloc, len(in))
		}
	}
}

// FuzzReportCodec decodes arbitrary bytes with the codec and with the
// reflection decoder: both must fail, or both succeed with the same report
// and stop at the same byte. The encoding of what decodes must match the
// reflection encoding.
func FuzzReportCodec(f *testing.F) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 8; i++ {
		b, _ := msgpack.Marshal(toRef(randReport(rng, 1+i)))
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	b, _ := msgpack.Marshal(benchShapeReport(rng))
	f.Add(b)
	f.Add(mp(0x83, "zz", 0x92, 0x81, "k", 0xc3, 0xd4, 1, 2, "a", "ag", "sm", 0x91, 0x81, "v", 0xd4, 5, 0x81, "k", 1.0))
	f.Add(mp(0x99, 1, "ag", "h", 2, 3, 4, 0x91, 0x94, "s", "r", "u", 0xc0, 0xc0, 0))
	f.Add(mp(0x82, "sm", 0x92, 0x81, "v", 0x81, "a", 1.0, 0x80, "sm", 0x91, 0x81, "v", 0x81, "b", 2.0))
	f.Fuzz(func(t *testing.T, in []byte) {
		if !plausible(in) {
			// The reflection decoder would try to allocate what the
			// lengths claim; the codec must just fail without panicking.
			var got Report
			_ = msgpack.Unmarshal(in, &got)
			return
		}
		var ref refReport
		refErr := msgpack.Unmarshal(in, &ref)
		var got Report
		err := msgpack.Unmarshal(in, &got)
		if (err != nil) != (refErr != nil) {
			if errors.Is(err, mpack.ErrSkipTooDeep) {
				return
			}
			t.Fatalf("codec err %v, reflection err %v", err, refErr)
		}
		if err != nil {
			return
		}
		if d := diffReport(&got, fromRef(&ref)); d != "" {
			t.Fatalf("differs from reflection: %s", d)
		}
		compareStreaming(t, in)
		enc, err := msgpack.Marshal(&got)
		if err != nil {
			t.Fatal(err)
		}
		want, err := msgpack.Marshal(&ref)
		if err != nil {
			t.Fatal(err)
		}
		if len(enc) != len(want) || !bytes.Equal(canonical(t, enc), canonical(t, want)) {
			t.Fatalf("encoding differs from reflection:\n got %x\nwant %x", enc, want)
		}
	})
}

// plausible is wire.Scan (which imports this package, so it cannot be
// used here): b is one msgpack object nested at most 32 deep whose every
// declared length fits in the bytes that remain. Only such input reaches
// the decoders in Lookout.
func plausible(b []byte) bool {
	p := mpack.NewReader(b)
	return plausibleAt(p, 0) && p.Offset() == len(b)
}

func plausibleAt(p *mpack.Reader, depth int) bool {
	if depth > 32 {
		return false
	}
	c, err := p.Peek()
	if err != nil {
		return false
	}
	items := 0
	switch {
	case c >= 0x80 && c <= 0x8f, c == mpack.Map16, c == mpack.Map32:
		_, _ = p.Code()
		n, err := p.MapLen(c)
		if err != nil || 2*n > p.Remaining() {
			return false
		}
		items = 2 * n
	case c >= 0x90 && c <= 0x9f, c == mpack.Array16, c == mpack.Array32:
		_, _ = p.Code()
		n, err := p.ArrayLen(c)
		if err != nil || n > p.Remaining() {
			return false
		}
		items = n
	default:
		if p.Skip() != nil {
			return false
		}
	}
	for k := 0; k < items; k++ {
		if !plausibleAt(p, depth+1) {
			return false
		}
	}
	return true
}

// benchShapeReport is shaped like bench.Report in bench/load.go: 40 values
// in 4 samples of 10.
func benchShapeReport(rng *rand.Rand) *Report {
	r := &Report{Version: ProtocolVersion, Agent: "agent-0042", Host: "agent-0042", Seq: 123456, Oldest: 123400, Time: 1764028800123456789}
	res := []string{"load", "cpu", "memory", "disk"}
	for i := 0; i < 40; i += 10 {
		s := Sample{Service: "bench", Resource: res[i/10], Unit: "u0", Values: make(map[string]float64, 10)}
		for j := i; j < i+10; j++ {
			if j == 0 {
				s.Values["value"] = 500
				continue
			}
			s.Values["v"+strconv.Itoa(j)] = rng.Float64() * 100
		}
		r.Samples = append(r.Samples, s)
	}
	return r
}

// agentShapeReport is shaped like the real agent's report (see
// bench/memory_test.go agentReport): 45 values in 9 samples, one check.
func agentShapeReport(rng *rand.Rand) *Report {
	r := &Report{Version: ProtocolVersion, Agent: "web-01.example.com", Host: "web-01.example.com", Seq: 98765, Oldest: 98760, Time: 1764028800123456789}
	f := func() float64 { return rng.Float64() * 80 }
	big := func() float64 { return float64(rng.Int64N(1 << 40)) }
	add := func(res, unit string, v map[string]float64) {
		r.Samples = append(r.Samples, Sample{Service: ServiceMachine, Resource: res, Unit: unit, Values: v})
	}
	for _, unit := range []string{"total", "cpu0", "cpu1"} {
		add(ResCPU, unit, map[string]float64{"user": f(), "system": f(), "iowait": f(), "idle": f(), "steal": f(), "used_percentage": f()})
	}
	add(ResLoad, "system", map[string]float64{"load1": f() / 80, "load5": f() / 80, "load15": f() / 80, "load1_per_core": f() / 80})
	add(ResMemory, "physical", map[string]float64{"total": big(), "used": big(), "available": big(), "free": big(), "buffers": big(), "cached": big(), "used_percentage": f()})
	add(ResSwap, "swap", map[string]float64{"total": big(), "used": big(), "free": big(), "used_percentage": f()})
	add(ResDisk, "/dev/sda1 (/)", map[string]float64{"total": big(), "used": big(), "free": big(), "used_percentage": f()})
	add(ResInodes, "/dev/sda1 (/)", map[string]float64{"total": big(), "used": big(), "free": big(), "used_percentage": f()})
	add(ResNetwork, "eth0", map[string]float64{"rx_bytes_per_sec": big(), "tx_bytes_per_sec": big(), "rx_packets_per_sec": f(), "tx_packets_per_sec": f(), "rx_errors_per_sec": 0, "tx_errors_per_sec": 0})
	r.Checks = []Check{{Service: ServicePort, Unit: "sshd (22)", Up: true, Since: 1764028000000000000}}
	return r
}

var benchShapes = []struct {
	name string
	make func(*rand.Rand) *Report
}{{"bench40", benchShapeReport}, {"agent45", agentShapeReport}}

// BenchmarkReportDecode compares msgpack.Unmarshal of a report through the
// codec with the reflection decoder (the same struct without the codec).
func BenchmarkReportDecode(b *testing.B) {
	for _, shape := range benchShapes {
		r := shape.make(rand.New(rand.NewPCG(1, 1)))
		raw, err := msgpack.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(shape.name+"/codec", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var got Report
				if err := msgpack.Unmarshal(raw, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(shape.name+"/bytes", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var got Report
				if _, err := got.UnmarshalMsgpackBytes(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(shape.name+"/reflect", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				var got refReport
				if err := msgpack.Unmarshal(raw, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReportEncode compares msgpack.Marshal of a report through the
// codec with the reflection encoder.
func BenchmarkReportEncode(b *testing.B) {
	for _, shape := range benchShapes {
		r := shape.make(rand.New(rand.NewPCG(1, 1)))
		ref := toRef(r)
		b.Run(shape.name+"/codec", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := msgpack.Marshal(r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(shape.name+"/append", func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf = r.AppendMsgpack(buf[:0])
			}
		})
		b.Run(shape.name+"/reflect", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := msgpack.Marshal(ref); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
