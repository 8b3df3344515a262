package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify/webhook"
)

// maxSinkBody bounds one webhook request body read by the sink.
const maxSinkBody = 1 << 20

// Sink is an in-process HTTP server that receives the master's webhook
// notifications and measures alert latency: Expect records when the report
// that should raise an ALARM for a host was sent, and the arrival of that
// host's ALARM closes the measurement.
type Sink struct {
	srv *http.Server
	ln  net.Listener
	log *slog.Logger

	mu        sync.Mutex
	expect    map[string]time.Time // host -> when its crossing report was sent
	latencies []time.Duration
	byKind    map[string]int
	bad       int
	now       func() time.Time
}

// NewSink starts a sink on a free loopback port.
func NewSink(log *slog.Logger) (*Sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: webhook sink listen: %w", err)
	}
	s := &Sink{ln: ln, log: log, expect: map[string]time.Time{}, byKind: map[string]int{}, now: time.Now}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// URL is the webhook URL to configure on the master.
func (s *Sink) URL() string { return "http://" + s.ln.Addr().String() + "/hook" }

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

// ServeHTTP records one notification.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := s.now()
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSinkBody))
	if err != nil {
		http.Error(w, "read: "+err.Error(), http.StatusBadRequest)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		s.mu.Lock()
		s.bad++
		s.mu.Unlock()
		http.Error(w, "decode: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.record(p, at)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sink) record(p webhook.Payload, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byKind[p.Kind]++
	if p.Kind != model.KindAlarm {
		return
	}
	if sent, ok := s.expect[p.Host]; ok {
		delete(s.expect, p.Host)
		s.latencies = append(s.latencies, at.Sub(sent))
	}
}

// Expect records that the report crossing the threshold for host was sent
// at t. It returns false if an earlier crossing of host is still open.
func (s *Sink) Expect(host string, t time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, open := s.expect[host]; open {
		return false
	}
	s.expect[host] = t
	return true
}

// Pending reports whether a crossing of host still waits for its ALARM.
func (s *Sink) Pending(host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.expect[host]
	return ok
}

// SinkStats is what the sink saw.
type SinkStats struct {
	Latencies []time.Duration
	ByKind    map[string]int
	Open      int // crossings whose ALARM never arrived
	Malformed int
}

// Stats returns a copy of what the sink recorded.
func (s *Sink) Stats() SinkStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := SinkStats{Latencies: append([]time.Duration(nil), s.latencies...), ByKind: map[string]int{},
		Open: len(s.expect), Malformed: s.bad}
	for k, v := range s.byKind {
		st.ByKind[k] = v
	}
	return st
}
