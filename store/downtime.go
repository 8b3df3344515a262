package store

import (
	"fmt"
	"sort"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/lookout-mon/lookout/model"
)

// Downtime keys are
//
//	0x01 'D' <host> 0x00 <service> 0x00 <unit> 0x00 <start>
//
// (<start> encoded like history times), so the downtimes of one host are one
// prefix scan and a downtime updated with the same start (ongoing -> ended)
// overwrites itself.

func downtimePrefix(host string) []byte {
	k := []byte{0x01, 'D'}
	if host != "" {
		k = append(k, host...)
		k = append(k, 0)
	}
	return k
}

func downtimeKey(d model.Downtime) []byte {
	k := downtimePrefix(d.Host)
	k = append(k, d.Service...)
	k = append(k, 0)
	k = append(k, d.Unit...)
	k = append(k, 0)
	return encodeTime(k, d.Start.UnixNano())
}

// PutDowntime records d. A downtime with the same host, service, unit and
// start replaces the stored one (an ongoing downtime that ended). Ended
// downtimes expire RollupRetention after their end; ongoing ones never. The
// write is synchronous to badger's memtable, not fsynced.
func (s *Store) PutDowntime(d model.Downtime) error {
	if err := checkName("downtime host", d.Host); err != nil {
		return err
	}
	if err := checkName("downtime service", d.Service); err != nil {
		return err
	}
	if d.Unit != "" {
		if err := checkName("downtime unit", d.Unit); err != nil {
			return err
		}
	}
	if d.Start.IsZero() {
		return fmt.Errorf("store: downtime of %s %s %q has no start", d.Host, d.Service, d.Unit)
	}
	if !d.End.IsZero() && d.End.Before(d.Start) {
		return fmt.Errorf("store: downtime of %s %s %q ends (%v) before it starts (%v)", d.Host, d.Service, d.Unit, d.End, d.Start)
	}
	val, err := encode("downtime", d.Host, d)
	if err != nil {
		return err
	}
	if err := s.enterWrite(); err != nil {
		return err
	}
	defer s.leave()
	e := badger.NewEntry(downtimeKey(d), val)
	if !d.End.IsZero() {
		exp := d.End.Add(s.opt.RollupRetention)
		if !exp.After(s.opt.Now()) {
			// Already past retention: nothing to keep, but the ongoing
			// record with the same key must not outlive its end.
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(downtimeKey(d)) }); err != nil {
				return fmt.Errorf("store: delete expired downtime of %s %s %q: %w", d.Host, d.Service, d.Unit, err)
			}
			return nil
		}
		e.ExpiresAt = uint64(exp.Unix())
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.SetEntry(e) }); err != nil {
		return fmt.Errorf("store: put downtime of %s %s %q: %w", d.Host, d.Service, d.Unit, err)
	}
	return nil
}

// Downtimes returns the downtimes of host ("" = every host) that overlap
// [from, to] (an ongoing one lasts until now), newest start first; a zero
// from or to leaves that side open.
func (s *Store) Downtimes(host string, from, to time.Time) ([]model.Downtime, error) {
	if host != "" {
		if err := checkName("host", host); err != nil {
			return nil, err
		}
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	prefix := downtimePrefix(host)
	var out []model.Downtime
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			var d model.Downtime
			if err := item.Value(func(v []byte) error { return Decode(v, &d) }); err != nil {
				return fmt.Errorf("decode downtime %q: %w", item.Key(), err)
			}
			if !to.IsZero() && d.Start.After(to) {
				continue
			}
			if !from.IsZero() && !d.End.IsZero() && d.End.Before(from) {
				continue
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: downtimes of %q: %w", host, err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.After(out[j].Start)
		}
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Unit < out[j].Unit
	})
	return out, nil
}
