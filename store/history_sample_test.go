package store

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/lookout-mon/lookout/model"
)

// rawKeys counts the raw history entries of host, by resolution byte:
// resReport counts the raw reports (the raw log's and badger's).
func rawKeys(t *testing.T, s *Store, host string) map[byte]int {
	t.Helper()
	got := map[byte]int{}
	if reps, err := s.rawReports(host, math.MinInt64, math.MaxInt64); err != nil {
		t.Fatal(err)
	} else if len(reps) > 0 {
		got[resReport] = len(reps)
	}
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte{0x01, 'H'}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			if k[2] == resReport {
				continue // counted above
			}
			if k[2] == resMinuteSeries || k[2] == resHourSeries {
				p, err := parseRollupKey(k)
				if err != nil {
					return err
				}
				if p.Host == host {
					got[p.Res]++
				}
				continue
			}
			p, err := parseHistKey(k)
			if err != nil {
				return err
			}
			if p.Host == host {
				got[p.Res]++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRawHistoryOneKeyPerReport checks that raw history takes one entry per
// report (not per sample or value), that every value reads back from it,
// that a report without the asked attribute is skipped, and that non-finite
// values and bad attribute names are left out of the entry.
func TestRawHistoryOneKeyPerReport(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base.Add(2 * time.Minute)}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	t1, t2, t3 := base.Add(10*time.Second), base.Add(20*time.Second), base.Add(30*time.Second)
	disk := func(vals map[string]float64) []model.Sample {
		return []model.Sample{
			{Service: "machine", Resource: "disk", Unit: "/", Values: vals},
			{Service: "machine", Resource: "disk", Unit: "/var", Values: map[string]float64{"used": 1}},
		}
	}
	batch := []HostSamples{
		{Host: "h", Time: t1, Samples: disk(map[string]float64{"used": 10, "free": 90, "inodes": 5})},
		{Host: "h", Time: t2, Samples: disk(map[string]float64{"used": 20, "free": math.NaN(), "": 3})},
		{Host: "h", Time: t3, Samples: disk(map[string]float64{"used": 30, "free": 70})},
	}
	if err := s.AddSamplesBatch(batch); err != nil {
		t.Fatal(err)
	}
	if got := rawKeys(t, s, "h"); got[resReport] != 3 || got[resSample] != 0 || got[resRaw] != 0 {
		t.Fatalf("raw entries by resolution = %v, want 3 report entries and no per-sample or per-value ones", got)
	}
	tests := []struct {
		attr string
		want map[time.Time]float64
	}{
		{"used", map[time.Time]float64{t1: 10, t2: 20, t3: 30}},
		{"free", map[time.Time]float64{t1: 90, t3: 70}}, // NaN at t2 not stored
		{"inodes", map[time.Time]float64{t1: 5}},
		{"missing", map[time.Time]float64{}},
	}
	for _, tt := range tests {
		got, err := s.History("h", "machine.disk:/", tt.attr, base, clk.t, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkPoints(t, "raw "+tt.attr, got, expect(tt.want, time.Nanosecond))
	}
	// The other sample of the same reports.
	got, err := s.History("h", "machine.disk:/var", "used", base, clk.t, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkPoints(t, "raw /var", got, expect(map[time.Time]float64{t1: 1, t2: 1, t3: 1}, time.Nanosecond))
	// Rollups stay per attribute.
	got, err = s.History("h", "machine.disk:/", "free", base, clk.t, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkPoints(t, "1m free", got, expect(map[time.Time]float64{t1: 90, t3: 70}, time.Minute))
}

// TestSampleValueCodec checks the raw sample value encoding: round trip,
// lookup by attribute, and errors on malformed values.
func TestSampleValueCodec(t *testing.T) {
	b := []byte{sampleValueVersion}
	b = appendSampleValue(b, "used", 42.5)
	b = appendSampleValue(b, "neg", -1)
	for _, tt := range []struct {
		attr string
		v    float64
		ok   bool
	}{{"used", 42.5, true}, {"neg", -1, true}, {"use", 0, false}, {"usedx", 0, false}} {
		v, ok, err := sampleAttr(b, tt.attr)
		if err != nil || ok != tt.ok || v != tt.v {
			t.Errorf("sampleAttr(%q) = %v, %v, %v; want %v, %v, nil", tt.attr, v, ok, err, tt.v, tt.ok)
		}
	}
	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"wrong version", []byte{9}},
		{"truncated value", b[:len(b)-1]},
		{"zero-length name", []byte{sampleValueVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"overlong name length", append([]byte{sampleValueVersion}, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"bad uvarint", append([]byte{sampleValueVersion}, bytes.Repeat([]byte{0xff}, 11)...)},
	}
	for _, tt := range bad {
		if _, _, err := sampleAttr(tt.b, "nope"); err == nil {
			t.Errorf("%s: malformed value %x accepted", tt.name, tt.b)
		}
	}
}
