package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/views"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// historyRanges maps a range name to its span and step.
var historyRanges = map[string]struct{ span, step time.Duration }{
	"1h":  {time.Hour, 30 * time.Second},
	"24h": {24 * time.Hour, 10 * time.Minute},
	"7d":  {7 * 24 * time.Hour, time.Hour},
}

// maxGraphs caps the graphs on a host page.
const maxGraphs = 12

// graphAttrs are the attributes preferred for a sample's graph, in order;
// a sample without any of them graphs its first attribute.
var graphAttrs = []string{"used_percentage", "usage_percentage", "used_percent", "percent",
	"load1", "1m", "rx_bytes_per_sec", "tx_bytes_per_sec", "read_bytes_per_sec", "value"}

func (s *Server) overviewPage(ctx context.Context, _ http.ResponseWriter, _ *http.Request, p views.Page) (int, templ.Component, error) {
	hosts, err := s.backend.ServerList(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("server list: %w", err)
	}
	alarms, err := s.backend.Alarms(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("alarms: %w", err)
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Host < hosts[j].Host })
	up, down := views.CountHosts(hosts)
	p.Title, p.Active = "Overview", "overview"
	return http.StatusOK, views.Overview(views.OverviewData{Page: p, Hosts: hosts,
		Counts: views.Counts{Up: up, Down: down, Firing: views.CountFiring(alarms)}}), nil
}

// pickAttr chooses the attribute to graph for a sample.
func pickAttr(v map[string]float64) string {
	for _, a := range graphAttrs {
		if _, ok := v[a]; ok {
			return a
		}
	}
	keys := model.SortedKeys(v)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

func (s *Server) hostPage(ctx context.Context, w http.ResponseWriter, r *http.Request, p views.Page) (int, templ.Component, error) {
	name := r.PathValue("name")
	rng := r.URL.Query().Get("range")
	if rng == "" {
		rng = "1h"
	}
	hr, ok := historyRanges[rng]
	if !ok {
		return 0, nil, fmt.Errorf("range %q (want 1h, 24h or 7d): %w", rng, ErrNotFound)
	}
	st, err := s.backend.ServerStatus(ctx, name)
	if err != nil {
		return 0, nil, fmt.Errorf("host %q: %w", name, err)
	}
	alarms, err := s.backend.Alarms(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("alarms: %w", err)
	}
	var mine []model.AlarmStatus
	for _, a := range alarms {
		if a.Host == name && a.State != model.AlarmOK {
			mine = append(mine, a)
		}
	}
	now := p.Now
	dts, err := s.backend.Downtimes(ctx, name, now.Add(-30*24*time.Hour), now)
	if err != nil {
		return 0, nil, fmt.Errorf("downtimes of %q: %w", name, err)
	}
	sort.Slice(dts, func(i, j int) bool { return dts[i].Start.After(dts[j].Start) })

	samples := append([]model.Sample(nil), st.Samples...)
	sort.Slice(samples, func(i, j int) bool { return samples[i].Key() < samples[j].Key() })
	var graphs []views.Graph
	from := now.Add(-hr.span)
	for _, smp := range samples {
		if len(graphs) >= maxGraphs {
			break
		}
		if smp.Service != model.ServiceMachine {
			continue
		}
		attr := pickAttr(smp.Values)
		if attr == "" {
			continue
		}
		pts, err := s.backend.History(ctx, name, smp.Key(), attr, from, now, hr.step)
		if err != nil {
			return 0, nil, fmt.Errorf("history of %s %s.%s: %w", name, smp.Key(), attr, err)
		}
		graphs = append(graphs, views.Graph{Title: smp.Resource + " " + smp.Unit + " " + attr,
			Series: smp.Key(), Attr: attr, Points: pts, From: from, To: now})
	}
	p.Title, p.Active = name, "overview"
	return http.StatusOK, views.HostPage(views.HostData{Page: p, Status: *st, Range: rng, Graphs: graphs,
		Alarms: mine, Downtimes: dts, Uptime: views.UptimeRows(dts, now)}), nil
}

func (s *Server) downtimesPage(ctx context.Context, _ http.ResponseWriter, _ *http.Request, p views.Page) (int, templ.Component, error) {
	dts, err := s.backend.Downtimes(ctx, "", p.Now.Add(-30*24*time.Hour), p.Now)
	if err != nil {
		return 0, nil, fmt.Errorf("downtimes: %w", err)
	}
	sort.Slice(dts, func(i, j int) bool { return dts[i].Start.After(dts[j].Start) })
	d := views.DowntimesData{}
	for _, dt := range dts {
		if dt.End.IsZero() {
			d.Current = append(d.Current, dt)
		} else if len(d.Past) < 500 {
			d.Past = append(d.Past, dt)
		}
	}
	p.Title, p.Active = "Downtimes", "downtimes"
	d.Page = p
	return http.StatusOK, views.DowntimesPage(d), nil
}

func (s *Server) alarmsData(ctx context.Context, p views.Page) (views.AlarmsData, error) {
	d := views.AlarmsData{}
	var err error
	if d.Alarms, err = s.backend.Alarms(ctx); err != nil {
		return d, fmt.Errorf("alarms: %w", err)
	}
	rank := map[model.AlarmState]int{model.AlarmFiring: 0, model.AlarmPending: 1, model.AlarmResolved: 2, model.AlarmOK: 3}
	sort.SliceStable(d.Alarms, func(i, j int) bool {
		a, b := d.Alarms[i], d.Alarms[j]
		if rank[a.State] != rank[b.State] {
			return rank[a.State] < rank[b.State]
		}
		return a.Host+a.Series < b.Host+b.Series
	})
	if d.Transitions, err = s.backend.Transitions(ctx, 100); err != nil {
		return d, fmt.Errorf("transitions: %w", err)
	}
	if d.Deliveries, err = s.backend.Deliveries(ctx, 200); err != nil {
		return d, fmt.Errorf("deliveries: %w", err)
	}
	if d.Rules, err = s.backend.Rules(ctx); err != nil {
		return d, fmt.Errorf("rules: %w", err)
	}
	p.Title, p.Active = "Alarms", "alarms"
	d.Page = p
	return d, nil
}

func (s *Server) alarmsPage(ctx context.Context, _ http.ResponseWriter, _ *http.Request, p views.Page) (int, templ.Component, error) {
	d, err := s.alarmsData(ctx, p)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, views.AlarmsPage(d), nil
}

func (s *Server) maintenancePage(ctx context.Context, _ http.ResponseWriter, _ *http.Request, p views.Page) (int, templ.Component, error) {
	ws, err := s.backend.Maintenance(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("maintenance: %w", err)
	}
	p.Title, p.Active = "Maintenance", "maintenance"
	return http.StatusOK, views.MaintenancePage(views.MaintenanceData{Page: p, Windows: ws}), nil
}

func (s *Server) clusterPage(ctx context.Context, _ http.ResponseWriter, _ *http.Request, p views.Page) (int, templ.Component, error) {
	ms, err := s.backend.Members(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("members: %w", err)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	p.Title, p.Active = "Cluster", "cluster"
	return http.StatusOK, views.ClusterPage(views.ClusterData{Page: p, Members: ms}), nil
}

// formDone writes a 303 to target and returns nil so pageHandler writes nothing more.
func formDone(w http.ResponseWriter, r *http.Request, target string) (int, templ.Component, error) {
	http.Redirect(w, r, target, http.StatusSeeOther)
	return 0, nil, nil
}

// parseForm parses a capped urlencoded form body.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("bad form: %w", err)
	}
	return nil
}

