package irc

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/lrstanley/girc"
)

// FuzzIRCLine feeds raw lines from the server through girc's parser and the
// bot's PRIVMSG handling (addressing, admin mask check, command parsing):
// no panic, only admin masks get a command queued, and what a command's
// error reply would say is one safe IRC line.
func FuzzIRCLine(f *testing.F) {
	for _, s := range []string{
		":al!al@admin.example PRIVMSG lookout :rules",
		":al!al@admin.example PRIVMSG #ops :lookout: silence web* 2h deploy",
		":al!al@admin.example PRIVMSG #ops :LOOKOUT, rule add x \"*!machine.load:system.load1 > 3\"",
		":eve!eve@evil.example PRIVMSG lookout :rule del disk-space",
		"@account=al :al!al@admin.example PRIVMSG lookout :help",
		":al!al@admin.example PRIVMSG lookout :\x01VERSION\x01",
		":al!al@admin.example PRIVMSG lookout",
		"PRIVMSG lookout :no source",
		":al!al@admin.example PRIVMSG lookout :rule add a \"\r\nQUIT :x\"",
		":server 001 lookout :Welcome",
		"@a=;b :x!y@z PRIVMSG #c :lookout:",
		":\x00!\x00@\x00 PRIVMSG \x00 :\x00",
	} {
		f.Add(s)
	}
	c := &IRC{
		log:      slog.New(slog.DiscardHandler),
		admins:   []string{"*!*@admin.example"},
		commands: make(chan adminCommand, 1),
	}
	cl := girc.New(girc.Config{Server: "127.0.0.1", Port: 6667, Nick: "lookout", User: "lookout"})
	f.Fuzz(func(t *testing.T, raw string) {
		e := girc.ParseEvent(raw)
		if e == nil || e.Command != girc.PRIVMSG {
			return
		}
		c.onPrivmsg(cl, *e)
		var cmd adminCommand
		select {
		case cmd = <-c.commands:
		default:
			return
		}
		if !matchMask(c.admins[0], cmd.from) {
			t.Fatalf("command %q queued for non-admin %q", cmd.line, cmd.from)
		}
		if cmd.replyTo == "" {
			t.Fatalf("command %q without a reply target", cmd.line)
		}
		args, err := ParseCommand(cmd.line)
		if err != nil {
			reply := truncate(cmd.prefix+Sanitize("error: "+err.Error()), MaxLineBytes)
			if strings.ContainsAny(reply, "\r\n\x00") || len(reply) > MaxLineBytes {
				t.Fatalf("unsafe reply line %q", reply)
			}
			return
		}
		if len(args) == 0 {
			t.Fatalf("ParseCommand(%q) returned no args and no error", cmd.line)
		}
	})
}
