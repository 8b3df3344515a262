package actors

import (
	"errors"
	"fmt"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
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

// TestIngestBatchOfBigReports: a burst of big reports from many hosts can
// fill one badger transaction (about 1.2 MiB with 8 MiB memtables); the
// ingest then commits in parts instead of failing the batch, which no
// resend could ever get through if the same reports kept arriving together.
func TestIngestBatchOfBigReports(t *testing.T) {
	h := newHarness(t, func(o *MasterOptions) { o.RateBurst = 10000 })
	const reports = 300
	for seq := uint64(1); seq <= reports; seq++ {
		samples := make([]model.Sample, 60)
		for i := range samples {
			v := make(map[string]float64, 10)
			for j := range 10 {
				v[fmt.Sprintf("attribute_number_%02d", j)] = float64(seq*100 + uint64(j))
			}
			samples[i] = model.Sample{Service: "machine", Resource: "disk", Unit: fmt.Sprintf("/mnt/volume-%03d", i), Values: v}
		}
		h.send(model.Report{Seq: seq, Host: fmt.Sprintf("big-%03d", seq), Samples: samples})
	}
	h.waitAck(reports)
	st := stats(t, h)
	if st.StoreErrors != 0 || st.Accepted != reports {
		t.Fatalf("accepted %d of %d, %d store errors", st.Accepted, reports, st.StoreErrors)
	}
	var hs store.HostSeq
	if ok, err := h.st.Get(nsHostSeq, "big-150", &hs); err != nil || !ok || hs.Seq != 150 {
		t.Fatalf("stored seq of big-150: %v, %v, seq %d", ok, err, hs.Seq)
	}
	// Every report's raw entry was committed with it.
	for _, host := range []string{"big-001", "big-150", "big-300"} {
		n, samples := 0, 0
		if err := h.st.Reports(host, 0, func(_ int64, ss []model.Sample) error {
			n++
			samples += len(ss)
			return nil
		}); err != nil || n != 1 || samples != 60 {
			t.Fatalf("raw reports of %s: %d with %d samples (err %v), want 1 with 60", host, n, samples, err)
		}
	}
}
