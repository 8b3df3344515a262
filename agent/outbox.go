package agent

import (
	"sort"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// outEntry is one unacknowledged report in an outbox.
type outEntry struct {
	rep      *model.Report
	lastSent time.Time // zero: never sent
	holeSent time.Time // last resent because a master named it missing
}

// outbox holds the reports not yet acknowledged by one master, in seq order,
// at most max of them. It is not safe for concurrent use (its uplink actor
// owns it).
type outbox struct {
	max     int
	entries []outEntry // ascending seq
	dropped uint64     // exact count of reports dropped because the outbox was full
}

// newOutbox returns an outbox holding at most max reports (at least 1).
func newOutbox(max int) *outbox {
	if max < 1 {
		max = 1
	}
	return &outbox{max: max}
}

// Len returns the number of unacknowledged reports.
func (o *outbox) Len() int { return len(o.entries) }

// Oldest returns the lowest unacknowledged seq, or 0 when empty.
func (o *outbox) Oldest() uint64 {
	if len(o.entries) == 0 {
		return 0
	}
	return o.entries[0].rep.Seq
}

// Add stores r (replacing a report with the same seq) and, when the outbox
// is over capacity, drops the oldest reports. It returns how many were
// dropped.
func (o *outbox) Add(r *model.Report) int {
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].rep.Seq >= r.Seq })
	switch {
	case i < len(o.entries) && o.entries[i].rep.Seq == r.Seq:
		o.entries[i] = outEntry{rep: r}
	case i == len(o.entries):
		o.entries = append(o.entries, outEntry{rep: r})
	default:
		o.entries = append(o.entries, outEntry{})
		copy(o.entries[i+1:], o.entries[i:])
		o.entries[i] = outEntry{rep: r}
	}
	n := len(o.entries) - o.max
	if n <= 0 {
		return 0
	}
	clear(o.entries[:n]) // let the dropped reports be collected
	o.entries = o.entries[n:]
	o.dropped += uint64(n)
	return n
}

// Ack removes every report with seq <= seq and returns how many it removed.
func (o *outbox) Ack(seq uint64) int {
	n := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].rep.Seq > seq })
	clear(o.entries[:n])
	o.entries = o.entries[n:]
	if len(o.entries) == 0 {
		o.entries = nil // release the backing array after a backlog
	}
	return n
}

// Due implements go-back-N resending: when the oldest report was last sent
// at least after ago (or never), it returns up to limit reports from the
// oldest on, in seq order, whatever their own send times, and marks them sent
// at now; otherwise nothing. Resending a contiguous run that starts at the
// oldest matters: a master applies a report only if it follows the last one
// it applied or if its seq is the sender's Oldest, so resending reports one
// by one as their own timers expire would keep arriving with gaps and be
// ignored.
func (o *outbox) Due(now time.Time, after time.Duration, limit int) []*model.Report {
	if len(o.entries) == 0 {
		return nil
	}
	if first := o.entries[0].lastSent; !first.IsZero() && now.Sub(first) < after {
		return nil
	}
	n := min(limit, len(o.entries))
	out := make([]*model.Report, 0, n)
	for i := range n {
		o.entries[i].lastSent = now
		out = append(out, o.entries[i].rep)
	}
	return out
}

// OldestUnsent reports whether the oldest report is marked unsent (due at
// once, see MarkAllUnsent).
func (o *outbox) OldestUnsent() bool {
	return len(o.entries) > 0 && o.entries[0].lastSent.IsZero()
}

// MarkAllUnsent makes the oldest report due for resending at once.
func (o *outbox) MarkAllUnsent() {
	if len(o.entries) > 0 {
		o.entries[0].lastSent = time.Time{}
	}
}

// SentAt returns when the report with seq was last sent.
func (o *outbox) SentAt(seq uint64) (time.Time, bool) {
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].rep.Seq >= seq })
	if i < len(o.entries) && o.entries[i].rep.Seq == seq {
		return o.entries[i].lastSent, true
	}
	return time.Time{}, false
}

// MarkSent records that the report with seq was sent at now.
func (o *outbox) MarkSent(seq uint64, now time.Time) {
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].rep.Seq >= seq })
	if i < len(o.entries) && o.entries[i].rep.Seq == seq {
		o.entries[i].lastSent = now
	}
}

// Hole returns the reports with after < seq < before (the ones a master
// says it is missing while it holds later ones: they were lost, whenever
// they were sent) that were not resent for that reason within the last
// guard (the master's word may predate that resend), in seq order, and
// marks them sent at now.
func (o *outbox) Hole(after, before uint64, now time.Time, guard time.Duration) []*model.Report {
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].rep.Seq > after })
	var out []*model.Report
	for ; i < len(o.entries) && o.entries[i].rep.Seq < before; i++ {
		e := &o.entries[i]
		if !e.holeSent.IsZero() && now.Sub(e.holeSent) < guard {
			continue
		}
		e.lastSent, e.holeSent = now, now
		out = append(out, e.rep)
	}
	return out
}

// HoleUpTo reports whether a report with seq <= seq was resent because a
// master named it missing: an ack of seq then also waited for that resend
// (the master held seq until the hole was filled), so it is no round-trip
// sample.
func (o *outbox) HoleUpTo(seq uint64) bool {
	for i := range o.entries {
		if o.entries[i].rep.Seq > seq {
			break
		}
		if !o.entries[i].holeSent.IsZero() {
			return true
		}
	}
	return false
}
