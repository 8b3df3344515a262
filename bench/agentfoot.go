package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/bench/agentchild"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/wire"
)

// AgentChildCommand is the hidden `lookout bench` sub-mode that runs a
// real agent for AgentFootprint.
const AgentChildCommand = agentchild.Command

// AgentOptions configures an agent footprint run.
type AgentOptions struct {
	// Binary is the binary that runs the agent, as `Binary bench
	// agent-child ...`: lookout or the slim lookout-agent.
	Binary   string
	Cycles   int           // collection cycles to measure (default 1000)
	Interval time.Duration // every family's interval (default 10ms)
	Log      *slog.Logger
}

// AgentResult is an agent's measured footprint.
type AgentResult struct {
	Interval    time.Duration
	Cycles      int
	RSSIdle     int64
	RSSAfter    int64
	CPUPerCycle time.Duration
	// UserPerCycle and SysPerCycle split CPUPerCycle into user and kernel
	// time (utime and stime of /proc/PID/stat).
	UserPerCycle, SysPerCycle time.Duration
	// SwitchesPerCycle is the context switches of all the agent's threads
	// per cycle (voluntary: a thread went to sleep; involuntary: it was
	// preempted), from /proc/PID/task/*/status: every thread wake-up costs
	// two of them.
	SwitchesPerCycle, InvoluntaryPerCycle float64
	ReportsPerCycle                       float64
	BytesPerReport                        float64
	// AcksPerCycle is the acks the ingest sent per cycle, and AckDelay the
	// ack delay the agent's session asked for (the ingest honours it as the
	// master does: at most one ack per AckDelay for in-order reports).
	AcksPerCycle float64
	AckDelay     time.Duration
}

// fakeIngest is a minimal master ingest: it verifies each signed report
// with the agent's key (or, once the agent's hello opened a session, each
// report's session MAC), acks it, and counts reports, bytes, acks and
// cycles (a report carrying the load sample marks one cpu+load
// collection). Session reports are acked as the master acks them when the
// hello asked for an ack delay (actors/ingest_ackdelay.go): at once if no
// ack went out within the delay, else the newest seq when the delay is up.
type fakeIngest struct {
	pub ed25519.PublicKey

	// Delayed acks: delay is what the last hello asked for (capped at 1 s
	// as by the master); pendSeq (0: none) waits to be acked to pendTo.
	delay   time.Duration
	lastAck time.Time
	pendSeq uint64
	pendAg  string
	pendTo  *actor.PID
	armed   bool
	acks    int

	mu       sync.Mutex
	reports  int
	bytes    int
	cycles   int
	bad      int
	sessions map[uint64]*wire.Session // opened by the agent's hellos
}

// open authenticates one message from the agent: a signed report, a
// session hello (answered with a Welcome, returned as reply) or a
// session-authenticated report. f.mu must be held.
func (f *fakeIngest) open(m *anypb.Any) (r *model.Report, reply *anypb.Any, err error) {
	keys := func(string) (ed25519.PublicKey, bool) { return f.pub, true }
	switch m.TypeUrl {
	case wire.TypeHello:
		h, err := wire.OpenHello(m, keys, time.Now())
		if err != nil {
			return nil, nil, err
		}
		f.delay = min(time.Duration(max(h.AckDelay, 0))*time.Millisecond, time.Second)
		s, w, err := wire.AcceptHello(h, "bench", uint64(len(f.sessions)+1))
		if err != nil {
			return nil, nil, err
		}
		if f.sessions == nil {
			f.sessions = map[uint64]*wire.Session{}
		}
		f.sessions[s.ID] = s
		return nil, w, nil
	case wire.TypeMACReport:
		mr, err := wire.DecodeMACReport(m)
		if err != nil {
			return nil, nil, err
		}
		s := f.sessions[mr.Session]
		if s == nil {
			return nil, nil, fmt.Errorf("%w %d", wire.ErrUnknownSession, mr.Session)
		}
		r, err := s.Open(mr)
		return r, nil, err
	default:
		r, err := wire.OpenReport(m, keys)
		return r, nil, err
	}
}

// fakeAckDue is the fake ingest's delayed-ack timer firing.
type fakeAckDue struct{}

