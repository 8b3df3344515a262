package app

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/web"
)

// Every secret of the config below. They are distinctive strings so any
// occurrence in output is a leak.
const (
	secMailPW      = "mail-pw-Q7xJ2kL9"
	secIRCSASL     = "sasl-pw-V3nB8mZ1"
	secIRCServer   = "irc-srvpw-T5cR6yH4"
	secIRCKey      = "chan-key-P2wE9uD7"
	secTwilio      = "twilio-tok-M4aS1fG8"
	secWebhook     = "hook-hmac-K8jL3qW5"
	secURLToken    = "urltok-Z9xC2vB6"
	secSMSHTTPTok  = "smshttp-tok-R1tY7uI3"
	secUserPW      = "dash-pw-N6mQ4eR2"
	secTwilioBasic = "AC11111111111111111111111111111111:" + secTwilio
)

// echoServer answers every request with status and a body echoing what it
// received (URL, Authorization, form), as careless providers do.
func echoServer(t *testing.T, status int) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(status)
		fmt.Fprintf(w, "bad request to %s auth=%q body=%q", r.URL.String(), r.Header.Get("Authorization"), b)
	}))
	t.Cleanup(s.Close)
	return s
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	addr := freePort(t)
	u, _ := url.Parse("tcp://" + addr)
	var p int
	fmt.Sscan(u.Port(), &p)
	return p
}

// TestSecretsNeverPrinted starts a master with every kind of secret,
// makes every notifier fail (closed ports, providers echoing the request),
// fails logins and loads a bad config, and checks that no secret appears in
// the logs, the terminal output, the dashboard's API or error texts.
func TestSecretsNeverPrinted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a master and waits for notifier retries (~4 s)")
	}
	hash, err := web.HashPassword(secUserPW)
	if err != nil {
		t.Fatal(err)
	}
	twilio := echoServer(t, http.StatusUnauthorized)
	smsHTTP := echoServer(t, http.StatusInternalServerError)
	hook := echoServer(t, http.StatusBadGateway)
	secrets := []string{secMailPW, secIRCSASL, secIRCServer, secIRCKey, secTwilio, secWebhook, secURLToken,
		secSMSHTTPTok, secUserPW, hash, secTwilioBasic, base64.StdEncoding.EncodeToString([]byte(secTwilioBasic))}
	yaml := fmt.Sprintf(`
node: {name: m1, data_dir: %s, debug: true}
master:
  enabled: true
  listen: %s
  insecure_loopback: true
  notifiers:
    outbox: {retry_min: 100ms, retry_max: 300ms, fail_warn_after: 1s}
    mail:
      - {name: m, host: 127.0.0.1, port: %d, tls: starttls, username: ops, password: %s, from: lookout@example.net,
         min_level: INFO, recipients: [{address: ops@example.net}], timeout: 1s}
    irc:
      - {name: i, server: 127.0.0.1, port: %d, nick: lookout, server_password: %s, sasl_user: lookout,
         sasl_password: %s, channels: [{name: "#ops", key: %s, min_level: INFO}]}
    sms:
      - {name: s, provider: twilio, min_level: INFO, to: ["+14155550100"], timeout: 1s,
         twilio: {account_sid: AC11111111111111111111111111111111, auth_token: %s, from: "+14155550199", base_url: %q}}
      - {name: h, provider: http, min_level: INFO, to: ["+14155550100"], timeout: 1s,
         http: {url: %q, token: %s}}
    webhook:
      - {name: w, url: %q, secret: %s, min_level: INFO, timeout: 1s}
http:
  enabled: true
  listen: %s
  users: [{name: admin, password_hash: %q}]
`, t.TempDir(), freePort(t), closedPort(t), secMailPW, closedPort(t), secIRCServer, secIRCSASL, secIRCKey,
		secTwilio, twilio.URL, smsHTTP.URL+"/send?key="+secURLToken, secSMSHTTPTok,
		hook.URL+"/hook?token="+secURLToken, secWebhook, freePort(t), hash)

	// A bad config carrying the same secrets: the error text must not echo them.
	bad := strings.Replace(yaml, "port: ", "port: -", 1) + "  bogus_key: " + secMailPW + "\n"
	bad = strings.Replace(bad, "min_level: INFO, recipients", "min_level: LOUD, recipients", 1)
	if _, err := configs.LoadBytes([]byte(bad), []string{"LOOKOUT_MASTER__NOTIFIERS__MAIL__0__PASSWORD=" + secMailPW}); err == nil {
		t.Fatal("bad config accepted")
	} else {
		assertNoSecret(t, "configs.LoadBytes error", err.Error(), secrets)
	}

	cfg := loadConfig(t, yaml)
	logs, out := &syncBuffer{}, &syncBuffer{}
	a, err := Start(cfg, Options{Log: testLogger(logs), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	a.Master.Notify(model.Notification{ID: "secret-test-1", Level: model.CRIT, Kind: model.KindWarning,
		Subject: "test notification", Text: "every notifier must fail"}, "secret-test", true)

	// Failed logins, with the real hash and a wrong password.
	for _, pw := range []string{"wrong", hash, secUserPW + "x"} {
		resp, err := http.PostForm(a.URL+"login", url.Values{"user": {"admin"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The dashboard's own view of deliveries (errors included).
	defer func() {
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	}()
	waitFor(t, 10*time.Second, "failed deliveries on every notifier", func() bool {
		s := logs.String()
		for _, n := range []string{"mail/m", "irc/i", "sms/s", "sms/h", "webhook/w"} {
			if !strings.Contains(s, n) {
				return false
			}
		}
		return true
	})
	// Long enough for fail_warn_after (1s): "notifier ... is failing"
	// WARNs, which quote the last error, go out through the others.
	time.Sleep(2 * time.Second)
	api := apiGet(t, a.URL+"api/v1/deliveries", secUserPW)
	a.Stop()

	assertNoSecret(t, "logs", logs.String(), secrets)
	assertNoSecret(t, "terminal output", out.String(), secrets)
	assertNoSecret(t, "deliveries API", api, secrets)
	if !strings.Contains(logs.String(), "delivery failed") {
		t.Errorf("no delivery failure was logged; the test provoked nothing:\n%s", logs.String())
	}
}

func apiGet(t *testing.T, u, pw string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.SetBasicAuth("admin", pw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

func assertNoSecret(t *testing.T, where, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if i := strings.Index(text, s); i >= 0 {
			lo, hi := max(0, i-200), min(len(text), i+len(s)+100)
			t.Errorf("%s contains secret %q: ...%s...", where, s, text[lo:hi])
		}
	}
}
