package agent

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

// ProcessCollector checks that processes run (service and resource
// "process", unit = the check's Name). A check is up when any process
// matches: its argv[0], as full path or base name, matches Match (path.Match
// glob), and every glob in Args matches at least one positional argument
// (argv[1:] not starting with "-"). Each call reports a sample per check (up,
// count of matching processes) and a model.Check on change and, for every
// check, on the first call (Initial).
type ProcessCollector struct {
	// Checks are the configured process checks.
	Checks []configs.ProcessCheck
	// Cmdlines lists the argv of every running process.
	Cmdlines func(ctx context.Context) ([][]string, error)
	// Now is the clock for Since.
	Now func() time.Time

	state map[string]checkState
}

// NewProcessCollector returns a ProcessCollector reading the host's process
// table.
func NewProcessCollector(checks []configs.ProcessCheck) *ProcessCollector {
	return &ProcessCollector{Checks: checks, Cmdlines: hostCmdlines, Now: time.Now}
}

// hostCmdlines returns the argv of every process; processes that exit while
// being read, kernel threads and zombies (empty argv) are skipped.
func hostCmdlines(ctx context.Context) ([][]string, error) {
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := make([][]string, 0, len(procs))
	for _, p := range procs {
		argv, err := p.CmdlineSliceWithContext(ctx)
		if err != nil || len(argv) == 0 || argv[0] == "" {
			continue
		}
		out = append(out, argv)
	}
	return out, nil
}

// Name implements Collector.
func (c *ProcessCollector) Name() string { return model.ResProcess }

// Collect implements Collector; it returns the samples and drops the checks
// (use CollectChecks).
func (c *ProcessCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	s, _, err := c.CollectChecks(ctx)
	return s, err
}

// CollectChecks implements CheckCollector.
func (c *ProcessCollector) CollectChecks(ctx context.Context) ([]model.Sample, []model.Check, error) {
	if len(c.Checks) == 0 {
		return nil, nil, nil
	}
	cmds, err := c.Cmdlines(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("process: %w", err)
	}
	initial := c.state == nil
	if initial {
		c.state = make(map[string]checkState, len(c.Checks))
	}
	now := c.Now()
	samples := make([]model.Sample, 0, len(c.Checks))
	var checks []model.Check
	for _, pc := range c.Checks {
		n := 0
		for _, argv := range cmds {
			if processMatches(pc, argv) {
				n++
			}
		}
		up := n > 0
		samples = append(samples, model.Sample{
			Service: model.ServiceProcess, Resource: model.ResProcess, Unit: pc.Name,
			Values: map[string]float64{"up": b2f(up), "count": float64(n)},
		})
		old, known := c.state[pc.Name]
		if known && old.up == up && !initial {
			continue
		}
		st := old
		if !known || old.up != up {
			st = checkState{up: up, since: now}
			c.state[pc.Name] = st
		}
		ck := model.Check{Service: model.ServiceProcess, Unit: pc.Name, Up: up, Initial: initial, Since: st.since.UnixNano()}
		if !up {
			ck.Detail = "no process matches " + pc.Match
		}
		checks = append(checks, ck)
	}
	return samples, checks, nil
}

// processMatches applies a ProcessCheck's rule to one argv.
func processMatches(pc configs.ProcessCheck, argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	if !globMatch(pc.Match, argv[0]) && !globMatch(pc.Match, path.Base(argv[0])) {
		return false
	}
	for _, g := range pc.Args {
		found := false
		for _, a := range argv[1:] {
			if !strings.HasPrefix(a, "-") && globMatch(g, a) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// globMatch is path.Match with a malformed pattern matching nothing.
func globMatch(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// b2f converts a bool to 1 or 0.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
