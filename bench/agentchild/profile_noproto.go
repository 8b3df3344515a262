//go:build lookout_noproto

package agentchild

import (
	"errors"
	"fmt"
	"os"
)

// Profiling reports whether this build writes the profiles the Env*
// variables ask for: false with the lookout_noproto tag (the slim
// lookout-agent), which links neither runtime/pprof nor runtime/trace.
const Profiling = false

// errNoProfiling is returned when a profile is asked of a slim build.
var errNoProfiling = errors.New("this binary is built without profiling (tag lookout_noproto): profile an agent with `lookout bench --agent-bin bin/lookout`")

// startProfiles fails when any profile variable is set: the slim build
// cannot write one, and a missing file would be found only after the run.
func startProfiles() (stop func(), err error) {
	for _, env := range []string{EnvCPUProfile, EnvMemProfile, EnvTrace} {
		if os.Getenv(env) != "" {
			return nil, fmt.Errorf("%s is set: %w", env, errNoProfiling)
		}
	}
	return func() {}, nil
}

// writeHeapProfile is not reached (startProfiles refused EnvMemProfile).
func writeHeapProfile(path string) error {
	return fmt.Errorf("heap profile %s: %w", path, errNoProfiling)
}
