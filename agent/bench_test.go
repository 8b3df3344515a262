package agent

import (
	"context"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// BenchmarkCollectCycle runs every machine collector once per iteration, as
// the agent does over one cycle of all intervals, and reports the size of the
// signed report those samples make (bytes/report). The ed25519 signature
// (~35 µs) is most of an iteration; BenchmarkCollectCycleSession seals the
// report as the agent does once its session is open.
func BenchmarkCollectCycle(b *testing.B) {
	_, priv := testKey(b)
	benchCollectCycle(b, func(r *model.Report) (*anypb.Any, error) { return wire.SignReport(priv, r) })
}

// BenchmarkCollectCycleSession is BenchmarkCollectCycle with the report
// sealed with a session MAC, the agent's path once its master welcomed it:
// the collectors' own cost is the larger part of it.
func BenchmarkCollectCycleSession(b *testing.B) {
	s := wire.NewSession(1, "bench", make([]byte, 32))
	benchCollectCycle(b, s.Seal)
}

// benchCollectCycle collects every machine family once per iteration and
// encodes the report with seal.
func benchCollectCycle(b *testing.B, seal func(*model.Report) (*anypb.Any, error)) {
	fams := families(configs.AgentConfig{}, func() uint64 { return 0 }, nil)
	ctx := context.Background()
	var cols []Collector
	for _, f := range fams {
		cols = append(cols, f.collectors...)
	}
	for _, c := range cols { // prime the rate collectors
		if _, err := c.Collect(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var bytes, reports int
	cpu0 := processCPU(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := &model.Report{Version: model.ProtocolVersion, Agent: "bench", Host: "bench", Seq: uint64(i + 1)}
		for _, c := range cols {
			s, err := c.Collect(ctx)
			if err != nil {
				b.Fatal(err)
			}
			r.Samples = append(r.Samples, s...)
		}
		m, err := seal(r)
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(m.Value)
		reports++
	}
	b.ReportMetric(float64(bytes)/float64(reports), "bytes/report")
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(reports), "cpu-µs/op")
}

// processCPU returns the CPU time (user + system) the process used so far:
// on a shared machine it is a steadier figure than wall time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
