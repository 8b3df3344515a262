package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/lookout-mon/lookout/wire"
)

// Limits of the key-value API.
const (
	// MaxValue caps one encoded value (Put refuses more, Decode too).
	MaxValue = 4 << 20
	// MaxKey caps the length of a key inside a namespace.
	MaxKey = 1024
	// MaxNamespace caps the length of a namespace name.
	MaxNamespace = 64
)

// ErrInvalidKey is returned for a namespace or key the store refuses.
var ErrInvalidKey = errors.New("store: invalid key")

// Key layout. Generic state lives under "<ns>/<key>" where ns is
// [A-Za-z0-9_.-]+; history and downtimes live under prefixes that start with
// 0x01, which no namespace can, so the two never collide.

// kvKey builds the badger key of ns/key after validating both.
func kvKey(ns, key string) ([]byte, error) {
	if err := checkNS(ns); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%w: empty key in namespace %q", ErrInvalidKey, ns)
	}
	if len(key) > MaxKey {
		return nil, fmt.Errorf("%w: key of %d bytes in namespace %q exceeds %d", ErrInvalidKey, len(key), ns, MaxKey)
	}
	return append([]byte(ns+"/"), key...), nil
}

func checkNS(ns string) error {
	if ns == "" {
		return fmt.Errorf("%w: empty namespace", ErrInvalidKey)
	}
	if len(ns) > MaxNamespace {
		return fmt.Errorf("%w: namespace %q longer than %d bytes", ErrInvalidKey, ns, MaxNamespace)
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%w: namespace %q: character %q not allowed (want [A-Za-z0-9_.-])", ErrInvalidKey, ns, c)
		}
	}
	return nil
}

// encode msgpack-encodes v for storage under ns/key.
func encode(ns, key string, v any) ([]byte, error) {
	b, err := marshal(v)
	if err != nil {
		return nil, fmt.Errorf("store: encode %s/%s: %w", ns, key, err)
	}
	if len(b) > MaxValue {
		return nil, fmt.Errorf("store: value of %s/%s is %d bytes, more than %d", ns, key, len(b), MaxValue)
	}
	return b, nil
}

// marshal is wire.Marshal with hand-written encoders for the values the
// ingest and the host actors write often (HostSeq, LastValues): the same bytes as
// the reflection encoder, which was ~3% of the master's CPU at 4,000
// reports/s. (model.Sample and model.Report encode by hand through
// wire.Marshal already.)
func marshal(v any) ([]byte, error) {
	if v, ok := v.(*LastValues); ok {
		return v.appendMsgpack(make([]byte, 0, 48+len(v.Agent)+samplesSize(v.Samples))), nil
	}
	if v, ok := v.(*HostSeq); ok {
		return v.appendMsgpack(make([]byte, 0, 32+len(v.Agent))), nil
	}
	return wire.Marshal(v)
}

// Decode decodes a msgpack value as passed to a List callback into v, with
// the same size cap and length checks as the network codec. Times decode in
// time.Local (msgpack's default): compare them with time.Time.Equal.
func Decode(raw []byte, v any) error {
	return wire.Unmarshal(raw, MaxValue, v)
}

// Get reads ns/key into v. It returns false, and leaves v alone, if the key
// does not exist.
func (s *Store) Get(ns, key string, v any) (bool, error) {
	k, err := kvKey(ns, key)
	if err != nil {
		return false, err
	}
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.leave()
	var raw []byte
	err = s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		raw, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: get %s/%s: %w", ns, key, err)
	}
	if err := Decode(raw, v); err != nil {
		return false, fmt.Errorf("store: decode %s/%s: %w", ns, key, err)
	}
	return true, nil
}

// Put stores v, msgpack-encoded, under ns/key. It returns once the write is
// in badger's memtable and WAL: it survives a crash of the process, not
// necessarily a power loss (see PutSync).
func (s *Store) Put(ns, key string, v any) error { return s.put(ns, key, v, false) }

// PutSync is Put followed by an fsync of badger's logs: use it for writes
// that must survive a power loss (notifier outbox, notification ledger).
func (s *Store) PutSync(ns, key string, v any) error { return s.put(ns, key, v, true) }

func (s *Store) put(ns, key string, v any, sync bool) error {
	b := s.Batch()
	if err := b.Put(ns, key, v); err != nil {
		b.Discard()
		return err
	}
	return b.Commit(sync)
}

// Delete removes ns/key. Deleting a missing key is not an error.
func (s *Store) Delete(ns, key string) error { return s.del(ns, key, false) }

// DeleteSync is Delete followed by an fsync, like PutSync.
func (s *Store) DeleteSync(ns, key string) error { return s.del(ns, key, true) }

func (s *Store) del(ns, key string, sync bool) error {
	b := s.Batch()
	b.Delete(ns, key)
	return b.Commit(sync)
}

// List calls fn, in key order, for every key of ns that starts with prefix
// ("" = all), with the key (without the namespace) and its msgpack value
// (decode it with Decode; raw is a copy fn may keep). An error from fn stops
// the iteration and is returned as is.
func (s *Store) List(ns, prefix string, fn func(key string, raw []byte) error) error {
	if err := checkNS(ns); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	pfx := []byte(ns + "/" + prefix)
	nsLen := len(ns) + 1
	return s.scan(pfx, pfx, func(item *badger.Item) error {
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("store: list %s/%s*: read value of %q: %w", ns, prefix, item.Key(), err)
		}
		return fn(string(item.Key()[nsLen:]), raw)
	}, func(err error) error { return fmt.Errorf("store: list %s/%s*: %w", ns, prefix, err) })
}

