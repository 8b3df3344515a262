package actors

import (
	"maps"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/lookout-mon/lookout/model"
)

// lvReference is what lastValues must hold: the last sample of each series.
type lvReference map[string]model.Sample

func (r lvReference) set(s model.Sample) {
	c := model.Sample{Service: s.Service, Resource: s.Resource, Unit: s.Unit}
	if s.Values != nil {
		c.Values = maps.Clone(s.Values)
	}
	r[s.Key()] = c
}

func (r lvReference) list() []model.Sample {
	var out []model.Sample
	for _, k := range slices.Sorted(maps.Keys(r)) {
		out = append(out, r[k])
	}
	return out
}

// checkLastValues compares lv with ref and checks that the flat layout is
// consistent: one value per name of every shape, no spare capacity.
func checkLastValues(t *testing.T, what string, lv *lastValues, ref lvReference) {
	t.Helper()
	if got, want := lv.list(), ref.list(); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: list = %+v, want %+v", what, got, want)
	}
	n := 0
	for _, sh := range lv.s.Shapes {
		n += len(sh.Names)
	}
	if len(lv.s.Values) != n || cap(lv.s.Values) != n || cap(lv.s.Shapes) != len(lv.s.Shapes) {
		t.Fatalf("%s: %d values (cap %d) for shapes with %d names, %d shapes (cap %d)",
			what, len(lv.s.Values), cap(lv.s.Values), n, len(lv.s.Shapes), cap(lv.s.Shapes))
	}
}

// TestLastValuesFlatShapeChanges: a series in the middle of the list that
// gains or loses attributes, or whose values become nil, moves the values
// of the series after it; snapshots taken before stay as they were.
func TestLastValuesFlatShapeChanges(t *testing.T) {
	smp := func(res string, vals map[string]float64) model.Sample {
		return model.Sample{Service: "machine", Resource: res, Unit: "u", Values: vals}
	}
	base := []model.Sample{
		smp("a", map[string]float64{"x": 1, "y": 2}),
		smp("b", map[string]float64{"x": 3, "y": 4, "z": 5}),
		smp("c", map[string]float64{"x": 6}),
	}
	tests := []struct {
		name  string
		after []model.Sample
	}{
		{"values only", []model.Sample{smp("b", map[string]float64{"x": 7, "y": 8, "z": 9})}},
		{"middle gains an attribute", []model.Sample{smp("b", map[string]float64{"w": 0, "x": 7, "y": 8, "z": 9})}},
		{"middle loses attributes", []model.Sample{smp("b", map[string]float64{"z": 9})}},
		{"middle becomes nil", []model.Sample{smp("b", nil)}},
		{"middle becomes empty, then full", []model.Sample{smp("b", map[string]float64{}), smp("b", map[string]float64{"q": 1})}},
		{"first and last change", []model.Sample{smp("a", map[string]float64{"y": -1}), smp("c", map[string]float64{"x": 2, "k": math.Inf(1)})}},
		{"insert before, between and after", []model.Sample{smp("0", map[string]float64{"x": 1}), smp("bb", map[string]float64{"x": 2}), smp("d", nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lv lastValues
			ref := lvReference{}
			for _, s := range base {
				lv.set(s)
				ref.set(s)
			}
			checkLastValues(t, "base", &lv, ref)
			snap := lv.snapshot()
			before := expandSamples(snap)
			for _, s := range tt.after {
				lv.set(s)
				ref.set(s)
				checkLastValues(t, "after "+s.Key(), &lv, ref)
			}
			if got := expandSamples(snap); !reflect.DeepEqual(got, before) {
				t.Fatalf("snapshot changed: %+v, was %+v", got, before)
			}
		})
	}
}

// FuzzLastValues drives lastValues with samples built from the input (a
// few series, names and values) and checks it against a map of the last
// sample per series, with a snapshot taken now and then that must not
// change.
func FuzzLastValues(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{3, 0xff, 3, 0x0f, 9, 0xf0, 1, 0, 3, 0xff})
	f.Add([]byte{0, 0, 0, 0, 0x80, 1, 2, 0x81, 2, 3})
	f.Fuzz(func(t *testing.T, in []byte) {
		var lv lastValues
		ref := lvReference{}
		var snap model.CompactSamples
		var snapWant []model.Sample
		names := []string{"a", "b", "c", "d", "e", "f", "g"}
		for len(in) >= 2 {
			op, mask := in[0], in[1]
			in = in[2:]
			if op&0x80 != 0 { // take a snapshot
				snap = lv.snapshot()
				snapWant = snap.Samples()
			}
			s := model.Sample{Service: "s", Resource: string(rune('a' + op%5)), Unit: string(rune('a' + (op>>3)%3))}
			if mask != 0 {
				s.Values = map[string]float64{}
				for i, n := range names {
					if mask&(1<<i) != 0 {
						s.Values[n] = float64(op) + float64(i)/8
					}
				}
			}
			lv.set(s)
			ref.set(s)
			checkLastValues(t, "after "+s.Key(), &lv, ref)
			if snapWant != nil && !reflect.DeepEqual(snap.Samples(), snapWant) {
				t.Fatalf("snapshot changed")
			}
		}
	})
}
