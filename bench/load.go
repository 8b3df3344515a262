package bench

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// Load generator limits.
const (
	simOutbox      = 1000            // unacked reports kept per simulated agent, as the real uplink
	simResendAfter = 2 * time.Second // as agent.DefaultResendAfter
	// Resend congestion control, as agent/uplink.go's uplinkCore (resendBatch,
	// minResendBatch, maxResendBackoff).
	simResendBatch    = 200
	simMinResendBatch = 20
	simMinHoleGuard   = 250 * time.Millisecond // as agent's minHoleGuard
	simMaxBackoff     = 8 * time.Second
	// DefaultAckDelay is the ack delay the simulated agents ask for in their
	// session hellos, as agent.DefaultAckDelay (Generator.AckDelay).
	DefaultAckDelay = 250 * time.Millisecond
	// Threshold is the value the bench rule alarms above; normal reports stay
	// below it, crossing reports go to 2x.
	Threshold = 1000
)

// BenchRule is the rule the bench master runs; crossing reports trip it.
const BenchRule = "*!bench.load:*.value > 1000 CRIT"

// resourceNames spread a report's values over samples of 10 values each.
var resourceNames = []string{"load", "cpu", "memory", "disk", "network", "swap", "inodes", "uptime"}

// simAgent is one simulated agent: like the real uplink, it opens a session
// with a signed hello and authenticates reports with the session key once
// the master's Welcome is in (signing them one by one until then, or always
// with Generator.SignedOnly), numbers them (Seq, Oldest = lowest unacked)
// and keeps unacked reports for resending.
type simAgent struct {
	name string
	key  ed25519.PrivateKey
	pub  ed25519.PublicKey
	gen  *Generator
	eng  *engine

	mu      sync.Mutex
	seq     uint64
	unacked []simPending
	dropped uint64
	cross   bool // the next report crosses the threshold
	rng     *rand.Rand
	sess    *wire.Session
	pend    *wire.PendingHello
	helloAt time.Time
	rep     *model.Report // reused by report
	scratch []byte        // encoding buffer kept by seal

	// Resend congestion control, the rules of agent/uplink.go's uplinkCore
	// (reimplemented: that code is unexported): resend no sooner than
	// max(backoff, 3x the smoothed ack round trip) after the oldest unacked
	// report was last sent; a resend round that starts again at the same
	// oldest report (no progress) doubles backoff up to simMaxBackoff and
	// halves the window down to simMinResendBatch; progress resets both;
	// while backed off, an ack below the oldest unacked report makes it due
	// at once with a full window.
	backoff    time.Duration
	batch      int
	srtt       time.Duration // smoothed ack round trip
	lastOldest uint64        // first seq of the previous resend round
	// lastProgress is when an ack last acknowledged reports: with
	// delayed acks no report is resent within 2×AckDelay of it (the
	// master is up and its next ack is on its way), as uplinkCore.resend.
	lastProgress time.Time
}

// simHelloRetry is how long a simulated agent waits for a Welcome before
// sending a new hello (also the minimum gap between hellos).
const simHelloRetry = 2 * time.Second

type simPending struct {
	seq      uint64
	msg      *anypb.Any
	sent     time.Time
	holeSent time.Time // last resent because the master named it missing
}

// engine is one hollywood engine with a remote listener carrying many
// simulated agents; its ack actor dispatches acks to them by name.
type engine struct {
	e      *actor.Engine
	r      *remote.Remote
	ackPID *actor.PID
	agents map[string]*simAgent // read-only after start
}