func (s *Server) formAddRule(ctx context.Context, w http.ResponseWriter, r *http.Request, p views.Page) (int, templ.Component, error) {
	fail := func(msg string) (int, templ.Component, error) {
		d, err := s.alarmsData(ctx, p)
		if err != nil {
			return 0, nil, err
		}
		d.Error = msg
		return http.StatusBadRequest, views.AlarmsPage(d), nil
	}
	if err := parseForm(w, r); err != nil {
		return fail(err.Error())
	}
	name, expr := strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("expr"))
	if msg := validateRule(name, expr); msg != "" {
		return fail(msg)
	}
	if err := s.backend.AddRule(ctx, name, expr); err != nil {
		return fail("rule " + name + ": " + err.Error())
	}
	s.log.Info("rule added", "rule", name, "expr", expr, "user", p.User)
	return formDone(w, r, "/alarms")
}

func (s *Server) formDeleteRule(ctx context.Context, w http.ResponseWriter, r *http.Request, p views.Page) (int, templ.Component, error) {
	name := r.PathValue("name")
	if err := s.backend.DeleteRule(ctx, name); err != nil {
		return 0, nil, fmt.Errorf("delete rule %q: %w", name, err)
	}
	s.log.Info("rule deleted", "rule", name, "user", p.User)
	return formDone(w, r, "/alarms")
}

func (s *Server) formAddMaintenance(ctx context.Context, w http.ResponseWriter, r *http.Request, p views.Page) (int, templ.Component, error) {
	fail := func(msg string) (int, templ.Component, error) {
		ws, err := s.backend.Maintenance(ctx)
		if err != nil {
			return 0, nil, fmt.Errorf("maintenance: %w", err)
		}
		p.Title, p.Active = "Maintenance", "maintenance"
		return http.StatusBadRequest, views.MaintenancePage(views.MaintenanceData{Page: p, Windows: ws, Error: msg}), nil
	}
	if err := parseForm(w, r); err != nil {
		return fail(err.Error())
	}
	f := r.PostForm
	req := maintenanceRequest{Hosts: f.Get("hosts"), Every: f.Get("every"), Duration: f.Get("duration"), Reason: f.Get("reason")}
	var err error
	if req.Start, err = parseFormTime("start", f.Get("start")); err != nil {
		return fail(err.Error())
	}
	if req.End, err = parseFormTime("end", f.Get("end")); err != nil {
		return fail(err.Error())
	}
	m, err := req.toModel(p.User)
	if err != nil {
		return fail(err.Error())
	}
	m, err = s.backend.AddMaintenance(ctx, m)
	if err != nil {
		return fail("maintenance window: " + err.Error())
	}
	s.log.Info("maintenance added", "id", m.ID, "hosts", m.Hosts, "user", p.User)
	return formDone(w, r, "/maintenance")
}

func (s *Server) formDeleteMaintenance(ctx context.Context, w http.ResponseWriter, r *http.Request, p views.Page) (int, templ.Component, error) {
	id := r.PathValue("id")
	if err := s.backend.DeleteMaintenance(ctx, id); err != nil {
		return 0, nil, fmt.Errorf("delete maintenance window %q: %w", id, err)
	}
	s.log.Info("maintenance deleted", "id", id, "user", p.User)
	return formDone(w, r, "/maintenance")
}

// parseFormTime parses a form time field (UTC): "2006-01-02 15:04",
// "2006-01-02T15:04" (datetime-local) or RFC 3339. Empty is the zero time.
func parseFormTime(field, v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: %q is not a time (want 2006-01-02 15:04 UTC or RFC 3339)", field, v)
}
