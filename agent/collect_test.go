package agent

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"

	"github.com/lookout-mon/lookout/configs"
	"github.com/lookout-mon/lookout/model"
)

// fakeClock returns a clock advanced by hand.
type fakeClock struct{ t time.Time }

func (f *fakeClock) Now() time.Time      { return f.t }
func (f *fakeClock) Add(d time.Duration) { f.t = f.t.Add(d) }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }
func approx(a, b float64) bool           { return math.Abs(a-b) < 1e-6 }
func byUnit(s []model.Sample) map[string]model.Sample {
	m := make(map[string]model.Sample, len(s))
	for _, x := range s {
		m[x.Resource+"|"+x.Unit] = x
	}
	return m
}

func TestCounterDelta(t *testing.T) {
	tests := []struct {
		name      string
		old, new  uint64
		wrap32    bool
		want      uint64
		wantValid bool
	}{
		{"increase", 10, 25, true, 15, true},
		{"equal", 7, 7, false, 0, true},
		{"32-bit wrap", 1<<32 - 10, 5, true, 15, true},
		{"32-bit wrap not allowed", 1<<32 - 10, 5, false, 0, false},
		{"64-bit counter reset", 1 << 40, 5, true, 0, false},
		{"old exactly 2^32-1", 1<<32 - 1, 0, true, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := counterDelta(tt.old, tt.new, tt.wrap32)
			if got != tt.want || ok != tt.wantValid {
				t.Fatalf("counterDelta(%d,%d,%v) = %d,%v; want %d,%v", tt.old, tt.new, tt.wrap32, got, ok, tt.want, tt.wantValid)
			}
		})
	}
}

func TestCPUCollector(t *testing.T) {
	type reading struct{ per, tot []cpu.TimesStat }
	mk := func(name string, user, system, idle, iowait, steal float64) cpu.TimesStat {
		return cpu.TimesStat{CPU: name, User: user, System: system, Idle: idle, Iowait: iowait, Steal: steal}
	}
	readings := []reading{
		{per: []cpu.TimesStat{mk("cpu0", 100, 50, 800, 40, 10), mk("cpu1", 10, 10, 100, 0, 0)},
			tot: []cpu.TimesStat{mk("cpu-total", 110, 60, 900, 40, 10)}},
		// cpu0: +60 user, +20 system, +100 idle, +10 iowait, +10 steal = 200
		// cpu1: counter went backwards (hot-plug) -> skipped
		{per: []cpu.TimesStat{mk("cpu0", 160, 70, 900, 50, 20), mk("cpu1", 5, 5, 50, 0, 0)},
			tot: []cpu.TimesStat{mk("cpu-total", 165, 75, 950, 50, 20)}},
	}
	i := 0
	c := NewCPUCollector()
	c.Times = func(_ context.Context, percpu bool) ([]cpu.TimesStat, error) {
		if percpu {
			return readings[i].per, nil
		}
		return readings[i].tot, nil
	}
	got, err := c.Collect(context.Background())
	if err != nil || len(got) != 0 {
		t.Fatalf("first call primes: got %v, %v; want nothing", got, err)
	}
	i = 1
	got, err = c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byUnit(got)
	if _, ok := m["cpu|core1"]; ok {
		t.Errorf("core1 with decreasing counters must be skipped: %v", m["cpu|core1"])
	}
	want := map[string]float64{"user": 30, "system": 10, "idle": 50, "iowait": 5, "steal": 5, "used_percentage": 45}
	c0, ok := m["cpu|core0"]
	if !ok {
		t.Fatalf("no core0 sample in %v", got)
	}
	for k, v := range want {
		if !approx(c0.Values[k], v) {
			t.Errorf("core0 %s = %v, want %v", k, c0.Values[k], v)
		}
	}
	// total: +55 user +15 system +50 idle +10 iowait +10 steal = 140
	tot := m["cpu|total"]
	if !approx(tot.Values["idle"], 50.0/140*100) || !approx(tot.Values["used_percentage"], 80.0/140*100) {
		t.Errorf("total = %v", tot.Values)
	}
	if tot.Service != model.ServiceMachine {
		t.Errorf("service = %q", tot.Service)
	}

	c.Times = func(context.Context, bool) ([]cpu.TimesStat, error) { return nil, errors.New("boom") }
	if _, err := c.Collect(context.Background()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("error not propagated: %v", err)
	}
}

