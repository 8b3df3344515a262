package store

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// cpuNow returns the CPU time (user + system) used by the process so far,
// which includes badger's background goroutines.
func cpuNow(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time since start per op as cpu-µs/op.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuNow(b)-start)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
}

// benchSamples returns n samples of vals values each, shaped like a disk
// report.
func benchSamples(n, vals int) []model.Sample {
	samples := make([]model.Sample, n)
	for i := range samples {
		m := map[string]float64{}
		for j := range vals {
			m[fmt.Sprintf("attr%d", j)] = float64(j)
		}
		samples[i] = model.Sample{Service: "machine", Resource: "disk", Unit: fmt.Sprintf("/dev/sd%c", 'a'+i), Values: m}
	}
	return samples
}

// BenchmarkAddSamples: one report (4 samples x 10 values) per call, each
// its own commit, reports 1 s apart (a minute closes every 60 calls).
func BenchmarkAddSamples(b *testing.B) {
	base := hourStart()
	s := openTest(b, b.TempDir(), Options{Now: func() time.Time { return base }})
	samples := benchSamples(4, 10)
	b.ReportAllocs()
	cpu0 := cpuNow(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.AddSamples("bench", base.Add(time.Duration(i)*time.Second), samples); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// BenchmarkAddSamplesBatch: 100 hosts' reports (4 samples x 10 values) per
// call in one commit, each host reporting every 10 s (a minute closes for
// every host every 6 calls), like the ingest actor under load. Figures are
// per report (per op / 100).
func BenchmarkAddSamplesBatch(b *testing.B) {
	base := hourStart()
	s := openTest(b, b.TempDir(), Options{Now: func() time.Time { return base }})
	samples := benchSamples(4, 10)
	const hosts = 100
	batch := make([]HostSamples, hosts)
	for i := range batch {
		batch[i] = HostSamples{Host: fmt.Sprintf("host%03d", i), Samples: samples}
	}
	b.ReportAllocs()
	cpu0 := cpuNow(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range batch {
			batch[j].Time = base.Add(time.Duration(i)*10*time.Second + time.Duration(j)*time.Millisecond)
		}
		if err := s.AddSamplesBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*hosts), "µs/report")
	b.ReportMetric(float64(cpuNow(b)-cpu0)/float64(time.Microsecond)/float64(b.N*hosts), "cpu-µs/report")
}

// BenchmarkHistoryRaw1h reads one attribute's raw history over 1 h of
// reports every 10 s (360 points), as a host page's 1h graph does.
func BenchmarkHistoryRaw1h(b *testing.B) {
	now := time.Now().Truncate(time.Second)
	from := now.Add(-time.Hour)
	clk := &clock{t: from}
	s := openTest(b, b.TempDir(), Options{Now: clk.now})
	samples := benchSamples(4, 10)
	for t := from; !t.After(now); t = t.Add(10 * time.Second) {
		clk.t = t
		if err := s.AddSamples("bench", t, samples); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu0 := cpuNow(b)
	b.ResetTimer()
	for b.Loop() {
		pts, err := s.History("bench", "machine.disk:/dev/sdc", "attr7", from, now, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if len(pts) < 100 {
			b.Fatalf("%d points", len(pts))
		}
	}
	reportCPU(b, cpu0)
}

// BenchmarkHistoryRaw1hFamilies is BenchmarkHistoryRaw1h for a host whose
// agent sends one report per collector family: 6 reports of 1 or 2
// samples every 10 s (like the real agent), and one series is read.
func BenchmarkHistoryRaw1hFamilies(b *testing.B) {
	now := time.Now().Truncate(time.Second)
	from := now.Add(-time.Hour)
	clk := &clock{t: from}
	s := openTest(b, b.TempDir(), Options{Now: clk.now})
	all := benchSamples(9, 5)
	families := [][]model.Sample{all[0:2], all[2:3], all[3:4], all[4:6], all[6:8], all[8:9]}
	for t := from; !t.After(now); t = t.Add(10 * time.Second) {
		clk.t = t
		for i, f := range families {
			if err := s.AddSamples("bench", t.Add(time.Duration(i)*time.Millisecond), f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	cpu0 := cpuNow(b)
	b.ResetTimer()
	for b.Loop() {
		pts, err := s.History("bench", "machine.disk:/dev/sde", "attr3", from, now, 30*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if len(pts) < 100 {
			b.Fatalf("%d points", len(pts))
		}
	}
	reportCPU(b, cpu0)
}

// BenchmarkHistoryRollup reads one attribute's 1m rollups over 6 h (360
// points) and its 1h rollups over 24 h, of a host that reported 4 samples
// of 10 values every 30 s for 24 h, as the dashboard's longer graphs do.
func BenchmarkHistoryRollup(b *testing.B) {
	now := time.Now().Truncate(time.Minute)
	from := now.Add(-24 * time.Hour)
	clk := &clock{t: from}
	s := openTest(b, b.TempDir(), Options{Now: clk.now})
	var variants [7][]model.Sample
	for k := range variants {
		variants[k] = benchSamples(4, 10)
		for _, smp := range variants[k] {
			for a := range smp.Values {
				smp.Values[a] += float64(k) / 4
			}
		}
	}
	i := 0
	for t := from; !t.After(now); t = t.Add(30 * time.Second) {
		clk.t = t
		if err := s.AddSamples("bench", t, variants[i%len(variants)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	for _, tc := range []struct {
		name      string
		from      time.Time
		step      time.Duration
		minPoints int
	}{
		{"1m-6h", now.Add(-6 * time.Hour), time.Minute, 350},
		{"1h-24h", from, time.Hour, 24},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cpuNow(b)
			for b.Loop() {
				pts, err := s.History("bench", "machine.disk:/dev/sdc", "attr7", tc.from, now, tc.step)
				if err != nil {
					b.Fatal(err)
				}
				if len(pts) < tc.minPoints {
					b.Fatalf("%d points", len(pts))
				}
			}
			reportCPU(b, cpu0)
		})
	}
}
