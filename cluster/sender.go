package cluster

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"
)

// sender owns a hollywood engine used only to send to one peer, so that a
// dead peer's ~3 s reconnect stall (hollywood v1.0.5's stream router dials
// synchronously) delays only the messages meant for that peer. Its listener
// (an ephemeral port on the cluster host; hollywood's remote always
// listens) receives nothing: peers answer to the address carried in the
// message, which is the member's cluster listener.
type sender struct {
	engine *actor.Engine
	rem    *remote.Remote
	to     *actor.PID
}

func newSender(host, peer string, tlsCfg *tls.Config) (*sender, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("cluster: reserving a sending port on %s for peer %s: %w", host, peer, err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	rc := remote.NewConfig()
	if tlsCfg != nil {
		rc = rc.WithTLS(tlsCfg)
	}
	r := remote.New(addr, rc)
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
	if err != nil {
		return nil, fmt.Errorf("cluster: sending engine for peer %s: %w", peer, err)
	}
	return &sender{engine: e, rem: r, to: actor.NewPID(peer, actorKind+"/"+actorID)}, nil
}

// send hands msg to the peer's stream; it never blocks (at-most-once).
func (s *sender) send(msg *anypb.Any) { s.engine.Send(s.to, msg) }

func (s *sender) stop() { s.rem.Stop() }
