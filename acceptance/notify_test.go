package acceptance

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/web"
)

// lookoutBin is the lookout binary built once by TestMain.
var lookoutBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // the tests skip themselves
	}
	// LOOKOUT_ACCEPTANCE_RACE: the processes under test with the race detector.
	bin, cleanup, err := testutil.BuildLookout(os.Getenv("LOOKOUT_ACCEPTANCE_RACE") != "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "acceptance:", err)
		os.Exit(1)
	}
	lookoutBin = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

const (
	agentName     = "agent1"
	botNick       = "lookout"
	adminPassword = "acceptance-password"
	// promptly is how fast a healthy channel must get an alert while
	// others fail: port check interval (1s, the validated minimum) + ingest + routing + send.
	promptly = 2500 * time.Millisecond
)

// cluster is the system under test: a master and an agent process and the
// four channels' endpoints.
type cluster struct {
	t          *testing.T
	masterCfg  string
	httpURL    string
	master     *proc
	agent      *proc
	ports      []*portListener
	webhook    *sink
	sms        *sink
	mail       *sink
	irc        *sink
	ircd       *ngircd // nil: IRC part skipped
	reader     *ircReader
	masterPort int
}

// channels are the sinks taking part (IRC only with ngircd).
func (c *cluster) channels() []*sink {
	out := []*sink{c.webhook, c.mail, c.sms}
	if c.ircd != nil {
		out = append(out, c.irc)
	}
	return out
}

func startCluster(t *testing.T, nPorts int) *cluster {
	c := &cluster{t: t}
	var whURL, smsURL string
	var smtpPort int
	c.webhook, whURL = startWebhook(t)
	c.sms, smsURL = startTwilio(t)
	c.mail, smtpPort = startSMTP(t)
	c.irc = newSink("irc")
	ircConf := ""
	if _, err := os.Stat(ngircdPath); err != nil {
		t.Logf("IRC part SKIPPED: %s not found (%v); apt-get install -y ngircd to run it", ngircdPath, err)
	} else {
		c.ircd = newNgircd(t)
		c.ircd.start()
		c.reader = newIRCReader(t, c.ircd.port, c.irc, botNick)
		t.Cleanup(func() {
			if c.reader != nil {
				c.reader.close()
			}
		})
		ircConf = fmt.Sprintf(`
    irc:
      - name: i
        server: 127.0.0.1
        port: %d
        nick: %s
        server_password: srvpass
        colors: false
        pace: 20ms
        channels:
          - name: "#ops"
            min_level: INFO`, c.ircd.port, botNick)
	}
	for range nPorts {
		c.ports = append(c.ports, newPortListener(t))
	}

	dir := t.TempDir()
	pub, err := pki.GenerateAgentKey(filepath.Join(dir, "agent.key"))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := web.HashPassword(adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	c.masterPort = freePort(t)
	httpPort := freePort(t)
	c.httpURL = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	c.masterCfg = filepath.Join(dir, "master.yaml")
	master := fmt.Sprintf(`node:
  name: m1
  data_dir: %s
master:
  enabled: true
  listen: 127.0.0.1:%d
  insecure_loopback: true
  agents:
    - name: %s
      public_key: %s
  notifiers:
    outbox:
      retry_min: 200ms
      retry_max: 2s
    mail:
      - name: m
        host: 127.0.0.1
        port: %d
        tls: none
        from: lookout@lookout.test
        min_level: INFO
        timeout: 5s
        recipients:
          - address: ops@lookout.test
    sms:
      - name: s
        provider: twilio
        min_level: INFO
        segments: 3
        timeout: 5s
        to: ["%s"]
        twilio:
          account_sid: %s
          auth_token: %s
          from: "%s"
          base_url: %s
    webhook:
      - name: w
        url: %s
        min_level: INFO
        secret: %s
        timeout: 5s%s
http:
  enabled: true
  listen: 127.0.0.1:%d
  users:
    - name: admin
      password_hash: %q
`, filepath.Join(dir, "master-data"), c.masterPort, agentName, pki.EncodePublicKey(pub), smtpPort,
		smsTo, twilioSID, twilioToken, twilioFrom, smsURL, whURL, webhookSecret, ircConf, httpPort, hash)
	if err := os.WriteFile(c.masterCfg, []byte(master), 0o600); err != nil {
		t.Fatal(err)
	}
	var portsConf strings.Builder
	for i, p := range c.ports {
		fmt.Fprintf(&portsConf, "    - name: al%d\n      port: %d\n      timeout: 500ms\n", i, p.port)
	}
	agentCfg := filepath.Join(dir, "agent.yaml")
	agent := fmt.Sprintf(`node:
  name: %s
  data_dir: %s
agent:
  enabled: true
  key_file: %s
  listen: 127.0.0.1:%d
  insecure_loopback: true
  masters: ["127.0.0.1:%d"]
  resend_after: 500ms
  intervals:
    ports: 1s
    heartbeat: 1s
  ports:
%s`, agentName, filepath.Join(dir, "agent-data"), filepath.Join(dir, "agent.key"), freePort(t), c.masterPort, portsConf.String())
	if err := os.WriteFile(agentCfg, []byte(agent), 0o600); err != nil {
		t.Fatal(err)
	}
	c.startMaster("master")
	c.agent = startProc(t, "agent", "agent", "-c", agentCfg)
	// The agent's first report makes the master announce the new host on
	// every channel: that shows the whole path works before the scenario.
	waitFor(t, 20*time.Second, "first notification (new host) on the webhook", func() bool {
		c.webhook.mu.Lock()
		defer c.webhook.mu.Unlock()
		return len(c.webhook.got) > 0
	})
	return c
}

// startMaster starts the master process and waits until its API answers.
func (c *cluster) startMaster(name string) {
	c.t.Helper()
	c.master = startProc(c.t, name, "master", "-c", c.masterCfg)
	waitFor(c.t, 20*time.Second, "master API answering", func() bool {
		if c.master.exited() {
			c.t.Fatalf("master exited; see its output")
		}
		_, err := c.deliveries()
		return err == nil
	})
}

// deliveries runs `lookout query deliveries` against the master.
func (c *cluster) deliveries() ([]model.Delivery, error) {
	cmd := exec.Command(lookoutBin, "query", "--url", c.httpURL, "--user", "admin", "deliveries")
	cmd.Env = append(os.Environ(), "LOOKOUT_PASSWORD="+adminPassword)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("lookout query deliveries: %w: %s", err, stderr.String())
	}
	var ds []model.Delivery
	if err := json.Unmarshal(out, &ds); err != nil {
		return nil, fmt.Errorf("lookout query deliveries: output is not a delivery list: %w: %q", err, out)
	}
	return ds, nil
}

