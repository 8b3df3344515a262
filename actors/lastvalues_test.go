package actors

import (
	"context"
	"slices"
	"testing"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

func sample(res, unit string, v float64) model.Sample {
	return model.Sample{Service: "machine", Resource: res, Unit: unit, Values: map[string]float64{"v": v}}
}

// lastKeys lists the keys of ns for host web1.
func lastKeys(t *testing.T, st *store.Store, ns string) []string {
	t.Helper()
	var keys []string
	if err := st.List(ns, "web1|", func(key string, _ []byte) error {
		keys = append(keys, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// statusValues maps each sample of a host's status to its "v" value.
func statusValues(t *testing.T, h *harness) map[string]float64 {
	t.Helper()
	st := h.status("web1")
	if st == nil {
		return nil // not known yet (the host actor may still be starting)
	}
	out := map[string]float64{}
	for _, s := range st.Samples {
		out[s.Key()] = s.Values["v"]
	}
	return out
}

// TestLastValuesPerResource checks that ingest stores last values as one
// key per (host, service.resource) holding the newest report's units of
// that resource, that a restarted host actor loads them, and that legacy
// per-unit keys are loaded for resources without a newer key and deleted
// where one supersedes them.
func TestLastValuesPerResource(t *testing.T) {
	h := newHarness(t, nil)
	h.send(model.Report{Seq: 1, Samples: []model.Sample{
		sample("cpu", "total", 1), sample("cpu", "cpu0", 2), sample("memory", "ram", 3), sample("disk", "/", 4),
	}})
	h.send(model.Report{Seq: 2, Samples: []model.Sample{sample("cpu", "total", 10), sample("disk", "/", 40)}})
	h.waitAck(2)
	wantKeys := []string{"web1|machine.cpu", "web1|machine.disk", "web1|machine.memory"}
	if got := lastKeys(t, h.st, nsLastRes); !slices.Equal(got, wantKeys) {
		t.Fatalf("per-resource last-value keys = %q, want %q", got, wantKeys)
	}
	if got := lastKeys(t, h.st, nsLast); len(got) != 0 {
		t.Fatalf("per-unit last-value keys written: %q", got)
	}
	// In memory, a report's units merge into the host's last values.
	live := map[string]float64{"machine.cpu:total": 10, "machine.cpu:cpu0": 2, "machine.memory:ram": 3, "machine.disk:/": 40}
	waitFor(t, "live last values", func() bool { return mapsEqual(statusValues(t, h), live) })

	// Legacy keys written by an older master: one for a resource that has
	// a per-resource key (stale), one for a resource that has none.
	h.stop()
	st, err := store.Open(h.dir, store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []model.Sample{sample("cpu", "old", 7), sample("load", "1", 0.5)} {
		if err := st.Put(nsLast, "web1|"+s.Key(), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()

	// After the restart, each resource holds the units of its newest
	// report (cpu0 was not in report 2, so it is gone), plus the legacy
	// value of the resource that had no per-resource key.
	want := map[string]float64{"machine.cpu:total": 10, "machine.memory:ram": 3, "machine.disk:/": 40, "machine.load:1": 0.5}
	waitFor(t, "reloaded last values", func() bool { return mapsEqual(statusValues(t, h), want) })
	if v, _, err := h.m.LastValue(context.Background(), "web1", "machine.cpu:total", "v"); err != nil || v != 10 {
		t.Fatalf("last value after restart = %v, %v; want 10", v, err)
	}
	if got, want := lastKeys(t, h.st, nsLast), []string{"web1|machine.load:1"}; !slices.Equal(got, want) {
		t.Fatalf("legacy keys after load = %q, want %q (the superseded one deleted)", got, want)
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
