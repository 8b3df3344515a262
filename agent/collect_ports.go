package agent

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

// Port check defaults, applied to zero fields.
const (
	DefaultPortHost    = "127.0.0.1"
	DefaultPortTimeout = 2 * time.Second
	DefaultPortRetries = 2
)

// PortCollector checks TCP ports (service and resource "port", unit
// "Name (port)"): a port is up when a connect succeeds within Timeout in at
// most 1+Retries attempts. It reports a sample per port every call (up 1/0,
// response_ms of the last attempt) and a model.Check when a port changes
// state, when it stayed up but needed retries (a blip), and for every port
// on the first call (Initial).
type PortCollector struct {
	// Ports are the checks, with defaults applied.
	Ports []configs.PortCheck
	// Dial opens a TCP connection (net.Dialer.DialContext by default).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock used for response times and Since.
	Now func() time.Time

	state map[string]checkState
}

// checkState is the last known state of one check.
type checkState struct {
	up    bool
	since time.Time
}

// NewPortCollector returns a PortCollector for the configured checks, with
// defaults applied to zero fields.
func NewPortCollector(ports []configs.PortCheck) *PortCollector {
	ps := make([]configs.PortCheck, len(ports))
	for i, p := range ports {
		if p.Host == "" {
			p.Host = DefaultPortHost
		}
		if p.Timeout <= 0 {
			p.Timeout = DefaultPortTimeout
		}
		if p.Retries < 0 {
			p.Retries = 0
		} else if p.Retries == 0 {
			p.Retries = DefaultPortRetries
		}
		ps[i] = p
	}
	var d net.Dialer
	return &PortCollector{Ports: ps, Dial: d.DialContext, Now: time.Now}
}

// Name implements Collector.
func (c *PortCollector) Name() string { return model.ResPort }

// portUnit is the unit of a port check, "sshd (22)".
func portUnit(p configs.PortCheck) string { return p.Name + " (" + strconv.Itoa(p.Port) + ")" }

// Collect implements Collector; it returns the samples and drops the checks
// (use CollectChecks).
func (c *PortCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	s, _, err := c.CollectChecks(ctx)
	return s, err
}

// portResult is the outcome of probing one port.
type portResult struct {
	up       bool
	attempts int
	rtt      time.Duration
	err      error
}

// CollectChecks implements CheckCollector. Ports are probed concurrently.
func (c *PortCollector) CollectChecks(ctx context.Context) ([]model.Sample, []model.Check, error) {
	res := make([]portResult, len(c.Ports))
	var wg sync.WaitGroup
	for i, p := range c.Ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = c.probe(ctx, p)
		}()
	}
	wg.Wait()
	initial := c.state == nil
	if initial {
		c.state = make(map[string]checkState, len(c.Ports))
	}
	now := c.Now()
	samples := make([]model.Sample, 0, len(c.Ports))
	var checks []model.Check
	for i, p := range c.Ports {
		r, unit := res[i], portUnit(p)
		up := 0.0
		if r.up {
			up = 1
		}
		samples = append(samples, model.Sample{
			Service: model.ServicePort, Resource: model.ResPort, Unit: unit,
			Values: map[string]float64{"up": up, "response_ms": float64(r.rtt) / float64(time.Millisecond)},
		})
		old, known := c.state[unit]
		changed := !known || old.up != r.up
		st := old
		if changed {
			st = checkState{up: r.up, since: now}
			c.state[unit] = st
		}
		blip := r.up && r.attempts > 1
		if !initial && !changed && !blip {
			continue
		}
		ck := model.Check{Service: model.ServicePort, Unit: unit, Up: r.up, Initial: initial, Since: st.since.UnixNano()}
		switch {
		case !r.up:
			ck.Detail = fmt.Sprintf("%d attempts failed: %v", r.attempts, r.err)
		case blip:
			ck.Retries = r.attempts - 1
			ck.Detail = fmt.Sprintf("up after %d retries: %v", ck.Retries, r.err)
		}
		checks = append(checks, ck)
	}
	return samples, checks, nil
}

// probe tries to connect to p up to 1+Retries times.
func (c *PortCollector) probe(ctx context.Context, p configs.PortCheck) portResult {
	addr := net.JoinHostPort(p.Host, strconv.Itoa(p.Port))
	var r portResult
	for r.attempts < 1+p.Retries {
		r.attempts++
		actx, cancel := context.WithTimeout(ctx, p.Timeout)
		start := c.Now()
		conn, err := c.Dial(actx, "tcp", addr)
		r.rtt = c.Now().Sub(start)
		cancel()
		if err == nil {
			_ = conn.Close()
			r.up = true
			return r
		}
		r.err = err
		if ctx.Err() != nil {
			break
		}
	}
	return r
}
