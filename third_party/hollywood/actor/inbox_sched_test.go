package actor

// Lookout patch 5 tests: the inbox worker cache (workerPool) reuses
// goroutines, never queues work behind a busy or blocked worker, keeps
// per-inbox order, and leaves no goroutine behind once idle for its timeout.

import (
	"fmt"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// idleLen is the number of workers on p's idle stack.
func idleLen(p *workerPool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

func TestWorkerPoolReusesWorker(t *testing.T) {
	for _, n := range []int{1, 10, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := newWorkerPool(4, time.Minute)
			ran := 0
			for i := 0; i < n; i++ {
				done := make(chan struct{})
				p.Schedule(func() { ran++; close(done) })
				<-done
				// The worker parks after fn returns; wait for it so the
				// next Schedule finds it idle.
				waitFor(t, 5*time.Second, "worker not parked", func() bool { return idleLen(p) == 1 })
			}
			if ran != n {
				t.Fatalf("ran %d of %d", ran, n)
			}
			if got := p.started.Load(); got != 1 {
				t.Fatalf("%d sequential drains started %d goroutines, want 1", n, got)
			}
		})
	}
}

// TestWorkerPoolNeverQueues: fns that block until all of them run at once
// must each get a goroutine (a queueing pool would deadlock here).
func TestWorkerPoolNeverQueues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxIdle int
		warm    int // idle workers before the blocking fns
		n       int
	}{
		{"cold-1", 4, 0, 1},
		{"cold-64", 4, 0, 64},
		{"warm-fewer-than-needed", 8, 3, 32},
		{"warm-more-than-needed", 16, 16, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newWorkerPool(tc.maxIdle, time.Minute)
			if tc.warm > 0 {
				var wg, hold sync.WaitGroup
				hold.Add(1)
				wg.Add(tc.warm)
				for i := 0; i < tc.warm; i++ {
					p.Schedule(func() { wg.Done(); hold.Wait() })
				}
				wg.Wait()
				hold.Done()
				waitFor(t, 5*time.Second, "warm workers not parked", func() bool { return idleLen(p) == tc.warm })
			}
			var arrived sync.WaitGroup
			arrived.Add(tc.n)
			all := make(chan struct{})
			var finished sync.WaitGroup
			finished.Add(tc.n)
			for i := 0; i < tc.n; i++ {
				p.Schedule(func() {
					arrived.Done()
					<-all
					finished.Done()
				})
			}
			ok := make(chan struct{})
			go func() { arrived.Wait(); close(ok) }()
			select {
			case <-ok:
			case <-time.After(10 * time.Second):
				t.Fatal("blocking fns did not all run at once: work was queued")
			}
			close(all)
			finished.Wait()
			wantStarted := int64(tc.warm + max(0, tc.n-tc.warm))
			if got := p.started.Load(); got != wantStarted {
				t.Fatalf("started %d goroutines, want %d", got, wantStarted)
			}
		})
	}
}

// TestWorkerPoolIdleTimeout: no worker outlives its idle timeout, and at
// most maxIdle stay idle.
func TestWorkerPoolIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxIdle  int
		workers  int
		wantIdle int
	}{
		{"under-cap", 64, 16, 16},
		{"over-cap", 4, 16, 4},
		{"cap-zero", 0, 8, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const timeout = 100 * time.Millisecond
			p := newWorkerPool(tc.maxIdle, timeout)
			before := runtime.NumGoroutine()
			var started sync.WaitGroup
			started.Add(tc.workers)
			release := make(chan struct{})
			for i := 0; i < tc.workers; i++ {
				p.Schedule(func() { started.Done(); <-release })
			}
			started.Wait()
			if got := p.live.Load(); got != int64(tc.workers) {
				t.Fatalf("live = %d with %d busy workers", got, tc.workers)
			}
			close(release)
			waitFor(t, 5*time.Second, "surplus workers did not exit", func() bool {
				return p.live.Load() == int64(tc.wantIdle) && idleLen(p) == tc.wantIdle
			})
			waitFor(t, 5*time.Second, "idle workers outlived the idle timeout", func() bool {
				return p.live.Load() == 0 && idleLen(p) == 0
			})
			waitFor(t, 5*time.Second, "goroutines left behind", func() bool {
				return runtime.NumGoroutine() <= before
			})
		})
	}
}

