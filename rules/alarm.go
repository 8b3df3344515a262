package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// KindEscalate is the Transition kind of a level change while firing (up or
// down); ALARM and SOLVED use model.KindAlarm and model.KindSolved.
const KindEscalate = "ESCALATE"

// Alarm is the state of one rule on one value: rule x host x series x
// attribute. Its fields are exported so the alarm actor can persist it
// (msgpack) and restore it after a restart; Step is deterministic given the
// same inputs, so every master computes the same states.
type Alarm struct {
	Rule   string           `msgpack:"r" json:"rule"`
	Host   string           `msgpack:"h" json:"host"`
	Series string           `msgpack:"s" json:"series"` // service.resource:unit
	Attr   string           `msgpack:"a" json:"attr"`
	State  model.AlarmState `msgpack:"st" json:"state"` // "" is read as ok
	Level  model.Level      `msgpack:"l" json:"level"`
	Value  float64          `msgpack:"v" json:"value"` // last value seen (NaN values are ignored)

	PendingSince time.Time `msgpack:"ps" json:"pending_since"`
	FiringSince  time.Time `msgpack:"fs" json:"firing_since"`
	// LastChange is the time of the last state or level change, silent
	// ones (ok -> pending -> ok) included.
	LastChange time.Time `msgpack:"lc" json:"last_change"`
	// SolvedAt is when the alarm last went from firing to resolved.
	SolvedAt time.Time `msgpack:"sa" json:"solved_at"`

	// Changes holds the times of recent notifying transitions, at most the
	// rule's FlapCount of them, for flap detection.
	Changes  []time.Time `msgpack:"ch" json:"changes,omitempty"`
	Flapping bool        `msgpack:"f" json:"flapping"`

	// Notified is true while the receivers were last told this alarm fires
	// (an unsuppressed ALARM not followed by an unsuppressed SOLVED), at
	// NotifiedLevel, since NotifiedSince. When flapping ends, Step compares
	// it with the real state and sends what the receivers missed.
	Notified      bool        `msgpack:"n" json:"notified"`
	NotifiedLevel model.Level `msgpack:"nl" json:"notified_level"`
	NotifiedSince time.Time   `msgpack:"ns" json:"notified_since"`
}

// NewAlarm returns an alarm in the ok state.
func NewAlarm(rule, host, series, attr string) *Alarm {
	return &Alarm{Rule: rule, Host: host, Series: series, Attr: attr, State: model.AlarmOK}
}

// Key returns "rule/host!series.attr", a stable identifier for storage and
// actor maps. Rule names cannot contain '/'.
func (a *Alarm) Key() string { return AlarmKey(a.Rule, a.Host, a.Series, a.Attr) }

// AlarmKey returns the key Alarm.Key would return for these fields.
func AlarmKey(rule, host, series, attr string) string {
	return rule + "/" + host + "!" + series + "." + attr
}

// Transition is one change of an alarm worth notifying.
type Transition struct {
	// Kind is model.KindAlarm, model.KindSolved or KindEscalate.
	Kind string
	// From and To are the states before and after, as the receivers see
	// them. ESCALATE goes from firing to firing.
	From, To model.AlarmState
	// Level is the alarm's level after the transition; PrevLevel before it
	// (for ESCALATE, the level the receivers knew).
	Level, PrevLevel model.Level
	Value            float64
	// Expr is the condition without the value: "used_percentage > 95".
	Expr string
	// Condition is Expr with the value: "used_percentage > 95 (value 97.3)".
	Condition string
	// ActiveFor is how long the alarm fired, for SOLVED.
	ActiveFor time.Duration
	// Suppressed is set while the alarm is flapping: the state changed, but
	// no one should be notified.
	Suppressed bool
	// FlapEnded is set on the transition Step sends when flapping ends and the
	// real state differs from what the receivers were last told.
	FlapEnded bool
}

// state returns the alarm's state, with "" read as ok.
func (a *Alarm) state() model.AlarmState {
	if a.State == "" {
		return model.AlarmOK
	}
	return a.State
}

