package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/lookout-mon/lookout/model"
)

// agentLike returns last values shaped like a real agent's report: 40
// values in 8 samples.
func agentLike(host string) *LastValues {
	lv := &LastValues{Agent: host + "-agent", Seq: 123456, Seen: 1_700_000_000_000_000_000}
	for i := range 8 {
		s := model.Sample{Service: "system", Resource: fmt.Sprintf("res%d", i), Unit: "percent", Values: map[string]float64{}}
		for j := range 5 {
			s.Values[fmt.Sprintf("value%d", j)] = float64(i*100+j) + 0.123456789
		}
		lv.Samples = append(lv.Samples, s)
	}
	return lv
}

// TestBatchCapacity pins what the badger options allow in one atomic
// Batch: a memtable bounds a transaction to 15% of its size, and the
// ingest commits, per batch of at most 256 reports, one seq key per host
// (HostSeq; the raw reports go to the raw log), so a batch must take the
// keys of thousands of hosts at once; a batch beyond the bound must fail
// with ErrTxnTooBig (ErrBatchFull), not corrupt. One host's last values
// (a checkpoint, written alone) must fit too.
func TestBatchCapacity(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	tests := []struct {
		hosts   int
		wantBig bool
	}{
		{hosts: 1, wantBig: false},
		{hosts: 2000, wantBig: false},
		{hosts: 20000, wantBig: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.hosts), func(t *testing.T) {
			b := s.Batch()
			var err error
			for i := 0; i < tt.hosts && err == nil; i++ {
				host := fmt.Sprintf("cap%d-host-%05d", tt.hosts, i)
				err = b.Put("hseq", host, &HostSeq{Agent: host + "-agent", Seq: 123456, Seen: 1_700_000_000_000_000_000})
			}
			if err == nil {
				err = b.Commit(false)
			} else {
				b.Discard()
			}
			if got := errors.Is(err, badger.ErrTxnTooBig); got != tt.wantBig {
				t.Fatalf("batch of %d hosts: err = %v, want ErrTxnTooBig %v", tt.hosts, err, tt.wantBig)
			}
			if tt.wantBig {
				return
			}
			if err != nil {
				t.Fatalf("batch of %d hosts: %v", tt.hosts, err)
			}
			last := fmt.Sprintf("cap%d-host-%05d", tt.hosts, tt.hosts-1)
			var got HostSeq
			if ok, err := s.Get("hseq", last, &got); err != nil || !ok || got.Seq != 123456 {
				t.Fatalf("Get(%s) = %+v, %v, %v after commit", last, got, ok, err)
			}
		})
	}
	if err := s.Put("hostlast", "big", agentLike("big")); err != nil {
		t.Fatalf("one host's last values: %v", err)
	}
}

// TestBatchFullContinues: ErrBatchFull leaves the batch usable, so a caller
// that needs no atomicity across its writes commits what fits and goes on
// in a new batch; every write arrives.
func TestBatchFullContinues(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	const hosts = 5000
	b := s.Batch()
	parts := 1
	for i := 0; i < hosts; i++ {
		host := fmt.Sprintf("full-host-%05d", i)
		err := b.Put("hostlast", host, agentLike(host))
		if errors.Is(err, ErrBatchFull) {
			if !errors.Is(err, badger.ErrTxnTooBig) {
				t.Fatalf("ErrBatchFull should wrap badger's ErrTxnTooBig: %v", err)
			}
			if err := b.Commit(false); err != nil {
				t.Fatalf("commit of a full batch (part %d): %v", parts, err)
			}
			b, parts = s.Batch(), parts+1
			err = b.Put("hostlast", host, agentLike(host))
		}
		if err != nil {
			t.Fatalf("put %s: %v", host, err)
		}
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	if parts < 2 {
		t.Fatalf("%d hosts fit in one transaction; the test needs more to fill one", hosts)
	}
	for _, i := range []int{0, hosts / 2, hosts - 1} {
		var got LastValues
		host := fmt.Sprintf("full-host-%05d", i)
		if ok, err := s.Get("hostlast", host, &got); err != nil || !ok || got.Seq != 123456 {
			t.Fatalf("Get(%s) = %v, %v, seq %d after %d parts", host, ok, err, got.Seq, parts)
		}
	}
}
