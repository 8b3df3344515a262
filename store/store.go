// Package store owns the master's persistence: one badger v4 database under
// the data directory holding small msgpack-encoded state in namespaces (host
// state, ingest sequence numbers, alarm states, rules, maintenance windows,
// the notifier outbox and ledger), the 1m and 1h min/avg/max rollups of
// sample values and the up/down history (downtimes); and, beside it in
// rawlog/, an append-only log of the raw reports (every value, kept
// RawRetention; see rawlog.go for why they are not in badger).
//
// Badger is tuned for a small machine (4 MiB memtables, 2 MiB base tables,
// no block compression, 32 MiB block cache, 64 MiB value-log files; see
// Open for why), without conflict detection (no transaction
// relies on it) and with SyncWrites=false: a commit that
// returned survives kill -9 of the process (the memtable WAL is an mmapped
// file in the page cache). PutSync and Batch.Commit(true) also fsync, for the
// few writes that must survive a power loss (notifier outbox and ledger).
//
// Badger SIGBUSes when the disk fills up, and again on reopen. The store
// therefore watches the free space of its directory: below MinFreeBytes the
// history goes read-only (AddSamples returns ErrHistoryReadOnly) while small
// state writes continue; below CriticalFreeBytes every write is refused with
// ErrDiskFull, and Open refuses to start rather than crash in a loop.
//
// Only one process may use a data directory: a second Open fails with
// ErrInUse.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"golang.org/x/sys/unix"
)

// Defaults of Options.
const (
	DefaultRawRetention      = 2 * time.Hour
	DefaultRollupRetention   = 30 * 24 * time.Hour
	DefaultMinFreeBytes      = 256 << 20
	DefaultCriticalFreeBytes = 64 << 20
	DefaultGCInterval        = 5 * time.Minute
	// MinuteRollupRetention is how long 1m rollups are kept.
	MinuteRollupRetention = 48 * time.Hour
	// SpaceCheckInterval is how often the free space of the data dir is checked.
	SpaceCheckInterval = 10 * time.Second
	// rawLogDir is the raw history log's directory in the data dir.
	rawLogDir = "rawlog"
	// lockName is the file the store flocks to keep other processes out
	// (badger's own "LOCK" file is a pid file, not the lock).
	lockName = "lookout.lock"
)

// Errors of the store. Match them with errors.Is.
var (
	// ErrInUse means another process (or another Open in this process) holds
	// the data directory.
	ErrInUse = errors.New("store: data dir in use")
	// ErrHistoryReadOnly means free space on the data dir is below
	// MinFreeBytes, so history writes are refused.
	ErrHistoryReadOnly = errors.New("store: history is read-only: free disk space is low")
	// ErrDiskFull means free space is below CriticalFreeBytes: every write is
	// refused, because badger crashes (SIGBUS) when the disk fills up.
	ErrDiskFull = errors.New("store: disk almost full, writes refused")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("store: closed")
	// ErrBatchFull is returned by Batch.Put and Batch.Delete when the write
	// does not fit in the batch's transaction (about 15% of a memtable).
	// Unlike other errors it leaves the batch as it was: commit it and put
	// the rest in a new batch, if the writes need not be atomic together.
	ErrBatchFull = errors.New("store: batch full")
)

// Options configures Open. The zero value is valid: every zero field takes
// its default.
type Options struct {
	// RawRetention is how long raw history points are kept (default 2h).
	RawRetention time.Duration
	// RollupRetention is how long 1h rollups are kept (default 30d); 1m
	// rollups are kept MinuteRollupRetention (48h). Ended downtimes are kept
	// this long after they ended.
	RollupRetention time.Duration
	// MinFreeBytes: below this free space on the data dir, history goes
	// read-only (default 256 MiB).
	MinFreeBytes int64
	// CriticalFreeBytes: below this free space every write is refused and
	// Open fails (default: 64 MiB, or MinFreeBytes if that is lower).
	CriticalFreeBytes int64
	// GCInterval is the period of the value-log GC (default 5m).
	GCInterval time.Duration
	// Logger receives the store's logs and badger's warnings and errors
	// (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now). Tests set it.
	Now func() time.Time
}

