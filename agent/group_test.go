package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

func TestGroups(t *testing.T) {
	f := func(name string, iv time.Duration, solo bool) family {
		return family{name: name, interval: iv, solo: solo, ownWorker: solo}
	}
	own := func(name string, iv time.Duration) family {
		return family{name: name, interval: iv, ownWorker: true}
	}
	tests := []struct {
		name string
		in   []family
		want []string // "name@interval lanes"
	}{
		{"all one interval", []family{f("cpu", time.Second, false), f("memory", time.Second, false), f("uptime", time.Second, false)},
			[]string{"cpu+memory+uptime@1s [[0 1 2]]"}},
		{"own worker", []family{f("cpu", time.Second, false), own("disk", time.Second), f("memory", time.Second, false),
			own("nfs", time.Second)},
			[]string{"cpu+disk+memory+nfs@1s [[0 2] [1] [3]]"}},
		{"own worker first", []family{own("disk", time.Second), f("cpu", time.Second, false)},
			[]string{"disk+cpu@1s [[0] [1]]"}},
		{"by interval, in order", []family{f("cpu", 5*time.Second, false), f("memory", 10*time.Second, false),
			own("disk", 30*time.Second), f("network", 10*time.Second, false), f("heartbeat", 10*time.Second, false)},
			[]string{"cpu@5s [[0]]", "memory+network+heartbeat@10s [[0 1 2]]", "disk@30s [[0]]"}},
		{"solo families alone", []family{f("cpu", time.Second, false), f("ports", time.Second, true),
			f("processes", time.Second, true), f("uptime", time.Second, false)},
			[]string{"cpu+uptime@1s [[0 1]]", "ports@1s [[0]]", "processes@1s [[0]]"}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			n := 0
			for _, g := range groups(tt.in) {
				got = append(got, fmt.Sprintf("%s@%s %v", g.name, g.interval, g.lanes))
				n += len(g.families)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("groups = %v, want %v", got, tt.want)
			}
			if n != len(tt.in) {
				t.Errorf("groups hold %d families, want %d", n, len(tt.in))
			}
		})
	}
}

// TestDefaultGroups checks the grouping of the real families: the
// default intervals give 4 /proc groups, ports/processes/textfile alone.
func TestDefaultGroups(t *testing.T) {
	cfg := configs.AgentConfig{TextfileDir: t.TempDir(),
		Ports:     []configs.PortCheck{{Name: "ssh", Port: 22}},
		Processes: []configs.ProcessCheck{{Name: "init", Match: "init"}}}
	var got []string
	for _, g := range groups(families(cfg, func() uint64 { return 0 }, nil)) {
		got = append(got, g.name)
	}
	want := []string{"cpu", "memory+network+heartbeat", "disk", "uptime", "textfile", "ports", "processes"}
	if !slices.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
}

// gateCollector returns one sample per call, named after the collector;
// when gate is set, each call waits for a value from it first.
type gateCollector struct {
	name  string
	gate  chan struct{}
	n     int
	fail  bool
	ready chan struct{} // if set, receives once per call when it starts
}

func (g *gateCollector) Name() string { return g.name }

func (g *gateCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	if g.ready != nil {
		g.ready <- struct{}{}
	}
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	g.n++
	if g.fail {
		return nil, errors.New(g.name + " failed")
	}
	return []model.Sample{sample("test", fmt.Sprintf("%s#%d", g.name, g.n), map[string]float64{"v": 1})}, nil
}

// reportSink spawns a collectorActor for gr under a parent that records
// every collection it receives.
type reportSink struct {
	mu   sync.Mutex
	got  [][]string       // units per collection
	kept [][]model.Sample // the samples of every collection, as received
}

