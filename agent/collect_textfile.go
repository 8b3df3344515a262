package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

// Textfile collector limits.
const (
	// TextfileMaxLines is how many lines of one file are read; the rest is
	// ignored with a warning.
	TextfileMaxLines = 1000
	// TextfileMaxBytes is the largest file read; a larger file is skipped
	// whole (a partial read could cut a value in half).
	TextfileMaxBytes = 64 << 10
	// TextfileMaxFiles is how many *.txt files are read per collection.
	TextfileMaxFiles = 256
	// textfileMaxAddr caps the address part of a line.
	textfileMaxAddr = 512
	// textfileWarnEvery rate-limits the warning about one file:line problem.
	textfileWarnEvery = 10 * time.Minute
)

// TextfileCollector reads values pushed by other programs, like
// node_exporter's textfile collector: every regular file named *.txt in Dir
// holds lines
//
//	service.resource:unit.attribute value
//
// for example "app.queue:jobs.length 12" or
// "machine.memory:physical.used_percentage 95". Blank lines and lines
// starting with '#' are ignored. The address is split like a rule address
// (attribute after the last '.', service before the first '.', resource up to
// the next ':'), so a unit may contain dots and spaces ("/dev/sda1 (/)") but
// an attribute may not contain a dot. The value is the last
// whitespace-separated field and must be a finite number.
//
// Bad lines are skipped with a WARN naming file:line (each distinct problem
// at most once per 10 minutes); they never stop the other lines. Values with
// the same service, resource and unit, from any file, are merged into one
// sample; a repeated attribute takes the later value (files are read in name
// order). Writers should write a temporary file and rename it over the
// *.txt name, so a collection never sees a half-written file.
type TextfileCollector struct {
	// Dir is the directory scanned for *.txt files.
	Dir string
	// Log receives the warnings about bad lines (slog.Default when nil).
	Log *slog.Logger

	warned map[string]time.Time
	now    func() time.Time
}

// NewTextfileCollector returns a TextfileCollector reading dir.
func NewTextfileCollector(dir string, log *slog.Logger) *TextfileCollector {
	if log == nil {
		log = slog.Default()
	}
	return &TextfileCollector{Dir: dir, Log: log.With("collector", "textfile", "dir", dir)}
}

// Name implements Collector.
func (c *TextfileCollector) Name() string { return "textfile" }

// Collect implements Collector. A missing or unreadable directory is an
// error; problems inside files are warnings.
func (c *TextfileCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	if c.Dir == "" {
		return nil, errors.New("textfile: no directory configured")
	}
	if st, err := os.Stat(c.Dir); err != nil {
		return nil, fmt.Errorf("textfile: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("textfile: %s is not a directory", c.Dir)
	}
	names, err := filepath.Glob(filepath.Join(c.Dir, "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("textfile: list %s: %w", c.Dir, err)
	}
	sort.Strings(names)
	if len(names) > TextfileMaxFiles {
		c.warn("files", "too many *.txt files; only the first ones in name order are read", "files", len(names), "max", TextfileMaxFiles)
		names = names[:TextfileMaxFiles]
	}
	m := newSampleMerger()
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return m.samples(), fmt.Errorf("textfile: %w", err)
		}
		c.readFile(name, m)
	}
	c.gcWarned()
	return m.samples(), nil
}

// readFile parses one file into m, warning about every problem.
func (c *TextfileCollector) readFile(name string, m *sampleMerger) {
	base := filepath.Base(name)
	b, err := readLimited(name, TextfileMaxBytes)
	if err != nil {
		c.warn(base, "textfile skipped", "file", base, "err", err)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), TextfileMaxBytes+1)
	n := 0
	for sc.Scan() {
		n++
		if n > TextfileMaxLines {
			c.warn(base+":lines", "textfile has too many lines; the rest is ignored", "file", base, "max_lines", TextfileMaxLines)
			return
		}
		s, attr, v, ok, err := ParseTextfileLine(sc.Text())
		if err != nil {
			pos := fmt.Sprintf("%s:%d", base, n)
			c.warn(pos+": "+err.Error(), "textfile line skipped", "at", pos, "err", err)
			continue
		}
		if !ok {
			continue
		}
		if prev, dup := m.add(s, attr, v, fmt.Sprintf("%s:%d", base, n)); dup {
			pos := fmt.Sprintf("%s:%d", base, n)
			c.warn(pos+": dup", "textfile value repeated; the later one wins", "at", pos, "previous", prev,
				"address", model.SeriesKey(s.Service, s.Resource, s.Unit)+"."+attr)
		}
	}
}