func (o *Options) fill() {
	if o.RawRetention <= 0 {
		o.RawRetention = DefaultRawRetention
	}
	if o.RollupRetention <= 0 {
		o.RollupRetention = DefaultRollupRetention
	}
	if o.MinFreeBytes <= 0 {
		o.MinFreeBytes = DefaultMinFreeBytes
	}
	if o.CriticalFreeBytes <= 0 {
		o.CriticalFreeBytes = min(DefaultCriticalFreeBytes, o.MinFreeBytes)
	}
	if o.GCInterval <= 0 {
		o.GCInterval = DefaultGCInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is the master's database. Its methods are safe for concurrent use.
type Store struct {
	dir  string
	opt  Options
	log  *slog.Logger
	db   *badger.DB
	lock *os.File

	// closeMu: every operation holds it for reading; Close for writing.
	closeMu sync.RWMutex
	closed  bool

	historyRO atomic.Bool // free < MinFreeBytes
	critical  atomic.Bool // free < CriticalFreeBytes

	hist history
	raw  *rawLog // raw reports (see rawlog.go)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open opens (creating it with mode 0700 if needed) the store in dir. It
// fails with ErrInUse if another process holds dir, and with ErrDiskFull if
// the free space of dir is below CriticalFreeBytes.
func Open(dir string, o Options) (*Store, error) {
	o.fill()
	if dir == "" {
		return nil, errors.New("store: open: empty data dir")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, opt: o, log: o.Logger.With("component", "store", "dir", dir), lock: lock}
	s.hist.init()
	free, err := s.FreeBytes()
	if err != nil {
		lock.Close()
		return nil, err
	}
	if free < uint64(o.CriticalFreeBytes) {
		lock.Close()
		return nil, fmt.Errorf("%w: open %s: %d bytes free, need at least %d", ErrDiskFull, dir, free, o.CriticalFreeBytes)
	}
	s.setSpace(free)

	// Raw reports, most of what a master writes, are not in badger (the
	// raw log, rawlog.go); badger takes the seq keys, rollups, checkpoints
	// and state, about a tenth of the bytes. So its memtables are small (4
	// MiB, 2 of them, level 0 at badger's defaults of 5 tables, stall at
	// 15): at 20,000 reports/s the master's RSS at the end of a 40 s run
	// fell from 122-132 to 89 MiB against 8 MiB x 3 memtables and 10/20
	// level-0 tables (which had been sized for the raw reports), with the
	// same CPU and nothing resent. A memtable also bounds one transaction
	// to 15% of its size (~630 KB here: an atomic Batch beyond it fails
	// with ErrTxnTooBig, the ingest's batches take the seq keys of
	// thousands of hosts), and the value threshold must stay below that
	// bound (256 KiB: no value of ours is that large). Table builders
	// hold the table they build in Go-heap buffers, so base tables are
	// small too (2 MiB) and blocks uncompressed (snappy added an output
	// buffer per block); see BENCHMARKS.md rounds 3 and 6.
	bo := badger.DefaultOptions(dir).
		WithMemTableSize(4 << 20).
		WithValueThreshold(256 << 10).
		WithNumMemtables(2).
		WithBlockCacheSize(32 << 20).
		WithIndexCacheSize(16 << 20).
		WithValueLogFileSize(64 << 20).
		WithBaseTableSize(2 << 20).
		WithCompression(options.None).
		WithNumLevelZeroTables(5).
		WithNumLevelZeroTablesStall(15).
		WithNumCompactors(2).
		WithSyncWrites(false).
		// No transaction relies on badger's conflict detection: state
		// writes never read, and the history's read-modify-writes of a host
		// run under that host's lock. Tracking every read key cost ~20% of
		// the CPU of history writes when rollup minutes close.
		WithDetectConflicts(false).
		WithLogger(badgerLogger{s.log})
	db, err := badger.Open(bo)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("store: open badger in %s: %w", dir, err)
	}
	s.db = db
	raw, err := openRawLog(filepath.Join(dir, rawLogDir), o.RawRetention, o.Now, s.log)
	if err != nil {
		db.Close()
		lock.Close()
		return nil, err
	}
	s.raw = raw
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go s.gcLoop(ctx)
	go s.spaceLoop(ctx)
	s.log.Debug("store opened", "free_bytes", free)
	return s, nil
}

// lockDir takes an exclusive flock on dir/lookout.lock. flock locks belong
// to the open file description, so a second Open in the same process is
// refused as well.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			pid, _ := os.ReadFile(path)
			return nil, &inUseError{dir: dir, lock: path, pid: strings.TrimSpace(string(pid))}
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	// Best effort: record our pid for the operator.
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return f, nil
}

// inUseError is the error of Open on a directory another process holds. It
// matches ErrInUse with errors.Is.
type inUseError struct{ dir, lock, pid string }

func (e *inUseError) Error() string {
	msg := fmt.Sprintf("data dir %s in use by another lookout process", e.dir)
	if e.pid != "" {
		msg += " (pid " + e.pid + ")"
	}
	return msg + "; stop it, or give this process its own data dir (lock file " + e.lock + ")"
}

// Is makes errors.Is(err, ErrInUse) true.
func (e *inUseError) Is(target error) bool { return target == ErrInUse }

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Close flushes the open history rollups, stops the background goroutines
// and closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	// Once closed is set under the write lock, no operation is in progress
	// and none can start; the background goroutines see ErrClosed.
	s.closed = true
	s.closeMu.Unlock()
	s.cancel()
	s.wg.Wait()
	var errs []error
	if !s.critical.Load() {
		if err := s.flush(true); err != nil {
			errs = append(errs, fmt.Errorf("store: flush history rollups: %w", err))
		}
	} else {
		s.log.Warn("disk almost full: open history rollups not flushed on close")
	}
	if err := s.raw.close(); err != nil {
		errs = append(errs, fmt.Errorf("store: close raw log: %w", err))
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("store: close badger: %w", err))
	}
	if err := s.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("store: release lock: %w", err))
	}
	return errors.Join(errs...)
}

