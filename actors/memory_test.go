package actors

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/rules"
)

func TestLastValuesSortedReplacedExact(t *testing.T) {
	s := func(res, unit string, v float64) model.Sample {
		return model.Sample{Service: "machine", Resource: res, Unit: unit, Values: map[string]float64{"used_percentage": v}}
	}
	tests := []struct {
		name string
		set  []model.Sample
		keys []string
		vals []float64
	}{
		{"empty", nil, nil, nil},
		{"one", []model.Sample{s("cpu", "total", 1)}, []string{"machine.cpu:total"}, []float64{1}},
		{"sorted by series key", []model.Sample{s("memory", "physical", 1), s("cpu", "total", 2), s("disk", "/", 3), s("cpu", "cpu0", 4)},
			[]string{"machine.cpu:cpu0", "machine.cpu:total", "machine.disk:/", "machine.memory:physical"}, []float64{4, 2, 3, 1}},
		{"later sample replaces", []model.Sample{s("cpu", "total", 1), s("disk", "/", 3), s("cpu", "total", 9)},
			[]string{"machine.cpu:total", "machine.disk:/"}, []float64{9, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lv lastValues
			for _, sm := range tt.set {
				lv.set(sm)
			}
			if cap(lv.s.Shapes) != len(lv.s.Shapes) || cap(lv.s.Values) != len(lv.s.Values) {
				t.Errorf("shapes cap %d, len %d, values cap %d, len %d: spare capacity kept",
					cap(lv.s.Shapes), len(lv.s.Shapes), cap(lv.s.Values), len(lv.s.Values))
			}
			got := lv.list()
			if len(got) != len(tt.keys) {
				t.Fatalf("list has %d samples, want %d: %+v", len(got), len(tt.keys), got)
			}
			for i, sm := range got {
				if sm.Key() != tt.keys[i] || sm.Values["used_percentage"] != tt.vals[i] {
					t.Errorf("sample %d = %s %v, want %s %v", i, sm.Key(), sm.Values, tt.keys[i], tt.vals[i])
				}
			}
		})
	}
}

// TestLastValuesSnapshotCopyOnWrite checks that a snapshot handed to the
// query read-model never changes when the host stores newer samples, that
// the host's own values do, and that the report's map is not kept.
func TestLastValuesSnapshotCopyOnWrite(t *testing.T) {
	load := func(v float64) model.Sample {
		return model.Sample{Service: "machine", Resource: "load", Unit: "system", Values: map[string]float64{"load1": v, "load5": v / 2}}
	}
	tests := []struct {
		name  string
		after []model.Sample // stored after the snapshot
		want  map[string]float64
	}{
		{"replaced value", []model.Sample{load(3)}, map[string]float64{"load1": 3, "load5": 1.5}},
		{"new series", []model.Sample{sample("cpu", "total", 1)}, map[string]float64{"load1": 1, "load5": 0.5}},
		{"two changes", []model.Sample{load(5), load(7)}, map[string]float64{"load1": 7, "load5": 3.5}},
		{"other attributes", []model.Sample{{Service: "machine", Resource: "load", Unit: "system", Values: map[string]float64{"load15": 9}}},
			map[string]float64{"load15": 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lv lastValues
			in := load(1)
			lv.set(in)
			in.Values["load1"] = 99 // the caller's map is not kept
			snap := lv.snapshot()
			before := expandSamples(snap)
			for _, s := range tt.after {
				lv.set(s)
			}
			if got := expandSamples(snap); !reflect.DeepEqual(got, before) || before[0].Values["load1"] != 1 {
				t.Fatalf("snapshot changed: %+v, was %+v", got, before)
			}
			var got map[string]float64
			for _, s := range lv.list() {
				if s.Resource == "load" {
					got = s.Values
				}
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("host's load values = %v, want %v", got, tt.want)
			}
		})
	}
	var lv lastValues
	lv.set(model.Sample{Service: "a", Resource: "b", Unit: "c"})
	if got := lv.list(); len(got) != 1 || got[0].Values != nil {
		t.Fatalf("nil values became %+v", got)
	}
}