// readLimited reads the regular file name, refusing one larger than limit
// bytes.
func readLimited(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", name)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}

// warn logs msg at WARN unless the same key was warned about within
// textfileWarnEvery.
func (c *TextfileCollector) warn(key, msg string, args ...any) {
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	t := now()
	if c.warned == nil {
		c.warned = map[string]time.Time{}
	}
	if last, ok := c.warned[key]; ok && t.Sub(last) < textfileWarnEvery {
		return
	}
	c.warned[key] = t
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	log.Warn(msg, args...)
}

// gcWarned bounds the rate-limit memory.
func (c *TextfileCollector) gcWarned() {
	if len(c.warned) <= 4096 {
		return
	}
	clear(c.warned)
}

// ParseTextfileLine parses one textfile line. ok is false (with a nil error)
// for blank lines and '#' comments. The returned sample has Service,
// Resource and Unit set and no Values; attr and value are the pair to add.
func ParseTextfileLine(line string) (s model.Sample, attr string, value float64, ok bool, err error) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return model.Sample{}, "", 0, false, nil
	}
	if !utf8.ValidString(line) {
		return model.Sample{}, "", 0, false, errors.New("line is not valid UTF-8")
	}
	sp := strings.LastIndexFunc(line, unicode.IsSpace)
	if sp < 0 {
		return model.Sample{}, "", 0, false, fmt.Errorf("line %q has no value (want service.resource:unit.attribute value)", clip(line))
	}
	addr := strings.TrimRightFunc(line[:sp], unicode.IsSpace)
	_, w := utf8.DecodeRuneInString(line[sp:])
	num := line[sp+w:]
	if len(addr) > textfileMaxAddr {
		return model.Sample{}, "", 0, false, fmt.Errorf("address is %d bytes long, max %d", len(addr), textfileMaxAddr)
	}
	v, perr := strconv.ParseFloat(num, 64)
	if perr != nil {
		return model.Sample{}, "", 0, false, fmt.Errorf("value %q is not a number", clip(num))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return model.Sample{}, "", 0, false, fmt.Errorf("value %q is not finite", clip(num))
	}
	s, attr, err = parseSampleAddress(addr)
	if err != nil {
		return model.Sample{}, "", 0, false, err
	}
	return s, attr, v, true, nil
}

// parseSampleAddress splits "service.resource:unit.attribute" the way the
// rules package splits an alarm address (without the host).
func parseSampleAddress(addr string) (model.Sample, string, error) {
	const want = "want service.resource:unit.attribute"
	if i := strings.IndexFunc(addr, unicode.IsControl); i >= 0 {
		return model.Sample{}, "", fmt.Errorf("address %q contains a control character", clip(addr))
	}
	last := strings.LastIndexByte(addr, '.')
	if last < 0 {
		return model.Sample{}, "", fmt.Errorf("address %q has no '.' before the attribute (%s)", clip(addr), want)
	}
	middle, attr := addr[:last], addr[last+1:]
	dot := strings.IndexByte(middle, '.')
	if dot < 0 {
		return model.Sample{}, "", fmt.Errorf("address %q has no '.' between service and resource (%s)", clip(addr), want)
	}
	colon := strings.IndexByte(middle[dot+1:], ':')
	if colon < 0 {
		return model.Sample{}, "", fmt.Errorf("address %q has no ':' between resource and unit (%s)", clip(addr), want)
	}
	colon += dot + 1
	s := model.Sample{Service: middle[:dot], Resource: middle[dot+1 : colon], Unit: strings.TrimSpace(middle[colon+1:])}
	for _, seg := range []struct{ name, v string }{{"service", s.Service}, {"resource", s.Resource}, {"attribute", attr}} {
		if seg.v == "" {
			return model.Sample{}, "", fmt.Errorf("address %q has an empty %s (%s)", clip(addr), seg.name, want)
		}
		if strings.ContainsAny(seg.v, "*?[]!: \t") {
			return model.Sample{}, "", fmt.Errorf("address %q: %s %q contains a space or one of * ? [ ] ! : (rule syntax)", clip(addr), seg.name, seg.v)
		}
	}
	if strings.ContainsAny(s.Unit, "!*?[]") {
		return model.Sample{}, "", fmt.Errorf("address %q: unit %q contains one of ! * ? [ ] (rule syntax)", clip(addr), s.Unit)
	}
	return s, attr, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "..."
		}
	}
	return s[:n] + "..."
}

// sampleMerger merges values into one sample per series key, keeping the
// order in which series first appeared.
type sampleMerger struct {
	order []string
	byKey map[string]*model.Sample
	from  map[string]string // series key + "." + attr -> "file:line"
}

func newSampleMerger() *sampleMerger {
	return &sampleMerger{byKey: map[string]*model.Sample{}, from: map[string]string{}}
}

// add sets attr=v on s's series. It returns the position of the previous
// value and true if attr was already set.
func (m *sampleMerger) add(s model.Sample, attr string, v float64, pos string) (string, bool) {
	k := s.Key()
	cur, ok := m.byKey[k]
	if !ok {
		s.Values = map[string]float64{}
		cur = &s
		m.byKey[k] = cur
		m.order = append(m.order, k)
	}
	fk := k + "." + attr
	prev, dup := m.from[fk]
	m.from[fk] = pos
	cur.Values[attr] = v
	return prev, dup
}

// samples returns the merged samples.
func (m *sampleMerger) samples() []model.Sample {
	if len(m.order) == 0 {
		return nil
	}
	out := make([]model.Sample, 0, len(m.order))
	for _, k := range m.order {
		out = append(out, *m.byKey[k])
	}
	return out
}
