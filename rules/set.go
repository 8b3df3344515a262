package rules

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lookout-mon/lookout/model"
)

// RuleSet is an immutable set of rules with unique names, evaluated together
// against reports. It is safe for concurrent use; to change rules, build a
// new set.
type RuleSet struct {
	rules  []*Rule
	byName map[string]*Rule
	// Rules whose service and resource patterns are literals are indexed by
	// them; the others are tried on every sample. Both hold indexes into
	// rules, ascending.
	bySeries map[seriesKind][]int
	generic  []int

	// units caches stripComments of units that have a comment, up to
	// maxCachedUnits entries (agents choose unit names; the cache must not
	// grow without bound).
	units  sync.Map // string -> string
	nunits atomic.Int64
}

const maxCachedUnits = 4096

// stripUnit is stripComments with the set's cache.
func (s *RuleSet) stripUnit(unit string) string {
	if strings.IndexByte(unit, '(') < 0 {
		return unit
	}
	if v, ok := s.units.Load(unit); ok {
		return v.(string)
	}
	stripped := stripComments(unit)
	if s.nunits.Load() < maxCachedUnits {
		if _, loaded := s.units.LoadOrStore(unit, stripped); !loaded {
			s.nunits.Add(1)
		}
	}
	return stripped
}

type seriesKind struct{ service, resource string }

// NewRuleSet returns a set of rules, sorted by name. It fails, naming every
// problem, on nil rules and duplicate names.
func NewRuleSet(rules ...*Rule) (*RuleSet, error) {
	s := &RuleSet{byName: make(map[string]*Rule, len(rules))}
	var errs []error
	for i, r := range rules {
		if r == nil {
			errs = append(errs, fmt.Errorf("rule %d is nil", i))
			continue
		}
		if _, dup := s.byName[r.Name]; dup {
			errs = append(errs, fmt.Errorf("rule %q is defined twice", r.Name))
			continue
		}
		s.byName[r.Name] = r
		s.rules = append(s.rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(s.rules, func(i, j int) bool { return s.rules[i].Name < s.rules[j].Name })
	s.bySeries = map[seriesKind][]int{}
	for i, r := range s.rules {
		a := &r.Address
		if a.service.kind == globLiteral && a.resource.kind == globLiteral {
			k := seriesKind{a.service.lit, a.resource.lit}
			s.bySeries[k] = append(s.bySeries[k], i)
		} else {
			s.generic = append(s.generic, i)
		}
	}
	return s, nil
}

// Rules returns the rules sorted by name. The slice must not be modified.
func (s *RuleSet) Rules() []*Rule { return s.rules }

// Get returns the rule called name, or nil.
func (s *RuleSet) Get(name string) *Rule { return s.byName[name] }

// Len returns the number of rules.
func (s *RuleSet) Len() int { return len(s.rules) }

// Match is one value selected by one rule.
type Match struct {
	Rule   *Rule
	Sample int    // index in the report's samples
	Series string // service.resource:unit, unit as reported (comment kept)
	Attr   string
	Value  float64
}

// MatchReport appends to dst every (rule, value) of samples that a rule
// selects for host, in sample order, then rule name, then attribute, and
// returns the extended slice. Only rules whose service and resource can
// match are tried, and each sample's unit is stripped of comments once per
// set (cached), not once per rule; pass dst[:0] of a previous call to avoid
// allocating.
func (s *RuleSet) MatchReport(host string, samples []model.Sample, dst []Match) []Match {
	var attrs []string
	for i := range samples {
		sm := &samples[i]
		indexed := s.bySeries[seriesKind{sm.Service, sm.Resource}]
		generic := s.generic
		if len(indexed) == 0 && len(generic) == 0 {
			continue
		}
		unit := s.stripUnit(sm.Unit)
		series := ""
		// Merge the two ascending index lists to keep rule-name order.
		for len(indexed) > 0 || len(generic) > 0 {
			var ri int
			if len(generic) == 0 || (len(indexed) > 0 && indexed[0] < generic[0]) {
				ri, indexed = indexed[0], indexed[1:]
			} else {
				ri, generic = generic[0], generic[1:]
			}
			r := s.rules[ri]
			attrs = r.Address.matchSampleStripped(host, sm, unit, attrs[:0])
			if len(attrs) == 0 {
				continue
			}
			if series == "" {
				series = sm.Key()
			}
			for _, at := range attrs {
				dst = append(dst, Match{Rule: r, Sample: i, Series: series, Attr: at, Value: sm.Values[at]})
			}
		}
	}
	return dst
}
