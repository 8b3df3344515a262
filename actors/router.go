package actors

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

func marshalAttachment(v any) ([]byte, error) { return msgpack.Marshal(v) }

// NotifierRef is how the router addresses one notifier actor.
type NotifierRef struct {
	Key      string // "type/name"
	MinLevel model.Level
	PID      *actor.PID
}

// RouterConfig configures the router.
type RouterConfig struct {
	Store       *store.Store
	Log         *slog.Logger
	Stream      *actor.PID
	Notifiers   []NotifierRef
	Maintenance []model.Maintenance // from config (IDs "config-<name>")
	Now         func() time.Time
	Cluster     Cluster
}

type heldAlert struct {
	N      model.Notification
	Active bool
}

// router classifies notifications, holds back those of hosts in a
// maintenance window, and fans out to every notifier whose minimum level
// the notification reaches. Dedup happens in the notifier actors, against
// the delivery ledger.
type router struct {
	cfg   RouterConfig
	maint map[string]model.Maintenance
	held  map[string]heldAlert // alert key -> latest held notification
}

func newRouter(cfg RouterConfig) actor.Producer {
	return func() actor.Receiver {
		return &router{cfg: cfg, maint: map[string]model.Maintenance{}, held: map[string]heldAlert{}}
	}
}

func (r *router) now() time.Time {
	if r.cfg.Now != nil {
		return r.cfg.Now()
	}
	return time.Now()
}

func (r *router) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		for _, mw := range r.cfg.Maintenance {
			r.maint[mw.ID] = mw
		}
		_ = r.cfg.Store.List(nsMaint, "", func(key string, raw []byte) error {
			var mw model.Maintenance
			if err := store.Decode(raw, &mw); err == nil {
				r.maint[mw.ID] = mw
			}
			return nil
		})
		_ = r.cfg.Store.List("held", "", func(key string, raw []byte) error {
			var h heldAlert
			if err := store.Decode(raw, &h); err == nil {
				r.held[key] = h
			}
			return nil
		})
	case notifyMsg:
		r.route(c, m)
	case tick:
		r.releaseEnded(c)
	case qMaintenance:
		out := make([]model.Maintenance, 0, len(r.maint))
		for _, k := range model.SortedKeys(r.maint) {
			out = append(out, r.maint[k])
		}
		c.Respond(out)
	case addMaintenance:
		mw, err := r.add(m.M)
		c.Respond(maintResult{M: mw, Err: err})
	case deleteMaintenance:
		c.Respond(maintResult{Err: r.del(m.ID)})
	case applyMaintenance:
		if strings.HasPrefix(m.M.ID, "config-") || m.M.ID == "" {
			return
		}
		if m.Deleted {
			delete(r.maint, m.M.ID)
			_ = r.cfg.Store.DeleteSync(nsMaint, m.M.ID)
			return
		}
		r.maint[m.M.ID] = m.M
		_ = r.cfg.Store.PutSync(nsMaint, m.M.ID, m.M)
	}
}

func (r *router) inMaintenance(host string, now time.Time) (string, bool) {
	for _, k := range model.SortedKeys(r.maint) {
		mw := r.maint[k]
		if ok, _ := path.Match(orStar(mw.Hosts), host); ok && MaintenanceActive(mw, now) {
			return mw.ID, true
		}
	}
	return "", false
}

func orStar(s string) string {
	if s == "" {
		return "*"
	}
	return s
}

func (r *router) route(c *actor.Context, m notifyMsg) {
	now := r.now()
	if r.cfg.Stream != nil {
		n := m.N
		c.Send(r.cfg.Stream, publish{Ev: model.Event{Type: model.EvNotification, Time: now, Host: n.Host, Notification: &n}})
	}
	if m.N.Host != "" {
		if id, ok := r.inMaintenance(m.N.Host, now); ok {
			key := m.N.Host + "|" + m.Alert
			if m.Active {
				r.held[key] = heldAlert{N: m.N, Active: true}
				_ = r.cfg.Store.Put("held", key, r.held[key])
			} else {
				delete(r.held, key)
				_ = r.cfg.Store.Delete("held", key)
			}
			r.cfg.Log.Info("notification held: maintenance window", "window", id, "host", m.N.Host, "subject", m.N.Subject)
			return
		}
	}
	r.fanOut(c, m.N, m.Exclude)
}

