//go:build lookout_noproto

package wire

import "github.com/anthdm/hollywood/remote"

// Any is the message every wire message travels in between engines:
// google.protobuf.Any, with the msgpack body in Value and the type in
// TypeUrl. This build (-tags lookout_noproto, the slim agent) does not link
// the protobuf runtime: Any is vtAny, encoded by hand exactly as protobuf
// does, and hollywood's remote (Lookout patch 6) sends and receives it as
// google.protobuf.Any.
type Any = vtAny

func init() {
	remote.RegisterMsg("google.protobuf.Any", func() remote.Msg { return &Any{} })
}
