//go:build lookout_noproto

package remote

// Lookout patch 6 regression tests for the build without the protobuf
// runtime (-tags lookout_noproto): nothing links protobuf, and two remotes
// exchange registered messages through the hand-derived codecs.

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

func TestNoProtobufDependency(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-tags", "lookout_noproto", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "google.golang.org/protobuf") || strings.HasPrefix(d, "github.com/planetscale/vtprotobuf") {
			t.Errorf("remote built with lookout_noproto links %s", d)
		}
	}
}

func TestNoProtoRemoteRoundTrip(t *testing.T) {
	recvAddr := freeAddr(t)
	rr := New(recvAddr, NewConfig())
	re, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(rr))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rr.Stop().Wait() }()
	got := make(chan any, 4)
	sink := re.SpawnFunc(func(c *actor.Context) {
		switch m := c.Message().(type) {
		case *TestMessage, *actor.PID:
			got <- m
		}
	}, "sink", actor.WithID("np"))

	sr := New(freeAddr(t), NewConfig())
	se, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(sr))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { sr.Stop().Wait() }()
	target := actor.NewPID(recvAddr, sink.ID)
	se.Send(target, &TestMessage{Data: []byte("hello")})
	se.Send(target, actor.NewPID("127.0.0.1:9", "a/b"))
	for i := 0; i < 2; i++ {
		select {
		case m := <-got:
			switch m := m.(type) {
			case *TestMessage:
				if !bytes.Equal(m.Data, []byte("hello")) {
					t.Errorf("TestMessage.Data = %q", m.Data)
				}
			case *actor.PID:
				if m.Address != "127.0.0.1:9" || m.ID != "a/b" {
					t.Errorf("PID = %+v", m)
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d did not arrive", i)
		}
	}
}

type notMsg struct{}

func TestNoProtoSerializer(t *testing.T) {
	var s defaultSerializer
	tests := []struct {
		name    string
		msg     any
		tname   string
		wantErr bool
	}{
		{"registered", &TestMessage{Data: []byte{1, 2}}, "remote.TestMessage", false},
		{"pid", &actor.PID{Address: "x", ID: "y"}, "actor.PID", false},
		{"not a Msg", notMsg{}, "remote.notMsg", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.Serialize(tt.msg)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Serialize accepted a value that is not a remote.Msg")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := s.TypeName(tt.msg); got != tt.tname {
				t.Fatalf("TypeName = %q, want %q", got, tt.tname)
			}
			back, err := s.Deserialize(b, tt.tname)
			if err != nil {
				t.Fatal(err)
			}
			again, err := s.Serialize(back)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("round trip %x -> %x (%v)", b, again, err)
			}
		})
	}
	if _, err := s.Deserialize(nil, "no.SuchType"); err == nil {
		t.Fatal("Deserialize of an unregistered type succeeded")
	}
	if _, err := s.Deserialize([]byte{0x0a, 0x05}, "actor.PID"); err == nil {
		t.Fatal("Deserialize of a truncated PID succeeded")
	}
}