func TestLoadMemorySwapUptime(t *testing.T) {
	ctx := context.Background()
	l := &LoadCollector{
		Avg:    func(context.Context) (*load.AvgStat, error) { return &load.AvgStat{Load1: 3, Load5: 2, Load15: 1}, nil },
		Counts: func(context.Context, bool) (int, error) { return 4, nil },
	}
	m := &MemoryCollector{Virtual: func(context.Context) (*mem.VirtualMemoryStat, error) {
		return &mem.VirtualMemoryStat{Total: 1000, Used: 600, Available: 250, Free: 100, Buffers: 50, Cached: 200}, nil
	}}
	sw := &SwapCollector{Swap: func(context.Context) (*mem.SwapMemoryStat, error) { return &mem.SwapMemoryStat{}, nil }}
	up := &UptimeCollector{Uptime: func(context.Context) (uint64, error) { return 4242, nil }}
	tests := []struct {
		c    Collector
		res  string
		unit string
		want map[string]float64
	}{
		{l, "load", "system", map[string]float64{"load1": 3, "load5": 2, "load15": 1, "load1_per_core": 0.75}},
		{m, "memory", "physical", map[string]float64{"total": 1000, "used": 600, "available": 250, "free": 100, "buffers": 50, "cached": 200, "used_percentage": 75}},
		{sw, "swap", "swap", map[string]float64{"total": 0, "used": 0, "free": 0, "used_percentage": 0}},
		{up, "uptime", "system", map[string]float64{"seconds": 4242}},
		{&HeartbeatCollector{Dropped: func() uint64 { return 7 }}, "heartbeat", "agent", map[string]float64{"alive": 1, "dropped": 7}},
	}
	for _, tt := range tests {
		t.Run(tt.c.Name(), func(t *testing.T) {
			got, err := tt.c.Collect(ctx)
			if err != nil || len(got) != 1 {
				t.Fatalf("Collect = %v, %v", got, err)
			}
			s := got[0]
			if s.Resource != tt.res || s.Unit != tt.unit || len(s.Values) != len(tt.want) {
				t.Fatalf("got %+v", s)
			}
			for k, v := range tt.want {
				if !approx(s.Values[k], v) {
					t.Errorf("%s = %v, want %v", k, s.Values[k], v)
				}
			}
		})
	}
}

