package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lookout-mon/lookout/model"
)

// Input limits of the API.
const (
	maxHostLen   = 253
	maxSeriesLen = 512
	maxAttrLen   = 128
	maxNameLen   = 128
	maxExprLen   = 4096
	maxLimit     = 1000
	defLimit     = 100
)

// downtimeRanges are the accepted range values of /api/v1/downtimes.
var downtimeRanges = map[string]time.Duration{
	"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour,
}

// apiError is the JSON body of every API error.
type apiErrorBody struct {
	Error string `json:"error"`
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiErrorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// badParam is a client error naming the offending parameter.
type badParam struct{ msg string }

func (e badParam) Error() string { return e.msg }

func badf(format string, args ...any) error { return badParam{fmt.Sprintf(format, args...)} }

// apiFunc answers one API request with a value to encode or an error.
type apiFunc func(ctx context.Context, r *http.Request) (any, error)

// api adapts an apiFunc: badParam -> 400, ErrNotFound -> 404, others -> 500.
func (s *Server) api(f apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), backendTimeout)
		defer cancel()
		v, err := f(ctx, r)
		var bp badParam
		switch {
		case err == nil:
			if v == nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(w, http.StatusOK, v)
		case errors.As(err, &bp):
			apiError(w, http.StatusBadRequest, bp.msg)
		case errors.Is(err, ErrNotFound):
			apiError(w, http.StatusNotFound, err.Error())
		default:
			s.log.Error("api", "path", r.URL.Path, "err", err)
			apiError(w, http.StatusInternalServerError, "internal error (see the server log)")
		}
	})
}

func (s *Server) apiRoutes(mux *http.ServeMux) {
	get := func(path string, f apiFunc) { mux.Handle("GET /api/v1/"+path, s.read(s.api(f))) }
	get("server-status", s.apiServerStatus)
	get("down-list", func(ctx context.Context, _ *http.Request) (any, error) {
		return nonNil(s.backend.DownList(ctx))
	})
	get("server-list", func(ctx context.Context, _ *http.Request) (any, error) {
		return nonNil(s.backend.ServerList(ctx))
	})
	get("last-value", s.apiLastValue)
	get("service-list", s.apiServiceList)
	get("history", s.apiHistory)
	get("downtimes", s.apiDowntimes)
	get("alarms", func(ctx context.Context, _ *http.Request) (any, error) {
		return nonNil(s.backend.Alarms(ctx))
	})
	get("deliveries", s.apiDeliveries)
	get("rules", func(ctx context.Context, _ *http.Request) (any, error) {
		return nonNil(s.backend.Rules(ctx))
	})
	get("maintenance", func(ctx context.Context, _ *http.Request) (any, error) {
		return nonNil(s.backend.Maintenance(ctx))
	})
	get("cluster", func(ctx context.Context, _ *http.Request) (any, error) {
		return nonNil(s.backend.Members(ctx))
	})
	mux.Handle("POST /api/v1/rules", s.write(s.api(s.apiAddRule)))
	mux.Handle("DELETE /api/v1/rules/{name}", s.write(s.api(s.apiDeleteRule)))
	mux.Handle("POST /api/v1/maintenance", s.write(s.api(s.apiAddMaintenance)))
	mux.Handle("DELETE /api/v1/maintenance/{id}", s.write(s.api(s.apiDeleteMaintenance)))
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "no API endpoint "+r.Method+" "+r.URL.Path)
	}))
}

// nonNil turns a nil slice into an empty one, so the JSON is [] not null.
func nonNil[T any](v []T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []T{}
	}
	return v, nil
}

// textParam validates a query parameter: printable UTF-8, at most max bytes.
func textParam(r *http.Request, name string, required bool, max int) (string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if required {
			return "", badf("missing query parameter %q", name)
		}
		return "", nil
	}
	if err := checkText(name, v, max); err != nil {
		return "", err
	}
	return v, nil
}

func checkText(name, v string, max int) error {
	if len(v) > max {
		return badf("parameter %q is too long (%d bytes, max %d)", name, len(v), max)
	}
	if !utf8.ValidString(v) {
		return badf("parameter %q is not valid UTF-8", name)
	}
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			return badf("parameter %q contains a control character", name)
		}
	}
	return nil
}

