// Command lookout-agent is Lookout's agent alone: the same agent as
// `lookout agent -c FILE`, in a binary that links only the agent, its
// config and key handling and hollywood remote (no master, store, web UI or
// notifiers). A smaller binary is a smaller resident set: every page of
// code the process touches counts in its RSS. `lookout run` and
// `lookout agent` are unchanged.
//
// `make build` builds it with -tags lookout_noproto: hollywood's envelopes
// and PIDs (third_party/hollywood, Lookout patch 6) and wire.Any are then
// plain structs encoded by hand, byte for byte as protobuf encodes them, so
// the protobuf runtime is not linked (1.5 MB less code, about 1.3 MiB less
// RSS) and the agent still talks to any master. Without the tag it is the
// same agent with protobuf.
//
// Usage:
//
//	lookout-agent -c FILE [--debug] [--log-level L]   run the agent section of FILE
//	lookout-agent version
//
// `lookout-agent bench agent-child ...` is the agent `lookout bench
// --agent-bin lookout-agent` measures (see package agentchild).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/lookout-mon/lookout/agent"
	"github.com/lookout-mon/lookout/bench/agentchild"
	"github.com/lookout-mon/lookout/configs"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `lookout-agent: the Lookout agent alone (same agent as "lookout agent")

  lookout-agent -c FILE [--debug] [--log-level L]   run the agent section of FILE
  lookout-agent version
`

func init() {
	// The agent never serves or writes heap profiles (except the bench
	// child when asked to): without sampling, the runtime does not build
	// its profiling hash table (about 1.4 MiB, touched page by page).
	if os.Getenv(agentchild.EnvMemProfile) == "" {
		runtime.MemProfileRate = 0
	}
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "lookout-agent:", err)
		os.Exit(1)
	}
}

// run is main without the exit; started, if set, receives the agent once it
// runs (tests), and run returns when stop is closed or on SIGINT/SIGTERM.
func run(args []string, stdout, stderr io.Writer, started func(*agent.Agent, chan<- struct{})) error {
	if len(args) > 0 {
		switch args[0] {
		case "version":
			fmt.Fprintln(stdout, "lookout-agent", version)
			return nil
		case "help", "-h", "--help":
			fmt.Fprint(stdout, usage)
			return nil
		case "bench":
			if len(args) < 2 || args[1] != agentchild.Command {
				return errors.New("bench: only `bench agent-child` (run by `lookout bench`) is supported")
			}
			o, err := agentchild.ParseArgs(args[2:])
			if err != nil {
				return err
			}
			o.AfterStart = func(a *agent.Agent) {
				log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
				agent.TuneGC(log)
				agent.PaceGC(a, log)
				agent.TuneProcs(log)
				agent.ReleaseStartup()
			}
			return agentchild.Run(o)
		}
	}
	fs := flag.NewFlagSet("lookout-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config file (YAML); its agent section is used")
	debug := fs.Bool("debug", false, "print every report as a JSON line")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q\n\n%s", fs.Args(), usage)
	}
	if *file == "" {
		return fmt.Errorf("-c FILE is required\n\n%s", usage)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)
	cfg, err := configs.LoadAgent(*file, os.Environ())
	if err != nil {
		return err
	}
	// As `lookout agent`: only the agent section runs.
	cfg.Master.Enabled, cfg.HTTP.Enabled, cfg.Cluster.Enabled = false, false, false
	cfg.Agent.Enabled = true
	var dbg func(string)
	if *debug || cfg.Node.Debug {
		dbg = func(s string) { fmt.Fprintln(stdout, s) }
	}
	a, err := agent.StartFromConfig(cfg, log.With("component", "agent"), dbg)
	if err != nil {
		return err
	}
	// After start-up, as `lookout agent` does; then the start-up garbage
	// goes back to the OS at once instead of through the scavenger.
	agent.TuneGC(log)
	agent.PaceGC(a, log)
	agent.TuneProcs(log)
	agent.ReleaseStartup()
	abs, _ := filepath.Abs(cfg.Node.DataDir)
	fmt.Fprintf(stdout, "lookout-agent %s running as %s, reporting to %v, data in %s; Ctrl-C to stop\n",
		version, agent.ConfigName(cfg), cfg.Agent.Masters, abs)
	stop := make(chan struct{})
	if started != nil {
		started(a, stop)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case <-sig:
	case <-stop:
	}
	a.Stop()
	return nil
}
