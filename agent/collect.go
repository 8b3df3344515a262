package agent

import (
	"context"
	"path"

	"github.com/lookout-mon/lookout/model"
)

// Collector measures one family of resources. Collect is called from one
// goroutine at a time (the family's collector actor never overlaps calls), so
// implementations may keep the previous counters for rates without locking.
type Collector interface {
	// Name is the collector's short name ("cpu", "disk"), used in logs.
	Name() string
	// Collect returns the samples measured now. A rate collector returns
	// nothing on its first call (it only primes its counters).
	Collect(ctx context.Context) ([]model.Sample, error)
}

// CheckCollector is a Collector that also produces up/down check states
// (ports, processes). CollectChecks returns the samples together with the
// checks to report: every check once with Initial set on the first call, then
// only the checks whose state changed. Collect on such a collector returns the
// same samples and discards the checks, so the agent always calls
// CollectChecks.
type CheckCollector interface {
	Collector
	CollectChecks(ctx context.Context) ([]model.Sample, []model.Check, error)
}

// sample builds a machine sample.
func sample(resource, unit string, values map[string]float64) model.Sample {
	return model.Sample{Service: model.ServiceMachine, Resource: resource, Unit: unit, Values: values}
}

// percent returns part/whole*100, or 0 when whole is 0.
func percent(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return part / whole * 100
}

// matchAny reports whether name matches any of the globs (path.Match syntax).
// A malformed glob is compared literally.
func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, err := path.Match(g, name); (err == nil && ok) || g == name {
			return true
		}
	}
	return false
}

// counterDelta returns new-old for a monotonic counter. When the counter went
// backwards it returns ok=false (a reset) unless wrap32 is set and the old
// value fits in 32 bits, in which case the counter is taken to have wrapped at
// 2^32.
func counterDelta(old, new uint64, wrap32 bool) (delta uint64, ok bool) {
	if new >= old {
		return new - old, true
	}
	if wrap32 && old <= 1<<32-1 {
		return new + (1 << 32) - old, true
	}
	return 0, false
}
