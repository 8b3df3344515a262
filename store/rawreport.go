package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/lookout-mon/lookout/model"
)

// RawReport is one report's raw history value, encoded off the ingest's
// serial path (by its parallel verifiers) with EncodeReport and written
// with the report's commit by Batch.PutReport. The zero RawReport (a
// report without a storable value) writes nothing.
type RawReport struct {
	// Value is the raw report value (reportValueVersion, then every
	// written sample: series name and attributes); nil if nothing is
	// written.
	Value []byte
	// First is the series of the first written sample (the key's suffix).
	First string
}

// EncodeReport encodes samples as AddSamples' raw entry does: samples
// whose series or names are not valid history names are skipped, as are
// attributes with a bad name or a NaN or infinite value, and samples left
// without attributes.
func EncodeReport(samples []model.Sample) RawReport {
	var rr RawReport
	var attrs []byte
	for i := range samples {
		sm := &samples[i]
		if strings.IndexByte(sm.Service, 0) >= 0 || strings.IndexByte(sm.Resource, 0) >= 0 {
			continue
		}
		series := sm.Key()
		if checkName("series", series) != nil {
			continue
		}
		attrs = attrs[:0]
		for attr, v := range sm.Values {
			if checkName("attribute", attr) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			attrs = appendSampleValue(attrs, attr, v)
		}
		if len(attrs) == 0 {
			continue
		}
		if rr.Value == nil {
			rr.Value = make([]byte, 1, 16+len(samples)*(len(series)+len(attrs)+4))
			rr.Value[0] = reportValueVersion
			rr.First = series
		}
		rr.Value = appendReportSample(rr.Value, series, attrs)
	}
	return rr
}

// PutReport adds host's raw report of time t (unix nanoseconds), as
// AddSamples writes it (kept RawRetention after t), to the batch: Commit
// appends it to the raw log before it commits the batch's other writes. It
// writes nothing for an empty RawReport, for a report older than the raw
// retention, or while the history is read-only (free space low, see
// ErrHistoryReadOnly). Its only error is an invalid host name (or an
// earlier error of the batch); raw reports never fill a batch.
func (b *Batch) PutReport(host string, t int64, rr RawReport) error {
	if b.err != nil {
		return b.err
	}
	if rr.Value == nil || b.s.historyRO.Load() {
		return nil
	}
	if err := checkName("host", host); err != nil {
		b.err = err
		return err
	}
	b.raw = append(b.raw, rawRec{host: host, t: t, first: rr.First, value: rr.Value})
	b.n++
	return nil
}

// RawRetention is how long raw reports are kept (Options.RawRetention).
func (s *Store) RawRetention() time.Duration { return s.opt.RawRetention }

// Reports calls fn, in time order, for each of host's raw reports of time
// from (unix nanoseconds) or later that is still kept, with its time and
// samples. Only raw reports are read (one entry per report), not the
// per-sample raw entries of older versions. A report's samples carry the
// series name split by SplitSeries; their Values maps are fn's to keep.
// An error from fn stops the iteration and is returned as is; a value that
// does not decode is an error too.
func (s *Store) Reports(host string, from int64, fn func(t int64, samples []model.Sample) error) error {
	if err := checkName("host", host); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	reps, err := s.rawReports(host, from, math.MaxInt64)
	if err != nil {
		return fmt.Errorf("store: raw reports of %s: %w", host, err)
	}
	for _, r := range reps {
		samples, err := decodeReport(r.value)
		if err != nil {
			return fmt.Errorf("store: raw reports of %s: raw report at %d: %w", host, r.t, err)
		}
		if err := fn(r.t, samples); err != nil {
			return err
		}
	}
	return nil
}

// rawReports returns host's raw reports with from <= t <= to that are
// still kept, in time order (then by first series), each (time, first
// series) once: those of the raw log and, until they expire, those badger
// holds from before the raw log ('P' keys; the raw log's copy wins).
// The caller holds s.enter.
func (s *Store) rawReports(host string, from, to int64) ([]rawEntry, error) {
	reps, err := s.raw.scan(host, from, to)
	if err != nil {
		return nil, err
	}
	var legacy []rawEntry
	pfx := reportPrefix(host)
	errEnd := errors.New("end of range")
	err = s.scan(pfx, encodeTime(bytes.Clone(pfx), from), func(item *badger.Item) error {
		_, t, first, err := parseReportKey(item.Key())
		if err != nil {
			return err
		}
		if t > to {
			return errEnd
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("raw report at %d: %w", t, err)
		}
		legacy = append(legacy, rawEntry{t: t, first: first, value: v})
		return nil
	}, func(err error) error { return err })
	if err != nil && !errors.Is(err, errEnd) {
		return nil, err
	}
	if len(legacy) == 0 {
		return reps, nil
	}
	return lastCopies(append(legacy, reps...)), nil // legacy first: the raw log's copy wins
}

// decodeReport decodes a raw report value into samples.
func decodeReport(v []byte) ([]model.Sample, error) {
	var out []model.Sample
	var inner error
	err := walkReportValue(v, func(series, attrs []byte) bool {
		service, resource, unit := SplitSeries(string(series))
		sm := model.Sample{Service: service, Resource: resource, Unit: unit, Values: map[string]float64{}}
		_, inner = walkAttrs(attrs, func(a []byte, x float64) bool {
			sm.Values[string(a)] = x
			return true
		})
		if inner != nil {
			return false
		}
		out = append(out, sm)
		return true
	})
	if err == nil {
		err = inner
	}
	return out, err
}

// SplitSeries splits a series name (model.SeriesKey: service.resource:unit)
// at its first '.' and the first ':' after it. A raw report stores only the
// series name, so a service with a '.' (or a resource with a ':') splits
// differently than it was sent; callers that know the series (e.g. from
// last values) should prefer their own parts.
func SplitSeries(series string) (service, resource, unit string) {
	i := strings.IndexByte(series, '.')
	if i < 0 {
		return series, "", ""
	}
	service, rest := series[:i], series[i+1:]
	j := strings.IndexByte(rest, ':')
	if j < 0 {
		return service, rest, ""
	}
	return service, rest[:j], rest[j+1:]
}

// AddRollupsBatch is AddSamplesBatch without the raw entries: only the
// 1m and 1h rollups, for reports whose raw entry was committed with them
// by Batch.PutReport.
func (s *Store) AddRollupsBatch(items []HostSamples) error {
	return s.addSamplesBatch(items, false)
}
