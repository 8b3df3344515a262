package bench

import (
	"context"
	"crypto/ed25519"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/store"
	"github.com/lookout-mon/lookout/wire"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestMasterConfigValid runs the rendered master config through the real
// loader and validation.
func TestMasterConfigValid(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	pub2, _, _ := ed25519.GenerateKey(nil)
	spec := MasterSpec{Dir: t.TempDir(), Listen: "127.0.0.1:7999", WebhookURL: "http://127.0.0.1:1/hook",
		Keys: map[string]ed25519.PublicKey{"b1": pub, "b0": pub2}}
	b, err := masterConfig(spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadBytes(b, nil)
	if err != nil {
		t.Fatalf("bench master config rejected: %v\n%s", err, b)
	}
	m := cfg.Master
	if !m.Enabled || !m.InsecureLoopback || m.Listen != spec.Listen || cfg.HTTP.Enabled || cfg.Agent.Enabled {
		t.Fatalf("roles/listen wrong: %+v", m)
	}
	if len(m.Agents) != 2 || m.Agents[0].Name != "b0" || m.Agents[1].PublicKey != pki.EncodePublicKey(pub) {
		t.Fatalf("agents %+v", m.Agents)
	}
	if len(m.Rules) != 1 || m.Rules[0].Expr != BenchRule {
		t.Fatalf("rules %+v", m.Rules)
	}
	if len(m.Notifiers.Webhook) != 1 || m.Notifiers.Webhook[0].URL != spec.WebhookURL {
		t.Fatalf("webhook %+v", m.Notifiers.Webhook)
	}
	if m.RateLimit < 100 {
		t.Fatalf("rate limit %v would throttle the bench", m.RateLimit)
	}
}

func TestReportShape(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 9, 10, 40, 85, 2600} {
		r := Report("a1", 7, n, 1234, rng)
		got := 0
		names := map[string]bool{}
		for i, s := range r.Samples {
			got += len(s.Values)
			if want := "u" + strconv.Itoa(i/len(resourceNames)); s.Unit != want {
				t.Errorf("values=%d: sample %d has unit %q, want %q", n, i, s.Unit, want)
			}
			for k := range s.Values {
				names[k] = true
			}
		}
		if got != n {
			t.Errorf("values=%d: report carries %d values", n, got)
		}
		for j := 1; j < n; j++ {
			if !names["v"+strconv.Itoa(j)] {
				t.Errorf("values=%d: no value v%d", n, j)
				break
			}
		}
		if r.Samples[0].Resource != "load" || r.Samples[0].Values["value"] != 1234 {
			t.Errorf("values=%d: first sample %+v lacks load value 1234", n, r.Samples[0])
		}
		if r.Agent != "a1" || r.Host != "a1" || r.Seq != 7 || r.Version != model.ProtocolVersion {
			t.Errorf("header %+v", r)
		}
	}
}

// startMaster starts an in-process master (the same actor tree the
// `lookout master` process runs) trusting keys, with the bench rule.
func startMaster(tb testing.TB, listen string, keys map[string]ed25519.PublicKey) *actors.Master {
	return startMasterFlush(tb, listen, keys, 0)
}

// startMasterFlush is startMaster with the ingest's group-commit window
// (actors.MasterOptions.IngestFlushDelay).
func startMasterFlush(tb testing.TB, listen string, keys map[string]ed25519.PublicKey, flushDelay time.Duration) *actors.Master {
	tb.Helper()
	st, err := store.Open(tb.TempDir(), store.Options{Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := actors.StartMaster(actors.MasterOptions{Name: "bench", Listen: listen, Store: st, Log: quiet(), Keys: keys,
		HostTimeout: 10 * time.Minute, RateLimit: 1e6, RateBurst: 1e6, IngestFlushDelay: flushDelay,
		Rules: []model.RuleInfo{{Name: "bench", Expr: BenchRule, Source: "config"}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Stop(); _ = st.Close() })
	return m
}

// TestGeneratorAgainstMaster drives an in-process master over real
// hollywood remote connections: every report is acked, none resent, and a
// crossing raises an alarm on the master; with sessions (each agent's
// reports after its welcome carry a MAC) and signed only.
func TestGeneratorAgainstMaster(t *testing.T) {
	for _, signed := range []bool{false, true} {
		t.Run(map[bool]string{false: "sessions", true: "signed"}[signed], func(t *testing.T) { testGeneratorAgainstMaster(t, signed) })
	}
}

func testGeneratorAgainstMaster(t *testing.T, signedOnly bool) {
	listen, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	gen, err := NewGenerator(listen, 6, 2, 40, "t", quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer gen.Stop()
	gen.SignedOnly = signedOnly
	var crossed atomic.Int32
	gen.onCross = func(string, time.Time) { crossed.Add(1) }
	m := startMaster(t, listen, gen.Keys())
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(300 * time.Millisecond)
		gen.Cross(3)
	}()
	gen.Run(ctx, 20*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for gen.Unacked() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := gen.Unacked(); n != 0 {
		t.Fatalf("%d reports still unacked", n)
	}
	if gen.Sent() < 6*20 || gen.Acked() != gen.Sent() {
		t.Fatalf("sent %d, acked %d: want >= 120 and all acked", gen.Sent(), gen.Acked())
	}
	if gen.resent.Load() != 0 || gen.rejects.Load() != 0 {
		t.Fatalf("resent %d, rejected %d on a healthy loopback", gen.resent.Load(), gen.rejects.Load())
	}
	if crossed.Load() != 1 {
		t.Fatalf("crossings sent: %d, want 1", crossed.Load())
	}
	st, err := m.IngestStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepted != gen.Sent() || st.Gaps != 0 || st.Duplicates != 0 {
		t.Fatalf("master ingest stats %+v, generator sent %d", st, gen.Sent())
	}
	// 6 agents, 20ms interval for 1.5s: each sends its hello with its first
	// report and seals from the report after its welcome.
	if signedOnly && (st.HellosAccepted != 0 || gen.sealed.Load() != 0) {
		t.Fatalf("signed-only generator opened sessions: %d hellos, %d sealed", st.HellosAccepted, gen.sealed.Load())
	}
	if !signedOnly && (st.HellosAccepted != 6 || gen.sealed.Load() < gen.Sent()/2 || st.UnknownSession != 0) {
		t.Fatalf("sessions: %d hellos accepted, %d of %d reports sealed, stats %+v", st.HellosAccepted, gen.sealed.Load(), gen.Sent(), st)
	}
	tr, err := m.Transitions(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	alarms := 0
	for _, ev := range tr {
		if ev.Notification != nil && ev.Notification.Kind == model.KindAlarm && ev.Notification.Host == "t3" {
			alarms++
		}
	}
	if alarms != 1 {
		t.Fatalf("ALARM transitions for t3: %d, want 1 (transitions: %+v)", alarms, tr)
	}
}

// BenchmarkIngestPipeline measures the master's ingest pipeline in
// process: b.N 40-value reports from 100 agents, authenticated by session
// MACs (each agent opens a session with a signed hello before the timer
// starts), go to the ingest actor through the engine (no network), and the
// clock stops when the last one is acked, i.e. committed to the store and
// handed to the host and alarm actors. Sealing is done before the timer
// starts.
func BenchmarkIngestPipeline(b *testing.B) { benchIngestPipeline(b, false, 0, 0) }

// BenchmarkIngestPipelinePaced is BenchmarkIngestPipeline with the reports
// offered at a fixed rate, as agents over the network send them, instead
// of as fast as the master acks: the ingest then commits small batches,
// which is what the master's CPU per report over the network is made of.
// It compares the ingest's group-commit window off and on (the default).
func BenchmarkIngestPipelinePaced(b *testing.B) {
	for _, rate := range []int{4000, 10000, 20000} {
		for _, d := range []time.Duration{-1, actors.DefaultFlushDelay} {
			name := fmt.Sprintf("rate=%d/flushdelay=%v", rate, max(d, 0))
			b.Run(name, func(b *testing.B) { benchIngestPipeline(b, false, rate, d) })
		}
	}
}

// BenchmarkIngestPipelineSigned is BenchmarkIngestPipeline with every
// report signed with ed25519 (the protocol before sessions, and the
// fallback before a session is set up).
func BenchmarkIngestPipelineSigned(b *testing.B) { benchIngestPipeline(b, true, 0, 0) }

// benchIngestPipeline sends b.N reports, at rate reports/s (0: as fast as
// acks allow, 4,096 in flight), to a master whose ingest has the given
// group-commit window.
func benchIngestPipeline(b *testing.B, signed bool, rate int, flushDelay time.Duration) {
	const agents = 100
	keys := map[string]ed25519.PublicKey{}
	privs := make([]ed25519.PrivateKey, agents)
	for i := range agents {
		pub, priv, _ := ed25519.GenerateKey(nil)
		keys["p"+strconv.Itoa(i)] = pub
		privs[i] = priv
	}
	m := startMasterFlush(b, "", keys, flushDelay)
	var acked atomic.Int64
	done := make(chan struct{})
	want := int64(b.N)
	last := make([]uint64, agents) // owned by the ack actor
	welcomes := make(chan *wire.Welcome, agents)
	ackPID := m.Engine().SpawnFunc(func(c *actor.Context) {
		a, ok := c.Message().(*anypb.Any)
		if !ok {
			return
		}
		if a.TypeUrl == wire.TypeWelcome {
			if w, err := wire.OpenWelcome(a); err == nil {
				welcomes <- w
			}
			return
		}
		var ack model.Ack
		if wire.Decode(a, wire.TypeAck, &ack) != nil || ack.Reject != "" {
			return
		}
		i, _ := strconv.Atoi(ack.Agent[1:])
		if ack.Seq > last[i] {
			if acked.Add(int64(ack.Seq-last[i])) == want {
				close(done)
			}
			last[i] = ack.Seq
		}
	}, "benchacks")
	ingest := actor.NewPID(m.Engine().Address(), wire.IngestID)
	sessions := make([]*wire.Session, agents)
	if !signed {
		pend := map[string]*wire.PendingHello{}
		for i := range agents {
			h, p, err := wire.NewHello(privs[i], "p"+strconv.Itoa(i), time.Now())
			if err != nil {
				b.Fatal(err)
			}
			pend["p"+strconv.Itoa(i)] = p
			m.Engine().SendWithSender(ingest, h, ackPID)
		}
		for range agents {
			select {
			case w := <-welcomes:
				s, err := pend[w.Agent].Finish(w)
				if err != nil {
					b.Fatal(err)
				}
				i, _ := strconv.Atoi(w.Agent[1:])
				sessions[i] = s
			case <-time.After(30 * time.Second):
				b.Fatal("no welcome within 30s")
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	msgs := make([]*anypb.Any, b.N)
	bytes := 0
	for i := range b.N {
		a := i % agents
		r := Report("p"+strconv.Itoa(a), uint64(i/agents+1), 40, rng.Float64()*Threshold/2, rng)
		r.Oldest = r.Seq
		var msg *anypb.Any
		var err error
		if signed {
			msg, err = wire.SignReport(privs[a], r)
		} else {
			msg, err = sessions[a].Seal(r)
		}
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = msg
		bytes += len(msg.Value)
	}
	cpu0, err := ReadProc(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	l0 := badgerL0Bytes()
	b.ResetTimer()
	start := time.Now()
	// At most 4,096 reports in flight, as agents with outboxes would be:
	// the ingest sheds load beyond maxVerifyBacklog waiting for checks.
	for i, msg := range msgs {
		for int64(i)-acked.Load() > 4096 {
			time.Sleep(50 * time.Microsecond)
		}
		if rate > 0 {
			// Report i is due i/rate after the start; sleeping in between
			// sends bunches of a few when the timer is coarse, as a network
			// read of a few queued messages does.
			if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
				time.Sleep(wait)
			}
		}
		m.Engine().SendWithSender(ingest, msg, ackPID)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("only %d of %d reports acked within a minute", acked.Load(), b.N)
	}
	el := time.Since(start)
	b.StopTimer()
	cpu1, err := ReadProc(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "reports/s")
	b.ReportMetric((cpu1.CPUSeconds()-cpu0.CPUSeconds())*1e6/float64(b.N), "cpu-µs/report")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/report")
	b.ReportMetric(float64(badgerL0Bytes()-l0)/float64(b.N), "lsm-B/report")
	if st, err := m.IngestStats(context.Background()); err == nil && st.Rejected+st.UnknownSession+st.Malformed > 0 {
		b.Fatalf("ingest refused reports: %+v", st)
	}
}

// badgerL0Bytes is badger's count (expvar badger_write_bytes_l0, every
// store of the process) of the bytes put into memtables, i.e. what the
// LSM's table building and compactions then carry.
func badgerL0Bytes() int64 {
	if v, ok := expvar.Get("badger_write_bytes_l0").(*expvar.Int); ok {
		return v.Value()
	}
	return 0
}

// TestSimAgentBadSession: a simulated agent told its session is unknown
// drops it, and its unacked reports are re-encoded, signed, for resending,
// with the same seq and Oldest = its lowest unacked.
func TestSimAgentBadSession(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	keys := func(string) (ed25519.PublicKey, bool) { return pub, true }
	g := &Generator{values: 40}
	a := &simAgent{name: "s1", key: priv, pub: pub, gen: g, rng: rand.New(rand.NewPCG(1, 1))}
	now := time.Now()
	hello := a.helloLocked(now)
	if hello == nil || a.helloLocked(now) != nil {
		t.Fatal("want exactly one hello within simHelloRetry")
	}
	h, err := wire.OpenHello(hello, keys, now)
	if err != nil {
		t.Fatal(err)
	}
	_, wm, err := wire.AcceptHello(h, "bench", 42)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := wire.OpenWelcome(wm)
	a.welcome(w)
	if a.sess == nil {
		t.Fatal("no session after the welcome")
	}
	a.unacked = []simPending{{seq: 7, msg: &anypb.Any{}}, {seq: 8, msg: &anypb.Any{}}}
	a.badSession(41) // another session: ignored
	if a.sess == nil || a.unacked[0].msg == nil {
		t.Fatal("a bad-session answer about another session dropped ours")
	}
	a.badSession(42)
	if a.sess != nil || a.unacked[0].msg != nil || a.unacked[1].msg != nil || g.resets.Load() != 1 {
		t.Fatalf("session kept or reports not marked for re-encoding: %+v", a.unacked)
	}
	for _, seq := range []uint64{7, 8} {
		r, err := wire.OpenReport(a.resign(seq), keys)
		if err != nil {
			t.Fatalf("resigned report: %v", err)
		}
		if r.Seq != seq || r.Oldest != 7 || r.Agent != "s1" {
			t.Fatalf("resigned report %d: seq %d oldest %d agent %q", seq, r.Seq, r.Oldest, r.Agent)
		}
	}
	if a.helloLocked(now.Add(time.Millisecond)) == nil {
		t.Fatal("no new hello right after the session was lost")
	}
}

// TestSimAgentHoleResend: like the real uplink, a simulated agent resends
// at once exactly the reports an ack names missing (Ack.Next), at most once
// per guard.
func TestSimAgentHoleResend(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	a := &simAgent{name: "s", gen: &Generator{}, backoff: simResendAfter, batch: simResendBatch}
	for i := range 10 {
		a.unacked = append(a.unacked, simPending{seq: uint64(i + 1), msg: &anypb.Any{}, sent: t0})
	}
	tests := []struct {
		at        time.Duration
		seq, next uint64
		want      int
	}{
		{10 * time.Millisecond, 1, 4, 2},   // 2 and 3
		{100 * time.Millisecond, 1, 4, 0},  // within the guard
		{400 * time.Millisecond, 1, 4, 2},  // after it
		{500 * time.Millisecond, 3, 0, 0},  // no hole
		{600 * time.Millisecond, 3, 4, 0},  // next right after seq
		{700 * time.Millisecond, 4, 10, 5}, // 5..9
	}
	for _, tt := range tests {
		if got := len(a.ack(tt.seq, tt.next, t0.Add(tt.at))); got != tt.want {
			t.Fatalf("ack %d next %d at %v: %d resent, want %d", tt.seq, tt.next, tt.at, got, tt.want)
		}
	}
	if len(a.unacked) != 6 || a.unacked[0].seq != 5 {
		t.Fatalf("unacked %d from %d, want 6 from 5", len(a.unacked), a.unacked[0].seq)
	}
}

// TestSimAgentResendBackoff: the simulated agents follow the real uplink's
// resend rules (agent/uplink.go uplinkCore): nothing before max(backoff,
// 3x srtt); a round without progress doubles the backoff (up to 8 s) and
// halves the window (down to 20); progress resets both; an ack below the
// oldest unacked report while backed off makes it due at once.
func TestSimAgentResendBackoff(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	newAgent := func(n int) *simAgent {
		a := &simAgent{name: "s", gen: &Generator{}, backoff: simResendAfter, batch: simResendBatch}
		for i := range n {
			a.unacked = append(a.unacked, simPending{seq: uint64(i + 1), msg: &anypb.Any{}, sent: t0})
		}
		return a
	}
	type step struct {
		acks    []uint64      // acks applied first
		at      time.Duration // since t0
		want    int           // reports due
		backoff time.Duration // after the step
		batch   int
	}
	tests := []struct {
		name   string
		queued int
		srtt   time.Duration
		steps  []step
	}{
		{"not before the timeout", 5, 0, []step{
			{at: time.Second, want: 0, backoff: 2 * time.Second, batch: 200},
			{at: 2 * time.Second, want: 5, backoff: 2 * time.Second, batch: 200},
			{at: 3 * time.Second, want: 0, backoff: 2 * time.Second, batch: 200},
		}},
		{"3x srtt when larger", 5, time.Second, []step{
			{at: 2 * time.Second, want: 0, backoff: 2 * time.Second, batch: 200},
			{at: 3 * time.Second, want: 5, backoff: 2 * time.Second, batch: 200},
		}},
		{"no progress: back off, shrink the window", 1000, 0, []step{
			{at: 2 * time.Second, want: 200, backoff: 2 * time.Second, batch: 200},
			{at: 4 * time.Second, want: 100, backoff: 4 * time.Second, batch: 100},
			{at: 6 * time.Second, want: 0, backoff: 4 * time.Second, batch: 100},
			{at: 8 * time.Second, want: 50, backoff: 8 * time.Second, batch: 50},
			{at: 16 * time.Second, want: 25, backoff: 8 * time.Second, batch: 25},
			{at: 24 * time.Second, want: 20, backoff: 8 * time.Second, batch: 20},
			{at: 32 * time.Second, want: 20, backoff: 8 * time.Second, batch: 20},
		}},
		{"progress resets", 1000, 0, []step{
			{at: 2 * time.Second, want: 200, backoff: 2 * time.Second, batch: 200},
			{at: 4 * time.Second, want: 100, backoff: 4 * time.Second, batch: 100},
			{acks: []uint64{10}, at: 4*time.Second + time.Millisecond, want: 0, backoff: 4 * time.Second, batch: 100},
			{at: 8 * time.Second, want: 200, backoff: 2 * time.Second, batch: 200},
		}},
		{"ack below the oldest while backed off: due at once", 1000, 0, []step{
			{at: 2 * time.Second, want: 200, backoff: 2 * time.Second, batch: 200},
			{at: 4 * time.Second, want: 100, backoff: 4 * time.Second, batch: 100},
			{acks: []uint64{0}, at: 5 * time.Second, want: 200, backoff: 2 * time.Second, batch: 200},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAgent(tt.queued)
			a.srtt = tt.srtt
			for i, s := range tt.steps {
				for _, seq := range s.acks {
					a.ack(seq, 0, at(s.at))
				}
				a.mu.Lock()
				got := len(a.dueLocked(at(s.at)))
				a.mu.Unlock()
				if got != s.want || a.backoff != s.backoff || a.batch != s.batch {
					t.Fatalf("step %d at %v: %d due, backoff %v, window %d; want %d, %v, %d",
						i, s.at, got, a.backoff, a.batch, s.want, s.backoff, s.batch)
				}
			}
		})
	}
}

// TestSimAgentReportReuse: the reused report keeps the agent's samples and
// value names and carries each call's seq and load value.
func TestSimAgentReportReuse(t *testing.T) {
	a := &simAgent{name: "s1", gen: &Generator{values: 40}, rng: rand.New(rand.NewPCG(1, 2))}
	first := a.report(1, 10)
	names := map[string]int{}
	for _, s := range first.Samples {
		names[s.Resource+"."+s.Unit] = len(s.Values)
	}
	second := a.report(2, 20)
	if second.Seq != 2 || second.Samples[0].Values["value"] != 20 || len(second.Samples) != len(names) {
		t.Fatalf("second report: seq %d, value %v, %d samples", second.Seq, second.Samples[0].Values["value"], len(second.Samples))
	}
	total := 0
	for _, s := range second.Samples {
		if names[s.Resource+"."+s.Unit] != len(s.Values) {
			t.Fatalf("sample %s.%s changed shape", s.Resource, s.Unit)
		}
		total += len(s.Values)
	}
	if total != 40 {
		t.Fatalf("%d values, want 40", total)
	}
}
