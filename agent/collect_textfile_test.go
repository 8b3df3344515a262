package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

func TestParseTextfileLine(t *testing.T) {
	type want struct {
		service, resource, unit, attr string
		value                         float64
	}
	tests := []struct {
		name    string
		line    string
		ok      bool
		want    want
		wantErr string
	}{
		{"blank", "   ", false, want{}, ""},
		{"comment", "# app.queue:jobs.length 5", false, want{}, ""},
		{"indented comment", "  \t# x", false, want{}, ""},
		{"simple", "app.queue:jobs.length 12", true, want{"app", "queue", "jobs", "length", 12}, ""},
		{"memory", "machine.memory:physical.used_percentage 95", true, want{"machine", "memory", "physical", "used_percentage", 95}, ""},
		{"tabs and spaces", "\tapp.queue:jobs.length \t -1.5e3  ", true, want{"app", "queue", "jobs", "length", -1500}, ""},
		{"unit with spaces and comment", "machine.disk:/dev/sda1 (/).used_percentage 91", true, want{"machine", "disk", "/dev/sda1 (/)", "used_percentage", 91}, ""},
		{"unit with dots", "machine.network:eth0.100.rx_bytes_per_sec 7", true, want{"machine", "network", "eth0.100", "rx_bytes_per_sec", 7}, ""},
		{"unit with colon", "app.http:host:8080.latency_ms 3", true, want{"app", "http", "host:8080", "latency_ms", 3}, ""},
		{"empty unit", "app.queue:.length 1", true, want{"app", "queue", "", "length", 1}, ""},
		{"hex float", "app.q:u.v 0x1p4", true, want{"app", "q", "u", "v", 16}, ""},
		{"no value", "app.queue:jobs.length", false, want{}, "has no value"},
		{"value not a number", "app.queue:jobs.length twelve", false, want{}, `"twelve" is not a number`},
		{"NaN", "app.queue:jobs.length NaN", false, want{}, "not finite"},
		{"Inf", "app.queue:jobs.length +Inf", false, want{}, "not finite"},
		{"overflow", "app.queue:jobs.length 1e999", false, want{}, "not a number"},
		{"no attribute dot", "app 1", false, want{}, "no '.' before the attribute"},
		{"no service dot", "appqueue:jobs.length 1", false, want{}, "no '.' between service and resource"},
		{"no colon", "app.queue.length 1", false, want{}, "no ':' between resource and unit"},
		{"empty service", ".queue:jobs.length 1", false, want{}, "empty service"},
		{"empty resource", "app.:jobs.length 1", false, want{}, "empty resource"},
		{"empty attribute", "app.queue:jobs. 1", false, want{}, "empty attribute"},
		{"glob in service", "a*.queue:jobs.length 1", false, want{}, "rule syntax"},
		{"bang in unit", "app.queue:j!obs.length 1", false, want{}, "rule syntax"},
		{"space in attribute", "app.queue:jobs.len gth 1", false, want{}, "contains a space"},
		{"control char", "app.queue:jo\x01bs.length 1", false, want{}, "control character"},
		{"invalid utf8", "app.queue:jo\xffbs.length 1", false, want{}, "not valid UTF-8"},
		{"address too long", "app.queue:" + strings.Repeat("u", 600) + ".length 1", false, want{}, "max 512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, attr, v, ok, err := ParseTextfileLine(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTextfileLine(%q) error = %v, want one containing %q", tt.line, err, tt.wantErr)
				}
				if ok {
					t.Fatalf("ok = true with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTextfileLine(%q): %v", tt.line, err)
			}
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			got := want{s.Service, s.Resource, s.Unit, attr, v}
			if got != tt.want {
				t.Fatalf("ParseTextfileLine(%q) = %+v, want %+v", tt.line, got, tt.want)
			}
		})
	}
}

