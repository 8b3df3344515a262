package actors

import (
	"errors"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// TestIngestLateVerifierResult: a verifier result for a job the current
// ingest actor never dispatched (it was dispatched before a restart; the
// verifier children outlive the ingest actor) must not make the ingest
// think its verifiers are hopelessly behind. It used to underflow the
// backlog counter, and every later report was shed as "overloaded".
func TestIngestLateVerifierResult(t *testing.T) {
	h := newHarness(t, nil)
	ingest := actor.NewPID(h.m.Engine().Address(), wire.IngestID)
	h.m.Engine().Send(ingest, verified{shard: 0, err: errors.New("opened before the restart")})
	h.send(model.Report{Seq: 1, Samples: cpu(1)})
	h.waitAck(1)
	st := stats(t, h)
	if st.Overloaded != 0 || st.Accepted != 1 {
		t.Fatalf("after a late verifier result: accepted %d, overloaded %d; want 1 and 0", st.Accepted, st.Overloaded)
	}
}
