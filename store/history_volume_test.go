package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"

	"github.com/lookout-mon/lookout/model"
)

// volumeShapes are the report shapes of BenchmarkRollupWriteVolume.
var volumeShapes = []struct {
	name   string
	report func(host int, rng *rand.Rand) []model.Sample
}{
	// The load generator's report (bench.Report): 40 values in 4 samples,
	// random values.
	{"bench40x4", func(_ int, rng *rand.Rand) []model.Sample {
		out := make([]model.Sample, 4)
		for i := range out {
			v := make(map[string]float64, 10)
			for j := range 10 {
				v[fmt.Sprintf("v%d", i*10+j)] = rng.Float64() * 100
			}
			out[i] = model.Sample{Service: "bench", Resource: fmt.Sprintf("r%d", i), Unit: "u0", Values: v}
		}
		return out
	}},
	// The real agent's report (bench's agentReport, after
	// agent/collect_*.go): 45 values in 9 samples; sizes ("total") are the
	// same in every report of a host and error rates are 0, as on a
	// healthy machine.
	{"agent45x9", func(host int, rng *rand.Rand) []model.Sample {
		f := func() float64 { return rng.Float64() * 80 }
		big := func() float64 { return float64(rng.Int64N(1 << 40)) }
		total := float64(int64(host+1) << 30)
		var out []model.Sample
		add := func(res, unit string, v map[string]float64) {
			out = append(out, model.Sample{Service: model.ServiceMachine, Resource: res, Unit: unit, Values: v})
		}
		for _, unit := range []string{"total", "cpu0", "cpu1"} {
			add(model.ResCPU, unit, map[string]float64{"user": f(), "system": f(), "iowait": f(), "idle": f(), "steal": f(), "used_percentage": f()})
		}
		add(model.ResLoad, "system", map[string]float64{"load1": f() / 80, "load5": f() / 80, "load15": f() / 80, "load1_per_core": f() / 80})
		add(model.ResMemory, "physical", map[string]float64{"total": total, "used": big(), "available": big(), "free": big(), "buffers": big(), "cached": big(), "used_percentage": f()})
		add(model.ResSwap, "swap", map[string]float64{"total": total / 4, "used": big(), "free": big(), "used_percentage": f()})
		add(model.ResDisk, "/dev/sda1 (/)", map[string]float64{"total": total * 8, "used": big(), "free": big(), "used_percentage": f()})
		add(model.ResInodes, "/dev/sda1 (/)", map[string]float64{"total": total / 1024, "used": big(), "free": big(), "used_percentage": f()})
		add(model.ResNetwork, "eth0", map[string]float64{"rx_bytes_per_sec": big(), "tx_bytes_per_sec": big(), "rx_packets_per_sec": f(), "tx_packets_per_sec": f(), "rx_errors_per_sec": 0, "tx_errors_per_sec": 0})
		return out
	}},
}

// volume counts the history entries badger committed, by the key's
// resolution byte: entries and key+value bytes.
type volume struct {
	mu      sync.Mutex
	entries map[byte]int
	bytes   map[byte]int
	marker  bool
}

// watchVolume subscribes to every history write of s (and a marker key,
// which sync waits for so that every earlier commit has been counted).
func watchVolume(tb testing.TB, s *Store) (*volume, func()) {
	tb.Helper()
	v := &volume{entries: map[byte]int{}, bytes: map[byte]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan struct{})
	marker := []byte("\x02volume-marker")
	go func() {
		defer close(done)
		matches := []pb.Match{{Prefix: []byte{0x01, 'H'}}, {Prefix: marker}}
		close(ready)
		_ = s.db.Subscribe(ctx, func(kvs *badger.KVList) error {
			v.mu.Lock()
			defer v.mu.Unlock()
			for _, kv := range kvs.Kv {
				if len(kv.Key) < 3 || kv.Key[0] != 0x01 {
					v.marker = true
					continue
				}
				v.entries[kv.Key[2]]++
				v.bytes[kv.Key[2]] += len(kv.Key) + len(kv.Value)
			}
			return nil
		}, matches)
	}()
	<-ready
	time.Sleep(50 * time.Millisecond) // let Subscribe register
	wait := func() {
		tb.Helper()
		if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(marker, []byte{1}) }); err != nil {
			tb.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			v.mu.Lock()
			seen := v.marker
			v.mu.Unlock()
			if seen {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatal("history writes not seen by the subscriber")
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-done
	}
	return v, wait
}

// BenchmarkRollupWriteVolume measures what the history writes per host and
// minute: 100 hosts each reporting every 10 s (one op is one round of
// reports, one AddSamplesBatch), for the load generator's report shape and
// the real agent's. After the loop every open minute is flushed, and the
// entries and key+value bytes badger committed are counted per host-minute
// (rollups: 1m and 1h keys, every format; raw: the raw report entries).
// The "cpu" runs do the same without counting (the subscriber costs CPU per
// entry) and give the CPU time per report, badger's included. Run with
// -benchtime 60x (10 minutes) for figures.
func BenchmarkRollupWriteVolume(b *testing.B) {
	for _, shape := range volumeShapes {
		for _, watch := range []bool{true, false} {
			name := shape.name + "/volume"
			if !watch {
				name = shape.name + "/cpu"
			}
			b.Run(name, func(b *testing.B) {
				base := hourStart()
				clk := &clock{t: base}
				s := openTest(b, b.TempDir(), Options{Now: clk.now})
				var vol *volume
				wait := func() {}
				if watch {
					vol, wait = watchVolume(b, s)
				}
				const hosts = 100
				rng := rand.New(rand.NewPCG(1, 2))
				batch := make([]HostSamples, hosts)
				// Reports are built in advance (6 per host, used in turn).
				var reports [6][hosts][]model.Sample
				for j := range batch {
					batch[j].Host = fmt.Sprintf("host%03d.example.net", j)
					for k := range reports {
						reports[k][j] = shape.report(j, rng)
					}
				}
				minutes := map[int64]bool{}
				b.ReportAllocs()
				cpu0 := cpuNow(b)
				b.ResetTimer()
				i := 0
				for ; b.Loop(); i++ {
					for j := range batch {
						batch[j].Time = base.Add(time.Duration(i)*10*time.Second + time.Duration(j)*time.Millisecond)
						batch[j].Samples = reports[i%len(reports)][j]
					}
					minutes[batch[0].Time.Truncate(time.Minute).UnixNano()] = true
					clk.t = batch[0].Time
					if err := s.AddSamplesBatch(batch); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				cpu := cpuNow(b) - cpu0
				clk.t = base.Add(time.Duration(i)*10*time.Second + 2*time.Minute)
				if err := s.FlushHistory(); err != nil {
					b.Fatal(err)
				}
				wait()
				if !watch {
					b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(i*hosts), "cpu-µs/report")
					return
				}
				hm := float64(hosts * len(minutes))
				var rk, rb int
				for _, res := range []byte{'m', 'h', 'M', 'H'} {
					rk += vol.entries[res]
					rb += vol.bytes[res]
				}
				b.ReportMetric(float64(rk)/hm, "rollup-keys/host-min")
				b.ReportMetric(float64(rb)/hm, "rollup-B/host-min")
				b.ReportMetric(float64(vol.bytes['P'])/hm, "raw-B/host-min")
			})
		}
	}
}
