// Package actors holds the master's actor tree: supervisors, ingest, host
// and alarm actors, the router, notifier actors with durable outboxes, the
// watchdog, the query read-model and the event stream.
//
// Supervision is ours, not hollywood's (DESIGN.md, hollywood v1.0.5 facts
// 1-3): exceeding MaxRestarts crashes the whole process, a built-in restart
// loses state silently and parents never learn of it. So every actor is
// spawned with MaxRestarts effectively infinite and with the Recover
// middleware, which turns a panic into a ChildFailed message to the parent.
// The parent (a Supervisor) stops the failed child, waits until it is gone
// (re-spawning a live ID silently returns the old PID) and spawns it afresh
// from its Producer, so the new incarnation reloads its state from the store
// in Started. More than Intensity failures within Window is a restart storm:
// the child is parked for a backoff, the storm is reported to the watchdog
// (a WARN notification) and the process carries on.
//
// The tree (see StartMaster):
//
//	lookout/master (root supervisor)
//	├── query      read-model for the API and dashboard (fed by the others)
//	├── stream     fans processed events out to subscribers (SSE, --debug)
//	├── watchdog   restart storms, dead letters, unreachable remotes
//	├── notifiers  supervisor of notifier/<type>/<name>: durable outbox each
//	├── router     maintenance windows, fan-out by minimum level
//	├── hosts      supervisor of host/<name>, owns the rule set
//	│   └── host/<name>   up/down, last values, checks, downtimes
//	│       └── alarm/<rule>  the rule's state machines on this host
//	└── ingest     authenticates, dedups, group-commits, acks, forwards
//
// Alarm actors are one per rule and host, each holding the state machines
// of every series of that host the rule matches, rather than one actor per
// rule x series: a disk rule on a host with 12 mounts is one actor, not 12,
// which keeps the actor count (and memory per host) proportional to rules,
// while a panic still only resets that rule on that host.
package actors

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// ChildFailed tells a supervisor that one of its children panicked.
type ChildFailed struct {
	PID    *actor.PID
	Reason string
	Stack  string
}

// RestartStorm is published (to the watchdog) when a child failed more than
// a supervisor's intensity allows.
type RestartStorm struct {
	Supervisor string
	Child      string
	Failures   int
	Window     time.Duration
	Backoff    time.Duration
	Reason     string
}

// Recover returns a middleware that converts a panic in Receive into a
// ChildFailed sent to the actor's parent (or to fallback for top-level
// actors). After a panic the incarnation ignores further messages: its
// state may be inconsistent, and its supervisor is about to replace it.
func Recover(log *slog.Logger, fallback func() *actor.PID) actor.MiddlewareFunc {
	// failed holds the receivers (incarnations) that panicked: hollywood
	// applies middleware per message, so the flag cannot live in a closure.
	var failed sync.Map
	return func(next actor.ReceiveFunc) actor.ReceiveFunc {
		return func(c *actor.Context) {
			if _, bad := failed.Load(c.Receiver()); bad {
				if _, ok := c.Message().(actor.Stopped); ok {
					failed.Delete(c.Receiver())
				}
				return
			}
			defer func() {
				r := recover()
				if r == nil {
					return
				}
				failed.Store(c.Receiver(), true)
				stack := string(debug.Stack())
				log.Error("actor panicked", "pid", c.PID().GetID(), "reason", fmt.Sprint(r))
				parent := c.Parent()
				if parent == nil && fallback != nil {
					parent = fallback()
				}
				if parent != nil {
					c.Engine().Send(parent, ChildFailed{PID: c.PID(), Reason: fmt.Sprint(r), Stack: stack})
				}
			}()
			next(c)
		}
	}
}

// childSpec describes how to (re)create a supervised child.
// Its fields are ordered so that it fits in 96 bytes: there is one per
// monitored host.
type childSpec struct {
	name     string // SpawnChild name (kind suffix)
	id       string
	produce  actor.Producer
	failures []time.Time
	backoff  time.Duration
	pid      *actor.PID
	inbox    int32
	parked   bool
	stopping bool
}

// Supervisor manages a set of children with an OTP-style one-for-one
// strategy and a sliding-window restart intensity.
type Supervisor struct {
	Name      string
	Intensity int           // failures allowed within Window before a storm
	Window    time.Duration // sliding window
	// MinBackoff/MaxBackoff bound how long a storming child stays parked.
	MinBackoff, MaxBackoff time.Duration
	Log                    *slog.Logger
	// OnStorm is called (inside the supervisor's Receive) when a child storms.
	OnStorm func(RestartStorm)
	// OnRestart is called for every restart (for the watchdog and the stream).
	OnRestart func(child, reason string)
	// Recover is the middleware given to children.
	Recover actor.MiddlewareFunc

	children map[string]*childSpec
}

type respawn struct{ id string }

// SpawnOpts are the options every Lookout actor is spawned with.
func SpawnOpts(rec actor.MiddlewareFunc, id string, inbox int) []actor.OptFunc {
	opts := []actor.OptFunc{
		actor.WithID(id),
		actor.WithMaxRestarts(1 << 30), // never reach hollywood's crashing limit
		actor.WithRestartDelay(50 * time.Millisecond),
	}
	if rec != nil {
		opts = append(opts, actor.WithMiddleware(rec))
	}
	if inbox > 0 {
		opts = append(opts, actor.WithInboxSize(inbox))
	}
	return opts
}

