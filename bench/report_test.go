package bench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestWriteMarkdown(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	tests := []struct {
		name string
		res  *Result
	}{
		{"master_ok.md", &Result{Agents: 100, Engines: 4, Values: 40, Interval: time.Second, Window: 13 * time.Second,
			Offered: 100, Sent: 1300, Acked: 1300, IngestRate: 100, MasterCPUPerReport: ms(1.03), MasterCPUShare: 0.1,
			GeneratorCPUShare: 0.06, RSSIdle: 22 << 20, RSSLoad: 81 << 20, RSSSettled: 81 << 20,
			RSSPerHostLoad: 604 << 10, RSSPerHostSettled: 604 << 10,
			Latencies: []time.Duration{ms(1.2), ms(1.3), ms(1.6), ms(2.9)}, Requested: 4,
			Notifications: map[string]int{"ALARM": 4, "SOLVED": 4}}},
		{"master_collapse.md", &Result{Agents: 1000, Engines: 4, Values: 40, Interval: 50 * time.Millisecond,
			Window: 13 * time.Second, Offered: 20000, Sent: 200012, Acked: 23103, Resent: 589236, UnackedAtEnd: 199345,
			IngestRate: 1777, MasterCPUPerReport: ms(0.498), MasterCPUShare: 0.88, GeneratorCPUShare: 0.84,
			RSSIdle: 25 << 20, RSSLoad: 1347 << 20, RSSSettled: 1854 << 20, RSSPerHostLoad: 1353 << 10, RSSPerHostSettled: 1873 << 10,
			Requested: 176, IngestTotals: "accepted=23103 gaps=12 overloaded=170000"}},
	}
	tests = append(tests, struct {
		name string
		res  *Result
	}{"master_keptup.md", &Result{Agents: 1000, Engines: 4, Values: 40, Interval: 50 * time.Millisecond, Window: 38 * time.Second,
		Offered: 20000, Sent: 760004, Acked: 759392, IngestRate: 19984, MasterCPUPerReport: ms(0.05), MasterCPUShare: 1.0,
		GeneratorCPUShare: 0.47, RSSIdle: 20 << 20, RSSLoad: 129 << 20, RSSSettled: 134 << 20, RSSPerHostLoad: 111 << 10,
		RSSPerHostSettled: 116 << 10, Latencies: []time.Duration{ms(1.1), ms(2.5)}, Requested: 2,
		Notifications: map[string]int{"ALARM": 2}}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.res.WriteMarkdown(&b)
			golden(t, tt.name, b.Bytes())
		})
	}
	var b bytes.Buffer
	(&AgentResult{Interval: 10 * time.Millisecond, Cycles: 1000, RSSIdle: 23 << 20, RSSAfter: 47 << 20,
		CPUPerCycle: ms(1.68), UserPerCycle: ms(1.01), SysPerCycle: ms(0.67), SwitchesPerCycle: 17.5, InvoluntaryPerCycle: 2.5,
		ReportsPerCycle: 6, BytesPerReport: 448, AcksPerCycle: 0.04, AckDelay: 250 * time.Millisecond}).WriteMarkdown(&b)
	golden(t, "agent.md", b.Bytes())
}

// TestIngestTargetMet: the ingest target is met by the acked rate, or by a
// master that kept up with at least the target offered; not by one that
// fell behind, resent or left reports unacked, nor below the target.
func TestIngestTargetMet(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want bool
	}{
		{"rate", Result{IngestRate: 20367, Offered: 20000, Sent: 100, Acked: 90}, true},
		{"kept up", Result{IngestRate: 19984, Offered: 20000, Sent: 760004, Acked: 759392}, true},
		{"behind", Result{IngestRate: 19113, Offered: 20000, Sent: 359960, Acked: 344030}, false},
		{"resent", Result{IngestRate: 19990, Offered: 20000, Sent: 1000, Acked: 1000, Resent: 3}, false},
		{"unacked", Result{IngestRate: 19990, Offered: 20000, Sent: 1000, Acked: 1000, UnackedAtEnd: 1}, false},
		{"offered less", Result{IngestRate: 10000, Offered: 10000, Sent: 1000, Acked: 1000}, false},
	}
	for _, tt := range tests {
		if got := tt.r.IngestTargetMet(); got != tt.want {
			t.Errorf("%s: IngestTargetMet = %v, want %v", tt.name, got, tt.want)
		}
	}
}
