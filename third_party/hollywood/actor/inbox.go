package actor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/ringbuffer"
)

const (
	defaultThroughput = 300
	messageBatchSize  = 1024 * 4
)

const (
	stopped int32 = iota
	starting
	idle
	running
)

type Scheduler interface {
	Schedule(fn func())
	Throughput() int
}

type goscheduler int

// Schedule runs fn on a cached worker goroutine, or on a new one when no
// worker is idle (Lookout patch 5: stock v1.0.5 did `go fn()` for every
// drain of an idle inbox; see workerPool).
func (goscheduler) Schedule(fn func()) {
	inboxWorkers.Schedule(fn)
}

func (sched goscheduler) Throughput() int {
	return int(sched)
}

func NewScheduler(throughput int) Scheduler {
	return goscheduler(throughput)
}

type Inboxer interface {
	Send(Envelope)
	Start(Processer)
	Stop() error
}

type Inbox struct {
	rb         *ringbuffer.RingBuffer[Envelope]
	proc       Processer
	scheduler  Scheduler
	procStatus int32
}

func NewInbox(size int) *Inbox {
	return &Inbox{
		rb:         ringbuffer.New[Envelope](int64(size)),
		scheduler:  NewScheduler(defaultThroughput),
		procStatus: stopped,
	}
}

func (in *Inbox) Send(msg Envelope) {
	in.rb.Push(msg)
	in.schedule()
}

func (in *Inbox) schedule() {
	if atomic.CompareAndSwapInt32(&in.procStatus, idle, running) {
		in.scheduler.Schedule(in.process)
	}
}

func (in *Inbox) process() {
	in.run()
	if atomic.CompareAndSwapInt32(&in.procStatus, running, idle) && in.rb.Len() > 0 {
		// messages might have been added to the ring-buffer between the last pop and the transition to idle.
		// if this is the case, then we should schedule again
		in.schedule()
	}
}

func (in *Inbox) run() {
	i, t := 0, in.scheduler.Throughput()
	for atomic.LoadInt32(&in.procStatus) != stopped {
		if i > t {
			i = 0
			runtime.Gosched()
		}
		i++

		if msgs, ok := in.rb.PopN(messageBatchSize); ok && len(msgs) > 0 {
			in.proc.Invoke(msgs)
		} else {
			return
		}
	}
}

func (in *Inbox) Start(proc Processer) {
	// transition to "starting" and then "idle" to ensure no race condition on in.proc
	if atomic.CompareAndSwapInt32(&in.procStatus, stopped, starting) {
		in.proc = proc
		atomic.SwapInt32(&in.procStatus, idle)
		in.schedule()
	}
}

func (in *Inbox) Stop() error {
	atomic.StoreInt32(&in.procStatus, stopped)
	return nil
}

// Lookout patch 5: a cache of worker goroutines for inbox drains.
//
// Stock v1.0.5 started a new goroutine (`go in.process()`) every time an
// idle inbox received a message. A new goroutine starts with a small stack
// and, through deep receive paths (badger, msgpack, protobuf), grows it
// again by copying on every drain: runtime.newstack/copystack were ~12% of
// a loaded master's CPU. A worker of this pool keeps its grown stack from
// one drain to the next. It never queues work: Schedule hands fn to an idle
// worker or starts a new goroutine, exactly as before, so an actor that
// blocks in Receive cannot hold up another inbox.

const (
	// workerIdleTimeout is how long an idle worker waits for its next fn
	// before it exits.
	workerIdleTimeout = 10 * time.Second
	// maxIdleWorkers bounds the number of idle workers kept (and so their
	// stacks); a worker that finishes while this many are idle exits. A
	// master's ingest batch wakes ~1,000 host and alarm actors at once:
	// keeping a worker for each held ~5 MiB of stacks and saved no more CPU
	// than 64, which cost ~0.5 MiB (lookout bench, 1,000 agents).
	maxIdleWorkers = 64
)

// inboxWorkers is the pool behind goscheduler, shared by every engine of the
// process.
var inboxWorkers = newWorkerPool(maxIdleWorkers, workerIdleTimeout)

