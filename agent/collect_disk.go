package agent

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/lookout-mon/lookout/model"
)

// DefaultExcludeFSTypes are the filesystem types the disk collector skips
// when the config names none: memory-backed and kernel pseudo filesystems.
var DefaultExcludeFSTypes = []string{
	"tmpfs", "devtmpfs", "overlay", "squashfs", "proc", "sysfs", "cgroup*",
	"devpts", "mqueue", "securityfs", "debugfs", "tracefs", "pstore", "bpf",
	"configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "nsfs",
	"ramfs", "rpc_pipefs", "efivarfs", "selinuxfs", "nfsd", "fuse.lxcfs",
}

// DiskCollector reports, per mounted filesystem, space (resource "disk") and
// inodes (resource "inodes") under the unit "<device> (<mountpoint>)", and
// per block device (resource "diskio", unit "sda") read/write bytes and
// operations per second since the previous call.
type DiskCollector struct {
	// ExcludeFSTypes are globs of filesystem types to skip.
	ExcludeFSTypes []string
	// Partitions lists mounted filesystems (disk.PartitionsWithContext).
	Partitions func(ctx context.Context, all bool) ([]disk.PartitionStat, error)
	// Usage reads one filesystem's space and inodes (disk.UsageWithContext).
	Usage func(ctx context.Context, path string) (*disk.UsageStat, error)
	// IOCounters reads block device counters (disk.IOCountersWithContext).
	IOCounters func(ctx context.Context, names ...string) (map[string]disk.IOCountersStat, error)
	// Now is the clock for rates (monotonic readings).
	Now func() time.Time
	// PartitionsTTL is how long a mount listing is reused: listing parses
	// /proc/self/mountinfo, the largest part of a disk collection, and
	// mounts rarely change. 0 lists on every Collect. A failed listing is
	// not cached.
	PartitionsTTL time.Duration

	prevIO   map[string]disk.IOCountersStat
	prevTime time.Time
	parts    []disk.PartitionStat
	units    []string // per parts entry: "<device> (<mountpoint>)"
	partsAt  time.Time
	names    []string // device names, reused to sort them
}

// DefaultPartitionsTTL is NewDiskCollector's PartitionsTTL: a new mount
// shows up in the disk samples within a minute.
const DefaultPartitionsTTL = time.Minute

// NewDiskCollector returns a DiskCollector reading the host, skipping the
// given filesystem types (DefaultExcludeFSTypes when empty).
func NewDiskCollector(exclude []string) *DiskCollector {
	if len(exclude) == 0 {
		exclude = DefaultExcludeFSTypes
	}
	return &DiskCollector{
		ExcludeFSTypes: exclude,
		Partitions:     disk.PartitionsWithContext,
		Usage:          disk.UsageWithContext,
		IOCounters:     newProcDiskstats("/proc/diskstats").IOCounters,
		Now:            time.Now,
		PartitionsTTL:  DefaultPartitionsTTL,
	}
}

// Name implements Collector.
func (c *DiskCollector) Name() string { return model.ResDisk }

// partitions returns the filesystems to measure (excluded types and
// repeated mount points removed), listing them again when the cached
// listing is older than PartitionsTTL.
func (c *DiskCollector) partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	now := c.Now()
	if c.parts != nil && c.PartitionsTTL > 0 && now.Sub(c.partsAt) < c.PartitionsTTL && now.Sub(c.partsAt) >= 0 {
		return c.parts, nil
	}
	all, err := c.Partitions(ctx, false)
	if err != nil {
		c.parts = nil
		return nil, err
	}
	parts := make([]disk.PartitionStat, 0, len(all))
	seen := make(map[string]bool, len(all))
	for _, p := range all {
		if matchAny(c.ExcludeFSTypes, p.Fstype) || seen[p.Mountpoint] {
			continue
		}
		seen[p.Mountpoint] = true
		parts = append(parts, p)
	}
	c.units = c.units[:0]
	for _, p := range parts {
		c.units = append(c.units, p.Device+" ("+p.Mountpoint+")")
	}
	c.parts, c.partsAt = parts, now
	return parts, nil
}

