package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// seqBlock is how many sequence numbers are reserved per write of the seq
// file.
const seqBlock = 1000

// seqAlloc hands out report sequence numbers that are never reused, even
// across restarts: the file holds the first seq of the next unreserved block,
// written (atomically, via rename) before any seq of the current block is
// used, so a restart starts at or above every seq handed out before. At most
// one block is skipped per restart.
type seqAlloc struct {
	path        string
	block       uint64
	next        uint64 // next seq to hand out
	reservedEnd uint64 // seqs < reservedEnd are covered by the file
}

// openSeq reads (or creates) the seq file at path and reserves the first
// block.
func openSeq(path string, block uint64) (*seqAlloc, error) {
	if block == 0 {
		block = seqBlock
	}
	s := &seqAlloc{path: path, block: block, next: 1}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read seq file: %w", err)
	default:
		v, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil || v == 0 {
			return nil, fmt.Errorf("seq file %s is corrupt (%q): remove it only if no master holds reports of this agent, else set it above the last seq the masters saw", path, strings.TrimSpace(string(b)))
		}
		s.next = v
	}
	if err := s.reserve(); err != nil {
		return nil, err
	}
	return s, nil
}

// reserve persists next+block as the start of the next block.
func (s *seqAlloc) reserve() error {
	end := s.next + s.block
	if err := writeFileAtomic(s.path, []byte(strconv.FormatUint(end, 10)+"\n")); err != nil {
		return fmt.Errorf("reserve seq block in %s: %w", s.path, err)
	}
	s.reservedEnd = end
	return nil
}

// Next returns the next seq. When the current block is used up it reserves
// the next one first; if that write fails, Next still returns a seq (a
// monitoring agent keeps reporting when its disk is full) together with the
// error, and retries the reservation on every later call. A restart during
// that window could reuse seqs above the reserved range, which the masters
// then ignore as duplicates until the agent passes them.
func (s *seqAlloc) Next() (uint64, error) {
	var err error
	if s.next >= s.reservedEnd {
		err = s.reserve()
	}
	v := s.next
	s.next++
	return v, err
}

// writeFileAtomic writes data to path via a synced temporary file and a
// rename, then syncs the directory, so a crash leaves the old or the new
// content, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