// raise closes (down) or reopens (up) the port of check al<i> and returns
// the alert name.
func (c *cluster) raise(i int, down bool) string {
	if down {
		c.ports[i].close()
		return fmt.Sprintf("al%d down", i)
	}
	c.ports[i].open()
	return fmt.Sprintf("al%d up", i)
}

// waitAll waits until every channel got every alert.
func (c *cluster) waitAll(d time.Duration, alerts ...string) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		missing := ""
		for _, s := range c.channels() {
			for _, a := range alerts {
				if !s.has(a) {
					missing += fmt.Sprintf(" %s:%q", s.name, a)
				}
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			for _, s := range c.channels() {
				c.t.Log(s.summary())
			}
			c.t.Fatalf("after %s still missing:%s", d, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNotifiersAcceptance runs issue 4's scenario against real master and
// agent processes: every alert reaches every channel exactly once through
// channel outages, a failing channel never delays the healthy ones, and a
// notification failing when the master is killed -9 is delivered after the
// restart.
func TestNotifiersAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test: starts real processes (skipped with -short)")
	}
	start := time.Now()
	c := startCluster(t, 6)
	t.Logf("system up in %s", time.Since(start).Round(time.Millisecond))

	// Baseline: one alert, every channel gets it.
	want := []string{c.raise(0, true)}
	c.waitAll(15*time.Second, want...)
	t.Logf("baseline delivered on %d channels after %s", len(c.channels()), time.Since(start).Round(time.Millisecond))

	// Outage: IRC server stopped, SMTP answers 451, Twilio 503.
	outage := time.Now()
	if c.ircd != nil {
		c.reader.close()
		c.reader = nil
		c.ircd.stop()
	}
	c.mail.setFailing(true)
	c.sms.setFailing(true)
	time.Sleep(300 * time.Millisecond) // let the bot notice the lost connection

	// While those fail, the webhook gets alerts promptly.
	for _, i := range []int{1, 2} {
		raised := time.Now()
		a := c.raise(i, true)
		want = append(want, a)
		waitFor(t, promptly, fmt.Sprintf("webhook got %q within %s while mail/SMS/IRC fail", a, promptly), func() bool {
			return c.webhook.has(a)
		})
		t.Logf("webhook got %q %s after the port closed, while the others fail", a, time.Since(raised).Round(time.Millisecond))
	}
	// The failing channels did try (and were refused): the alerts sit in
	// their outboxes, in order (al2 waits behind al1 there).
	waitFor(t, 5*time.Second, "mail and SMS refused al1 at least once", func() bool {
		return c.mail.refusedCount("al1 down") > 0 && c.sms.refusedCount("al1 down") > 0
	})

	// Now the webhook fails too (HTTP 500); more alerts meanwhile.
	c.webhook.setFailing(true)
	want = append(want, c.raise(3, true))
	waitFor(t, 5*time.Second, "webhook refused al3 at least twice", func() bool {
		return c.webhook.refusedCount("al3 down") >= 2
	})
	want = append(want, c.raise(1, false))
	if s := time.Since(outage); s < 5*time.Second {
		time.Sleep(5*time.Second - s)
	}
	for _, s := range c.channels() {
		if s != c.irc && s.has("al3 down") {
			t.Errorf("%s got al3 while it was failing", s.name)
		}
	}

	// Every channel back (ngircd on the same port).
	if c.ircd != nil {
		c.ircd.start()
		c.reader = newIRCReader(t, c.ircd.port, c.irc, botNick)
	}
	c.mail.setFailing(false)
	c.sms.setFailing(false)
	c.webhook.setFailing(false)
	back := time.Now()
	c.waitAll(30*time.Second, want...)
	t.Logf("every channel caught up %s after the outage ended (outage lasted %s)",
		time.Since(back).Round(time.Millisecond), back.Sub(outage).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // duplicates would show up now

	ids := checkExactlyOnce(t, c, want)

	// The delivery ledger, as `lookout query deliveries` shows it.
	checkDeliveries(t, c, ids, want)

	// kill -9 the master while the webhook fails: the notification sits in
	// the durable outbox and is delivered after the restart.
	c.webhook.setFailing(true)
	a4 := c.raise(4, true)
	waitFor(t, 10*time.Second, "webhook refused al4", func() bool { return c.webhook.refusedCount(a4) > 0 })
	others := []*sink{}
	for _, s := range c.channels() {
		if s != c.webhook {
			others = append(others, s)
		}
	}
	waitFor(t, promptly, "al4 on mail, SMS and IRC while the webhook fails", func() bool {
		for _, s := range others {
			if !s.has(a4) {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // the ledger commit follows the delivery
	refusedBefore := c.webhook.refusedCount(a4)
	c.master.kill9()
	t.Logf("master killed -9 with %q failing on the webhook (%d refused attempts)", a4, refusedBefore)
	c.startMaster("master-restarted")
	waitFor(t, 10*time.Second, "restarted master retries al4 from its outbox", func() bool {
		return c.webhook.refusedCount(a4) > refusedBefore
	})
	c.webhook.setFailing(false)
	waitFor(t, 10*time.Second, "webhook got al4 after the restart", func() bool { return c.webhook.has(a4) })
	time.Sleep(2 * time.Second)
	if n := len(c.webhook.arrivals(a4)); n != 1 {
		t.Logf("NOTE: al4 reached the webhook %d times after the kill -9 (at-least-once)", n)
	} else {
		t.Logf("al4 reached the webhook exactly once after the kill -9 and restart")
	}
	for _, s := range others {
		if n := len(s.arrivals(a4)); n != 1 {
			t.Errorf("%s got al4 %d times: delivered before the kill -9, it must not be sent again after the restart", s.name, n)
		}
	}
	// The restarted master's ledger shows the webhook delivery.
	id4 := c.webhook.arrivals(a4)[0].id
	waitFor(t, 5*time.Second, "deliveries shows al4 sent on webhook/w", func() bool {
		ds, err := c.deliveries()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.NotificationID == id4 && d.Notifier == "webhook/w" && d.State == model.DeliverySent {
				return true
			}
		}
		return false
	})
	// What was delivered before the kill -9 is still listed (the ledger is
	// durable, and the restarted master shows it).
	checkDeliveries(t, c, ids, want)
	for _, s := range c.channels() {
		if pe := s.protocolErrors(); len(pe) > 0 {
			t.Errorf("%s endpoint got malformed requests: %q", s.name, pe)
		}
	}
	t.Logf("scenario done in %s", time.Since(start).Round(time.Millisecond))
}

// checkExactlyOnce checks every alert arrived exactly once per channel,
// counted by the channel's identity of a notification, that nothing else
// about the test's ports arrived, and that mail and webhook carry the same
// notification ID. It returns the notification ID of each alert.
func checkExactlyOnce(t *testing.T, c *cluster, want []string) map[string]string {
	t.Helper()
	wanted := map[string]bool{}
	for _, a := range want {
		wanted[a] = true
	}
	for _, s := range c.channels() {
		byAlert, byID := s.tracked()
		for id, n := range byID {
			if n != 1 {
				t.Errorf("%s: notification %q arrived %d times", s.name, id, n)
			}
		}
		for _, a := range want {
			if n := len(byAlert[a]); n != 1 {
				t.Errorf("%s: alert %q arrived %d times, want exactly once", s.name, a, n)
			}
		}
		for a, arr := range byAlert {
			if !wanted[a] {
				t.Errorf("%s: unexpected alert %q (%d times)", s.name, a, len(arr))
			}
		}
		t.Log(s.summary())
	}
	ids := map[string]string{}
	for _, a := range want {
		wh := c.webhook.arrivals(a)
		ml := c.mail.arrivals(a)
		if len(wh) == 0 || len(ml) == 0 {
			continue
		}
		ids[a] = wh[0].id
		if !strings.Contains(ml[0].id, "lookout."+wh[0].id+"@") {
			t.Errorf("alert %q: mail Message-ID %q does not carry the webhook's notification ID %q", a, ml[0].id, wh[0].id)
		}
	}
	if len(ids) != len(want) {
		t.Errorf("got IDs for %d alerts, want %d", len(ids), len(want))
	}
	seen := map[string]string{}
	for a, id := range ids {
		if other, dup := seen[id]; dup {
			t.Errorf("alerts %q and %q share notification ID %q", a, other, id)
		}
		seen[id] = a
	}
	return ids
}

// checkDeliveries checks `lookout query deliveries` shows every alert sent
// on every channel.
func checkDeliveries(t *testing.T, c *cluster, ids map[string]string, want []string) {
	t.Helper()
	ds, err := c.deliveries()
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]model.Delivery{}
	for _, d := range ds {
		state[d.NotificationID+"|"+d.Notifier] = d
	}
	notifiers := []string{"webhook/w", "mail/m", "sms/s"}
	if c.ircd != nil {
		notifiers = append(notifiers, "irc/i")
	}
	for _, a := range want {
		for _, nf := range notifiers {
			d, ok := state[ids[a]+"|"+nf]
			switch {
			case !ok:
				t.Errorf("deliveries: no entry for %q (%s) on %s", a, ids[a], nf)
			case d.State != model.DeliverySent:
				t.Errorf("deliveries: %q on %s is %q (last error %q), want %q", a, nf, d.State, d.LastError, model.DeliverySent)
			case d.Attempts < 1:
				t.Errorf("deliveries: %q on %s sent with %d attempts", a, nf, d.Attempts)
			}
		}
	}
	// Alerts at the head of a failing channel's outbox needed retries, and
	// the ledger counted them.
	retried := []struct{ alert, notifier string }{
		{"al1 down", "mail/m"}, {"al1 down", "sms/s"}, {"al3 down", "webhook/w"},
	}
	if c.ircd != nil {
		retried = append(retried, struct{ alert, notifier string }{"al1 down", "irc/i"})
	}
	for _, r := range retried {
		if d := state[ids[r.alert]+"|"+r.notifier]; d.Attempts < 2 {
			t.Errorf("deliveries: %q on %s took %d attempts, want >= 2 (it was refused first)", r.alert, r.notifier, d.Attempts)
		}
	}
}

// TestIRCServerHangsThenDies: when the IRC server stops answering
// (SIGSTOP) and then dies (SIGKILL) instead of closing the connection, the
// lines written into the dead connection were never delivered: the
// notification must not count as sent, and arrives after the server is back.
func TestIRCServerHangsThenDies(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test: starts real processes (skipped with -short)")
	}
	c := startCluster(t, 2)
	if c.ircd == nil {
		t.Skip("needs ngircd")
	}
	c.waitAll(15*time.Second, c.raise(0, true))
	_ = c.ircd.cmd.Process.Signal(syscall.SIGSTOP)
	a := c.raise(1, true)
	waitFor(t, 10*time.Second, "al1 on the webhook", func() bool { return c.webhook.has(a) })
	time.Sleep(2 * time.Second)
	ds, err := c.deliveries()
	if err != nil {
		t.Fatal(err)
	}
	id := c.webhook.arrivals(a)[0].id
	for _, d := range ds {
		if d.NotificationID == id && d.Notifier == "irc/i" && d.State == model.DeliverySent {
			t.Errorf("irc/i counts %q as sent while the server hangs", a)
		}
	}
	_ = c.ircd.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.ircd.cmd.Process.Signal(syscall.SIGCONT)
	c.reader.close()
	c.reader = nil
	c.ircd.stop()
	c.ircd.start()
	c.reader = newIRCReader(t, c.ircd.port, c.irc, botNick)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && !c.irc.has(a) {
		time.Sleep(100 * time.Millisecond)
	}
	if !c.irc.has(a) {
		t.Fatalf("IRC never got %q: it was written into the hung server's connection and counted as sent", a)
	}
	time.Sleep(time.Second)
	if n := len(c.irc.arrivals(a)); n != 1 {
		t.Errorf("IRC got %q %d times, want once", a, n)
	}
}
