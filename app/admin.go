package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

// RandomPassword returns a 20-character password from an unambiguous alphabet.
func RandomPassword() (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b strings.Builder
	for i := 0; i < 20; i++ {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("generating password: %w", err)
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String(), nil
}

// ircAdmin executes IRC admin commands against the master.
type ircAdmin struct{ m *actors.Master }

// Command implements irc.AdminHandler.
func (a *ircAdmin) Command(ctx context.Context, from string, args []string) ([]string, error) {
	if a.m == nil {
		return nil, fmt.Errorf("master not running")
	}
	if len(args) == 0 {
		args = []string{"help"}
	}
	switch strings.ToLower(args[0]) {
	case "rules":
		rs, err := a.m.Rules(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(rs))
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%s [%s]: %s", r.Name, r.Source, r.Expr))
		}
		if len(out) == 0 {
			out = append(out, "no rules")
		}
		return out, nil
	case "rule":
		if len(args) >= 4 && args[1] == "add" {
			if err := a.m.AddRule(ctx, args[2], strings.Join(args[3:], " ")); err != nil {
				return nil, err
			}
			return []string{"rule " + args[2] + " added"}, nil
		}
		if len(args) == 3 && (args[1] == "del" || args[1] == "delete") {
			if err := a.m.DeleteRule(ctx, args[2]); err != nil {
				return nil, err
			}
			return []string{"rule " + args[2] + " deleted"}, nil
		}
		return nil, fmt.Errorf("usage: rule add NAME EXPR... | rule del NAME")
	case "silence":
		if len(args) < 3 {
			return nil, fmt.Errorf("usage: silence HOSTGLOB DURATION [reason]")
		}
		d, err := configs.ParseDuration(args[2])
		if err != nil {
			return nil, fmt.Errorf("duration %q: %w", args[2], err)
		}
		now := time.Now()
		mw, err := a.m.AddMaintenance(ctx, model.Maintenance{Hosts: args[1], Start: now, End: now.Add(d),
			Reason: strings.Join(args[3:], " "), By: from})
		if err != nil {
			return nil, err
		}
		return []string{fmt.Sprintf("silenced %s until %s (id %s)", mw.Hosts, mw.End.UTC().Format(time.RFC3339), mw.ID)}, nil
	default:
		return []string{"commands: rules | rule add NAME EXPR... | rule del NAME | silence HOSTGLOB DURATION [reason]"}, nil
	}
}