// Step feeds one value of the alarm's series to the state machine at time
// now, and returns the transition to notify, or nil. The state may change
// without a transition (ok -> pending, pending -> ok, resolved -> ok); the
// caller persists the alarm when LastChange == now or the result is non-nil.
//
//	ok/resolved --condition--> pending (For > 0) --held For--> firing
//	ok/resolved --condition--> firing (For == 0)               [ALARM]
//	pending --condition gone--> ok                              (silent)
//	firing --other level holds--> firing                        [ESCALATE]
//	firing --clear holds (or no threshold, without clear)--> resolved [SOLVED]
//	resolved --condition gone--> ok                             (silent)
//
// A NaN value is ignored. While the rule's flap damping reports the alarm
// flapping, transitions are returned with Suppressed set.
func (a *Alarm) Step(r *Rule, value float64, now time.Time) *Transition {
	if math.IsNaN(value) {
		return nil
	}
	a.Value = value
	idx, lvl, holds := r.eval(value)
	var tr *Transition
	switch a.state() {
	case model.AlarmFiring:
		switch {
		case !holds && (r.Clear == nil || r.Clear.Holds(value)):
			tr = &Transition{Kind: model.KindSolved, From: model.AlarmFiring, To: model.AlarmResolved,
				Level: a.Level, PrevLevel: a.Level, ActiveFor: now.Sub(a.FiringSince)}
			a.setExprSolved(tr, r, value)
			a.State, a.SolvedAt, a.LastChange = model.AlarmResolved, now, now
		case holds && lvl != a.Level:
			tr = &Transition{Kind: KindEscalate, From: model.AlarmFiring, To: model.AlarmFiring,
				Level: lvl, PrevLevel: a.Level}
			a.setExprFiring(tr, r, idx, value)
			a.Level, a.LastChange = lvl, now
		}
		// Otherwise the value is in the hysteresis band or at the same
		// level: nothing changes.
	case model.AlarmPending:
		switch {
		case !holds:
			a.State, a.PendingSince, a.LastChange = model.AlarmOK, time.Time{}, now
		case now.Sub(a.PendingSince) >= r.For:
			tr = a.fire(r, idx, lvl, value, now)
		default:
			if lvl != a.Level {
				a.Level, a.LastChange = lvl, now
			}
		}
	default: // ok, resolved
		switch {
		case !holds:
			if a.state() != model.AlarmOK {
				a.State, a.LastChange = model.AlarmOK, now
			}
		case r.For > 0:
			a.State, a.Level, a.PendingSince, a.LastChange = model.AlarmPending, lvl, now, now
		default:
			tr = a.fire(r, idx, lvl, value, now)
		}
	}
	if tr != nil {
		a.recordChange(r, now)
		tr.Value = value
		tr.Suppressed = a.Flapping
		if !tr.Suppressed {
			tr = a.reconcile(tr)
			if tr != nil {
				a.noteNotified(tr)
			}
		}
		return tr
	}
	return a.endFlapping(r, now)
}

// fire moves the alarm to firing and returns the ALARM transition.
func (a *Alarm) fire(r *Rule, idx int, lvl model.Level, value float64, now time.Time) *Transition {
	tr := &Transition{Kind: model.KindAlarm, From: a.state(), To: model.AlarmFiring, Level: lvl, PrevLevel: lvl}
	a.setExprFiring(tr, r, idx, value)
	a.State, a.Level, a.FiringSince, a.PendingSince, a.LastChange = model.AlarmFiring, lvl, now, time.Time{}, now
	return tr
}

// recordChange notes a notifying transition at now for flap detection.
func (a *Alarm) recordChange(r *Rule, now time.Time) {
	if r.FlapCount <= 0 || r.FlapWindow <= 0 {
		a.Changes, a.Flapping = nil, false
		return
	}
	a.Changes = append(a.Changes, now)
	keep := a.Changes[:0]
	for _, t := range a.Changes {
		if now.Sub(t) < r.FlapWindow {
			keep = append(keep, t)
		}
	}
	if len(keep) > r.FlapCount {
		keep = append(keep[:0], keep[len(keep)-r.FlapCount:]...)
	}
	a.Changes = keep
	if len(a.Changes) >= r.FlapCount {
		a.Flapping = true
	}
}

