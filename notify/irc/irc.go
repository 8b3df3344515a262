// Package irc is Lookout's IRC notifier: one persistent connection per
// configured network (github.com/lrstanley/girc), joined to every configured
// channel, posting one mIRC-coloured line per notification to the channels
// whose minimum level it reaches, in the style of the original cryto-status
// bot. It reconnects with exponential backoff and rejoins its channels; while
// it is not connected and joined, Send fails with a retryable error so the
// caller's durable outbox tries again later. Lines are paced (a minimum gap
// between lines, shared by notifications and command replies) so the bot is
// never killed for flooding.
//
// Optionally the bot takes admin commands (rules, rule add/del, silence,
// help) from users whose nick!user@host matches a configured glob and, when
// the network reports accounts, who are logged in; they are passed to an
// AdminHandler.
package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lrstanley/girc"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/notify"
)

// Defaults for unset configuration fields.
const (
	DefaultPace    = 500 * time.Millisecond
	DefaultPort    = 6667
	DefaultTLSPort = 6697
)

// Reply limits for admin commands.
const (
	maxReplyLines  = 20
	commandQueue   = 16 // admin commands waiting; more are dropped
	commandTimeout = 30 * time.Second
	replyTimeout   = 60 * time.Second
)

// ErrNotConnected is wrapped by Send's error while the connection is down
// or a target channel is not joined; such errors are retryable.
var ErrNotConnected = errors.New("not connected")

// AdminHandler executes admin commands received over IRC. from is the
// sender's nick!user@host, args the normalized arguments from ParseCommand
// (never "help", which the notifier answers itself). The reply lines are
// sent back (sanitized, capped at 20 lines); a non-nil error is sent as
// "error: ..." after them.
type AdminHandler interface {
	Command(ctx context.Context, from string, args []string) (reply []string, err error)
}

// options are knobs tests shorten; New uses defaultOptions.
type options struct {
	backoffMin  time.Duration // first reconnect delay
	backoffMax  time.Duration // reconnect delay cap
	stableAfter time.Duration // a connection that lasted this long resets the backoff
	rejoinEvery time.Duration // how often missing channels are joined again
	// confirmTimeout bounds the wait for the PONG that confirms a
	// notification's lines reached the server.
	confirmTimeout time.Duration
}

func defaultOptions() options {
	return options{
		backoffMin:  time.Second,
		backoffMax:  time.Minute,
		stableAfter: time.Minute,
		rejoinEvery: 30 * time.Second,

		confirmTimeout: 10 * time.Second,
	}
}

// channel is one configured channel, parsed.
type channel struct {
	name string
	key  string
	min  model.Level
}

// IRC is a notifier for one IRC network. It implements notify.Notifier and
// is safe for concurrent use.
type IRC struct {
	name     string
	log      *slog.Logger
	admin    AdminHandler
	admins   []string
	colors   bool
	channels []channel
	minLevel model.Level
	opts     options

	client *girc.Client
	pacer  *pacer

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}     // closed when the connection loop ends
	commands  chan adminCommand // admin commands, run in order by commandLoop
	closeOnce sync.Once
	closeErr  error
	pingSeq   atomic.Uint64 // tokens of confirmation PINGs
}

var _ notify.Notifier = (*IRC)(nil)

// New validates cfg, then starts connecting to the network in the
// background (New does not wait for the connection). admin may be nil to
// disable admin commands; they are also disabled when cfg.Admins is empty.
// log may be nil (slog.Default()).
func New(cfg configs.IRCConfig, log *slog.Logger, admin AdminHandler) (*IRC, error) {
	return newIRC(cfg, log, admin, defaultOptions())
}

