package agent

import (
	"context"
	"fmt"
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
	prevTime time.Time
}

// NewNetworkCollector returns a NetworkCollector reading the host.
func NewNetworkCollector(exclude []string) *NetworkCollector {
	return &NetworkCollector{Exclude: exclude, IOCounters: net.IOCountersWithContext, Now: time.Now}
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
	cur := make(map[string]net.IOCountersStat, len(list))
	for _, s := range list {
		if s.Name == "lo" || matchAny(c.Exclude, s.Name) {
			continue
		}
		cur[s.Name] = s
	}
	prev, prevTime := c.prev, c.prevTime
	c.prev, c.prevTime = cur, now
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
