package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/notify"
)

// TwilioBaseURL is Twilio's REST API.
const TwilioBaseURL = "https://api.twilio.com"

var (
	twilioAccountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	twilioServiceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	// Alphanumeric sender IDs: up to 11 letters, digits and spaces, with a letter.
	alphaSender = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter   = regexp.MustCompile(`[A-Za-z]`)
)

// Twilio sends SMS through Twilio's Programmable Messaging REST API
// (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP
// basic auth with the account SID and auth token).
type Twilio struct {
	sid      string
	token    string
	from     string
	endpoint string
	client   *http.Client
	log      *slog.Logger
}

// twilioError is Twilio's JSON error document.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioMessage is the part of Twilio's message resource Lookout logs.
type twilioMessage struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

func newTwilio(cfg configs.TwilioConfig, client *http.Client, log *slog.Logger) (*Twilio, []error) {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("twilio: "+format, args...)) }
	t := &Twilio{sid: strings.TrimSpace(cfg.AccountSID), token: string(cfg.AuthToken),
		from: normalizeNumber(cfg.From), client: client, log: log}
	if !twilioAccountSID.MatchString(t.sid) {
		add("account_sid %q is not a Twilio account SID (AC and 32 hex digits)", cfg.AccountSID)
	}
	if t.token == "" {
		add("auth_token is empty")
	}
	switch {
	case cfg.From == "":
		add("from is empty (want an E.164 number, a messaging service SID MG..., or an alphanumeric sender ID)")
	case e164.MatchString(t.from), twilioServiceSID.MatchString(t.from):
	case alphaSender.MatchString(cfg.From) && hasLetter.MatchString(cfg.From):
		t.from = cfg.From
	default:
		add("from %q is not an E.164 number, a messaging service SID or an alphanumeric sender ID (1-11 letters/digits)", cfg.From)
	}
	base := cfg.BaseURL
	if base == "" {
		base = TwilioBaseURL
	}
	if u, err := checkURL("twilio: base_url", base, true); err != nil {
		errs = append(errs, err)
	} else {
		u.Path = strings.TrimRight(u.Path, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.sid) + "/Messages.json"
		u.RawPath = ""
		t.endpoint = u.String()
	}
	return t, errs
}

// Name returns "twilio".
func (t *Twilio) Name() string { return "twilio" }

// SendSMS creates one message. 2xx (Twilio answers 201 Created) is
// success; 429 and 5xx are retryable; other statuses are permanent and
// quote Twilio's error code and message.
func (t *Twilio) SendSMS(ctx context.Context, to, text string) (bool, error) {
	form := url.Values{}
	form.Set("To", to)
	if twilioServiceSID.MatchString(t.from) {
		form.Set("MessagingServiceSid", t.from)
	} else {
		form.Set("From", t.from)
	}
	form.Set("Body", text)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, fmt.Errorf("twilio: build request: %w", err)
	}
	req.SetBasicAuth(t.sid, t.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Lookout")
	resp, err := t.client.Do(req)
	if err != nil {
		return true, notify.Redact(fmt.Errorf("twilio: POST: %w", err), t.token)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		var m twilioMessage
		_ = json.Unmarshal(body, &m) // only for the log line
		t.log.Debug("twilio accepted message", "to", to, "sid", m.SID, "status", m.Status)
		return false, nil
	}
	retry := notify.RetryableHTTPStatus(resp.StatusCode)
	var te twilioError
	if json.Unmarshal(body, &te) == nil && (te.Message != "" || te.Code != 0) {
		msg := fmt.Sprintf("twilio: HTTP %d: error %d: %s", resp.StatusCode, te.Code,
			strconv.Quote(notify.Truncate(notify.OneLine(te.Message), 300)))
		if te.MoreInfo != "" {
			msg += " (" + notify.OneLine(te.MoreInfo) + ")"
		}
		return retry, notify.Redact(errors.New(msg), t.token)
	}
	return retry, notify.Redact(fmt.Errorf("twilio: HTTP %s: %s", resp.Status,
		strconv.Quote(notify.Truncate(notify.OneLine(string(body)), 200))), t.token)
}
