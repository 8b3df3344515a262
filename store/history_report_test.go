package store

import (
	"bytes"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/lookout-mon/lookout/model"
)

// TestRawHistoryLegacySamples: raw sample entries ('R', one per sample)
// written before raw reports are still read next to the new report
// entries, merged in time order.
func TestRawHistoryLegacySamples(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base.Add(2 * time.Minute)}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	t1, t2, t3, t4 := base.Add(10*time.Second), base.Add(20*time.Second), base.Add(30*time.Second), base.Add(40*time.Second)
	// Legacy entries at t1 and t3, as the previous version wrote them.
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, x := range []struct {
			t time.Time
			v float64
		}{{t1, 1}, {t3, 3}} {
			v := appendSampleValue(appendSampleValue([]byte{sampleValueVersion}, "idle", 100-x.v), "used", x.v)
			if err := txn.Set(histKey(resSample, "h", "machine.cpu:all", "", x.t.UnixNano()), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		t time.Time
		v float64
	}{{t2, 2}, {t4, 4}} {
		if err := s.AddSamples("h", x.t, cpu(x.v)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.History("h", "machine.cpu:all", "used", base, clk.t, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkPoints(t, "raw used", got, expect(map[time.Time]float64{t1: 1, t2: 2, t3: 3, t4: 4}, time.Nanosecond))
	if n := rawKeys(t, s, "h"); n[resReport] != 2 || n[resSample] != 2 {
		t.Fatalf("raw entries = %v, want 2 reports and the 2 legacy samples", n)
	}
}

// TestRawHistorySameTime: two reports of one host with the same timestamp
// but different samples (two collector families) are both kept.
func TestRawHistorySameTime(t *testing.T) {
	base := hourStart()
	clk := &clock{t: base.Add(time.Minute)}
	s := openTest(t, t.TempDir(), Options{Now: clk.now})
	at := base.Add(5 * time.Second)
	mem := []model.Sample{{Service: "machine", Resource: "memory", Unit: "ram", Values: map[string]float64{"used": 42}}}
	if err := s.AddSamplesBatch([]HostSamples{{Host: "h", Time: at, Samples: cpu(7)}, {Host: "h", Time: at, Samples: mem}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		series string
		want   float64
	}{{"machine.cpu:all", 7}, {"machine.memory:ram", 42}}
	for _, tt := range tests {
		got, err := s.History("h", tt.series, "used", base, clk.t, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkPoints(t, tt.series, got, expect(map[time.Time]float64{at: tt.want}, time.Nanosecond))
	}
}

// TestReportValueCodec checks the raw report value encoding: lookup of
// every value, absent series and attributes, and errors on malformed values.
func TestReportValueCodec(t *testing.T) {
	a := appendSampleValue(appendSampleValue(nil, "used", 42.5), "free", -1)
	b := appendSampleValue(nil, "used", 7)
	v := appendReportSample(appendReportSample([]byte{reportValueVersion}, "machine.disk:/", a), "machine.disk:/var", b)
	tests := []struct {
		series, attr string
		v            float64
		ok           bool
	}{
		{"machine.disk:/", "used", 42.5, true},
		{"machine.disk:/", "free", -1, true},
		{"machine.disk:/var", "used", 7, true},
		{"machine.disk:/var", "free", 0, false},
		{"machine.disk:", "used", 0, false},
		{"machine.disk:/x", "used", 0, false},
	}
	for _, tt := range tests {
		got, ok, err := reportAttr(v, tt.series, tt.attr)
		if err != nil || ok != tt.ok || got != tt.v {
			t.Errorf("reportAttr(%q, %q) = %v, %v, %v; want %v, %v, nil", tt.series, tt.attr, got, ok, err, tt.v, tt.ok)
		}
	}
	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"sample version byte", append([]byte{sampleValueVersion}, v[1:]...)},
		{"truncated", v[:len(v)-1]},
		{"truncated series", v[:4]},
		{"zero-length series", []byte{reportValueVersion, 0, 1, 0}},
		{"empty sample", []byte{reportValueVersion, 1, 's', 0}},
		{"bad attribute list", []byte{reportValueVersion, 1, 's', 2, 9, 'a'}},
		{"bad uvarint", append([]byte{reportValueVersion}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"non-canonical uvarint", []byte{reportValueVersion, 0x81, 0x00, 's', 1, 0}},
	}
	for _, tt := range bad {
		if _, _, err := reportAttr(tt.b, "s", "a"); err == nil {
			t.Errorf("%s: malformed value %x accepted", tt.name, tt.b)
		}
	}
}

// TestReportKeyRoundTrip: report keys decode to what built them and sort by
// time within a host, across zero.
func TestReportKeyRoundTrip(t *testing.T) {
	tests := []struct {
		host  string
		ns    int64
		first string
	}{
		{"web1", 1700000000123456789, "machine.cpu:all"},
		{"h", -5, "port.port:sshd (22)"},
	}
	for _, tt := range tests {
		h, ns, first, err := parseReportKey(reportKey(tt.host, tt.ns, tt.first))
		if err != nil || h != tt.host || ns != tt.ns || first != tt.first {
			t.Errorf("parse(reportKey(%q, %d, %q)) = %q, %d, %q, %v", tt.host, tt.ns, tt.first, h, ns, first, err)
		}
	}
	if string(reportKey("h", -1, "z")) >= string(reportKey("h", 1, "a")) {
		t.Error("report key of t=-1 does not sort before t=1")
	}
	for _, k := range [][]byte{nil, {0x01, 'H', 'P'}, {0x01, 'H', 'R', 'h', 0, 1, 2, 3, 4, 5, 6, 7, 8, 's'}, {0x01, 'H', 'P', 0, 1, 2, 3, 4, 5, 6, 7, 8, 's'}, {0x01, 'H', 'P', 'h', 0, 1, 2, 3}} {
		if _, _, _, err := parseReportKey(k); err == nil {
			t.Errorf("parseReportKey(%q) accepted", k)
		}
	}
}

// FuzzReportValue: decoding a raw report value never panics, and a value
// that decodes (framing and attribute lists) re-encodes to the same bytes,
// with every value found by reportAttr.
func FuzzReportValue(f *testing.F) {
	a := appendSampleValue(appendSampleValue(nil, "used", 42.5), "free", -1)
	f.Add(appendReportSample(appendReportSample([]byte{reportValueVersion}, "machine.disk:/", a), "x", appendSampleValue(nil, "u", 1)))
	f.Add([]byte{reportValueVersion})
	f.Add([]byte{reportValueVersion, 1, 's', 2, 9, 'a'})
	f.Add([]byte{reportValueVersion, 0x80})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		type val struct {
			series, attr string
			v            float64
		}
		var all []val
		again := []byte{reportValueVersion}
		var inner error
		err := walkReportValue(b, func(series, attrs []byte) bool {
			var list []byte
			_, inner = walkAttrs(attrs, func(a []byte, v float64) bool {
				all = append(all, val{string(series), string(a), v})
				list = appendSampleValue(list, string(a), v)
				return true
			})
			again = appendReportSample(again, string(series), list)
			return inner == nil
		})
		if err != nil || inner != nil {
			return
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decode(%x) = %v re-encodes to %x", b, all, again)
		}
		for _, x := range all {
			if _, ok, err := reportAttr(b, x.series, x.attr); !ok || err != nil {
				t.Fatalf("value %s.%s of %x not found: %v", x.series, x.attr, b, err)
			}
		}
	})
}

// FuzzParseReportKey: parsing never panics, and a key that parses is
// rebuilt identically by reportKey.
func FuzzParseReportKey(f *testing.F) {
	f.Add(reportKey("web1", 1700000000123456789, "machine.cpu:all"))
	f.Add([]byte{0x01, 'H', 'P', 'h', 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, k []byte) {
		host, ns, first, err := parseReportKey(k)
		if err != nil {
			return
		}
		if again := reportKey(host, ns, first); !bytes.Equal(again, k) {
			t.Fatalf("parse(%q) = %q, %d, %q rebuilds as %q", k, host, ns, first, again)
		}
	})
}
