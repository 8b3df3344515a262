//go:build !lookout_noproto

package wire

import "google.golang.org/protobuf/types/known/anypb"

// Any is the message every wire message travels in between engines:
// google.protobuf.Any, with the msgpack body in Value and the type in
// TypeUrl. Built with -tags lookout_noproto (the slim agent) it is the same
// message without the protobuf runtime (any_noproto.go).
type Any = anypb.Any
