package model

import (
	"encoding/binary"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unique"
	"weak"
)

// Shape is what the values of a sample mean: its series (service, resource,
// unit) and its attribute names, sorted. A series keeps its shape from
// report to report, and hosts of one kind share most shapes (every "cpu0"
// sample of the agent has the same attributes), so a process keeps one
// copy of each shape (ShapeOf) and a sample as a Shape and its values
// (CompactSample): the names are not stored per host and per sample.
//
// A Shape is immutable: never modify one returned by ShapeOf.
type Shape struct {
	Service  string
	Resource string
	Unit     string
	// Key is SeriesKey(Service, Resource, Unit).
	Key string
	// Names are the attribute names, sorted and distinct.
	Names []string
	// NilValues records that the sample's Values map was nil (rather than
	// empty), so that Sample gives back exactly what was compacted.
	NilValues bool
}

// Index returns the position of name in s.Names, or -1.
func (s *Shape) Index(name string) int {
	if i, ok := slices.BinarySearch(s.Names, name); ok {
		return i
	}
	return -1
}

// Fits reports whether smp has s's series and exactly s's attribute names,
// that is whether smp can be stored as s and values.
func (s *Shape) Fits(smp Sample) bool {
	if s.Service != smp.Service || s.Resource != smp.Resource || s.Unit != smp.Unit ||
		len(s.Names) != len(smp.Values) || s.NilValues != (smp.Values == nil) {
		return false
	}
	for _, n := range s.Names {
		if _, ok := smp.Values[n]; !ok {
			return false
		}
	}
	return true
}

// CompactSample is a Sample as its shared Shape and its values: Values[i]
// is the value of Shape.Names[i]. It costs a pointer, a slice and 8 bytes
// per value, where a Sample's map costs about 40 bytes per value plus its
// names. A CompactSample handed to another goroutine must not be modified.
type CompactSample struct {
	Shape  *Shape
	Values []float64
}

// Compact returns s as a CompactSample with a shared shape (ShapeOf). The
// values are copied: s is not kept.
func Compact(s Sample) CompactSample { return CompactLike(s, nil) }

// CompactLike is Compact with a hint: when s fits hint (usually the shape
// of the series' previous sample), hint is used without a look-up in the
// shape table, which makes the common case a few map reads.
func CompactLike(s Sample, hint *Shape) CompactSample {
	sh := hint
	if sh == nil || !sh.Fits(s) {
		sh = ShapeOf(s)
	}
	var vals []float64
	if len(sh.Names) > 0 {
		vals = make([]float64, len(sh.Names))
		for i, n := range sh.Names {
			vals[i] = s.Values[n]
		}
	}
	return CompactSample{Shape: sh, Values: vals}
}

// Key returns the series key ("service.resource:unit").
func (c CompactSample) Key() string { return c.Shape.Key }

// Value returns the value of attribute name.
func (c CompactSample) Value(name string) (float64, bool) {
	if i := c.Shape.Index(name); i >= 0 {
		return c.Values[i], true
	}
	return 0, false
}

// Sample builds the Sample c stands for, with a map of its own.
func (c CompactSample) Sample() Sample {
	sh := c.Shape
	out := Sample{Service: sh.Service, Resource: sh.Resource, Unit: sh.Unit}
	if !sh.NilValues {
		out.Values = make(map[string]float64, len(sh.Names))
		for i, n := range sh.Names {
			out.Values[n] = c.Values[i]
		}
	}
	return out
}

// CompactSamples is a list of samples as their shared shapes and all their
// values in one slice: Values holds the values of Shapes[0] (one per name,
// in Names order), then those of Shapes[1], and so on. It costs two
// allocations whatever the number of samples and 8 bytes per sample and
// per value, where a []CompactSample costs 32 bytes and an allocation per
// sample. A CompactSamples handed to another goroutine must not be
// modified.
type CompactSamples struct {
	Shapes []*Shape
	Values []float64
}

// Len returns the number of samples.
func (cs CompactSamples) Len() int { return len(cs.Shapes) }