func TestDiskCollector(t *testing.T) {
	clk := newFakeClock()
	parts := []disk.PartitionStat{
		{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4"},
		{Device: "tmpfs", Mountpoint: "/run", Fstype: "tmpfs"},
		{Device: "cgroup2", Mountpoint: "/sys/fs/cgroup", Fstype: "cgroup2"},
		{Device: "/dev/sdb1", Mountpoint: "/data", Fstype: "vfat"}, // no inodes
		{Device: "/dev/sdc1", Mountpoint: "/gone", Fstype: "xfs"},  // usage fails
	}
	usage := map[string]*disk.UsageStat{
		"/":     {Total: 1000, Used: 250, Free: 750, UsedPercent: 25, InodesTotal: 100, InodesUsed: 10, InodesFree: 90},
		"/data": {Total: 2000, Used: 1000, Free: 1000, UsedPercent: 50},
	}
	io := []map[string]disk.IOCountersStat{
		{"sda": {ReadBytes: 1000, WriteBytes: 2000, ReadCount: 10, WriteCount: 20}, "sdb": {ReadBytes: 500}},
		{"sda": {ReadBytes: 3000, WriteBytes: 2500, ReadCount: 30, WriteCount: 25}, "sdb": {ReadBytes: 100}, "sdc": {ReadBytes: 1}},
	}
	i := 0
	c := NewDiskCollector(nil)
	c.Now = clk.Now
	c.Partitions = func(context.Context, bool) ([]disk.PartitionStat, error) { return parts, nil }
	c.Usage = func(_ context.Context, p string) (*disk.UsageStat, error) {
		if u, ok := usage[p]; ok {
			return u, nil
		}
		return nil, errors.New("stale handle")
	}
	c.IOCounters = func(context.Context, ...string) (map[string]disk.IOCountersStat, error) { return io[i], nil }

	got, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byUnit(got)
	if len(got) != 3 {
		t.Errorf("first call: want disk+inodes for / and disk for /data, got %d samples: %v", len(got), got)
	}
	if s := m["disk|/dev/sda1 (/)"]; s.Values["used_percentage"] != 25 || s.Values["total"] != 1000 {
		t.Errorf("disk / = %v", s.Values)
	}
	if s := m["inodes|/dev/sda1 (/)"]; s.Values["used_percentage"] != 10 || s.Values["free"] != 90 {
		t.Errorf("inodes / = %v", s.Values)
	}
	if _, ok := m["inodes|/dev/sdb1 (/data)"]; ok {
		t.Error("filesystem with 0 inodes must not report inodes")
	}
	for k := range m {
		if strings.HasPrefix(k, "diskio|") {
			t.Errorf("first call must not report io rates: %s", k)
		}
	}
	i = 1
	clk.Add(2 * time.Second)
	got, err = c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m = byUnit(got)
	want := map[string]float64{"read_bytes_per_sec": 1000, "write_bytes_per_sec": 250, "read_iops": 10, "write_iops": 2.5}
	sda, ok := m["diskio|sda"]
	if !ok {
		t.Fatalf("no diskio sda in %v", got)
	}
	for k, v := range want {
		if !approx(sda.Values[k], v) {
			t.Errorf("sda %s = %v, want %v", k, sda.Values[k], v)
		}
	}
	if _, ok := m["diskio|sdb"]; ok {
		t.Error("sdb counter reset must skip the sample")
	}
	if _, ok := m["diskio|sdc"]; ok {
		t.Error("new device sdc has no previous sample")
	}
}

func TestNetworkCollector(t *testing.T) {
	clk := newFakeClock()
	reads := [][]gnet.IOCountersStat{
		{
			{Name: "lo", BytesRecv: 1},
			{Name: "eth0", BytesRecv: 1000, BytesSent: 500, PacketsRecv: 10, PacketsSent: 5},
			{Name: "eth1", BytesRecv: 1<<32 - 100, BytesSent: 10},
			{Name: "eth2", BytesRecv: 1 << 40},
			{Name: "veth123", BytesRecv: 5},
		},
		{
			{Name: "lo", BytesRecv: 100},
			{Name: "eth0", BytesRecv: 11000, BytesSent: 1500, PacketsRecv: 30, PacketsSent: 15, Errin: 2, Errout: 1},
			{Name: "eth1", BytesRecv: 900, BytesSent: 20},
			{Name: "eth2", BytesRecv: 10},
			{Name: "veth123", BytesRecv: 50},
		},
	}
	i := 0
	c := NewNetworkCollector([]string{"veth*"})
	c.Now = clk.Now
	c.IOCounters = func(context.Context, bool) ([]gnet.IOCountersStat, error) { return reads[i], nil }
	if got, err := c.Collect(context.Background()); err != nil || len(got) != 0 {
		t.Fatalf("first call primes: %v %v", got, err)
	}
	i = 1
	clk.Add(10 * time.Second)
	got, err := c.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byUnit(got)
	if len(got) != 2 {
		t.Errorf("want eth0 and eth1 only (lo, veth excluded, eth2 reset), got %v", got)
	}
	want := map[string]float64{"rx_bytes_per_sec": 1000, "tx_bytes_per_sec": 100, "rx_packets_per_sec": 2,
		"tx_packets_per_sec": 1, "rx_errors_per_sec": 0.2, "tx_errors_per_sec": 0.1}
	for k, v := range want {
		if !approx(m["network|eth0"].Values[k], v) {
			t.Errorf("eth0 %s = %v, want %v", k, m["network|eth0"].Values[k], v)
		}
	}
	if v := m["network|eth1"].Values["rx_bytes_per_sec"]; !approx(v, 100) { // (2^32-(2^32-100)+900)/10
		t.Errorf("eth1 wrapped rx = %v, want 100", v)
	}
}

func TestPortCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	openPort := ln.Addr().(*net.TCPAddr).Port
	// A closed port: listen, note the port, close.
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := l2.Addr().(*net.TCPAddr).Port
	l2.Close()

	c := NewPortCollector([]configs.PortCheck{
		{Name: "web", Port: openPort, Timeout: time.Second},
		{Name: "dead", Port: closedPort, Timeout: time.Second, Retries: -1},
	})
	if c.Ports[0].Host != "127.0.0.1" || c.Ports[0].Retries != DefaultPortRetries || c.Ports[1].Retries != 0 {
		t.Fatalf("defaults not applied: %+v", c.Ports)
	}
	ctx := context.Background()
	samples, checks, err := c.CollectChecks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 || len(checks) != 2 {
		t.Fatalf("initial: %d samples %d checks, want 2/2", len(samples), len(checks))
	}
	webUnit, deadUnit := "web ("+strconv.Itoa(openPort)+")", "dead ("+strconv.Itoa(closedPort)+")"
	for _, ck := range checks {
		if !ck.Initial || ck.Service != model.ServicePort {
			t.Errorf("initial check %+v", ck)
		}
		switch ck.Unit {
		case webUnit:
			if !ck.Up || ck.Retries != 0 {
				t.Errorf("web: %+v", ck)
			}
		case deadUnit:
			if ck.Up || ck.Detail == "" {
				t.Errorf("dead: %+v", ck)
			}
		default:
			t.Errorf("unexpected unit %q", ck.Unit)
		}
	}
	m := byUnit(samples)
	if m["port|"+webUnit].Values["up"] != 1 || m["port|"+deadUnit].Values["up"] != 0 {
		t.Errorf("samples: %v", samples)
	}

	// No change: no checks.
	if _, checks, _ = c.CollectChecks(ctx); len(checks) != 0 {
		t.Errorf("unchanged ports produced checks: %+v", checks)
	}

	// A blip: the first attempt on web fails, the second succeeds.
	var d net.Dialer
	fails := 1
	c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasSuffix(addr, ":"+strconv.Itoa(openPort)) && fails > 0 {
			fails--
			return nil, errors.New("synthetic timeout")
		}
		return d.DialContext(ctx, network, addr)
	}
	_, checks, _ = c.CollectChecks(ctx)
	if len(checks) != 1 || checks[0].Unit != webUnit || !checks[0].Up || checks[0].Retries != 1 || checks[0].Initial {
		t.Errorf("blip: %+v", checks)
	}

	// web goes down: one check, not initial, with a new Since.
	ln.Close()
	time.Sleep(10 * time.Millisecond)
	_, checks, _ = c.CollectChecks(ctx)
	if len(checks) != 1 || checks[0].Unit != webUnit || checks[0].Up || checks[0].Initial {
		t.Errorf("down: %+v", checks)
	}
}

