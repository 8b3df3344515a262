package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/lookout-mon/lookout/actors"
	"github.com/lookout-mon/lookout/internal/testutil"
	"github.com/lookout-mon/lookout/model"
	"github.com/lookout-mon/lookout/store"
	"github.com/lookout-mon/lookout/wire"
)

func TestOwner(t *testing.T) {
	members := []string{"m1", "m2", "m3", "m4", "m5"}
	hosts := make([]string, 5000)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("host-%d.example.net", i)
	}
	t.Run("stable and order independent", func(t *testing.T) {
		rev := []string{"m5", "m4", "m3", "m2", "m1"}
		for _, h := range hosts[:200] {
			if a, b := Owner(h, members), Owner(h, rev); a != b {
				t.Fatalf("Owner(%q) depends on member order: %s vs %s", h, a, b)
			}
		}
	})
	t.Run("balanced", func(t *testing.T) {
		count := map[string]int{}
		for _, h := range hosts {
			count[Owner(h, members)]++
		}
		want := float64(len(hosts)) / float64(len(members))
		for _, m := range members {
			if dev := math.Abs(float64(count[m])-want) / want; dev > 0.1 {
				t.Errorf("member %s owns %d of %d hosts (%.0f%% off the even share %.0f)", m, count[m], len(hosts), dev*100, want)
			}
		}
	})
	t.Run("minimal movement", func(t *testing.T) {
		without := members[:4] // m5 leaves
		for _, h := range hosts {
			before, after := Owner(h, members), Owner(h, without)
			if before != "m5" && before != after {
				t.Fatalf("host %s moved from %s to %s although its owner stayed", h, before, after)
			}
			if before == "m5" && after == "m5" {
				t.Fatalf("host %s still owned by the departed member", h)
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		if o := Owner("x", nil); o != "" {
			t.Fatalf("Owner with no members = %q, want empty", o)
		}
	})
}

// fakeMaster records what the cluster asks of the master.
type fakeMaster struct {
	mu       sync.Mutex
	hosts    []model.HostStatus
	rules    []model.RuleInfo
	maint    []model.Maintenance
	notified []model.Notification
	rechecks int
}

func (f *fakeMaster) ServerList(context.Context) ([]model.HostStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]model.HostStatus(nil), f.hosts...), nil
}
func (f *fakeMaster) ApplyRemoteRule(ri model.RuleInfo, _ bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, ri)
}
func (f *fakeMaster) ApplyRemoteMaintenance(m model.Maintenance, _ bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maint = append(f.maint, m)
}
func (f *fakeMaster) RecheckOwnership() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rechecks++
}
func (f *fakeMaster) Notify(n model.Notification, _ string, _ bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notified = append(f.notified, n)
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

type node struct {
	c  *Cluster
	st *store.Store
	fm *fakeMaster
}

func startNode(t *testing.T, name, dir, listen string, peers []string) *node {
	t.Helper()
	st, err := store.Open(dir, store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{Name: name, Listen: listen, Peers: peers, Heartbeat: 50 * time.Millisecond,
		PeerTimeout: 250 * time.Millisecond, PeerSilence: 600 * time.Millisecond, Store: st,
		Log: testLog(name)})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	fm := &fakeMaster{}
	c.Attach(fm)
	return &node{c: c, st: st, fm: fm}
}

func (n *node) stop() {
	n.c.Stop()
	n.st.Close()
}

func eventually(t *testing.T, what string, cond func() bool, dump ...func() string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, d := range dump {
				t.Log(d())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(c *Cluster) int {
	n := 0
	for _, m := range c.Members() {
		if m.Alive {
			n++
		}
	}
	return n
}

// TestReplication runs two members in one process (each with its own
// engines and store): membership, ownership, ledger/rule/maintenance
// replication, last-seen sharing, catch-up of a restarted member through
// anti-entropy in several batches, and the silent-peer WARN.
func TestReplication(t *testing.T) {
	dir := t.TempDir()
	a1, a2 := freeAddr(t), freeAddr(t)
	n1 := startNode(t, "a", filepath.Join(dir, "a"), a1, []string{a2})
	defer func() { n1.stop() }()
	n2 := startNode(t, "b", filepath.Join(dir, "b"), a2, []string{a1})
	eventually(t, "both members alive and owning", func() bool {
		return alive(n1.c) == 2 && alive(n2.c) == 2 && n1.c.Owner("x") != "" &&
			n1.c.Owns("x") != n2.c.Owns("x")
	})
	for i := 0; i < 50; i++ {
		h := fmt.Sprintf("h%d", i)
		owner := Owner(h, []string{"a", "b"})
		if n1.c.Owns(h) != (owner == "a") || n2.c.Owns(h) != (owner == "b") {
			t.Fatalf("host %s: a owns %v, b owns %v, want only %s", h, n1.c.Owns(h), n2.c.Owns(h), owner)
		}
	}

	// Ledger, rules and maintenance replicate.
	n1.c.RecordDelivery(model.Delivery{NotificationID: "n1", Notifier: "webhook/x", State: model.DeliverySent})
	n1.c.RuleChanged(model.RuleInfo{Name: "r1", Expr: "*!a.b:c.d > 1", Source: "runtime"}, false)
	n2.c.MaintenanceChanged(model.Maintenance{ID: "mw1", Hosts: "db*"}, false)
	eventually(t, "ledger entry replicated", func() bool { return n2.c.Delivered("n1", "webhook/x") })
	if n2.c.Delivered("n1", "mail/y") {
		t.Fatal("Delivered answers for another notifier")
	}
	eventually(t, "rule and maintenance applied on the peer", func() bool {
		n2.fm.mu.Lock()
		defer n2.fm.mu.Unlock()
		n1.fm.mu.Lock()
		defer n1.fm.mu.Unlock()
		return len(n2.fm.rules) == 1 && n2.fm.rules[0].Name == "r1" && len(n1.fm.maint) == 1 && n1.fm.maint[0].ID == "mw1" &&
			len(n1.fm.rules) == 0 // own changes are not re-applied
	})

	// Last seen travels in heartbeats.
	seen := time.Unix(1700000000, 123456789)
	n1.fm.mu.Lock()
	n1.fm.hosts = []model.HostStatus{{Host: "web1", LastSeen: seen}}
	n1.fm.mu.Unlock()
	eventually(t, "last seen shared", func() bool { return n2.c.LastSeenElsewhere("web1").Equal(seen) })

	// b goes away: a owns everything, warns, and keeps writing the ledger.
	n2.stop()
	eventually(t, "a owns all hosts", func() bool {
		for i := 0; i < 20; i++ {
			if !n1.c.Owns(fmt.Sprintf("h%d", i)) {
				return false
			}
		}
		return true
	})
	eventually(t, "silent peer WARN", func() bool {
		n1.fm.mu.Lock()
		defer n1.fm.mu.Unlock()
		return len(n1.fm.notified) == 1 && n1.fm.notified[0].Level == model.WARN
	})
	const many = 600 // more than two pull batches
	for i := 0; i < many; i++ {
		n1.c.RecordDelivery(model.Delivery{NotificationID: fmt.Sprintf("m%d", i), Notifier: "webhook/x", State: model.DeliverySent})
	}

	// b restarts from its store and catches up.
	n2 = startNode(t, "b", filepath.Join(dir, "b"), a2, []string{a1})
	defer func() { n2.stop() }()
	if !n2.c.Delivered("n1", "webhook/x") {
		t.Fatal("restarted member lost its persisted ledger")
	}
	eventually(t, "restarted member caught up", func() bool {
		p1, p2 := n1.c.Positions(), n2.c.Positions()
		if len(p1) != len(p2) {
			return false
		}
		for o, s := range p1 {
			if p2[o] != s {
				return false
			}
		}
		return n2.c.Ready()
	})
	for i := 0; i < many; i++ {
		if !n2.c.Delivered(fmt.Sprintf("m%d", i), "webhook/x") {
			t.Fatalf("entry m%d missing after catch-up", i)
		}
	}
	eventually(t, "peer back INFO", func() bool {
		n1.fm.mu.Lock()
		defer n1.fm.mu.Unlock()
		return len(n1.fm.notified) == 2 && n1.fm.notified[1].Level == model.INFO
	}, func() string { n1.fm.mu.Lock(); defer n1.fm.mu.Unlock(); return fmt.Sprintf("%+v", n1.fm.notified) })
	if n1.fm.notified[0].ID == n1.fm.notified[1].ID {
		t.Fatal("WARN and INFO share an ID")
	}
}

// TestLoneMember: a master whose peers never answer owns everything after
// 2 x peer_timeout, and not before.
func TestLoneMember(t *testing.T) {
	n := startNode(t, "solo", t.TempDir(), freeAddr(t), []string{freeAddr(t)})
	defer n.stop()
	if n.c.Owns("h") {
		t.Fatal("owns hosts right at start, before the peers had a chance to answer")
	}
	eventually(t, "lone member owns", func() bool { return n.c.Owns("h") && n.c.Owns("") })
}

func FuzzDecode(f *testing.F) {
	seeds := []struct {
		typ string
		v   any
	}{
		{TypeHeartbeat, &Heartbeat{Name: "m1", Addr: "127.0.0.1:1", Inc: 5, Ready: true, Owners: map[string]int64{"m1": 5},
			Pos: map[string]uint64{"m1@ab": 3}, Seen: map[string]int64{"web1": 7}}},
		{TypeEntries, &Entries{From: "m1", Entries: []Entry{
			{Origin: "m1@ab", Seq: 1, Kind: KindDelivery, Delivery: &model.Delivery{NotificationID: "x", Notifier: "mail/a"}},
			{Origin: "m1@ab", Seq: 2, Kind: KindRule, Rule: &model.RuleInfo{Name: "r"}},
			{Origin: "m1@ab", Seq: 3, Kind: KindMaintenance, Maint: &model.Maintenance{ID: "w"}, Deleted: true}}}},
		{TypePull, &Pull{From: "m2", Addr: "127.0.0.1:2", Origin: "m1@ab", After: 2, Max: 10}},
	}
	types := []string{TypeHeartbeat, TypeEntries, TypePull}
	for i, s := range seeds {
		a, err := wire.Encode(s.typ, s.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), a.Value)
	}
	f.Add(uint8(0), []byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		msg, err := Decode(&anypb.Any{TypeUrl: types[int(typ)%len(types)], Value: b})
		if err != nil {
			return
		}
		// Whatever decodes must be usable: re-encode it and handle it.
		var url string
		switch msg.(type) {
		case *Heartbeat:
			url = TypeHeartbeat
		case *Entries:
			url = TypeEntries
		case *Pull:
			url = TypePull
		default:
			t.Fatalf("Decode returned %T", msg)
		}
		a, err := wire.Encode(url, msg)
		if err != nil {
			t.Fatalf("re-encoding a decoded %s: %v", url, err)
		}
		if _, err := Decode(a); err != nil {
			t.Fatalf("decoded message does not decode again: %v", err)
		}
	})
}

func TestDecodeRejects(t *testing.T) {
	enc := func(typ string, v any) *anypb.Any {
		a, err := wire.Encode(typ, v)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name string
		in   *anypb.Any
	}{
		{"nil", nil},
		{"unknown type", &anypb.Any{TypeUrl: "x", Value: []byte{0x80}}},
		{"heartbeat without name", enc(TypeHeartbeat, &Heartbeat{Addr: "a:1"})},
		{"entry seq 0", enc(TypeEntries, &Entries{From: "m", Entries: []Entry{{Origin: "o", Kind: KindRule, Rule: &model.RuleInfo{Name: "r"}}}})},
		{"entry without payload", enc(TypeEntries, &Entries{From: "m", Entries: []Entry{{Origin: "o", Seq: 1, Kind: KindDelivery}}})},
		{"pull without origin", enc(TypePull, &Pull{From: "m", Addr: "a:1"})},
		{"garbage", &anypb.Any{TypeUrl: TypeHeartbeat, Value: []byte{0xdf, 0xff, 0xff, 0xff, 0xff}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.in); err == nil {
				t.Fatal("Decode accepted it")
			}
		})
	}
}