// scan calls visit for each item whose key starts with pfx, in key order
// from the key start on, in one read transaction, until visit fails. An
// error of visit is returned as it is; badger's own errors go through wrap.
func (s *Store) scan(pfx, start []byte, visit func(*badger.Item) error, wrap func(error) error) error {
	var visitErr error
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = pfx
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(start); it.ValidForPrefix(pfx); it.Next() {
			if err := visit(it.Item()); err != nil {
				visitErr = err
				return err
			}
		}
		return nil
	})
	if visitErr != nil {
		return visitErr
	}
	if err != nil {
		return wrap(err)
	}
	return nil
}

// Batch is a set of writes committed atomically (one badger transaction).
// A Batch is not safe for concurrent use; call Commit or Discard exactly once.
type Batch struct {
	s    *Store
	txn  *badger.Txn
	err  error // first error of Put/Delete, returned by Commit
	done bool
	n    int
	raw  []rawRec // raw reports (PutReport), appended to the raw log by Commit
}

// Batch starts an atomic batch of writes.
func (s *Store) Batch() *Batch {
	if err := s.enter(); err != nil {
		return &Batch{s: s, err: err, done: false}
	}
	defer s.leave()
	return &Batch{s: s, txn: s.db.NewTransaction(true)}
}

// Put adds a write of v under ns/key. Its error, if any, is also returned
// by Commit, which then writes nothing; except ErrBatchFull, which leaves
// the batch as it was (see ErrBatchFull).
func (b *Batch) Put(ns, key string, v any) error {
	if b.err != nil {
		return b.err
	}
	k, err := kvKey(ns, key)
	if err == nil {
		var val []byte
		if val, err = encode(ns, key, v); err == nil {
			err = b.set(badger.NewEntry(k, val))
		}
	}
	if err != nil && !errors.Is(err, ErrBatchFull) {
		b.err = err
	}
	return err
}

// Delete adds a deletion of ns/key. An invalid key makes Commit fail.
func (b *Batch) Delete(ns, key string) {
	if b.err != nil {
		return
	}
	k, err := kvKey(ns, key)
	if err == nil {
		if err = b.txn.Delete(k); err != nil {
			err = b.wrapTxnErr(err)
		} else {
			b.n++
		}
	}
	if err != nil && !errors.Is(err, ErrBatchFull) {
		b.err = err
	}
}

// Len returns the number of writes in the batch.
func (b *Batch) Len() int { return b.n }

func (b *Batch) set(e *badger.Entry) error {
	if err := b.txn.SetEntry(e); err != nil {
		return b.wrapTxnErr(err)
	}
	b.n++
	return nil
}

func (b *Batch) wrapTxnErr(err error) error {
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("%w: %d writes fill one transaction: %w", ErrBatchFull, b.n, err)
	}
	return fmt.Errorf("store: batch: %w", err)
}

// Commit writes the batch atomically; with sync set it also fsyncs badger's
// logs before returning. It returns the first error of Put/Delete (and then
// writes nothing), ErrDiskFull when space is critically low, or ErrClosed.
func (b *Batch) Commit(sync bool) error {
	if b.done {
		return errors.New("store: batch already committed or discarded")
	}
	b.done = true
	if b.txn != nil {
		defer b.txn.Discard()
	}
	if b.err != nil {
		return b.err
	}
	if err := b.s.enterWrite(); err != nil {
		return err
	}
	defer b.s.leave()
	// The raw reports go to the raw log first: once the transaction (the
	// reports' seqs) is committed, their values are there. A crash in
	// between leaves raw reports that were never acked; their agents send
	// them again, and a report written twice reads once.
	if err := b.s.raw.append(b.raw); err != nil {
		return err
	}
	if err := b.txn.Commit(); err != nil {
		return fmt.Errorf("store: commit batch of %d writes: %w", b.n, err)
	}
	if sync {
		if err := b.s.db.Sync(); err != nil {
			return fmt.Errorf("store: fsync after batch of %d writes: %w", b.n, err)
		}
	}
	return nil
}

// Discard drops the batch without writing anything.
func (b *Batch) Discard() {
	if b.done {
		return
	}
	b.done = true
	if b.txn != nil {
		b.txn.Discard()
	}
}

// DeletePrefix removes every key of ns that starts with prefix ("" = the
// whole namespace), e.g. the alarm states of a deleted rule, and returns how
// many it removed. It commits in chunks, so it is not atomic.
func (s *Store) DeletePrefix(ns, prefix string) (int, error) {
	if err := checkNS(ns); err != nil {
		return 0, err
	}
	if err := s.enterWrite(); err != nil {
		return 0, err
	}
	defer s.leave()
	pfx := []byte(ns + "/" + prefix)
	const chunk = 1000
	total := 0
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			opts := badger.DefaultIteratorOptions
			opts.Prefix = pfx
			opts.PrefetchValues = false
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Seek(pfx); it.ValidForPrefix(pfx) && len(keys) < chunk; it.Next() {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
			return nil
		})
		if err == nil && len(keys) > 0 {
			err = s.db.Update(func(txn *badger.Txn) error {
				for _, k := range keys {
					if err := txn.Delete(k); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err != nil {
			return total, fmt.Errorf("store: delete %s/%s*: %w", ns, prefix, err)
		}
		total += len(keys)
		if len(keys) < chunk {
			return total, nil
		}
	}
}
