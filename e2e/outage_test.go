package e2e

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// appliedRE matches the master's --debug line printed once for every report
// it applied (type "report", or "host_state" when the report changed the
// host's state): "15:04:05.000 report       h1 up seq=42 load=...".
var appliedRE = regexp.MustCompile(`^\S+ (?:report|host_state)\s+(\S+) up seq=(\d+) `)

// appliedSeqs returns the seqs the master printed as applied for host, as
// a set.
func appliedSeqs(p *proc, host string) map[uint64]bool {
	out := map[uint64]bool{}
	for _, l := range p.Stdout.Lines() {
		if m := appliedRE.FindStringSubmatch(l); m != nil && m[1] == host {
			v, _ := strconv.ParseUint(m[2], 10, 64)
			out[v] = true
		}
	}
	return out
}

// waitApplied waits until the master printed a seq >= seq for host.
func waitApplied(t testing.TB, p *proc, host string, seq uint64, timeout time.Duration) {
	t.Helper()
	ok := p.Stdout.Wait(timeout, func(lines []string) bool {
		for i := len(lines) - 1; i >= 0; i-- {
			if m := appliedRE.FindStringSubmatch(lines[i]); m != nil && m[1] == host {
				if v, _ := strconv.ParseUint(m[2], 10, 64); v >= seq {
					return true
				}
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("%s did not apply seq %d of %s within %s", p.name, seq, host, timeout)
	}
}

func maxSeq(s []uint64) uint64 {
	if len(s) == 0 {
		return 0
	}
	return slices.Max(s)
}

// TestMasterOutageNoGap kills the master with SIGKILL while a real agent
// keeps collecting, restarts it after the outage, and checks that the master
// applied every seq the agent produced: nothing in the window is lost (the
// outbox holds 1000 reports, far more than the window produces) and the
// restarted master has no gap.
func TestMasterOutageNoGap(t *testing.T) {
	outage := 10 * time.Second
	if testing.Short() {
		outage = 3 * time.Second
	}
	t.Parallel()
	key := newAgentKey(t, t.TempDir(), "a1")
	m := startMaster(t, masterOpts{Agents: []agentKey{key}})
	a := startAgent(t, agentOpts{Key: key, Host: "h1", Masters: []string{m.Ingest},
		Textfile: map[string]string{"app.txt": "app.e2e:counter.value 0\n"}})
	waitApplied(t, m.P, "h1", 3, 20*time.Second)
	if !a.P.Stderr.Wait(10*time.Second, func([]string) bool { return a.MaxAcked() >= 3 }) {
		t.Fatalf("the agent saw no ack of seq 3 within 10s")
	}

	m.P.Kill9()
	time.Sleep(200 * time.Millisecond) // acks still in flight reach the agent's log
	ackedBeforeKill := a.MaxAcked()
	seqAtKill := maxSeq(a.Seqs())
	if ackedBeforeKill == 0 {
		t.Fatalf("the agent saw no ack before the kill")
	}
	// The agent keeps collecting (4 families every second) while the
	// master is down; the textfile changes meanwhile.
	start := time.Now()
	for i := 1; time.Since(start) < outage; i++ {
		a.Write("app.txt", fmt.Sprintf("app.e2e:counter.value %d\n", i))
		time.Sleep(200 * time.Millisecond)
	}
	seqAtRestart := maxSeq(a.Seqs())
	if produced := seqAtRestart - seqAtKill; produced < uint64(outage/time.Second)*2 {
		t.Fatalf("agent produced only %d reports during the %s outage; it should keep collecting", produced, outage)
	}

	m.Start()
	waitApplied(t, m.P, "h1", seqAtRestart, 30*time.Second)
	applied1 := appliedSeqs(m.Procs[0], "h1")
	applied2 := appliedSeqs(m.P, "h1")

	// Every seq up to the restart was applied by the first master (printed
	// or acked: a kill between commit and print loses only the print) or by
	// the second one.
	var missing []uint64
	for s := uint64(1); s <= seqAtRestart; s++ {
		if !applied1[s] && !applied2[s] && s > ackedBeforeKill {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("seqs never applied: %v (acked before kill %d, agent seq at kill %d, at restart %d)",
			missing, ackedBeforeKill, seqAtKill, seqAtRestart)
	}
	// The restarted master applied a contiguous run: no gap.
	var got2 []uint64
	for s := range applied2 {
		got2 = append(got2, s)
	}
	slices.Sort(got2)
	for i := 1; i < len(got2); i++ {
		if got2[i] != got2[i-1]+1 {
			t.Fatalf("restarted master skipped seqs %d..%d", got2[i-1]+1, got2[i]-1)
		}
	}
	if len(got2) == 0 || got2[0] > seqAtKill+1 {
		t.Fatalf("restarted master's first applied seq is %v, want <= %d (the first report of the outage)", got2, seqAtKill+1)
	}

	var st model.HostStatus
	if err := m.API.Get("server-status?host=h1", &st); err != nil {
		t.Fatal(err)
	}
	if st.LastSeq < seqAtRestart || st.Dropped != 0 {
		t.Fatalf("server-status: last_seq %d dropped %d, want last_seq >= %d and nothing dropped", st.LastSeq, st.Dropped, seqAtRestart)
	}
	t.Logf("outage %s: agent seq %d at kill, %d at restart; acked before kill %d; restarted master applied %d..%d",
		outage, seqAtKill, seqAtRestart, ackedBeforeKill, got2[0], got2[len(got2)-1])
}

// TestKill9Durability kills the master with SIGKILL at random moments while
// reports flow, then kills the agent too (so nothing is resent) and restarts
// the master alone: every report the agent saw acknowledged must be in the
// restarted master's state.
func TestKill9Durability(t *testing.T) {
	t.Parallel()
	key := newAgentKey(t, t.TempDir(), "a1")
	m := startMaster(t, masterOpts{Agents: []agentKey{key}, HostTimeout: 30 * time.Second})
	a := startAgent(t, agentOpts{Key: key, Host: "h1", Masters: []string{m.Ingest},
		Textfile: map[string]string{"app.txt": "app.e2e:round.value 0\n"}})
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := 1; round <= rounds; round++ {
		a.Write("app.txt", fmt.Sprintf("app.e2e:round.value %d\n", round))
		// Wait until a report carrying this round's value was acked.
		seq, ok := a.WaitReportWith("app.e2e:round", "value", float64(round), 10*time.Second)
		if !ok {
			t.Fatalf("round %d: the agent sent no report with the new textfile value", round)
		}
		if !a.P.Stderr.Wait(20*time.Second, func([]string) bool { return a.MaxAcked() >= seq }) {
			t.Fatalf("round %d: seq %d not acked (last acked %d)", round, seq, a.MaxAcked())
		}
		time.Sleep(time.Duration(rand.IntN(700)) * time.Millisecond)
		m.P.Kill9()
		time.Sleep(200 * time.Millisecond) // acks still in flight reach the agent's log
		acked := a.MaxAcked()
		a.P.Kill9()
		m.Start()
		var st model.HostStatus
		if err := m.API.Get("server-status?host=h1", &st); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if st.LastSeq < acked {
			t.Fatalf("round %d: after kill -9 the master's last_seq is %d, but the agent saw seq %d acked", round, st.LastSeq, acked)
		}
		var v float64
		found := false
		for _, s := range st.Samples {
			if s.Key() == "app.e2e:round" {
				v, found = s.Values["value"], true
			}
		}
		if !found || v != float64(round) {
			t.Fatalf("round %d: last value app.e2e:round.value = %v (found %v) after restart, want %d", round, v, found, round)
		}
		t.Logf("round %d: acked %d, restarted master last_seq %d", round, acked, st.LastSeq)
		a.Start()
	}
}
