package actors

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
	"github.com/lookout-mon/lookout/store"
)

// deliver asks a notifier actor to deliver a notification.
type deliver struct{ N model.Notification }

// sendResult is piped back to the notifier actor by its send goroutine.
type sendResult struct {
	Key       string
	Retryable bool
	Err       error
}

// kick makes the notifier actor look at its queue again (retry timers).
type kick struct{}

// outboxItem is one pending notification in a notifier's durable outbox.
type outboxItem struct {
	N         model.Notification `msgpack:"n"`
	Created   time.Time          `msgpack:"c"`
	Attempts  int                `msgpack:"a"`
	NextTry   time.Time          `msgpack:"nt"`
	LastError string             `msgpack:"le"`
}

// NotifierActorConfig configures one notifier actor.
type NotifierActorConfig struct {
	Notifier notify.Notifier
	Store    *store.Store
	Log      *slog.Logger
	Router   *actor.PID
	Query    *actor.PID
	// RetryMin/RetryMax bound the exponential backoff (with jitter).
	RetryMin, RetryMax time.Duration
	// FailWarnAfter: failing this long raises a WARN through the others.
	FailWarnAfter time.Duration
	// GiveUpAfter: drop a notification after trying this long (0 = never).
	GiveUpAfter time.Duration
	SendTimeout time.Duration
	Now         func() time.Time
	// Cluster, when set: only the owner of a notification's host sends it;
	// the others hold it until the replicated ledger shows it delivered, or
	// until they become the owner (failover).
	Cluster Cluster
}

// notifierActor owns one notifier: a durable outbox (synced writes) in the
// store, one send in flight at a time (in a goroutine, never in Receive),
// retries with capped exponential backoff and jitter. A notification is
// removed from the outbox only after it was delivered, so a kill -9 during
// sending delivers it again after restart (at least once); the ledger of
// sent IDs stops duplicates of what is known to be sent.
type notifierActor struct {
	cfg          NotifierActorConfig
	key          string
	queue        []string // outbox keys, FIFO
	items        map[string]*outboxItem
	ids          map[string]bool // notification IDs queued
	inflight     bool
	timer        *time.Timer
	failingSince time.Time
	warned       bool
	lastErr      string
	// result receives the in-flight send's outcome too, so a stopping actor
	// can wait for it and record it (else a restart resends it).
	result   chan sendResult
	stopping bool
}

func newNotifierActor(cfg NotifierActorConfig) actor.Producer {
	return func() actor.Receiver {
		if cfg.RetryMin <= 0 {
			cfg.RetryMin = time.Second
		}
		if cfg.RetryMax <= 0 {
			cfg.RetryMax = 5 * time.Minute
		}
		if cfg.FailWarnAfter <= 0 {
			cfg.FailWarnAfter = 5 * time.Minute
		}
		if cfg.SendTimeout <= 0 {
			cfg.SendTimeout = 30 * time.Second
		}
		if cfg.Now == nil {
			cfg.Now = time.Now
		}
		return &notifierActor{cfg: cfg, key: notify.Key(cfg.Notifier), items: map[string]*outboxItem{}, ids: map[string]bool{}}
	}
}

func (a *notifierActor) prefix() string { return a.key + "|" }

func (a *notifierActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		err := a.cfg.Store.List(nsOutbox, a.prefix(), func(key string, raw []byte) error {
			var it outboxItem
			if err := store.Decode(raw, &it); err != nil {
				a.cfg.Log.Error("outbox entry unreadable; dropped", "notifier", a.key, "key", key, "err", err)
				return nil
			}
			a.queue = append(a.queue, key)
			a.items[key] = &it
			a.ids[it.N.ID] = true
			a.update(c, &it, model.DeliveryPending)
			return nil
		})
		if err != nil {
			a.cfg.Log.Error("loading outbox", "notifier", a.key, "err", err)
		}
		if len(a.queue) > 0 {
			a.cfg.Log.Info("resuming outbox", "notifier", a.key, "pending", len(a.queue))
		}
		a.next(c)
	case actor.Stopped:
		a.stopping = true
		if a.timer != nil {
			a.timer.Stop()
		}
		if a.inflight && a.result != nil {
			// Give the send in progress a moment, and record its outcome in
			// the ledger, so a restart does not deliver it twice.
			select {
			case r := <-a.result:
				a.onResult(c, r)
			case <-time.After(5 * time.Second):
				a.cfg.Log.Warn("stopping with a delivery in flight; it will be retried after restart", "notifier", a.key)
			}
		}
	case deliver:
		a.enqueue(c, m.N)
	case sendResult:
		a.onResult(c, m)
	case kick:
		a.timer = nil
		a.next(c)
	}
}

