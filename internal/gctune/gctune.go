// Package gctune applies a process's runtime defaults (GOGC, GOMAXPROCS)
// after start-up, unless the environment sets them: an explicit GOGC,
// GOMAXPROCS or GOMEMLIMIT always wins.
package gctune

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
)

// GCPercent sets GOGC to percent unless the GOGC environment variable is
// set, and returns the GOGC in force afterwards. who names the process
// role in the debug log ("agent", "master").
func GCPercent(log *slog.Logger, who string, percent int) int {
	if v, ok := os.LookupEnv("GOGC"); ok {
		cur := debug.SetGCPercent(100)
		debug.SetGCPercent(cur)
		log.Debug(who+" GC: GOGC from the environment", "GOGC", v, "percent", cur)
		return cur
	}
	debug.SetGCPercent(percent)
	log.Debug(who+" GC tuned", "GOGC", percent)
	return percent
}

// MaxProcs sets GOMAXPROCS to procs unless the GOMAXPROCS environment
// variable is set, and returns the GOMAXPROCS in force afterwards.
func MaxProcs(log *slog.Logger, who string, procs int) int {
	if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
		cur := runtime.GOMAXPROCS(0)
		log.Debug(who+" GOMAXPROCS from the environment", "GOMAXPROCS", v, "procs", cur)
		return cur
	}
	runtime.GOMAXPROCS(procs)
	log.Debug(who+" GOMAXPROCS tuned", "procs", procs)
	return procs
}