// reconcile adapts an unsuppressed transition to what the receivers were
// last told. They normally agree; they can differ after the rule lost its
// flap clause while the alarm was flapping (no catch-up is sent then).
func (a *Alarm) reconcile(tr *Transition) *Transition {
	switch {
	case tr.Kind == model.KindSolved && !a.Notified:
		return nil // they never heard of it firing
	case tr.Kind == KindEscalate && !a.Notified:
		tr.Kind, tr.From, tr.PrevLevel = model.KindAlarm, model.AlarmOK, tr.Level
	case tr.Kind != model.KindSolved && a.Notified:
		if a.NotifiedLevel == tr.Level {
			return nil // they already know it fires at this level
		}
		tr.Kind, tr.From, tr.PrevLevel = KindEscalate, model.AlarmFiring, a.NotifiedLevel
	}
	return tr
}

// noteNotified records what the receivers were told.
func (a *Alarm) noteNotified(tr *Transition) {
	switch tr.Kind {
	case model.KindAlarm:
		a.Notified, a.NotifiedLevel, a.NotifiedSince = true, tr.Level, a.FiringSince
	case KindEscalate:
		a.NotifiedLevel = tr.Level
	case model.KindSolved:
		a.Notified = false
	}
}

// endFlapping clears Flapping once the alarm has been stable for the flap
// window, and returns a transition bringing the receivers up to date if the
// state they were last told differs from the real one.
func (a *Alarm) endFlapping(r *Rule, now time.Time) *Transition {
	if !a.Flapping {
		return nil
	}
	if r.FlapCount > 0 && r.FlapWindow > 0 && len(a.Changes) > 0 &&
		now.Sub(a.Changes[len(a.Changes)-1]) < r.FlapWindow {
		return nil
	}
	a.Flapping, a.Changes = false, nil
	firing := a.state() == model.AlarmFiring
	var tr *Transition
	switch {
	case firing && !a.Notified:
		tr = &Transition{Kind: model.KindAlarm, From: model.AlarmOK, To: model.AlarmFiring, Level: a.Level, PrevLevel: a.Level}
		a.setExprFiring(tr, r, -1, a.Value)
	case firing && a.NotifiedLevel != a.Level:
		tr = &Transition{Kind: KindEscalate, From: model.AlarmFiring, To: model.AlarmFiring, Level: a.Level, PrevLevel: a.NotifiedLevel}
		a.setExprFiring(tr, r, -1, a.Value)
	case !firing && a.Notified:
		end := a.SolvedAt
		if end.Before(a.NotifiedSince) {
			end = now
		}
		tr = &Transition{Kind: model.KindSolved, From: model.AlarmFiring, To: model.AlarmResolved,
			Level: a.NotifiedLevel, PrevLevel: a.NotifiedLevel, ActiveFor: end.Sub(a.NotifiedSince)}
		a.setExprSolved(tr, r, a.Value)
	default:
		return nil
	}
	tr.Value, tr.FlapEnded = a.Value, true
	if tr.Kind == model.KindAlarm {
		a.Notified, a.NotifiedLevel, a.NotifiedSince = true, a.Level, a.FiringSince
	} else {
		a.noteNotified(tr)
	}
	return tr
}

// setExprFiring describes the threshold that makes the alarm fire: the one
// at index idx, or, when idx < 0, the first one at the alarm's level.
func (a *Alarm) setExprFiring(tr *Transition, r *Rule, idx int, value float64) {
	if idx < 0 {
		for i, t := range r.Thresholds {
			if t.Level == tr.Level {
				idx = i
				break
			}
		}
	}
	if idx < 0 || idx >= len(r.Thresholds) {
		tr.Expr = a.Attr
		tr.Condition = fmt.Sprintf("%s (value %s)", a.Attr, formatValue(value, ""))
		return
	}
	t := r.Thresholds[idx]
	tr.Expr = a.Attr + " " + t.Op.String() + " " + t.Raw
	tr.Condition = fmt.Sprintf("%s (value %s)", tr.Expr, formatValue(value, t.Raw))
}