func newIRC(cfg configs.IRCConfig, log *slog.Logger, admin AdminHandler, opts options) (*IRC, error) {
	chans, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	name := cfg.Name
	if name == "" {
		name = cfg.Server
	}
	port := cfg.Port
	if port == 0 {
		port = DefaultPort
		if cfg.TLS {
			port = DefaultTLSPort
		}
	}
	pace := cfg.Pace
	if pace <= 0 {
		pace = DefaultPace
	}
	user := cfg.User
	if user == "" {
		user = cfg.Nick
	}
	c := &IRC{
		name:     name,
		log:      log.With("notifier", "irc/"+name, "server", cfg.Server),
		admins:   cfg.Admins,
		colors:   cfg.Colors == nil || *cfg.Colors,
		channels: chans,
		minLevel: model.CRIT,
		opts:     opts,
		pacer:    newPacer(pace),
		done:     make(chan struct{}),
	}
	if admin != nil && len(cfg.Admins) > 0 {
		c.admin = admin
	}
	for _, ch := range chans {
		c.minLevel = min(c.minLevel, ch.min)
	}

	gcfg := girc.Config{
		Server:     cfg.Server,
		Port:       port,
		Nick:       cfg.Nick,
		User:       user,
		Name:       "Lookout monitoring",
		ServerPass: string(cfg.ServerPassword),
		SSL:        cfg.TLS,
		// We pace lines ourselves; girc's own flood control blocks Send for
		// seconds without honouring a context.
		AllowFlood:  true,
		PingDelay:   30 * time.Second,
		PingTimeout: 60 * time.Second,
		Version:     "Lookout",
		RecoverFunc: func(_ *girc.Client, e *girc.HandlerError) {
			c.log.Error("irc handler panicked", "event", e.Event.Command, "panic", fmt.Sprint(e.Panic), "stack", string(e.Stack))
		},
	}
	if cfg.TLS {
		gcfg.TLSConfig = &tls.Config{
			ServerName:         cfg.Server,
			InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // explicit opt-in for self-signed servers
			MinVersion:         tls.VersionTLS12,
		}
	}
	if cfg.SASLUser != "" {
		gcfg.SASL = &girc.SASLPlain{User: cfg.SASLUser, Pass: string(cfg.SASLPassword)}
	}
	c.client = girc.New(gcfg)
	c.client.Handlers.Add(girc.CONNECTED, c.onConnected)
	c.client.Handlers.Add(girc.JOIN, c.onJoin)
	c.client.Handlers.Add(girc.KICK, c.onKick)
	c.client.Handlers.Add(girc.ERROR, func(_ *girc.Client, e girc.Event) {
		c.log.Warn("irc server error", "message", e.Last())
	})
	for _, code := range []string{girc.ERR_NOSUCHCHANNEL, girc.ERR_CHANNELISFULL, girc.ERR_INVITEONLYCHAN,
		girc.ERR_BANNEDFROMCHAN, girc.ERR_BADCHANNELKEY, girc.ERR_TOOMANYCHANNELS} {
		c.client.Handlers.Add(code, func(_ *girc.Client, e girc.Event) {
			ch := ""
			if len(e.Params) > 1 {
				ch = e.Params[1]
			}
			c.log.Error("irc cannot join channel", "channel", ch, "code", e.Command, "message", e.Last())
		})
	}
	if c.admin != nil {
		c.commands = make(chan adminCommand, commandQueue)
		c.client.Handlers.Add(girc.PRIVMSG, c.onPrivmsg)
	}

	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	if c.admin != nil {
		go c.commandLoop()
	}
	return c, nil
}