func (s *Supervisor) init() {
	if s.Intensity <= 0 {
		s.Intensity = 5
	}
	if s.Window <= 0 {
		s.Window = 10 * time.Second
	}
	if s.MinBackoff <= 0 {
		s.MinBackoff = 5 * time.Second
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = 5 * time.Minute
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
}

// Spawn starts a supervised child (idempotent per id) and returns its PID.
func (s *Supervisor) Spawn(c *actor.Context, name, id string, p actor.Producer, inbox int) *actor.PID {
	s.init()
	key := name + "/" + id
	if cs, ok := s.children[key]; ok {
		return cs.pid
	}
	cs := &childSpec{name: name, id: id, produce: p, inbox: int32(inbox)}
	cs.pid = c.SpawnChild(p, name, SpawnOpts(s.Recover, id, inbox)...)
	if s.children == nil {
		s.children = map[string]*childSpec{} // on first use: many supervisors never have a child
	}
	s.children[key] = cs
	return cs.pid
}

// Child returns the PID of a live child, or nil when unknown or parked.
// A nil Supervisor has no children.
func (s *Supervisor) Child(name, id string) *actor.PID {
	if s == nil {
		return nil
	}
	cs, ok := s.children[name+"/"+id]
	if !ok || cs.parked || cs.stopping {
		return nil
	}
	return cs.pid
}

// Known reports whether a child spec exists (live, restarting or parked).
// A nil Supervisor knows none.
func (s *Supervisor) Known(name, id string) bool {
	if s == nil {
		return false
	}
	_, ok := s.children[name+"/"+id]
	return ok
}

// Each calls fn for every live child.
func (s *Supervisor) Each(fn func(pid *actor.PID)) {
	for _, cs := range s.children {
		if !cs.parked && !cs.stopping {
			fn(cs.pid)
		}
	}
}

// Len returns the number of children (any state).
func (s *Supervisor) Len() int { return len(s.children) }

// Remove stops a child for good.
func (s *Supervisor) Remove(c *actor.Context, name, id string) {
	key := name + "/" + id
	cs, ok := s.children[key]
	if !ok {
		return
	}
	delete(s.children, key)
	if !cs.parked {
		c.Engine().Poison(cs.pid)
	}
}

// Handle processes supervision messages; it returns true when msg was one.
func (s *Supervisor) Handle(c *actor.Context, msg any) bool {
	s.init()
	switch m := msg.(type) {
	case ChildFailed:
		s.failed(c, m)
		return true
	case respawn:
		cs, ok := s.children[m.id]
		if !ok {
			return true
		}
		cs.stopping = false
		cs.parked = false
		cs.pid = c.SpawnChild(cs.produce, cs.name, SpawnOpts(s.Recover, cs.id, int(cs.inbox))...)
		s.Log.Info("child restarted", "supervisor", s.Name, "child", m.id)
		return true
	}
	return false
}

func (s *Supervisor) keyOf(pid *actor.PID) string {
	for k, cs := range s.children {
		if cs.pid != nil && cs.pid.ID == pid.ID {
			return k
		}
	}
	return ""
}

func (s *Supervisor) failed(c *actor.Context, m ChildFailed) {
	key := s.keyOf(m.PID)
	if key == "" {
		s.Log.Warn("failure of unknown child", "supervisor", s.Name, "pid", m.PID.GetID(), "reason", m.Reason)
		return
	}
	cs := s.children[key]
	if cs.stopping {
		return
	}
	now := time.Now()
	cut := now.Add(-s.Window)
	kept := cs.failures[:0]
	for _, t := range cs.failures {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	cs.failures = append(kept, now)
	if s.OnRestart != nil {
		s.OnRestart(m.PID.GetID(), firstLine(m.Reason))
	}
	delay := time.Duration(0)
	if len(cs.failures) > s.Intensity {
		if cs.backoff == 0 {
			cs.backoff = s.MinBackoff
		} else {
			cs.backoff = min(cs.backoff*2, s.MaxBackoff)
		}
		delay = cs.backoff
		cs.parked = true
		s.Log.Error("restart storm: child parked", "supervisor", s.Name, "child", key,
			"failures", len(cs.failures), "window", s.Window, "backoff", delay)
		if s.OnStorm != nil {
			s.OnStorm(RestartStorm{Supervisor: s.Name, Child: m.PID.GetID(), Failures: len(cs.failures),
				Window: s.Window, Backoff: delay, Reason: firstLine(m.Reason)})
		}
	} else if len(cs.failures) == 1 {
		cs.backoff = 0
	}
	cs.stopping = true
	self := c.PID()
	eng := c.Engine()
	done := eng.Poison(cs.pid).Done()
	go func() {
		<-done // the old incarnation must be gone before its ID is reused
		if delay > 0 {
			time.Sleep(delay)
		}
		eng.Send(self, respawn{id: key})
	}()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
