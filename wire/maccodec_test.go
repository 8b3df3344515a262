package wire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/types/known/anypb"
)

// TestMACReportCodecMatchesReflection: appendMACReport writes the bytes of
// the reflection encoder, and the fast decoder reads them back to the same
// value as the reflection decoder, for every length class of each field.
func TestMACReportCodecMatchesReflection(t *testing.T) {
	tests := []struct {
		name string
		m    MACReport
	}{
		{"zero", MACReport{}},
		{"typical", MACReport{Agent: "web1", Session: 77, Body: []byte{0x80}, MAC: bytes.Repeat([]byte{9}, MACSize)}},
		{"empty slices", MACReport{Agent: "a", Body: []byte{}, MAC: []byte{}}},
		{"agent 31", MACReport{Agent: strings.Repeat("a", 31), Session: 1 << 63}},
		{"agent 32 (str8)", MACReport{Agent: strings.Repeat("b", 32), Session: 255}},
		{"agent 256 (str16)", MACReport{Agent: strings.Repeat("c", 256)}},
		{"agent 65536 (str32)", MACReport{Agent: strings.Repeat("d", 65536)}},
		{"body 255 (bin8)", MACReport{Agent: "x", Body: bytes.Repeat([]byte{1}, 255)}},
		{"body 256 (bin16)", MACReport{Agent: "x", Body: bytes.Repeat([]byte{2}, 256)}},
		{"body 65536 (bin32)", MACReport{Agent: "x", Body: bytes.Repeat([]byte{3}, 65536), MAC: []byte{1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appendMACReport(nil, &tt.m)
			want, err := msgpack.Marshal(&tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("appendMACReport = % x...\nreflection     = % x...", got[:min(len(got), 48)], want[:min(len(want), 48)])
			}
			fast, ok := decodeMACReportFast(got)
			if !ok {
				t.Fatal("fast decoder refused its own encoding")
			}
			var slow MACReport
			if err := msgpack.Unmarshal(got, &slow); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("fast decode %+v, reflection %+v", fast, slow)
			}
			m, err := DecodeMACReport(&anypb.Any{TypeUrl: TypeMACReport, Value: got})
			if err != nil || !reflect.DeepEqual(*m, slow) {
				t.Fatalf("DecodeMACReport = %+v, %v; want %+v", m, err, slow)
			}
		})
	}
}

// TestDecodeMACReportFallback: encodings the fast decoder does not take
// (other key order, compact ints, extra keys) still decode as before, and
// broken ones are still refused.
func TestDecodeMACReportFallback(t *testing.T) {
	type reordered struct {
		MAC     []byte `msgpack:"m"`
		Session uint64 `msgpack:"s"`
		Agent   string `msgpack:"a"`
		Body    []byte `msgpack:"b"`
	}
	other, err := msgpack.Marshal(&reordered{MAC: []byte{1}, Session: 5, Agent: "web1", Body: []byte{0x80}})
	if err != nil {
		t.Fatal(err)
	}
	compact := []byte{0x84, 0xa1, 'a', 0xa4, 'w', 'e', 'b', '1', 0xa1, 's', 0x05, 0xa1, 'b', 0xc4, 0x01, 0x80, 0xa1, 'm', 0xc4, 0x01, 0x01}
	good := appendMACReport(nil, &MACReport{Agent: "web1", Session: 5, Body: []byte{0x80}, MAC: []byte{1}})
	tests := []struct {
		name    string
		value   []byte
		wantErr bool
	}{
		{"canonical", good, false},
		{"other key order", other, false},
		{"compact session", compact, false},
		{"trailing byte", append(append([]byte{}, good...), 0x00), true},
		{"truncated", good[:len(good)-1], true},
		{"empty", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeMACReport(&anypb.Any{TypeUrl: TypeMACReport, Value: tt.value})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if err == nil && (m.Agent != "web1" || m.Session != 5 || !bytes.Equal(m.Body, []byte{0x80}) || !bytes.Equal(m.MAC, []byte{1})) {
				t.Fatalf("decoded %+v", m)
			}
		})
	}
}

// FuzzMACReportFastDecode: whatever the fast decoder accepts, the
// reflection decoder (behind the same size and length checks) accepts too,
// with the same result; and the encoder's output always takes the fast path.
func FuzzMACReportFastDecode(f *testing.F) {
	f.Add(appendMACReport(nil, &MACReport{Agent: "web1", Session: 77, Body: []byte{0x80}, MAC: []byte{1, 2}}))
	f.Add(appendMACReport(nil, &MACReport{}))
	f.Add([]byte{0x84, 0xa1, 'a', 0xd9, 0x01, 'w', 0xa1, 's', 0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xa1, 'b', 0xc0, 0xa1, 'm', 0xc5, 0x00, 0x00})
	f.Add([]byte{0x84, 0xa1, 'a', 0xdb, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x84, 0xa1, 'a', 0xa0, 0xa1, 's', 0xcf, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 'b', 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeMACReportFast(data)
		if !ok {
			return
		}
		var slow MACReport
		if err := Unmarshal(data, MaxMessage, &slow); err != nil && len(data) <= MaxMessage {
			t.Fatalf("fast decoder took % x, reflection refused it: %v", data, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast %+v, reflection %+v", fast, slow)
		}
		again, ok := decodeMACReportFast(appendMACReport(nil, &fast))
		if !ok || !reflect.DeepEqual(again, fast) {
			t.Fatalf("re-encoding %+v does not decode back (%v, %+v)", fast, ok, again)
		}
	})
}

// TestDecodeMACReportViews: for Seal's layout the decoded body and MAC are
// views into the envelope, not copies (two allocations per report: the
// MACReport and the agent's name), and Open still decodes the report.
func TestDecodeMACReportViews(t *testing.T) {
	agent, master := handshake(t)
	msg, err := agent.Seal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMACReport(msg)
	if err != nil {
		t.Fatal(err)
	}
	start := func(b []byte) int { return cap(msg.Value) - cap(b) } // offset of b in msg.Value
	if off := start(m.Body); off <= 0 || off+len(m.Body) > len(msg.Value) || !bytes.Equal(msg.Value[off:off+len(m.Body)], m.Body) || &msg.Value[off] != &m.Body[0] {
		t.Errorf("Body is not a view into the envelope")
	}
	if off := start(m.MAC); off <= 0 || &msg.Value[off] != &m.MAC[0] {
		t.Errorf("MAC is not a view into the envelope")
	}
	if _, err := master.Open(m); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeMACReport(msg); err != nil {
			t.Fatal(err)
		}
	}); n > 2 {
		t.Errorf("DecodeMACReport: %.0f allocations, want at most 2", n)
	}
}