// enter takes the read side of closeMu and fails after Close.
func (s *Store) enter() error {
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.closeMu.RUnlock() }

// enterWrite is enter plus the critical free-space check.
func (s *Store) enterWrite() error {
	if err := s.enter(); err != nil {
		return err
	}
	if s.critical.Load() {
		s.leave()
		return ErrDiskFull
	}
	return nil
}

// gcLoop runs the value-log GC every GCInterval until ctx ends.
func (s *Store) gcLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.opt.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.runGC(ctx)
		}
	}
}

// runGC rewrites value-log files while badger finds some worth rewriting.
// It does nothing while space is low: a rewrite needs space first.
func (s *Store) runGC(ctx context.Context) {
	if s.historyRO.Load() {
		s.log.Warn("value-log GC skipped: free disk space low")
		return
	}
	for i := 0; i < 16 && ctx.Err() == nil; i++ {
		err := s.db.RunValueLogGC(0.5)
		if err == nil {
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.log.Warn("value-log GC failed", "err", err)
		}
		return
	}
}

// spaceLoop re-checks free space every SpaceCheckInterval, and flushes idle
// history rollups every sixth time, until ctx ends.
func (s *Store) spaceLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(SpaceCheckInterval)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, _, err := s.CheckSpace(); err != nil {
				s.log.Warn("free space check failed", "err", err)
			}
			s.raw.expire()
			if tick%6 != 0 {
				continue
			}
			if err := s.FlushHistory(); err != nil && !errors.Is(err, ErrHistoryReadOnly) &&
				!errors.Is(err, ErrClosed) && !errors.Is(err, ErrDiskFull) {
				s.log.Warn("flushing history rollups failed", "err", err)
			}
		}
	}
}

// FreeBytes returns the space available to this process on the data dir's
// file system (statfs).
func (s *Store) FreeBytes() (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("store: statfs %s: %w", s.dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}

// HistoryReadOnly reports whether history writes are refused because free
// space was below MinFreeBytes at the last check.
func (s *Store) HistoryReadOnly() bool { return s.historyRO.Load() }

// CheckSpace measures free space now, updates the read-only state and
// returns both. It runs every SpaceCheckInterval by itself.
func (s *Store) CheckSpace() (free uint64, readOnly bool, err error) {
	free, err = s.FreeBytes()
	if err != nil {
		return 0, s.historyRO.Load(), err
	}
	s.setSpace(free)
	return free, s.historyRO.Load(), nil
}

// setSpace updates the space flags from free, logging transitions.
func (s *Store) setSpace(free uint64) {
	ro := free < uint64(s.opt.MinFreeBytes)
	crit := free < uint64(s.opt.CriticalFreeBytes)
	if old := s.historyRO.Swap(ro); old != ro {
		if ro {
			s.log.Warn("free disk space low: history is read-only", "free_bytes", free, "min_free_bytes", s.opt.MinFreeBytes)
		} else {
			s.log.Info("free disk space recovered: history writable again", "free_bytes", free)
		}
	}
	if old := s.critical.Swap(crit); old != crit {
		if crit {
			s.log.Error("disk almost full: all writes refused", "free_bytes", free, "critical_free_bytes", s.opt.CriticalFreeBytes)
		} else {
			s.log.Info("disk space above critical level again: writes accepted", "free_bytes", free)
		}
	}
}

// badgerLogger routes badger's logs to slog: errors and warnings as such,
// info and debug at DEBUG.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) logf(level slog.Level, format string, args ...any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	b.l.Log(context.Background(), level, trimNL(fmt.Sprintf(format, args...)), "source", "badger")
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

func (b badgerLogger) Errorf(f string, a ...any)   { b.logf(slog.LevelError, f, a...) }
func (b badgerLogger) Warningf(f string, a ...any) { b.logf(slog.LevelWarn, f, a...) }
func (b badgerLogger) Infof(f string, a ...any)    { b.logf(slog.LevelDebug, f, a...) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.logf(slog.LevelDebug-4, f, a...) }
