package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

// DefaultSpaceCheckInterval is how often the app polls the free space of the
// master's data dir when Options.SpaceCheckInterval is zero.
const DefaultSpaceCheckInterval = store.SpaceCheckInterval

// spaceAlert is the alert key of the disk-space notifications (one alert per
// process: the master has one data dir).
const spaceAlert = "disk-space|data-dir"

// spaceNotifier is what the space watch needs of the master.
type spaceNotifier interface {
	Notify(n model.Notification, alert string, active bool)
}

// spaceChecker is what the space watch needs of the store.
type spaceChecker interface {
	CheckSpace() (free uint64, readOnly bool, err error)
	Dir() string
}

// spaceWatch turns the store's read-only history state into notifications:
// a WARN when history goes read-only (free space below
// master.history.min_free_bytes), an INFO when it is writable again.
// Alerting itself keeps working meanwhile: state writes (alarm state,
// notifier outbox) continue until the store's critical level.
type spaceWatch struct {
	st    spaceChecker
	n     spaceNotifier
	node  string
	now   func() time.Time
	log   interface{ Warn(string, ...any) }
	ro    bool
	since time.Time
}

// check polls the store once and notifies on a transition.
func (w *spaceWatch) check() {
	free, ro, err := w.st.CheckSpace()
	if err != nil {
		w.log.Warn("free space check failed", "dir", w.st.Dir(), "err", err)
		return
	}
	if ro == w.ro {
		return
	}
	w.ro = ro
	now := w.now()
	mib := free >> 20
	// Host stays empty: this is a master-level notification, so a
	// maintenance window on some host never holds it.
	n := model.Notification{Time: now}
	if ro {
		w.since = now
		n.ID = spaceNotifID("disk-low", w.node, now.UnixNano())
		n.Level, n.Kind = model.WARN, model.KindWarning
		n.Subject = fmt.Sprintf("data dir %s: only %d MiB free; history is read-only, alerting continues", w.st.Dir(), mib)
		n.Text = n.Subject + ". Free some space on this file system; history recording resumes by itself."
	} else {
		n.ID = spaceNotifID("disk-ok", w.node, now.UnixNano())
		n.Level, n.Kind = model.INFO, model.KindInfo
		n.Subject = fmt.Sprintf("data dir %s: %d MiB free; history is writable again", w.st.Dir(), mib)
		n.Text = fmt.Sprintf("%s (history was read-only for %s).", n.Subject, model.HumanDuration(now.Sub(w.since)))
	}
	w.n.Notify(n, spaceAlert, ro)
}

func spaceNotifID(parts ...any) string {
	sum := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(sum[:12])
}

// startSpaceWatch polls the store's free space every interval from a
// goroutine and returns the function that stops it (and waits for it).
func (a *App) startSpaceWatch(every time.Duration) func() {
	if every <= 0 {
		every = DefaultSpaceCheckInterval
	}
	w := &spaceWatch{st: a.Store, n: a.Master, node: a.cfg.Node.Name, now: time.Now,
		log: a.log.With("component", "space-watch")}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		w.check()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				w.check()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}
