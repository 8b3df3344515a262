package agent

import (
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/pki"
)

// ConfigName is the agent's name in cfg: agent.name, else node.name.
func ConfigName(cfg *configs.Config) string {
	if cfg.Agent.Name != "" {
		return cfg.Agent.Name
	}
	return cfg.Node.Name
}

// StartFromConfig starts a standalone agent as `lookout agent` and
// `lookout-agent` do: it loads the signing key (agent.key_file, which must
// exist: `lookout cert issue --agent NAME` creates it), loads agent.tls or
// checks that insecure_loopback addresses are loopback, and calls Start.
// debug, if set, receives every report as one JSON line.
func StartFromConfig(cfg *configs.Config, log *slog.Logger, debug func(string)) (*Agent, error) {
	key, err := pki.LoadAgentKey(KeyFile(cfg))
	if err != nil {
		return nil, fmt.Errorf("agent.key_file: %w (create one with `lookout cert issue --agent %s`)", err, ConfigName(cfg))
	}
	return StartWithKey(cfg, key, log, debug)
}

// KeyFile is the agent's signing key file in cfg: agent.key_file, else
// agent-NAME.key in the data directory.
func KeyFile(cfg *configs.Config) string {
	if cfg.Agent.KeyFile != "" {
		return cfg.Agent.KeyFile
	}
	return filepath.Join(cfg.Node.DataDir, "agent-"+ConfigName(cfg)+".key")
}

// StartWithKey is StartFromConfig with the key already loaded (the
// embedded mode of `lookout run` creates it when missing).
func StartWithKey(cfg *configs.Config, key ed25519.PrivateKey, log *slog.Logger, debug func(string)) (*Agent, error) {
	var tlsCfg *tls.Config
	if !cfg.Agent.InsecureLoopback {
		c, err := pki.MutualTLS(cfg.Agent.TLS, pki.RoleMaster)
		if err != nil {
			return nil, fmt.Errorf("agent.tls: %w", err)
		}
		tlsCfg = c
	} else if err := pki.RequireLoopback(append([]string{cfg.Agent.Listen}, cfg.Agent.Masters...)...); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	ac := cfg.Agent
	ac.Name = ConfigName(cfg)
	return Start(Options{Config: ac, DataDir: cfg.Node.DataDir, Key: key, TLS: tlsCfg, Logger: log, Debug: debug})
}
