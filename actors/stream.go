package actors

import (
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
)

// Subscribers is the set of event consumers (the dashboard broadcaster,
// the --debug printer). Each must return quickly and never block: the
// dashboard's Publish drops events for slow browsers rather than waiting.
type Subscribers struct {
	mu  sync.RWMutex
	fns map[int]func(model.Event)
	n   int
}

// Add registers fn and returns a function that removes it.
func (s *Subscribers) Add(fn func(model.Event)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = map[int]func(model.Event){}
	}
	s.n++
	id := s.n
	s.fns[id] = fn
	return func() {
		s.mu.Lock()
		delete(s.fns, id)
		s.mu.Unlock()
	}
}

func (s *Subscribers) each(ev model.Event) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.fns {
		fn(ev)
	}
}

// stream publishes processed events to subscribers and to the query
// read-model (for recent transitions).
type stream struct {
	subs  *Subscribers
	query *actor.PID
}

func newStream(subs *Subscribers, query *actor.PID) actor.Producer {
	return func() actor.Receiver { return &stream{subs: subs, query: query} }
}

func (s *stream) Receive(c *actor.Context) {
	if m, ok := c.Message().(publish); ok {
		if m.Ev.Time.IsZero() {
			m.Ev.Time = time.Now()
		}
		if s.query != nil && m.Ev.Type != model.EvReport {
			c.Send(s.query, m)
		}
		s.subs.each(m.Ev)
	}
}

// watchdog turns supervision trouble and hollywood's own event stream
// (dead letters, remote peers unreachable, built-in restarts) into system
// events and WARN notifications.
type watchdog struct {
	log        *slog.Logger
	router     *actor.PID
	stream     *actor.PID
	deadCount  uint64
	lastDeadEv time.Time
}

// stormMsg reports a restart storm to the watchdog.
type stormMsg struct{ S RestartStorm }

// restartMsg reports one supervised restart to the watchdog.
type restartMsg struct{ Child, Reason string }

func newWatchdog(log *slog.Logger, router, stream *actor.PID) actor.Producer {
	return func() actor.Receiver { return &watchdog{log: log, router: router, stream: stream} }
}

func (w *watchdog) Receive(c *actor.Context) {
	now := time.Now()
	switch m := c.Message().(type) {
	case actor.Started:
		c.Engine().Subscribe(c.PID())
	case actor.Stopped:
		c.Engine().Unsubscribe(c.PID())
	case stormMsg:
		s := m.S
		text := "restart storm: " + s.Child + " failed " + strconv.Itoa(s.Failures) + " times within " + s.Window.String() +
			"; parked for " + s.Backoff.String() + ". Last failure: " + s.Reason
		w.system(c, text)
		c.Send(w.router, notifyMsg{N: model.Notification{ID: notifID("storm", s.Child, now.UnixNano()), Level: model.WARN,
			Kind: model.KindWarning, Subject: "restart storm in " + s.Child, Text: text, Time: now}, Alert: "storm|" + s.Child})
	case restartMsg:
		w.system(c, "actor "+m.Child+" restarted after: "+m.Reason)
	case actor.DeadLetterEvent:
		w.deadCount++
		if now.Sub(w.lastDeadEv) > 10*time.Second {
			w.lastDeadEv = now
			w.log.Warn("dead letters", "total", w.deadCount, "target", m.Target.GetID())
			w.system(c, "dead letter to "+m.Target.GetID()+" (total "+strconv.FormatUint(w.deadCount, 10)+")")
		}
	case actor.ActorRestartedEvent:
		w.system(c, "hollywood restarted "+m.PID.GetID())
	case actor.RemoteUnreachableEvent:
		w.log.Warn("remote unreachable", "address", m.ListenAddr)
		w.system(c, "remote unreachable: "+m.ListenAddr)
	}
}

func (w *watchdog) system(c *actor.Context, text string) {
	if w.stream != nil {
		c.Send(w.stream, publish{Ev: model.Event{Type: model.EvSystem, Time: time.Now(), Text: text}})
	}
}
