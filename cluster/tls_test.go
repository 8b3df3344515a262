package cluster

import (
	"crypto/tls"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/pki"
	"github.com/lookout-mon/lookout/store"
)

// issueMasterTLS issues a RoleMaster certificate for name from the CA in
// caDir and returns the mutual-TLS config a cluster engine uses (peers must
// be masters), as app.startCluster builds it.
func issueMasterTLS(t *testing.T, caDir, name, outDir string) *tls.Config {
	t.Helper()
	crt, key, err := pki.IssueCert(caDir, pki.RoleMaster, name, []string{"127.0.0.1"}, outDir)
	if err != nil {
		t.Fatalf("issue master certificate for %s: %v", name, err)
	}
	c, err := pki.MutualTLS(configs.TLSFiles{CA: filepath.Join(caDir, pki.CACertFile), Cert: crt, Key: key}, pki.RoleMaster)
	if err != nil {
		t.Fatalf("mutual TLS config for %s: %v", name, err)
	}
	return c
}

func initCA(t *testing.T, dir, name string) {
	t.Helper()
	if _, _, err := pki.InitCA(dir, name, 24*time.Hour); err != nil {
		t.Fatalf("init CA %s: %v", name, err)
	}
}

// startTLSNode is startNode with a TLS config (insecure_loopback false).
func startTLSNode(t *testing.T, name, dir, listen string, peers []string, tc *tls.Config) *node {
	t.Helper()
	st, err := store.Open(dir, store.Options{Logger: testLog(name)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Name: name, Listen: listen, Peers: peers, TLS: tc, Heartbeat: 50 * time.Millisecond,
		PeerTimeout: 250 * time.Millisecond, PeerSilence: 600 * time.Millisecond, Store: st, Log: testLog(name)})
	if err != nil {
		st.Close()
		t.Fatalf("start cluster member %s with TLS: %v", name, err)
	}
	fm := &fakeMaster{}
	c.Attach(fm)
	return &node{c: c, st: st, fm: fm}
}

// aliveNames returns the names of the peers c sees alive (itself excluded).
func aliveNames(c *Cluster) map[string]bool {
	out := map[string]bool{}
	for _, m := range c.Members() {
		if m.Alive && !m.Self {
			out[m.Name] = true
		}
	}
	return out
}

// TestClusterMutualTLS runs three members in one process over mutual TLS
// (certificates issued by pki for RoleMaster, no plaintext): a and b, from
// one CA, form a cluster, split ownership and replicate a ledger entry; c,
// whose certificate comes from another CA, lists both as peers (and they
// list it) but never joins: neither side ever sees it alive, it receives
// nothing, owns every host alone, and nothing panics.
func TestClusterMutualTLS(t *testing.T) {
	dir := t.TempDir()
	good, evil := filepath.Join(dir, "ca"), filepath.Join(dir, "other-ca")
	initCA(t, good, "Lookout test CA")
	initCA(t, evil, "Foreign CA")
	certs := filepath.Join(dir, "certs")
	ta := issueMasterTLS(t, good, "a", certs)
	tb := issueMasterTLS(t, good, "b", certs)
	tcf := issueMasterTLS(t, evil, "c", filepath.Join(dir, "foreign"))

	aa, ab, ac := freeAddr(t), freeAddr(t), freeAddr(t)
	na := startTLSNode(t, "a", filepath.Join(dir, "a"), aa, []string{ab, ac}, ta)
	defer na.stop()
	nb := startTLSNode(t, "b", filepath.Join(dir, "b"), ab, []string{aa, ac}, tb)
	defer nb.stop()
	nc := startTLSNode(t, "c", filepath.Join(dir, "c"), ac, []string{aa, ab}, tcf)
	defer nc.stop()

	dump := func() string {
		return "a sees " + membersString(na.c.Members()) + "; b sees " + membersString(nb.c.Members()) +
			"; c sees " + membersString(nc.c.Members())
	}
	eventually(t, "a and b see each other alive and split ownership", func() bool {
		return aliveNames(na.c)["b"] && aliveNames(nb.c)["a"] && na.c.Owner("x") != "" &&
			na.c.Owns("x") != nb.c.Owns("x")
	}, dump)
	for i := range 30 {
		h := "host-" + string(rune('a'+i%26)) + string(rune('0'+i/26))
		want := Owner(h, []string{"a", "b"})
		if got := na.c.Owner(h); got != want {
			t.Fatalf("host %s: a says owner %q, want %q (c must not be counted)", h, got, want)
		}
	}

	na.c.RecordDelivery(model.Delivery{NotificationID: "n-tls", Notifier: "webhook/x", State: model.DeliverySent})
	eventually(t, "ledger entry replicated to b over mTLS", func() bool { return nb.c.Delivered("n-tls", "webhook/x") }, dump)
	nb.c.RuleChanged(model.RuleInfo{Name: "r-tls", Expr: "*!a.b:c.d > 1", Source: "runtime"}, false)
	eventually(t, "rule replicated to a over mTLS", func() bool {
		na.fm.mu.Lock()
		defer na.fm.mu.Unlock()
		return len(na.fm.rules) == 1 && na.fm.rules[0].Name == "r-tls"
	}, dump)

	// c has had the whole time above to try; give it more heartbeats (and
	// probes: its TCP connects succeed, its handshakes must not). Longer
	// than hollywood's three dial attempts (0+1+2 s): before the patch in
	// third_party/hollywood, a TLS dial failing that long panicked the
	// process (here: the test binary).
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if aliveNames(na.c)["c"] || aliveNames(nb.c)["c"] {
			t.Fatalf("member with a foreign CA joined: %s", dump())
		}
		if n := aliveNames(nc.c); n["a"] || n["b"] {
			t.Fatalf("foreign member hears the cluster: %s", dump())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if nc.c.Delivered("n-tls", "webhook/x") {
		t.Fatal("ledger entry reached the member with a foreign CA")
	}
	nc.fm.mu.Lock()
	gotRules := len(nc.fm.rules)
	nc.fm.mu.Unlock()
	if gotRules != 0 {
		t.Fatalf("rule reached the member with a foreign CA (%d rules)", gotRules)
	}
	// Alone, c owns everything: a lone master, not a member of a's cluster.
	eventually(t, "foreign member is a lone master", func() bool { return nc.c.Owns("x") && nc.c.Owns("y") }, dump)
	if o := na.c.Owner("x"); o == "c" {
		t.Fatalf("a counts c as owner of x: %s", dump())
	}
}

func membersString(ms []model.MemberStatus) string {
	s := "["
	for i, m := range ms {
		if i > 0 {
			s += " "
		}
		s += m.Name + "@" + m.Address
		if m.Alive {
			s += "(alive)"
		}
	}
	return s + "]"
}
