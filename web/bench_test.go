package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// BenchmarkRenderOverview1000 measures a full overview request (backend
// fake, auth, render) with 1,000 hosts.
func BenchmarkRenderOverview1000(b *testing.B) {
	e := newEnv(b, nil)
	e.fb.mu.Lock()
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("host%04d", i)
		e.fb.hosts[name] = model.HostStatus{Host: name, Up: i%37 != 0, Load: float64(i % 100), LastSeen: e.clock.Now(),
			DownSince: e.clock.Now().Add(-time.Duration(i) * time.Minute)}
	}
	e.fb.mu.Unlock()
	c := cookieHdr(e.login(b, nil))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := e.do("GET", "/", "", c)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkSSEFanout1000 measures the cost per event of rendering it once
// and delivering it to 1,000 connected SSE clients (real HTTP connections
// to an in-process server), including the clients' reading.
func BenchmarkSSEFanout1000(b *testing.B) {
	const clients = 1000
	e := newEnv(b, nil)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}
	client := &http.Client{Transport: tr}
	var got atomic.Int64
	var wg sync.WaitGroup
	auth := basic("admin", testPassword)
	for i := 0; i < clients; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/events", nil)
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatalf("client %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "event: host") {
					got.Add(1)
				}
			}
		}()
	}
	waitClients(b, e.srv, clients)
	st := model.HostStatus{Host: "web1", Up: true, Load: 50}
	ev := model.Event{Type: model.EvReport, Status: &st}
	const batch = 32 // below the per-client buffers, so nothing is dropped
	var sent int64
	wait := func() {
		deadline := time.Now().Add(30 * time.Second)
		for got.Load() < sent*clients {
			if time.Now().After(deadline) {
				b.Fatalf("delivered %d of %d (client drops %d)", got.Load(), sent*clients, e.srv.Stats().ClientDrops)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.srv.Publish(ev)
		sent++
		if sent%batch == 0 {
			wait()
		}
	}
	wait()
	b.StopTimer()
	b.ReportMetric(float64(e.srv.Stats().ClientDrops), "drops")
	cancel()
	e.srv.Close()
	wg.Wait()
}
