package bench

import (
	"crypto/ed25519"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
	"github.com/lookout-mon/lookout/wire"
)

// memRules are the rules of the embedded default config (configs/default.yaml).
var memRules = []model.RuleInfo{
	{Name: "disk-space", Expr: "*!machine.disk:*.used_percentage > 90% WARN, > 95% CRIT", Source: "config"},
	{Name: "disk-inodes", Expr: "*!machine.inodes:*.used_percentage > 90% WARN, > 95% CRIT", Source: "config"},
	{Name: "memory", Expr: "*!machine.memory:physical.used_percentage > 90% WARN", Source: "config"},
	{Name: "load", Expr: "*!machine.load:system.load1_per_core > 2 WARN for 5m", Source: "config"},
}

// agentReport builds a report in the shape the real agent sends (see
// agent/collect_*.go): cpu total and two cores, load, memory, swap, disk and
// inodes of one mount, disk io, network of one interface: 45 values in 9
// samples, all below the default rules' thresholds.
func agentReport(host string, seq uint64, rng *rand.Rand) *model.Report {
	r := &model.Report{Version: model.ProtocolVersion, Agent: host, Host: host, Seq: seq, Oldest: seq, Time: time.Now().UnixNano()}
	f := func() float64 { return rng.Float64() * 80 }
	big := func() float64 { return float64(rng.Int64N(1 << 40)) }
	add := func(res, unit string, v map[string]float64) {
		r.Samples = append(r.Samples, model.Sample{Service: model.ServiceMachine, Resource: res, Unit: unit, Values: v})
	}
	for _, unit := range []string{"total", "cpu0", "cpu1"} {
		add(model.ResCPU, unit, map[string]float64{"user": f(), "system": f(), "iowait": f(), "idle": f(), "steal": f(), "used_percentage": f()})
	}
	add(model.ResLoad, "system", map[string]float64{"load1": f() / 80, "load5": f() / 80, "load15": f() / 80, "load1_per_core": f() / 80})
	add(model.ResMemory, "physical", map[string]float64{"total": big(), "used": big(), "available": big(), "free": big(), "buffers": big(), "cached": big(), "used_percentage": f()})
	add(model.ResSwap, "swap", map[string]float64{"total": big(), "used": big(), "free": big(), "used_percentage": f()})
	add(model.ResDisk, "/dev/sda1 (/)", map[string]float64{"total": big(), "used": big(), "free": big(), "used_percentage": f()})
	add(model.ResInodes, "/dev/sda1 (/)", map[string]float64{"total": big(), "used": big(), "free": big(), "used_percentage": f()})
	add(model.ResNetwork, "eth0", map[string]float64{"rx_bytes_per_sec": big(), "tx_bytes_per_sec": big(), "rx_packets_per_sec": f(), "tx_packets_per_sec": f(), "rx_errors_per_sec": 0, "tx_errors_per_sec": 0})
	return r
}

// memProfileRate is the sampling rate of the memory profile while the
// test runs: fine enough for a good estimate, coarse enough to stay fast.
const memProfileRate = 256

// unsample estimates the in-use bytes of a sampled profile record the way
// pprof does (each sampled object stands for 1/(1-exp(-size/rate)) objects).
func unsample(r runtime.MemProfileRecord) float64 {
	if r.AllocObjects == 0 {
		return 0
	}
	avg := float64(r.AllocBytes) / float64(r.AllocObjects)
	return float64(r.InUseBytes()) / (1 - math.Exp(-avg/memProfileRate))
}

// liveHeap returns HeapAlloc after two full collections, and the part of
// it that the memory profile attributes to badger (allocations with a
// github.com/dgraph-io frame: memtables, table builders, caches), which
// depends on write volume and flush timing, not on the number of hosts.
// The badger part is estimated from the sampled memory profile.
func liveHeap() (total, badger uint64) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	n, _ := runtime.MemProfile(nil, false)
	recs := make([]runtime.MemProfileRecord, n+100)
	n, _ = runtime.MemProfile(recs, false)
	for _, r := range recs[:n] {
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if strings.HasPrefix(f.Function, "github.com/dgraph-io/") {
				badger += uint64(unsample(r))
				break
			}
			if !more {
				break
			}
		}
	}
	return ms.HeapAlloc, badger
}

// goMem is the memory the Go runtime holds, from runtime/metrics.
type goMem struct {
	objects  uint64 // heap objects (live after a GC)
	heap     uint64 // heap spans not released to the OS: objects, free and unused space
	stacks   uint64 // goroutine stacks
	resident uint64 // everything mapped and not released: heap, stacks, runtime metadata
}

