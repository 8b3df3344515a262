package agent

import (
	"context"
	"fmt"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/lookout-mon/lookout/model"
)

// UptimeCollector reports the host's uptime (unit "system", value seconds).
type UptimeCollector struct {
	// Uptime reads the uptime in seconds (host.UptimeWithContext).
	Uptime func(ctx context.Context) (uint64, error)
}

// NewUptimeCollector returns an UptimeCollector reading the host.
func NewUptimeCollector() *UptimeCollector {
	return &UptimeCollector{Uptime: host.UptimeWithContext}
}

// Name implements Collector.
func (c *UptimeCollector) Name() string { return model.ResUptime }

// Collect implements Collector.
func (c *UptimeCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	up, err := c.Uptime(ctx)
	if err != nil {
		return nil, fmt.Errorf("uptime: %w", err)
	}
	return []model.Sample{sample(model.ResUptime, "system", map[string]float64{"seconds": float64(up)})}, nil
}

// HeartbeatCollector reports that the agent is alive (service and resource
// "heartbeat", unit "agent"): alive 1 and dropped, the agent's total count of
// reports dropped from full outboxes, so a quiet agent is still seen.
type HeartbeatCollector struct {
	// Dropped returns the current dropped-report count.
	Dropped func() uint64
}

// Name implements Collector.
func (c *HeartbeatCollector) Name() string { return model.ServiceHeartbeat }

// Collect implements Collector.
func (c *HeartbeatCollector) Collect(context.Context) ([]model.Sample, error) {
	var dropped uint64
	if c.Dropped != nil {
		dropped = c.Dropped()
	}
	return []model.Sample{{
		Service:  model.ServiceHeartbeat,
		Resource: model.ServiceHeartbeat,
		Unit:     "agent",
		Values:   map[string]float64{"alive": 1, "dropped": float64(dropped)},
	}}, nil
}
