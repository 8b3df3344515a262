package store

import (
	"encoding/binary"
	"math"

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
	dst = appendStr(dst, v.Agent)
	dst = append(dst, 0xa1, 'q', 0xcf)
	dst = binary.BigEndian.AppendUint64(dst, v.Seq)
	dst = append(dst, 0xa1, 't', 0xd3)
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.Seen))
	dst = append(dst, 0xa2, 's', 'm')
	if v.Samples == nil {
		return append(dst, 0xc0)
	}
	dst = appendArrayLen(dst, len(v.Samples))
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

// appendStr appends a msgpack string.
func appendStr(dst []byte, s string) []byte {
	switch l := len(s); {
	case l < 32:
		dst = append(dst, 0xa0|byte(l))
	case l <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(l))
	case l <= math.MaxUint16:
		dst = append(dst, 0xda, byte(l>>8), byte(l))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(l))
	}
	return append(dst, s...)
}