// Collect implements Collector. A filesystem whose usage cannot be read
// (stale NFS, permission) is skipped; only a failure to list the mounts is an
// error.
func (c *DiskCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	parts, err := c.partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("disk: list partitions: %w", err)
	}
	var out []model.Sample
	for i, p := range parts {
		u, err := c.Usage(ctx, p.Mountpoint)
		if err != nil || u.Total == 0 {
			continue
		}
		unit := c.units[i]
		out = append(out, sample(model.ResDisk, unit, map[string]float64{
			"total":           float64(u.Total),
			"used":            float64(u.Used),
			"free":            float64(u.Free),
			"used_percentage": u.UsedPercent,
		}))
		if u.InodesTotal > 0 {
			out = append(out, sample(model.ResInodes, unit, map[string]float64{
				"total":           float64(u.InodesTotal),
				"used":            float64(u.InodesUsed),
				"free":            float64(u.InodesFree),
				"used_percentage": percent(float64(u.InodesUsed), float64(u.InodesTotal)),
			}))
		}
	}
	io, err := c.IOCounters(ctx)
	if err != nil {
		// Space is still worth reporting without io rates.
		return out, fmt.Errorf("disk: io counters: %w", err)
	}
	now := c.Now()
	prev, prevTime := c.prevIO, c.prevTime
	c.prevIO, c.prevTime = io, now
	if prev == nil {
		return out, nil
	}
	secs := now.Sub(prevTime).Seconds()
	if secs <= 0 {
		return out, nil
	}
	names := c.names[:0]
	for n := range io {
		names = append(names, n)
	}
	sort.Strings(names)
	c.names = names
	for _, n := range names {
		cur := io[n]
		old, ok := prev[n]
		if !ok {
			continue
		}
		rb, ok1 := counterDelta(old.ReadBytes, cur.ReadBytes, false)
		wb, ok2 := counterDelta(old.WriteBytes, cur.WriteBytes, false)
		rc, ok3 := counterDelta(old.ReadCount, cur.ReadCount, false)
		wc, ok4 := counterDelta(old.WriteCount, cur.WriteCount, false)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			continue // counter reset (device re-attached): skip one sample
		}
		out = append(out, sample(model.ResDiskIO, n, map[string]float64{
			"read_bytes_per_sec":  float64(rb) / secs,
			"write_bytes_per_sec": float64(wb) / secs,
			"read_iops":           float64(rc) / secs,
			"write_iops":          float64(wc) / secs,
		}))
	}
	return out, nil
}

// procDiskstats reads block device counters from /proc/diskstats (path)
// with one read into a reused buffer. gopsutil's disk.IOCounters returns the
// same counters but also reads each device's udev serial number and label,
// files per device per collection that the disk collector never uses. It
// is used from one goroutine (Collector contract).
//
// /proc/diskstats has a line for every block device and partition, and the
// kernel sums every one's per-cpu counters and counts its requests in
// flight to write it, also for the many that never move (loop, ram, zram
// devices): a cold read cost ~20 µs on a host with ten devices of which
// one is in use. So when at most a third of the devices have counters (the
// others are left out of the results, as gopsutil leaves them out), the
// reads between two listings (listEvery) read just those devices' own
// files, <sysBlock>/<name>/stat (the same counters; ~9 µs cold for one
// device). A device whose counters start moving, or a new device, shows
// up at the next listing; one that disappears makes the next read list
// again at once.
type procDiskstats struct {
	procFile
	names internTable // device names, one string each

	// sysBlock is the directory of the devices' stat files
	// (/sys/class/block); "" reads /proc/diskstats every time.
	sysBlock  string
	listEvery time.Duration    // how long a listing's device set is used
	now       func() time.Time // clock for listEvery
	listedAt  time.Time
	// active are the stat files of the devices with counters at the last
	// listing, when reading them alone is cheaper; nil otherwise.
	active []*blockStat
}

// blockStat is one device's stat file.
type blockStat struct {
	name string
	procFile
}

// diskListEvery is how long newProcDiskstats uses a listing's set of
// active devices (DefaultPartitionsTTL, as for the mounts).
const diskListEvery = DefaultPartitionsTTL

// newProcDiskstats reads path, a /proc/diskstats (generated record by
// record), and, when path is the host's /proc/diskstats, the per-device
// stat files under /sys/class/block.
func newProcDiskstats(path string) *procDiskstats {
	p := &procDiskstats{procFile: procFile{path: path}, listEvery: diskListEvery, now: time.Now}
	if path == "/proc/diskstats" {
		p.sysBlock = "/sys/class/block"
	}
	return p
}

// IOCounters has disk.IOCountersWithContext's signature and counters
// (without SerialNumber and Label): names, if given, are device names or
// paths whose base name selects devices.
func (p *procDiskstats) IOCounters(_ context.Context, names ...string) (map[string]disk.IOCountersStat, error) {
	if len(names) == 0 && p.active != nil {
		if t := p.now(); t.Sub(p.listedAt) >= 0 && t.Sub(p.listedAt) < p.listEvery {
			if m, ok := p.readActive(); ok {
				return m, nil
			}
		}
	}
	p.dropActive()
	b, err := p.read()
	if err != nil {
		return nil, err
	}
	m, err := parseDiskstatsInto(b, names, &p.names)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	if len(names) == 0 && p.sysBlock != "" {
		p.listed(m, bytes.Count(b, []byte{'\n'}))
	}
	return m, nil
}

