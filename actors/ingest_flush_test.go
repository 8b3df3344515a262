package actors

import (
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// TestIngestFlushWindow: reports arriving within FlushDelay of the last
// commit wait and are committed (and acked) together; a report after a
// quiet spell is committed at once; with the window off, a lone report is
// committed at once even right after a commit.
func TestIngestFlushWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 1 s commit window")
	}
	const window = time.Second
	tests := []struct {
		name        string
		delay       time.Duration
		wantCommits uint64 // after seqs 1 (alone) and 2..4 (sent together right after)
		wantAcks    []uint64
	}{
		{"window on", window, 2, []uint64{1, 4}},
		{"window off", -1, 0, nil}, // 2..4 may or may not share a commit
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(o *MasterOptions) { o.IngestFlushDelay = tt.delay })
			h.send(model.Report{Seq: 1, Samples: cpu(1)})
			h.waitAck(1)
			start := time.Now()
			for seq := uint64(2); seq <= 4; seq++ {
				h.send(model.Report{Seq: seq, Samples: cpu(float64(seq))})
			}
			h.waitAck(4)
			grouped := time.Since(start)
			st := stats(t, h)
			if st.Accepted != 4 {
				t.Fatalf("accepted %d, want 4", st.Accepted)
			}
			if tt.wantCommits != 0 {
				if st.Commits != tt.wantCommits {
					t.Fatalf("%d commits, want %d (stats %+v)", st.Commits, tt.wantCommits, st)
				}
				var got []uint64
				for _, a := range h.agent.allAcks() {
					got = append(got, a.Seq)
				}
				if len(got) != len(tt.wantAcks) || got[0] != tt.wantAcks[0] || got[1] != tt.wantAcks[1] {
					t.Fatalf("acks %v, want %v (one per commit)", got, tt.wantAcks)
				}
				if grouped < window/2 {
					t.Fatalf("seqs 2..4 acked after %v: the window of %v did not hold them", grouped, window)
				}
			} else if grouped >= window/2 {
				t.Fatalf("seqs 2..4 acked after %v with the window off", grouped)
			}
			// After a quiet spell longer than the window, a report is
			// committed at once.
			time.Sleep(window + 100*time.Millisecond)
			start = time.Now()
			h.send(model.Report{Seq: 5, Samples: cpu(5)})
			h.waitAck(5)
			if el := time.Since(start); el >= window*7/10 {
				t.Fatalf("a report after a quiet spell acked after %v (window %v)", el, window)
			}
		})
	}
}

// allAcks returns every ack the fake agent has received, oldest first.
func (f *fakeAgent) allAcks() []model.Ack {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.Ack(nil), f.acks...)
}
