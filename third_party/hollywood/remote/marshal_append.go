package remote

import (
	"fmt"
	"slices"
)

// sizedVT is a vtproto message that can marshal into a buffer of its exact
// size.
type sizedVT interface {
	SizeVT() int
	MarshalToSizedBufferVT(dAtA []byte) (int, error)
}

// marshalAppendVT appends msg's protobuf encoding to buf (Lookout patch
// 7). drpc calls it, through the encoding's MarshalAppend, with the
// stream's write buffer, which it keeps from one message to the next: an
// envelope is then encoded in place instead of into a new slice of its
// size that drpc copied into that buffer and dropped (one allocation the
// size of every batch of messages a stream writer sends). The bytes are
// those of MarshalVT.
func marshalAppendVT(buf []byte, msg any) ([]byte, error) {
	m, ok := msg.(sizedVT)
	if !ok {
		return nil, fmt.Errorf("remote: drpc: %T cannot marshal into a buffer", msg)
	}
	size := m.SizeVT()
	buf = slices.Grow(buf, size)
	n, err := m.MarshalToSizedBufferVT(buf[len(buf) : len(buf)+size])
	if err != nil {
		return nil, err
	}
	if n != size {
		return nil, fmt.Errorf("remote: drpc: %T marshalled %d bytes, its size is %d", msg, n, size)
	}
	return buf[:len(buf)+size], nil
}