func TestProcessMatches(t *testing.T) {
	tests := []struct {
		name string
		pc   configs.ProcessCheck
		argv []string
		want bool
	}{
		{"base name", configs.ProcessCheck{Match: "nginx"}, []string{"/usr/sbin/nginx", "-g", "daemon off;"}, true},
		{"full path", configs.ProcessCheck{Match: "/usr/sbin/ngin?"}, []string{"/usr/sbin/nginx"}, true},
		{"glob base", configs.ProcessCheck{Match: "python3*"}, []string{"/usr/bin/python3.12", "app.py"}, true},
		{"no match", configs.ProcessCheck{Match: "nginx"}, []string{"/usr/sbin/apache2"}, false},
		{"args all match", configs.ProcessCheck{Match: "python*", Args: []string{"*.py", "prod"}}, []string{"python3", "-u", "app.py", "prod"}, true},
		{"arg missing", configs.ProcessCheck{Match: "python*", Args: []string{"*.py", "prod"}}, []string{"python3", "app.py", "dev"}, false},
		{"flags are not positional", configs.ProcessCheck{Match: "java", Args: []string{"-jar"}}, []string{"java", "-jar", "x.jar"}, false},
		{"empty argv", configs.ProcessCheck{Match: "*"}, nil, false},
		{"bad glob", configs.ProcessCheck{Match: "[", Args: nil}, []string{"["}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := processMatches(tt.pc, tt.argv); got != tt.want {
				t.Errorf("processMatches(%+v, %q) = %v, want %v", tt.pc, tt.argv, got, tt.want)
			}
		})
	}
}

func TestProcessCollector(t *testing.T) {
	clk := newFakeClock()
	table := [][]string{{"/usr/sbin/sshd", "-D"}, {"/usr/bin/python3", "worker.py"}, {"/usr/bin/python3", "worker.py"}}
	c := NewProcessCollector([]configs.ProcessCheck{
		{Name: "sshd", Match: "sshd"},
		{Name: "workers", Match: "python3", Args: []string{"worker.py"}},
		{Name: "redis", Match: "redis-server"},
	})
	c.Now = clk.Now
	c.Cmdlines = func(context.Context) ([][]string, error) { return table, nil }
	samples, checks, err := c.CollectChecks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 3 {
		t.Fatalf("want 3 initial checks, got %+v", checks)
	}
	m := byUnit(samples)
	if m["process|workers"].Values["count"] != 2 || m["process|redis"].Values["up"] != 0 || m["process|sshd"].Values["up"] != 1 {
		t.Errorf("samples: %v", samples)
	}
	clk.Add(time.Minute)
	table = table[1:] // sshd dies
	_, checks, _ = c.CollectChecks(context.Background())
	if len(checks) != 1 || checks[0].Unit != "sshd" || checks[0].Up || checks[0].Initial || checks[0].Since != clk.t.UnixNano() {
		t.Errorf("sshd down: %+v", checks)
	}
	_, checks, _ = c.CollectChecks(context.Background())
	if len(checks) != 0 {
		t.Errorf("no change, got %+v", checks)
	}
	c.Cmdlines = func(context.Context) ([][]string, error) { return nil, errors.New("no /proc") }
	if _, _, err := c.CollectChecks(context.Background()); err == nil {
		t.Error("list error not reported")
	}
}