func (f *fakeIngest) receive(c *actor.Context) {
	if _, ok := c.Message().(fakeAckDue); ok {
		f.mu.Lock()
		f.armed = false
		seq, agent, to := f.pendSeq, f.pendAg, f.pendTo
		if seq != 0 {
			f.pendSeq, f.lastAck = 0, time.Now()
			f.acks++
		}
		f.mu.Unlock()
		if seq != 0 {
			f.sendAck(c, to, agent, seq)
		}
		return
	}
	m, ok := c.Message().(*anypb.Any)
	if !ok {
		return
	}
	f.mu.Lock()
	r, reply, err := f.open(m)
	if err != nil {
		f.bad++
		f.mu.Unlock()
		return
	}
	if reply != nil {
		f.mu.Unlock()
		if c.Sender() != nil {
			c.Engine().Send(c.Sender(), reply)
		}
		return
	}
	f.reports++
	f.bytes += len(m.Value)
	for _, s := range r.Samples {
		if s.Resource == model.ResLoad {
			f.cycles++
			break
		}
	}
	now := time.Now()
	if m.TypeUrl == wire.TypeMACReport && f.delay > 0 && !f.lastAck.IsZero() && now.Sub(f.lastAck) < f.delay {
		f.pendSeq, f.pendAg, f.pendTo = r.Seq, r.Agent, c.Sender()
		if !f.armed {
			f.armed = true
			e, self := c.Engine(), c.PID()
			time.AfterFunc(f.lastAck.Add(f.delay).Sub(now), func() { e.Send(self, fakeAckDue{}) })
		}
		f.mu.Unlock()
		return
	}
	f.pendSeq, f.lastAck = 0, now
	f.acks++
	f.mu.Unlock()
	f.sendAck(c, c.Sender(), r.Agent, r.Seq)
}

// sendAck acks agent's reports up to seq to to.
func (f *fakeIngest) sendAck(c *actor.Context, to *actor.PID, agent string, seq uint64) {
	if ack, err := wire.Encode(wire.TypeAck, &model.Ack{Master: "bench", Agent: agent, Seq: seq}); err == nil && to != nil {
		c.Engine().Send(to, ack)
	}
}

// ackStats returns the acks sent so far and the ack delay in effect.
func (f *fakeIngest) ackStats() (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acks, f.delay
}

func (f *fakeIngest) snapshot() (reports, bytes, cycles, bad int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reports, f.bytes, f.cycles, f.bad
}

