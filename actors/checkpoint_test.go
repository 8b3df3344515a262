package actors

import (
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

// TestLastValuesReplayAfterCrash: a master killed after a host's last
// checkpoint (no checkpoint at stop: kill -9, or a panic) rebuilds the
// host's last values from the checkpoint and the raw reports committed
// after it, with the live merge rules (families sent at different
// intervals alternate between reports; a unit a newer report of its
// resource lacks is dropped), resumes its seqs from nsHostSeq (a resent
// report is a duplicate) and goes on. The crash is simulated by putting
// back, after a graceful stop, the checkpoint the host had at that point.
func TestLastValuesReplayAfterCrash(t *testing.T) {
	reports := [][]model.Sample{
		{sample("cpu", "total", 1), sample("cpu", "cpu0", 2), sample("memory", "ram", 3)},
		{sample("cpu", "total", 10)}, // cpu family only: cpu0 gone
		{sample("memory", "ram", 30), sample("disk", "/", 4)},
		{sample("cpu", "total", 11), sample("cpu", "cpu1", 5)},
	}
	want := map[string]float64{"machine.cpu:total": 11, "machine.cpu:cpu1": 5, "machine.memory:ram": 30, "machine.disk:/": 4}
	cases := []struct {
		name string
		// checkpoint is the nsHostLast key to leave behind, given the
		// reports' times and arrivals; nil: none.
		checkpoint func(agent string, times []int64) *store.LastValues
	}{
		{"checkpoint after the first report", func(agent string, times []int64) *store.LastValues {
			return &store.LastValues{Agent: agent, Seq: 1, Seen: times[0], T: times[0], Samples: reports[0]}
		}},
		{"checkpoint after the third report", func(agent string, times []int64) *store.LastValues {
			return &store.LastValues{Agent: agent, Seq: 3, Seen: times[2], T: times[2],
				Samples: []model.Sample{sample("cpu", "total", 10), sample("memory", "ram", 30), sample("disk", "/", 4)}}
		}},
		{"no checkpoint (crash before the first)", nil},
		{"key of an older version (no T) at the second report", func(agent string, times []int64) *store.LastValues {
			return &store.LastValues{Agent: agent, Seq: 2, Seen: times[1],
				Samples: []model.Sample{sample("cpu", "total", 10), sample("memory", "ram", 3)}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			var times []int64
			for i, ss := range reports {
				h.clk.Add(time.Second)
				times = append(times, h.clk.Now().UnixNano())
				h.send(model.Report{Seq: uint64(i + 1), Samples: ss})
				h.waitAck(uint64(i + 1))
			}
			waitFor(t, "live last values", func() bool { return mapsEqual(statusValues(t, h), want) })
			h.stop()
			withStore(t, h.dir, func(st *store.Store) {
				var err error
				if tc.checkpoint == nil {
					err = st.Delete(nsHostLast, "web1")
				} else {
					err = st.Put(nsHostLast, "web1", tc.checkpoint(h.agent.name, times))
				}
				if err != nil {
					t.Fatal(err)
				}
			})
			h.start()
			waitFor(t, "replayed last values", func() bool { return mapsEqual(statusValues(t, h), want) })
			if st := h.status("web1"); st == nil || st.LastSeq != 4 {
				t.Fatalf("status after the restart: %+v, want last seq 4", st)
			}
			// Exactly once: the resent last report is a duplicate, the
			// next one is applied.
			h.send(model.Report{Seq: 4, Samples: []model.Sample{sample("cpu", "total", 99)}})
			h.send(model.Report{Seq: 5, Samples: []model.Sample{sample("cpu", "total", 12)}})
			h.waitAck(5)
			if st := stats(t, h); st.Duplicates != 1 || st.Accepted != 1 {
				t.Fatalf("stats %+v: want seq 4 a duplicate and seq 5 accepted", st)
			}
			want5 := map[string]float64{"machine.cpu:total": 12, "machine.memory:ram": 30, "machine.disk:/": 4}
			waitFor(t, "last values after seq 5", func() bool { return mapsEqual(statusValues(t, h), want5) })
			h.stop()
			if got, lv := checkpointValues(t, h.dir); !mapsEqual(got, want5) || lv.Seq != 5 || lv.T < times[3] {
				t.Fatalf("checkpoint at stop %v seq %d T %d, want %v seq 5 T >= %d", got, lv.Seq, lv.T, want5, times[3])
			}
		})
	}
}

// TestCheckpointTimer: the host actor writes its last values only when
// they changed and the last checkpoint is checkpointEvery old: on a report
// then, and on its tick, so an idle host is checkpointed within about
// checkpointEvery of its last report.
func TestCheckpointTimer(t *testing.T) {
	h := newHarness(t, nil)
	checkpoint := func() (store.LastValues, bool) {
		var lv store.LastValues
		ok, err := h.st.Get(nsHostLast, "web1", &lv)
		if err != nil {
			t.Fatal(err)
		}
		return lv, ok
	}
	h.send(model.Report{Seq: 1, Samples: cpu(1)})
	h.waitAck(1)
	t1 := h.clk.Now().UnixNano()
	h.clk.Add(30 * time.Second)
	h.send(model.Report{Seq: 2, Samples: cpu(2)})
	h.waitAck(2)
	time.Sleep(100 * time.Millisecond) // a few ticks
	if _, ok := checkpoint(); ok {
		t.Fatal("checkpoint written before checkpointEvery passed")
	}
	// Idle: the tick writes it once the minute has passed.
	h.clk.Add(31 * time.Second)
	var lv store.LastValues
	waitFor(t, "the checkpoint by the tick", func() bool {
		var ok bool
		lv, ok = checkpoint()
		return ok
	})
	t2 := h.clk.Now().Add(-31 * time.Second).UnixNano()
	if lv.Seq != 2 || lv.T != t2 || len(lv.Samples) != 1 || lv.Samples[0].Values["used_percentage"] != 2 {
		t.Fatalf("checkpoint %+v, want seq 2 at T %d (not %d) with cpu 2", lv, t2, t1)
	}
	// Nothing changed: no new checkpoint, even a minute later.
	if err := h.st.Delete(nsHostLast, "web1"); err != nil {
		t.Fatal(err)
	}
	h.clk.Add(2 * time.Minute)
	time.Sleep(100 * time.Millisecond)
	if _, ok := checkpoint(); ok {
		t.Fatal("a checkpoint was written without a change")
	}
	// A report a minute after the last checkpoint writes one at once.
	h.send(model.Report{Seq: 3, Samples: cpu(3)})
	h.waitAck(3)
	waitFor(t, "the checkpoint by the report", func() bool {
		lv, ok := checkpoint()
		return ok && lv.Seq == 3 && lv.T == h.clk.Now().UnixNano()
	})
}

// TestCheckpointEvery: a short raw retention shortens the checkpoint
// interval to half of it, so the raw reports after a checkpoint are still
// kept when they are replayed.
func TestCheckpointEvery(t *testing.T) {
	for _, tc := range []struct {
		raw, want time.Duration
	}{
		{0, time.Minute}, // default: 2h
		{time.Hour, time.Minute},
		{2 * time.Minute, time.Minute},
		{30 * time.Second, 15 * time.Second},
	} {
		st, err := store.Open(t.TempDir(), store.Options{Logger: quietLog(), RawRetention: tc.raw})
		if err != nil {
			t.Fatal(err)
		}
		h := &host{cfg: &HostsConfig{Store: st}}
		if got := h.checkpointEvery(); got != tc.want {
			t.Errorf("raw retention %v: checkpoint every %v, want %v", tc.raw, got, tc.want)
		}
		_ = st.Close()
	}
}

// TestLastValuesApply checks the merge rules of a report into a host's
// last values: per service.resource the report carries, its units replace
// the held ones; other resources stay; a snapshot handed out is never
// changed.
func TestLastValuesApply(t *testing.T) {
	base := []model.Sample{sample("cpu", "total", 1), sample("cpu", "cpu0", 2), sample("memory", "ram", 3), sample("disk", "/", 4), sample("disk", "/home", 5)}
	cases := []struct {
		name   string
		report []model.Sample
		want   map[string]float64
	}{
		{"same series", []model.Sample{sample("cpu", "total", 10), sample("cpu", "cpu0", 20), sample("memory", "ram", 30), sample("disk", "/", 40), sample("disk", "/home", 50)},
			map[string]float64{"machine.cpu:total": 10, "machine.cpu:cpu0": 20, "machine.memory:ram": 30, "machine.disk:/": 40, "machine.disk:/home": 50}},
		{"one family", []model.Sample{sample("memory", "ram", 30)},
			map[string]float64{"machine.cpu:total": 1, "machine.cpu:cpu0": 2, "machine.memory:ram": 30, "machine.disk:/": 4, "machine.disk:/home": 5}},
		{"a unit gone", []model.Sample{sample("disk", "/", 40)},
			map[string]float64{"machine.cpu:total": 1, "machine.cpu:cpu0": 2, "machine.memory:ram": 3, "machine.disk:/": 40}},
		{"units replaced", []model.Sample{sample("cpu", "cpu1", 7), sample("cpu", "cpu2", 8)},
			map[string]float64{"machine.cpu:cpu1": 7, "machine.cpu:cpu2": 8, "machine.memory:ram": 3, "machine.disk:/": 4, "machine.disk:/home": 5}},
		{"a new resource", []model.Sample{sample("net", "eth0", 9)},
			map[string]float64{"machine.cpu:total": 1, "machine.cpu:cpu0": 2, "machine.memory:ram": 3, "machine.disk:/": 4, "machine.disk:/home": 5, "machine.net:eth0": 9}},
		{"same count, other series", []model.Sample{sample("a", "1", 1), sample("a", "2", 2), sample("b", "1", 3), sample("c", "1", 4), sample("disk", "/", 6)},
			map[string]float64{"machine.cpu:total": 1, "machine.cpu:cpu0": 2, "machine.memory:ram": 3, "machine.disk:/": 6,
				"machine.a:1": 1, "machine.a:2": 2, "machine.b:1": 3, "machine.c:1": 4}},
		{"nothing", nil,
			map[string]float64{"machine.cpu:total": 1, "machine.cpu:cpu0": 2, "machine.memory:ram": 3, "machine.disk:/": 4, "machine.disk:/home": 5}},
	}
	values := func(cs model.CompactSamples) map[string]float64 {
		out := map[string]float64{}
		for _, s := range cs.Samples() {
			out[s.Key()] = s.Values["v"]
		}
		return out
	}
	for _, tc := range cases {
		var lv lastValues
		lv.apply(base)
		snap := lv.snapshot()
		before := values(snap)
		lv.apply(tc.report)
		if got := values(lv.s); !mapsEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if got := values(snap); !mapsEqual(got, before) {
			t.Errorf("%s: the snapshot changed: %v, was %v", tc.name, got, before)
		}
		if len(lv.s.Shapes) != len(tc.want) || len(lv.s.Values) != len(tc.want) || cap(lv.s.Values) != len(lv.s.Values) {
			t.Errorf("%s: %d shapes, %d values (cap %d) for %d series", tc.name, len(lv.s.Shapes), len(lv.s.Values), cap(lv.s.Values), len(tc.want))
		}
		for i := 1; i < len(lv.s.Shapes); i++ {
			if lv.s.Shapes[i-1].Key >= lv.s.Shapes[i].Key {
				t.Errorf("%s: shapes out of order: %q before %q", tc.name, lv.s.Shapes[i-1].Key, lv.s.Shapes[i].Key)
			}
		}
		if sh := lv.shape("machine.memory:ram"); sh == nil || sh.Resource != "memory" {
			t.Errorf("%s: shape(machine.memory:ram) = %v", tc.name, sh)
		}
		if sh := lv.shape("machine.nothing:x"); sh != nil {
			t.Errorf("%s: shape of an unknown series = %v", tc.name, sh)
		}
	}
}
