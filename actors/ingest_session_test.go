package actors

import (
	"context"
	"crypto/ed25519"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// sessAgent is a test agent that speaks the session protocol to a harness
// master: it records welcomes and acks sent to its own actor.
type sessAgent struct {
	h    *harness
	name string
	key  ed25519.PrivateKey
	pid  *actor.PID
	mu   sync.Mutex
	wel  []*wire.Welcome
	acks []model.Ack
	bad  []*wire.BadSession
}

func newSessAgent(h *harness, name string, key ed25519.PrivateKey) *sessAgent {
	a := &sessAgent{h: h, name: name, key: key}
	a.spawn()
	return a
}

// spawn (re)creates the agent's actor on the harness's current engine.
func (a *sessAgent) spawn() {
	a.pid = a.h.m.Engine().SpawnFunc(func(c *actor.Context) {
		m, ok := c.Message().(*anypb.Any)
		if !ok {
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if w, err := wire.OpenWelcome(m); err == nil {
			a.wel = append(a.wel, w)
			return
		}
		if b, err := wire.OpenBadSession(m); err == nil {
			a.bad = append(a.bad, b)
			return
		}
		var ack model.Ack
		if wire.Decode(m, wire.TypeAck, &ack) == nil {
			a.acks = append(a.acks, ack)
		}
	}, "sessagent", actor.WithID(a.name))
}

func (a *sessAgent) send(m *anypb.Any) {
	a.h.m.Engine().SendWithSender(a.h.m.pids["ingest"], m, a.pid)
}

func (a *sessAgent) welcomes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.wel)
}

// handshake sends a hello stamped at when and returns the session opened
// by the master's welcome.
func (a *sessAgent) handshake(t *testing.T, when time.Time) *wire.Session {
	t.Helper()
	return a.handshakeDelay(t, when, 0)
}

func (a *sessAgent) report(seq uint64) *model.Report {
	return &model.Report{Version: model.ProtocolVersion, Agent: a.name, Host: a.name + "-host", Seq: seq, Oldest: seq,
		Time: a.h.clk.Now().UnixNano(), Samples: cpu(float64(seq))}
}

func (a *sessAgent) seal(t *testing.T, s *wire.Session, r *model.Report) *anypb.Any {
	t.Helper()
	m, err := s.Seal(r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitBad waits for a BadSession about session id.
func (a *sessAgent) waitBad(t *testing.T, what string, id uint64) {
	t.Helper()
	waitFor(t, what, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, b := range a.bad {
			if b.Session == id && b.Agent == a.name && b.Master == "m1" && b.Reason != "" {
				return true
			}
		}
		return false
	})
}

func (a *sessAgent) ackedSeq() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var s uint64
	for _, ack := range a.acks {
		if ack.Reject == "" && ack.Seq > s {
			s = ack.Seq
		}
	}
	return s
}

