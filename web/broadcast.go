package web

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/r3labs/sse/v2"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/views"
)

// SSE tuning.
const (
	// eventQueue is how many published events wait for the broadcaster;
	// beyond it Publish drops (and counts) events.
	eventQueue = 1024
	// clientBuffer is each browser's stream buffer (r3labs adds 64 more
	// per subscriber); a browser that falls further behind loses its own
	// events, never anybody else's.
	clientBuffer = 64
	// pingEvery keeps idle connections alive through proxies.
	pingEvery = 25 * time.Second
	// seedRetry spaces attempts to load the initial counts.
	seedRetry = 10 * time.Second
	// reseedEvery reloads the counts' base state.
	reseedEvery = 5 * time.Minute
)

// fragmentSep separates the HTML fragments of one SSE event. static/app.js
// parses each part on its own: a <tr> and a <div> in one template would
// be re-parented by the HTML table parsing rules.
const fragmentSep = "\n<!--fragment-->\n"

// SSE event names.
const (
	sseHost         = "host"
	sseAlarm        = "alarm"
	sseNotification = "notification"
)

// broadcastState is the broadcaster goroutine's own view of hosts and alarms,
// kept only to render the headline counts; only that goroutine touches it.
type broadcastState struct {
	seeded   bool
	lastSeed time.Time
	hostUp   map[string]bool // host -> up
	firing   map[string]bool // views.AlarmID -> firing
}

// Stats are the broadcaster's counters.
type Stats struct {
	Clients     int    // connected SSE clients
	Dropped     uint64 // events dropped because the broadcaster queue was full
	ClientDrops uint64 // events not delivered to a slow client
}

// Stats returns the broadcaster's counters.
func (s *Server) Stats() Stats {
	s.clientsMu.Lock()
	n := 0
	for _, c := range s.clients {
		if c.ready {
			n++
		}
	}
	s.clientsMu.Unlock()
	return Stats{Clients: n, Dropped: s.dropped.Load(), ClientDrops: s.clientDrops.Load()}
}

// Publish hands an event to the broadcaster. It never blocks: when the
// queue is full (or the server is closed) the event is dropped and counted.
func (s *Server) Publish(ev model.Event) {
	if s.closed.Load() {
		s.dropped.Add(1)
		return
	}
	select {
	case s.events <- ev:
	default:
		if n := s.dropped.Add(1); n == 1 || n%1000 == 0 {
			s.log.Warn("SSE event queue full, dropping events", "dropped_total", n)
		}
	}
}

// broadcast renders each event once and offers it to every client.
func (s *Server) broadcast() {
	defer close(s.bcastDone)
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ping.C:
			s.fanout(&sse.Event{Comment: []byte("ping")})
		case ev := <-s.events:
			name, data, err := s.renderEvent(ev)
			if err != nil {
				s.log.Error("render SSE event", "type", ev.Type, "host", ev.Host, "err", err)
				continue
			}
			if name == "" {
				continue
			}
			s.fanout(&sse.Event{Event: []byte(name), Data: data})
		}
	}
}

// fanout offers e to every client without blocking.
func (s *Server) fanout(e *sse.Event) {
	s.clientsMu.Lock()
	ids := make([]string, 0, len(s.clients))
	for id, c := range s.clients {
		if c.ready {
			ids = append(ids, id)
		}
	}
	s.clientsMu.Unlock()
	for _, id := range ids {
		if !s.sse.TryPublish(id, e) {
			s.clientDrops.Add(1)
		}
	}
}

// seed loads the host and alarm states the counts start from, and reloads
// them every reseedEvery so counts cannot drift for long (events dropped
// under load). On failure the previous state stays in use.
func (s *Server) seed() {
	st := &s.bstate
	switch {
	case st.seeded && time.Since(st.lastSeed) < reseedEvery:
		return
	case !st.seeded && !st.lastSeed.IsZero() && time.Since(st.lastSeed) < seedRetry:
		return
	}
	st.lastSeed = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hosts, err := s.backend.ServerList(ctx)
	if err != nil {
		s.log.Warn("SSE counts: server list", "err", err)
		return
	}
	alarms, err := s.backend.Alarms(ctx)
	if err != nil {
		s.log.Warn("SSE counts: alarms", "err", err)
		return
	}
	st.hostUp = make(map[string]bool, len(hosts))
	for _, h := range hosts {
		st.hostUp[h.Host] = h.Up
	}
	st.firing = map[string]bool{}
	for _, a := range alarms {
		if a.State == model.AlarmFiring {
			st.firing[views.AlarmID(a)] = true
		}
	}
	st.seeded = true
}