// TestRealCollectors runs every collector against this machine once (rates
// twice) and checks that the values are plausible.
func TestRealCollectors(t *testing.T) {
	ctx := context.Background()
	self, _ := os.Executable()
	cols := []Collector{
		NewCPUCollector(), NewLoadCollector(), NewMemoryCollector(), NewSwapCollector(),
		NewDiskCollector(nil), NewNetworkCollector(nil), NewUptimeCollector(),
		NewProcessCollector([]configs.ProcessCheck{{Name: "self", Match: self}}),
	}
	for _, c := range cols {
		if _, err := c.Collect(ctx); err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	all := map[string][]model.Sample{}
	for _, c := range cols {
		s, err := c.Collect(ctx)
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		for _, x := range s {
			all[x.Resource] = append(all[x.Resource], x)
		}
	}
	var total *model.Sample
	for i, s := range all["cpu"] {
		if s.Unit == "total" {
			total = &all["cpu"][i]
		}
	}
	if total == nil {
		t.Fatalf("no cpu total in %v", all["cpu"])
	}
	if u := total.Values["used_percentage"]; u < 0 || u > 100 {
		t.Errorf("cpu used_percentage %v out of 0..100", u)
	}
	if len(all["cpu"]) < 2 {
		t.Errorf("want per-core and total cpu samples, got %d", len(all["cpu"]))
	}
	if v := all["memory"][0].Values["total"]; v <= 0 {
		t.Errorf("memory total %v", v)
	}
	if len(all["inodes"]) == 0 {
		t.Errorf("no filesystem with inodes; disk samples: %v", all["disk"])
	}
	for _, d := range all["disk"] {
		if !strings.Contains(d.Unit, " (") || d.Values["total"] <= 0 {
			t.Errorf("disk sample %+v", d)
		}
	}
	if up := all["uptime"][0].Values["seconds"]; up <= 0 {
		t.Errorf("uptime %v", up)
	}
	if l := all["load"][0].Values["load1"]; l < 0 {
		t.Errorf("load1 %v", l)
	}
	for _, n := range all["network"] {
		if n.Unit == "lo" || n.Values["rx_bytes_per_sec"] < 0 {
			t.Errorf("network sample %+v", n)
		}
	}
	if p := all["process"]; len(p) != 1 || p[0].Values["up"] != 1 {
		t.Errorf("the test binary itself must be found running: %v", p)
	}
}

// TestDiskPartitionsCache checks that the mount listing is reused for
// PartitionsTTL, listed afresh after it (a new mount appears, an unmounted
// one goes), never cached when it failed, and listed every time with TTL 0.
func TestDiskPartitionsCache(t *testing.T) {
	root := disk.PartitionStat{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4"}
	data := disk.PartitionStat{Device: "/dev/sdb1", Mountpoint: "/data", Fstype: "ext4"}
	tests := []struct {
		name string
		ttl  time.Duration
		// steps: clock advance before each Collect, the listing the host
		// has then (nil = listing fails), and the mounts wanted in samples.
		steps []struct {
			advance time.Duration
			host    []disk.PartitionStat
			want    []string
		}
		wantListings int
	}{
		{"cached within ttl, refreshed after", time.Minute, []struct {
			advance time.Duration
			host    []disk.PartitionStat
			want    []string
		}{
			{0, []disk.PartitionStat{root}, []string{"/"}},
			{30 * time.Second, []disk.PartitionStat{root, data}, []string{"/"}},
			{31 * time.Second, []disk.PartitionStat{root, data}, []string{"/", "/data"}},
			{time.Second, []disk.PartitionStat{data}, []string{"/", "/data"}},
			{time.Minute, []disk.PartitionStat{data}, []string{"/data"}},
		}, 3},
		{"failed listing not cached", time.Minute, []struct {
			advance time.Duration
			host    []disk.PartitionStat
			want    []string
		}{
			{0, nil, nil},
			{time.Second, []disk.PartitionStat{root}, []string{"/"}},
			{time.Second, nil, []string{"/"}},
		}, 2},
		{"ttl 0 lists every time", 0, []struct {
			advance time.Duration
			host    []disk.PartitionStat
			want    []string
		}{
			{0, []disk.PartitionStat{root}, []string{"/"}},
			{time.Second, []disk.PartitionStat{root, data}, []string{"/", "/data"}},
			{time.Second, []disk.PartitionStat{data}, []string{"/data"}},
		}, 3},
		{"clock going back lists again", time.Minute, []struct {
			advance time.Duration
			host    []disk.PartitionStat
			want    []string
		}{
			{0, []disk.PartitionStat{root}, []string{"/"}},
			{-time.Second, []disk.PartitionStat{data}, []string{"/data"}},
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			var host []disk.PartitionStat
			listings := 0
			c := NewDiskCollector(nil)
			c.PartitionsTTL = tt.ttl
			c.Now = clk.Now
			c.Partitions = func(context.Context, bool) ([]disk.PartitionStat, error) {
				listings++
				if host == nil {
					return nil, errors.New("mountinfo unreadable")
				}
				return host, nil
			}
			c.Usage = func(context.Context, string) (*disk.UsageStat, error) {
				return &disk.UsageStat{Total: 100, Used: 1}, nil
			}
			c.IOCounters = func(context.Context, ...string) (map[string]disk.IOCountersStat, error) { return nil, nil }
			for i, st := range tt.steps {
				clk.Add(st.advance)
				host = st.host
				got, err := c.Collect(context.Background())
				if (err != nil) != (st.want == nil) {
					t.Fatalf("step %d: err = %v, want error %v", i, err, st.want == nil)
				}
				var mounts []string
				for _, s := range got {
					if s.Resource == model.ResDisk {
						mounts = append(mounts, strings.TrimSuffix(s.Unit[strings.Index(s.Unit, "(")+1:], ")"))
					}
				}
				if strings.Join(mounts, ",") != strings.Join(st.want, ",") {
					t.Errorf("step %d: disk samples for %v, want %v", i, mounts, st.want)
				}
			}
			if listings != tt.wantListings {
				t.Errorf("mounts listed %d times, want %d", listings, tt.wantListings)
			}
		})
	}
}

// TestCachedCounts checks the core-count cache: reused within the TTL and
// per logical flag, counted again after it or when the clock goes back,
// errors never cached.
func TestCachedCounts(t *testing.T) {
	type step struct {
		advance time.Duration
		logical bool
		host    int  // what the counter returns now
		fail    bool // the counter fails now
		want    int  // returned count
		calls   int  // counter calls so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"reused within ttl", []step{
			{0, true, 2, false, 2, 1},
			{30 * time.Second, true, 4, false, 2, 1},
			{31 * time.Second, true, 4, false, 4, 2},
		}},
		{"per logical flag", []step{
			{0, true, 8, false, 8, 1},
			{0, false, 4, false, 4, 2},
			{time.Second, true, 1, false, 8, 2},
		}},
		{"errors not cached", []step{
			{0, true, 0, true, 0, 1},
			{time.Second, true, 2, false, 2, 2},
			{time.Second, true, 3, false, 2, 2},
		}},
		{"clock back counts again", []step{
			{0, true, 2, false, 2, 1},
			{-time.Second, true, 3, false, 3, 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			calls, host, fail := 0, 0, false
			count := cachedCounts(func(context.Context, bool) (int, error) {
				calls++
				if fail {
					return 0, errors.New("cpuinfo unreadable")
				}
				return host, nil
			}, clk.Now, time.Minute)
			for i, st := range tt.steps {
				clk.Add(st.advance)
				host, fail = st.host, st.fail
				n, err := count(context.Background(), st.logical)
				if (err != nil) != st.fail {
					t.Fatalf("step %d: err = %v, want error %v", i, err, st.fail)
				}
				if n != st.want || calls != st.calls {
					t.Errorf("step %d: count = %d after %d counter calls, want %d after %d", i, n, calls, st.want, st.calls)
				}
			}
		})
	}
}