func (r *reportSink) snapshot() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func startGroup(t *testing.T, gr group) *reportSink {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{cstat: map[string]CollectorStats{}}
	sink := &reportSink{}
	log := testLog
	pid := e.SpawnFunc(func(c *actor.Context) {
		switch m := c.Message().(type) {
		case actor.Started:
			ca := &collectorActor{grp: gr, a: a, log: log}
			c.SpawnChild(func() actor.Receiver { return ca }, "collector", actor.WithID(gr.name))
		case collected:
			var units []string
			for _, s := range m.samples {
				units = append(units, s.Unit)
			}
			slices.Sort(units)
			sink.mu.Lock()
			sink.got = append(sink.got, units)
			sink.kept = append(sink.kept, m.samples)
			sink.mu.Unlock()
		}
	}, "testagent")
	t.Cleanup(func() { <-e.Poison(pid).Done() })
	return sink
}

// TestCollectorRoundsCombine: all families of a group report as one
// collection per tick.
func TestCollectorRoundsCombine(t *testing.T) {
	gr := groups([]family{
		{name: "a", interval: 200 * time.Millisecond, collectors: []Collector{&gateCollector{name: "a"}, &gateCollector{name: "a2"}}},
		{name: "b", interval: 200 * time.Millisecond, collectors: []Collector{&gateCollector{name: "b"}}},
		{name: "c", interval: 200 * time.Millisecond, collectors: []Collector{&gateCollector{name: "c", fail: true}}},
	})[0]
	sink := startGroup(t, gr)
	waitFor(t, 5*time.Second, "3 collections", func() bool { return len(sink.snapshot()) >= 3 })
	for i, units := range sink.snapshot()[:3] {
		want := []string{fmt.Sprintf("a#%d", i+1), fmt.Sprintf("a2#%d", i+1), fmt.Sprintf("b#%d", i+1)}
		if !slices.Equal(units, want) {
			t.Errorf("collection %d = %v, want %v (one per tick, every family)", i, units, want)
		}
	}
}