func (r *router) fanOut(c *actor.Context, n model.Notification, exclude string) {
	for _, nf := range r.cfg.Notifiers {
		if nf.Key == exclude || n.Level < nf.MinLevel {
			continue
		}
		c.Send(nf.PID, deliver{N: n})
	}
}

// releaseEnded sends, once, the alerts still active when their host's
// maintenance window ended.
func (r *router) releaseEnded(c *actor.Context) {
	now := r.now()
	for key, h := range r.held {
		if _, ok := r.inMaintenance(h.N.Host, now); ok {
			continue
		}
		delete(r.held, key)
		_ = r.cfg.Store.Delete("held", key)
		n := h.N
		n.ID = notifID(n.ID, "after-maintenance")
		n.Subject = n.Subject + " (still active after maintenance)"
		n.Time = now
		r.fanOut(c, n, "")
	}
	// One-off windows that ended long ago are cleaned up.
	for id, mw := range r.maint {
		if mw.Every == "" && !mw.End.IsZero() && now.Sub(mw.End) > 7*24*time.Hour && !strings.HasPrefix(id, "config-") {
			delete(r.maint, id)
			_ = r.cfg.Store.Delete(nsMaint, id)
		}
	}
}

// ValidateMaintenance checks a window and fills its ID and creation time.
func ValidateMaintenance(mw *model.Maintenance, now time.Time) error {
	mw.Hosts = orStar(mw.Hosts)
	if _, err := path.Match(mw.Hosts, ""); err != nil {
		return fmt.Errorf("hosts: bad glob %q: %w", mw.Hosts, err)
	}
	switch {
	case mw.Every != "":
		if _, err := configs.ParseEvery(mw.Every); err != nil {
			return fmt.Errorf("every: %w", err)
		}
		if mw.Duration <= 0 || mw.Duration > 7*24*time.Hour {
			return fmt.Errorf("duration: must be between 1s and 7 days for a recurring window, got %s", mw.Duration)
		}
	case mw.Start.IsZero() || mw.End.IsZero():
		return fmt.Errorf("start and end are required (or every + duration for a recurring window)")
	case !mw.End.After(mw.Start):
		return fmt.Errorf("end (%s) must be after start (%s)", mw.End.Format(time.RFC3339), mw.Start.Format(time.RFC3339))
	}
	if mw.ID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		mw.ID = hex.EncodeToString(b[:])
	}
	if mw.Created.IsZero() {
		mw.Created = now
	}
	return nil
}

func (r *router) add(mw model.Maintenance) (model.Maintenance, error) {
	mw.ID = ""
	if err := ValidateMaintenance(&mw, r.now()); err != nil {
		return mw, err
	}
	if err := r.cfg.Store.PutSync(nsMaint, mw.ID, mw); err != nil {
		return mw, fmt.Errorf("saving maintenance window: %w", err)
	}
	r.maint[mw.ID] = mw
	if r.cfg.Cluster != nil {
		r.cfg.Cluster.MaintenanceChanged(mw, false)
	}
	return mw, nil
}

func (r *router) del(id string) error {
	if _, ok := r.maint[id]; !ok {
		return fmt.Errorf("no maintenance window with id %q", id)
	}
	if strings.HasPrefix(id, "config-") {
		return fmt.Errorf("maintenance window %q is defined in the config file; remove it there", id)
	}
	if err := r.cfg.Store.DeleteSync(nsMaint, id); err != nil {
		return fmt.Errorf("deleting maintenance window %q: %w", id, err)
	}
	old := r.maint[id]
	delete(r.maint, id)
	if r.cfg.Cluster != nil {
		r.cfg.Cluster.MaintenanceChanged(old, true)
	}
	return nil
}

// MaintenanceActive reports whether mw covers now.
func MaintenanceActive(mw model.Maintenance, now time.Time) bool {
	if mw.Every == "" {
		return !now.Before(mw.Start) && now.Before(mw.End)
	}
	e, err := configs.ParseEvery(mw.Every)
	if err != nil {
		return false
	}
	now = now.UTC()
	// Look at today's and the previous occurrences within the duration.
	for back := 0; back <= 7; back++ {
		d := now.AddDate(0, 0, -back)
		if !e.Daily && d.Weekday() != e.Weekday {
			continue
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), e.Hour, e.Minute, 0, 0, time.UTC)
		if !now.Before(start) && now.Before(start.Add(mw.Duration)) {
			return true
		}
	}
	return false
}
