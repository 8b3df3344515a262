//go:build !lookout_noproto

package agentchild

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// Profiling reports whether this build writes the profiles the Env*
// variables ask for: true without the lookout_noproto tag.
const Profiling = true

// startProfiles starts the CPU profile (EnvCPUProfile) and the execution
// trace (EnvTrace) when their variables name a file; stop ends both and
// closes the files.
func startProfiles() (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if path := os.Getenv(EnvCPUProfile); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("cpu profile %s: %w", path, err)
		}
		stops = append(stops, func() { pprof.StopCPUProfile(); _ = f.Close() })
	}
	if path := os.Getenv(EnvTrace); path != "" {
		f, err := os.Create(path)
		if err != nil {
			stop()
			return nil, fmt.Errorf("trace: %w", err)
		}
		if err := trace.Start(f); err != nil {
			_ = f.Close()
			stop()
			return nil, fmt.Errorf("trace %s: %w", path, err)
		}
		stops = append(stops, func() { trace.Stop(); _ = f.Close() })
	}
	return stop, nil
}

// writeHeapProfile writes the heap profile to path and its text form
// (which ends with the runtime's MemStats) to path+".txt".
func writeHeapProfile(path string) error {
	for _, w := range []struct {
		path  string
		debug int
	}{{path, 0}, {path + ".txt", 1}} {
		f, err := os.Create(w.path)
		if err != nil {
			return fmt.Errorf("create %s: %w", w.path, err)
		}
		err = pprof.Lookup("heap").WriteTo(f, w.debug)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return nil
}
