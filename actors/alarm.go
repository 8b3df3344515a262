package actors

import (
	"fmt"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/rules"
	"github.com/lookout-mon/lookout/store"
)

// alarmItem is one sample with the attributes a rule's address matched.
type alarmItem struct {
	Sample model.Sample
	Attrs  []string
}

// alarmEval hands an alarm actor the samples of one report that its rule
// matched.
type alarmEval struct {
	Items []alarmItem
	Seq   uint64
	Now   time.Time
}

// evalAlarms sends each rule's matching samples to its alarm child,
// spawning the child on the first matched value that holds a threshold.
func (h *host) evalAlarms(c *actor.Context, r *model.Report) {
	if len(r.Samples) == 0 {
		return
	}
	for _, cr := range h.rules {
		var items []alarmItem
		for _, s := range r.Samples {
			if attrs := cr.Rule.Address.MatchSample(h.name, s); len(attrs) > 0 {
				items = append(items, alarmItem{Sample: s, Attrs: attrs})
			}
		}
		if len(items) == 0 {
			continue
		}
		pid := h.sup.Child("alarm", cr.Info.Name) // nil-safe: no supervisor yet, no child
		if pid == nil {
			if h.sup.Known("alarm", cr.Info.Name) {
				continue // parked after a storm
			}
			if !anyHolds(cr, items) {
				// A fresh alarm fed values that hold no threshold stays ok and
				// silent (rules.Alarm.Step only records the value), so the
				// child is spawned on the first value that holds one: a
				// healthy host costs no alarm actors.
				continue
			}
			h.addAlarm(cr)
			pid = h.supervisor().Spawn(c, "alarm", cr.Info.Name, newAlarmActor(h.cfg, h.name, cr), smallInbox)
		}
		c.Send(pid, alarmEval{Items: items, Seq: r.Seq, Now: h.now()})
	}
}

// anyHolds reports whether a matched value holds one of the rule's
// thresholds.
func anyHolds(cr *compiledRule, items []alarmItem) bool {
	for _, it := range items {
		for _, attr := range it.Attrs {
			if v, ok := it.Sample.Values[attr]; ok {
				if _, holds := cr.Rule.Eval(v); holds {
					return true
				}
			}
		}
	}
	return false
}

// syncAlarms stops alarm children whose rule was removed or changed, and
// forgets their persisted state.
func (h *host) syncAlarms(c *actor.Context, rs []*compiledRule) {
	cur := map[string]*compiledRule{}
	for _, r := range rs {
		cur[r.Info.Name] = r
	}
	for name, old := range h.alarms {
		if nr, ok := cur[name]; ok && nr.Info.Expr == old.Info.Expr {
			continue
		}
		h.sup.Remove(c, "alarm", name)
		delete(h.alarms, name)
		h.forgetAlarms(c, name)
	}
	if !h.loadedAlarms {
		h.loadedAlarms = true
		// Respawn children for rules that have persisted alarm state, so a
		// firing alarm is not forgotten across a restart.
		seen := map[string]bool{}
		_ = h.cfg.Store.List(nsAlarm, h.name+"|", func(key string, raw []byte) error {
			var a rules.Alarm
			if store.Decode(raw, &a) == nil {
				seen[a.Rule] = true
			}
			return nil
		})
		for name := range seen {
			cr, ok := cur[name]
			if !ok {
				h.forgetAlarms(c, name)
				continue
			}
			h.addAlarm(cr)
			h.supervisor().Spawn(c, "alarm", name, newAlarmActor(h.cfg, h.name, cr), smallInbox)
		}
	}
}

// addAlarm records that cr has a live alarm child (the map is created on
// first use: a healthy host has none).
func (h *host) addAlarm(cr *compiledRule) {
	if h.alarms == nil {
		h.alarms = map[string]*compiledRule{}
	}
	h.alarms[cr.Info.Name] = cr
}

func (h *host) forgetAlarms(c *actor.Context, rule string) {
	prefix := h.name + "|" + rule + "|"
	var keys []string
	_ = h.cfg.Store.List(nsAlarm, prefix, func(key string, raw []byte) error {
		keys = append(keys, key)
		return nil
	})
	for _, k := range keys {
		_ = h.cfg.Store.Delete(nsAlarm, k)
		if h.cfg.Query != nil {
			c.Send(h.cfg.Query, alarmUpdate{Key: k})
		}
	}
}

// alarmActor runs the state machines of one rule on one host: one
// rules.Alarm per matching series attribute.
type alarmActor struct {
	cfg    *HostsConfig // shared (read only)
	host   string
	rule   *compiledRule
	alarms map[string]*rules.Alarm
}

