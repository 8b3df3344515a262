package irc

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

// TestSendConfirmsWithPing: Send succeeds only when the server answered the
// PING that follows the lines. A hung server (SIGSTOP) gets the lines
// written into its socket, but Send reports a retryable error instead of
// counting them as delivered.
func TestSendConfirmsWithPing(t *testing.T) {
	srv := startNgircd(t, false)
	reader := newIRCClient(t, srv.port, "reader", map[string]string{"#ops": ""})
	cfg := configs.IRCConfig{Name: "confirm", Server: "127.0.0.1", Port: srv.port, Nick: "lookout",
		ServerPassword: "srvpass", Channels: []configs.IRCChannel{{Name: "#ops"}}, Pace: 10 * time.Millisecond}
	opts := options{backoffMin: 100 * time.Millisecond, backoffMax: 400 * time.Millisecond,
		stableAfter: time.Minute, rejoinEvery: 200 * time.Millisecond, confirmTimeout: 500 * time.Millisecond}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	n, err := newIRC(cfg, quiet, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	waitFor(t, 10*time.Second, "notifier joined #ops", func() bool { return n.ready(n.channels) == nil })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	tests := []struct {
		name    string
		hang    bool
		wantErr bool
	}{
		{"server answers", false, false},
		{"server hangs", true, true},
		{"server answers again", false, false},
	}
	for i, tc := range tests {
		note := model.Notification{ID: tc.name, Level: model.ERR, Host: "web1", Subject: tc.name}
		if tc.hang {
			if err := srv.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		retry, err := n.Send(ctx, note)
		took := time.Since(start)
		if tc.hang {
			_ = srv.cmd.Process.Signal(syscall.SIGCONT)
		}
		switch {
		case tc.wantErr && (err == nil || !retry || !errors.Is(err, errUnconfirmed)):
			t.Fatalf("%d %s: Send = %v, %v; want a retryable errUnconfirmed", i, tc.name, retry, err)
		case tc.wantErr && took > 2*time.Second:
			t.Fatalf("%d %s: Send took %s, want about the 500ms confirm timeout", i, tc.name, took)
		case !tc.wantErr && err != nil:
			t.Fatalf("%d %s: Send = %v, %v", i, tc.name, retry, err)
		}
		// The server handles the lines once it runs again: an unconfirmed
		// send may still arrive (a retry then repeats it: at least once).
		if got := reader.collect(t, 1, 50*time.Millisecond); got[0].text != FormatLine(note, true) {
			t.Fatalf("%d %s: reader got %q, want %q", i, tc.name, got[0].text, FormatLine(note, true))
		}
	}
}