// readGoMem reads the runtime's memory classes.
func readGoMem() goMem {
	names := []string{
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes",
		"/memory/classes/heap/free:bytes",
		"/memory/classes/heap/stacks:bytes",
		"/memory/classes/os-stacks:bytes",
		"/memory/classes/total:bytes",
		"/memory/classes/heap/released:bytes",
	}
	ss := make([]metrics.Sample, len(names))
	for i, n := range names {
		ss[i].Name = n
	}
	metrics.Read(ss)
	v := func(i int) uint64 {
		if ss[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return ss[i].Value.Uint64()
	}
	return goMem{objects: v(0), heap: v(0) + v(1) + v(2), stacks: v(3) + v(4), resident: v(5) - v(6)}
}

// vmRSS returns the process's resident set size from /proc/self/status,
// or 0 where there is none.
func vmRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// perHost formats (after-before)/n bytes in KiB.
func perHost(before, after uint64, n int) string {
	return strconv.FormatFloat((float64(after)-float64(before))/float64(n)/1024, 'f', 2, 64) + " KiB"
}

// TestMemoryPerHost starts an in-process master with the default rules,
// has N hosts (LOOKOUT_MEM_HOSTS, default 2000) open a session and send
// three agent-shaped reports each (LOOKOUT_MEM_SIGNED=1: signed reports, no
// session), and reports the live heap per host (HeapAlloc delta after GC /
// N, without what the memory profile attributes to badger), the figure
// issue 8 wants below 10 KiB (about 5.2 KiB with sessions, 4.3 KiB
// without, see BENCHMARKS.md). It
// also logs the runtime's other memory classes per host (stacks, heap in
// use, Go resident, VmRSS: these include badger's buffers) and the heap
// goal the live heap implies at the current GOGC. It guards against
// regressions: it fails above LOOKOUT_MEM_MAX_BYTES (default 16 KiB: the
// measured figure plus margin for runtime noise and a loaded machine).
func TestMemoryPerHost(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement: -short")
	}
	n := 2000
	if s := os.Getenv("LOOKOUT_MEM_HOSTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("LOOKOUT_MEM_HOSTS=%q: want a positive integer", s)
		}
		n = v
	}
	maxPerHost := 16 * 1024.0
	if s := os.Getenv("LOOKOUT_MEM_MAX_BYTES"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("LOOKOUT_MEM_MAX_BYTES=%q: %v", s, err)
		}
		maxPerHost = v
	}
	const rounds = 3
	// Record every allocation so liveHeap can tell badger's buffers apart.
	defer func(r int) { runtime.MemProfileRate = r }(runtime.MemProfileRate)
	runtime.MemProfileRate = memProfileRate
	keys := make(map[string]ed25519.PublicKey, n)
	privs := make([]ed25519.PrivateKey, n)
	for i := range n {
		pub, priv, _ := ed25519.GenerateKey(nil)
		keys["h"+strconv.Itoa(i)] = pub
		privs[i] = priv
	}
	st, err := store.Open(t.TempDir(), store.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := actors.StartMaster(actors.MasterOptions{Name: "memtest", Store: st, Log: quiet(), Keys: keys,
		HostTimeout: 10 * time.Minute, RateLimit: 1e6, RateBurst: 1e6, Rules: memRules})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Stop(); _ = st.Close() })

	var acked atomic.Int64
	welcomes := make(chan *wire.Welcome, n)
	ackPID := m.Engine().SpawnFunc(func(c *actor.Context) {
		a, ok := c.Message().(*anypb.Any)
		if !ok {
			return
		}
		if a.GetTypeUrl() == wire.TypeWelcome {
			if w, err := wire.OpenWelcome(a); err == nil {
				welcomes <- w
			}
			return
		}
		var ack model.Ack
		if wire.Decode(a, wire.TypeAck, &ack) == nil && ack.Reject == "" {
			acked.Add(1)
		}
	}, "memacks")
	ingest := actor.NewPID(m.Engine().Address(), wire.IngestID)
	rng := rand.New(rand.NewPCG(5, 6))

	base, baseBadger := liveHeap()
	baseMem, baseRSS := readGoMem(), vmRSS()
	start := time.Now()
	// Like the real agent, every host opens a session (hello, welcome) and
	// MACs its reports: the master keeps a session per agent, part of the
	// cost per host. LOOKOUT_MEM_SIGNED=1 signs every report instead (the
	// protocol before sessions, and this test's only mode before round 4).
	signed := os.Getenv("LOOKOUT_MEM_SIGNED") == "1"
	sessions := make([]*wire.Session, n)
	if !signed {
		pending := make(map[string]*wire.PendingHello, n)
		index := make(map[string]int, n)
		for i := range n {
			name := "h" + strconv.Itoa(i)
			msg, pend, err := wire.NewHelloOpts(privs[i], name, time.Now(), wire.HelloOptions{AckDelay: DefaultAckDelay})
			if err != nil {
				t.Fatal(err)
			}
			pending[name], index[name] = pend, i
			m.Engine().SendWithSender(ingest, msg, ackPID)
		}
		deadline := time.After(time.Minute)
		for range n {
			select {
			case w := <-welcomes:
				pend := pending[w.Agent]
				if pend == nil {
					t.Fatalf("welcome for unknown or already welcomed agent %q", w.Agent)
				}
				sess, err := pend.Finish(w)
				if err != nil {
					t.Fatalf("welcome of %s: %v", w.Agent, err)
				}
				sessions[index[w.Agent]] = sess
				delete(pending, w.Agent)
			case <-deadline:
				t.Fatalf("%d of %d hellos unanswered within a minute", len(pending), n)
			}
		}
	}
	for round := range rounds {
		want := int64((round + 1) * n)
		for i := range n {
			r := agentReport("h"+strconv.Itoa(i), uint64(round+1), rng)
			var msg *anypb.Any
			var err error
			if signed {
				msg, err = wire.SignReport(privs[i], r)
			} else {
				msg, err = sessions[i].Seal(r)
			}
			if err != nil {
				t.Fatal(err)
			}
			m.Engine().SendWithSender(ingest, msg, ackPID)
		}
		deadline := time.Now().Add(time.Minute)
		for acked.Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: only %d of %d reports acked within a minute", round, acked.Load(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	el := time.Since(start)
	ctx := t.Context()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := m.ServerList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The host actors push their status to the query read-model at
		// most once a second (on their tick): wait until it shows every
		// host's last report, as it does in steady state, so the heap holds
		// the last values once, not a stale copy too.
		current := 0
		for _, h := range list {
			if h.LastSeq == rounds {
				current++
			}
		}
		if current == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server list has %d of %d hosts at their last report (seq %d)", current, n, rounds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	live, liveBadger := liveHeap()
	liveMem, liveRSS := readGoMem(), vmRSS()
	all := (float64(live) - float64(base)) / float64(n)
	per := (float64(live-liveBadger) - float64(base-baseBadger)) / float64(n)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mode := "sessions"
	if signed {
		mode = "signed reports"
	}
	t.Logf("%s: %d hosts x %d reports in %v: live heap %.1f MiB -> %.1f MiB (badger %.1f -> %.1f MiB); per host %.0f B (%.2f KiB) without badger, %.2f KiB with; HeapSys %.1f MiB",
		mode, n, rounds, el.Round(time.Millisecond), float64(base)/(1<<20), float64(live)/(1<<20),
		float64(baseBadger)/(1<<20), float64(liveBadger)/(1<<20), per, per/1024, all/1024, float64(ms.HeapSys)/(1<<20))
	// What a process would hold per host: the live heap grows the heap
	// goal by (1+GOGC/100) (the GC lets garbage accumulate up to that), and
	// the goroutine stacks and runtime metadata come on top. The in-use
	// figures here are right after a forced GC, so they are a floor, and
	// VmRSS also holds what the GC has freed but not yet returned.
	gogc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gogc)
	goal := per * (1 + float64(gogc)/100)
	t.Logf("per host: heap objects %s, heap in use (objects+free+unused) %s, stacks %s, Go resident (runtime/metrics total-released) %s, VmRSS %s; heap goal at GOGC=%d without badger %.2f KiB, plus stacks %s",
		perHost(baseMem.objects, liveMem.objects, n), perHost(baseMem.heap, liveMem.heap, n), perHost(baseMem.stacks, liveMem.stacks, n),
		perHost(baseMem.resident, liveMem.resident, n), perHost(baseRSS, liveRSS, n), gogc, goal/1024, perHost(baseMem.stacks, liveMem.stacks, n))
	if per > maxPerHost {
		t.Errorf("live heap per host %.0f B, want <= %.0f B", per, maxPerHost)
	}
	if path := os.Getenv("LOOKOUT_MEM_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	runtime.KeepAlive(m)
}