// TestWorkerPoolTimeoutRace: with an idle timeout of the same order as the
// gaps between Schedule calls, workers time out while Schedule hands them
// work; every fn must still run exactly once and no worker may remain.
func TestWorkerPoolTimeoutRace(t *testing.T) {
	p := newWorkerPool(8, 200*time.Microsecond)
	const senders, per = 8, 300
	var runs [senders * per]atomic.Int32
	var wg sync.WaitGroup
	var done sync.WaitGroup
	done.Add(senders * per)
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(s)))
			for i := 0; i < per; i++ {
				k := s*per + i
				p.Schedule(func() { runs[k].Add(1); done.Done() })
				if d := r.Intn(400); d > 200 {
					time.Sleep(time.Duration(d) * time.Microsecond)
				}
			}
		}(s)
	}
	wg.Wait()
	done.Wait()
	for k := range runs {
		if n := runs[k].Load(); n != 1 {
			t.Fatalf("fn %d ran %d times", k, n)
		}
	}
	waitFor(t, 5*time.Second, "workers left after the timeout", func() bool { return p.live.Load() == 0 })
}

// TestWorkerPoolGoexit: a fn that ends its goroutine (t.FailNow in a
// Receive) takes only its own worker down.
func TestWorkerPoolGoexit(t *testing.T) {
	p := newWorkerPool(4, time.Minute)
	exited := make(chan struct{})
	p.Schedule(func() {
		defer close(exited)
		runtime.Goexit()
	})
	<-exited
	waitFor(t, 5*time.Second, "Goexit worker still counted live", func() bool { return p.live.Load() == 0 })
	if idleLen(p) != 0 {
		t.Fatal("a worker that called Goexit was parked")
	}
	ran := make(chan struct{})
	p.Schedule(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("pool did not run work after a Goexit")
	}
}

// seqMsg is a message numbered per sender.
type seqMsg struct{ sender, seq int }

// TestInboxOrderPerSender: through the engine (so through the shared
// pool), messages of each sender arrive in order, with bursts separated by
// idle gaps so the inbox is rescheduled many times.
func TestInboxOrderPerSender(t *testing.T) {
	for _, tc := range []struct {
		name    string
		senders int
		bursts  int
		burst   int
		gap     time.Duration
	}{
		{"one-sender-gaps", 1, 200, 5, 100 * time.Microsecond},
		{"many-senders-gaps", 8, 100, 20, 50 * time.Microsecond},
		{"many-senders-flood", 8, 1, 5000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEngine(NewEngineConfig())
			if err != nil {
				t.Fatal(err)
			}
			total := tc.senders * tc.bursts * tc.burst
			last := make([]int, tc.senders)
			for i := range last {
				last[i] = -1
			}
			var bad atomic.Value
			var got atomic.Int64
			done := make(chan struct{})
			pid := e.SpawnFunc(func(c *Context) {
				m, ok := c.Message().(seqMsg)
				if !ok {
					return
				}
				if m.seq != last[m.sender]+1 && bad.Load() == nil {
					bad.Store(fmt.Sprintf("sender %d: seq %d after %d", m.sender, m.seq, last[m.sender]))
				}
				last[m.sender] = m.seq
				if got.Add(1) == int64(total) {
					close(done)
				}
			}, "order")
			var wg sync.WaitGroup
			for s := 0; s < tc.senders; s++ {
				wg.Add(1)
				go func(s int) {
					defer wg.Done()
					seq := 0
					for b := 0; b < tc.bursts; b++ {
						for i := 0; i < tc.burst; i++ {
							e.Send(pid, seqMsg{s, seq})
							seq++
						}
						if tc.gap > 0 {
							time.Sleep(tc.gap)
						}
					}
				}(s)
			}
			wg.Wait()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("received %d of %d", got.Load(), total)
			}
			if b := bad.Load(); b != nil {
				t.Fatal(b)
			}
			<-e.Poison(pid).Done()
		})
	}
}

// countProc is a Processer that counts and records what it is given.
type countProc struct {
	mu   sync.Mutex
	msgs []any
	deep int // stack depth in KiB to use per message (deepStack)
	wg   *sync.WaitGroup
	junk []byte
	gc   bool
}

func (p *countProc) Start()               {}
func (p *countProc) PID() *PID            { return nil }
func (p *countProc) Send(*PID, any, *PID) {}
func (p *countProc) Shutdown()            {}
func (p *countProc) Invoke(msgs []Envelope) {
	for _, m := range msgs {
		if p.deep > 0 {
			sink.Add(uint64(deepStack(p.deep)))
		}
		if p.gc {
			// Garbage, so the GC runs (and shrinks idle stacks) as in a
			// real master.
			p.junk = make([]byte, 16<<10)
		}
		if p.wg != nil {
			p.wg.Done()
			continue
		}
		p.mu.Lock()
		p.msgs = append(p.msgs, m.Msg)
		p.mu.Unlock()
	}
}

func (p *countProc) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

