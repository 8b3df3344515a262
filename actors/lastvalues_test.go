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

// storedSeq reads host's nsHostSeq key, which ingest commits with every
// batch that carries one of the host's reports.
func storedSeq(t *testing.T, st *store.Store, host string) store.HostSeq {
	t.Helper()
	var hs store.HostSeq
	if ok, err := st.Get(nsHostSeq, host, &hs); err != nil || !ok {
		t.Fatalf("nsHostSeq %s: found %v, err %v", host, ok, err)
	}
	return hs
}

// checkpointValues reads web1's nsHostLast checkpoint from the store in
// dir (the master stopped): its samples as key -> "v", and the key itself.
func checkpointValues(t *testing.T, dir string) (map[string]float64, store.LastValues) {
	t.Helper()
	st, err := store.Open(dir, store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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

// withStore runs fn on the store in dir while the master is stopped.
func withStore(t *testing.T, dir string, fn func(st *store.Store)) {
	t.Helper()
	st, err := store.Open(dir, store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	fn(st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLastValuesPerHost checks that ingest commits, per batch, only a
// host's agent, seq and arrival (nsHostSeq) beside each report's raw
// entry; that the host's last values hold per resource the newest
// report's units of that resource, merged with the resources a report did
// not carry, live and in the checkpoint its host actor writes when it
// stops; that a restarted host actor and ingest load them; and that
// legacy per-resource and per-unit keys are loaded for resources without
// a newer value and deleted where one supersedes them.
func TestLastValuesPerHost(t *testing.T) {
	h := newHarness(t, nil)
	steps := []struct {
		name    string
		samples []model.Sample
		want    map[string]float64 // last values after the report
	}{
		{"first report", []model.Sample{sample("cpu", "total", 1), sample("cpu", "cpu0", 2), sample("memory", "ram", 3), sample("disk", "/", 4)},
			map[string]float64{"machine.cpu:total": 1, "machine.cpu:cpu0": 2, "machine.memory:ram": 3, "machine.disk:/": 4}},
		{"fewer resources: merged with the others, cpu0 gone", []model.Sample{sample("cpu", "total", 10), sample("disk", "/", 40)},
			map[string]float64{"machine.cpu:total": 10, "machine.memory:ram": 3, "machine.disk:/": 40}},
		{"same resources: replaced", []model.Sample{sample("cpu", "total", 11), sample("disk", "/", 41)},
			map[string]float64{"machine.cpu:total": 11, "machine.memory:ram": 3, "machine.disk:/": 41}},
		{"all resources: replaced", []model.Sample{sample("cpu", "total", 12), sample("memory", "ram", 30), sample("disk", "/", 42)},
			map[string]float64{"machine.cpu:total": 12, "machine.memory:ram": 30, "machine.disk:/": 42}},
		{"a new resource only", []model.Sample{sample("net", "eth0", 5)},
			map[string]float64{"machine.cpu:total": 12, "machine.memory:ram": 30, "machine.disk:/": 42, "machine.net:eth0": 5}},
		{"no samples", nil,
			map[string]float64{"machine.cpu:total": 12, "machine.memory:ram": 30, "machine.disk:/": 42, "machine.net:eth0": 5}},
		{"same resources as held", []model.Sample{sample("cpu", "total", 13), sample("memory", "ram", 31), sample("disk", "/", 43), sample("net", "eth0", 6)},
			map[string]float64{"machine.cpu:total": 13, "machine.memory:ram": 31, "machine.disk:/": 43, "machine.net:eth0": 6}},
	}
	for i, step := range steps {
		seq := uint64(i + 1)
		h.send(model.Report{Seq: seq, Samples: step.samples})
		h.waitAck(seq)
		hs := storedSeq(t, h.st, "web1")
		if hs.Seq != seq || hs.Agent != h.agent.name || hs.Seen == 0 {
			t.Fatalf("%s: stored agent %q seq %d seen %d, want %q %d and a time", step.name, hs.Agent, hs.Seq, hs.Seen, h.agent.name, seq)
		}
		// The clock stands still: no checkpoint is due, and the ingest
		// writes none.
		if ok, err := h.st.Get(nsHostLast, "web1", &store.LastValues{}); err != nil || ok {
			t.Fatalf("%s: a last-values key was written with the batch (found %v, err %v)", step.name, ok, err)
		}
	}
	last := steps[len(steps)-1].want
	waitFor(t, "live last values", func() bool { return mapsEqual(statusValues(t, h), last) })
	for _, ns := range []string{nsLastRes, nsLast} {
		if got := lastKeys(t, h.st, ns); len(got) != 0 {
			t.Fatalf("legacy keys written in %s: %q", ns, got)
		}
	}

	// A graceful stop writes the checkpoint.
	h.stop()
	if got, lv := checkpointValues(t, h.dir); !mapsEqual(got, last) || lv.Seq != uint64(len(steps)) || lv.T == 0 || lv.Agent != h.agent.name {
		t.Fatalf("checkpoint at stop: %v seq %d T %d agent %q; want %v seq %d", got, lv.Seq, lv.T, lv.Agent, last, len(steps))
	}
	// Legacy keys written by an older master: per-resource and per-unit
	// keys of a resource the checkpoint has (stale), and of resources it
	// has not (kept); a legacy seq lower than the new keys' is ignored.
	withStore(t, h.dir, func(st *store.Store) {
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
	})
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
	// The restarted ingest knows seq 7 from the new keys: 7 is a
	// duplicate, 8 is applied.
	seq := uint64(len(steps))
	h.send(model.Report{Seq: seq, Samples: []model.Sample{sample("cpu", "total", 99)}})
	h.send(model.Report{Seq: seq + 1, Samples: []model.Sample{sample("cpu", "total", 14)}})
	h.waitAck(seq + 1)
	h.stop()
	if got, lv := checkpointValues(t, h.dir); got["machine.cpu:total"] != 14 || got["machine.net:eth0"] != 6 || lv.Seq != seq+1 {
		t.Fatalf("checkpoint after restart %v seq %d, want cpu 14 and net 6 kept at seq %d", got, lv.Seq, seq+1)
	}
}

// TestLegacySeqLoaded checks that after an upgrade the ingest resumes an
// agent's sequence from the legacy nsSeq key when no new key exists.
func TestLegacySeqLoaded(t *testing.T) {
	h := newHarness(t, nil)
	h.stop()
	withStore(t, h.dir, func(st *store.Store) {
		if err := st.Put(nsSeq, h.agent.name, uint64(5)); err != nil {
			t.Fatal(err)
		}
	})
	h.start()
	h.send(model.Report{Seq: 5, Samples: []model.Sample{sample("cpu", "total", 99)}})
	h.send(model.Report{Seq: 6, Samples: []model.Sample{sample("cpu", "total", 1)}})
	h.waitAck(6)
	if hs := storedSeq(t, h.st, "web1"); hs.Seq != 6 {
		t.Fatalf("stored seq %d, want 6 (seq 5 a duplicate)", hs.Seq)
	}
	if st := stats(t, h); st.Duplicates != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v: want 1 duplicate and 1 accepted", st)
	}
	waitFor(t, "cpu 1", func() bool { return mapsEqual(statusValues(t, h), map[string]float64{"machine.cpu:total": 1}) })
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
// not block the ingest or the host: the host starts without it (replaying
// the raw reports still kept) and its next checkpoint replaces it.
func TestUnreadableLastValues(t *testing.T) {
	h := newHarness(t, nil)
	h.stop()
	withStore(t, h.dir, func(st *store.Store) {
		if err := st.Put(nsHostLast, "web1", "not last values"); err != nil {
			t.Fatal(err)
		}
	})
	h.start()
	h.send(model.Report{Seq: 1, Samples: []model.Sample{sample("cpu", "total", 3)}})
	h.waitAck(1)
	waitFor(t, "cpu 3", func() bool { return mapsEqual(statusValues(t, h), map[string]float64{"machine.cpu:total": 3}) })
	h.stop()
	if got, lv := checkpointValues(t, h.dir); !mapsEqual(got, map[string]float64{"machine.cpu:total": 3}) || lv.Seq != 1 {
		t.Fatalf("checkpoint %v seq %d, want only cpu 3 at seq 1", got, lv.Seq)
	}
}