func (a *notifierActor) ledgerKey(id string) string { return id + "|" + a.key }

func (a *notifierActor) enqueue(c *actor.Context, n model.Notification) {
	if a.ids[n.ID] {
		return
	}
	var d model.Delivery
	if a.cfg.Cluster != nil && a.cfg.Cluster.Delivered(n.ID, a.key) {
		return
	}
	if ok, _ := a.cfg.Store.Get(nsLedger, a.ledgerKey(n.ID), &d); ok {
		a.cfg.Log.Debug("already delivered; skipped", "notifier", a.key, "id", n.ID)
		return
	}
	now := a.cfg.Now()
	it := &outboxItem{N: n, Created: now}
	key := fmt.Sprintf("%s%020d|%s", a.prefix(), now.UnixNano(), n.ID)
	if err := a.cfg.Store.PutSync(nsOutbox, key, it); err != nil {
		// Still try to deliver from memory; say loudly that durability is lost.
		a.cfg.Log.Error("outbox write failed; delivering without durability", "notifier", a.key, "id", n.ID, "err", err)
	}
	a.queue = append(a.queue, key)
	a.items[key] = it
	a.ids[n.ID] = true
	a.update(c, it, model.DeliveryPending)
	a.next(c)
}

func (a *notifierActor) next(c *actor.Context) {
	if a.inflight || a.stopping || len(a.queue) == 0 {
		return
	}
	// Retry times are wall-clock (time.Now), independent of the injectable
	// clock used for what is shown and for the failing-too-long WARN.
	var (
		key     string
		it      *outboxItem
		wake    time.Duration = -1
		dropped []string
	)
	for _, k := range a.queue {
		cand := a.items[k]
		if cl := a.cfg.Cluster; cl != nil {
			if cl.Delivered(cand.N.ID, a.key) {
				dropped = append(dropped, k)
				continue
			}
			if !cl.Owns(cand.N.Host) {
				if wake < 0 || wake > 500*time.Millisecond {
					wake = 500 * time.Millisecond // held: re-check ownership and ledger
				}
				continue
			}
		}
		if w := time.Until(cand.NextTry); w > 0 {
			if wake < 0 || w < wake {
				wake = w
			}
			// In order per notifier: a waiting retry is not overtaken,
			// unless it has failed repeatedly: then the problem may be
			// that notification alone, and it must not block the channel.
			if cand.Attempts < 3 {
				break
			}
			continue
		}
		key, it = k, cand
		break
	}
	for _, k := range dropped {
		d := a.items[k]
		d.LastError = "delivered by another master"
		a.done(c, k, d, model.DeliverySent, "", false)
	}
	if it == nil {
		if wake >= 0 && a.timer == nil {
			eng, self := c.Engine(), c.PID()
			a.timer = time.AfterFunc(wake, func() { eng.Send(self, kick{}) })
		}
		return
	}
	a.inflight = true
	ch := make(chan sendResult, 1)
	a.result = ch
	eng, self := c.Engine(), c.PID()
	n := it.N
	nf := a.cfg.Notifier
	timeout := a.cfg.SendTimeout
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var retry bool
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					retry, err = true, fmt.Errorf("notifier panicked: %v", r)
				}
			}()
			retry, err = nf.Send(ctx, n)
		}()
		res := sendResult{Key: key, Retryable: retry, Err: err}
		ch <- res
		eng.Send(self, res)
	}()
}

