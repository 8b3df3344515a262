// Package app assembles a lookout process from its configuration: the
// store, the master's actor tree, notifiers, the dashboard/API listener and
// the local agent. It is embeddable: tests start it in-process with New,
// Start and Stop, and cmd/lookout is a thin wrapper around it.
package app

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/agent"
	"github.com/lookout-mon/lookout/cluster"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
	"github.com/lookout-mon/lookout/notify/irc"
	"github.com/lookout-mon/lookout/notify/mail"
	"github.com/lookout-mon/lookout/notify/sms"
	"github.com/lookout-mon/lookout/notify/webhook"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/store"
	"github.com/lookout-mon/lookout/web"
)

// Options are what a caller adds to the configuration.
type Options struct {
	Log *slog.Logger
	// Out receives the human-readable startup lines (URL, generated password)
	// and, with Config.Node.Debug, every processed event.
	Out io.Writer
	// Embedded marks `lookout run`: the local agent's key is created and
	// trusted automatically, and a dashboard password is generated on first start.
	Embedded bool
	Version  string
	// Inject is a test hook passed to host actors (panic injection).
	Inject func(host string, r *model.Report)
	// SpaceCheckInterval is how often the master's data dir free space is
	// polled for the disk-space WARN/INFO (default DefaultSpaceCheckInterval).
	SpaceCheckInterval time.Duration
}

// App is a running lookout process.
type App struct {
	cfg    *configs.Config
	opts   Options
	log    *slog.Logger
	Store  *store.Store
	Master *actors.Master
	Agent  *agent.Agent
	Web    *web.Server
	httpLn net.Listener
	httpSv *http.Server
	// URL is the dashboard's address when HTTP is enabled.
	URL   string
	unsub []func()
	done  chan struct{} // closed by Stop: ends background loops
	// Cluster is this master's cluster membership (nil when not clustered).
	Cluster *cluster.Cluster
}

// Start builds and starts everything the configuration enables.
func Start(cfg *configs.Config, o Options) (a *App, err error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	a = &App{cfg: cfg, opts: o, log: o.Log, done: make(chan struct{})}
	// `return nil, err` has already set a to nil when this runs: stop what
	// was started through self.
	self := a
	defer func() {
		if err != nil {
			self.Stop()
			a = nil
		}
	}()
	dataDir := cfg.Node.DataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir %s: %w", dataDir, err)
	}

	// The local agent's key (embedded mode) is created before the master
	// starts so the master trusts it from the first report.
	var agentKey ed25519.PrivateKey
	if cfg.Agent.Enabled {
		keyFile := agent.KeyFile(cfg)
		if o.Embedded {
			k, created, err := pki.LoadOrCreateAgentKey(keyFile)
			if err != nil {
				return nil, err
			}
			if created {
				fmt.Fprintf(o.Out, "created agent key %s\n", keyFile)
			}
			agentKey = k
		} else {
			k, err := pki.LoadAgentKey(keyFile)
			if err != nil {
				return nil, fmt.Errorf("agent.key_file: %w (create one with `lookout cert issue --agent %s`)", err, agent.ConfigName(cfg))
			}
			agentKey = k
		}
	}

	if cfg.Master.Enabled {
		st, err := store.Open(filepath.Join(dataDir, "master"), store.Options{
			RawRetention: cfg.Master.History.RawRetention, RollupRetention: cfg.Master.History.RollupRetention,
			MinFreeBytes: cfg.Master.History.MinFreeBytes, Logger: o.Log.With("component", "store"),
		})
		if err != nil {
			return nil, err
		}
		a.Store = st
		if err := a.startMaster(agentKey); err != nil {
			return nil, err
		}
	}
	if cfg.HTTP.Enabled {
		if a.Master == nil {
			return nil, errors.New("http: the dashboard needs the master role in this process (master.enabled)")
		}
		if err := a.startHTTP(); err != nil {
			return nil, err
		}
	}
	if cfg.Agent.Enabled {
		if err := a.startAgent(agentKey); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Notifiers builds every configured notifier; any error refuses the start
// (a misconfigured notifier is never disabled quietly).
func Notifiers(cfg *configs.Config, log *slog.Logger, admin irc.AdminHandler) ([]notify.Notifier, error) {
	var out []notify.Notifier
	var errs []error
	nc := cfg.Master.Notifiers
	for i, c := range nc.Mail {
		n, err := mail.New(c, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("master.notifiers.mail[%d]: %w", i, err))
			continue
		}
		out = append(out, n)
	}
	for i, c := range nc.IRC {
		n, err := irc.New(c, log, admin)
		if err != nil {
			errs = append(errs, fmt.Errorf("master.notifiers.irc[%d]: %w", i, err))
			continue
		}
		out = append(out, n)
	}
	for i, c := range nc.SMS {
		n, err := sms.New(c, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("master.notifiers.sms[%d]: %w", i, err))
			continue
		}
		out = append(out, n)
	}
	for i, c := range nc.Webhook {
		n, err := webhook.New(c, log)
		if err != nil {
			errs = append(errs, fmt.Errorf("master.notifiers.webhook[%d]: %w", i, err))
			continue
		}
		out = append(out, n)
	}
	if err := errors.Join(errs...); err != nil {
		for _, n := range out {
			_ = n.Close()
		}
		return nil, err
	}
	return out, nil
}

