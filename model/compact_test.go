package model

import (
	"maps"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

func TestCompactRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   Sample
	}{
		{"values", Sample{Service: "machine", Resource: "cpu", Unit: "total", Values: map[string]float64{"user": 1, "idle": 2.5, "used_percentage": -3}}},
		{"one value", Sample{Service: "machine", Resource: "load", Unit: "system", Values: map[string]float64{"load1": 0.5}}},
		{"empty map", Sample{Service: "a", Resource: "b", Unit: "c", Values: map[string]float64{}}},
		{"nil map", Sample{Service: "a", Resource: "b", Unit: "c"}},
		{"empty unit and name", Sample{Service: "a", Resource: "b", Values: map[string]float64{"": 1}}},
		{"many values", func() Sample {
			s := Sample{Service: "s", Resource: "r", Unit: "u", Values: map[string]float64{}}
			for i := range 40 {
				s.Values["v"+strconv.Itoa(i)] = float64(i)
			}
			return s
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Compact(tt.in)
			out := c.Sample()
			if out.Service != tt.in.Service || out.Resource != tt.in.Resource || out.Unit != tt.in.Unit ||
				!maps.Equal(out.Values, tt.in.Values) || (out.Values == nil) != (tt.in.Values == nil) {
				t.Fatalf("round trip of %+v gave %+v", tt.in, out)
			}
			if c.Key() != tt.in.Key() {
				t.Errorf("Key = %q, want %q", c.Key(), tt.in.Key())
			}
			for k, v := range tt.in.Values {
				if got, ok := c.Value(k); !ok || got != v {
					t.Errorf("Value(%q) = %v, %v; want %v", k, got, ok, v)
				}
			}
			if _, ok := c.Value("absent"); ok {
				t.Error("Value of an absent name found")
			}
			if len(tt.in.Values) > 0 {
				out.Values[c.Shape.Names[0]]++ // the built map is the caller's
				if c2 := c.Sample(); maps.Equal(c2.Values, out.Values) {
					t.Error("Sample shares its map between calls")
				}
			}
		})
	}
}

func TestShapeSharing(t *testing.T) {
	cpu := func(unit string, names ...string) Sample {
		s := Sample{Service: "machine", Resource: "cpu", Unit: unit, Values: map[string]float64{}}
		for i, n := range names {
			s.Values[n] = float64(i)
		}
		return s
	}
	a := Compact(cpu("cpu0", "user", "idle"))
	tests := []struct {
		name  string
		other Sample
		same  bool
	}{
		{"same series and names", cpu("cpu0", "idle", "user"), true},
		{"other unit", cpu("cpu1", "user", "idle"), false},
		{"fewer names", cpu("cpu0", "user"), false},
		{"other names", cpu("cpu0", "user", "steal"), false},
		{"nil vs values", Sample{Service: "machine", Resource: "cpu", Unit: "cpu0"}, false},
		{"ambiguous key", Sample{Service: "machine.cpu", Resource: "", Unit: "cpu0", Values: map[string]float64{"user": 0, "idle": 1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := Compact(tt.other)
			if (a.Shape == b.Shape) != tt.same {
				t.Fatalf("shared shape = %v, want %v", a.Shape == b.Shape, tt.same)
			}
			if a.Shape.Fits(tt.other) != tt.same {
				t.Fatalf("Fits = %v, want %v", !tt.same, tt.same)
			}
			if c := CompactLike(tt.other, a.Shape); c.Shape != b.Shape {
				t.Fatal("CompactLike did not use the fitting shape")
			}
		})
	}
	// Names are interned: shapes of other units share their strings.
	b := Compact(cpu("cpu7", "user", "idle"))
	if unsafe.StringData(a.Shape.Names[0]) != unsafe.StringData(b.Shape.Names[0]) {
		t.Error("attribute names of two shapes are not shared")
	}
	runtime.KeepAlive(a)
}

func TestShapeTableBounded(t *testing.T) {
	tab := &shapeTable{max: 4}
	var kept []*Shape
	for i := range 10 {
		s := Sample{Service: "s", Resource: "r", Unit: strconv.Itoa(i), Values: map[string]float64{"v": 1}}
		sh := tab.of(s)
		if !sh.Fits(s) {
			t.Fatalf("shape %+v does not fit %+v", sh, s)
		}
		kept = append(kept, sh)
	}
	if n := tab.len(); n != 4 {
		t.Fatalf("table has %d entries, want the bound 4", n)
	}
	// Past the bound, shapes still work but are not shared.
	s9 := Sample{Service: "s", Resource: "r", Unit: "9", Values: map[string]float64{"v": 2}}
	if tab.of(s9) == kept[9] {
		t.Fatal("a shape past the bound was shared")
	}
	if tab.of(Sample{Service: "s", Resource: "r", Unit: "0", Values: map[string]float64{"v": 2}}) != kept[0] {
		t.Fatal("a shape within the bound was not shared")
	}
	// Freed shapes leave the table, which makes room again.
	kept = nil
	deadline := time.Now().Add(5 * time.Second)
	for tab.len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left after their shapes were freed", tab.len())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(kept)
}

func TestCompareKey(t *testing.T) {
	tests := []struct{ key, service, resource, unit string }{
		{"machine.cpu:total", "machine", "cpu", "total"},
		{"machine.cpu:total", "machine", "cpu", "cpu0"},
		{"machine.cpu:cpu0", "machine", "cpu", "total"},
		{"machine.disk:/", "machine", "disk2", "/"},
		{"machine.disk2:/", "machine", "disk", "/"},
		{"machine.cpu:", "machine", "cpu", ""},
		{"machine.cpu", "machine", "cpu", ""},
		{"machine.cpu:x", "machine", "cpu", ""},
		{"", "a", "b", "c"},
		{"a.b.c:d", "a.b", "c", "d"},
		{"a.b.c:d", "a", "b.c", "d"},
		{"z", "a", "b", "c"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			want := compare(tt.key, SeriesKey(tt.service, tt.resource, tt.unit))
			if got := CompareKey(tt.key, tt.service, tt.resource, tt.unit); got != want {
				t.Fatalf("CompareKey(%q, %q, %q, %q) = %d, want %d", tt.key, tt.service, tt.resource, tt.unit, got, want)
			}
		})
	}
}

