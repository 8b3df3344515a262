package main

import (
	"log/slog"

	"github.com/lookout-mon/lookout/agent"
)

// agentGCPercent is the GOGC value `lookout agent` uses when the GOGC
// environment variable is not set (agent.GCPercent, shared with
// lookout-agent; BENCHMARKS.md has the measurements).
const agentGCPercent = agent.GCPercent

// tuneAgentGC applies agentGCPercent unless GOGC is set (agent.TuneGC),
// the agent's GOMAXPROCS unless GOMAXPROCS is set (agent.TuneProcs) and,
// when a is not nil, paces a's collections (agent.PaceGC). It returns the
// GOGC value in force afterwards.
func tuneAgentGC(a *agent.Agent, log *slog.Logger) int {
	agent.TuneProcs(log)
	pct := agent.TuneGC(log)
	if a != nil {
		agent.PaceGC(a, log)
	}
	return pct
}