func testLog(name string) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// TestMasterReplication wires two real masters (actors.Master) to two
// cluster members: a rule and a maintenance window added on one appear on
// the other, and deleting the rule replicates too.
func TestMasterReplication(t *testing.T) {
	dir := t.TempDir()
	a1, a2 := freeAddr(t), freeAddr(t)
	type pair struct {
		st *store.Store
		c  *Cluster
		m  *actors.Master
	}
	start := func(name, listen, peer string) pair {
		st, err := store.Open(filepath.Join(dir, name), store.Options{Logger: testLog(name)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(Config{Name: name, Listen: listen, Peers: []string{peer}, Heartbeat: 50 * time.Millisecond,
			PeerTimeout: 250 * time.Millisecond, Store: st, Log: testLog(name)})
		if err != nil {
			t.Fatal(err)
		}
		m, err := actors.StartMaster(actors.MasterOptions{Name: name, Store: st, Log: testLog(name), Cluster: c})
		if err != nil {
			t.Fatal(err)
		}
		c.Attach(m)
		return pair{st: st, c: c, m: m}
	}
	p1, p2 := start("a", a1, a2), start("b", a2, a1)
	defer func() {
		for _, p := range []pair{p1, p2} {
			p.m.Stop()
			p.c.Stop()
			p.st.Close()
		}
	}()
	ctx := context.Background()
	eventually(t, "members alive", func() bool { return alive(p1.c) == 2 && alive(p2.c) == 2 })
	if err := p1.m.AddRule(ctx, "disk", "*!machine.disk:*.used_percentage > 90"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mw, err := p2.m.AddMaintenance(ctx, model.Maintenance{Hosts: "db*", Start: now, End: now.Add(time.Hour), Reason: "upgrade"})
	if err != nil {
		t.Fatal(err)
	}
	hasRule := func(m *actors.Master) bool {
		rs, err := m.Rules(ctx)
		if err != nil {
			return false
		}
		for _, r := range rs {
			if r.Name == "disk" {
				return true
			}
		}
		return false
	}
	eventually(t, "rule on the peer", func() bool { return hasRule(p2.m) })
	eventually(t, "maintenance on the peer", func() bool {
		ms, err := p1.m.Maintenance(ctx)
		if err != nil {
			return false
		}
		for _, m := range ms {
			if m.ID == mw.ID && m.Hosts == "db*" {
				return true
			}
		}
		return false
	})
	if err := p2.m.DeleteRule(ctx, "disk"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "rule deletion on the peer", func() bool { return !hasRule(p1.m) })
}
