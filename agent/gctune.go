package agent

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// GCPercent is the GOGC value a standalone agent (`lookout agent`,
// `lookout-agent`) uses when the GOGC environment variable is not set: the
// heap may grow 25% over the live heap between collections instead of
// 100%. The agent's live heap is about 1 MiB, so this caps its heap near
// the runtime's 1 MiB minimum goal instead of 4 MiB, and keeps report
// garbage at short intervals from growing the RSS (BENCHMARKS.md: 48 → 29
// MiB after 1,000 cycles at 10 ms, at no measurable CPU cost).
const GCPercent = 25

// TuneGC applies GCPercent unless GOGC is set (an explicit GOGC, like
// GOMEMLIMIT, is left as the runtime applied it). It returns the GOGC value
// in force afterwards.
func TuneGC(log *slog.Logger) int {
	if v, ok := os.LookupEnv("GOGC"); ok {
		cur := debug.SetGCPercent(100)
		debug.SetGCPercent(cur)
		log.Debug("agent GC: GOGC from the environment", "GOGC", v, "percent", cur)
		return cur
	}
	debug.SetGCPercent(GCPercent)
	log.Debug("agent GC tuned", "GOGC", GCPercent)
	return GCPercent
}