func (s *Server) counts() views.Counts {
	st := &s.bstate
	c := views.Counts{Firing: len(st.firing)}
	for _, up := range st.hostUp {
		if up {
			c.Up++
		} else {
			c.Down++
		}
	}
	return c
}

// renderEvent renders the HTML fragments of ev; name "" means nothing to send.
func (s *Server) renderEvent(ev model.Event) (name string, data []byte, err error) {
	ctx := context.Background()
	var buf bytes.Buffer
	var parts []templ.Component
	now := s.now()
	switch ev.Type {
	case model.EvReport, model.EvHostState:
		if ev.Status == nil {
			return "", nil, nil
		}
		s.seed()
		if s.bstate.seeded {
			s.bstate.hostUp[ev.Status.Host] = ev.Status.Up
		}
		name = sseHost
		parts = append(parts, views.Tile(*ev.Status, now), views.HostRow(*ev.Status, now))
		if len(ev.Status.Samples) > 0 {
			parts = append(parts, views.ValuesTable(*ev.Status))
		}
		if len(ev.Status.Checks) > 0 {
			parts = append(parts, views.ChecksTable(*ev.Status))
		}
	case model.EvAlarm:
		if ev.Alarm == nil {
			return "", nil, nil
		}
		s.seed()
		if s.bstate.seeded {
			id := views.AlarmID(*ev.Alarm)
			if ev.Alarm.State == model.AlarmFiring {
				s.bstate.firing[id] = true
			} else {
				delete(s.bstate.firing, id)
			}
		}
		name = sseAlarm
		parts = append(parts, views.AlarmRow(*ev.Alarm, now, "alarm-rows"))
	case model.EvNotification:
		if ev.Notification == nil {
			return "", nil, nil
		}
		name = sseNotification
		parts = append(parts, views.NotificationRow(*ev.Notification))
	default:
		return "", nil, nil
	}
	if s.bstate.seeded && name != sseNotification {
		parts = append(parts, views.CountsBox(s.counts()))
	}
	for i, p := range parts {
		if i > 0 {
			buf.WriteString(fragmentSep)
		}
		if err := p.Render(ctx, &buf); err != nil {
			return "", nil, err
		}
	}
	return name, buf.Bytes(), nil
}

// sseClient is one connected browser. It becomes ready once its r3labs
// subscriber is registered: events offered before that would be dropped by
// the stream, so the broadcaster skips clients that are not ready.
type sseClient struct {
	cancel context.CancelFunc
	ready  bool
}

// onSubscribe marks a client ready (r3labs calls it after registration).
func (s *Server) onSubscribe(streamID string, _ *sse.Subscriber) {
	s.clientsMu.Lock()
	if c, ok := s.clients[streamID]; ok {
		c.ready = true
	}
	s.clientsMu.Unlock()
}

// serveEvents is the SSE endpoint. Each connection gets its own r3labs
// stream, so the broadcaster can offer events per client without blocking:
// a stalled browser fills only its own buffers.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	id := "c" + strconv.FormatUint(s.nextClient.Add(1), 10)
	ctx, cancel := context.WithCancel(r.Context())
	s.clientsMu.Lock()
	if s.closed.Load() {
		s.clientsMu.Unlock()
		cancel()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.sse.CreateStream(id)
	s.clients[id] = &sseClient{cancel: cancel}
	s.clientWG.Add(1)
	s.clientsMu.Unlock()
	defer func() {
		s.clientsMu.Lock()
		delete(s.clients, id)
		s.clientsMu.Unlock()
		cancel()
		s.sse.RemoveStream(id)
		s.clientWG.Done()
	}()
	r2 := r.WithContext(ctx)
	u := *r.URL
	u.RawQuery = "stream=" + id
	r2.URL = &u
	r2.Header = r.Header.Clone()
	r2.Header.Del("Last-Event-ID") // we never replay; ids are not numbers
	w.Header().Set("Cache-Control", "no-store")
	s.sse.ServeHTTP(w, r2)
}
