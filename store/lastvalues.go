package store

import (
	"github.com/lookout-mon/lookout/internal/mpack"
	"github.com/lookout-mon/lookout/model"
)

// LastValues is a host's last-values checkpoint, written by its host
// actor (at most about once a minute while it reports, and when it stops):
// the host's newest values of every resource it has reported, the agent,
// seq and arrival time of its newest applied report, and that report's
// time T. The values of reports newer than the checkpoint are in their raw
// history entries (committed with each report, see Batch.PutReport), which
// a restarted host actor replays from T on. A key without T was written by
// an older version with every batch: a complete snapshot.
type LastValues struct {
	Agent   string         `msgpack:"a"`
	Seq     uint64         `msgpack:"q"`
	Seen    int64          `msgpack:"t"` // unix nanoseconds when the report arrived
	Samples []model.Sample `msgpack:"sm"`
	// T is the time (unix nanoseconds, the agent's clock) of the newest
	// report applied to Samples; 0 in keys of older versions.
	T int64 `msgpack:"rt,omitempty"`
}

// appendMsgpack appends the msgpack encoding of v (the same bytes as the
// reflection encoder: a map of its fields in declaration order, T only
// when not 0).
func (v *LastValues) appendMsgpack(dst []byte) []byte {
	if v.T != 0 {
		dst = append(dst, 0x85, 0xa1, 'a')
	} else {
		dst = append(dst, 0x84, 0xa1, 'a')
	}
	dst = mpack.AppendString(dst, v.Agent)
	dst = mpack.AppendUint64(append(dst, 0xa1, 'q'), v.Seq)
	dst = mpack.AppendInt64(append(dst, 0xa1, 't'), v.Seen)
	dst = append(dst, 0xa2, 's', 'm')
	if v.Samples == nil {
		dst = append(dst, mpack.Nil)
	} else {
		dst = mpack.AppendArrayLen(dst, len(v.Samples))
		for i := range v.Samples {
			dst = v.Samples[i].AppendMsgpack(dst)
		}
	}
	if v.T != 0 {
		dst = mpack.AppendInt64(append(dst, 0xa2, 'r', 't'), v.T)
	}
	return dst
}

// HostSeq is what the ingest commits for a host with every batch that
// carries one of its reports (beside each report's raw history entry): the
// agent, seq and arrival time of the host's newest report. It is small on
// purpose: the last values are checkpointed by the host actor (LastValues)
// and rebuilt from the raw reports after a crash.
type HostSeq struct {
	Agent string `msgpack:"a"`
	Seq   uint64 `msgpack:"q"`
	Seen  int64  `msgpack:"t"` // unix nanoseconds when the report arrived
}

// appendMsgpack appends the msgpack encoding of v (the same bytes as the
// reflection encoder).
func (v *HostSeq) appendMsgpack(dst []byte) []byte {
	dst = mpack.AppendString(append(dst, 0x83, 0xa1, 'a'), v.Agent)
	dst = mpack.AppendUint64(append(dst, 0xa1, 'q'), v.Seq)
	return mpack.AppendInt64(append(dst, 0xa1, 't'), v.Seen)
}

// samplesSize estimates the encoded size of ss, to allocate once.
func samplesSize(ss []model.Sample) int {
	size := 5
	for i := range ss {
		size += 32 + len(ss[i].Service) + len(ss[i].Resource) + len(ss[i].Unit) + 16*len(ss[i].Values)
	}
	return size
}