// validate checks cfg and parses its channels, joining every problem found.
func validate(cfg configs.IRCConfig) ([]channel, error) {
	var errs []error
	if strings.TrimSpace(cfg.Server) == "" {
		errs = append(errs, errors.New("server is empty"))
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", cfg.Port))
	}
	if !girc.IsValidNick(cfg.Nick) {
		errs = append(errs, fmt.Errorf("nick %q is not a valid IRC nickname", cfg.Nick))
	}
	if cfg.User != "" && !girc.IsValidUser(cfg.User) {
		errs = append(errs, fmt.Errorf("user %q is not a valid IRC user name", cfg.User))
	}
	if cfg.SASLUser != "" && cfg.SASLPassword == "" {
		errs = append(errs, errors.New("sasl_user is set but sasl_password is empty"))
	}
	if cfg.Pace < 0 {
		errs = append(errs, fmt.Errorf("pace %s is negative", cfg.Pace))
	}
	if len(cfg.Channels) == 0 {
		errs = append(errs, errors.New("no channels configured"))
	}
	var chans []channel
	seen := map[string]bool{}
	for i, ch := range cfg.Channels {
		if !girc.IsValidChannel(ch.Name) {
			errs = append(errs, fmt.Errorf("channels[%d]: %q is not a valid channel name", i, ch.Name))
			continue
		}
		key := girc.ToRFC1459(ch.Name)
		if seen[key] {
			errs = append(errs, fmt.Errorf("channels[%d]: %s configured twice", i, ch.Name))
			continue
		}
		seen[key] = true
		if strings.ContainsAny(string(ch.Key), " ,\r\n\x00") {
			errs = append(errs, fmt.Errorf("channels[%d] %s: key contains a space, comma or line break", i, ch.Name))
		}
		lvl, err := notify.ParseMinLevel(ch.MinLevel, model.INFO)
		if err != nil {
			errs = append(errs, fmt.Errorf("channels[%d] %s: %w", i, ch.Name, err))
			continue
		}
		chans = append(chans, channel{name: ch.Name, key: string(ch.Key), min: lvl})
	}
	for i, a := range cfg.Admins {
		if !strings.Contains(a, "!") || !strings.Contains(a, "@") {
			errs = append(errs, fmt.Errorf("admins[%d]: %q is not a nick!user@host glob", i, a))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("irc notifier %q: %w", cfg.Name, err)
	}
	return chans, nil
}

// Name returns the configured name (the server's address if unset).
func (c *IRC) Name() string { return c.name }

// Type returns "irc".
func (c *IRC) Type() string { return "irc" }

// MinLevel returns the lowest minimum level of the configured channels.
func (c *IRC) MinLevel() model.Level { return c.minLevel }

// Send posts n to every channel whose minimum level n.Level reaches: the
// lines of FormatLines, each line to every such channel before the next
// line, paced. It returns (false, nil) when no channel wants n. When the
// connection is down or a target channel is not joined it sends nothing and
// returns a retryable error wrapping ErrNotConnected (all or nothing, so a
// retry does not repeat lines in the channels that did get them; a channel
// that cannot be joined shows up as a failing notifier instead of silently
// missing notifications). If ctx ends while
// lines are waiting for their turn, it returns a retryable error: lines
// already sent stay sent (IRC has no acknowledgements; a retry may repeat
// them).
func (c *IRC) Send(ctx context.Context, n model.Notification) (bool, error) {
	var targets []channel
	for _, ch := range c.channels {
		if n.Level >= ch.min {
			targets = append(targets, ch)
		}
	}
	if len(targets) == 0 {
		return false, nil
	}
	if err := c.ready(targets); err != nil {
		return true, fmt.Errorf("irc %s: %w", c.name, err)
	}
	for _, line := range FormatLines(n, c.colors) {
		for _, t := range targets {
			if err := c.say(ctx, t.name, line); err != nil {
				return true, fmt.Errorf("irc %s: notification %s to %s: %w", c.name, n.ID, t.name, err)
			}
		}
	}
	if err := c.confirm(ctx); err != nil {
		return true, fmt.Errorf("irc %s: notification %s: %w", c.name, n.ID, err)
	}
	return false, nil
}

// errUnconfirmed means the server did not answer the PING that follows a
// notification's lines in time.
var errUnconfirmed = errors.New("server did not confirm the lines (no PONG)")

// confirm sends a PING after the lines and waits for its PONG. IRC has no
// acknowledgements, but a server handles a connection's lines in order, so
// the PONG proves it received them. Without it, lines written into a
// connection whose server hangs (and then dies) count as sent and are lost;
// with it, such a notification is retried (at least once: when the server
// got the lines but its PONG is lost, the retry repeats them).
func (c *IRC) confirm(ctx context.Context) error {
	token := "lookout-" + strconv.FormatUint(c.pingSeq.Add(1), 10)
	ponged := make(chan struct{})
	var once sync.Once
	cuid := c.client.Handlers.Add(girc.PONG, func(_ *girc.Client, e girc.Event) {
		if e.Last() == token {
			once.Do(func() { close(ponged) })
		}
	})
	defer c.client.Handlers.Remove(cuid)
	if !c.client.IsConnected() {
		return ErrNotConnected
	}
	// Same write queue as the PRIVMSGs (AllowFlood: written in order).
	go c.client.Cmd.Ping(token)
	wait := c.opts.confirmTimeout
	if wait <= 0 {
		wait = defaultOptions().confirmTimeout
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	check := time.NewTicker(100 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-ponged:
			return nil
		case <-check.C:
			if !c.client.IsConnected() {
				return fmt.Errorf("%w: %w", errUnconfirmed, ErrNotConnected)
			}
		case <-timeout.C:
			return fmt.Errorf("%w within %s", errUnconfirmed, wait)
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errUnconfirmed, ctx.Err())
		}
	}
}