// compare is strings.Compare, written out so the test does not share
// CompareKey's building blocks.
func compare(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func FuzzCompareKey(f *testing.F) {
	f.Add("machine.cpu:total", "machine", "cpu", "total")
	f.Add("machine.cpu", "machine", "cpu", "")
	f.Add("a.b.c:d", "a.b", "c", "d")
	f.Add("", "", "", "")
	f.Fuzz(func(t *testing.T, key, service, resource, unit string) {
		want := compare(key, SeriesKey(service, resource, unit))
		if got := CompareKey(key, service, resource, unit); got != want {
			t.Fatalf("CompareKey(%q, %q, %q, %q) = %d, want %d", key, service, resource, unit, got, want)
		}
	})
}

func FuzzCompact(f *testing.F) {
	f.Add("machine", "cpu", "total", "user", 1.0, "idle", 2.0, false)
	f.Add("a", "b", "", "", 0.0, "", 0.0, true)
	f.Add("a.b", "c", "d", "x", -1.0, "y", 1e300, false)
	f.Fuzz(func(t *testing.T, service, resource, unit, n1 string, v1 float64, n2 string, v2 float64, nilMap bool) {
		s := Sample{Service: service, Resource: resource, Unit: unit}
		if !nilMap {
			s.Values = map[string]float64{n1: v1, n2: v2}
		}
		c := Compact(s)
		if !c.Shape.Fits(s) {
			t.Fatalf("shape %+v does not fit %+v", c.Shape, s)
		}
		out := c.Sample()
		if out.Key() != s.Key() || c.Key() != s.Key() || len(out.Values) != len(s.Values) || (out.Values == nil) != nilMap {
			t.Fatalf("round trip of %+v gave %+v", s, out)
		}
		for k, v := range s.Values {
			if got, ok := out.Values[k]; !ok || (got != v && v == v) {
				t.Fatalf("value %q: %v, want %v", k, got, v)
			}
		}
		if again := Compact(s); again.Shape != c.Shape && shapes.len() < MaxShapes/2 {
			t.Fatal("the same shape was not shared")
		}
	})
}

// TestCompactSamples checks that All and Samples cut the flat values at
// each shape's number of names, in order, including shapes without names.
func TestCompactSamples(t *testing.T) {
	in := []Sample{
		{Service: "m", Resource: "cpu", Unit: "total", Values: map[string]float64{"idle": 1, "user": 2}},
		{Service: "m", Resource: "heartbeat", Unit: "", Values: nil},
		{Service: "m", Resource: "disk", Unit: "/", Values: map[string]float64{}},
		{Service: "m", Resource: "load", Unit: "system", Values: map[string]float64{"load1": 3, "load5": 4, "load15": 5}},
	}
	tests := []struct {
		name string
		in   []Sample
	}{
		{"none", nil},
		{"one", in[:1]},
		{"empty ones in the middle", in},
		{"only empty", in[1:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs CompactSamples
			for _, s := range tt.in {
				c := Compact(s)
				cs.Shapes = append(cs.Shapes, c.Shape)
				cs.Values = append(cs.Values, c.Values...)
			}
			if cs.Len() != len(tt.in) {
				t.Fatalf("Len = %d, want %d", cs.Len(), len(tt.in))
			}
			got := cs.Samples()
			if len(tt.in) == 0 {
				if got != nil {
					t.Fatalf("Samples of none = %+v, want nil", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.in) {
				t.Fatalf("Samples = %+v, want %+v", got, tt.in)
			}
			n := 0
			for i, c := range cs.All() {
				if i != n || c.Shape != cs.Shapes[i] || len(c.Values) != len(c.Shape.Names) || cap(c.Values) != len(c.Values) {
					t.Fatalf("All at %d: %+v", i, c)
				}
				n++
				if i == 1 {
					break // stopping early must be honoured
				}
			}
			if want := min(len(tt.in), 2); n != want {
				t.Fatalf("All yielded %d samples before the break, want %d", n, want)
			}
		})
	}
}
