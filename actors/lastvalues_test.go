package actors

import (
	"context"
	"maps"
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

// storedValues reads web1's nsHostLast key: its samples as key -> "v",
// and the key itself.
func storedValues(t *testing.T, st *store.Store) (map[string]float64, store.LastValues) {
	t.Helper()
	var lv store.LastValues
	if ok, err := st.Get(nsHostLast, "web1", &lv); err != nil || !ok {
		t.Fatalf("nsHostLast web1: found %v, err %v", ok, err)
	}
	out := map[string]float64{}
	for _, s := range lv.Samples {
		out[s.Key()] = s.Values["v"]
	}
	return out, lv
}

// TestLastValuesPerHost checks that ingest stores a host's last values,
// agent, seq and arrival in one key per host, holding per resource the
// newest report's units of that resource merged with the resources a
// report did not carry, that a restarted host actor and ingest load them,
// and that legacy per-resource and per-unit keys are loaded for resources
// without a newer value and deleted where one supersedes them.
func TestLastValuesPerHost(t *testing.T) {
	h := newHarness(t, nil)
	steps := []struct {
		name    string
		samples []model.Sample
		want    map[string]float64 // stored after the report
	}{
		{"first report", []model.Sample{sample("cpu", "total", 1), sample("cpu", "cpu0", 2), sample("memory", "ram", 3), sample("disk", "/", 4)},
			map[string]float64{"machine.cpu:total": 1, "machine.cpu:cpu0": 2, "machine.memory:ram": 3, "machine.disk:/": 4}},
		{"fewer resources: merged with the stored ones", []model.Sample{sample("cpu", "total", 10), sample("disk", "/", 40)},
			map[string]float64{"machine.cpu:total": 10, "machine.memory:ram": 3, "machine.disk:/": 40}},
		{"same resources: replaced", []model.Sample{sample("cpu", "total", 11), sample("disk", "/", 41)},
			map[string]float64{"machine.cpu:total": 11, "machine.memory:ram": 3, "machine.disk:/": 41}},
		{"all resources: replaced", []model.Sample{sample("cpu", "total", 12), sample("memory", "ram", 30), sample("disk", "/", 42)},
			map[string]float64{"machine.cpu:total": 12, "machine.memory:ram": 30, "machine.disk:/": 42}},
		{"a new resource only", []model.Sample{sample("net", "eth0", 5)},
			map[string]float64{"machine.cpu:total": 12, "machine.memory:ram": 30, "machine.disk:/": 42, "machine.net:eth0": 5}},
		{"no samples", nil,
			map[string]float64{"machine.cpu:total": 12, "machine.memory:ram": 30, "machine.disk:/": 42, "machine.net:eth0": 5}},
		{"same resources as stored", []model.Sample{sample("cpu", "total", 13), sample("memory", "ram", 31), sample("disk", "/", 43), sample("net", "eth0", 6)},
			map[string]float64{"machine.cpu:total": 13, "machine.memory:ram": 31, "machine.disk:/": 43, "machine.net:eth0": 6}},
	}
	for i, step := range steps {
		seq := uint64(i + 1)
		h.send(model.Report{Seq: seq, Samples: step.samples})
		h.waitAck(seq)
		got, lv := storedValues(t, h.st)
		if !mapsEqual(got, step.want) {
			t.Fatalf("%s: stored %v, want %v", step.name, got, step.want)
		}
		if lv.Seq != seq || lv.Agent != h.agent.name || lv.Seen == 0 {
			t.Fatalf("%s: stored agent %q seq %d seen %d, want %q %d and a time", step.name, lv.Agent, lv.Seq, lv.Seen, h.agent.name, seq)
		}
	}
	last := steps[len(steps)-1].want
	// In memory, a report's units merge into the host's last values (per
	// unit: cpu0 stays until a restart reloads the stored resources).
	live := maps.Clone(last)
	live["machine.cpu:cpu0"] = 2
	waitFor(t, "live last values", func() bool { return mapsEqual(statusValues(t, h), live) })
	for _, ns := range []string{nsLastRes, nsLast} {
		if got := lastKeys(t, h.st, ns); len(got) != 0 {
			t.Fatalf("legacy keys written in %s: %q", ns, got)
		}
	}

	// Legacy keys written by an older master: per-resource and per-unit
	// keys of a resource the new key has (stale), and of resources it has
	// not (kept); a legacy seq lower than the new key's is ignored.
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
	for _, ss := range [][]model.Sample{{sample("memory", "ram", 8)}, {sample("swap", "total", 9)}} {
		if err := st.Put(nsLastRes, "web1|machine."+ss[0].Resource, ss); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Put(nsSeq, h.agent.name, uint64(2)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()

	want := maps.Clone(last)
	want["machine.load:1"] = 0.5
	want["machine.swap:total"] = 9
	waitFor(t, "reloaded last values", func() bool { return mapsEqual(statusValues(t, h), want) })
	if v, _, err := h.m.LastValue(context.Background(), "web1", "machine.cpu:total", "v"); err != nil || v != 13 {
		t.Fatalf("last value after restart = %v, %v; want 13", v, err)
	}
	if got, want := lastKeys(t, h.st, nsLast), []string{"web1|machine.load:1"}; !slices.Equal(got, want) {
		t.Fatalf("legacy per-unit keys after load = %q, want %q (the superseded one deleted)", got, want)
	}
	if got, want := lastKeys(t, h.st, nsLastRes), []string{"web1|machine.swap"}; !slices.Equal(got, want) {
		t.Fatalf("legacy per-resource keys after load = %q, want %q (the superseded one deleted)", got, want)
	}
	// The restarted ingest knows seq 7 from the new key: 7 is a duplicate,
	// 8 is applied.
	seq := uint64(len(steps))
	h.send(model.Report{Seq: seq, Samples: []model.Sample{sample("cpu", "total", 99)}})
	h.send(model.Report{Seq: seq + 1, Samples: []model.Sample{sample("cpu", "total", 14)}})
	h.waitAck(seq + 1)
	if got, _ := storedValues(t, h.st); got["machine.cpu:total"] != 14 || got["machine.net:eth0"] != 6 {
		t.Fatalf("stored after restart %v, want cpu 14 and net 6 kept", got)
	}
}

// TestLegacySeqLoaded checks that after an upgrade the ingest resumes an
// agent's sequence from the legacy nsSeq key when no new key exists.
func TestLegacySeqLoaded(t *testing.T) {
	h := newHarness(t, nil)
	h.stop()
	st, err := store.Open(h.dir, store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(nsSeq, h.agent.name, uint64(5)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.send(model.Report{Seq: 5, Samples: []model.Sample{sample("cpu", "total", 99)}})
	h.send(model.Report{Seq: 6, Samples: []model.Sample{sample("cpu", "total", 1)}})
	h.waitAck(6)
	if got, lv := storedValues(t, h.st); got["machine.cpu:total"] != 1 || lv.Seq != 6 {
		t.Fatalf("stored %v seq %d, want cpu 1 at seq 6 (seq 5 a duplicate)", got, lv.Seq)
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

// TestUnreadableLastValues checks that an unreadable nsHostLast key does
// not block the ingest: the host starts without it and the next report's
// values replace it.
func TestUnreadableLastValues(t *testing.T) {
	h := newHarness(t, nil)
	h.stop()
	st, err := store.Open(h.dir, store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(nsHostLast, "web1", "not last values"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.send(model.Report{Seq: 1, Samples: []model.Sample{sample("cpu", "total", 3)}})
	h.waitAck(1)
	if got, lv := storedValues(t, h.st); !mapsEqual(got, map[string]float64{"machine.cpu:total": 3}) || lv.Seq != 1 {
		t.Fatalf("stored %v seq %d, want only cpu 3 at seq 1", got, lv.Seq)
	}
}
