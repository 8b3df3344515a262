//go:build !lookout_noproto

package remote

// Lookout patch regression test: envelopes with out-of-range indexes from a
// peer must not crash the receiving process.

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"
	"storj.io/drpc/drpcconn"
)

func TestMalformedEnvelopeDoesNotCrash(t *testing.T) {
	addr := freeAddr(t)
	r := New(addr, NewConfig())
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	got := make(chan string, 4)
	pid := e.SpawnFunc(func(c *actor.Context) {
		if a, ok := c.Message().(*anypb.Any); ok {
			got <- a.TypeUrl
		}
	}, "sink", actor.WithID("x"))

	send := func(env *Envelope) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		dc := drpcconn.New(conn)
		defer dc.Close()
		st, err := NewDRPCRemoteClient(dc).Receive(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_ = st.Send(env)
		time.Sleep(100 * time.Millisecond)
		_ = st.Close()
	}
	payload, _ := ProtoSerializer{}.Serialize(&anypb.Any{TypeUrl: "ok"})
	name := ProtoSerializer{}.TypeName(&anypb.Any{})
	bad := []*Envelope{
		{Messages: []*Message{{TargetIndex: 7}}, TypeNames: []string{name}, Targets: []*actor.PID{pid}},
		{Messages: []*Message{{TypeNameIndex: -1}}, TypeNames: []string{name}, Targets: []*actor.PID{pid}},
		{Messages: []*Message{{SenderIndex: 3}}, TypeNames: []string{name}, Targets: []*actor.PID{pid}, Senders: []*actor.PID{pid}},
		{Messages: []*Message{{TypeNameIndex: 2}}, TypeNames: []string{name}, Targets: []*actor.PID{pid}},
		{Messages: []*Message{nil}},
	}
	for _, env := range bad {
		send(env) // before the patch: index out of range, process dead
	}
	send(&Envelope{Messages: []*Message{{Data: payload}}, TypeNames: []string{name}, Targets: []*actor.PID{pid}})
	select {
	case u := <-got:
		if u != "ok" {
			t.Fatalf("got %q", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a valid envelope after malformed ones was not delivered")
	}
}
