package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/internal/testutil"
)

const testTypeURL = "lookout/pki-test.v1"

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// startEngine starts a hollywood engine whose remote listens with cfg on
// a free loopback port, exactly as Lookout's engines do, and returns it
// with its address. A port found free can be taken by another test
// process before the engine binds it, so that is retried on a new port.
func startEngine(t *testing.T, cfg *tls.Config) (*actor.Engine, string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		r := remote.New(addr, remote.NewConfig().WithTLS(cfg))
		e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(r))
		if err != nil {
			if strings.Contains(err.Error(), "address already in use") && attempt < 5 {
				continue
			}
			t.Fatalf("start engine on %s: %v", addr, err)
		}
		t.Cleanup(func() { r.Stop().Wait() })
		return e, addr
	}
}

// inbox collects the payloads of *anypb.Any messages an actor received.
type inbox struct {
	mu   sync.Mutex
	got  []string
	news chan struct{}
}

func (in *inbox) add(s string) {
	in.mu.Lock()
	in.got = append(in.got, s)
	in.mu.Unlock()
	select {
	case in.news <- struct{}{}:
	default:
	}
}

func (in *inbox) has(s string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Contains(in.got, s)
}

// waitFor waits until payload s has arrived.
func (in *inbox) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !in.has(s) {
		select {
		case <-in.news:
		case <-deadline:
			in.mu.Lock()
			defer in.mu.Unlock()
			t.Fatalf("message %q did not arrive within 10s (got %q)", s, in.got)
		}
	}
}

// spawnSink spawns an actor that records every *anypb.Any it receives.
func spawnSink(e *actor.Engine, name string) (*actor.PID, *inbox) {
	in := &inbox{news: make(chan struct{}, 1)}
	pid := e.SpawnFunc(func(c *actor.Context) {
		if m, ok := c.Message().(*anypb.Any); ok && m.TypeUrl == testTypeURL {
			in.add(string(m.Value))
		}
	}, name)
	return pid, in
}

func msg(s string) *anypb.Any { return &anypb.Any{TypeUrl: testTypeURL, Value: []byte(s)} }

// assertClosedByPeer reads from c until the peer closes it or resets it;
// a read timeout (the peer left the connection hanging) fails the test.
func assertClosedByPeer(t *testing.T, c net.Conn, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: connection still open after 5s, want it closed", what)
	}
	if err == nil {
		return // clean EOF
	}
	t.Logf("%s: closed with %v", what, err)
}

// TestHollywoodMutualTLS runs real hollywood v1.0.5 engines with MutualTLS
// configs: a master's agent-ingest engine and an agent's ack engine
// exchange messages both ways; strangers (plain TCP garbage, a self-signed
// TLS client, a TLS client without certificate) are cut off at the
// handshake; an agent certificate cannot deliver to another agent's ack
// listener; and both processes keep working afterwards, on old and new
// connections.
func TestHollywoodMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts network engines")
	}
	f := newFixture(t)
	master, masterAddr := startEngine(t, mustMutualTLS(t, f.master, RoleAgent))
	agent, agentAddr := startEngine(t, mustMutualTLS(t, f.agent, RoleMaster))
	ingest, ingestGot := spawnSink(master, "ingest")
	uplink, uplinkGot := spawnSink(agent, "uplink")

	// Both directions over mutual TLS.
	agent.Send(ingest, msg("report-1"))
	ingestGot.waitFor(t, "report-1")
	master.Send(uplink, msg("ack-1"))
	uplinkGot.waitFor(t, "ack-1")

	// Strangers at both listeners.
	garbage := []byte("\x00\x00\x00\x10garbage envelope \xff\xfe\xfd not TLS\r\n\r\n")
	stranger := strangerConfig(t, f.selfSigned)
	noCert := strangerConfig(t, configs.TLSFiles{})
	for _, addr := range []string{masterAddr, agentAddr} {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("plain dial %s: %v", addr, err)
		}
		if _, err := c.Write(garbage); err != nil {
			t.Fatalf("write garbage to %s: %v", addr, err)
		}
		assertClosedByPeer(t, c, "plain TCP garbage to "+addr)
		c.Close()

		for name, cfg := range map[string]*tls.Config{"self-signed": stranger, "no certificate": noCert} {
			tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
			if err == nil {
				// TLS 1.3: the server's verdict on our certificate
				// arrives after the client finishes; then write an
				// envelope-looking frame the server must never parse.
				_, _ = tc.Write(garbage)
				_ = tc.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = tc.Read(make([]byte, 1))
				tc.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("%s TLS client at %s: err = %v, want a certificate rejection", name, addr, err)
			}
		}
	}

	// Wrong role: another agent's certificate dialing the agent's ack
	// listener (which accepts only masters) is rejected.
	rogue, _ := startEngine(t, mustMutualTLS(t, f.agent2, RoleAgent))
	rogue.Send(uplink, msg("forged-ack"))

	// The processes survived and still work on the existing connections...
	agent.Send(ingest, msg("report-2"))
	ingestGot.waitFor(t, "report-2")
	master.Send(uplink, msg("ack-2"))
	uplinkGot.waitFor(t, "ack-2")
	// ...and on new ones: a second master (new connection) reaches the
	// agent's listener, and the rogue's forged ack never arrived.
	master2, _ := startEngine(t, mustMutualTLS(t, f.master, RoleAgent))
	master2.Send(uplink, msg("ack-from-master2"))
	uplinkGot.waitFor(t, "ack-from-master2")
	time.Sleep(300 * time.Millisecond)
	if uplinkGot.has("forged-ack") {
		t.Fatal("a message from an agent-role certificate reached the agent's ack listener")
	}
}
