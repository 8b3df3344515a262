// Command lookout is Lookout's single binary: master, agent, dashboard,
// query client and the tools around them. See `lookout help`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lookout-mon/lookout/app"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/web"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `lookout - self-hosted server monitoring and alerting

Usage:
  lookout run [-c FILE] [--debug]        master + local agent + dashboard in one process
                                          (no file: embedded default, data under ./data)
  lookout master -c FILE [--debug]       run only the master (and its dashboard if http.enabled)
                                          (run/master: --pprof 127.0.0.1:PORT serves net/http/pprof)
  lookout agent -c FILE [--debug]        run only the agent
  lookout check-config FILE              validate a config file (every error, with its key path)
  lookout query NAME [ARGS]              ask a running master: server-status HOST, down-list,
                                          last-value HOST SERIES ATTR, server-list, service-list [HOST],
                                          alarms, rules, rule-add NAME EXPR, rule-del NAME,
                                          maintenance, silence HOSTGLOB DURATION [REASON], deliveries
        [--url URL] [--user NAME]         password from $LOOKOUT_PASSWORD
  lookout hash-password                  read a password on stdin, print its argon2id hash
  lookout ca init [--dir DIR] [--name NAME]
  lookout cert issue (--agent NAME | --master NAME) [--ca DIR] [--out DIR] [--host H,...]
  lookout bench [flags]                  load generator (see lookout bench -h)
  lookout version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "run", "master", "agent":
		err = cmdRun(cmd, args)
	case "check-config":
		err = cmdCheckConfig(args)
	case "query":
		err = cmdQuery(args, os.Stdout)
	case "hash-password":
		err = cmdHashPassword(os.Stdin, os.Stdout)
	case "ca":
		err = cmdCA(args)
	case "cert":
		err = cmdCert(args)
	case "bench":
		err = cmdBench(args)
	case "version":
		fmt.Println("lookout", version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "lookout: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lookout:", err)
		os.Exit(1)
	}
}

func cmdRun(role string, args []string) error {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	file := fs.String("c", "", "config file (YAML)")
	debug := fs.Bool("debug", false, "print every processed event")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this loopback address (profiling; off by default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if role != "run" && *file == "" {
		return fmt.Errorf("%s: -c FILE is required (only `lookout run` has an embedded default)", role)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)
	if *pprofAddr != "" {
		if _, err := servePprof(*pprofAddr); err != nil {
			return err
		}
	}
	cfg, err := configs.Load(*file, os.Environ())
	if err != nil {
		return err
	}
	switch role {
	case "master":
		cfg.Agent.Enabled = false
		cfg.Master.Enabled = true
	case "agent":
		cfg.Master.Enabled, cfg.HTTP.Enabled, cfg.Cluster.Enabled = false, false, false
		cfg.Agent.Enabled = true
	}
	if *debug {
		cfg.Node.Debug = true
	}
	a, err := app.Start(cfg, app.Options{Log: log, Out: os.Stdout, Embedded: role == "run", Version: version})
	if err != nil {
		return err
	}
	if role == "agent" {
		// After start-up, whose large one-off allocations (hollywood's
		// remote inbox) are better made under the default GOGC.
		tuneAgentGC(a.Agent, log)
	}
	if role == "master" {
		tuneMasterGC(log) // likewise after start-up
	}
	abs, _ := filepath.Abs(cfg.Node.DataDir)
	fmt.Printf("lookout %s running (%s), data in %s; Ctrl-C to stop\n", version, role, abs)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	fmt.Println("stopping")
	a.Stop()
	return nil
}

func cmdCheckConfig(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: lookout check-config FILE")
	}
	cfg, err := configs.Load(args[0], os.Environ())
	if err != nil {
		return err
	}
	if err := checkTLS(cfg); err != nil {
		return err
	}
	// Notifier constructors validate what only they know (e.g. templates).
	nfs, err := app.Notifiers(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		return err
	}
	for _, n := range nfs {
		_ = n.Close()
	}
	fmt.Printf("%s: OK (%d rules, %d notifiers)\n", args[0], len(cfg.Master.Rules), len(nfs))
	return nil
}