// workerPool runs functions on cached goroutines. Idle workers form a stack:
// the most recently idle one gets the next fn, so under a steady load the
// same few workers (with warm, grown stacks) do the work and the surplus
// ones time out.
type workerPool struct {
	maxIdle int
	timeout time.Duration

	mu   sync.Mutex
	idle []*poolWorker // guarded by mu; the last one is the most recently idle

	started atomic.Int64 // goroutines started, for tests and benchmarks
	live    atomic.Int64 // goroutines running or idle
}

// poolWorker is one worker goroutine's hand-off slot. Whoever removes a
// worker from workerPool.idle sends exactly one fn on work (buffered, so the
// send never blocks).
type poolWorker struct {
	work chan func()
}

// newWorkerPool returns a pool that keeps at most maxIdle idle workers, each
// for at most timeout.
func newWorkerPool(maxIdle int, timeout time.Duration) *workerPool {
	return &workerPool{maxIdle: maxIdle, timeout: timeout}
}

// Schedule runs fn on the most recently idle worker, or on a new goroutine
// if none is idle. It never blocks and never queues fn behind other work.
func (p *workerPool) Schedule(fn func()) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		w.work <- fn
		return
	}
	p.mu.Unlock()
	p.started.Add(1)
	p.live.Add(1)
	go p.work(&poolWorker{work: make(chan func(), 1)}, fn)
}

// work is a worker goroutine: it runs fn, then every fn handed to it, until
// it has been idle for p.timeout or p.maxIdle others are idle. If fn
// panics, the process dies as it did with `go fn()`; if fn calls
// runtime.Goexit, only this worker ends (it was not idle, so nothing is
// handed to it).
func (p *workerPool) work(w *poolWorker, fn func()) {
	defer p.live.Add(-1)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		fn()
		fn = nil
		if !p.park(w) {
			return
		}
		// Go >= 1.23 timers: Reset discards a value from an earlier expiry
		// that was not received. With the old asynchronous timers
		// (GODEBUG asynctimerchan=1), a stale value only makes the worker
		// time out early, which is harmless.
		if timer == nil {
			timer = time.NewTimer(p.timeout)
		} else {
			timer.Reset(p.timeout)
		}
		var exit bool
		if fn, exit = p.wait(w, timer); exit {
			return
		}
	}
}

// parkPad is the stack a worker keeps in use while it waits for work.
const parkPad = 8 << 10

// wait waits for w's next fn, or for timer; exit is true if the worker
// must end. It waits under a frame of parkPad bytes: the GC halves the
// stack of a goroutine that uses less than a quarter of it, and an idle
// worker otherwise uses almost none, so the stack it grew running deep
// actors was shrunk at every GC cycle and grown (copied) again by the next
// message. With 8 KiB in use, stacks of up to 32 KiB are kept.
//
//go:noinline
func (p *workerPool) wait(w *poolWorker, timer *time.Timer) (fn func(), exit bool) {
	var pad [parkPad]byte
	keepPad(&pad)
	select {
	case fn = <-w.work:
	case <-timer.C:
		if p.unpark(w) {
			return nil, true
		}
		// Schedule took w off the idle stack before we could: its fn
		// is on the way.
		fn = <-w.work
	}
	return fn, false
}

// keepPad uses pad so that the compiler keeps it in wait's frame.
//
//go:noinline
func keepPad(pad *[parkPad]byte) { pad[0] = 1 }

// park puts w on the idle stack; it reports false if the stack is full, in
// which case the worker must exit.
func (p *workerPool) park(w *poolWorker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.maxIdle {
		return false
	}
	p.idle = append(p.idle, w)
	return true
}

// unpark removes w from the idle stack after its timeout; it reports false
// if w is no longer there, i.e. Schedule has taken it and sends it a fn.
func (p *workerPool) unpark(w *poolWorker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Workers that time out are the least recently idle: look from the bottom.
	for i, x := range p.idle {
		if x == w {
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[len(p.idle)-1] = nil
			p.idle = p.idle[:len(p.idle)-1]
			return true
		}
	}
	return false
}
