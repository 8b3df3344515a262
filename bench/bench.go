// Package bench is Lookout's load generator and measurement harness behind
// `lookout bench`: it starts a real `lookout master` process on loopback,
// drives it with simulated agents that sign reports and speak the real
// protocol over hollywood remote, receives the master's webhook
// notifications in an in-process sink, and reads the master's memory and
// CPU from /proc. It also measures a real agent's footprint (see
// AgentFootprint). Everything is bounded in count and time.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"
)

// Options configures a master load run.
type Options struct {
	Binary    string        // lookout binary (os.Executable() from the CLI)
	Agents    int           // simulated agents (= monitored hosts)
	Engines   int           // hollywood engines carrying the agents (default 4)
	Interval  time.Duration // report interval per agent
	Duration  time.Duration // load duration (the first 20%, at most 2s, is warm-up)
	Values    int           // values per report (default 40)
	Crossings int           // threshold crossings to time (default 200)
	Pprof     string        // optional pprof listen address for the master
	Signed    bool          // agents sign every report (no sessions), as before sessions
	Log       *slog.Logger
	// AckDelay is the ack delay the simulated agents ask for (Generator.AckDelay);
	// 0 means DefaultAckDelay, negative asks for an ack per report.
	AckDelay time.Duration
	// Series, if set, receives one line per second of load: reports sent,
	// acked and resent in that second, the master's CPU (cores) and RSS,
	// and the reports unacked (shows stalls that an average hides).
	Series io.Writer
	// Keep keeps the master's data directory and log, and names it in
	// Result.KeptDir, instead of removing it.
	Keep bool
}

// Result is the outcome of a master load run.
type Result struct {
	Agents, Engines, Values int
	Interval, Window        time.Duration
	Offered                 float64 // reports/s the agents tried to send
	Sent, Acked             uint64  // in the measured window
	Resent, Rejects         uint64  // whole run
	UnackedAtEnd            int     // after a 5 s drain
	IngestRate              float64 // acked reports/s in the window
	MasterCPUPerReport      time.Duration
	MasterCPUShare          float64 // master CPU seconds per wall second in the window
	GeneratorCPUShare       float64 // this process (agents + sink)
	RSSIdle, RSSLoad        int64   // master VmRSS before load (0 hosts) and at end of load
	RSSSettled              int64   // 5 s after the load stopped
	RSSPerHostLoad          float64 // (RSSLoad-RSSIdle)/Agents bytes
	RSSPerHostSettled       float64
	Latencies               []time.Duration // sorted
	Requested               int             // crossings attempted
	Notifications           map[string]int  // webhook deliveries by kind
	// IngestTotals is the master's "ingest totals" log line at shutdown
	// (what it accepted, held, dropped as duplicates, shed), or "".
	IngestTotals string
	// KeptDir is the master's directory (data, log, config) when
	// Options.Keep was set.
	KeptDir string
}

