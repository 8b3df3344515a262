package wire

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/model"
)

// BenchmarkScan measures the pre-scan of a 40-value report body (the shape
// of bench.Report), which every decode runs before msgpack.
func BenchmarkScan(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := &model.Report{Version: model.ProtocolVersion, Agent: "agent-0042", Host: "agent-0042", Seq: 123456, Oldest: 123400, Time: 1764028800123456789}
	for i := 0; i < 40; i += 10 {
		s := model.Sample{Service: "bench", Resource: "res" + strconv.Itoa(i), Unit: "u0", Values: map[string]float64{}}
		for j := i; j < i+10; j++ {
			s.Values["v"+strconv.Itoa(j)] = rng.Float64() * 100
		}
		r.Samples = append(r.Samples, s)
	}
	body, err := msgpack.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Scan(body); err != nil {
			b.Fatal(err)
		}
	}
}
