package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"

	"github.com/lookout-mon/lookout/model"
)

// LoadCollector reports the load averages (unit "system"): load1, load5,
// load15 and load1_per_core.
type LoadCollector struct {
	// Avg reads the load averages (load.AvgWithContext).
	Avg func(ctx context.Context) (*load.AvgStat, error)
	// Counts returns the number of cpus (cpu.CountsWithContext).
	Counts func(ctx context.Context, logical bool) (int, error)
}

// NewLoadCollector returns a LoadCollector reading the host.
func NewLoadCollector() *LoadCollector {
	return &LoadCollector{Avg: (&procLoadavg{procFile{path: "/proc/loadavg", single: true}}).Avg, Counts: cachedCounts(cpu.CountsWithContext, time.Now, countsTTL)}
}

// Name implements Collector.
func (c *LoadCollector) Name() string { return model.ResLoad }

// Collect implements Collector.
func (c *LoadCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	a, err := c.Avg(ctx)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	n, err := c.Counts(ctx, true)
	if err != nil || n < 1 {
		n = 1 // per-core value degrades to the plain load, still useful
	}
	return []model.Sample{sample(model.ResLoad, "system", map[string]float64{
		"load1":          a.Load1,
		"load5":          a.Load5,
		"load15":         a.Load15,
		"load1_per_core": a.Load1 / float64(n),
	})}, nil
}

// countsTTL is how long NewLoadCollector reuses the core count: counting
// parses /proc/cpuinfo (the largest part of a load collection), and cores
// come and go rarely.
const countsTTL = time.Minute

// cachedCounts wraps a core counter so a successful count is reused for
// ttl (measured with now); errors are never cached.
func cachedCounts(count func(ctx context.Context, logical bool) (int, error), now func() time.Time,
	ttl time.Duration) func(ctx context.Context, logical bool) (int, error) {
	type entry struct {
		n  int
		at time.Time
	}
	var (
		mu    sync.Mutex
		cache = map[bool]entry{}
	)
	return func(ctx context.Context, logical bool) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		t := now()
		if e, ok := cache[logical]; ok && t.Sub(e.at) >= 0 && t.Sub(e.at) < ttl {
			return e.n, nil
		}
		n, err := count(ctx, logical)
		if err != nil {
			delete(cache, logical)
			return n, err
		}
		cache[logical] = entry{n, t}
		return n, nil
	}
}
