package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// agentGCPercent is the GOGC value `lookout agent` uses when the GOGC
// environment variable is not set: the heap may grow 25% over the live heap
// between collections instead of 100%. BENCHMARKS.md has the measurements
// (RSS after 1,000 cycles 48 → 29 MiB at no measurable CPU cost) and why a
// soft memory limit (GOMEMLIMIT) is not set by default: the agent's Go
// memory is ~30 MiB, most of it hollywood's preallocated remote inbox, so
// any limit that lowers RSS makes the GC run nearly continuously (3–5× the
// CPU per cycle).
const agentGCPercent = 25

// tuneAgentGC applies agentGCPercent unless GOGC is set (an explicit GOGC,
// like GOMEMLIMIT, is left as the runtime applied it). It returns the GOGC
// value in force afterwards.
func tuneAgentGC(log *slog.Logger) int {
	if v, ok := os.LookupEnv("GOGC"); ok {
		cur := debug.SetGCPercent(100)
		debug.SetGCPercent(cur)
		log.Debug("agent GC: GOGC from the environment", "GOGC", v, "percent", cur)
		return cur
	}
	debug.SetGCPercent(agentGCPercent)
	log.Debug("agent GC tuned", "GOGC", agentGCPercent)
	return agentGCPercent
}
