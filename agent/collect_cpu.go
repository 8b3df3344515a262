package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
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

	prev  map[string]cpu.TimesStat
	spare map[string]cpu.TimesStat // the reading before prev, reused for the next
	units map[string]string        // "cpuN" → "coreN"
	order []string                 // units of the current reading, reused
}

// NewCPUCollector returns a CPUCollector reading the host's counters.
func NewCPUCollector() *CPUCollector {
	return &CPUCollector{Times: newProcStat("/proc/stat").Times}
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
	cur := c.spare // no longer needed: prev is the last reading
	if cur == nil {
		cur = make(map[string]cpu.TimesStat, len(per)+1)
	}
	clear(cur)
	order := c.order[:0]
	for _, t := range per {
		unit := c.unit(t.CPU)
		cur[unit] = t
		order = append(order, unit)
	}
	if len(tot) > 0 {
		cur["total"] = tot[0]
		order = append(order, "total")
	}
	c.order = order
	prev := c.prev
	c.prev, c.spare = cur, prev
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

// unit returns the unit of a per-core reading ("cpu3" → "core3"), made
// once per core.
func (c *CPUCollector) unit(name string) string {
	if u, ok := c.units[name]; ok {
		return u
	}
	if c.units == nil || len(c.units) >= maxInterned {
		c.units = map[string]string{}
	}
	u := "core" + strings.TrimPrefix(name, "cpu")
	c.units[name] = u
	return u
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

// procStat reads cpu times from /proc/stat (path) with one read per
// collection: CPUCollector.Collect asks for the per-core times, then the
// total, and gopsutil's cpu.Times read and split the file into strings for
// each. A per-core read keeps the file's total line for the total call
// that follows it. It is used from one goroutine (Collector contract).
type procStat struct {
	procFile
	tot   []cpu.TimesStat // from the last per-core read, for the next total call
	names internTable     // cpu names, one string each
}

// newProcStat reads path, a /proc/stat (single_open in the kernel).
func newProcStat(path string) *procStat {
	return &procStat{procFile: procFile{path: path, single: true}}
}

// Times has cpu.TimesWithContext's signature and results (gopsutil's field
// rules and clock-tick scaling).
func (p *procStat) Times(_ context.Context, percpu bool) ([]cpu.TimesStat, error) {
	if !percpu && p.tot != nil {
		t := p.tot
		p.tot = nil
		return t, nil
	}
	b, err := p.read()
	if err != nil {
		return nil, err
	}
	per, tot, err := parseProcStatInto(b, cpu.ClocksPerSec, &p.names)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	if percpu {
		p.tot = tot
		return per, nil
	}
	p.tot = nil
	return tot, nil
}

// maxProcFileBytes bounds a /proc file read (a 4,096-core /proc/stat is
// about 600 KB).
const maxProcFileBytes = 8 << 20

// parseProcStat parses the cpu lines of /proc/stat as gopsutil does: "cpu"
// is the total (named "cpu-total"), "cpuN" a core; the name and the seven
// counters every kernel since 2.6 has are required, steal, guest and
// guest_nice are optional, later columns ignored; counters are clock ticks,
// divided by ticksPerSec. The cpu lines end at the first other line after
// them (the kernel writes them as one block first).
func parseProcStat(b []byte, ticksPerSec float64) (per, tot []cpu.TimesStat, err error) {
	return parseProcStatInto(b, ticksPerSec, nil)
}

// parseProcStatInto is parseProcStat taking the cpu names from names (nil:
// a new string each).
func parseProcStatInto(b []byte, ticksPerSec float64, names *internTable) (per, tot []cpu.TimesStat, err error) {
	if ticksPerSec <= 0 {
		return nil, nil, fmt.Errorf("clock ticks per second %v is not positive", ticksPerSec)
	}
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		if !bytes.HasPrefix(line, []byte("cpu")) {
			if len(per)+len(tot) > 0 {
				break // the cpu lines are one block at the top, as gopsutil reads them
			}
			continue
		}
		t, err := parseStatCPULine(line, ticksPerSec, names)
		if err != nil {
			return nil, nil, err
		}
		if t.CPU == "cpu-total" {
			tot = append(tot, t)
		} else {
			per = append(per, t)
		}
	}
	if len(per) == 0 && len(tot) == 0 {
		return nil, nil, errors.New("no cpu lines")
	}
	return per, tot, nil
}

// parseStatCPULine parses one "cpu..." line of /proc/stat.
func parseStatCPULine(line []byte, ticksPerSec float64, names *internTable) (cpu.TimesStat, error) {
	var (
		fields [11][]byte
		n      int
	)
	n = fieldsInto(line, fields[:])
	if n < 8 {
		return cpu.TimesStat{}, fmt.Errorf("cpu line %.40q has %d fields, want at least 8", line, n)
	}
	var t cpu.TimesStat
	if string(fields[0]) == "cpu" {
		t.CPU = "cpu-total"
	} else {
		t.CPU = names.get(fields[0])
	}
	dst := []*float64{&t.User, &t.Nice, &t.System, &t.Idle, &t.Iowait, &t.Irq, &t.Softirq, &t.Steal, &t.Guest, &t.GuestNice}
	for i := 1; i < n; i++ {
		v, err := strconv.ParseUint(string(fields[i]), 10, 64)
		if err != nil {
			return cpu.TimesStat{}, fmt.Errorf("cpu line %s field %d: %w", t.CPU, i, err)
		}
		*dst[i-1] = float64(v) / ticksPerSec
	}
	return t, nil
}
