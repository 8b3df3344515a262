package agent

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/lookout-mon/lookout/internal/gctune"
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
func TuneGC(log *slog.Logger) int { return gctune.GCPercent(log, "agent", GCPercent) }

// PaceGC makes the agent collect whenever the garbage since the last collection
// passes GCGarbage (checked after each report), unless GOGC or GOMEMLIMIT
// is set in the environment: the operator's own GC settings are left to
// the runtime. It is for processes that run the agent alone (`lookout
// agent`, `lookout-agent`), never for `lookout run`, whose heap is mostly
// the master's: collecting hundreds of MiB every 256 KiB of garbage would
// cost far more than it saves. It reports whether pacing is on.
func PaceGC(a *Agent, log *slog.Logger) bool {
	for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
		if v, ok := os.LookupEnv(env); ok {
			log.Debug("agent GC pacing off: set in the environment", env, v)
			return false
		}
	}
	a.gc.enable(GCGarbage)
	log.Debug("agent GC paced", "garbage_bytes", GCGarbage)
	return true
}

// Procs is the GOMAXPROCS a standalone agent uses when the GOMAXPROCS
// environment variable is not set. The agent does little work at a time,
// in short bursts handed between a few goroutines (collector, workers,
// remote writer and reader): with one P a hand-off is a goroutine switch
// on the same thread, where with more Ps each one wakes an idle thread
// through a futex and moves the work to another core (BENCHMARKS.md: about
// 15-20% less CPU per collection cycle, and fewer threads). A collector
// blocked in a system call (statfs on a hung mount) still releases the P.
const Procs = 1

// TuneProcs applies Procs unless GOMAXPROCS is set in the environment, and
// returns the GOMAXPROCS in force afterwards.
func TuneProcs(log *slog.Logger) int { return gctune.MaxProcs(log, "agent", Procs) }

// ReleaseStartup returns the memory the start-up left behind to the
// operating system once, and is called right after the agent has started
// (after TuneGC). Start-up allocates far more than the running agent keeps:
// parsing the config (koanf, YAML, mapstructure), registering protobuf
// descriptors, loading the key and building the TLS config, all at the
// default GOGC of 100, so the heap peaks at several MiB while the running
// agent's live heap is about 0.5 MiB. Without this, the runtime's background
// scavenger hands those free pages back only gradually, and the idle agent
// shows them in its RSS. One forced collection at start costs a few hundred
// microseconds, once (BENCHMARKS.md: about 0.15 MiB less RSS idle). It does
// not hide anything: pages the agent touches again come back into its RSS.
func ReleaseStartup() { debug.FreeOSMemory() }