// All yields the index and the CompactSample of each sample, in order; the
// CompactSample's Values alias cs.Values.
func (cs CompactSamples) All() iter.Seq2[int, CompactSample] {
	return func(yield func(int, CompactSample) bool) {
		off := 0
		for i, sh := range cs.Shapes {
			end := off + len(sh.Names)
			var vals []float64
			if end > off {
				vals = cs.Values[off:end:end]
			}
			if !yield(i, CompactSample{Shape: sh, Values: vals}) {
				return
			}
			off = end
		}
	}
}

// Samples builds the Sample of each compact sample, each with a map of its
// own; nil if there are none.
func (cs CompactSamples) Samples() []Sample {
	if len(cs.Shapes) == 0 {
		return nil
	}
	out := make([]Sample, len(cs.Shapes))
	for i, c := range cs.All() {
		out[i] = c.Sample()
	}
	return out
}

// CompareKey compares key with SeriesKey(service, resource, unit) like
// strings.Compare, without building the latter.
func CompareKey(key, service, resource, unit string) int {
	for _, part := range [...]string{service, ".", resource, ":", unit} {
		n := min(len(key), len(part))
		if c := strings.Compare(key[:n], part[:n]); c != 0 {
			return c
		}
		if n < len(part) {
			return -1 // key is a proper prefix
		}
		key = key[n:]
	}
	if len(key) > 0 {
		return 1
	}
	return 0
}

// MaxShapes bounds the shape table. Past it (hostile or unusual input:
// every series with its own attributes), ShapeOf returns shapes that are
// not shared, which costs memory per sample but stays correct. Shapes no
// sample uses any more leave the table when the garbage collector frees
// them, so the bound only counts shapes in use.
const MaxShapes = 1 << 16

// shapes is the process-wide shape table: the signature of a shape (see
// signature) to a weak pointer, removed by a cleanup when the shape is
// freed.
var shapes = shapeTable{max: MaxShapes}

type shapeTable struct {
	mu  sync.Mutex
	m   map[string]weak.Pointer[Shape]
	max int
}

// ShapeOf returns the shared Shape of s: same series, same attribute
// names. Its strings are interned (package unique), so shapes that differ
// only in their unit share their names.
func ShapeOf(s Sample) *Shape { return shapes.of(s) }

func (t *shapeTable) of(s Sample) *Shape {
	var nbuf [16]string
	names := nbuf[:0]
	for n := range s.Values {
		names = append(names, n)
	}
	slices.Sort(names)
	var sbuf [512]byte
	sig := signature(sbuf[:0], s, names)
	t.mu.Lock()
	defer t.mu.Unlock()
	if wp, ok := t.m[string(sig)]; ok {
		if sh := wp.Value(); sh != nil {
			return sh
		}
	}
	sh := &Shape{Service: intern(s.Service), Resource: intern(s.Resource), Unit: intern(s.Unit),
		NilValues: s.Values == nil}
	sh.Key = intern(SeriesKey(sh.Service, sh.Resource, sh.Unit))
	if len(names) > 0 {
		sh.Names = make([]string, len(names))
		for i, n := range names {
			sh.Names[i] = intern(n)
		}
	}
	if t.m == nil {
		t.m = map[string]weak.Pointer[Shape]{}
	}
	if _, ok := t.m[string(sig)]; !ok && len(t.m) >= t.max {
		return sh // table full: a shape of its own
	}
	key := string(sig)
	t.m[key] = weak.Make(sh)
	runtime.AddCleanup(sh, t.forget, key)
	return sh
}

// forget removes the entry of a freed shape, unless a new shape with the
// same signature took its place meanwhile.
func (t *shapeTable) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if wp, ok := t.m[key]; ok && wp.Value() == nil {
		delete(t.m, key)
	}
}

// len returns the number of entries (for tests).
func (t *shapeTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// signature appends an unambiguous encoding of the series and the sorted
// names to b: each string length-prefixed, the names preceded by their
// count, and a last byte for NilValues.
func signature(b []byte, s Sample, names []string) []byte {
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	str(s.Service)
	str(s.Resource)
	str(s.Unit)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		str(n)
	}
	if s.Values == nil {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return b
}

// intern returns the canonical copy of v.
func intern(v string) string { return unique.Make(v).Value() }
