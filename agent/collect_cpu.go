package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/lookout-mon/lookout/model"
)

// CPUCollector reports cpu time shares per core ("core0".."coreN") and for the
// whole machine ("total"): user, system, iowait, idle, steal and
// used_percentage, as percentages of the time elapsed since the previous call.
// The first call primes the counters and returns nothing.
type CPUCollector struct {
	// Times returns the cumulative cpu times, per cpu when percpu is set,
	// else one "cpu-total" entry (gopsutil's cpu.TimesWithContext).
	Times func(ctx context.Context, percpu bool) ([]cpu.TimesStat, error)

	prev map[string]cpu.TimesStat
}

// NewCPUCollector returns a CPUCollector reading the host's counters.
func NewCPUCollector() *CPUCollector {
	return &CPUCollector{Times: cpu.TimesWithContext}
}

// Name implements Collector.
func (c *CPUCollector) Name() string { return model.ResCPU }

// Collect implements Collector.
func (c *CPUCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	per, err := c.Times(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("cpu: per-core times: %w", err)
	}
	tot, err := c.Times(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("cpu: total times: %w", err)
	}
	cur := make(map[string]cpu.TimesStat, len(per)+1)
	var order []string
	for _, t := range per {
		unit := "core" + strings.TrimPrefix(t.CPU, "cpu")
		cur[unit] = t
		order = append(order, unit)
	}
	if len(tot) > 0 {
		cur["total"] = tot[0]
		order = append(order, "total")
	}
	prev := c.prev
	c.prev = cur
	if prev == nil {
		return nil, nil
	}
	out := make([]model.Sample, 0, len(order))
	for _, unit := range order {
		old, ok := prev[unit]
		if !ok {
			continue // core came online since the last call
		}
		if v, ok := cpuShares(old, cur[unit]); ok {
			out = append(out, sample(model.ResCPU, unit, v))
		}
	}
	return out, nil
}

// cpuTotal sums every time field that counts towards wall time (guest time is
// already included in user and nice by the kernel).
func cpuTotal(t cpu.TimesStat) float64 {
	return t.User + t.Nice + t.System + t.Idle + t.Iowait + t.Irq + t.Softirq + t.Steal
}

// cpuShares turns two readings into percentages of the elapsed cpu time. It
// returns false when no time elapsed or a counter went backwards (cpu
// hot-plug, counter reset).
func cpuShares(old, cur cpu.TimesStat) (map[string]float64, bool) {
	d := cpuTotal(cur) - cpuTotal(old)
	if d <= 0 || cur.Idle < old.Idle || cur.User < old.User || cur.System < old.System {
		return nil, false
	}
	idle := percent(cur.Idle-old.Idle, d)
	iowait := percent(cur.Iowait-old.Iowait, d)
	used := 100 - idle - iowait
	return map[string]float64{
		"user":            percent(cur.User-old.User, d),
		"system":          percent(cur.System-old.System, d),
		"iowait":          iowait,
		"idle":            idle,
		"steal":           percent(cur.Steal-old.Steal, d),
		"used_percentage": clampPct(used),
	}, true
}

// clampPct keeps float rounding from reporting -0.0000001 or 100.0000001.
func clampPct(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 100 {
		return 100
	}
	return v
}
