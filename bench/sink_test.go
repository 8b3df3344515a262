package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify/webhook"
)

func TestSinkLatency(t *testing.T) {
	s, err := NewSink(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base
	s.now = func() time.Time { return now }
	post := func(body []byte) int {
		t.Helper()
		resp, err := http.Post(s.URL(), "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	payload := func(kind, host string) []byte {
		b, err := json.Marshal(webhook.NewPayload(model.Notification{ID: kind + host, Level: model.CRIT, Kind: kind, Host: host, Time: base}))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !s.Expect("h1", base) || !s.Expect("h2", base) {
		t.Fatal("Expect of fresh hosts returned false")
	}
	if s.Expect("h1", base) {
		t.Fatal("a second open crossing of h1 was accepted")
	}
	steps := []struct {
		kind, host string
		at         time.Duration
	}{
		{model.KindAlarm, "h1", 3 * time.Millisecond},
		{model.KindSolved, "h2", 4 * time.Millisecond}, // not an ALARM: h2 stays open
		{model.KindAlarm, "h3", 5 * time.Millisecond},  // never expected: counted, no latency
		{model.KindAlarm, "h2", 7 * time.Millisecond},
		{model.KindAlarm, "h1", 9 * time.Millisecond}, // already closed
	}
	for _, st := range steps {
		now = base.Add(st.at)
		if code := post(payload(st.kind, st.host)); code != http.StatusNoContent {
			t.Fatalf("POST %s %s: status %d", st.kind, st.host, code)
		}
	}
	if code := post([]byte("{not json")); code != http.StatusBadRequest {
		t.Fatalf("malformed POST: status %d, want 400", code)
	}
	resp, err := http.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: status %d, want 405", resp.StatusCode)
	}
	st := s.Stats()
	want := []time.Duration{3 * time.Millisecond, 7 * time.Millisecond}
	if len(st.Latencies) != len(want) || st.Latencies[0] != want[0] || st.Latencies[1] != want[1] {
		t.Fatalf("latencies %v, want %v", st.Latencies, want)
	}
	if st.ByKind[model.KindAlarm] != 4 || st.ByKind[model.KindSolved] != 1 || st.Open != 0 || st.Malformed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if s.Pending("h1") {
		t.Fatal("h1 still pending after its ALARM")
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{ms(1, 2, 3), 0, 1 * time.Millisecond},
		{ms(1, 2, 3), 100, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.in, tt.p, got, tt.want)
		}
	}
}
