package rules

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

func mustRules(tb testing.TB, texts map[string]string) *RuleSet {
	tb.Helper()
	var rs []*Rule
	for name, text := range texts {
		r, err := Parse(name, text)
		if err != nil {
			tb.Fatal(err)
		}
		rs = append(rs, r)
	}
	set, err := NewRuleSet(rs...)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

func TestMatchReport(t *testing.T) {
	set := mustRules(t, map[string]string{
		"disk":  "*!machine.disk:/dev/sd*.used_percentage > 90",
		"ircd":  "irc*!port.port:UnrealIRCd.up = 0 CRIT",
		"mem":   "*!machine.memory:*.used* > 1g",
		"other": "db*!*.*:*.* > 0",
	})
	samples := []model.Sample{
		{Service: "machine", Resource: "disk", Unit: "/dev/sda1 (/)", Values: map[string]float64{"used_percentage": 42, "free": 1}},
		{Service: "port", Resource: "port", Unit: "UnrealIRCd (6667)", Values: map[string]float64{"up": 0}},
		{Service: "machine", Resource: "memory", Unit: "physical", Values: map[string]float64{"used": 5, "used_percentage": 7, "total": 9}},
		{Service: "machine", Resource: "disk", Unit: "/dev/nvme0n1", Values: map[string]float64{"used_percentage": 42}},
	}
	type m struct {
		rule   string
		sample int
		series string
		attr   string
		value  float64
	}
	got := func(ms []Match) []m {
		var out []m
		for _, x := range ms {
			out = append(out, m{x.Rule.Name, x.Sample, x.Series, x.Attr, x.Value})
		}
		return out
	}
	want := []m{
		{"disk", 0, "machine.disk:/dev/sda1 (/)", "used_percentage", 42},
		{"ircd", 1, "port.port:UnrealIRCd (6667)", "up", 0},
		{"mem", 2, "machine.memory:physical", "used", 5},
		{"mem", 2, "machine.memory:physical", "used_percentage", 7},
	}
	ms := set.MatchReport("irc1", samples, nil)
	if !reflect.DeepEqual(got(ms), want) {
		t.Errorf("MatchReport(irc1) =\n%v\nwant\n%v", got(ms), want)
	}
	// Reusing the slice gives the same result; another host matches other rules.
	ms = set.MatchReport("db1", samples[3:], ms[:0])
	wantDB := []m{{"other", 0, "machine.disk:/dev/nvme0n1", "used_percentage", 42}}
	if !reflect.DeepEqual(got(ms), wantDB) {
		t.Errorf("MatchReport(db1) = %v, want %v", got(ms), wantDB)
	}
	if set.Len() != 4 || set.Get("mem") == nil || set.Get("nope") != nil || set.Rules()[0].Name != "disk" {
		t.Errorf("set accessors wrong: len %d", set.Len())
	}
}

func TestNewRuleSetErrors(t *testing.T) {
	r, err := Parse("a", "h!m.d:u.x > 1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewRuleSet(r, nil, r)
	want := "rule 1 is nil\nrule \"a\" is defined twice"
	if err == nil || err.Error() != want {
		t.Errorf("NewRuleSet error = %v, want %q", err, want)
	}
}

// benchReport builds a report of 40 samples with 111 values, the size of a
// small server's report.
func benchReport() []model.Sample {
	var s []model.Sample
	add := func(service, res, unit string, attrs ...string) {
		v := map[string]float64{}
		for i, a := range attrs {
			v[a] = float64(10*i + len(unit))
		}
		s = append(s, model.Sample{Service: service, Resource: res, Unit: unit, Values: v})
	}
	for i := range 8 {
		add("machine", "cpu", fmt.Sprintf("core%d", i), "user", "system", "idle", "iowait", "steal")
	}
	add("machine", "load", "", "load1", "load5", "load15")
	add("machine", "memory", "physical", "used", "free", "total", "used_percentage")
	add("machine", "swap", "swap", "used", "free", "used_percentage")
	add("machine", "uptime", "", "uptime")
	for _, d := range []string{"/dev/sda1 (/)", "/dev/sda2 (/home)", "/dev/sdb1 (/srv)", "/dev/nvme0n1p1 (/var)"} {
		add("machine", "disk", d, "used", "free", "used_percentage")
		add("machine", "inodes", d, "used", "free", "used_percentage")
	}
	for _, n := range []string{"eth0", "eth1", "lo", "wg0"} {
		add("machine", "network", n, "rx_bytes", "tx_bytes", "rx_errors", "tx_errors")
	}
	for _, p := range []string{"sshd (22)", "nginx (80)", "nginx (443)", "UnrealIRCd (6667)", "postgres (5432)", "smtp (25)"} {
		add("port", "port", p, "up")
	}
	for _, p := range []string{"nginx", "postgres", "cron", "sshd", "lookout", "unbound"} {
		add("process", "process", p, "up")
	}
	for _, d := range []string{"sda", "sdb", "nvme0n1", "nvme1n1"} {
		add("machine", "diskio", d, "read_bytes", "write_bytes")
	}
	return s
}

func benchRules(tb testing.TB) *RuleSet {
	texts := map[string]string{}
	base := []string{
		"*!machine.disk:/dev/sd*.used_percentage > 80% WARN, > 95% CRIT for 5m clear < 75%",
		"*!machine.inodes:*.used_percentage > 90%",
		"*!machine.cpu:core*.iowait > 50 for 10m",
		"*!machine.cpu:*.idle < 5 ERR",
		"*!machine.load:*.load5 > 8 WARN, > 16 CRIT",
		"*!machine.memory:physical.used_percentage > 90% flap 4/10m",
		"*!machine.swap:*.used_percentage > 50%",
		"web*!machine.network:eth?.rx_errors > 100",
		"*!port.port:*.up = 0 CRIT",
		"*!process.process:nginx.up = 0 CRIT",
	}
	for i := range 50 {
		text := base[i%len(base)]
		if i >= len(base) {
			// Variants that mostly do not match, like per-host rules.
			text = strings.Replace(text, "*!", fmt.Sprintf("host%d!", i), 1)
		}
		texts[fmt.Sprintf("rule%02d", i)] = text
	}
	return mustRules(tb, texts)
}

type alarmKey struct{ rule, series, attr string }

// BenchmarkEvalReport evaluates 50 rules against one 40-sample report:
// matching plus one Step per matched value, as the host actor does. ns/op is
// per report.
func BenchmarkEvalReport(b *testing.B) {
	set := benchRules(b)
	report := benchReport()
	nvals := 0
	for _, s := range report {
		nvals += len(s.Values)
	}
	alarms := map[alarmKey]*Alarm{}
	var ms []Match
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(10 * time.Second)
		ms = set.MatchReport("web1", report, ms[:0])
		for _, m := range ms {
			k := alarmKey{m.Rule.Name, m.Series, m.Attr}
			a := alarms[k]
			if a == nil {
				a = NewAlarm(m.Rule.Name, "web1", m.Series, m.Attr)
				alarms[k] = a
			}
			a.Step(m.Rule, m.Value, now)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(report)), "samples/report")
	b.ReportMetric(float64(nvals), "values/report")
	b.ReportMetric(float64(len(ms)), "matches/report")
}

func TestUnitCacheBounded(t *testing.T) {
	set := benchRules(t)
	for i := range maxCachedUnits + 100 {
		unit := fmt.Sprintf("u%d (comment %d)", i, i)
		if got, want := set.stripUnit(unit), fmt.Sprintf("u%d", i); got != want {
			t.Fatalf("stripUnit(%q) = %q, want %q", unit, got, want)
		}
	}
	if n := set.nunits.Load(); n != maxCachedUnits {
		t.Errorf("cache holds %d units, want the cap %d", n, maxCachedUnits)
	}
	// Uncached units are still stripped, and units without comments are
	// returned as they are.
	if got := set.stripUnit("late (x)"); got != "late" {
		t.Errorf("stripUnit past the cap = %q", got)
	}
	if got := set.stripUnit("eth0"); got != "eth0" {
		t.Errorf("stripUnit(eth0) = %q", got)
	}
}

// TestMatchReportConcurrent runs MatchReport from several goroutines (run
// with -race): a RuleSet is shared by all host actors.
func TestMatchReportConcurrent(t *testing.T) {
	set := benchRules(t)
	report := benchReport()
	want := len(set.MatchReport("web1", report, nil))
	done := make(chan int)
	for range 4 {
		go func() {
			n := 0
			for range 50 {
				n = len(set.MatchReport("web1", report, nil))
			}
			done <- n
		}()
	}
	for range 4 {
		if n := <-done; n != want {
			t.Errorf("concurrent MatchReport found %d matches, want %d", n, want)
		}
	}
}