// Generator drives simulated agents against one master ingest address.
type Generator struct {
	target  *actor.PID
	agents  []*simAgent
	engines []*engine
	values  int
	log     *slog.Logger

	sent    atomic.Uint64
	resent  atomic.Uint64
	acked   atomic.Uint64
	rejects atomic.Uint64
	signErr atomic.Uint64
	// sealed counts reports sent with a session MAC; resets counts
	// sessions the master no longer knew.
	sealed atomic.Uint64
	resets atomic.Uint64

	// SignedOnly makes the agents sign every report with ed25519 and never
	// open a session (the protocol before sessions), for comparison. Set
	// it before Run.
	SignedOnly bool
	// AckDelay is the ack delay the agents ask for in their hellos
	// (wire.HelloOptions.AckDelay), DefaultAckDelay unless changed before
	// Run; 0 asks for an ack per report. As the real uplink, an agent then
	// resends no sooner than 2×AckDelay after a report was sent.
	AckDelay time.Duration

	// onCross is called just before a crossing report is sent.
	onCross func(host string, t time.Time)
}

// NewGenerator creates n agents named prefix0..prefixN-1 spread over
// engines hollywood engines, each listening on a free loopback port.
func NewGenerator(masterAddr string, n, engines, values int, prefix string, log *slog.Logger) (*Generator, error) {
	if n <= 0 || engines <= 0 || values <= 0 {
		return nil, fmt.Errorf("bench: generator needs agents, engines and values > 0 (got %d, %d, %d)", n, engines, values)
	}
	engines = min(engines, n)
	g := &Generator{target: actor.NewPID(masterAddr, wire.IngestID), values: values, log: log, AckDelay: DefaultAckDelay}
	for i := range engines {
		addr, err := freeAddr()
		if err != nil {
			g.Stop()
			return nil, err
		}
		r := remote.New(addr, remote.NewConfig())
		e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
		if err != nil {
			g.Stop()
			return nil, fmt.Errorf("bench: engine %d on %s: %w", i, addr, err)
		}
		en := &engine{e: e, r: r, agents: map[string]*simAgent{}}
		en.ackPID = e.SpawnFunc(en.receive, "benchacks", actor.WithID(strconv.Itoa(i)))
		g.engines = append(g.engines, en)
	}
	for i := range n {
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			g.Stop()
			return nil, fmt.Errorf("bench: agent key: %w", err)
		}
		en := g.engines[i%len(g.engines)]
		a := &simAgent{name: prefix + strconv.Itoa(i), key: priv, pub: pub, gen: g, eng: en,
			rng: rand.New(rand.NewPCG(uint64(i), 42)), backoff: simResendAfter, batch: simResendBatch}
		en.agents[a.name] = a
		g.agents = append(g.agents, a)
	}
	return g, nil
}

// Keys returns every agent's name and public key.
func (g *Generator) Keys() map[string]ed25519.PublicKey {
	m := make(map[string]ed25519.PublicKey, len(g.agents))
	for _, a := range g.agents {
		m[a.name] = a.pub
	}
	return m
}

// Agents returns the agent (and host) names.
func (g *Generator) Agents() []string {
	out := make([]string, len(g.agents))
	for i, a := range g.agents {
		out[i] = a.name
	}
	return out
}

// Cross makes agent i's next report cross the threshold.
func (g *Generator) Cross(i int) {
	a := g.agents[i]
	a.mu.Lock()
	a.cross = true
	a.mu.Unlock()
}

// Acked is the number of reports acknowledged so far.
func (g *Generator) Acked() uint64 { return g.acked.Load() }

// Sent is the number of first sends so far.
func (g *Generator) Sent() uint64 { return g.sent.Load() }

// Unacked is the number of reports sent and not yet acknowledged.
func (g *Generator) Unacked() int {
	n := 0
	for _, a := range g.agents {
		a.mu.Lock()
		n += len(a.unacked)
		a.mu.Unlock()
	}
	return n
}

