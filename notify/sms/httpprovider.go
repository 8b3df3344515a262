package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/notify"
)

// HTTPProvider is the generic HTTP/JSON SMS gateway: it POSTs
// {"to": "+41...", "text": "..."} with an optional bearer token. 2xx is
// success; 408, 425, 429 and 5xx are retryable; other statuses permanent.
type HTTPProvider struct {
	url    string
	token  string
	client *http.Client
	log    *slog.Logger
}

// HTTPRequest is the JSON document the generic provider POSTs.
type HTTPRequest struct {
	To   string `json:"to"`
	Text string `json:"text"`
}

func newHTTPProvider(cfg configs.SMSHTTPConfig, client *http.Client, log *slog.Logger) (*HTTPProvider, []error) {
	p := &HTTPProvider{token: string(cfg.Token), client: client, log: log}
	if cfg.URL == "" {
		return p, []error{fmt.Errorf("http: url is empty")}
	}
	u, err := checkURL("http: url", cfg.URL, p.token != "")
	if err != nil {
		return p, []error{err}
	}
	p.url = u.String()
	return p, nil
}

// Name returns "http".
func (p *HTTPProvider) Name() string { return "http" }

// SendSMS POSTs one message.
func (p *HTTPProvider) SendSMS(ctx context.Context, to, text string) (bool, error) {
	body, err := json.Marshal(HTTPRequest{To: to, Text: text})
	if err != nil {
		return false, fmt.Errorf("http: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return false, notify.Redact(fmt.Errorf("http: build request: %w", err), p.token)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Lookout")
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return true, notify.Redact(fmt.Errorf("http: POST: %w", err), p.token)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return false, nil
	}
	return notify.RetryableHTTPStatus(resp.StatusCode), notify.Redact(fmt.Errorf("http: HTTP %s: %s",
		resp.Status, strconv.Quote(notify.Truncate(notify.OneLine(string(snippet)), 200))), p.token)
}
