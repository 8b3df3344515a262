package store_test

import (
	"fmt"
	"os"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
)

// An actor persists its state on change and loads it in Started.
func Example() {
	dir, _ := os.MkdirTemp("", "lookout-store-example")
	defer os.RemoveAll(dir)
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	type ingestState struct {
		LastSeq uint64 `msgpack:"q"`
	}
	_ = s.Put("ingest", "agent-web1", ingestState{LastSeq: 41})
	var st ingestState
	found, err := s.Get("ingest", "agent-web1", &st)
	fmt.Println(found, err, st.LastSeq)

	now := time.Now()
	_ = s.AddSamples("web1", now, []model.Sample{{
		Service: model.ServiceMachine, Resource: model.ResDisk, Unit: "/dev/sda1",
		Values: map[string]float64{"used_percentage": 42.5},
	}})
	pts, _ := s.History("web1", "machine.disk:/dev/sda1", "used_percentage", now.Add(-time.Minute), now, 0)
	fmt.Println(len(pts), pts[0].Avg)
	// Output:
	// true <nil> 41
	// 1 42.5
}