// TestInboxStop: after Stop, an inbox invokes nothing more, on the pool as
// before.
func TestInboxStop(t *testing.T) {
	in := NewInbox(16)
	p := &countProc{}
	in.Start(p)
	for i := 0; i < 10; i++ {
		in.Send(Envelope{Msg: i})
	}
	waitFor(t, 5*time.Second, "messages before Stop not invoked", func() bool { return p.count() == 10 })
	waitFor(t, 5*time.Second, "inbox not idle", func() bool { return atomic.LoadInt32(&in.procStatus) == idle })
	if err := in.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		in.Send(Envelope{Msg: 10 + i})
	}
	time.Sleep(50 * time.Millisecond)
	if n := p.count(); n != 10 {
		t.Fatalf("%d messages invoked, %d after Stop", n, n-10)
	}
}

// sink keeps deepStack's result alive.
var sink atomic.Uint64

// deepStack uses about kib KiB of stack.
//
//go:noinline
func deepStack(kib int) byte {
	var buf [1000]byte
	buf[kib%len(buf)] = byte(kib)
	if kib <= 1 {
		return buf[0]
	}
	return deepStack(kib-1) + buf[(kib*7)%len(buf)]
}

// spawnScheduler is stock v1.0.5's scheduler: a new goroutine per drain.
type spawnScheduler int

func (spawnScheduler) Schedule(fn func()) { go fn() }
func (s spawnScheduler) Throughput() int  { return int(s) }

// poolScheduler schedules on its own workerPool, so a benchmark can count
// the goroutines it starts.
type poolScheduler struct{ p *workerPool }

func (s poolScheduler) Schedule(fn func()) { s.p.Schedule(fn) }
func (s poolScheduler) Throughput() int    { return defaultThroughput }

// BenchmarkInboxDrainDeepStack: 64 inboxes each get one message per burst
// and every message runs a receive using ~32 KiB of stack; between bursts
// all inboxes go idle, so every message is a new drain. One op is one
// message. "spawn" is stock v1.0.5 (a goroutine per drain), "pool" the
// worker cache; "gc" variants allocate 16 KiB per message with a 64 MiB live
// heap, so the GC runs (and shrinks parked stacks) about every 4,000
// messages, as it does in a loaded master.
func BenchmarkInboxDrainDeepStack(b *testing.B) {
	const inboxes = 64
	for _, gc := range []bool{false, true} {
		var ballast []byte
		if gc {
			ballast = make([]byte, 64<<20)
		}
		for _, sc := range []string{"spawn", "pool"} {
			name := sc
			if gc {
				name += "-gc"
			}
			b.Run(name, func(b *testing.B) {
				var sched Scheduler = spawnScheduler(defaultThroughput)
				var pool *workerPool
				if sc == "pool" {
					pool = newWorkerPool(maxIdleWorkers, workerIdleTimeout)
					sched = poolScheduler{pool}
				}
				var wg sync.WaitGroup
				ins := make([]*Inbox, inboxes)
				for i := range ins {
					ins[i] = NewInbox(16)
					ins[i].scheduler = sched
					ins[i].Start(&countProc{deep: 32, wg: &wg, gc: gc})
				}
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				b.ReportAllocs()
				b.ResetTimer()
				for sent := 0; sent < b.N; {
					n := min(inboxes, b.N-sent)
					wg.Add(n)
					for i := 0; i < n; i++ {
						ins[i].Send(Envelope{Msg: sent + i})
					}
					wg.Wait()
					sent += n
					// Idle gap: every inbox back to idle before the next burst.
					for _, in := range ins[:n] {
						for atomic.LoadInt32(&in.procStatus) != idle {
							runtime.Gosched()
						}
					}
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms1)
				if pool != nil {
					b.ReportMetric(float64(pool.started.Load())/float64(b.N), "goroutines/op")
				}
				b.ReportMetric(float64(ms1.NumGC-ms0.NumGC)*1000/float64(b.N), "GCs/1000op")
				for _, in := range ins {
					in.Stop()
				}
			})
		}
		runtime.KeepAlive(ballast)
	}
}

// BenchmarkPoolStackKept: one inbox, a receive using ~12 KiB of stack,
// and a GC between every two messages (while the worker is parked), as a
// loaded master collects while its host actors' workers wait. A worker
// parked with almost no stack in use was shrunk by every GC and grew its
// stack again (copying it twice) on the next message; parked under
// parkPad it keeps it ("grows/op": stack growths per message, from the
// worker's stack size before and after).
func BenchmarkPoolStackKept(b *testing.B) {
	pool := newWorkerPool(maxIdleWorkers, workerIdleTimeout)
	var wg sync.WaitGroup
	in := NewInbox(16)
	in.scheduler = poolScheduler{pool}
	in.Start(&countProc{deep: 12, wg: &wg})
	defer in.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		in.Send(Envelope{Msg: i})
		wg.Wait()
		for atomic.LoadInt32(&in.procStatus) != idle {
			runtime.Gosched()
		}
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
	}
}
