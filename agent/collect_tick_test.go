package agent

import (
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// TestTicker: both clocks (the timerfd one, and the time.Ticker one used
// when there is no timerfd) tick about every interval and never after
// Stop.
func TestTicker(t *testing.T) {
	tests := []struct {
		name  string
		start func(time.Duration, func()) *ticker
	}{
		{"timerfd", func(iv time.Duration, tick func()) *ticker {
			f, err := newTimerFD(iv)
			if err != nil {
				t.Skipf("no timerfd here: %v", err)
			}
			_ = f.Close()
			return startTicker(iv, tick)
		}},
		{"time.Ticker", startTimeTicker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const iv = 20 * time.Millisecond
			var n atomic.Int64
			start := time.Now()
			tk := tt.start(iv, func() { n.Add(1) })
			time.Sleep(10*iv + iv/2)
			tk.Stop()
			tk.Stop() // twice is fine
			elapsed := time.Since(start)
			time.Sleep(iv) // a tick under way at Stop may still end
			got := n.Load()
			// At most one tick per interval; at least half of them on a
			// loaded machine.
			if max := int64(elapsed / iv); got > max || got < 5 {
				t.Fatalf("%d ticks in %s at %s, want 5..%d", got, elapsed, iv, max)
			}
			time.Sleep(3 * iv)
			if after := n.Load(); after != got {
				t.Fatalf("%d ticks after Stop", after-got)
			}
		})
	}
}

// TestTickerSlowTick: ticks that come while the previous call still runs
// are folded into one call, none queue up.
func TestTickerSlowTick(t *testing.T) {
	const iv = 10 * time.Millisecond
	var n atomic.Int64
	tk := startTicker(iv, func() { n.Add(1); time.Sleep(5 * iv) })
	time.Sleep(20 * iv)
	tk.Stop()
	if got := n.Load(); got > 5 || got < 2 {
		t.Fatalf("%d calls of a %s tick in %s, want 2..5", got, 5*iv, 20*iv)
	}
}

func TestTickerBadInterval(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a zero interval")
		}
	}()
	startTicker(0, func() {})
}

// TestTickerFallBack: a clock descriptor that cannot be read as a timerfd
// (here a regular file: reads return 0 bytes) is replaced by the
// time.Ticker clock, which ticks until Stop.
func TestTickerFallBack(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notatimer")
	if err != nil {
		t.Fatal(err)
	}
	const iv = 10 * time.Millisecond
	var n atomic.Int64
	tk := &ticker{interval: iv, tick: func() { n.Add(1) }, done: make(chan struct{}), f: f}
	go tk.timerFDLoop()
	time.Sleep(20 * iv)
	tk.Stop()
	time.Sleep(iv)
	got := n.Load()
	if got < 5 || got > 20 {
		t.Fatalf("%d ticks in %s at %s after the fallback, want 5..20", got, 20*iv, iv)
	}
	time.Sleep(3 * iv)
	if after := n.Load(); after != got {
		t.Fatalf("%d ticks after Stop", after-got)
	}
}