// checkTLS loads every mutual-TLS configuration cfg asks for, as app.Start
// does: the files exist and parse, our certificate chains to the CA and
// carries a role. Validate only checks that the keys are set.
func checkTLS(cfg *configs.Config) error {
	var errs []error
	for _, l := range []struct {
		key           string
		on, plaintext bool
		files         configs.TLSFiles
		peer          pki.Role
	}{
		{"master", cfg.Master.Enabled, cfg.Master.InsecureLoopback, cfg.Master.TLS, pki.RoleAgent},
		{"agent", cfg.Agent.Enabled, cfg.Agent.InsecureLoopback, cfg.Agent.TLS, pki.RoleMaster},
		{"cluster", cfg.Master.Enabled && cfg.Cluster.Enabled, cfg.Cluster.InsecureLoopback, cfg.Cluster.TLS, pki.RoleMaster},
	} {
		if !l.on || l.plaintext {
			continue
		}
		if _, err := pki.MutualTLS(l.files, l.peer); err != nil {
			errs = append(errs, fmt.Errorf("%s.tls: %w", l.key, err))
		}
	}
	return errors.Join(errs...)
}

func cmdHashPassword(in io.Reader, out io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(in, 4096))
	if err != nil {
		return err
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if len(pw) < 8 {
		return errors.New("hash-password: password must be at least 8 characters")
	}
	h, err := web.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, h)
	return nil
}

func cmdCA(args []string) error {
	if len(args) < 1 || args[0] != "init" {
		return errors.New("usage: lookout ca init [--dir DIR] [--name NAME]")
	}
	fs := flag.NewFlagSet("ca init", flag.ContinueOnError)
	dir := fs.String("dir", "ca", "directory for ca.crt and ca.key")
	name := fs.String("name", "Lookout CA", "CA common name")
	days := fs.Int("days", 3650, "validity in days")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	c, k, err := pki.InitCA(*dir, *name, time.Duration(*days)*24*time.Hour)
	if err != nil {
		return err
	}
	fmt.Printf("CA certificate: %s\nCA key:         %s (keep it offline)\n", c, k)
	return nil
}

func cmdCert(args []string) error {
	if len(args) < 1 || args[0] != "issue" {
		return errors.New("usage: lookout cert issue (--agent NAME | --master NAME) [--ca DIR] [--out DIR] [--host H,...]")
	}
	fs := flag.NewFlagSet("cert issue", flag.ContinueOnError)
	agentName := fs.String("agent", "", "issue an agent certificate (and report-signing key) for NAME")
	masterName := fs.String("master", "", "issue a master certificate for NAME")
	caDir := fs.String("ca", "ca", "CA directory")
	out := fs.String("out", ".", "output directory")
	hosts := fs.String("host", "", "comma-separated IP/DNS names for the certificate")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var role pki.Role
	var name string
	switch {
	case *agentName != "" && *masterName == "":
		role, name = pki.RoleAgent, *agentName
	case *masterName != "" && *agentName == "":
		role, name = pki.RoleMaster, *masterName
	default:
		return errors.New("cert issue: give exactly one of --agent NAME or --master NAME")
	}
	var hs []string
	if *hosts != "" {
		hs = strings.Split(*hosts, ",")
	}
	c, k, err := pki.IssueCert(*caDir, role, name, hs, *out)
	if err != nil {
		return err
	}
	fmt.Printf("certificate: %s\nkey:         %s\n", c, k)
	if role == pki.RoleAgent {
		keyPath := filepath.Join(*out, name+".sign.key")
		pub, err := pki.GenerateAgentKey(keyPath)
		if err != nil {
			return err
		}
		fmt.Printf("signing key: %s (agent.key_file)\n\nAdd to the masters' config:\n  master:\n    agents:\n      - name: %s\n        public_key: %s\n",
			keyPath, name, pki.EncodePublicKey(pub))
	}
	return nil
}

