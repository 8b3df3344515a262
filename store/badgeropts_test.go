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
// Batch: the ingest writes one last-values key per host in a batch, so a
// smaller memtable (which bounds a transaction to 15% of its size) must
// still take the key of every host of a 1,000-host installation at once,
// and a batch beyond the bound must fail with ErrTxnTooBig, not corrupt.
func TestBatchCapacity(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	tests := []struct {
		hosts   int
		wantBig bool
	}{
		{hosts: 1, wantBig: false},
		{hosts: 1000, wantBig: false},
		{hosts: 20000, wantBig: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.hosts), func(t *testing.T) {
			b := s.Batch()
			var err error
			for i := 0; i < tt.hosts && err == nil; i++ {
				host := fmt.Sprintf("cap%d-host-%05d", tt.hosts, i)
				err = b.Put("hostlast", host, agentLike(host))
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
			var got LastValues
			if ok, err := s.Get("hostlast", last, &got); err != nil || !ok {
				t.Fatalf("Get(%s) = %v, %v after commit", last, ok, err)
			}
			if got.Seq != 123456 || len(got.Samples) != 8 {
				t.Fatalf("Get(%s) = seq %d, %d samples; want 123456, 8", last, got.Seq, len(got.Samples))
			}
		})
	}
}