func (a *App) startMaster(localKey ed25519.PrivateKey) error {
	cfg := a.cfg
	keys := map[string]ed25519.PublicKey{}
	for i, ag := range cfg.Master.Agents {
		pub, err := pki.ParsePublicKey(ag.PublicKey)
		if err != nil {
			return fmt.Errorf("master.agents[%d].public_key: %w", i, err)
		}
		keys[ag.Name] = pub
	}
	if localKey != nil && a.opts.Embedded {
		keys[agent.ConfigName(cfg)] = localKey.Public().(ed25519.PublicKey)
	}
	var tlsCfg *tls.Config
	if !cfg.Master.InsecureLoopback {
		c, err := pki.MutualTLS(cfg.Master.TLS, pki.RoleAgent)
		if err != nil {
			return fmt.Errorf("master.tls: %w", err)
		}
		tlsCfg = c
	} else if err := pki.RequireLoopback(cfg.Master.Listen); err != nil {
		return fmt.Errorf("master.listen: %w", err)
	}
	admin := &ircAdmin{}
	nfs, err := Notifiers(cfg, a.log, admin)
	if err != nil {
		return err
	}
	var ruleInfos []model.RuleInfo
	for _, r := range cfg.Master.Rules {
		ruleInfos = append(ruleInfos, model.RuleInfo{Name: r.Name, Expr: r.Expr, Source: "config"})
	}
	var maint []model.Maintenance
	for _, mc := range cfg.Master.Maintenance {
		maint = append(maint, model.Maintenance{ID: "config-" + mc.Name, Hosts: mc.Hosts, Start: mc.Start, End: mc.End,
			Every: mc.Every, Duration: mc.Duration, Reason: mc.Name})
	}
	cl, err := a.startCluster()
	if err != nil {
		for _, n := range nfs {
			_ = n.Close()
		}
		return err
	}
	a.Cluster = cl
	m, err := actors.StartMaster(actors.MasterOptions{
		Name: cfg.Node.Name, Listen: cfg.Master.Listen, TLS: tlsCfg, Store: a.Store, Log: a.log,
		Keys: keys, HostTimeout: cfg.Master.HostTimeout, PersistentDowntime: cfg.Master.PersistentDowntime,
		AgentSilence: cfg.Master.Watchdog.AgentSilence, RateLimit: cfg.Master.RateLimit, RateBurst: cfg.Master.RateBurst,
		Rules: ruleInfos, Maintenance: maint, Notifiers: nfs,
		RetryMin: cfg.Master.Notifiers.Outbox.RetryMin, RetryMax: cfg.Master.Notifiers.Outbox.RetryMax,
		FailWarnAfter: cfg.Master.Notifiers.Outbox.FailWarnAfter, GiveUpAfter: cfg.Master.Notifiers.Outbox.GiveUpAfter,
		Debug: cfg.Node.Debug, Inject: a.opts.Inject, Cluster: clusterOption(cl),
	})
	if err != nil {
		for _, n := range nfs {
			_ = n.Close()
		}
		return err
	}
	a.Master = m
	admin.m = m
	if cl != nil {
		cl.Attach(m)
		fmt.Fprintf(a.opts.Out, "master %s in cluster on %s with peers %s\n", cfg.Node.Name, cfg.Cluster.Listen, strings.Join(cfg.Cluster.Peers, ", "))
	}
	a.unsub = append(a.unsub, a.startSpaceWatch(a.opts.SpaceCheckInterval))
	fmt.Fprintf(a.opts.Out, "master %s listening for agents on %s\n", cfg.Node.Name, cfg.Master.Listen)
	if cfg.Node.Debug {
		out := a.opts.Out
		a.unsub = append(a.unsub, m.Subscribe(func(ev model.Event) { fmt.Fprintln(out, FormatEvent(ev)) }))
	}
	if cfg.Master.Watchdog.HeartbeatURL != "" {
		go a.heartbeat(cfg.Master.Watchdog.HeartbeatURL, cfg.Master.Watchdog.HeartbeatInterval)
	}
	return nil
}

func (a *App) heartbeat(url string, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
		}
		resp, err := client.Get(url)
		if err != nil {
			a.log.Warn("heartbeat failed", "err", err)
			continue
		}
		resp.Body.Close()
	}
}