// ready reports whether the client is connected and in every target.
func (c *IRC) ready(targets []channel) error {
	if c.ctx.Err() != nil {
		return errors.New("notifier closed")
	}
	if !c.client.IsConnected() {
		return ErrNotConnected
	}
	var missing []string
	for _, t := range targets {
		if !c.client.IsInChannel(t.name) {
			missing = append(missing, t.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: channel %s not joined", ErrNotConnected, strings.Join(missing, ", "))
	}
	return nil
}

// say sends one PRIVMSG after waiting for the pacer, without blocking
// longer than ctx.
func (c *IRC) say(ctx context.Context, target, line string) error {
	if err := c.pacer.wait(ctx); err != nil {
		return fmt.Errorf("waiting to send: %w", err)
	}
	if !c.client.IsConnected() {
		return ErrNotConnected
	}
	// girc's Send can block up to 30 s when its queue is full (stalled
	// socket); do not hold the caller past its context for that.
	sent := make(chan struct{})
	go func() {
		c.client.Cmd.Message(target, line)
		close(sent)
	}()
	select {
	case <-sent:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("write queue stalled: %w", ctx.Err())
	}
}

// run keeps the connection up until Close: connect, and after every
// disconnect wait an exponentially growing delay (reset after a stable
// connection) before connecting again.
func (c *IRC) run() {
	defer close(c.done)
	go c.rejoinLoop()
	backoff := c.opts.backoffMin
	for {
		start := time.Now()
		err := c.client.Connect()
		if c.ctx.Err() != nil {
			return
		}
		if time.Since(start) >= c.opts.stableAfter {
			backoff = c.opts.backoffMin
		}
		c.log.Warn("irc disconnected, reconnecting", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, c.opts.backoffMax)
	}
}

// rejoinLoop periodically joins configured channels the bot is not in
// (after a kick, a ban that was lifted, a bad key that was fixed...).
func (c *IRC) rejoinLoop() {
	t := time.NewTicker(c.opts.rejoinEvery)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			if !c.client.IsConnected() {
				continue
			}
			for _, ch := range c.channels {
				if !c.client.IsInChannel(ch.name) {
					c.join(ch)
				}
			}
		}
	}
}

func (c *IRC) join(ch channel) {
	if ch.key != "" {
		c.client.Cmd.JoinKey(ch.name, ch.key)
	} else {
		c.client.Cmd.Join(ch.name)
	}
}

func (c *IRC) onConnected(cl *girc.Client, _ girc.Event) {
	c.log.Info("irc connected", "nick", cl.GetNick(), "network", cl.NetworkName())
	for _, ch := range c.channels {
		c.join(ch)
	}
}

func (c *IRC) onJoin(cl *girc.Client, e girc.Event) {
	if e.Source != nil && len(e.Params) > 0 && e.Source.ID() == girc.ToRFC1459(cl.GetNick()) {
		c.log.Info("irc joined channel", "channel", e.Params[0])
	}
}

func (c *IRC) onKick(cl *girc.Client, e girc.Event) {
	if len(e.Params) > 1 && girc.ToRFC1459(e.Params[1]) == girc.ToRFC1459(cl.GetNick()) {
		c.log.Warn("irc kicked from channel, will rejoin", "channel", e.Params[0], "reason", e.Last(), "rejoin_in", c.opts.rejoinEvery)
	}
}

// onPrivmsg handles admin commands: a private message to the bot, or
// "nick: command" (or "nick, command") in a channel.
func (c *IRC) onPrivmsg(cl *girc.Client, e girc.Event) {
	if e.Source == nil || len(e.Params) < 2 || strings.HasPrefix(e.Last(), "\x01") {
		return // CTCP, or malformed
	}
	me := cl.GetNick()
	var line, replyTo, prefix string
	switch {
	case e.IsFromChannel():
		rest, ok := addressedTo(e.Last(), me)
		if !ok {
			return
		}
		// The nick comes from the server: a hostile one could put control
		// bytes in it, which must not reach the reply line.
		line, replyTo, prefix = rest, e.Params[0], Sanitize(e.Source.Name)+": "
	case girc.ToRFC1459(e.Params[0]) == girc.ToRFC1459(me):
		line, replyTo = e.Last(), e.Source.Name
	default:
		return
	}
	from := e.Source.Name + "!" + e.Source.Ident + "@" + e.Source.Host
	if !girc.IsValidChannel(replyTo) && !girc.IsValidNick(replyTo) {
		c.log.Warn("irc command with an invalid reply target ignored", "from", Sanitize(from), "target", Sanitize(replyTo))
		return
	}
	if ok, why := c.isAdmin(cl, &e); !ok {
		c.log.Warn("irc command from non-admin ignored", "from", from, "why", why, "command", Sanitize(truncate(line, 100)))
		return
	}

	select {
	case c.commands <- adminCommand{from: from, line: line, replyTo: replyTo, prefix: prefix}:
	default:
		c.log.Warn("irc admin command dropped: too many queued", "from", from)
	}
}

// adminCommand is one admin command waiting for commandLoop.
type adminCommand struct {
	from, line, replyTo, prefix string
}

