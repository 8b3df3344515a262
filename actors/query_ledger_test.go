package actors

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

// TestDeliveriesSurviveRestart: what the ledger recorded before a restart
// is listed by Deliveries afterwards (the query actor loads it).
func TestDeliveriesSurviveRestart(t *testing.T) {
	h := newHarness(t, nil)
	flaky := h.sinks[0]
	flaky.fail.Store(2)
	h.send(model.Report{Seq: 1, Samples: cpu(1)})
	waitFor(t, "delivered", func() bool { return len(flaky.all()) == 1 })
	id := flaky.all()[0].ID
	waitFor(t, "listed as sent", func() bool {
		ds, _ := h.m.Deliveries(context.Background(), 10)
		return len(ds) > 0 && ds[0].State == model.DeliverySent
	})
	h.restart()
	waitFor(t, "listed as sent after the restart", func() bool {
		ds, _ := h.m.Deliveries(context.Background(), 10)
		for _, d := range ds {
			if d.NotificationID == id && d.Notifier == "test/all" {
				return d.State == model.DeliverySent && d.Attempts == 3
			}
		}
		return false
	})
}

// TestLoadDeliveriesKeepsNewest: the ledger is read in full but only the
// newest maxDeliveries entries are kept, oldest first; unreadable entries
// are skipped.
func TestLoadDeliveriesKeepsNewest(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const total = 2*maxDeliveries + 345
	b := st.Batch()
	for i := range total {
		// Keys in an order unrelated to time: the ledger is keyed by ID.
		j := (i * 7919) % total
		d := model.Delivery{NotificationID: fmt.Sprintf("n%05d", j), Notifier: "test/all", State: model.DeliverySent,
			Attempts: 1, LastAttempt: base.Add(time.Duration(j) * time.Second)}
		if err := b.Put(nsLedger, d.NotificationID+"|"+d.Notifier, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(nsLedger, "zz-broken|test/all", "not a delivery"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   int
		want string
	}{
		{"oldest kept", 0, fmt.Sprintf("n%05d", total-maxDeliveries)},
		{"middle", maxDeliveries / 2, fmt.Sprintf("n%05d", total-maxDeliveries/2)},
		{"newest last", maxDeliveries - 1, fmt.Sprintf("n%05d", total-1)},
	}
	ds := loadDeliveries(st, quietLog())
	if len(ds) != maxDeliveries {
		t.Fatalf("loaded %d deliveries, want %d", len(ds), maxDeliveries)
	}
	for _, tc := range tests {
		if got := ds[tc.at].NotificationID; got != tc.want {
			t.Errorf("%s: ds[%d] = %s, want %s", tc.name, tc.at, got, tc.want)
		}
	}
}
