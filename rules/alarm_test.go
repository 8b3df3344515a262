package rules

import (
	"math"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// step is one evaluation of an alarm and what it must produce.
type step struct {
	at    time.Duration // since t0
	value float64
	// Expected result: kind "" means no transition.
	kind       string
	state      model.AlarmState
	level      model.Level
	suppressed bool
	activeFor  time.Duration // checked for SOLVED
	cond       string        // checked when set
}

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

const (
	ok       = model.AlarmOK
	pending  = model.AlarmPending
	firing   = model.AlarmFiring
	resolved = model.AlarmResolved
	alarm    = model.KindAlarm
	solved   = model.KindSolved
	escalate = KindEscalate
)

func TestAlarmStep(t *testing.T) {
	tests := []struct {
		name  string
		rule  string
		steps []step
	}{
		{
			name: "fires at once without for, resolves when no threshold holds",
			rule: "h!m.d:u.used > 90",
			steps: []step{
				{at: 0, value: 50, state: ok},
				{at: time.Minute, value: 97.3, kind: alarm, state: firing, level: model.WARN, cond: "used > 90 (value 97.3)"},
				{at: 2 * time.Minute, value: 99, state: firing, level: model.WARN},
				{at: 2*time.Hour + 6*time.Minute + time.Second, value: 90, kind: solved, state: resolved, level: model.WARN,
					activeFor: 2*time.Hour + 5*time.Minute + time.Second, cond: "used <= 90 (value 90)"},
				{at: 3 * time.Hour, value: 10, state: ok},
			},
		},
		{
			name: "for: pending, back to ok silently, then fires after holding",
			rule: "h!m.d:u.used > 90 for 5m",
			steps: []step{
				{at: 0, value: 95, state: pending, level: model.WARN},
				{at: 4 * time.Minute, value: 80, state: ok},
				{at: 5 * time.Minute, value: 95, state: pending, level: model.WARN},
				{at: 9 * time.Minute, value: 96, state: pending, level: model.WARN},
				{at: 10 * time.Minute, value: 97, kind: alarm, state: firing, level: model.WARN},
				{at: 20 * time.Minute, value: 10, kind: solved, state: resolved, level: model.WARN, activeFor: 10 * time.Minute},
				// A resolved alarm behaves like ok: a new pending period.
				{at: 21 * time.Minute, value: 99, state: pending, level: model.WARN},
				{at: 26 * time.Minute, value: 99, kind: alarm, state: firing, level: model.WARN},
			},
		},
		{
			name: "hysteresis: stays firing in the band, resolves on clear",
			rule: "h!m.d:u.used > 80 clear < 75",
			steps: []step{
				{at: 0, value: 85, kind: alarm, state: firing, level: model.WARN},
				{at: time.Minute, value: 78, state: firing, level: model.WARN},
				{at: 2 * time.Minute, value: 75, state: firing, level: model.WARN},
				{at: 3 * time.Minute, value: 74.9, kind: solved, state: resolved, activeFor: 3 * time.Minute,
					level: model.WARN, cond: "used < 75 (value 74.9)"},
				{at: 4 * time.Minute, value: 78, state: ok},
				{at: 5 * time.Minute, value: 81, kind: alarm, state: firing, level: model.WARN},
			},
		},
		{
			name: "escalation and de-escalation while firing; hysteresis keeps the level",
			rule: "h!m.d:u.used > 80% WARN, > 95% CRIT clear < 70",
			steps: []step{
				{at: 0, value: 97, kind: alarm, state: firing, level: model.CRIT, cond: "used > 95% (value 97)"},
				{at: time.Minute, value: 98, state: firing, level: model.CRIT},
				{at: 2 * time.Minute, value: 85, kind: escalate, state: firing, level: model.WARN, cond: "used > 80% (value 85)"},
				{at: 3 * time.Minute, value: 96, kind: escalate, state: firing, level: model.CRIT},
				{at: 4 * time.Minute, value: 75, state: firing, level: model.CRIT}, // band: no threshold, no clear
				{at: 5 * time.Minute, value: 60, kind: solved, state: resolved, level: model.CRIT, activeFor: 5 * time.Minute},
			},
		},
		{
			name: "level changes while pending are not notified",
			rule: "h!m.d:u.used > 80 WARN, > 95 CRIT for 1m",
			steps: []step{
				{at: 0, value: 85, state: pending, level: model.WARN},
				{at: 30 * time.Second, value: 99, state: pending, level: model.CRIT},
				{at: time.Minute, value: 99, kind: alarm, state: firing, level: model.CRIT},
			},
		},
		{
			name: "NaN values are ignored",
			rule: "h!m.d:u.used != 1",
			steps: []step{
				{at: 0, value: 2, kind: alarm, state: firing, level: model.WARN},
				{at: time.Minute, value: math.NaN(), state: firing, level: model.WARN},
				{at: 2 * time.Minute, value: 1, kind: solved, state: resolved, level: model.WARN, activeFor: 2 * time.Minute},
			},
		},
		{
			name: "flapping: suppressed after N changes, catch-up when stable",
			rule: "h!m.d:u.used > 90 flap 3/10m",
			steps: []step{
				{at: 0, value: 95, kind: alarm, state: firing, level: model.WARN},
				{at: time.Minute, value: 50, kind: solved, state: resolved, level: model.WARN, activeFor: time.Minute},
				// Third change within 10m: flapping, suppressed.
				{at: 2 * time.Minute, value: 95, kind: alarm, state: firing, level: model.WARN, suppressed: true},
				{at: 3 * time.Minute, value: 50, kind: solved, state: resolved, level: model.WARN, suppressed: true, activeFor: time.Minute},
				{at: 4 * time.Minute, value: 95, kind: alarm, state: firing, level: model.WARN, suppressed: true},
				// Stable, but not yet for the window.
				{at: 13 * time.Minute, value: 96, state: firing, level: model.WARN},
				// Stable for 10m: receivers were last told SOLVED, so they get an ALARM now.
				{at: 14 * time.Minute, value: 96, kind: alarm, state: firing, level: model.WARN},
				{at: 15 * time.Minute, value: 96, state: firing, level: model.WARN},
				// Damping is reset: the next change notifies normally.
				{at: 16 * time.Minute, value: 10, kind: solved, state: resolved, level: model.WARN, activeFor: 12 * time.Minute},
			},
		},
		{
			name: "flapping ends in the state last notified: nothing to catch up",
			rule: "h!m.d:u.used > 90 flap 2/5m",
			steps: []step{
				{at: 0, value: 95, kind: alarm, state: firing, level: model.WARN},
				{at: time.Minute, value: 50, kind: solved, state: resolved, level: model.WARN, suppressed: true, activeFor: time.Minute},
				{at: 2 * time.Minute, value: 95, kind: alarm, state: firing, level: model.WARN, suppressed: true},
				{at: 7 * time.Minute, value: 95, state: firing, level: model.WARN},
				{at: 8 * time.Minute, value: 50, kind: solved, state: resolved, level: model.WARN, activeFor: 6 * time.Minute},
			},
		},
		{
			name: "flapping ends resolved: SOLVED catch-up with the real active time",
			rule: "h!m.d:u.used > 90 flap 2/5m",
			steps: []step{
				{at: 0, value: 95, kind: alarm, state: firing, level: model.WARN},
				{at: 3 * time.Minute, value: 50, kind: solved, state: resolved, level: model.WARN, suppressed: true, activeFor: 3 * time.Minute},
				{at: 4 * time.Minute, value: 50, state: ok},
				{at: 7 * time.Minute, value: 50, state: ok}, // stable for 4m only
				// Stable since 3m for 5m: receivers last heard ALARM, so
				// SOLVED, active from 0 to 3m.
				{at: 9 * time.Minute, value: 50, kind: solved, state: ok, activeFor: 3 * time.Minute, cond: "used <= 90 (value 50)"},
				{at: 10 * time.Minute, value: 50, state: ok},
			},
		},
		{
			name: "changes spread wider than the window never flap",
			rule: "h!m.d:u.used > 90 flap 3/10m",
			steps: []step{
				{at: 0, value: 95, kind: alarm, state: firing, level: model.WARN},
				{at: 6 * time.Minute, value: 50, kind: solved, state: resolved, level: model.WARN, activeFor: 6 * time.Minute},
				{at: 12 * time.Minute, value: 95, kind: alarm, state: firing, level: model.WARN},
				{at: 18 * time.Minute, value: 50, kind: solved, state: resolved, level: model.WARN, activeFor: 6 * time.Minute},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse("r", tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			a := NewAlarm("r", "h", "m.d:u", "used")
			for i, s := range tc.steps {
				tr := a.Step(r, s.value, t0.Add(s.at))
				kind := ""
				if tr != nil {
					kind = tr.Kind
				}
				if kind != s.kind {
					t.Fatalf("step %d (%v, %v): transition %q, want %q (alarm %+v)", i, s.at, s.value, kind, s.kind, a)
				}
				if a.State != s.state {
					t.Errorf("step %d: state %q, want %q", i, a.State, s.state)
				}
				if s.state != ok && a.Level != s.level {
					t.Errorf("step %d: level %v, want %v", i, a.Level, s.level)
				}
				if tr == nil {
					continue
				}
				if tr.To != a.State && !tr.FlapEnded {
					t.Errorf("step %d: transition to %q, alarm is %q", i, tr.To, a.State)
				}
				if tr.Suppressed != s.suppressed {
					t.Errorf("step %d: suppressed = %v, want %v", i, tr.Suppressed, s.suppressed)
				}
				if tr.Kind == solved && tr.ActiveFor != s.activeFor {
					t.Errorf("step %d: active for %v, want %v", i, tr.ActiveFor, s.activeFor)
				}
				if s.cond != "" && tr.Condition != s.cond {
					t.Errorf("step %d: condition %q, want %q", i, tr.Condition, s.cond)
				}
			}
		})
	}
}

// TestFlapCatchUpSolved checks the transition sent when flapping ends with
// the alarm resolved while receivers last heard ALARM.
func TestFlapCatchUpSolved(t *testing.T) {
	r, err := Parse("r", "h!m.d:u.used > 90 flap 3/5m")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAlarm("r", "h", "m.d:u", "used")
	seq := []struct {
		at   time.Duration
		v    float64
		kind string
		supp bool
	}{
		{0, 95, alarm, false},                 // notified
		{time.Minute, 50, solved, false},      // notified
		{2 * time.Minute, 95, alarm, true},    // 3rd change: flapping
		{3 * time.Minute, 50, solved, true},   // suppressed
		{4 * time.Minute, 95, alarm, true},    // suppressed
		{5 * time.Minute, 50, solved, true},   // suppressed
		{6 * time.Minute, 95, alarm, true},    // suppressed
		{7 * time.Minute, 50, solved, true},   // suppressed; real state resolved
		{12 * time.Minute, 50, "", false},     // stable 5m; receivers' view (solved) equals real: nothing
		{13 * time.Minute, 95, alarm, false},  // notified again
		{14 * time.Minute, 50, solved, false}, // 2 changes in window: not yet flapping
		{15 * time.Minute, 95, alarm, true},   // 3rd: flapping again; receivers last told SOLVED
		{21 * time.Minute, 96, alarm, false},  // stable 6m: catch-up ALARM
	}
	for i, s := range seq {
		tr := a.Step(r, s.v, t0.Add(s.at))
		kind, supp := "", false
		if tr != nil {
			kind, supp = tr.Kind, tr.Suppressed
		}
		if kind != s.kind || supp != s.supp {
			t.Fatalf("step %d at %v: got %q suppressed=%v, want %q suppressed=%v", i, s.at, kind, supp, s.kind, s.supp)
		}
	}
	// The catch-up reset the damping: 22m SOLVED and 22m30s ALARM notify,
	// 23m SOLVED is the third change and is suppressed. The catch-up SOLVED
	// then reports the alarm notified at 22m30s as active until 23m.
	for i, s := range []struct {
		at   time.Duration
		v    float64
		kind string
		supp bool
	}{
		{22 * time.Minute, 50, solved, false},
		{22*time.Minute + 30*time.Second, 95, alarm, false},
		{23 * time.Minute, 50, solved, true},
	} {
		tr := a.Step(r, s.v, t0.Add(s.at))
		if tr == nil || tr.Kind != s.kind || tr.Suppressed != s.supp {
			t.Fatalf("late step %d: got %+v, want %q suppressed=%v", i, tr, s.kind, s.supp)
		}
	}
	if !a.Flapping {
		t.Fatalf("alarm should be flapping: %+v", a)
	}
	tr := a.Step(r, 10, t0.Add(28*time.Minute))
	if tr == nil || tr.Kind != solved || !tr.FlapEnded || tr.Suppressed {
		t.Fatalf("want a SOLVED catch-up, got %+v", tr)
	}
	if want := 30 * time.Second; tr.ActiveFor != want {
		t.Errorf("catch-up active for %v, want %v", tr.ActiveFor, want)
	}
	if a.Flapping || a.Notified {
		t.Errorf("after catch-up: flapping=%v notified=%v", a.Flapping, a.Notified)
	}
}

func TestAlarmChangesBounded(t *testing.T) {
	r, err := Parse("r", "h!m.d:u.used > 90 flap 3/1h")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAlarm("r", "h", "m.d:u", "used")
	for i := range 100 {
		a.Step(r, float64(50+90*(i%2)), t0.Add(time.Duration(i)*time.Second))
		if len(a.Changes) > r.FlapCount {
			t.Fatalf("step %d: %d changes kept, want at most %d", i, len(a.Changes), r.FlapCount)
		}
	}
}

func TestAlarmStatus(t *testing.T) {
	r, err := Parse("r", "h!m.d:u.used > 80 WARN, > 95 CRIT for 1m")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAlarm("r", "web1", "m.d:u", "used")
	a.Step(r, 97, t0)
	st := a.Status(r, t0)
	if st.State != pending || st.Level != model.CRIT || !st.Since.Equal(t0) ||
		st.Condition != "used > 95 (value 97)" || st.Series != "m.d:u.used" || st.Expr != r.String() {
		t.Errorf("pending status = %+v", st)
	}
	a.Step(r, 97, t0.Add(time.Minute))
	if st := a.Status(r, t0); st.State != firing || !st.Since.Equal(t0.Add(time.Minute)) {
		t.Errorf("firing status = %+v", st)
	}
	a.Step(r, 1, t0.Add(2*time.Minute))
	if st := a.Status(r, t0); st.State != resolved || st.Condition != "used <= 80 (value 1)" {
		t.Errorf("resolved status = %+v", st)
	}
	if k := a.Key(); k != "r/web1!m.d:u.used" {
		t.Errorf("Key() = %q", k)
	}
}

// FuzzAlarm drives alarms with arbitrary value sequences and checks that the
// receivers' view stays consistent: an unsuppressed ALARM only when they
// think the alarm is off, SOLVED and ESCALATE only when they think it fires,
// and once the values stay still long enough, their view equals the state.
func FuzzAlarm(f *testing.F) {
	f.Add([]byte{0, 200, 10, 20, 200, 10, 200, 10, 200, 50, 50, 50})
	f.Add([]byte{255, 255, 1, 0, 0, 0})
	f.Add([]byte{100, 96, 100, 70, 100, 99, 1, 10})
	rules := []string{
		"h!m.d:u.v > 80 WARN, > 95 CRIT clear < 70 flap 3/10m",
		"h!m.d:u.v > 80 WARN, > 95 CRIT for 2m flap 2/5m",
		"h!m.d:u.v > 50 flap 4/1h",
		"h!m.d:u.v >= 100 ERR, = 42 INFO",
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 400 {
			data = data[:400] // longer runs find nothing new and slow minimizing
		}
		for _, text := range rules {
			r, err := Parse("r", text)
			if err != nil {
				t.Fatal(err)
			}
			a := NewAlarm("r", "h", "m.d:u", "v")
			viewFiring := false
			viewLevel := model.Level(0)
			now := t0
			check := func(tr *Transition) {
				if len(a.Changes) > r.FlapCount {
					t.Fatalf("%s: %d changes kept", text, len(a.Changes))
				}
				if tr == nil {
					return
				}
				if !tr.FlapEnded && tr.To != a.State {
					t.Fatalf("%s: transition to %s but state %s", text, tr.To, a.State)
				}
				if tr.Suppressed {
					return
				}
				switch tr.Kind {
				case model.KindAlarm:
					if viewFiring {
						t.Fatalf("%s: ALARM while receivers think it fires (%+v)", text, a)
					}
					viewFiring, viewLevel = true, tr.Level
				case model.KindSolved:
					if !viewFiring {
						t.Fatalf("%s: SOLVED while receivers think it is off (%+v)", text, a)
					}
					viewFiring = false
				case KindEscalate:
					if !viewFiring || tr.PrevLevel != viewLevel || tr.Level == viewLevel {
						t.Fatalf("%s: bad ESCALATE %v->%v, receivers at %v firing=%v", text, tr.PrevLevel, tr.Level, viewLevel, viewFiring)
					}
					viewLevel = tr.Level
				}
			}
			for i := 0; i+1 < len(data); i += 2 {
				now = now.Add(time.Duration(data[i]) * 10 * time.Second)
				check(a.Step(r, float64(data[i+1]), now))
			}
			// Hold the last value: after the flap window and For have passed
			// twice, the receivers must know the real state.
			last := a.Value
			for range 3 {
				now = now.Add(r.FlapWindow + r.For + time.Second)
				check(a.Step(r, last, now))
			}
			if firing := a.State == model.AlarmFiring; firing != viewFiring || (firing && viewLevel != a.Level) {
				t.Fatalf("%s: settled in %s at %v, receivers think firing=%v at %v", text, a.State, a.Level, viewFiring, viewLevel)
			}
		}
	})
}

// TestRuleEditDuringFlapping checks that removing the flap clause while an
// alarm flaps does not send receivers a transition that contradicts what
// they were told.
func TestRuleEditDuringFlapping(t *testing.T) {
	flappy, err := Parse("r", "h!m.d:u.v > 80 WARN, > 95 CRIT flap 2/1h")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Parse("r", "h!m.d:u.v > 80 WARN, > 95 CRIT")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAlarm("r", "h", "m.d:u", "v")
	steps := []struct {
		r     *Rule
		at    time.Duration
		v     float64
		kind  string
		level model.Level
		prev  model.Level
	}{
		{flappy, 0, 90, alarm, model.WARN, model.WARN},               // told: firing WARN
		{flappy, time.Minute, 10, solved, model.WARN, model.WARN},    // suppressed
		{flappy, 2 * time.Minute, 97, alarm, model.CRIT, model.CRIT}, // suppressed
		// Rule edited: the real change is WARN->CRIT... as receivers know
		// WARN, a drop to WARN is no news, a rise to CRIT is an escalation.
		{plain, 3 * time.Minute, 90, "", 0, 0},
		{plain, 4 * time.Minute, 97, escalate, model.CRIT, model.WARN},
		{plain, 5 * time.Minute, 10, solved, model.CRIT, model.CRIT},
	}
	for i, s := range steps {
		tr := a.Step(s.r, s.v, t0.Add(s.at))
		if i == 1 || i == 2 {
			if tr == nil || !tr.Suppressed {
				t.Fatalf("step %d: want a suppressed transition, got %+v", i, tr)
			}
			continue
		}
		kind := ""
		if tr != nil {
			kind = tr.Kind
		}
		if kind != s.kind {
			t.Fatalf("step %d: got %q, want %q (%+v)", i, kind, s.kind, tr)
		}
		if tr != nil && (tr.Level != s.level || tr.PrevLevel != s.prev) {
			t.Errorf("step %d: level %v (from %v), want %v (from %v)", i, tr.Level, tr.PrevLevel, s.level, s.prev)
		}
	}
}
