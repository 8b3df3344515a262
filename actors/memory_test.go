package actors

import (
	"maps"
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
			if cap(lv) != len(lv) {
				t.Errorf("cap %d, len %d: spare capacity kept", cap(lv), len(lv))
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

func TestCompactSampleCopiesValues(t *testing.T) {
	in := model.Sample{Service: "machine", Resource: "load", Unit: "system", Values: map[string]float64{"load1": 0.5, "load5": 0.25}}
	out := compactSample(in)
	if out.Key() != in.Key() || !maps.Equal(out.Values, in.Values) {
		t.Fatalf("compactSample = %+v, want the values of %+v", out, in)
	}
	out.Values["load1"] = 7 // the host never does this; it shows the maps are distinct
	if in.Values["load1"] != 0.5 {
		t.Fatal("compactSample shares the report's map")
	}
	if got := compactSample(model.Sample{Service: "a", Resource: "b", Unit: "c"}); got.Values != nil {
		t.Fatalf("nil values became %v", got.Values)
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
