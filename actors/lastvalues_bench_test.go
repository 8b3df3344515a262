package actors

import (
	"testing"

	"github.com/lookout-mon/lookout/model"
)

// agentShapedSamples is one report of the real agent's shape (as in
// bench/memory_test.go): 9 samples, 45 values.
func agentShapedSamples(v float64) []model.Sample {
	vals := func(names ...string) map[string]float64 {
		m := make(map[string]float64, len(names))
		for i, n := range names {
			m[n] = v + float64(i)
		}
		return m
	}
	s := func(res, unit string, m map[string]float64) model.Sample {
		return model.Sample{Service: model.ServiceMachine, Resource: res, Unit: unit, Values: m}
	}
	var out []model.Sample
	for _, u := range []string{"total", "cpu0", "cpu1"} {
		out = append(out, s(model.ResCPU, u, vals("user", "system", "iowait", "idle", "steal", "used_percentage")))
	}
	return append(out,
		s(model.ResLoad, "system", vals("load1", "load5", "load15", "load1_per_core")),
		s(model.ResMemory, "physical", vals("total", "used", "available", "free", "buffers", "cached", "used_percentage")),
		s(model.ResSwap, "swap", vals("total", "used", "free", "used_percentage")),
		s(model.ResDisk, "/dev/sda1 (/)", vals("total", "used", "free", "used_percentage")),
		s(model.ResInodes, "/dev/sda1 (/)", vals("total", "used", "free", "used_percentage")),
		s(model.ResNetwork, "eth0", vals("rx_bytes_per_sec", "tx_bytes_per_sec", "rx_packets_per_sec", "tx_packets_per_sec", "rx_errors_per_sec", "tx_errors_per_sec")),
	)
}

// BenchmarkLastValuesReport stores one agent-shaped report per op in the
// last values of one of 100 hosts, as a host actor does for every report.
func BenchmarkLastValuesReport(b *testing.B) {
	hosts := make([]lastValues, 100)
	reports := make([][]model.Sample, 16)
	for i := range reports {
		reports[i] = agentShapedSamples(float64(i))
	}
	for i := range hosts {
		for _, s := range reports[0] {
			hosts[i].set(s)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		lv := &hosts[i%len(hosts)]
		for _, s := range reports[i%len(reports)] {
			lv.set(s)
		}
	}
}

// BenchmarkLastValuesReportAndList is BenchmarkLastValuesReport with the
// samples listed after every report, as the host's status push does (at
// most once a second, or on every report with Debug).
func BenchmarkLastValuesReportAndList(b *testing.B) {
	var lv lastValues
	reports := make([][]model.Sample, 16)
	for i := range reports {
		reports[i] = agentShapedSamples(float64(i))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for _, s := range reports[i%len(reports)] {
			lv.set(s)
		}
		if len(lv.list()) != len(reports[0]) {
			b.Fatal("wrong number of samples")
		}
	}
}
