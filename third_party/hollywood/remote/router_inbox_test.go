//go:build !lookout_noproto

package remote

// Lookout patch 3 regression tests: the stream router's inbox starts small
// (stock v1.0.5 allocated 1024*1024 slots, 24 MiB, at Start) and still
// grows, so a burst larger than the initial capacity arrives complete and
// in order.

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"google.golang.org/protobuf/types/known/anypb"
)

// startAllocs returns the bytes allocated while a remote with cfg starts.
func startAllocs(t *testing.T, cfg Config) uint64 {
	t.Helper()
	r := New(freeAddr(t), cfg)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r)); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	t.Cleanup(func() { r.Stop().Wait() })
	return after.TotalAlloc - before.TotalAlloc
}

func TestRouterInboxStartsSmall(t *testing.T) {
	const slot = 24 // bytes per inbox slot (actor.Envelope: an interface and a pointer)
	tests := []struct {
		name     string
		cfg      Config
		min, max uint64
	}{
		// Stock v1.0.5: >= 24 MiB, whatever the config.
		{"default", NewConfig(), 0, 2 << 20},
		{"negative means default", NewConfig().WithRouterInboxSize(-5), 0, 2 << 20},
		{"explicit large", NewConfig().WithRouterInboxSize(1 << 20), (1 << 20) * slot, 1<<20*slot + 2<<20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := startAllocs(t, tt.cfg)
			if got < tt.min || got > tt.max {
				t.Fatalf("starting a remote allocated %d bytes, want %d..%d", got, tt.min, tt.max)
			}
		})
	}
}

func TestRouterInboxGrowsUnderBurst(t *testing.T) {
	const n = 20 * DefaultRouterInboxSize
	recvAddr := freeAddr(t)
	rr := New(recvAddr, NewConfig())
	re, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(rr))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { rr.Stop().Wait() }()
	got := make(chan string, n)
	sink := re.SpawnFunc(func(c *actor.Context) {
		if a, ok := c.Message().(*anypb.Any); ok {
			got <- a.TypeUrl
		}
	}, "sink", actor.WithID("burst"))

	sr := New(freeAddr(t), NewConfig())
	se, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(sr))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { sr.Stop().Wait() }()
	// All sends go through the sender's router without waiting: its inbox
	// must grow well past DefaultRouterInboxSize.
	target := actor.NewPID(recvAddr, sink.ID)
	for i := 0; i < n; i++ {
		se.Send(target, &anypb.Any{TypeUrl: strconv.Itoa(i)})
	}
	deadline := time.After(30 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case u := <-got:
			if u != strconv.Itoa(i) {
				t.Fatalf("message %d arrived as %q: lost or reordered", i, u)
			}
		case <-deadline:
			t.Fatalf("only %d of %d messages arrived", i, n)
		}
	}
}