// AgentFootprint starts a real agent in a child process against an
// in-process ingest and measures its RSS after the first collection cycle
// and after Cycles more, and its CPU per cycle.
func AgentFootprint(ctx context.Context, o AgentOptions) (*AgentResult, error) {
	if o.Cycles <= 0 {
		o.Cycles = 1000
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Binary == "" {
		return nil, errors.New("bench: agent footprint: no lookout binary given")
	}
	dir, err := os.MkdirTemp("", "lookout-bench-agent-")
	if err != nil {
		return nil, fmt.Errorf("bench: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	keyPath := filepath.Join(dir, "agent.key")
	pub, err := pki.GenerateAgentKey(keyPath)
	if err != nil {
		return nil, fmt.Errorf("bench: agent key: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	r := remote.New(addr, remote.NewConfig())
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
	if err != nil {
		return nil, fmt.Errorf("bench: fake ingest on %s: %w", addr, err)
	}
	defer func() { r.Stop().Wait() }()
	fi := &fakeIngest{pub: pub}
	e.SpawnFunc(fi.receive, "lookout/master/ingest", actor.WithID("main"))

	child := agentchild.Options{Master: addr, KeyFile: keyPath, DataDir: dir, Interval: o.Interval}
	cmd := exec.Command(o.Binary, append([]string{"bench"}, child.Args()...)...)
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return nil, fmt.Errorf("bench: agent log: %w", err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting agent child: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	tail := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
		if len(b) > 1500 {
			b = b[:1500]
		}
		return string(b)
	}
	waitCycles := func(n int, limit time.Duration) error {
		end := time.Now().Add(limit)
		for {
			_, _, c, bad := fi.snapshot()
			if bad > 0 {
				return fmt.Errorf("bench: the fake ingest refused %d agent reports", bad)
			}
			if c >= n {
				return nil
			}
			if time.Now().After(end) {
				return fmt.Errorf("bench: agent reached %d of %d collection cycles in %s; agent log: %s", c, n, limit, tail())
			}
			select {
			case err := <-done:
				done <- err
				return fmt.Errorf("bench: agent exited (%v): %s", err, tail())
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	if err := waitCycles(2, 20*time.Second); err != nil {
		return nil, err
	}
	if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
		return nil, err
	}
	u0, err := ReadProc(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	t0, err := readThreads(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	r0, b0, c0, _ := fi.snapshot()
	a0, _ := fi.ackStats()
	budget := time.Duration(o.Cycles)*o.Interval*4 + 30*time.Second
	if err := waitCycles(c0+o.Cycles, budget); err != nil {
		return nil, err
	}
	u1, err := ReadProc(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	t1, err := readThreads(cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	r1, b1, c1, _ := fi.snapshot()
	a1, delay := fi.ackStats()
	cycles := c1 - c0
	res := &AgentResult{Interval: o.Interval, Cycles: cycles, RSSIdle: u0.RSSBytes, RSSAfter: u1.RSSBytes,
		CPUPerCycle:     time.Duration((u1.CPUSeconds() - u0.CPUSeconds()) / float64(cycles) * 1e9),
		ReportsPerCycle: float64(r1-r0) / float64(cycles),
		AcksPerCycle:    float64(a1-a0) / float64(cycles), AckDelay: delay}
	if r1 > r0 {
		res.BytesPerReport = float64(b1-b0) / float64(r1-r0)
	}
	perCycle := func(ticks int64) time.Duration {
		return time.Duration(float64(ticks) / clockTicks / float64(cycles) * 1e9)
	}
	res.UserPerCycle, res.SysPerCycle = perCycle(t1.utime-t0.utime), perCycle(t1.stime-t0.stime)
	res.SwitchesPerCycle = float64(t1.voluntary+t1.involuntary-t0.voluntary-t0.involuntary) / float64(cycles)
	res.InvoluntaryPerCycle = float64(t1.involuntary-t0.involuntary) / float64(cycles)
	return res, nil
}

// threadTimes is a process's user and system time (clock ticks) and its
// threads' context switches, summed.
type threadTimes struct {
	utime, stime           int64
	voluntary, involuntary int64
}

// readThreads reads pid's utime and stime from /proc/PID/stat and sums the
// context switches of its threads (/proc/PID/task/*/status: the process's
// own status counts its main thread only). A thread that ends between the
// listing and its read is skipped.
func readThreads(pid int) (threadTimes, error) {
	var t threadTimes
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return t, fmt.Errorf("bench: reading process stat: %w", err)
	}
	if t.utime, t.stime, err = parseStatTimes(b); err != nil {
		return t, fmt.Errorf("bench: /proc/%d/stat: %w", pid, err)
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return t, fmt.Errorf("bench: listing threads: %w", err)
	}
	for _, task := range tasks {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue
		}
		v, n, err := parseCtxtSwitches(st)
		if err != nil {
			return t, fmt.Errorf("bench: thread %s status: %w", task.Name(), err)
		}
		t.voluntary += v
		t.involuntary += n
	}
	return t, nil
}

// parseStatTimes returns utime and stime (fields 14 and 15) of a
// /proc/PID/stat line. The command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatTimes(b []byte) (utime, stime int64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errors.New("no ')' after the command name")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	if utime, err = strconv.ParseInt(string(f[11]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("utime: %w", err)
	}
	if stime, err = strconv.ParseInt(string(f[12]), 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stime: %w", err)
	}
	return utime, stime, nil
}

// parseCtxtSwitches returns the voluntary_ctxt_switches and
// nonvoluntary_ctxt_switches of a /proc/PID/task/TID/status file.
func parseCtxtSwitches(b []byte) (voluntary, involuntary int64, err error) {
	var haveVol, haveInvol bool
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("voluntary_ctxt_switches:")):
			dst, haveVol = &voluntary, true
		case bytes.HasPrefix(line, []byte("nonvoluntary_ctxt_switches:")):
			dst, haveInvol = &involuntary, true
		default:
			continue
		}
		v := bytes.TrimSpace(line[bytes.IndexByte(line, ':')+1:])
		if *dst, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", line[:bytes.IndexByte(line, ':')], err)
		}
	}
	if !haveVol || !haveInvol {
		return 0, 0, errors.New("no voluntary_ctxt_switches and nonvoluntary_ctxt_switches lines")
	}
	return voluntary, involuntary, nil
}

// AgentChildOptions are the arguments of `lookout bench agent-child`.
type AgentChildOptions = agentchild.Options

// RunAgentChild runs a real agent with every collector family on Interval
// until SIGTERM or SIGINT (see agentchild.Run).
func RunAgentChild(o AgentChildOptions) error { return agentchild.Run(o) }
