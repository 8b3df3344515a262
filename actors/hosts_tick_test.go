package actors

import (
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// TestHostsTickSpread: a tick reaches every host actor once, spread over
// the tick period in chunks of tickChunk, not all at once; a tick that
// comes before the previous round ended first finishes that round.
func TestHostsTickSpread(t *testing.T) {
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	const hosts, period = 3*tickChunk + 10, 300 * time.Millisecond
	var mu sync.Mutex
	got := map[string][]time.Time{}
	var pids []*actor.PID
	for i := range hosts {
		pids = append(pids, e.SpawnFunc(func(c *actor.Context) {
			if _, ok := c.Message().(tick); ok {
				mu.Lock()
				got[c.PID().ID] = append(got[c.PID().ID], time.Now())
				mu.Unlock()
			}
		}, "host", actor.WithID(string(rune('a'+i%26))+time.Duration(i).String())))
	}
	h := &hostsSup{cfg: HostsConfig{Tick: period}}
	start := make(chan struct{}, 2)
	sup := e.SpawnFunc(func(c *actor.Context) {
		switch m := c.Message().(type) {
		case string: // "tick": a new round over pids
			h.newTickRound(c, func(fn func(*actor.PID)) {
				for _, pid := range pids {
					fn(pid)
				}
			})
			start <- struct{}{}
		case tickMore:
			if m.Round == h.tickRound {
				h.tickSome(c)
			}
		}
	}, "hostsup")
	t0 := time.Now()
	e.Send(sup, "tick")
	<-start
	time.Sleep(period + 200*time.Millisecond)
	mu.Lock()
	var first, last time.Time
	for _, pid := range pids {
		ts := got[pid.ID]
		if len(ts) != 1 {
			mu.Unlock()
			t.Fatalf("host %s got %d ticks in one round, want 1", pid.ID, len(ts))
		}
		if first.IsZero() || ts[0].Before(first) {
			first = ts[0]
		}
		if ts[0].After(last) {
			last = ts[0]
		}
	}
	mu.Unlock()
	// 4 chunks over 300 ms: the last one 3/4 of the period after the first.
	if spread := last.Sub(first); spread < period/2 || last.Sub(t0) > period+150*time.Millisecond {
		t.Fatalf("ticks spread over %v (last %v after the tick), want about %v", spread, last.Sub(t0), period*3/4)
	}
	// A new tick while a round is under way: the rest of that round goes
	// at once, then the new round; every host gets both ticks.
	mu.Lock()
	clear(got)
	mu.Unlock()
	e.Send(sup, "tick")
	<-start
	time.Sleep(10 * time.Millisecond) // one chunk sent, the rest pending
	e.Send(sup, "tick")
	<-start
	time.Sleep(period + 200*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, pid := range pids {
		if n := len(got[pid.ID]); n != 2 {
			t.Fatalf("host %s got %d ticks over two overlapping rounds, want 2", pid.ID, n)
		}
	}
}