func newAlarmActor(cfg *HostsConfig, host string, r *compiledRule) actor.Producer {
	return func() actor.Receiver {
		return &alarmActor{cfg: cfg, host: host, rule: r, alarms: map[string]*rules.Alarm{}}
	}
}

func (a *alarmActor) prefix() string { return a.host + "|" + a.rule.Info.Name + "|" }

func (a *alarmActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		_ = a.cfg.Store.List(nsAlarm, a.prefix(), func(key string, raw []byte) error {
			var al rules.Alarm
			if err := store.Decode(raw, &al); err != nil {
				a.cfg.Log.Error("alarm: stored state unreadable", "key", key, "err", err)
				return nil
			}
			a.alarms[key[len(a.prefix()):]] = &al
			if al.State != model.AlarmOK && al.State != model.AlarmResolved {
				a.publish(c, key[len(a.prefix()):], &al, "")
			}
			return nil
		})
	case alarmEval:
		for _, it := range m.Items {
			for _, attr := range it.Attrs {
				v, ok := it.Sample.Values[attr]
				if !ok {
					continue
				}
				a.step(c, it.Sample.Key(), attr, v, m.Seq, m.Now)
			}
		}
	}
}

func (a *alarmActor) step(c *actor.Context, series, attr string, v float64, seq uint64, now time.Time) {
	key := series + "." + attr
	al, ok := a.alarms[key]
	if !ok {
		if _, holds := a.rule.Rule.Eval(v); !holds {
			// Stepping a fresh alarm with a value that holds no threshold
			// would only record the value: keep no state for it.
			return
		}
		al = &rules.Alarm{Rule: a.rule.Info.Name, Host: a.host, Series: series, Attr: attr, State: model.AlarmOK}
		a.alarms[key] = al
	}
	before := struct {
		s model.AlarmState
		l model.Level
		f bool
	}{al.State, al.Level, al.Flapping}
	tr := al.Step(a.rule.Rule, v, now)
	if al.State != before.s || al.Level != before.l || al.Flapping != before.f {
		if err := a.cfg.Store.Put(nsAlarm, a.prefix()+key, al); err != nil {
			a.cfg.Log.Error("alarm: saving state", "key", key, "err", err)
		}
		cond := ""
		if tr != nil {
			cond = tr.Condition
		}
		a.publish(c, key, al, cond)
	}
	if tr == nil {
		return
	}
	if a.cfg.Stream != nil {
		st := a.statusOf(al, tr.Condition)
		c.Send(a.cfg.Stream, publish{Ev: model.Event{Type: model.EvAlarm, Time: now, Host: a.host, Alarm: &st,
			Text: fmt.Sprintf("%s %s -> %s", tr.Kind, tr.From, tr.To)}})
	}
	if tr.Suppressed {
		return
	}
	subject, text := rules.Describe(tr, al)
	level := tr.Level
	if tr.Kind == model.KindSolved {
		level = model.INFO
	}
	n := model.Notification{
		ID:    notifID(a.host, a.rule.Info.Name, key, tr.Kind, tr.Level, seq),
		Level: level, Kind: tr.Kind, Host: a.host, Subject: subject, Text: text, Time: now,
	}
	att := a.statusOf(al, tr.Condition)
	if b, err := marshalAttachment(att); err == nil {
		n.Attachment = b
	}
	c.Send(a.cfg.Router, notifyMsg{N: n, Alert: "alarm|" + a.rule.Info.Name + "|" + key, Active: al.State == model.AlarmFiring})
}

func (a *alarmActor) statusOf(al *rules.Alarm, cond string) model.AlarmStatus {
	since := al.FiringSince
	if al.State == model.AlarmPending {
		since = al.PendingSince
	}
	return model.AlarmStatus{Rule: a.rule.Info.Name, Expr: a.rule.Info.Expr, Host: a.host, Series: al.Series + "." + al.Attr,
		State: al.State, Level: al.Level, Value: al.Value, Since: since, LastEval: al.LastChange,
		Flapping: al.Flapping, Condition: cond}
}

func (a *alarmActor) publish(c *actor.Context, key string, al *rules.Alarm, cond string) {
	if a.cfg.Query == nil {
		return
	}
	full := a.prefix() + key
	if al.State == model.AlarmOK || al.State == model.AlarmResolved {
		c.Send(a.cfg.Query, alarmUpdate{Key: full})
		return
	}
	st := a.statusOf(al, cond)
	c.Send(a.cfg.Query, alarmUpdate{Key: full, Status: &st})
}
