package cluster

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/wire"
)

// Type URLs of the master-to-master messages (msgpack inside anypb.Any).
const (
	TypeHeartbeat = "lookout/cluster-heartbeat.v1"
	TypeEntries   = "lookout/cluster-entries.v1"
	TypePull      = "lookout/cluster-pull.v1"
)

// Limits on what one message may carry.
const (
	maxBatch      = 256   // entries per Entries message / Pull request
	maxOrigins    = 1024  // origins advertised in one heartbeat
	maxHostsSeen  = 20000 // hosts in one heartbeat's last-seen map
	maxNameLength = 300
)

// Entry kinds.
const (
	KindDelivery    = 1
	KindRule        = 2
	KindMaintenance = 3
)

// Entry is one record of the replicated log, numbered by its origin (the
// master that wrote it, identified by name and data-dir incarnation).
type Entry struct {
	Origin   string             `msgpack:"o"`
	Seq      uint64             `msgpack:"q"`
	Kind     int                `msgpack:"k"`
	Time     int64              `msgpack:"t"` // unix nanoseconds, origin clock
	Delivery *model.Delivery    `msgpack:"d,omitempty"`
	Rule     *model.RuleInfo    `msgpack:"r,omitempty"`
	Maint    *model.Maintenance `msgpack:"m,omitempty"`
	Deleted  bool               `msgpack:"x,omitempty"`
}

// Heartbeat is what every member sends to every peer each heartbeat
// interval: who it is, how far it holds each origin's log, and when it last
// heard from each host.
type Heartbeat struct {
	Name string `msgpack:"n"`
	Addr string `msgpack:"a"` // cluster listen address
	// Inc (incarnation) is the sender's process start time, unix ns: a
	// higher value from the same name means the member restarted.
	Inc int64 `msgpack:"i"`
	// Ready is set once the sender caught up and may own hosts.
	Ready bool `msgpack:"r"`
	// Owners is the sender's current owner set (the alive and ready
	// members, itself included once ready) as name -> incarnation. A member
	// starts sending only once every alive peer lists its current
	// incarnation here, so ownership never moves to a member before the
	// previous owner has let go (and a stale entry for a previous
	// incarnation does not count).
	Owners map[string]int64 `msgpack:"ow"`
	// Pos is origin -> highest contiguous seq the sender holds.
	Pos map[string]uint64 `msgpack:"p"`
	// Seen is host -> unix ns the sender last received a report from it.
	Seen map[string]int64 `msgpack:"s"`
}

// Entries carries log entries of one origin, in seq order: broadcast when
// written, or the answer to a Pull.
type Entries struct {
	From    string  `msgpack:"f"`
	Entries []Entry `msgpack:"e"`
}

// Pull asks a peer for the entries of Origin after seq After (at most Max).
type Pull struct {
	From   string `msgpack:"f"`
	Addr   string `msgpack:"a"` // where to send the answer
	Origin string `msgpack:"o"`
	After  uint64 `msgpack:"q"`
	Max    int    `msgpack:"m"`
}

var errInvalid = errors.New("cluster: invalid message")

// Decode decodes a cluster message (*Heartbeat, *Entries or *Pull) and
// validates it; it never panics on hostile input.
func Decode(a *anypb.Any) (any, error) {
	if a == nil {
		return nil, fmt.Errorf("%w: nil", errInvalid)
	}
	switch a.TypeUrl {
	case TypeHeartbeat:
		var h Heartbeat
		if err := wire.Decode(a, TypeHeartbeat, &h); err != nil {
			return nil, err
		}
		return &h, h.validate()
	case TypeEntries:
		var e Entries
		if err := wire.Decode(a, TypeEntries, &e); err != nil {
			return nil, err
		}
		return &e, e.validate()
	case TypePull:
		var p Pull
		if err := wire.Decode(a, TypePull, &p); err != nil {
			return nil, err
		}
		return &p, p.validate()
	}
	return nil, fmt.Errorf("%w: unknown type %q", errInvalid, a.TypeUrl)
}

func checkName(what, s string) error {
	if s == "" || len(s) > maxNameLength {
		return fmt.Errorf("%w: %s %q is empty or longer than %d bytes", errInvalid, what, s, maxNameLength)
	}
	return nil
}

func (h *Heartbeat) validate() error {
	if err := checkName("member name", h.Name); err != nil {
		return err
	}
	if err := checkName("member address", h.Addr); err != nil {
		return err
	}
	if len(h.Pos) > maxOrigins {
		return fmt.Errorf("%w: heartbeat from %s advertises %d origins (max %d)", errInvalid, h.Name, len(h.Pos), maxOrigins)
	}
	if len(h.Seen) > maxHostsSeen {
		return fmt.Errorf("%w: heartbeat from %s carries %d hosts (max %d)", errInvalid, h.Name, len(h.Seen), maxHostsSeen)
	}
	if len(h.Owners) > maxOrigins {
		return fmt.Errorf("%w: heartbeat from %s lists %d owners (max %d)", errInvalid, h.Name, len(h.Owners), maxOrigins)
	}
	for o := range h.Pos {
		if err := checkName("origin", o); err != nil {
			return err
		}
	}
	return nil
}

func (e *Entries) validate() error {
	if err := checkName("sender", e.From); err != nil {
		return err
	}
	if len(e.Entries) > maxBatch {
		return fmt.Errorf("%w: %d entries from %s (max %d)", errInvalid, len(e.Entries), e.From, maxBatch)
	}
	for i := range e.Entries {
		en := &e.Entries[i]
		if err := checkName("origin", en.Origin); err != nil {
			return err
		}
		if en.Seq == 0 {
			return fmt.Errorf("%w: entry %d of %s has seq 0", errInvalid, i, en.Origin)
		}
		switch {
		case en.Kind == KindDelivery && en.Delivery != nil && en.Delivery.NotificationID != "":
		case en.Kind == KindRule && en.Rule != nil && en.Rule.Name != "":
		case en.Kind == KindMaintenance && en.Maint != nil && en.Maint.ID != "":
		default:
			return fmt.Errorf("%w: entry %s/%d: kind %d without its payload", errInvalid, en.Origin, en.Seq, en.Kind)
		}
	}
	return nil
}

func (p *Pull) validate() error {
	if err := checkName("sender", p.From); err != nil {
		return err
	}
	if err := checkName("address", p.Addr); err != nil {
		return err
	}
	if err := checkName("origin", p.Origin); err != nil {
		return err
	}
	if p.Max <= 0 || p.Max > maxBatch {
		p.Max = maxBatch
	}
	return nil
}
