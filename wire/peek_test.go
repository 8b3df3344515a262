package wire

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/model"
)

func TestPeekSeq(t *testing.T) {
	agent, _ := handshake(t)
	seal := func(mod func(r *model.Report)) *Any {
		r := sampleReport()
		if mod != nil {
			mod(r)
		}
		m, err := agent.Seal(r)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	good := seal(func(r *model.Report) { r.Seq = 123456789 })
	signed, err := SignReport(testKey, sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	// An envelope whose body names another agent than the envelope.
	r := sampleReport()
	r.Agent = "web2"
	body, _ := msgpack.Marshal(r)
	other, _ := encodeMACReport(&MACReport{Agent: "web1", Session: 77, Body: body, MAC: make([]byte, MACSize)})
	tests := []struct {
		name  string
		msg   *Any
		ok    bool
		agent string
		seq   uint64
	}{
		{"sealed report", good, true, "web1", 123456789},
		{"seq 1", seal(func(r *model.Report) { r.Seq = 1 }), true, "web1", 1},
		{"with dropped count", seal(func(r *model.Report) { r.Seq, r.Dropped = 7, 3 }), true, "web1", 7},
		{"long host name", seal(func(r *model.Report) { r.Seq, r.Host = 9, string(make([]byte, 300)) }), true, "web1", 9},
		{"signed report", signed, false, "", 0},
		{"nil", nil, false, "", 0},
		{"other type", &Any{TypeUrl: TypeAck, Value: good.Value}, false, "", 0},
		{"truncated envelope", &Any{TypeUrl: TypeMACReport, Value: good.Value[:20]}, false, "", 0},
		{"body agent differs", other, false, "", 0},
		{"empty", &Any{TypeUrl: TypeMACReport}, false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, seq, ok := PeekSeq(tt.msg)
			if ok != tt.ok || string(a) != tt.agent || seq != tt.seq {
				t.Fatalf("PeekSeq = %q, %d, %v; want %q, %d, %v", a, seq, ok, tt.agent, tt.seq, tt.ok)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { PeekSeq(good) }); n != 0 {
		t.Fatalf("PeekSeq allocates %.0f times", n)
	}
}

// FuzzPeekSeq checks that PeekSeq never panics, that its agent is the
// envelope's, and that its seq is the decoded report's whenever the body is
// what Seal writes (re-encoding the decoded report gives the same bytes; a
// body with repeated keys can decode to another seq, see PeekSeq).
func FuzzPeekSeq(f *testing.F) {
	agent, master := handshake(f)
	good, _ := agent.Seal(sampleReport())
	f.Add(good.Value, false)
	body, _ := msgpack.Marshal(sampleReport())
	f.Add(body, true)
	f.Add([]byte{0x84, 0xa1, 'a', 0xa4, 'w', 'e', 'b', '1', 0xa1, 's', 0xcf, 0, 0, 0, 0, 0, 0, 0, 77, 0xa1, 'b', 0xc4, 0x00, 0xa1, 'm', 0xc4, 0x00}, false)
	f.Fuzz(func(t *testing.T, data []byte, mac bool) {
		value := data
		if mac {
			value = appendMACReport(nil, &MACReport{Agent: "web1", Session: 77, Body: data, MAC: append([]byte(nil), agent.sumOf(data)...)})
		}
		msg := &Any{TypeUrl: TypeMACReport, Value: value}
		a, seq, ok := PeekSeq(msg)
		if !ok {
			return
		}
		m, err := DecodeMACReport(msg)
		if err != nil {
			return
		}
		if string(a) != m.Agent {
			t.Fatalf("PeekSeq agent %q, envelope %q", a, m.Agent)
		}
		r, err := master.Open(m)
		if err != nil {
			return
		}
		if string(r.AppendMsgpack(nil)) != string(m.Body) {
			return
		}
		if r.Seq != seq || r.Agent != string(a) {
			t.Fatalf("PeekSeq %q/%d, decoded report %q/%d", a, seq, r.Agent, r.Seq)
		}
	})
}