// commandLoop runs admin commands one at a time, in the order received, so
// replies neither interleave nor block girc's event loop.
func (c *IRC) commandLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case cmd := <-c.commands:
			c.runCommand(cmd)
		}
	}
}

func (c *IRC) runCommand(cmd adminCommand) {
	var reply []string
	args, err := ParseCommand(cmd.line)
	switch {
	case err != nil:
		reply = []string{"error: " + err.Error()}
	case args[0] == "help":
		reply = HelpLines
	default:
		c.log.Info("irc admin command", "from", cmd.from, "args", args)
		ctx, cancel := context.WithTimeout(c.ctx, commandTimeout)
		reply, err = c.admin.Command(ctx, cmd.from, args)
		cancel()
		if err != nil {
			c.log.Warn("irc admin command failed", "from", cmd.from, "args", args, "err", err)
			reply = append(reply, "error: "+err.Error())
		}
	}
	c.reply(cmd.replyTo, cmd.prefix, reply)
}

// reply sends lines to target (each prefixed, sanitized, capped), paced.
func (c *IRC) reply(target, prefix string, lines []string) {
	if len(lines) > maxReplyLines {
		more := len(lines) - (maxReplyLines - 1)
		lines = append(lines[:maxReplyLines-1:maxReplyLines-1], fmt.Sprintf("... (%d more lines)", more))
	}
	ctx, cancel := context.WithTimeout(c.ctx, replyTimeout)
	defer cancel()
	for _, l := range lines {
		s := Sanitize(l)
		if s == "" {
			continue
		}
		if err := c.say(ctx, target, truncate(prefix+s, MaxLineBytes)); err != nil {
			c.log.Warn("irc reply not sent", "to", target, "err", err)
			return
		}
	}
}

// isAdmin reports whether the sender of e may run admin commands: its mask
// matches a configured glob and, when the server tells accounts (IRCv3
// account-tag, or extended-join with account-notify), it is logged in.
// Without such capabilities the mask alone decides.
func (c *IRC) isAdmin(cl *girc.Client, e *girc.Event) (bool, string) {
	mask := e.Source.Name + "!" + e.Source.Ident + "@" + e.Source.Host
	matched := false
	for _, p := range c.admins {
		if matchMask(p, mask) {
			matched = true
			break
		}
	}
	if !matched {
		return false, "mask matches no admin glob"
	}
	if cl.HasCapability("account-tag") {
		if acct, ok := e.Tags.Get("account"); ok && acct != "" && acct != "*" {
			return true, ""
		}
		return false, "not logged in to an account"
	}
	if cl.HasCapability("extended-join") && cl.HasCapability("account-notify") {
		if u := cl.LookupUser(e.Source.Name); u != nil && u.Extras.Account != "" && u.Extras.Account != "*" {
			return true, ""
		}
		return false, "not logged in to an account"
	}
	return true, ""
}

// addressedTo returns the rest of text when it starts with "nick:" or
// "nick," (IRC case-insensitively).
func addressedTo(text, nick string) (string, bool) {
	if len(text) <= len(nick) || girc.ToRFC1459(text[:len(nick)]) != girc.ToRFC1459(nick) {
		return "", false
	}
	rest := text[len(nick):]
	if rest[0] != ':' && rest[0] != ',' {
		return "", false
	}
	return strings.TrimSpace(rest[1:]), true
}

// Close quits the network and stops reconnecting. It waits up to 5 s for
// the connection to end.
func (c *IRC) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		if c.client.IsConnected() {
			c.client.Quit("Lookout shutting down")
		}
		deadline := time.NewTimer(5 * time.Second)
		defer deadline.Stop()
		grace := time.After(500 * time.Millisecond)
		for {
			select {
			case <-c.done:
				return
			case <-grace:
				c.client.Close()
				grace = time.After(100 * time.Millisecond)
			case <-deadline.C:
				c.closeErr = fmt.Errorf("irc %s: connection did not close within 5s", c.name)
				return
			}
		}
	})
	return c.closeErr
}

// pacer enforces a minimum gap between lines sent, for all senders.
type pacer struct {
	gap  time.Duration
	sem  chan struct{} // a mutex that can be abandoned on ctx
	last time.Time
}

func newPacer(gap time.Duration) *pacer {
	return &pacer{gap: gap, sem: make(chan struct{}, 1)}
}

// wait returns when the caller may send its line: at least gap after the
// previous permit. It returns ctx's error instead if ctx ends first.
func (p *pacer) wait(ctx context.Context) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.sem }()
	if d := time.Until(p.last.Add(p.gap)); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.last = time.Now()
	return nil
}