// Run performs one master load run.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Engines <= 0 {
		o.Engines = 4
	}
	if o.Values <= 0 {
		o.Values = 40
	}
	if o.Crossings < 0 {
		o.Crossings = 0
	} else if o.Crossings == 0 {
		o.Crossings = 200
	}
	var errs []error
	if o.Agents <= 0 || o.Agents > 100000 {
		errs = append(errs, fmt.Errorf("--agents must be in 1..100000, got %d", o.Agents))
	}
	if o.Interval < time.Millisecond {
		errs = append(errs, fmt.Errorf("--interval must be at least 1ms, got %s", o.Interval))
	}
	if o.Duration < time.Second || o.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("--duration must be in 1s..1h, got %s", o.Duration))
	}
	if o.Values > 256 {
		errs = append(errs, fmt.Errorf("--values must be at most 256 (the master's per-sample cap is per 10-value sample, but keep reports realistic), got %d", o.Values))
	}
	if o.Binary == "" {
		errs = append(errs, errors.New("no lookout binary given"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	dir, err := os.MkdirTemp("", "lookout-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: temp dir: %w", err)
	}
	if !o.Keep {
		defer os.RemoveAll(dir)
	}

	sink, err := NewSink(o.Log)
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	gen, err := NewGenerator(listen, o.Agents, o.Engines, o.Values, "bench", o.Log)
	if err != nil {
		return nil, err
	}
	defer gen.Stop()
	gen.SignedOnly = o.Signed
	if o.AckDelay != 0 {
		gen.AckDelay = max(o.AckDelay, 0)
	}
	gen.onCross = func(host string, t time.Time) { sink.Expect(host, t) }

	o.Log.Info("starting master", "binary", o.Binary, "listen", listen, "agents", o.Agents)
	m, err := StartMaster(ctx, MasterSpec{Binary: o.Binary, Dir: dir, Listen: listen, WebhookURL: sink.URL(),
		Keys: gen.Keys(), Pprof: o.Pprof})
	if err != nil {
		return nil, err
	}
	defer m.Stop()
	if err := sleepCtx(ctx, time.Second); err != nil {
		return nil, err
	}
	idle, err := ReadProc(m.PID())
	if err != nil {
		return nil, err
	}
	res := &Result{Agents: o.Agents, Engines: len(gen.engines), Values: o.Values, Interval: o.Interval,
		Offered: float64(o.Agents) / o.Interval.Seconds(), RSSIdle: idle.RSSBytes}
	if o.Keep {
		res.KeptDir = dir
	}

	warm := min(2*time.Second, o.Duration/5)
	loadCtx, stopLoad := context.WithTimeout(ctx, o.Duration)
	defer stopLoad()
	genDone := make(chan struct{})
	go func() { gen.Run(loadCtx, o.Interval); close(genDone) }()
	if o.Series != nil {
		go writeSeries(loadCtx, o.Series, gen, m.PID())
	}
	if err := sleepCtx(ctx, warm); err != nil {
		return nil, err
	}
	m0, err := ReadProc(m.PID())
	if err != nil {
		return nil, err
	}
	self0, _ := ReadProc(os.Getpid())
	t0, acked0, sent0 := time.Now(), gen.Acked(), gen.Sent()
	res.Window = o.Duration - warm
	res.Requested = crossings(loadCtx, gen, sink, o, res.Window)
	<-loadCtx.Done()
	m1, err := ReadProc(m.PID())
	if err != nil {
		return nil, err
	}
	self1, _ := ReadProc(os.Getpid())
	el := time.Since(t0)
	res.Window = el
	res.Acked, res.Sent = gen.Acked()-acked0, gen.Sent()-sent0
	res.IngestRate = float64(res.Acked) / el.Seconds()
	res.MasterCPUShare = (m1.CPUSeconds() - m0.CPUSeconds()) / el.Seconds()
	res.GeneratorCPUShare = (self1.CPUSeconds() - self0.CPUSeconds()) / el.Seconds()
	if res.Acked > 0 {
		res.MasterCPUPerReport = time.Duration((m1.CPUSeconds() - m0.CPUSeconds()) / float64(res.Acked) * 1e9)
	}
	res.RSSLoad = m1.RSSBytes
	<-genDone

	// Drain: let the master ack what is in flight and deliver open alarms.
	// The agents keep resending meanwhile, like real ones (every
	// simResendAfter/4, their resend tick).
	deadline := time.Now().Add(5 * time.Second)
	lastResend := time.Now()
	for time.Now().Before(deadline) && (gen.Unacked() > 0 || sink.Stats().Open > 0) {
		if time.Since(lastResend) >= simResendAfter/4 {
			lastResend = time.Now()
			gen.ResendDue()
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
	res.UnackedAtEnd = gen.Unacked()
	if err := sleepCtx(ctx, time.Until(deadline)); err != nil {
		return nil, err
	}
	settled, err := ReadProc(m.PID())
	if err != nil {
		return nil, err
	}
	res.RSSSettled = settled.RSSBytes
	res.RSSPerHostLoad = float64(res.RSSLoad-res.RSSIdle) / float64(o.Agents)
	res.RSSPerHostSettled = float64(res.RSSSettled-res.RSSIdle) / float64(o.Agents)
	res.Resent, res.Rejects = gen.resent.Load(), gen.rejects.Load()
	st := sink.Stats()
	res.Latencies = st.Latencies
	slices.Sort(res.Latencies)
	res.Notifications = st.ByKind
	if err := m.Stop(); err != nil {
		o.Log.Warn("stopping master", "err", err)
	}
	res.IngestTotals = m.ingestTotals()
	return res, nil
}

// crossings makes agents cross the threshold one after another over the
// window, so that each host is crossed at most once per 3 intervals (its
// next report goes back under the threshold and solves the alarm), and
// returns how many crossings were started.
func crossings(ctx context.Context, gen *Generator, sink *Sink, o Options, window time.Duration) int {
	if o.Crossings == 0 || window <= 0 {
		return 0
	}
	// Leave the last 3 intervals for the last alarm to arrive while loaded.
	usable := window - 3*o.Interval
	if usable <= 0 {
		return 0
	}
	period := usable / time.Duration(o.Crossings)
	if minP := 3 * o.Interval / time.Duration(o.Agents); period < minP {
		period = minP
	}
	period = max(period, time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	n, next := 0, 0
	names := gen.Agents()
	// Agent i sends at phase i/len(names) of the interval (Generator.Run):
	// taking agents 0, 1, 2... put every crossing report of an interval in
	// its first slice (with 10,000 agents every 10 s, 200 crossings in the
	// first 0.2 s), so alarms reached the notifier in bursts and queued
	// there (80-115 ms at the median). A stride spreads them over the
	// whole interval.
	stride := max(1, len(names)/max(1, min(len(names), o.Crossings)))
	end := time.Now().Add(usable)
	for n < o.Crossings && time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
		i := (next*stride + next*stride/len(names)) % len(names)
		next++
		if sink.Pending(names[i]) {
			continue
		}
		gen.Cross(i)
		n++
	}
	return n
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Percentile returns the p-th percentile (0..100) of sorted durations by
// the nearest-rank method, or 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// writeSeries writes one line per second until ctx ends: what the agents
// sent, got acked and resent in that second, the master's CPU in that
// second and its RSS, and the reports not yet acked.
func writeSeries(ctx context.Context, w io.Writer, gen *Generator, pid int) {
	t0 := time.Now()
	sent, acked, resent := gen.Sent(), gen.Acked(), gen.resent.Load()
	p0, _ := ReadProc(pid)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s, a, r := gen.Sent(), gen.Acked(), gen.resent.Load()
		p1, err := ReadProc(pid)
		if err != nil {
			return
		}
		fmt.Fprintf(w, "t=%5.1fs sent=%6d acked=%6d resent=%6d master_cpu=%.2f master_rss=%dMiB unacked=%d\n",
			time.Since(t0).Seconds(), s-sent, a-acked, r-resent, p1.CPUSeconds()-p0.CPUSeconds(), p1.RSSBytes>>20, gen.Unacked())
		sent, acked, resent, p0 = s, a, r, p1
	}
}
