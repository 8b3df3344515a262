package agent

import (
	"context"
	"testing"

	"github.com/shirou/gopsutil/v4/mem"
)

// TestSysinfoSwapMatchesGopsutil compares sysinfoSwap with gopsutil's
// mem.SwapMemory on this host: same total, and free/used within 64 MiB
// (swap may move between the two reads).
func TestSysinfoSwapMatchesGopsutil(t *testing.T) {
	want, err := mem.SwapMemoryWithContext(context.Background())
	if err != nil {
		t.Skipf("gopsutil cannot read swap here: %v", err)
	}
	got, err := sysinfoSwap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const slack = 64 << 20
	near := func(a, b uint64) bool { return a-b < slack || b-a < slack }
	if got.Total != want.Total || !near(got.Free, want.Free) || !near(got.Used, want.Used) {
		t.Errorf("sysinfoSwap = total %d free %d used %d, gopsutil total %d free %d used %d",
			got.Total, got.Free, got.Used, want.Total, want.Free, want.Used)
	}
	if got.Used+got.Free != got.Total {
		t.Errorf("used %d + free %d != total %d", got.Used, got.Free, got.Total)
	}
	if got.Total == 0 && got.UsedPercent != 0 || got.Total > 0 && (got.UsedPercent < 0 || got.UsedPercent > 100) {
		t.Errorf("used percentage %v with total %d", got.UsedPercent, got.Total)
	}
}