func (a *App) startHTTP() error {
	cfg := a.cfg
	hc := cfg.HTTP
	if len(hc.Users) == 0 && a.opts.Embedded && !hc.PublicReadOnly {
		u, err := a.embeddedAdmin()
		if err != nil {
			return err
		}
		hc.Users = []configs.UserConfig{u}
	}
	srv, err := web.New(web.Options{Config: hc, Backend: webBackend{a.Master}, Logger: a.log.With("component", "web"), Version: a.opts.Version})
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	a.Web = srv
	a.unsub = append(a.unsub, a.Master.Subscribe(srv.Publish))
	ln, err := net.Listen("tcp", hc.Listen)
	if err != nil {
		return fmt.Errorf("http.listen %s: %w", hc.Listen, err)
	}
	a.httpLn = ln
	a.httpSv = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if hc.TLS.Cert != "" {
		scheme = "https"
		go func() { _ = a.httpSv.ServeTLS(ln, hc.TLS.Cert, hc.TLS.Key) }()
	} else {
		go func() { _ = a.httpSv.Serve(ln) }()
	}
	a.URL = scheme + "://" + ln.Addr().String() + "/"
	fmt.Fprintf(a.opts.Out, "dashboard: %s\n", a.URL)
	return nil
}

// embeddedAdmin returns the admin user of `lookout run`: its argon2id hash
// lives in the data dir; on first start a password is generated and printed.
func (a *App) embeddedAdmin() (configs.UserConfig, error) {
	path := filepath.Join(a.cfg.Node.DataDir, "admin.hash")
	if b, err := os.ReadFile(path); err == nil {
		fmt.Fprintf(a.opts.Out, "dashboard login: admin (password printed on first start; delete %s to generate a new one)\n", path)
		return configs.UserConfig{Name: "admin", PasswordHash: configs.Secret(strings.TrimSpace(string(b)))}, nil
	}
	pw, err := RandomPassword()
	if err != nil {
		return configs.UserConfig{}, err
	}
	hash, err := web.HashPassword(pw)
	if err != nil {
		return configs.UserConfig{}, err
	}
	if err := os.WriteFile(path, []byte(hash+"\n"), 0o600); err != nil {
		return configs.UserConfig{}, fmt.Errorf("saving admin password hash: %w", err)
	}
	fmt.Fprintf(a.opts.Out, "dashboard login: admin / %s   (generated now, shown once; hash in %s)\n", pw, path)
	return configs.UserConfig{Name: "admin", PasswordHash: configs.Secret(hash)}, nil
}

func (a *App) startAgent(key ed25519.PrivateKey) error {
	cfg := a.cfg
	var dbg func(string)
	if cfg.Node.Debug {
		out := a.opts.Out
		dbg = func(s string) { fmt.Fprintln(out, s) }
	}
	ag, err := agent.StartWithKey(cfg, key, a.log.With("component", "agent"), dbg)
	if err != nil {
		return err
	}
	a.Agent = ag
	fmt.Fprintf(a.opts.Out, "agent %s reporting to %s\n", agent.ConfigName(cfg), strings.Join(cfg.Agent.Masters, ", "))
	return nil
}

// Stop stops everything that was started, in reverse order.
func (a *App) Stop() {
	select {
	case <-a.done:
		return // already stopped
	default:
		close(a.done)
	}
	if a.Agent != nil {
		a.Agent.Stop()
	}
	for _, u := range a.unsub {
		u()
	}
	if a.httpSv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = a.httpSv.Shutdown(ctx)
		cancel()
	}
	if a.Web != nil {
		a.Web.Close()
	}
	if a.Master != nil {
		a.Master.Stop()
		a.Master = nil
	}
	if a.Cluster != nil {
		a.Cluster.Stop()
		a.Cluster = nil
	}
	if a.Store != nil {
		if err := a.Store.Close(); err != nil {
			a.log.Error("closing store", "err", err)
		}
	}
}

// FormatEvent renders an event as one terminal line (the --debug output).
func FormatEvent(ev model.Event) string {
	t := ev.Time.UTC().Format("15:04:05.000")
	switch {
	case ev.Notification != nil:
		n := ev.Notification
		return fmt.Sprintf("%s %-12s [%s] %s %s: %s", t, ev.Type, n.Level, n.Kind, n.Host, n.Subject)
	case ev.Alarm != nil:
		al := ev.Alarm
		return fmt.Sprintf("%s %-12s %s %s %s %s=%g %s", t, ev.Type, al.Host, al.Rule, al.State, al.Series, al.Value, ev.Text)
	case ev.Status != nil:
		s := ev.Status
		state := "up"
		if !s.Up {
			state = "DOWN"
		}
		return fmt.Sprintf("%s %-12s %s %s seq=%d load=%.1f samples=%d", t, ev.Type, s.Host, state, s.LastSeq, s.Load, len(s.Samples))
	default:
		return fmt.Sprintf("%s %-12s %s %s", t, ev.Type, ev.Host, ev.Text)
	}
}