// seriesParam validates a "service.resource:unit" series.
func seriesParam(r *http.Request) (string, error) {
	v, err := textParam(r, "series", true, maxSeriesLen)
	if err != nil {
		return "", err
	}
	i := strings.IndexByte(v, ':')
	if i <= 0 || !strings.Contains(v[:i], ".") || strings.HasPrefix(v, ".") || strings.HasSuffix(v[:i], ".") {
		return "", badf("parameter \"series\" = %q: want service.resource:unit, e.g. machine.disk:/dev/sda1", v)
	}
	return v, nil
}

func (s *Server) apiServerStatus(ctx context.Context, r *http.Request) (any, error) {
	host, err := textParam(r, "host", true, maxHostLen)
	if err != nil {
		return nil, err
	}
	st, err := s.backend.ServerStatus(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("host %q: %w", host, err)
	}
	return st, nil
}

// lastValue is the answer of /api/v1/last-value.
type lastValue struct {
	Host   string    `json:"host"`
	Series string    `json:"series"`
	Attr   string    `json:"attr"`
	Value  float64   `json:"value"`
	Time   time.Time `json:"time"`
}

func (s *Server) apiLastValue(ctx context.Context, r *http.Request) (any, error) {
	host, err := textParam(r, "host", true, maxHostLen)
	if err != nil {
		return nil, err
	}
	series, err := seriesParam(r)
	if err != nil {
		return nil, err
	}
	attr, err := textParam(r, "attr", true, maxAttrLen)
	if err != nil {
		return nil, err
	}
	v, t, err := s.backend.LastValue(ctx, host, series, attr)
	if err != nil {
		return nil, fmt.Errorf("last value of %s %s.%s: %w", host, series, attr, err)
	}
	return lastValue{Host: host, Series: series, Attr: attr, Value: v, Time: t}, nil
}

func (s *Server) apiServiceList(ctx context.Context, r *http.Request) (any, error) {
	host, err := textParam(r, "host", false, maxHostLen)
	if err != nil {
		return nil, err
	}
	return nonNil(s.backend.ServiceList(ctx, host))
}

func (s *Server) apiHistory(ctx context.Context, r *http.Request) (any, error) {
	host, err := textParam(r, "host", true, maxHostLen)
	if err != nil {
		return nil, err
	}
	series, err := seriesParam(r)
	if err != nil {
		return nil, err
	}
	attr, err := textParam(r, "attr", true, maxAttrLen)
	if err != nil {
		return nil, err
	}
	rng := r.URL.Query().Get("range")
	if rng == "" {
		rng = "1h"
	}
	hr, ok := historyRanges[rng]
	if !ok {
		return nil, badf("parameter \"range\" = %q: want 1h, 24h or 7d", truncate(rng, 32))
	}
	now := s.now()
	return nonNil(s.backend.History(ctx, host, series, attr, now.Add(-hr.span), now, hr.step))
}

func (s *Server) apiDowntimes(ctx context.Context, r *http.Request) (any, error) {
	host, err := textParam(r, "host", false, maxHostLen)
	if err != nil {
		return nil, err
	}
	rng := r.URL.Query().Get("range")
	if rng == "" {
		rng = "7d"
	}
	span, ok := downtimeRanges[rng]
	if !ok {
		return nil, badf("parameter \"range\" = %q: want 24h, 7d or 30d", truncate(rng, 32))
	}
	now := s.now()
	return nonNil(s.backend.Downtimes(ctx, host, now.Add(-span), now))
}

func (s *Server) apiDeliveries(ctx context.Context, r *http.Request) (any, error) {
	limit := defLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return nil, badf("parameter \"limit\" = %q: want a number from 1 to %d", truncate(v, 32), maxLimit)
		}
		limit = n
	}
	return nonNil(s.backend.Deliveries(ctx, limit))
}

// decodeBody decodes a capped JSON body into v, refusing unknown fields and
// trailing data.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return badf("request body: Content-Type %q, want application/json", truncate(ct, 64))
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || dec.InputOffset() > maxBody {
			return badf("request body: truncated or larger than %d bytes", maxBody)
		}
		if errors.Is(err, io.EOF) {
			return badf("request body: empty, want a JSON object")
		}
		return badf("request body: %v", err)
	}
	if dec.More() {
		return badf("request body: trailing data after the JSON object")
	}
	return nil
}

