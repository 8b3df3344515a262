package store

import (
	"github.com/lookout-mon/lookout/internal/mpack"
	"github.com/lookout-mon/lookout/model"
)

// LastValues is what the ingest commits for a host with every batch that
// carries one of its reports, in ONE key: the host's newest values of every
// resource it has reported, and the agent, seq and arrival time of its
// newest report. One key instead of one per resource plus the agent's seq
// and the host's last-seen time cuts the badger writes per report from ~7
// to 2 (this and the raw history entry).
type LastValues struct {
	Agent   string         `msgpack:"a"`
	Seq     uint64         `msgpack:"q"`
	Seen    int64          `msgpack:"t"` // unix nanoseconds when the report arrived
	Samples []model.Sample `msgpack:"sm"`
}

// appendMsgpack appends the msgpack encoding of v (the same bytes as the
// reflection encoder: a map of its four fields in declaration order).
func (v *LastValues) appendMsgpack(dst []byte) []byte {
	dst = append(dst, 0x84, 0xa1, 'a')
	dst = mpack.AppendString(dst, v.Agent)
	dst = mpack.AppendUint64(append(dst, 0xa1, 'q'), v.Seq)
	dst = mpack.AppendInt64(append(dst, 0xa1, 't'), v.Seen)
	dst = append(dst, 0xa2, 's', 'm')
	if v.Samples == nil {
		return append(dst, mpack.Nil)
	}
	dst = mpack.AppendArrayLen(dst, len(v.Samples))
	for i := range v.Samples {
		dst = v.Samples[i].AppendMsgpack(dst)
	}
	return dst
}

// samplesSize estimates the encoded size of ss, to allocate once.
func samplesSize(ss []model.Sample) int {
	size := 5
	for i := range ss {
		size += 32 + len(ss[i].Service) + len(ss[i].Resource) + len(ss[i].Unit) + 16*len(ss[i].Values)
	}
	return size
}