func cmdQuery(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	base := fs.String("url", envOr("LOOKOUT_URL", "http://127.0.0.1:7460"), "dashboard/API base URL")
	user := fs.String("user", envOr("LOOKOUT_USER", "admin"), "API user (password from $LOOKOUT_PASSWORD)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return errors.New("query: missing NAME (server-status, down-list, last-value, server-list, service-list, alarms, rules, ...)")
	}
	method, path, body, err := queryRequest(rest)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*base, "/")+"/api/v1/"+path, rd)
	if err != nil {
		return err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if pw := os.Getenv("LOOKOUT_PASSWORD"); pw != "" {
		req.SetBasicAuth(*user, pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("query %s: %w", rest[0], err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("query %s: %s: %s", rest[0], resp.Status, strings.TrimSpace(string(b)))
	}
	var v any
	if json.Unmarshal(b, &v) == nil {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err = out.Write(b)
	return err
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// queryRequest maps `lookout query NAME ARGS` to an API request.
func queryRequest(a []string) (method, path string, body any, err error) {
	need := func(n int, usage string) error {
		if len(a)-1 != n {
			return fmt.Errorf("usage: lookout query %s", usage)
		}
		return nil
	}
	q := url.Values{}
	switch a[0] {
	case "server-status":
		if err := need(1, "server-status HOST"); err != nil {
			return "", "", nil, err
		}
		q.Set("host", a[1])
		return "GET", "server-status?" + q.Encode(), nil, nil
	case "last-value":
		if err := need(3, "last-value HOST SERVICE.RESOURCE:UNIT ATTRIBUTE"); err != nil {
			return "", "", nil, err
		}
		q.Set("host", a[1])
		q.Set("series", a[2])
		q.Set("attr", a[3])
		return "GET", "last-value?" + q.Encode(), nil, nil
	case "service-list":
		if len(a) > 2 {
			return "", "", nil, errors.New("usage: lookout query service-list [HOST]")
		}
		if len(a) == 2 {
			q.Set("host", a[1])
		}
		return "GET", "service-list?" + q.Encode(), nil, nil
	case "down-list", "server-list", "alarms", "rules", "maintenance", "deliveries", "downtimes", "cluster":
		if err := need(0, a[0]); err != nil {
			return "", "", nil, err
		}
		return "GET", a[0], nil, nil
	case "rule-add":
		if len(a) < 3 {
			return "", "", nil, errors.New("usage: lookout query rule-add NAME EXPR...")
		}
		return "POST", "rules", map[string]string{"name": a[1], "expr": strings.Join(a[2:], " ")}, nil
	case "rule-del":
		if err := need(1, "rule-del NAME"); err != nil {
			return "", "", nil, err
		}
		return "DELETE", "rules/" + url.PathEscape(a[1]), nil, nil
	case "silence":
		if len(a) < 3 {
			return "", "", nil, errors.New("usage: lookout query silence HOSTGLOB DURATION [REASON]")
		}
		d, err := configs.ParseDuration(a[2])
		if err != nil {
			return "", "", nil, fmt.Errorf("silence: duration %q: %w", a[2], err)
		}
		now := time.Now().UTC()
		return "POST", "maintenance", map[string]any{"hosts": a[1], "start": now, "end": now.Add(d), "reason": strings.Join(a[3:], " ")}, nil
	case "maintenance-del":
		if err := need(1, "maintenance-del ID"); err != nil {
			return "", "", nil, err
		}
		return "DELETE", "maintenance/" + url.PathEscape(a[1]), nil, nil
	}
	return "", "", nil, fmt.Errorf("query: unknown NAME %q", a[0])
}
