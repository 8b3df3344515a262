package agent

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v4/mem"
	"golang.org/x/sys/unix"

	"github.com/lookout-mon/lookout/model"
)

// MemoryCollector reports physical memory (unit "physical", bytes): total,
// used, available, free, buffers, cached, used_percentage.
type MemoryCollector struct {
	// Virtual reads memory use (mem.VirtualMemoryWithContext).
	Virtual func(ctx context.Context) (*mem.VirtualMemoryStat, error)
}

// NewMemoryCollector returns a MemoryCollector reading the host.
func NewMemoryCollector() *MemoryCollector {
	return &MemoryCollector{Virtual: newProcMeminfo("/proc/meminfo").VirtualMemory}
}

// Name implements Collector.
func (c *MemoryCollector) Name() string { return model.ResMemory }

// Collect implements Collector.
func (c *MemoryCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	m, err := c.Virtual(ctx)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	return []model.Sample{sample(model.ResMemory, "physical", map[string]float64{
		"total":           float64(m.Total),
		"used":            float64(m.Used),
		"available":       float64(m.Available),
		"free":            float64(m.Free),
		"buffers":         float64(m.Buffers),
		"cached":          float64(m.Cached),
		"used_percentage": clampPct(percent(float64(m.Total)-float64(m.Available), float64(m.Total))),
	})}, nil
}

// SwapCollector reports swap (unit "swap", bytes): total, used, free,
// used_percentage (0 on a host without swap).
type SwapCollector struct {
	// Swap reads swap use (sysinfoSwap; mem.SwapMemoryWithContext's
	// total, used, free and used percentage).
	Swap func(ctx context.Context) (*mem.SwapMemoryStat, error)
}

// NewSwapCollector returns a SwapCollector reading the host.
func NewSwapCollector() *SwapCollector {
	return &SwapCollector{Swap: sysinfoSwap}
}

// Name implements Collector.
func (c *SwapCollector) Name() string { return model.ResSwap }

// Collect implements Collector.
func (c *SwapCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	s, err := c.Swap(ctx)
	if err != nil {
		return nil, fmt.Errorf("swap: %w", err)
	}
	return []model.Sample{sample(model.ResSwap, "swap", map[string]float64{
		"total":           float64(s.Total),
		"used":            float64(s.Used),
		"free":            float64(s.Free),
		"used_percentage": percent(float64(s.Used), float64(s.Total)),
	})}, nil
}

// sysinfoSwap returns swap total, free, used and used percentage from the
// sysinfo(2) system call, exactly as gopsutil's mem.SwapMemory computes
// them, without its read and split of /proc/vmstat (for page-in/out
// counters the collector does not report), which was most of a swap
// collection's cost.
func sysinfoSwap(context.Context) (*mem.SwapMemoryStat, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return nil, fmt.Errorf("sysinfo: %w", err)
	}
	s := &mem.SwapMemoryStat{
		Total: uint64(si.Totalswap) * uint64(si.Unit),
		Free:  uint64(si.Freeswap) * uint64(si.Unit),
	}
	s.Used = s.Total - s.Free
	if s.Total != 0 {
		s.UsedPercent = float64(s.Used) / float64(s.Total) * 100
	}
	return s, nil
}
