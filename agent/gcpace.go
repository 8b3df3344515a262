package agent

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// GCGarbage is the garbage a standalone agent lets accumulate before it
// collects (PaceGC): after each report, if the heap holds more than this
// many bytes beyond what the last collection found live, the agent runs a
// collection in the background.
//
// The runtime alone lets the heap grow by at least 1 MiB between
// collections, whatever GOGC says: after each collection its goal is at
// least the live heap plus a 1 MiB sweep distance (sweepMinHeapDistance),
// and with a live heap of about 0.5 MiB that floor, not GOGC, decides when
// it collects (GOGC 25, 15 and 10 gave the same RSS). A collection cycle
// leaves about 10-13 KiB of garbage, so an agent reporting every 10 s
// would collect every quarter of an hour or so, and in between its heap,
// and its RSS, carry up to 1 MiB of dead reports. Collecting every
// 256 KiB of garbage instead keeps that part a quarter as large
// (BENCHMARKS.md: 9.7-9.8 instead of 10.0-10.4 MiB after 1,000 cycles)
// for one collection every 20-25 cycles, about 0.5 ms of CPU each on the
// agent's small heap, 20 us per cycle: at the default intervals one
// collection every few minutes.
const GCGarbage = 256 << 10

// gcPacer runs a garbage collection once the garbage since the last one
// passes a bound (see GCGarbage). Its zero value is off; enable turns it
// on. check is cheap (two runtime metrics reads) and never blocks: the
// collection runs in the pacer's goroutine.
type gcPacer struct {
	limit   atomic.Uint64 // bytes of garbage; 0: off
	running atomic.Bool   // a collection was asked for and has not ended
	mu      sync.Mutex    // guards samples, kick and stop
	samples [2]metrics.Sample
	kick    chan struct{}
	stop    chan struct{}
	once    sync.Once
}

// enable starts the pacer with a bound of limit bytes of garbage (limit >
// 0). Calling it again changes the bound.
func (p *gcPacer) enable(limit uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.once.Do(func() {
		p.samples[0].Name = "/memory/classes/heap/objects:bytes" // live + not yet swept dead objects
		p.samples[1].Name = "/gc/heap/live:bytes"                // marked live by the last collection
		p.kick = make(chan struct{}, 1)
		p.stop = make(chan struct{})
		go p.loop(p.kick, p.stop)
	})
	p.limit.Store(limit)
}

// loop runs a collection for every kick until stop is closed.
func (p *gcPacer) loop(kick, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-kick:
			runtime.GC()
			p.running.Store(false)
		}
	}
}

// check asks for a collection if the heap holds more than the bound of
// garbage. It is called after each report; it does nothing when the
// pacer is off or a collection is under way.
func (p *gcPacer) check() {
	limit := p.limit.Load()
	if limit == 0 || p.running.Load() {
		return
	}
	p.mu.Lock()
	metrics.Read(p.samples[:])
	objects, live := p.samples[0].Value.Uint64(), p.samples[1].Value.Uint64()
	p.mu.Unlock()
	if objects > live+limit && p.running.CompareAndSwap(false, true) {
		p.kick <- struct{}{} // buffered 1, and only sent while not running: never blocks
	}
}

// close stops the pacer's goroutine (after a collection under way).
func (p *gcPacer) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		select {
		case <-p.stop:
		default:
			close(p.stop)
		}
	}
}
