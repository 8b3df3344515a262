package store

import (
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

func TestDowntimes(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	s := openTest(t, t.TempDir(), Options{Now: func() time.Time { return now }})
	at := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
	dts := []model.Downtime{
		{Host: "web1", Service: "host", Start: at(-100), End: at(-90)},
		{Host: "web1", Service: "port", Unit: "sshd (22)", Start: at(-50), End: at(-45)},
		{Host: "web2", Service: "host", Start: at(-60), End: at(-30)},
		{Host: "web1", Service: "process", Unit: "nginx", Start: at(-10)}, // ongoing
		{Host: "web10", Service: "host", Start: at(-5)},                   // ongoing, host name prefix of none
	}
	for _, d := range dts {
		if err := s.PutDowntime(d); err != nil {
			t.Fatal(err)
		}
	}
	type key struct {
		host, svc string
		start     int
	}
	k := func(d model.Downtime) key {
		return key{d.Host, d.Service, int(d.Start.Sub(now) / time.Minute)}
	}
	tests := []struct {
		name     string
		host     string
		from, to time.Time
		want     []key
	}{
		{"all hosts, all time", "", time.Time{}, time.Time{}, []key{
			{"web10", "host", -5}, {"web1", "process", -10}, {"web1", "port", -50}, {"web2", "host", -60}, {"web1", "host", -100}}},
		{"one host", "web1", time.Time{}, time.Time{}, []key{
			{"web1", "process", -10}, {"web1", "port", -50}, {"web1", "host", -100}}},
		{"host name is not a prefix match", "web", time.Time{}, time.Time{}, nil},
		{"overlap at the edges", "", at(-45), at(-40), []key{{"web1", "port", -50}, {"web2", "host", -60}}},
		{"ongoing ones overlap the present", "", at(-1), at(0), []key{{"web10", "host", -5}, {"web1", "process", -10}}},
		{"before everything", "", at(-200), at(-101), nil},
		{"range inside a downtime", "web2", at(-50), at(-40), []key{{"web2", "host", -60}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Downtimes(tc.host, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			var keys []key
			for _, d := range got {
				keys = append(keys, k(d))
			}
			if len(keys) != len(tc.want) {
				t.Fatalf("got %v, want %v", keys, tc.want)
			}
			for i := range keys {
				if keys[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", keys, tc.want)
				}
			}
		})
	}

	// Ending the ongoing downtime overwrites it (same start).
	ended := dts[3]
	ended.End = at(-2)
	ended.Persistent = true
	if err := s.PutDowntime(ended); err != nil {
		t.Fatal(err)
	}
	got, err := s.Downtimes("web1", at(-11), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].End.Equal(ended.End) || !got[0].Persistent || got[0].Unit != "nginx" {
		t.Fatalf("after ending: %+v", got)
	}
	if d := got[0].Duration(now); d != 8*time.Minute {
		t.Fatalf("duration %v, want 8m", d)
	}

	// Invalid downtimes are refused with a reason.
	bad := []model.Downtime{
		{Service: "host", Start: now},
		{Host: "h", Start: now},
		{Host: "h", Service: "host"},
		{Host: "h", Service: "host", Start: now, End: now.Add(-time.Second)},
		{Host: "h\x00", Service: "host", Start: now},
	}
	for _, d := range bad {
		if err := s.PutDowntime(d); err == nil {
			t.Errorf("PutDowntime(%+v) succeeded", d)
		}
	}
	// A downtime that ended longer ago than the retention is not kept.
	if err := s.PutDowntime(model.Downtime{Host: "ancient", Service: "host", Start: at(-60 * 24 * 40), End: at(-60 * 24 * 35)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Downtimes("ancient", time.Time{}, time.Time{}); len(got) != 0 {
		t.Fatalf("downtime past retention kept: %+v", got)
	}
}
