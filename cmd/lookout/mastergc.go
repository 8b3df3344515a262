package main

import (
	"log/slog"

	"github.com/lookout-mon/lookout/internal/gctune"
)

// masterGCPercent is the GOGC value `lookout master` uses when the GOGC
// environment variable is not set: the heap may grow 50% over the live
// heap between collections instead of 100%. Most of the master's live heap
// is badger's memtables and buffers plus the per-host state, and the heap
// goal is that times (1+GOGC/100), so the default GOGC doubles it in RSS.
// BENCHMARKS.md has the measurements (2,000 hosts at 1,000 reports/s).
const masterGCPercent = 50

// tuneMasterGC applies masterGCPercent unless GOGC is set in the
// environment (an explicit GOGC, like GOMEMLIMIT, is left as the runtime
// applied it). It returns the GOGC value in force afterwards. Like the
// agent's, it is meant to run after start-up, whose large one-off
// allocations are better made under the default.
func tuneMasterGC(log *slog.Logger) int { return gctune.GCPercent(log, "master", masterGCPercent) }
