package actors

import (
	"reflect"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
)

// TestQueryCompactSamples checks that the query read-model, which keeps
// each host's samples compact (shared with the host actor), answers with
// the same samples the host stored, builds them afresh for every answer,
// and leaves them out where it always did.
func TestQueryCompactSamples(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	q := e.Spawn(newQuery(nil, quietLog()), "query")
	t.Cleanup(func() { <-e.Poison(q).Done() })
	ask := func(msg any) any {
		t.Helper()
		res, err := e.Request(q, msg, 5*time.Second).Result()
		if err != nil {
			t.Fatalf("query %T: %v", msg, err)
		}
		return res
	}
	seen := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	samples := []model.Sample{
		{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"used_percentage": 12, "idle": 88}},
		{Service: "machine", Resource: "disk", Unit: "/", Values: map[string]float64{"used_percentage": 50}},
		{Service: model.ServicePort, Resource: "port", Unit: "ssh (22)", Values: map[string]float64{"latency_ms": 1}},
		{Service: "heartbeat", Resource: "beat", Unit: "", Values: nil},
	}
	var lv lastValues
	for _, s := range samples {
		lv.set(s)
	}
	want := lv.list()
	e.Send(q, statusUpdate{Status: model.HostStatus{Host: "web1", Up: true, LastSeen: seen, Load: 31,
		Checks: []model.CheckStatus{{Service: model.ServicePort, Unit: "ssh (22)", Up: false, Since: seen}}},
		Samples: lv.snapshot()})

	tests := []struct {
		name  string
		msg   any
		check func(t *testing.T, res any)
	}{
		{"server status has the samples", qServerStatus{Host: "web1"}, func(t *testing.T, res any) {
			st := res.(*model.HostStatus)
			if st == nil || !reflect.DeepEqual(st.Samples, want) || st.Load != 31 || !st.Up || st.LastSeen != seen {
				t.Fatalf("status = %+v, want samples %+v", st, want)
			}
			st.Samples[1].Values["used_percentage"] = -1 // machine.cpu:total; the answer is the caller's
		}},
		{"server status again, unchanged", qServerStatus{Host: "web1"}, func(t *testing.T, res any) {
			if st := res.(*model.HostStatus); !reflect.DeepEqual(st.Samples, want) {
				t.Fatalf("samples = %+v, want %+v", st.Samples, want)
			}
		}},
		{"unknown host", qServerStatus{Host: "nope"}, func(t *testing.T, res any) {
			if st := res.(*model.HostStatus); st != nil {
				t.Fatalf("status of an unknown host = %+v", st)
			}
		}},
		{"server list without samples", qServerList{}, func(t *testing.T, res any) {
			l := res.([]model.HostStatus)
			if len(l) != 1 || l[0].Host != "web1" || l[0].Samples != nil || len(l[0].Checks) != 1 {
				t.Fatalf("list = %+v", l)
			}
		}},
		{"down list without samples", qDownList{}, func(t *testing.T, res any) {
			l := res.([]model.HostStatus)
			if len(l) != 1 || l[0].Samples != nil || len(l[0].Checks) != 1 {
				t.Fatalf("down list = %+v", l)
			}
		}},
		{"service list: samples in key order, ports from checks", qServiceList{Host: "web1"}, func(t *testing.T, res any) {
			l := res.([]model.ServiceStatus)
			var got []string
			for _, s := range l {
				got = append(got, s.Service+"."+s.Resource+":"+s.Unit)
				if !s.LastSeen.Equal(seen) || s.Host != "web1" {
					t.Errorf("service %+v: wrong host or last seen", s)
				}
			}
			wantKeys := []string{"heartbeat.beat:", "machine.cpu:total", "machine.disk:/", "port.port:ssh (22)"}
			if !reflect.DeepEqual(got, wantKeys) {
				t.Fatalf("services = %q, want %q", got, wantKeys)
			}
			if up := l[3].Up; up == nil || *up {
				t.Fatalf("port service up = %v, want false (from its check)", up)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, ask(tt.msg)) })
	}

	// The host changes its values after handing them over: the read-model
	// keeps what it was given until the next update.
	lv.set(model.Sample{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"used_percentage": 99, "idle": 1}})
	if st := ask(qServerStatus{Host: "web1"}).(*model.HostStatus); !reflect.DeepEqual(st.Samples, want) {
		t.Fatalf("read-model changed with the host's values: %+v", st.Samples)
	}
	e.Send(q, statusUpdate{Status: model.HostStatus{Host: "web1", Up: true, LastSeen: seen}, Samples: lv.snapshot()})
	if st := ask(qServerStatus{Host: "web1"}).(*model.HostStatus); st.Samples[1].Values["used_percentage"] != 99 {
		t.Fatalf("update not applied: %+v", st.Samples)
	}
}

// TestQueryTransitionsWithoutSamples checks that the transition list keeps
// host state changes without the host's samples (the list shows the state
// only), leaves the published event's status untouched for the other
// subscribers, and keeps other events as they are.
func TestQueryTransitionsWithoutSamples(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	q := e.Spawn(newQuery(nil, quietLog()), "query")
	t.Cleanup(func() { <-e.Poison(q).Done() })
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	samples := []model.Sample{{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"idle": 1}}}
	down := &model.HostStatus{Host: "web1", Up: false, DownSince: at, Persistent: true, Samples: samples,
		Checks: []model.CheckStatus{{Service: model.ServicePort, Unit: "ssh (22)"}}}
	up := &model.HostStatus{Host: "web2", Up: true}
	alarm := &model.AlarmStatus{Host: "web1", Rule: "cpu"}
	events := []model.Event{
		{Type: model.EvHostState, Time: at, Host: "web1", Status: down},
		{Type: model.EvReport, Time: at, Host: "web1", Status: down}, // not a transition
		{Type: model.EvHostState, Time: at, Host: "web2", Status: up},
		{Type: model.EvAlarm, Time: at, Host: "web1", Alarm: alarm},
	}
	for _, ev := range events {
		e.Send(q, publish{Ev: ev})
	}
	res, err := e.Request(q, qTransitions{Limit: 10}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	got := res.([]model.Event)
	tests := []struct {
		name  string
		ev    model.Event
		state *model.HostStatus // expected status, nil for none
	}{
		{"alarm, newest first", events[3], nil},
		{"host without samples kept as it is", events[2], up},
		{"host state without its samples", events[0], &model.HostStatus{Host: "web1", Up: false, DownSince: at, Persistent: true, Checks: down.Checks}},
	}
	if len(got) != len(tests) {
		t.Fatalf("%d transitions, want %d: %+v", len(got), len(tests), got)
	}
	for i, tt := range tests {
		ev := got[i]
		if ev.Type != tt.ev.Type || ev.Host != tt.ev.Host || !ev.Time.Equal(tt.ev.Time) || ev.Alarm != tt.ev.Alarm {
			t.Errorf("%s: event %+v, want %+v", tt.name, ev, tt.ev)
		}
		if (ev.Status == nil) != (tt.state == nil) || (ev.Status != nil && !reflect.DeepEqual(*ev.Status, *tt.state)) {
			t.Errorf("%s: status %+v, want %+v", tt.name, ev.Status, tt.state)
		}
	}
	if !reflect.DeepEqual(down.Samples, samples) {
		t.Fatalf("the published status lost its samples: %+v", down)
	}
}