func (a *notifierActor) backoff(attempts int) time.Duration {
	d := a.cfg.RetryMin
	for i := 1; i < attempts && d < a.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, a.cfg.RetryMax)
	// Full jitter in [d/2, d].
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (a *notifierActor) onResult(c *actor.Context, m sendResult) {
	if !a.inflight {
		return // already recorded (while stopping)
	}
	a.inflight = false
	it, ok := a.items[m.Key]
	if !ok {
		a.next(c)
		return
	}
	now := a.cfg.Now()
	it.Attempts++
	switch {
	case m.Err == nil:
		a.done(c, m.Key, it, model.DeliverySent, "", true)
		if a.warned {
			a.warned = false
			c.Send(a.cfg.Router, notifyMsg{N: model.Notification{ID: notifID("notifier-ok", a.key, now.UnixNano()), Level: model.INFO,
				Kind: model.KindInfo, Subject: "notifier " + a.key + " delivers again",
				Text: fmt.Sprintf("Notifier %s recovered after failing for %s.", a.key, model.HumanDuration(now.Sub(a.failingSince))), Time: now},
				Alert: "notifier|" + a.key, Exclude: a.key})
		}
		a.failingSince = time.Time{}
	case !m.Retryable || (a.cfg.GiveUpAfter > 0 && now.Sub(it.Created) > a.cfg.GiveUpAfter):
		a.cfg.Log.Error("delivery failed permanently", "notifier", a.key, "id", it.N.ID, "attempts", it.Attempts, "err", m.Err)
		a.done(c, m.Key, it, model.DeliveryFailed, m.Err.Error(), true)
		a.noteFailure(c, now, m.Err)
	default:
		it.LastError = m.Err.Error()
		it.NextTry = time.Now().Add(a.backoff(it.Attempts))
		if err := a.cfg.Store.PutSync(nsOutbox, m.Key, it); err != nil {
			a.cfg.Log.Error("outbox update failed", "notifier", a.key, "err", err)
		}
		a.cfg.Log.Warn("delivery failed; will retry", "notifier", a.key, "id", it.N.ID, "attempts", it.Attempts,
			"retry_in", time.Until(it.NextTry).Round(time.Millisecond), "err", m.Err)
		a.update(c, it, model.DeliveryPending)
		a.noteFailure(c, now, m.Err)
	}
	a.next(c)
}

func (a *notifierActor) noteFailure(c *actor.Context, now time.Time, err error) {
	if a.failingSince.IsZero() {
		a.failingSince = now
	}
	a.lastErr = err.Error()
	if !a.warned && now.Sub(a.failingSince) >= a.cfg.FailWarnAfter {
		a.warned = true
		c.Send(a.cfg.Router, notifyMsg{N: model.Notification{ID: notifID("notifier-failing", a.key, a.failingSince.UnixNano()), Level: model.WARN,
			Kind: model.KindWarning, Subject: "notifier " + a.key + " is failing",
			Text: fmt.Sprintf("Notifier %s has been failing for %s (%d queued): %s", a.key,
				model.HumanDuration(now.Sub(a.failingSince)), len(a.queue), a.lastErr), Time: now},
			Alert: "notifier|" + a.key, Active: true, Exclude: a.key})
	}
}

func (a *notifierActor) done(c *actor.Context, key string, it *outboxItem, state, errText string, replicate bool) {
	d := a.delivery(it, state)
	if errText != "" {
		d.LastError = errText
	}
	b := a.cfg.Store.Batch()
	_ = b.Put(nsLedger, a.ledgerKey(it.N.ID), d)
	b.Delete(nsOutbox, key)
	if err := b.Commit(true); err != nil {
		a.cfg.Log.Error("ledger/outbox commit failed", "notifier", a.key, "err", err)
	}
	delete(a.items, key)
	delete(a.ids, it.N.ID)
	for i, k := range a.queue {
		if k == key {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			break
		}
	}
	if replicate && a.cfg.Cluster != nil {
		a.cfg.Cluster.RecordDelivery(d)
	}
	if a.cfg.Query != nil {
		c.Send(a.cfg.Query, deliveryUpdate{D: d})
	}
}

func (a *notifierActor) delivery(it *outboxItem, state string) model.Delivery {
	return model.Delivery{NotificationID: it.N.ID, Notifier: a.key, State: state, Attempts: it.Attempts,
		LastError: it.LastError, LastAttempt: a.cfg.Now(), Level: it.N.Level, Subject: it.N.Subject,
		Host: it.N.Host, Created: it.Created}
}

func (a *notifierActor) update(c *actor.Context, it *outboxItem, state string) {
	if a.cfg.Query != nil {
		c.Send(a.cfg.Query, deliveryUpdate{D: a.delivery(it, state)})
	}
}

// LedgerRetention is how long delivery ledger entries are kept: long enough
// that no retry, restart or failover can resend what was delivered.
const LedgerRetention = 30 * 24 * time.Hour

// PruneLedger deletes ledger entries whose last attempt is older than
// LedgerRetention and returns how many it deleted. It only uses the store
// (safe from any goroutine).
func PruneLedger(st *store.Store, now time.Time) (int, error) {
	var old []string
	err := st.List(nsLedger, "", func(key string, raw []byte) error {
		var d model.Delivery
		if store.Decode(raw, &d) != nil || now.Sub(d.LastAttempt) > LedgerRetention {
			old = append(old, key)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("listing ledger: %w", err)
	}
	for _, k := range old {
		if err := st.Delete(nsLedger, k); err != nil {
			return 0, fmt.Errorf("pruning ledger: %w", err)
		}
	}
	return len(old), nil
}
