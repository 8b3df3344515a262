// Package agentchild runs the agent that `lookout bench` measures for its
// agent footprint figures. It is a package of its own, importing only the
// agent's dependencies, so the slim `lookout-agent` binary can run the same
// child as `lookout bench agent-child` without linking the bench (master,
// store, web).
package agentchild

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lookout-mon/lookout/agent"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/pki"
)

// Command is the argument that selects the child mode after `bench`:
// `lookout bench agent-child ...` and `lookout-agent bench agent-child ...`.
const Command = "agent-child"

// Options are the arguments of the bench agent child.
type Options struct {
	// Master is the address of the bench's ingest.
	Master string
	// KeyFile is the agent's signing key.
	KeyFile string
	// DataDir holds the agent's seq file.
	DataDir string
	// Interval is every family's collection interval.
	Interval time.Duration
	// AfterStart, if set, runs once the agent has started (the command
	// line tunes the agent's GC there, as `lookout agent` does).
	AfterStart func(*agent.Agent)
}

// ParseArgs parses the child's command line (the arguments after
// Command).
func ParseArgs(args []string) (Options, error) {
	fs := flag.NewFlagSet("bench agent-child", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; the parent shows them
	o := Options{}
	fs.StringVar(&o.Master, "master", "", "ingest address")
	fs.StringVar(&o.KeyFile, "key", "", "agent signing key file")
	fs.StringVar(&o.DataDir, "dir", "", "data dir")
	fs.DurationVar(&o.Interval, "interval", 10*time.Millisecond, "collection interval of every family")
	if err := fs.Parse(args); err != nil {
		return Options{}, fmt.Errorf("bench agent-child: %w", err)
	}
	if o.Master == "" || o.KeyFile == "" || o.DataDir == "" {
		return Options{}, errors.New("bench agent-child: --master, --key and --dir are required")
	}
	if o.Interval <= 0 {
		return Options{}, fmt.Errorf("bench agent-child: --interval %s is not positive", o.Interval)
	}
	return o, nil
}

// Args is the command line ParseArgs reads back, starting with Command.
func (o Options) Args() []string {
	return []string{Command, "--master", o.Master, "--key", o.KeyFile, "--dir", o.DataDir, "--interval", o.Interval.String()}
}

// Profile environment variables: when set, Run writes a CPU profile of the
// whole run, and a heap profile (pprof format, plus a text copy with the
// runtime's MemStats at path+".txt") at exit, to the named files. The child
// inherits them from `lookout bench`. Only builds without the
// lookout_noproto tag can write them (Profiling): the slim lookout-agent
// does not link runtime/pprof and runtime/trace (0.3 MB of code, about
// 0.3 MiB of RSS), and its child fails at start when one is set; profile
// an agent with `lookout bench --agent-bin bin/lookout`.
const (
	EnvCPUProfile = "LOOKOUT_AGENT_CPUPROFILE"
	EnvMemProfile = "LOOKOUT_AGENT_MEMPROFILE"
	// EnvTrace names a file for an execution trace (runtime/trace) of the
	// whole run: the timeline of every cycle's goroutines, system calls and
	// thread wake-ups (`go tool trace FILE`).
	EnvTrace = "LOOKOUT_AGENT_TRACE"
)

// Run runs a real agent with every collector family on o.Interval (below
// the 1 s the config validation allows, to reach many cycles quickly) until
// SIGTERM or SIGINT.
func Run(o Options) error {
	key, err := pki.LoadAgentKey(o.KeyFile)
	if err != nil {
		return fmt.Errorf("bench agent-child: %w", err)
	}
	stopProfiles, err := startProfiles()
	if err != nil {
		return fmt.Errorf("bench agent-child: %w", err)
	}
	defer stopProfiles()
	iv := o.Interval
	cfg := configs.AgentConfig{Enabled: true, Name: "benchagent", Listen: "127.0.0.1:0", InsecureLoopback: true,
		Masters: []string{o.Master}, Intervals: configs.IntervalConfig{CPU: iv, Memory: iv, Disk: iv, Network: iv,
			Uptime: iv, Ports: iv, Processes: iv, Heartbeat: iv}}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := agent.Start(agent.Options{Config: cfg, DataDir: o.DataDir, Key: key, Logger: log})
	if err != nil {
		return fmt.Errorf("bench agent-child: %w", err)
	}
	if o.AfterStart != nil {
		o.AfterStart(a)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if path := os.Getenv(EnvMemProfile); path != "" {
		if err := writeHeapProfile(path); err != nil {
			log.Error("heap profile", "err", err)
		}
	}
	a.Stop()
	return nil
}
