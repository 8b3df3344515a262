package views

import (
	"bytes"
	"context"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/lookout-mon/lookout/model"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatalf("render: %v", err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run go test -update to create): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

func TestLoadBand(t *testing.T) {
	tests := []struct {
		load float64
		want int
	}{{0, 0}, {9.99, 0}, {10, 1}, {55, 5}, {89.9, 8}, {90, 9}, {100, 9}, {250, 9}, {-3, 0}, {math.NaN(), 0}}
	for _, tc := range tests {
		if got := LoadBand(tc.load); got != tc.want {
			t.Errorf("LoadBand(%v) = %d, want %d", tc.load, got, tc.want)
		}
	}
}

func TestTilesGolden(t *testing.T) {
	hosts := []model.HostStatus{
		{Host: "idle", Up: true, Load: 3},
		{Host: "busy", Up: true, Load: 64.6},
		{Host: "full", Up: true, Load: 100},
		{Host: "gone", Up: false, DownSince: t0.Add(-2*time.Hour - 5*time.Minute - time.Second)},
		{Host: "never", Up: false},
		{Host: `<script>x</script>`, Up: true, Load: 20},
	}
	var b strings.Builder
	for _, h := range hosts {
		b.WriteString(render(t, Tile(h, t0)))
		b.WriteByte('\n')
	}
	b.WriteString(render(t, CountsBox(Counts{Up: 4, Down: 2, Firing: 7})))
	b.WriteByte('\n')
	got := b.String()
	if strings.Contains(got, "<script>x") {
		t.Fatal("host name not escaped")
	}
	golden(t, "tiles.golden.html", got)
}

func TestFragmentsGolden(t *testing.T) {
	a := model.AlarmStatus{Rule: "disk", Host: "web1", Series: "machine.disk:/dev/sda1.used_percentage",
		State: model.AlarmFiring, Level: model.CRIT, Value: 95.5, Since: t0.Add(-time.Hour), Condition: "> 90"}
	n := model.Notification{ID: "abc", Level: model.ERR, Kind: model.KindDown, Host: "db1", Subject: "db1 DOWN", Time: t0}
	h := model.HostStatus{Host: "web1", Up: false, DownSince: t0.Add(-90 * time.Second), LastSeen: t0.Add(-2 * time.Minute), Persistent: true, Agent: "web1", LastSeq: 42}
	got := render(t, AlarmRow(a, t0, "alarm-rows")) + "\n" + render(t, NotificationRow(n)) + "\n" + render(t, HostRow(h, t0)) + "\n"
	golden(t, "fragments.golden.html", got)
}

func TestRenderSVGGolden(t *testing.T) {
	var pts []model.Point
	for i := 0; i < 6; i++ {
		v := float64(20 + 10*i)
		pts = append(pts, model.Point{T: t0.Add(time.Duration(i) * 10 * time.Minute), Min: v - 5, Avg: v, Max: v + 5, N: 3})
	}
	pts = append(pts, model.Point{T: t0.Add(61 * time.Minute), Min: math.NaN(), Avg: 1, Max: 1})
	got := RenderSVG(pts, t0, t0.Add(time.Hour)) + "\n" + RenderSVG(nil, t0, t0.Add(time.Hour)) + "\n" +
		RenderSVG([]model.Point{{T: t0, Min: 5, Avg: 5, Max: 5, N: 1}}, time.Time{}, time.Time{}) + "\n"
	if strings.Contains(got, "NaN") || strings.Contains(got, "Inf") {
		t.Fatal("SVG contains non-finite coordinates")
	}
	golden(t, "graph.golden.svg", got)
}

func TestUptime(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name     string
		dts      []model.Downtime
		window   time.Duration
		wantDown time.Duration
	}{
		{"none", nil, day, 0},
		{"one closed hour", []model.Downtime{{Service: "host", Start: t0.Add(-3 * time.Hour), End: t0.Add(-2 * time.Hour)}}, day, time.Hour},
		{"ongoing", []model.Downtime{{Service: "host", Start: t0.Add(-30 * time.Minute)}}, day, 30 * time.Minute},
		{"clipped at window start", []model.Downtime{{Service: "host", Start: t0.Add(-25 * time.Hour), End: t0.Add(-23 * time.Hour)}}, day, time.Hour},
		{"outside window", []model.Downtime{{Service: "host", Start: t0.Add(-50 * time.Hour), End: t0.Add(-49 * time.Hour)}}, day, 0},
		{"overlapping merged", []model.Downtime{
			{Service: "host", Start: t0.Add(-4 * time.Hour), End: t0.Add(-2 * time.Hour)},
			{Service: "host", Start: t0.Add(-3 * time.Hour), End: t0.Add(-1 * time.Hour)},
			{Service: "", Start: t0.Add(-10 * time.Hour), End: t0.Add(-9 * time.Hour)},
		}, day, 4 * time.Hour},
		{"port downtimes ignored", []model.Downtime{{Service: "port", Unit: "sshd (22)", Start: t0.Add(-time.Hour), End: t0}}, day, 0},
		{"end in future clipped to now", []model.Downtime{{Service: "host", Start: t0.Add(-time.Hour), End: t0.Add(time.Hour)}}, day, time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, d := Uptime(tc.dts, t0, tc.window)
			if d != tc.wantDown {
				t.Fatalf("down %v, want %v", d, tc.wantDown)
			}
			want := 100 * (1 - float64(tc.wantDown)/float64(tc.window))
			if math.Abs(p-want) > 1e-9 {
				t.Fatalf("percent %v, want %v", p, want)
			}
		})
	}
	rows := UptimeRows([]model.Downtime{{Service: "host", Start: t0.Add(-36 * time.Hour), End: t0.Add(-12 * time.Hour)}}, t0)
	if rows[0].Down != 12*time.Hour || rows[1].Down != 24*time.Hour || rows[2].Down != 24*time.Hour {
		t.Fatalf("rows %+v", rows)
	}
}