// ruleRequest is the body of POST /api/v1/rules.
type ruleRequest struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// validateRule checks a rule's name and expression before the backend parses
// it; it returns "" when fine, else a message naming the field.
func validateRule(name, expr string) string {
	switch {
	case name == "":
		return `field "name" is empty`
	case len(name) > maxNameLen:
		return fmt.Sprintf(`field "name" is too long (max %d bytes)`, maxNameLen)
	case strings.ContainsAny(name, "/\\ \t\r\n") || !utf8.ValidString(name):
		return `field "name" must be valid UTF-8 without spaces or slashes`
	case expr == "":
		return `field "expr" is empty`
	case len(expr) > maxExprLen:
		return fmt.Sprintf(`field "expr" is too long (max %d bytes)`, maxExprLen)
	case !utf8.ValidString(expr):
		return `field "expr" is not valid UTF-8`
	}
	return ""
}

func (s *Server) apiAddRule(ctx context.Context, r *http.Request) (any, error) {
	var req ruleRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	req.Name, req.Expr = strings.TrimSpace(req.Name), strings.TrimSpace(req.Expr)
	if msg := validateRule(req.Name, req.Expr); msg != "" {
		return nil, badParam{msg}
	}
	if err := s.backend.AddRule(ctx, req.Name, req.Expr); err != nil {
		return nil, badf("rule %q: %v", req.Name, err)
	}
	s.log.Info("rule added", "rule", req.Name, "expr", req.Expr, "user", userFrom(r.Context()))
	return model.RuleInfo{Name: req.Name, Expr: req.Expr, Source: "runtime"}, nil
}

func (s *Server) apiDeleteRule(ctx context.Context, r *http.Request) (any, error) {
	name := r.PathValue("name")
	if err := s.backend.DeleteRule(ctx, name); err != nil {
		return nil, fmt.Errorf("rule %q: %w", name, err)
	}
	s.log.Info("rule deleted", "rule", name, "user", userFrom(r.Context()))
	return nil, nil
}

// maintenanceRequest is the body of POST /api/v1/maintenance: either
// start+end, or every+duration ("2h").
type maintenanceRequest struct {
	Hosts    string    `json:"hosts"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Every    string    `json:"every"`
	Duration string    `json:"duration"`
	Reason   string    `json:"reason"`
}

// toModel validates the request and builds the window, created by user.
func (q maintenanceRequest) toModel(user string) (model.Maintenance, error) {
	m := model.Maintenance{Hosts: strings.TrimSpace(q.Hosts), Start: q.Start, End: q.End,
		Every: strings.TrimSpace(q.Every), Reason: strings.TrimSpace(q.Reason), By: user}
	if m.Hosts == "" {
		return m, badf(`field "hosts" is empty (use "*" for all hosts)`)
	}
	if err := checkText("hosts", m.Hosts, maxHostLen); err != nil {
		return m, err
	}
	if err := checkText("reason", m.Reason, 1024); err != nil {
		return m, err
	}
	if err := checkText("every", m.Every, 64); err != nil {
		return m, err
	}
	if d := strings.TrimSpace(q.Duration); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return m, badf(`field "duration" = %q: want a positive duration such as "90m" or "2h"`, truncate(d, 32))
		}
		m.Duration = dur
	}
	switch {
	case m.Every != "":
		if m.Duration == 0 {
			return m, badf(`field "duration" is required with "every"`)
		}
		if !m.Start.IsZero() || !m.End.IsZero() {
			return m, badf(`fields "start"/"end" and "every" exclude each other`)
		}
	case m.Start.IsZero() || m.End.IsZero():
		if m.Start.IsZero() || m.Duration == 0 {
			return m, badf(`give "start" and "end" (or "start" and "duration"), or "every" and "duration"`)
		}
		m.End = m.Start.Add(m.Duration)
	case !m.End.After(m.Start):
		return m, badf(`field "end" must be after "start"`)
	}
	return m, nil
}

func (s *Server) apiAddMaintenance(ctx context.Context, r *http.Request) (any, error) {
	var req maintenanceRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	m, err := req.toModel(userFrom(r.Context()))
	if err != nil {
		return nil, err
	}
	m, err = s.backend.AddMaintenance(ctx, m)
	if err != nil {
		return nil, badf("maintenance window: %v", err)
	}
	s.log.Info("maintenance added", "id", m.ID, "hosts", m.Hosts, "user", m.By)
	return m, nil
}

func (s *Server) apiDeleteMaintenance(ctx context.Context, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := s.backend.DeleteMaintenance(ctx, id); err != nil {
		return nil, fmt.Errorf("maintenance window %q: %w", id, err)
	}
	s.log.Info("maintenance deleted", "id", id, "user", userFrom(r.Context()))
	return nil, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
