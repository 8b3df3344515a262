package rules

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestDescribe renders transitions produced by real Step calls and compares
// subject and text with golden files in testdata/describe/.
func TestDescribe(t *testing.T) {
	tests := []struct {
		name   string
		rule   string
		series string
		attr   string
		values []float64
		times  []time.Duration
	}{
		{"alarm", "*!machine.disk:/dev/sd*.used_percentage > 80 WARN, > 95 CRIT",
			"machine.disk:/dev/sda1 (/)", "used_percentage",
			[]float64{97.3}, []time.Duration{0}},
		{"escalate", "*!machine.disk:/dev/sd*.used_percentage > 80 WARN, > 95 CRIT",
			"machine.disk:/dev/sda1 (/)", "used_percentage",
			[]float64{85, 97.25}, []time.Duration{0, time.Minute}},
		{"deescalate", "*!machine.disk:/dev/sd*.used_percentage > 80 WARN, > 95 CRIT",
			"machine.disk:/dev/sda1 (/)", "used_percentage",
			[]float64{97, 85}, []time.Duration{0, time.Minute}},
		{"solved", "*!machine.disk:/dev/sd*.used_percentage > 80% WARN, > 95% CRIT clear < 75%",
			"machine.disk:/dev/sda1 (/)", "used_percentage",
			[]float64{97.3, 70}, []time.Duration{0, 2*time.Hour + 5*time.Minute + time.Second}},
		{"bytes", "*!machine.memory:physical.free < 512m ERR",
			"machine.memory:physical", "free",
			[]float64{400 << 20}, []time.Duration{0}},
		{"suppressed", "*!port.port:UnrealIRCd.up = 0 CRIT flap 2/10m",
			"port.port:UnrealIRCd (6667)", "up",
			[]float64{0, 1}, []time.Duration{0, time.Minute}},
		{"flap_ended", "*!port.port:UnrealIRCd.up = 0 CRIT flap 2/10m",
			"port.port:UnrealIRCd (6667)", "up",
			[]float64{0, 1, 1}, []time.Duration{0, time.Minute, 12 * time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.name, tc.rule)
			if err != nil {
				t.Fatal(err)
			}
			a := NewAlarm(r.Name, "web1", tc.series, tc.attr)
			var last *Transition
			for i, v := range tc.values {
				if tr := a.Step(r, v, t0.Add(tc.times[i])); tr != nil {
					last = tr
				}
			}
			if last == nil {
				t.Fatal("no transition")
			}
			subject, text := Describe(last, a)
			got := "Subject: " + subject + "\n\n" + text
			golden := filepath.Join("testdata", "describe", tc.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Describe mismatch for %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
