package irc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

func TestValidate(t *testing.T) {
	good := func() configs.IRCConfig {
		return configs.IRCConfig{Name: "net", Server: "irc.example.org", Nick: "lookout",
			Channels: []configs.IRCChannel{{Name: "#ops"}, {Name: "#oncall", MinLevel: "err", Key: "k"}},
			Admins:   []string{"alice!*@*"}}
	}
	tests := []struct {
		name    string
		mod     func(*configs.IRCConfig)
		wantErr []string
	}{
		{"ok", func(*configs.IRCConfig) {}, nil},
		{"no server", func(c *configs.IRCConfig) { c.Server = " " }, []string{"server is empty"}},
		{"bad port", func(c *configs.IRCConfig) { c.Port = 70000 }, []string{"port 70000 out of range"}},
		{"bad nick", func(c *configs.IRCConfig) { c.Nick = "look out" }, []string{`nick "look out"`}},
		{"empty nick", func(c *configs.IRCConfig) { c.Nick = "" }, []string{`nick ""`}},
		{"bad user", func(c *configs.IRCConfig) { c.User = "a b" }, []string{`user "a b"`}},
		{"sasl without password", func(c *configs.IRCConfig) { c.SASLUser = "bot" }, []string{"sasl_password is empty"}},
		{"negative pace", func(c *configs.IRCConfig) { c.Pace = -time.Second }, []string{"pace -1s is negative"}},
		{"no channels", func(c *configs.IRCConfig) { c.Channels = nil }, []string{"no channels configured"}},
		{"bad channel", func(c *configs.IRCConfig) { c.Channels[0].Name = "ops" }, []string{`channels[0]: "ops" is not a valid channel name`}},
		{"duplicate channel", func(c *configs.IRCConfig) { c.Channels[1].Name = "#OPS" }, []string{"channels[1]: #OPS configured twice"}},
		{"bad level", func(c *configs.IRCConfig) { c.Channels[1].MinLevel = "loud" }, []string{"channels[1] #oncall: min_level", `"loud"`}},
		{"bad key", func(c *configs.IRCConfig) { c.Channels[1].Key = "a b" }, []string{"key contains a space"}},
		{"bad admin", func(c *configs.IRCConfig) { c.Admins = []string{"alice"} }, []string{`admins[0]: "alice" is not a nick!user@host glob`}},
		{"several", func(c *configs.IRCConfig) { c.Server = ""; c.Nick = "" }, []string{"server is empty", `nick ""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.mod(&cfg)
			chans, err := validate(cfg)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				want := []channel{{"#ops", "", model.INFO}, {"#oncall", "k", model.ERR}}
				if len(chans) != 2 || chans[0] != want[0] || chans[1] != want[1] {
					t.Fatalf("channels = %+v, want %+v", chans, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate accepted the config, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), `irc notifier "net": `) {
				t.Errorf("error %q does not name the notifier", err)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(configs.IRCConfig{Name: "x"}, nil, nil); err == nil {
		t.Fatal("New accepted an empty config")
	}
}

func TestPacer(t *testing.T) {
	const gap = 40 * time.Millisecond
	p := newPacer(gap)
	ctx := context.Background()
	start := time.Now()
	for range 4 {
		if err := p.wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 3*gap {
		t.Fatalf("4 permits took %s, want at least %s", el, 3*gap)
	}

	// A waiter gives up when its context ends, promptly, and frees its turn.
	slow := newPacer(time.Hour)
	if err := slow.wait(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	start = time.Now()
	err := slow.wait(short)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait = %v, want deadline exceeded", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("wait blocked %s past its context", el)
	}
	select {
	case slow.sem <- struct{}{}:
		<-slow.sem
	default:
		t.Fatal("pacer still held after a cancelled wait")
	}
}

func TestSendWithoutMatchingChannel(t *testing.T) {
	// The server is never reachable (port 1 on loopback refuses); a DEBUG
	// notification has no target, an ERR one must wait for the connection.
	cfg := configs.IRCConfig{Name: "off", Server: "127.0.0.1", Port: 1, Nick: "bot",
		Channels: []configs.IRCChannel{{Name: "#ops", MinLevel: "WARN"}}}
	n, err := newIRC(cfg, nil, nil, options{backoffMin: time.Hour, backoffMax: time.Hour, stableAfter: time.Hour, rejoinEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.MinLevel() != model.WARN {
		t.Errorf("MinLevel = %s, want WARN", n.MinLevel())
	}
	ctx := context.Background()
	if retry, err := n.Send(ctx, model.Notification{Level: model.INFO}); retry || err != nil {
		t.Errorf("Send below every channel = %v, %v; want false, nil", retry, err)
	}
	if retry, err := n.Send(ctx, model.Notification{Level: model.ERR}); !retry || !errors.Is(err, ErrNotConnected) {
		t.Errorf("Send while disconnected = %v, %v; want retryable ErrNotConnected", retry, err)
	}
}