func TestHostLoadCompactMatchesHostLoad(t *testing.T) {
	u := func(res, unit string, v float64) model.Sample {
		return model.Sample{Service: "machine", Resource: res, Unit: unit, Values: map[string]float64{"used_percentage": v, "x": 1}}
	}
	tests := []struct {
		name    string
		samples []model.Sample
		want    float64
	}{
		{"none", nil, 0},
		{"cpu total only", []model.Sample{u("cpu", "cpu0", 90), u("cpu", "total", 40)}, 40},
		{"fullest disk, capped", []model.Sample{u("disk", "/", 10), u("disk", "/var", 150), u("memory", "physical", 50)}, 75},
		{"all four", []model.Sample{u("cpu", "total", 10), u("memory", "physical", 20), u("disk", "/", 30), u("inodes", "/", 40)}, 25},
		{"no used_percentage", []model.Sample{{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"idle": 3}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lv lastValues
			for _, s := range tt.samples {
				lv.set(s)
			}
			if got := HostLoad(tt.samples); got != tt.want {
				t.Errorf("HostLoad = %v, want %v", got, tt.want)
			}
			if got := hostLoadCompact(lv.s); got != tt.want {
				t.Errorf("hostLoadCompact = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnyHolds(t *testing.T) {
	r, err := rules.Parse("cpu", "*!machine.cpu:total.used_percentage > 90 WARN, > 95 CRIT")
	if err != nil {
		t.Fatal(err)
	}
	cr := &compiledRule{Rule: r}
	item := func(attrs []string, vals map[string]float64) alarmItem {
		return alarmItem{Sample: model.Sample{Service: "machine", Resource: "cpu", Unit: "total", Values: vals}, Attrs: attrs}
	}
	tests := []struct {
		name  string
		items []alarmItem
		want  bool
	}{
		{"none", nil, false},
		{"below", []alarmItem{item([]string{"used_percentage"}, map[string]float64{"used_percentage": 50})}, false},
		{"warn", []alarmItem{item([]string{"used_percentage"}, map[string]float64{"used_percentage": 91})}, true},
		{"crit in second item", []alarmItem{
			item([]string{"used_percentage"}, map[string]float64{"used_percentage": 1}),
			item([]string{"used_percentage"}, map[string]float64{"used_percentage": 99})}, true},
		{"matched attr absent", []alarmItem{item([]string{"used_percentage"}, map[string]float64{"idle": 99})}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := anyHolds(cr, tt.items); got != tt.want {
				t.Fatalf("anyHolds = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAlarmActorSpawnedOnFirstHoldingValue checks that a host whose values
// hold no threshold has no alarm actor, and that the first value holding
// one spawns it and still fires (after its "for" delay).
func TestAlarmActorSpawnedOnFirstHoldingValue(t *testing.T) {
	h := newHarness(t, func(o *MasterOptions) {
		o.Rules = []model.RuleInfo{{Name: "cpu", Expr: "*!machine.cpu:total.used_percentage > 90 WARN for 1m", Source: "config"}}
	})
	all := h.sinks[0]
	alarmPID := func() bool {
		return h.m.Engine().Registry.GetPID(h.m.pids["hosts"].ID+"/host/web1/alarm", "cpu") != nil
	}
	for seq := uint64(1); seq <= 3; seq++ {
		h.send(model.Report{Seq: seq, Samples: cpu(50)})
		h.waitAck(seq)
	}
	waitFor(t, "host status", func() bool { s := h.status("web1"); return s != nil && s.LastSeq == 3 })
	if alarmPID() {
		t.Fatal("alarm actor spawned for a rule no value held")
	}
	h.send(model.Report{Seq: 4, Samples: cpu(95)})
	waitFor(t, "alarm actor", alarmPID)
	waitFor(t, "pending alarm", func() bool {
		al, _ := h.m.Alarms(t.Context())
		return len(al) == 1 && al[0].State == model.AlarmPending
	})
	h.clk.Add(2 * time.Minute)
	h.send(model.Report{Seq: 5, Samples: cpu(96)})
	waitFor(t, "ALARM", func() bool { return hasSubject(all, "[WARN]") })
}