// Run sends one report per agent every interval until ctx ends; agents
// start at random offsets within the first interval. Unacked reports are
// resent in order with the real uplink's congestion control (see simAgent).
func (g *Generator) Run(ctx context.Context, interval time.Duration) {
	var wg sync.WaitGroup
	for i, a := range g.agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := time.Duration(uint64(i) * uint64(interval) / uint64(len(g.agents)))
			select {
			case <-ctx.Done():
				return
			case <-time.After(off):
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			lastResend := time.Now()
			for {
				now := time.Now()
				a.send(now)
				if now.Sub(lastResend) >= simResendAfter/4 {
					lastResend = now
					a.resend(now)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
}

// ResendDue runs one resend pass over every agent, as Run does every
// simResendAfter/4 (the real uplink's resend tick): for draining after Run
// returned, since real agents keep resending after their last report.
func (g *Generator) ResendDue() {
	now := time.Now()
	for _, a := range g.agents {
		a.resend(now)
	}
}

// Report builds agent-style report number seq for host with values values;
// "value" in the load sample is v.
func Report(agent string, seq uint64, values int, v float64, rng *rand.Rand) *model.Report {
	r := &model.Report{Version: model.ProtocolVersion, Agent: agent, Host: agent, Seq: seq, Time: time.Now().UnixNano(),
		Samples: make([]model.Sample, 0, (values+9)/10)}
	for i := 0; i < values; i += 10 {
		res := resourceNames[(i/10)%len(resourceNames)]
		s := model.Sample{Service: "bench", Resource: res, Unit: unitName(i / 10 / len(resourceNames)),
			Values: make(map[string]float64, 10)}
		for j := i; j < min(i+10, values); j++ {
			if j == 0 {
				s.Values["value"] = v
				continue
			}
			s.Values[valueName(j)] = rng.Float64() * 100
		}
		r.Samples = append(r.Samples, s)
	}
	return r
}

// Names of values and units, built once: Report runs for every simulated
// report, on the same cores as the master.
var (
	valueNames = func() (n [256]string) {
		for i := range n {
			n[i] = "v" + strconv.Itoa(i)
		}
		return n
	}()
	unitNames = func() (n [32]string) {
		for i := range n {
			n[i] = "u" + strconv.Itoa(i)
		}
		return n
	}()
)

// valueName is "v" + j.
func valueName(j int) string {
	if j < len(valueNames) {
		return valueNames[j]
	}
	return "v" + strconv.Itoa(j)
}

// unitName is "u" + i.
func unitName(i int) string {
	if i < len(unitNames) {
		return unitNames[i]
	}
	return "u" + strconv.Itoa(i)
}

func (a *simAgent) send(now time.Time) {
	a.mu.Lock()
	a.seq++
	v := a.rng.Float64() * Threshold / 2
	crossing := a.cross
	if crossing {
		v, a.cross = 2*Threshold, false
	}
	r := a.report(a.seq, v)
	r.Oldest = r.Seq
	if len(a.unacked) > 0 {
		r.Oldest = a.unacked[0].seq
	}
	if len(a.unacked) >= simOutbox {
		a.unacked = a.unacked[1:]
		a.dropped++
	}
	r.Dropped = a.dropped
	hello := a.helloLocked(now)
	msg, err := a.seal(r)
	if err != nil {
		a.mu.Unlock()
		a.gen.signErr.Add(1)
		return
	}
	if a.sess != nil {
		a.gen.sealed.Add(1)
	}
	a.unacked = append(a.unacked, simPending{seq: r.Seq, msg: msg, sent: now})
	a.mu.Unlock()
	if hello != nil {
		a.eng.e.SendWithSender(a.gen.target, hello, a.eng.ackPID)
	}
	if crossing && a.gen.onCross != nil {
		a.gen.onCross(a.name, time.Now())
	}
	a.gen.sent.Add(1)
	a.eng.e.SendWithSender(a.gen.target, msg, a.eng.ackPID)
}

// helloLocked returns a session hello to send, or nil (session up, signed
// only, or a hello sent less than simHelloRetry ago). a.mu must be held.
func (a *simAgent) helloLocked(now time.Time) *anypb.Any {
	if a.gen.SignedOnly || a.sess != nil || now.Sub(a.helloAt) < simHelloRetry {
		return nil
	}
	msg, pend, err := wire.NewHelloOpts(a.key, a.name, now, wire.HelloOptions{AckDelay: a.gen.AckDelay})
	if err != nil {
		a.gen.signErr.Add(1)
		return nil
	}
	a.pend, a.helloAt = pend, now
	return msg
}

// welcome opens the session answered by w, if it answers the pending hello.
func (a *simAgent) welcome(w *wire.Welcome) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pend == nil {
		return
	}
	if s, err := a.pend.Finish(w); err == nil {
		a.sess, a.pend = s, nil
	}
}

// badSession drops session id (the master no longer knows it): reports
// are signed until a new hello is answered, and the refused ones are
// resent as the resend timer comes due.
func (a *simAgent) badSession(id uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess != nil && a.sess.ID == id {
		a.sess = nil
		a.helloAt = time.Time{}
		a.gen.resets.Add(1)
		for i := range a.unacked {
			a.unacked[i].msg = nil // re-encode (signed) when resent
		}
	}
}

// report returns the agent's report seq with load value v and fresh
// random values in the others. It reuses one Report (same samples and
// value names, as a real agent's reports have) instead of building maps
// for every report: the report is encoded before a.mu is released and not
// kept. a.mu must be held.
func (a *simAgent) report(seq uint64, v float64) *model.Report {
	if a.rep == nil {
		a.rep = Report(a.name, seq, a.gen.values, v, a.rng)
		return a.rep
	}
	r := a.rep
	r.Seq, r.Time, r.Oldest, r.Dropped = seq, time.Now().UnixNano(), 0, 0
	for i := range r.Samples {
		for k := range r.Samples[i].Values {
			if i == 0 && k == "value" {
				r.Samples[i].Values[k] = v
				continue
			}
			r.Samples[i].Values[k] = a.rng.Float64() * 100
		}
	}
	return r
}

// resend re-sends the reports due (see due).
func (a *simAgent) resend(now time.Time) {
	a.mu.Lock()
	due := a.dueLocked(now)
	a.mu.Unlock()
	for _, m := range due {
		a.gen.resent.Add(1)
		a.eng.e.SendWithSender(a.gen.target, m, a.eng.ackPID)
	}
}

// dueLocked returns, in seq order, at most a window of unacked reports
// once the oldest was last sent max(backoff, 3*srtt, 2*AckDelay) ago, and
// marks them sent now (uplinkCore.resend). a.mu must be held.
func (a *simAgent) dueLocked(now time.Time) []*anypb.Any {
	if len(a.unacked) == 0 || now.Sub(a.unacked[0].sent) < max(a.backoff, 3*a.srtt, 2*a.gen.AckDelay) {
		return nil
	}
	if d := a.gen.AckDelay; d > 0 && !a.unacked[0].sent.IsZero() && now.Sub(a.lastProgress) < 2*d {
		return nil
	}
	if a.unacked[0].seq == a.lastOldest {
		a.backoff = min(2*a.backoff, simMaxBackoff)
		a.batch = max(a.batch/2, simMinResendBatch)
	} else {
		a.backoff, a.batch = simResendAfter, simResendBatch
	}
	a.lastOldest = a.unacked[0].seq
	due := make([]*anypb.Any, 0, min(a.batch, len(a.unacked)))
	for i := range min(a.batch, len(a.unacked)) {
		p := &a.unacked[i]
		p.sent = now
		if p.msg == nil {
			p.msg = a.resign(p.seq)
			if p.msg == nil {
				continue
			}
		}
		due = append(due, p.msg)
	}
	return due
}

// ack applies an acknowledgement of everything up to seq: the round trip
// of report seq feeds srtt, and an ack below the oldest unacked report
// while backed off (the master lost reports) makes it due at once, as in
// uplinkCore.ack. When the master names a hole (next > seq+1: it holds the
// reports from next on), ack returns the missing reports to resend now, as
// uplinkCore.ack does with outbox.Hole.
func (a *simAgent) ack(seq, next uint64, now time.Time) []*anypb.Any {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for n < len(a.unacked) && a.unacked[n].seq <= seq {
		n++
	}
	hole := false // the ack waited for a hole resend: no round-trip sample
	for i := range n {
		hole = hole || !a.unacked[i].holeSent.IsZero()
	}
	if n > 0 && a.unacked[n-1].seq == seq && !hole {
		rtt := now.Sub(a.unacked[n-1].sent)
		if a.srtt == 0 {
			a.srtt = rtt
		} else {
			a.srtt = (7*a.srtt + rtt) / 8
		}
	}
	if len(a.unacked) > 0 && seq < a.unacked[0].seq && a.backoff > simResendAfter {
		a.backoff, a.batch, a.lastOldest = simResendAfter, simResendBatch, 0
		a.unacked[0].sent = time.Time{}
	}
	a.unacked = a.unacked[n:]
	a.gen.acked.Add(uint64(n))
	if n > 0 {
		a.lastProgress = now
	}
	if next <= seq+1 {
		return nil
	}
	var out []*anypb.Any
	guard := max(2*a.srtt, simMinHoleGuard)
	for i := range a.unacked {
		p := &a.unacked[i]
		if p.seq >= next {
			break
		}
		if !p.holeSent.IsZero() && now.Sub(p.holeSent) < guard {
			continue
		}
		if p.msg == nil {
			if p.msg = a.resign(p.seq); p.msg == nil {
				continue
			}
		}
		p.sent, p.holeSent = now, now
		out = append(out, p.msg)
	}
	return out
}

// resign re-encodes report seq after its session was lost: signed, or
// under a new session. The report's values are regenerated (the load
// generator does not keep reports), which only matters for the alert
// latency of a lost crossing. a.mu must be held.
func (a *simAgent) resign(seq uint64) *anypb.Any {
	r := a.report(seq, a.rng.Float64()*Threshold/2)
	r.Oldest = a.unacked[0].seq
	r.Dropped = a.dropped
	msg, err := a.seal(r)
	if err != nil {
		a.gen.signErr.Add(1)
		return nil
	}
	return msg
}

// seal encodes r as the real uplink does (wire.AuthReport with the
// agent's kept scratch buffer). a.mu must be held.
func (a *simAgent) seal(r *model.Report) (*anypb.Any, error) {
	msg, scratch, err := wire.AuthReport(a.sess, a.key, r, a.scratch)
	a.scratch = scratch
	return msg, err
}

func (en *engine) receive(c *actor.Context) {
	m, ok := c.Message().(*anypb.Any)
	if !ok {
		return
	}
	if m.GetTypeUrl() == wire.TypeWelcome {
		w, err := wire.OpenWelcome(m)
		if err != nil {
			return
		}
		if a := en.agents[w.Agent]; a != nil {
			a.welcome(w)
		}
		return
	}
	if m.GetTypeUrl() == wire.TypeBadSession {
		b, err := wire.OpenBadSession(m)
		if err != nil {
			return
		}
		if a := en.agents[b.Agent]; a != nil {
			a.badSession(b.Session)
		}
		return
	}
	var ack model.Ack
	if err := wire.Decode(m, wire.TypeAck, &ack); err != nil {
		return
	}
	a := en.agents[ack.Agent]
	if a == nil {
		return
	}
	if ack.Reject != "" {
		a.gen.rejects.Add(1)
		return
	}
	for _, m := range a.ack(ack.Seq, ack.Next, time.Now()) {
		a.gen.resent.Add(1)
		a.eng.e.SendWithSender(a.gen.target, m, a.eng.ackPID)
	}
}

// Stop shuts the engines down.
func (g *Generator) Stop() {
	for _, en := range g.engines {
		en.r.Stop().Wait()
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("bench: finding a free port: %w", err)
	}
	return addr, nil
}