func TestGroupSamples(t *testing.T) {
	g := GroupSamples([]model.Sample{
		{Service: "machine", Resource: "disk", Unit: "/dev/sdb1"},
		{Service: "machine", Resource: "cpu", Unit: "all"},
		{Service: "machine", Resource: "disk", Unit: "/dev/sda1"},
		{Service: "heartbeat", Resource: "uptime", Unit: "x"},
	})
	var got []string
	for _, x := range g {
		for _, s := range x.Samples {
			got = append(got, x.Resource+" "+s.Unit)
		}
	}
	want := "cpu all|disk /dev/sda1|disk /dev/sdb1|heartbeat.uptime x"
	if strings.Join(got, "|") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestTransitionRowHostState: an up/down transition in the alarms page's
// "Recent transitions" names the new state (it used to render an empty
// subject, because only alarm and notification events had one).
func TestTransitionRowHostState(t *testing.T) {
	tests := []struct {
		name string
		st   model.HostStatus
		want string
	}{
		{"up", model.HostStatus{Host: "web1", Up: true}, "<td>up</td>"},
		{"down", model.HostStatus{Host: "web1", DownSince: t0}, "<td>down since " + FmtTime(t0) + "</td>"},
		{"persistent", model.HostStatus{Host: "web1", DownSince: t0, Persistent: true},
			"<td>down since " + FmtTime(t0) + " (persistent downtime)</td>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			got := render(t, TransitionRow(model.Event{Type: model.EvHostState, Time: t0, Host: "web1", Status: &st}))
			if !strings.Contains(got, tc.want) || !strings.Contains(got, "<td>host_state</td>") || !strings.Contains(got, ">web1</a>") {
				t.Errorf("TransitionRow = %s, want it to contain %q, the kind and the host", got, tc.want)
			}
		})
	}
}

// TestAxisLabel: y-axis labels stay short enough for the chart's margin.
func TestAxisLabel(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"}, {2.08, "2.08"}, {1566.3, "1566.3"}, {9999.5, "9999.5"}, {-9999, "-9999"},
		{10000, "10k"}, {12010.5, "12k"}, {123456, "123k"}, {999499, "999k"}, {999999, "1M"},
		{7752302.7, "7.75M"}, {-7752302.7, "-7.75M"}, {25276502016, "25.3G"},
		{3.5e12, "3.5T"}, {1.2e16, "12P"}, {1e30, "1e+15P"},
	}
	for _, tt := range tests {
		if got := axisLabel(tt.v); got != tt.want {
			t.Errorf("axisLabel(%v) = %q, want %q", tt.v, got, tt.want)
		}
		if len(tt.want) > 6 && math.Abs(tt.v) < 1e18 {
			t.Errorf("label %q for %v is longer than 6 characters", tt.want, tt.v)
		}
	}
}