func stats(t *testing.T, h *harness) IngestStats {
	t.Helper()
	st, err := h.m.IngestStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestIngestSessionReports(t *testing.T) {
	pub2, priv2, _ := ed25519.GenerateKey(nil)
	h := newHarness(t, func(o *MasterOptions) { o.Keys["agent2"] = pub2 })
	a := newSessAgent(h, "agent1", h.agent.key)
	b := newSessAgent(h, "agent2", priv2)
	sa := a.handshake(t, h.clk.Now())
	sb := b.handshake(t, h.clk.Now())

	// MAC reports are accepted, acked and reach the host actor.
	for seq := uint64(1); seq <= 3; seq++ {
		a.send(a.seal(t, sa, a.report(seq)))
	}
	waitFor(t, "ack 3", func() bool { return a.ackedSeq() == 3 })
	waitFor(t, "host status", func() bool { return h.status("agent1-host") != nil })

	// Refusals: tampered body and tampered MAC (bad MAC: the agent is told
	// to re-handshake), agent1's session used in the name of agent2.
	tampered := func(mod func(*wire.MACReport)) *anypb.Any {
		m, err := wire.DecodeMACReport(a.seal(t, sa, a.report(4)))
		if err != nil {
			t.Fatal(err)
		}
		mod(m)
		out, err := wire.Encode(wire.TypeMACReport, m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a.send(tampered(func(m *wire.MACReport) { m.Body[len(m.Body)-3] ^= 1 }))
	a.send(tampered(func(m *wire.MACReport) { m.MAC[0] ^= 1 }))
	a.send(tampered(func(m *wire.MACReport) { m.Agent = "agent2" }))
	waitFor(t, "three refusals", func() bool { return stats(t, h).Rejected == 3 })
	a.waitBad(t, "bad-session answer to the bad MAC", sa.ID)
	// agent2's session still works, and agent1's is still good after the
	// refusals (seq 4 never got in).
	b.send(b.seal(t, sb, b.report(1)))
	a.send(a.seal(t, sa, a.report(4)))
	waitFor(t, "acks", func() bool { return a.ackedSeq() == 4 && b.ackedSeq() == 1 })

	// Signed reports are still accepted, interleaved with sealed ones.
	m, err := wire.SignReport(a.key, a.report(5))
	if err != nil {
		t.Fatal(err)
	}
	a.send(m)
	a.send(a.seal(t, sa, a.report(6)))
	waitFor(t, "ack 6", func() bool { return a.ackedSeq() == 6 })

	st := stats(t, h)
	if st.Accepted != 7 || st.HellosAccepted != 2 || st.HellosRefused != 0 || st.UnknownSession != 0 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
	if s := h.status("agent2-host"); s == nil {
		t.Fatal("agent2's report did not reach its host")
	}
}

func TestIngestHelloReplayRefused(t *testing.T) {
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	now := h.clk.Now()
	old, _, err := wire.NewHello(a.key, a.name, now.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cur, pend, err := wire.NewHello(a.key, a.name, now)
	if err != nil {
		t.Fatal(err)
	}
	a.send(cur)
	waitFor(t, "welcome", func() bool { return a.welcomes() == 1 })
	a.mu.Lock()
	w := a.wel[0]
	a.mu.Unlock()
	s, err := pend.Finish(w)
	if err != nil {
		t.Fatal(err)
	}
	// The same hello again, and an older one: both refused, no welcome, and
	// the live session keeps working.
	a.send(cur)
	a.send(old)
	// Stale by the clock (6 minutes old, though newer than nothing).
	stale, _, _ := wire.NewHello(a.key, a.name, now.Add(-wire.HelloMaxSkew-time.Minute))
	a.send(stale)
	// Unknown agent.
	_, strangerKey, _ := ed25519.GenerateKey(nil)
	stranger, _, _ := wire.NewHello(strangerKey, "stranger", now)
	a.send(stranger)
	waitFor(t, "four refused hellos", func() bool { return stats(t, h).HellosRefused == 4 })
	a.send(a.seal(t, s, a.report(1)))
	waitFor(t, "ack 1", func() bool { return a.ackedSeq() == 1 })
	if n := a.welcomes(); n != 1 {
		t.Fatalf("%d welcomes, want 1", n)
	}
	if st := stats(t, h); st.HellosAccepted != 1 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestIngestSessionAfterRestart: a restarted master knows no sessions; it
// says so for each sealed report (UnknownSession), the agent handshakes
// again and resends, and nothing is lost or applied twice.
func TestIngestSessionAfterRestart(t *testing.T) {
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	s := a.handshake(t, h.clk.Now())
	for seq := uint64(1); seq <= 2; seq++ {
		a.send(a.seal(t, s, a.report(seq)))
	}
	waitFor(t, "ack 2", func() bool { return a.ackedSeq() == 2 })

	h.restart()
	a.mu.Lock()
	a.acks, a.bad = nil, nil
	a.mu.Unlock()
	a.spawn()
	a.send(a.seal(t, s, a.report(3)))
	a.waitBad(t, "unknown-session answer", s.ID)
	if st := stats(t, h); st.UnknownSession != 1 || st.Accepted != 0 {
		t.Fatalf("stats after restart %+v", st)
	}
	// Signed meanwhile (seq 3 resent), then sealed under the new session;
	// a replay of seq 2 is a duplicate, dropped before verification.
	m, _ := wire.SignReport(a.key, a.report(3))
	a.send(m)
	s2 := a.handshake(t, h.clk.Now().Add(time.Millisecond))
	if s2.ID == s.ID {
		t.Fatal("same session id after restart")
	}
	a.send(a.seal(t, s2, a.report(2)))
	a.send(a.seal(t, s2, a.report(4)))
	waitFor(t, "ack 4", func() bool { return a.ackedSeq() == 4 })
	if st := stats(t, h); st.Accepted != 2 || st.EarlyDuplicates != 1 || st.Duplicates != 0 || st.HellosAccepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestIngestSessionTableBound: a third session of an agent evicts its
// first; the table never holds more than maxSessionsPerAgent per agent.
func TestIngestSessionTableBound(t *testing.T) {
	h := newHarness(t, nil)
	a := newSessAgent(h, "agent1", h.agent.key)
	t0 := h.clk.Now()
	var ss []*wire.Session
	for i := range 3 {
		ss = append(ss, a.handshake(t, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	a.send(a.seal(t, ss[0], a.report(1)))
	a.waitBad(t, "evicted session refused", ss[0].ID)
	a.send(a.seal(t, ss[1], a.report(1)))
	a.send(a.seal(t, ss[2], a.report(2)))
	waitFor(t, "ack 2", func() bool { return a.ackedSeq() == 2 })
}

func TestSessionTable(t *testing.T) {
	tests := []struct {
		name    string
		agents  []string // one session per entry, in order
		wantLen int
		gone    []int // indexes of sessions evicted
	}{
		{"one", []string{"a"}, 1, nil},
		{"two of one agent", []string{"a", "a"}, 2, nil},
		{"third evicts the first", []string{"a", "a", "a"}, 2, []int{0}},
		{"five of one agent", []string{"a", "a", "a", "a", "a"}, 2, []int{0, 1, 2}},
		{"agents do not evict each other", []string{"a", "b", "a", "b", "c"}, 5, nil},
		{"mixed", []string{"a", "b", "a", "a", "b", "b"}, 4, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tab sessionTable
			var ids []uint64
			for i, ag := range tt.agents {
				id, err := tab.newID()
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
				tab.add(wire.NewSession(id, ag, []byte("k")), int64(i))
			}
			if tab.len() != tt.wantLen {
				t.Fatalf("len %d, want %d", tab.len(), tt.wantLen)
			}
			gone := map[int]bool{}
			for _, i := range tt.gone {
				gone[i] = true
			}
			for i, id := range ids {
				if got := tab.get(id) != nil; got == gone[i] {
					t.Errorf("session %d (%s): present %v", i, tt.agents[i], got)
				}
			}
			for ag, l := range tab.byAgent {
				if len(l) > maxSessionsPerAgent {
					t.Errorf("agent %s has %d sessions", ag, len(l))
				}
			}
			if last := tab.lastHello[tt.agents[len(tt.agents)-1]]; last != int64(len(tt.agents)-1) {
				t.Errorf("lastHello %d", last)
			}
		})
	}
}
