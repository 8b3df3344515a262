package app

import (
	"context"
	"errors"
	"time"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/web"
)

// webBackend is the master as the dashboard's web.Backend. The two packages
// do not import each other, so each has its own ErrNotFound; the adapter
// makes the master's match web.ErrNotFound too, so the API answers 404 (not
// 500) for an unknown host, value, rule or maintenance window.
type webBackend struct{ *actors.Master }

// notFoundErr is an actors.ErrNotFound that also matches web.ErrNotFound.
type notFoundErr struct{ error }

func (e notFoundErr) Is(target error) bool { return target == web.ErrNotFound }
func (e notFoundErr) Unwrap() error        { return e.error }

func mapNotFound(err error) error {
	if err != nil && errors.Is(err, actors.ErrNotFound) {
		return notFoundErr{err}
	}
	return err
}

// ServerStatus implements web.Backend.
func (b webBackend) ServerStatus(ctx context.Context, host string) (*model.HostStatus, error) {
	h, err := b.Master.ServerStatus(ctx, host)
	return h, mapNotFound(err)
}

// LastValue implements web.Backend.
func (b webBackend) LastValue(ctx context.Context, host, series, attr string) (float64, time.Time, error) {
	v, t, err := b.Master.LastValue(ctx, host, series, attr)
	return v, t, mapNotFound(err)
}

// DeleteRule implements web.Backend.
func (b webBackend) DeleteRule(ctx context.Context, name string) error {
	return mapNotFound(b.Master.DeleteRule(ctx, name))
}

// DeleteMaintenance implements web.Backend.
func (b webBackend) DeleteMaintenance(ctx context.Context, id string) error {
	return mapNotFound(b.Master.DeleteMaintenance(ctx, id))
}
