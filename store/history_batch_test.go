package store

import (
	"testing"
	"time"
)

// TestAddSamplesBatch checks that one batch with several hosts (one of them
// twice) stores every value like separate AddSamples calls, and that an
// invalid host name fails the whole batch before anything is written.
func TestAddSamplesBatch(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base.Add(time.Minute)}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	t1, t2 := base.Add(10*time.Second), base.Add(30*time.Second)
	err := s.AddSamplesBatch([]HostSamples{
		{Host: "a", Time: t1, Samples: cpu(1)},
		{Host: "b", Time: t1, Samples: cpu(2)},
		{Host: "a", Time: t2, Samples: cpu(3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want map[time.Time]float64
	}{
		{"a", map[time.Time]float64{t1: 1, t2: 3}},
		{"b", map[time.Time]float64{t1: 2}},
	}
	for _, tt := range tests {
		raw, err := s.History(tt.host, "machine.cpu:all", "used", base, clk.t, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkPoints(t, "raw "+tt.host, raw, expect(tt.want, time.Second))
	}
	if err := s.AddSamplesBatch([]HostSamples{{Host: "c", Time: t2, Samples: cpu(5)}, {Host: "", Time: t2, Samples: cpu(6)}}); err == nil {
		t.Fatal("a batch with an empty host name was accepted")
	}
	raw, err := s.History("c", "machine.cpu:all", "used", base, clk.t, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 0 {
		t.Fatalf("a failed batch wrote %d points for host c", len(raw))
	}
}