// setExprSolved describes why the alarm resolved: the clear condition, or
// the negation of the lowest threshold.
func (a *Alarm) setExprSolved(tr *Transition, r *Rule, value float64) {
	var c Condition
	switch {
	case r.Clear != nil:
		c = *r.Clear
	case len(r.Thresholds) > 0:
		low := r.Thresholds[0]
		for _, t := range r.Thresholds[1:] {
			if t.Level < low.Level {
				low = t
			}
		}
		c = Condition{Op: low.Op.negate(), Value: low.Value, Raw: low.Raw}
	default:
		tr.Expr = a.Attr
		tr.Condition = fmt.Sprintf("%s (value %s)", a.Attr, formatValue(value, ""))
		return
	}
	tr.Expr = a.Attr + " " + c.String()
	tr.Condition = fmt.Sprintf("%s (value %s)", tr.Expr, formatValue(value, c.Raw))
}

// formatValue renders v for humans, in the unit of raw when raw has a
// k/m/g/t suffix ("1.62g").
func formatValue(v float64, raw string) string {
	if raw != "" {
		suffix := raw[len(raw)-1]
		mult := 0.0
		switch suffix {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult != 0 {
			return formatNumber(v/mult) + string(suffix)
		}
	}
	return formatNumber(v)
}

func formatNumber(v float64) string {
	switch {
	case math.IsInf(v, 0) || math.IsNaN(v):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case math.Abs(v) >= 1e15:
		return strconv.FormatFloat(v, 'g', 6, 64)
	case math.Abs(v) >= 1 || v == 0:
		return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// Describe renders a transition of alarm a for people: a one-line subject
// such as "[ALARM] web1 machine.disk:/dev/sda1 (/).used_percentage > 95" and
// a short text with the value, level, rule and, for SOLVED, how long the
// alarm was active.
func Describe(t *Transition, a *Alarm) (subject, text string) {
	tag := t.Kind
	if t.Kind == KindEscalate {
		if t.Level < t.PrevLevel {
			tag = "DE-ESCALATE"
		}
		tag += " " + t.PrevLevel.String() + "->" + t.Level.String()
	}
	subject = fmt.Sprintf("[%s] %s %s.%s", tag, a.Host, a.Series, t.Expr)

	var b strings.Builder
	fmt.Fprintf(&b, "%s %s.%s\n", a.Host, a.Series, t.Condition)
	switch t.Kind {
	case model.KindAlarm:
		fmt.Fprintf(&b, "Alarm %q is firing at level %s.\n", a.Rule, t.Level)
	case KindEscalate:
		fmt.Fprintf(&b, "Alarm %q changed level from %s to %s.\n", a.Rule, t.PrevLevel, t.Level)
	case model.KindSolved:
		fmt.Fprintf(&b, "Alarm %q (level %s) is solved; it was active for %s.\n", a.Rule, t.Level, model.HumanDuration(t.ActiveFor))
	}
	if t.FlapEnded {
		b.WriteString("The alarm stopped flapping; this is its state now.\n")
	}
	if t.Suppressed {
		b.WriteString("The alarm is flapping: notifications are suppressed until it is stable.\n")
	}
	return subject, b.String()
}

// Status returns the query API's view of the alarm under rule r.
func (a *Alarm) Status(r *Rule, lastEval time.Time) model.AlarmStatus {
	st := model.AlarmStatus{
		Rule: a.Rule, Host: a.Host, Series: a.Series + "." + a.Attr,
		State: a.state(), Level: a.Level, Value: a.Value, LastEval: lastEval, Flapping: a.Flapping,
		Since: a.LastChange,
	}
	if r != nil {
		st.Expr = r.String()
		var tr Transition
		tr.Level = a.Level
		switch st.State {
		case model.AlarmFiring, model.AlarmPending:
			a.setExprFiring(&tr, r, -1, a.Value)
		default:
			a.setExprSolved(&tr, r, a.Value)
		}
		st.Condition = tr.Condition
	}
	switch st.State {
	case model.AlarmFiring:
		st.Since = a.FiringSince
	case model.AlarmPending:
		st.Since = a.PendingSince
	}
	return st
}