// logBuf is a slog logger writing text lines to a buffer.
func logBuf() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTextfileCollect(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.txt", strings.Join([]string{
		"# queue depth, written by cron",
		"app.queue:jobs.length 12",
		"app.queue:jobs.oldest_seconds 30",
		"machine.memory:physical.used_percentage 95",
		"this is not a line",
		"app.queue:mail.length 3",
		"",
	}, "\n"))
	writeFile(t, dir, "b.txt", "app.queue:jobs.length 13\napp.queue:jobs.workers 4\nbad.line:x.y NaN\n")
	writeFile(t, dir, "ignored.prom", "app.other:x.y 1\n")
	writeFile(t, dir, "c.txt.tmp", "app.other:x.y 1\n")
	if err := os.Mkdir(filepath.Join(dir, "d.txt"), 0o700); err != nil { // a directory named *.txt
		t.Fatal(err)
	}
	writeFile(t, dir, "e.txt", strings.Repeat("x", TextfileMaxBytes+1))
	var many strings.Builder
	for i := range TextfileMaxLines + 5 {
		fmt.Fprintf(&many, "app.many:u.v%d %d\n", i, i)
	}
	writeFile(t, dir, "f.txt", many.String())

	log, buf := logBuf()
	c := NewTextfileCollector(dir, log)
	got, err := c.Collect(context.Background())
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	byKey := map[string]model.Sample{}
	for _, s := range got {
		if _, dup := byKey[s.Key()]; dup {
			t.Errorf("series %s appears twice: samples were not merged", s.Key())
		}
		byKey[s.Key()] = s
	}
	if len(byKey) != 4 {
		t.Errorf("got %d series %v, want 4 (jobs, memory, mail, many)", len(byKey), got)
	}
	wantJobs := map[string]float64{"length": 13, "oldest_seconds": 30, "workers": 4}
	if v := byKey["app.queue:jobs"].Values; !reflect.DeepEqual(v, wantJobs) {
		t.Errorf("app.queue:jobs = %v, want %v", v, wantJobs)
	}
	if v := byKey["machine.memory:physical"].Values["used_percentage"]; v != 95 {
		t.Errorf("memory used_percentage = %v, want 95", v)
	}
	if n := len(byKey["app.many:u"].Values); n != TextfileMaxLines {
		t.Errorf("f.txt gave %d values, want the first %d lines only", n, TextfileMaxLines)
	}
	if _, ok := byKey["app.other:x"]; ok {
		t.Errorf("a file not named *.txt was read")
	}
	logs := buf.String()
	for _, w := range []string{
		"at=a.txt:5", `value \"line\" is not a number`,
		"at=b.txt:3", "not finite",
		"at=b.txt:1", "previous=a.txt:2", // duplicate jobs.length
		"file=e.txt", "larger than 65536 bytes",
		"file=d.txt", "not a regular file",
		"file=f.txt", "too many lines",
	} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q:\n%s", w, logs)
		}
	}

	// A second collection warns about nothing new (rate limit) and gives
	// the same values.
	buf.Reset()
	got2, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, got2) {
		t.Errorf("second collection differs:\n%v\n%v", got, got2)
	}
	if buf.Len() != 0 {
		t.Errorf("warnings repeated within the rate limit:\n%s", buf.String())
	}
	// After the rate-limit window they come back.
	c.now = func() time.Time { return time.Now().Add(textfileWarnEvery + time.Second) }
	if _, err := c.Collect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "at=a.txt:5") {
		t.Errorf("warning not repeated after the rate-limit window:\n%s", buf.String())
	}
}

func TestTextfileCollectErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	writeFile(t, dir, "plain", "x")
	tests := []struct {
		name, dir, want string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"not a dir", file, "not a directory"},
		{"unset", "", "no directory configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, _ := logBuf()
			_, err := NewTextfileCollector(tt.dir, log).Collect(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Collect error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// An empty directory is fine: no samples, no error.
	log, _ := logBuf()
	s, err := NewTextfileCollector(t.TempDir(), log).Collect(context.Background())
	if err != nil || len(s) != 0 {
		t.Fatalf("empty dir: %v, %v; want no samples and no error", s, err)
	}
}

// TestTextfileFamily checks the agent runs the textfile collector at the
// memory interval only when a directory is configured.
func TestTextfileFamily(t *testing.T) {
	find := func(fs []family) *family {
		for i := range fs {
			if fs[i].name == "textfile" {
				return &fs[i]
			}
		}
		return nil
	}
	var cfg configs.AgentConfig
	if f := find(families(cfg, func() uint64 { return 0 }, nil)); f != nil {
		t.Fatalf("textfile family present without textfile_dir")
	}
	cfg.TextfileDir = t.TempDir()
	cfg.Intervals.Memory = 3 * time.Second
	f := find(families(cfg, func() uint64 { return 0 }, nil))
	if f == nil {
		t.Fatal("textfile family missing with textfile_dir set")
	}
	if f.interval != 3*time.Second {
		t.Errorf("textfile interval = %v, want the memory interval 3s", f.interval)
	}
}

func FuzzParseTextfileLine(f *testing.F) {
	for _, s := range []string{
		"app.queue:jobs.length 12",
		"machine.disk:/dev/sda1 (/).used_percentage 91",
		"# comment",
		"",
		"a.b:c.d NaN",
		"a.b:c.d 1e999",
		"a.b:c:d.e.f\t-0x1p-3",
		". : . 1",
		"a.b:\u00a0.c\u00a01",
		"a.b:c.d\u20281",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, attr, v, ok, err := ParseTextfileLine(line)
		if err != nil {
			if ok {
				t.Fatalf("ok with error %v", err)
			}
			if !utf8.ValidString(err.Error()) && utf8.ValidString(line) {
				t.Fatalf("error message is not valid UTF-8: %q", err)
			}
			return
		}
		if !ok {
			return
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite value %v accepted from %q", v, line)
		}
		if s.Service == "" || s.Resource == "" || attr == "" {
			t.Fatalf("empty segment accepted from %q: %+v %q", line, s, attr)
		}
		if strings.Contains(attr, ".") || strings.Contains(s.Service, ".") || strings.Contains(s.Resource, ":") {
			t.Fatalf("address split wrongly from %q: %+v %q", line, s, attr)
		}
		// The parsed line, written back, parses to the same thing.
		back := model.SeriesKey(s.Service, s.Resource, s.Unit) + "." + attr + " " + fmt.Sprint(v)
		s2, attr2, v2, ok2, err2 := ParseTextfileLine(back)
		if err2 != nil || !ok2 || s2.Key() != s.Key() || attr2 != attr || v2 != v {
			t.Fatalf("round trip of %q via %q: %+v %q %v %v %v", line, back, s2, attr2, v2, ok2, err2)
		}
	})
}
