//go:build !lookout_noproto

package remote

import (
	"fmt"

	"github.com/anthdm/hollywood/actor"

	"google.golang.org/protobuf/proto"
)

var registry = map[string]VTUnmarshaler{}

func RegisterType(v VTUnmarshaler) {
	tname := string(proto.MessageName(v))
	registry[tname] = v
}

func registryGetType(t string) (VTUnmarshaler, error) {
	if m, ok := registry[t]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("given type (%s) is not registered. Did you forget to register your type with remote.RegisterType(&instance{})?", t)
}

// Moved here from remote.go (Lookout patch 6): the build without protobuf
// registers its types in remote_noproto.go.
func init() {
	RegisterType(&actor.PID{})
}
