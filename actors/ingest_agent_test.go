package actors

import (
	"github.com/lookout-mon/lookout/store"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/agent"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/internal/testutil"
)

// startRealAgent starts the real agent "agent1" for host web1 against h's
// master over TCP, with only heartbeats (every heartbeat) and the given
// resend timeout; it is stopped at the end of the test. up returns its
// uplink's stats.
func startRealAgent(t *testing.T, h *harness, resendAfter, heartbeat time.Duration) (ag *agent.Agent, up func() agent.UplinkStats) {
	t.Helper()
	cfg := configs.AgentConfig{
		Name: "agent1", Host: "web1", Listen: testutil.FreeAddr(t), Masters: []string{h.opts.Listen},
		ResendAfter: resendAfter,
		Intervals: configs.IntervalConfig{CPU: time.Hour, Memory: time.Hour, Disk: time.Hour, Network: time.Hour,
			Uptime: time.Hour, Ports: time.Hour, Processes: time.Hour, Heartbeat: heartbeat},
	}
	ag, err := agent.Start(agent.Options{Config: cfg, DataDir: t.TempDir(), Key: h.agent.key, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ag.Stop)
	return ag, func() agent.UplinkStats { return ag.Stats().Uplinks[0] }
}

// TestRealAgentSessionAcrossMasterRestart runs the real agent (uplink and
// all) against a real master over hollywood remote: the agent opens a
// session and its reports are MAC-authenticated; after a master restart
// (same store) it is told the session is unknown, handshakes again, and
// the master applies every seq exactly once (no duplicates accepted, no
// gap left behind).
func TestRealAgentSessionAcrossMasterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines over TCP and restarts a master")
	}
	h := newHarness(t, func(o *MasterOptions) { o.Listen = testutil.FreeAddr(t); o.Now = nil })
	ag, up := startRealAgent(t, h, 300*time.Millisecond, 50*time.Millisecond)
	waitFor(t, "a session and MAC reports acked", func() bool {
		u := up()
		return u.Session && u.AckedSeq > 0 && u.Handshakes == 1
	})
	st := stats(t, h)
	if st.HellosAccepted != 1 || st.Rejected != 0 || st.Malformed != 0 {
		t.Fatalf("stats %+v", st)
	}
	accepted := st.Accepted

	h.restart()
	waitFor(t, "a new session after the restart", func() bool {
		u := up()
		return u.Session && u.Handshakes == 2 && u.SessionResets == 1
	})
	// Let reports flow under the new session, stop the agent, and check
	// that the master applied every seq from the first to its last exactly
	// once across both incarnations (Accepted counts only in-order seqs).
	time.Sleep(300 * time.Millisecond)
	ag.Stop()
	var last uint64
	waitFor(t, "the master's last seq to settle", func() bool {
		var hs store.HostSeq
		if _, err := h.st.Get(nsHostSeq, "web1", &hs); err != nil {
			t.Fatal(err)
		}
		cur := hs.Seq
		settled := cur == last && cur > 0
		last = cur
		time.Sleep(100 * time.Millisecond)
		return settled
	})
	st2 := stats(t, h)
	if st2.UnknownSession == 0 || st2.HellosAccepted != 1 || st2.Rejected != 0 {
		t.Fatalf("stats after restart %+v", st2)
	}
	if total := accepted + st2.Accepted; total != last {
		t.Fatalf("master applied %d+%d reports, last seq %d: lost or skipped some", accepted, st2.Accepted, last)
	}
	t.Logf("before restart %d, after %d, last seq %d, unknown-session %d", accepted, st2.Accepted, last, st2.UnknownSession)
}
