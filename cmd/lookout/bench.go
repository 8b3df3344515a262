package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	rpprof "runtime/pprof"
	"syscall"
	"time"

	"github.com/lookout-mon/lookout/agent"
	"github.com/lookout-mon/lookout/bench"
	"github.com/lookout-mon/lookout/bench/agentchild"
)

// cmdBench runs the load generator against a real master process and
// measures a real agent's footprint (package bench), printing Markdown.
func cmdBench(args []string) error {
	if len(args) > 0 && args[0] == agentchild.Command {
		return cmdBenchAgentChild(args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	agents := fs.Int("agents", 1000, "simulated agents (= monitored hosts)")
	interval := fs.Duration("interval", 50*time.Millisecond, "report interval of each simulated agent")
	duration := fs.Duration("duration", 15*time.Second, "load duration (the first 20%, at most 2s, is warm-up)")
	values := fs.Int("values", 40, "values per report")
	engines := fs.Int("engines", 4, "hollywood engines carrying the simulated agents")
	crossings := fs.Int("crossings", 200, "threshold crossings to time (alert latency)")
	masterBin := fs.String("master-bin", "", "lookout binary to run as the master (default: this binary)")
	pprof := fs.String("pprof", "", "let the master serve pprof on this loopback address (e.g. 127.0.0.1:6060)")
	signed := fs.Bool("signed", false, "simulated agents sign every report with ed25519 instead of opening sessions (the protocol before sessions)")
	ackDelay := fs.Duration("ack-delay", bench.DefaultAckDelay, "ack delay the simulated agents ask the master for (0: an ack per report)")
	agentRun := fs.Bool("agent", true, "also measure a real agent's footprint")
	agentCycles := fs.Int("agent-cycles", 1000, "collection cycles for the agent footprint")
	agentInterval := fs.Duration("agent-interval", 10*time.Millisecond, "collection interval for the agent footprint")
	masterRun := fs.Bool("master", true, "run the master load test")
	genProfile := fs.String("gen-cpuprofile", "", "write a CPU profile of this process (the load generator) during the master load test to this file")
	series := fs.Bool("series", false, "print one line per second of master load (sent, acked, resent, master CPU and RSS) to stderr")
	keep := fs.Bool("keep", false, "keep the master's data directory and log after the load test (its path is printed)")
	agentBin := fs.String("agent-bin", "", "binary whose agent the footprint measures, lookout or lookout-agent (default: lookout-agent beside this binary if present, else this binary)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	bin := *masterBin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: locating this binary (give --master-bin): %w", err)
		}
		bin = exe
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Printf("lookout bench, %s, %s/%s, %d CPUs, %s\n\n", version, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	var errs []error
	if *masterRun {
		if *genProfile != "" {
			f, err := os.Create(*genProfile)
			if err != nil {
				return fmt.Errorf("bench: generator profile: %w", err)
			}
			if err := rpprof.StartCPUProfile(f); err != nil {
				f.Close()
				return fmt.Errorf("bench: generator profile: %w", err)
			}
			defer func() {
				rpprof.StopCPUProfile()
				if err := f.Close(); err != nil {
					log.Warn("bench: closing the generator profile", "file", *genProfile, "err", err)
				}
			}()
		}
		res, err := bench.Run(ctx, bench.Options{Binary: bin, Agents: *agents, Engines: *engines, Interval: *interval,
			Duration: *duration, Values: *values, Crossings: *crossings, Pprof: *pprof, Signed: *signed, Log: log,
			AckDelay: cmp.Or(*ackDelay, -1), Keep: *keep, Series: func() io.Writer {
				if *series {
					return os.Stderr
				}
				return nil
			}()})
		if err != nil {
			errs = append(errs, err)
		} else {
			res.WriteMarkdown(os.Stdout)
			fmt.Println()
		}
	}
	if *agentRun && ctx.Err() == nil {
		abin := *agentBin
		if abin == "" {
			abin = defaultAgentBin(bin)
		}
		fmt.Printf("Agent binary: %s\n\n", filepath.Base(abin))
		res, err := bench.AgentFootprint(ctx, bench.AgentOptions{Binary: abin, Cycles: *agentCycles, Interval: *agentInterval, Log: log})
		if err != nil {
			errs = append(errs, err)
		} else {
			res.WriteMarkdown(os.Stdout)
		}
	}
	return errors.Join(errs...)
}

// cmdBenchAgentChild is `lookout bench agent-child`, the real agent that
// AgentFootprint measures from the parent bench process.
func cmdBenchAgentChild(args []string) error {
	o, err := agentchild.ParseArgs(args)
	if err != nil {
		return err
	}
	// Measure the agent as `lookout agent` runs it.
	o.AfterStart = func(a *agent.Agent) {
		tuneAgentGC(a, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	return agentchild.Run(o)
}

// defaultAgentBin is the binary the agent footprint measures when
// --agent-bin is not given: lookout-agent beside this binary if it exists
// (what a monitored host runs), otherwise this binary itself.
func defaultAgentBin(self string) string {
	slim := filepath.Join(filepath.Dir(self), "lookout-agent")
	if st, err := os.Stat(slim); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
		return slim
	}
	return self
}
