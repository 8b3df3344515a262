package rules

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/lookout-mon/lookout/model"
)

// Address selects values: `host!service.resource:unit.attribute`, every
// segment a glob (see the package comment). The fields hold the patterns as
// written; the compiled matchers are derived from them by ParseAddress and
// Parse, so build addresses with those: an Address literal matches only
// empty names.
type Address struct {
	Host     string
	Service  string
	Resource string
	Unit     string
	Attr     string

	host, service, resource, unit, attr glob
}

// ParseAddress parses `host!service.resource:unit.attribute`. The host is
// what precedes the first '!', the attribute what follows the last '.', the
// service runs to the first '.', the resource to the next ':' and the unit is
// the rest, so units may contain dots, colons, slashes and spaces.
func ParseAddress(s string) (Address, error) {
	a, _, err := parseAddress(s)
	return a, err
}

// parseAddress is ParseAddress that also returns the byte offset within s of
// the part an error is about.
func parseAddress(s string) (Address, int, error) {
	const want = "want host!service.resource:unit.attribute"
	bang := strings.IndexByte(s, '!')
	if bang < 0 {
		return Address{}, 0, fmt.Errorf("address %q has no '!' after the host (%s)", s, want)
	}
	rest := s[bang+1:]
	lastDot := strings.LastIndexByte(rest, '.')
	if lastDot < 0 {
		return Address{}, bang + 1, fmt.Errorf("address %q has no '.' before the attribute (%s)", s, want)
	}
	middle := rest[:lastDot]
	dot := strings.IndexByte(middle, '.')
	if dot < 0 {
		return Address{}, bang + 1, fmt.Errorf("address %q has no '.' between service and resource (%s)", s, want)
	}
	colon := strings.IndexByte(middle[dot+1:], ':')
	if colon < 0 {
		return Address{}, bang + 1 + dot + 1, fmt.Errorf("address %q has no ':' between resource and unit (%s)", s, want)
	}
	colon += dot + 1
	a := Address{
		Host:     s[:bang],
		Service:  middle[:dot],
		Resource: middle[dot+1 : colon],
		Unit:     middle[colon+1:],
		Attr:     rest[lastDot+1:],
	}
	offUnit := bang + 1 + colon + 1
	segs := []struct {
		name                 string
		pat                  string
		off                  int
		dst                  *glob
		mayBeEmpty, maySpace bool
	}{
		{"host", a.Host, 0, &a.host, false, false},
		{"service", a.Service, bang + 1, &a.service, false, false},
		{"resource", a.Resource, bang + 1 + dot + 1, &a.resource, false, false},
		{"unit", a.Unit, offUnit, &a.unit, true, true},
		{"attribute", a.Attr, bang + 1 + lastDot + 1, &a.attr, false, false},
	}
	for _, sg := range segs {
		if sg.pat == "" && !sg.mayBeEmpty {
			return Address{}, sg.off, fmt.Errorf("address %q has an empty %s (use * for any)", s, sg.name)
		}
		if i := strings.IndexFunc(sg.pat, unicode.IsControl); i >= 0 {
			return Address{}, sg.off + i, fmt.Errorf("%s pattern %q contains a control character", sg.name, sg.pat)
		}
		if !sg.maySpace {
			if i := strings.IndexFunc(sg.pat, unicode.IsSpace); i >= 0 {
				return Address{}, sg.off + i, fmt.Errorf("%s pattern %q contains a space", sg.name, sg.pat)
			}
		}
		pat := sg.pat
		if sg.name == "unit" {
			pat = stripComments(pat)
		}
		g, err := compileGlob(pat)
		if err != nil {
			return Address{}, sg.off, fmt.Errorf("%s pattern: %w", sg.name, err)
		}
		*sg.dst = g
	}
	return a, 0, nil
}

// String returns the address as written: host!service.resource:unit.attribute.
func (a Address) String() string {
	return a.Host + "!" + model.SeriesKey(a.Service, a.Resource, a.Unit) + "." + a.Attr
}

// Match reports whether the host and series (service, resource, unit) match
// the address; the attribute is not looked at. Comments in parentheses are
// stripped from unit before matching.
func (a Address) Match(host, service, resource, unit string) bool {
	return a.matchStripped(host, service, resource, stripComments(unit))
}

// matchStripped is Match for a unit already passed through stripComments.
func (a *Address) matchStripped(host, service, resource, unit string) bool {
	return a.service.match(service) && a.resource.match(resource) &&
		a.host.match(host) && a.unit.match(unit)
}

// MatchAttr reports whether attr matches the attribute pattern.
func (a Address) MatchAttr(attr string) bool { return a.attr.match(attr) }

// MatchSample returns the attributes of s.Values that the address selects for
// host, sorted; nil when the sample's series does not match.
func (a Address) MatchSample(host string, s model.Sample) []string {
	return a.matchSampleStripped(host, &s, stripComments(s.Unit), nil)
}

// matchSampleStripped appends the matching attributes to dst, sorted.
func (a *Address) matchSampleStripped(host string, s *model.Sample, unit string, dst []string) []string {
	if !a.matchStripped(host, s.Service, s.Resource, unit) {
		return dst
	}
	if a.attr.kind == globLiteral {
		if _, ok := s.Values[a.attr.lit]; ok {
			dst = append(dst, a.attr.lit)
		}
		return dst
	}
	start := len(dst)
	for k := range s.Values {
		if a.attr.match(k) {
			dst = append(dst, k)
		}
	}
	sort.Strings(dst[start:])
	return dst
}