// TestCollectorRoundsKeepSamples: the workers reuse their result buffers
// from round to round, but a collection, once delivered (it goes into a
// report and the uplinks' outboxes), is never changed by later rounds.
func TestCollectorRoundsKeepSamples(t *testing.T) {
	tests := []struct {
		name string
		fams []family
	}{
		{"one family", []family{
			{name: "a", interval: 10 * time.Millisecond, collectors: []Collector{&gateCollector{name: "a"}}}}},
		{"two lanes", []family{
			{name: "a", interval: 10 * time.Millisecond, collectors: []Collector{&gateCollector{name: "a"}}},
			{name: "b", interval: 10 * time.Millisecond, collectors: []Collector{&gateCollector{name: "b"}}, ownWorker: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := startGroup(t, groups(tt.fams)[0])
			waitFor(t, 5*time.Second, "20 collections", func() bool { return len(sink.snapshot()) >= 20 })
			sink.mu.Lock()
			defer sink.mu.Unlock()
			for i, units := range sink.got {
				var now []string
				for _, s := range sink.kept[i] {
					now = append(now, s.Unit)
				}
				slices.Sort(now)
				if !slices.Equal(now, units) {
					t.Errorf("collection %d was %v when delivered and is %v now", i, units, now)
				}
			}
		})
	}
}

// TestCollectorRoundsStraggler: a family slower than the interval does not
// hold the others: the tick's collection goes at the next tick without it,
// the straggler's result goes alone, and its busy ticks are skipped.
func TestCollectorRoundsStraggler(t *testing.T) {
	slow := &gateCollector{name: "slow", gate: make(chan struct{}), ready: make(chan struct{}, 100)}
	gr := groups([]family{
		{name: "fast", interval: 30 * time.Millisecond, collectors: []Collector{&gateCollector{name: "fast"}}},
		{name: "slow", interval: 30 * time.Millisecond, collectors: []Collector{slow}, ownWorker: true},
	})[0]
	sink := startGroup(t, gr)
	<-slow.ready
	waitFor(t, 5*time.Second, "3 collections without the slow family", func() bool { return len(sink.snapshot()) >= 3 })
	if n := len(slow.ready); n != 0 {
		t.Errorf("the slow family started %d more runs while busy, want its ticks skipped", n)
	}
	slow.gate <- struct{}{} // the slow family's first run ends
	waitFor(t, 5*time.Second, "the slow result", func() bool {
		for _, u := range sink.snapshot() {
			if slices.Contains(u, "slow#1") {
				return true
			}
		}
		return false
	})
	got := sink.snapshot()
	for i, units := range got {
		if slices.Contains(units, "slow#1") {
			if len(units) != 1 {
				t.Errorf("the straggler's result went with %v, want alone", units)
			}
			continue
		}
		if len(units) != 1 || !strings.HasPrefix(units[0], "fast#") {
			t.Errorf("collection %d = %v, want only the fast family", i, units)
		}
	}
	// Once free, it joins the rounds again.
	close(slow.gate)
	waitFor(t, 5*time.Second, "a combined collection again", func() bool {
		for _, u := range sink.snapshot() {
			if len(u) == 2 && strings.HasPrefix(u[0], "fast#") && strings.HasPrefix(u[1], "slow#") {
				return true
			}
		}
		return false
	})
}

// TestCollectorRoundsSharedLane: families without ownWorker share one
// worker: a slow one delays the others of its lane (they skip ticks
// together), and their results still arrive complete, in one collection.
func TestCollectorRoundsSharedLane(t *testing.T) {
	slow := &gateCollector{name: "slow", gate: make(chan struct{}), ready: make(chan struct{}, 100)}
	gr := groups([]family{
		{name: "fast", interval: 30 * time.Millisecond, collectors: []Collector{&gateCollector{name: "fast"}}},
		{name: "slow", interval: 30 * time.Millisecond, collectors: []Collector{slow}},
	})[0]
	if len(gr.lanes) != 1 {
		t.Fatalf("lanes = %v, want one shared lane", gr.lanes)
	}
	sink := startGroup(t, gr)
	<-slow.ready
	time.Sleep(100 * time.Millisecond) // ~3 ticks, all skipped: the lane is busy
	if got := sink.snapshot(); len(got) != 0 {
		t.Fatalf("collections while the shared lane is busy: %v", got)
	}
	slow.gate <- struct{}{}
	waitFor(t, 5*time.Second, "the lane's results", func() bool { return len(sink.snapshot()) >= 1 })
	if got := sink.snapshot()[0]; !slices.Equal(got, []string{"fast#1", "slow#1"}) {
		t.Errorf("first collection = %v, want [fast#1 slow#1] (one collection, nothing lost)", got)
	}
	close(slow.gate)
}

// TestCollectorRoundsCap: a round's samples over maxGroupSamples are split
// into several collections, none over the cap.
func TestCollectorRoundsCap(t *testing.T) {
	var fams []family
	per := maxGroupSamples/2 + 1
	for i := range 3 {
		fams = append(fams, family{name: fmt.Sprint("f", i), interval: time.Hour,
			collectors: []Collector{manyCollector(per)}})
	}
	sink := startGroup(t, groups(fams)[0])
	waitFor(t, 5*time.Second, "all samples", func() bool {
		n := 0
		for _, u := range sink.snapshot() {
			n += len(u)
		}
		return n == 3*per
	})
	for i, u := range sink.snapshot() {
		if len(u) > maxGroupSamples {
			t.Errorf("collection %d has %d samples, cap %d", i, len(u), maxGroupSamples)
		}
	}
}

// manyCollector returns n samples per call.
type manyCollector int

func (m manyCollector) Name() string { return "many" }

func (m manyCollector) Collect(context.Context) ([]model.Sample, error) {
	out := make([]model.Sample, int(m))
	for i := range out {
		out[i] = sample("test", fmt.Sprint(i), map[string]float64{"v": 1})
	}
	return out, nil
}
