package actors

import (
	"fmt"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/store"
)

// TestIngestHistoryQueue: up to maxHistInFlight commits' history goes to
// the writer as it comes; while that many are unanswered the next commits'
// items wait in a queue, which goes to the writer as one batch at its next
// answer; only a queue over maxHistQueued is written on the ingest's own
// path, queued items first.
func TestIngestHistoryQueue(t *testing.T) {
	items := func(host string, n int) []store.HostSamples {
		out := make([]store.HostSamples, n)
		for i := range out {
			out[i].Host = fmt.Sprintf("%s%d", host, i)
		}
		return out
	}
	in := &ingest{hist: actor.NewPID("local", "history")}
	for i := range maxHistInFlight {
		send, now := in.routeHist(items(fmt.Sprint("c", i), 2))
		if len(send) != 2 || now != nil {
			t.Fatalf("commit %d with %d in flight: send %d, now %d; want it sent", i, i, len(send), len(now))
		}
	}
	for i := range 3 {
		if send, now := in.routeHist(items(fmt.Sprint("q", i), 5)); send != nil || now != nil {
			t.Fatalf("commit with %d in flight: send %d, now %d; want it queued", maxHistInFlight, len(send), len(now))
		}
	}
	send := in.histAnswered()
	if len(send) != 15 || send[0].Host != "q00" || send[14].Host != "q24" {
		t.Fatalf("after an answer: %d items sent (%v...), want the 15 queued, in order", len(send), send[:min(1, len(send))])
	}
	if in.histSent-in.histDone != maxHistInFlight || len(in.histQ) != 0 {
		t.Fatalf("in flight %d, queued %d; want %d and 0", in.histSent-in.histDone, len(in.histQ), maxHistInFlight)
	}
	if send := in.histAnswered(); send != nil {
		t.Fatalf("an answer with nothing queued sent %d items", len(send))
	}
	// The writer is behind again: fill the queue to its bound.
	in.routeHist(items("x", 1)) // back to maxHistInFlight in flight
	if _, now := in.routeHist(items("full", maxHistQueued)); now != nil {
		t.Fatalf("a queue at its bound was written here")
	}
	send, now := in.routeHist(items("over", 2))
	if send != nil || len(now) != maxHistQueued+2 || now[0].Host != "full0" || now[len(now)-1].Host != "over1" {
		t.Fatalf("over the bound: send %d, now %d; want the queue then these written here", len(send), len(now))
	}
	if len(in.histQ) != 0 {
		t.Fatalf("queue still holds %d items after they were written", len(in.histQ))
	}
	// No writer (no verifier children): written here.
	if send, now := (&ingest{}).routeHist(items("w", 1)); send != nil || len(now) != 1 {
		t.Fatalf("without a writer: send %d, now %d", len(send), len(now))
	}
}