// listed keeps the devices of a full listing m (of lines lines) for the
// reads until the next listing, when they are at most a third of the
// devices: one device's file costs about what three lines of
// /proc/diskstats cost.
func (p *procDiskstats) listed(m map[string]disk.IOCountersStat, lines int) {
	if len(m) == 0 || 3*len(m) > lines {
		return
	}
	for name := range m {
		p.active = append(p.active, &blockStat{name: name, procFile: procFile{
			path: filepath.Join(p.sysBlock, strings.ReplaceAll(name, "/", "!"), "stat"), single: true}})
	}
	p.listedAt = p.now()
}

// readActive reads the active devices' stat files; ok is false when one
// cannot be read or parsed (the device is gone: list again).
func (p *procDiskstats) readActive() (m map[string]disk.IOCountersStat, ok bool) {
	m = make(map[string]disk.IOCountersStat, len(p.active))
	for _, d := range p.active {
		b, err := d.read()
		if err != nil {
			return nil, false
		}
		v, err := parseBlockStat(b)
		if err != nil {
			return nil, false
		}
		if c := diskCounters(v); c != (disk.IOCountersStat{}) {
			c.Name = d.name
			m[d.name] = c
		}
	}
	return m, true
}

// dropActive closes the active devices' files.
func (p *procDiskstats) dropActive() {
	for _, d := range p.active {
		if d.f != nil {
			_ = d.f.Close()
		}
	}
	p.active = nil
}

// parseBlockStat parses a block device's stat file (Documentation/block/
// stat.rst): the counters of its /proc/diskstats line after the name, at
// least the 11 every kernel has (later columns ignored).
func parseBlockStat(b []byte) (v [11]uint64, err error) {
	var fields [11][]byte
	if n := fieldsInto(b, fields[:]); n < len(fields) {
		return v, fmt.Errorf("%d fields, want at least %d", n, len(fields))
	}
	for i, f := range fields {
		x, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return [11]uint64{}, fmt.Errorf("field %d: %w", i+1, err)
		}
		v[i] = x
	}
	return v, nil
}

// diskCounters turns the 11 counters of a diskstats line into gopsutil's
// fields (sectors become bytes).
func diskCounters(v [11]uint64) disk.IOCountersStat {
	return disk.IOCountersStat{
		ReadCount: v[0], MergedReadCount: v[1], ReadBytes: v[2] * diskSectorSize, ReadTime: v[3],
		WriteCount: v[4], MergedWriteCount: v[5], WriteBytes: v[6] * diskSectorSize, WriteTime: v[7],
		IopsInProgress: v[8], IoTime: v[9], WeightedIO: v[10],
	}
}

// diskSectorSize is the unit of /proc/diskstats' sector counters (always
// 512 bytes, whatever the device's sector size).
const diskSectorSize = 512

// parseDiskstats parses /proc/diskstats as gopsutil does: lines with fewer
// than 14 fields are skipped, devices whose counters are all zero too;
// sectors become bytes.
func parseDiskstats(b []byte, names []string) (map[string]disk.IOCountersStat, error) {
	return parseDiskstatsInto(b, names, nil)
}

// parseDiskstatsInto is parseDiskstats taking the device names from
// interned (nil: a new string each).
func parseDiskstatsInto(b []byte, names []string, interned *internTable) (map[string]disk.IOCountersStat, error) {
	if len(names) > 0 {
		names = slices.Clone(names)
		for i, n := range names {
			names[i] = filepath.Base(n)
		}
	}
	out := make(map[string]disk.IOCountersStat)
	var fields [14][]byte
	for len(b) > 0 {
		var line []byte
		line, b = nextLine(b)
		n := fieldsInto(line, fields[:])
		if n < len(fields) {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, string(fields[2])) {
			continue
		}
		var v [11]uint64
		for i := range v {
			x, err := strconv.ParseUint(string(fields[3+i]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("device %.64q field %d: %w", fields[2], 4+i, err)
			}
			v[i] = x
		}
		d := diskCounters(v)
		if d == (disk.IOCountersStat{}) {
			continue
		}
		d.Name = interned.get(fields[2])
		out[d.Name] = d
	}
	return out, nil
}
