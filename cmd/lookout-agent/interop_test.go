package main

import (
	"crypto/ed25519"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// stockMaster is the master side of the protocol on a stock (protobuf)
// hollywood remote: it accepts hellos, opens session reports and acks them.
type stockMaster struct {
	pub ed25519.PublicKey

	mu       sync.Mutex
	sessions map[uint64]*wire.Session
	reports  []*model.Report // opened session (MAC) reports, in arrival order
	bad      []error
}

func (s *stockMaster) receive(c *actor.Context) {
	m, ok := c.Message().(*anypb.Any)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := func(string) (ed25519.PublicKey, bool) { return s.pub, true }
	var reply *anypb.Any
	switch m.TypeUrl {
	case wire.TypeHello:
		h, err := wire.OpenHello(m, keys, time.Now())
		if err != nil {
			s.bad = append(s.bad, err)
			return
		}
		ses, w, err := wire.AcceptHello(h, "stock", uint64(len(s.sessions)+1))
		if err != nil {
			s.bad = append(s.bad, err)
			return
		}
		s.sessions[ses.ID] = ses
		reply = w
	case wire.TypeMACReport:
		mr, err := wire.DecodeMACReport(m)
		if err != nil {
			s.bad = append(s.bad, err)
			return
		}
		ses := s.sessions[mr.Session]
		if ses == nil {
			s.bad = append(s.bad, fmt.Errorf("unknown session %d", mr.Session))
			return
		}
		r, err := ses.Open(mr)
		if err != nil {
			s.bad = append(s.bad, err)
			return
		}
		s.reports = append(s.reports, r)
		if reply, err = wire.Encode(wire.TypeAck, &model.Ack{Master: "stock", Agent: r.Agent, Seq: r.Seq}); err != nil {
			s.bad = append(s.bad, err)
			return
		}
	default:
		return // signed reports before the session: not what this test waits for
	}
	if c.Sender() != nil {
		c.Engine().Send(c.Sender(), reply)
	}
}

// TestSlimAgentTalksToStockMaster: lookout-agent built with SlimTags (no
// protobuf runtime; hollywood Lookout patch 6 and wire.Any) runs against a
// master on a stock protobuf remote. Session reports prove the agent
// decoded the master's Welcome; a report whose Oldest moved past the first
// acked seq proves it decoded the master's Acks.
func TestSlimAgentTalksToStockMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs lookout-agent")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lookout-agent")
	if out, err := exec.Command(goBin, "build", "-tags", SlimTags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keyPath := filepath.Join(dir, "h1.key")
	pub, addr, e := keyAndMasterEngine(t, keyPath)
	sm := &stockMaster{pub: pub, sessions: map[uint64]*wire.Session{}}
	e.SpawnFunc(sm.receive, "lookout/master/ingest", actor.WithID("main"))

	cfg := agentConfig(t, dir, addr, keyPath)
	cmd := exec.Command(bin, "-c", cfg, "--log-level", "warn")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		sm.mu.Lock()
		bad, n := len(sm.bad), len(sm.reports)
		var firstSeq, oldest uint64
		if n > 0 {
			firstSeq, oldest = sm.reports[0].Seq, sm.reports[n-1].Oldest
		}
		sm.mu.Unlock()
		if bad > 0 {
			t.Fatalf("the stock master refused the slim agent's messages: %v", sm.bad)
		}
		if n >= 2 && oldest > firstSeq {
			return // welcome and acks decoded by the slim agent
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %d session reports, oldest unacked %d (first seq %d); agent output: %s",
				n, oldest, firstSeq, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for the child's two output streams.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
