package app

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/notify/webhook"
)

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string { return testutil.FreeAddr(t) }

// sink is a real HTTP server collecting webhook payloads.
type sink struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []webhook.Payload
}

func newSink(t *testing.T) *sink {
	t.Helper()
	s := &sink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		if err := json.Unmarshal(b, &p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, p)
		s.mu.Unlock()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// wait returns the first payload for which match is true, or fails after d.
func (s *sink) wait(t *testing.T, d time.Duration, what string, match func(webhook.Payload) bool) webhook.Payload {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, p := range s.got {
			if match(p) {
				s.mu.Unlock()
				return p
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var subj []string
	for _, p := range s.got {
		subj = append(subj, p.Level.String()+" "+p.Kind+" "+p.Subject)
	}
	t.Fatalf("no webhook %s within %s; got %d:\n%s", what, d, len(s.got), strings.Join(subj, "\n"))
	return webhook.Payload{}
}

// syncBuffer is a goroutine-safe bytes.Buffer for captured logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loadConfig loads YAML through configs.LoadBytes (no environment).
func loadConfig(t *testing.T, yaml string) *configs.Config {
	t.Helper()
	cfg, err := configs.LoadBytes([]byte(yaml), nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return cfg
}

func testLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
