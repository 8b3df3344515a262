package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/net"

	"github.com/lookout-mon/lookout/model"
)

// NetworkCollector reports per interface (resource "network", unit "eth0")
// byte, packet and error rates since the previous call. "lo" and interfaces
// matching Exclude are skipped. A counter that went backwards is taken as a
// 32-bit wrap when its old value fits in 32 bits, else as a reset, and the
// interface's sample is skipped.
type NetworkCollector struct {
	// Exclude holds globs of interface names to skip.
	Exclude []string
	// IOCounters reads interface counters (net.IOCountersWithContext).
	IOCounters func(ctx context.Context, pernic bool) ([]net.IOCountersStat, error)
	// Now is the clock for rates (monotonic readings).
	Now func() time.Time

	prev     map[string]net.IOCountersStat
	spare    map[string]net.IOCountersStat // the map before prev, reused for the next reading
	prevTime time.Time
}

// NewNetworkCollector returns a NetworkCollector reading the host.
func NewNetworkCollector(exclude []string) *NetworkCollector {
	return &NetworkCollector{Exclude: exclude, IOCounters: newProcNetDev("/proc/net/dev").IOCounters, Now: time.Now}
}

// Name implements Collector.
func (c *NetworkCollector) Name() string { return model.ResNetwork }

// Collect implements Collector.
func (c *NetworkCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	list, err := c.IOCounters(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("network: io counters: %w", err)
	}
	now := c.Now()
	cur := c.spare // no longer needed: prev is the last reading
	if cur == nil {
		cur = make(map[string]net.IOCountersStat, len(list))
	}
	clear(cur)
	for _, s := range list {
		if s.Name == "lo" || matchAny(c.Exclude, s.Name) {
			continue
		}
		cur[s.Name] = s
	}
	prev, prevTime := c.prev, c.prevTime
	c.prev, c.spare, c.prevTime = cur, prev, now
	if prev == nil {
		return nil, nil
	}
	secs := now.Sub(prevTime).Seconds()
	if secs <= 0 {
		return nil, nil
	}
	var out []model.Sample
	for _, s := range list { // keep the kernel's interface order
		n, ok := cur[s.Name]
		if !ok {
			continue
		}
		o, ok := prev[s.Name]
		if !ok {
			continue
		}
		pairs := [...]struct {
			name     string
			old, new uint64
		}{
			{"rx_bytes_per_sec", o.BytesRecv, n.BytesRecv},
			{"tx_bytes_per_sec", o.BytesSent, n.BytesSent},
			{"rx_packets_per_sec", o.PacketsRecv, n.PacketsRecv},
			{"tx_packets_per_sec", o.PacketsSent, n.PacketsSent},
			{"rx_errors_per_sec", o.Errin, n.Errin},
			{"tx_errors_per_sec", o.Errout, n.Errout},
		}
		vals := make(map[string]float64, len(pairs))
		valid := true
		for _, p := range pairs {
			d, ok := counterDelta(p.old, p.new, true)
			if !ok {
				valid = false
				break
			}
			vals[p.name] = float64(d) / secs
		}
		if valid {
			out = append(out, sample(model.ResNetwork, s.Name, vals))
		}
	}
	return out, nil
}

// procNetDev reads per-interface counters from /proc/net/dev (path) with
// one read into a reused buffer, instead of gopsutil's line-by-line string
// splitting. It is used from one goroutine (Collector contract).
type procNetDev struct {
	procFile
	names internTable // interface names, one string each
}

// newProcNetDev reads path, a /proc/net/dev (generated record by record).
func newProcNetDev(path string) *procNetDev {
	return &procNetDev{procFile: procFile{path: path}}
}

// IOCounters has net.IOCountersWithContext's signature; only per-interface
// counters (pernic) are supported, which is all the collector asks for.
func (p *procNetDev) IOCounters(_ context.Context, pernic bool) ([]net.IOCountersStat, error) {
	if !pernic {
		return nil, errors.New("procNetDev: only per-interface counters are supported")
	}
	b, err := p.read()
	if err != nil {
		return nil, err
	}
	list, err := parseNetDevInto(b, &p.names)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	return list, nil
}

// parseNetDev parses /proc/net/dev as gopsutil does: two header lines,
// then "name: 16 counters" per interface (split at the last ':'); lines
// without a name or with fewer than 13 counters are skipped.
func parseNetDev(b []byte) ([]net.IOCountersStat, error) { return parseNetDevInto(b, nil) }

// parseNetDevInto is parseNetDev taking the interface names from names
// (nil: a new string each).
func parseNetDevInto(b []byte, names *internTable) ([]net.IOCountersStat, error) {
	lines := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		lines++
	}
	if lines < 2 {
		return nil, fmt.Errorf("expected at least 2 header lines, got %d", lines)
	}
	_, b = nextLine(b)
	_, b = nextLine(b)
	out := make([]net.IOCountersStat, 0, lines-2)
	var fields [13][]byte
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		sep := bytes.LastIndexByte(line, ':')
		if sep < 0 {
			continue
		}
		name := bytes.TrimSpace(line[:sep])
		if len(name) == 0 {
			continue
		}
		n := fieldsInto(line[sep+1:], fields[:])
		if n < len(fields) {
			continue
		}
		var v [13]uint64
		for i, f := range fields {
			if i >= 5 && i <= 7 {
				continue // compressed, frame, multicast: unused
			}
			x, err := strconv.ParseUint(string(f), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("interface %.64q counter %d: %w", name, i+1, err)
			}
			v[i] = x
		}
		out = append(out, net.IOCountersStat{Name: names.get(name),
			BytesRecv: v[0], PacketsRecv: v[1], Errin: v[2], Dropin: v[3], Fifoin: v[4],
			BytesSent: v[8], PacketsSent: v[9], Errout: v[10], Dropout: v[11], Fifoout: v[12]})
	}
	return out, nil
}
