package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
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
	partsAt  time.Time
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
	for _, p := range parts {
		u, err := c.Usage(ctx, p.Mountpoint)
		if err != nil || u.Total == 0 {
			continue
		}
		unit := p.Device + " (" + p.Mountpoint + ")"
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
	names := make([]string, 0, len(io))
	for n := range io {
		names = append(names, n)
	}
	sort.Strings(names)
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
type procDiskstats struct {
	procFile
}

// newProcDiskstats reads path, a /proc/diskstats (generated record by
// record).
func newProcDiskstats(path string) *procDiskstats {
	return &procDiskstats{procFile{path: path}}
}

// IOCounters has disk.IOCountersWithContext's signature and counters
// (without SerialNumber and Label): names, if given, are device names or
// paths whose base name selects devices.
func (p *procDiskstats) IOCounters(_ context.Context, names ...string) (map[string]disk.IOCountersStat, error) {
	b, err := p.read()
	if err != nil {
		return nil, err
	}
	m, err := parseDiskstats(b, names)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	return m, nil
}

// diskSectorSize is the unit of /proc/diskstats' sector counters (always
// 512 bytes, whatever the device's sector size).
const diskSectorSize = 512

// parseDiskstats parses /proc/diskstats as gopsutil does: lines with fewer
// than 14 fields are skipped, devices whose counters are all zero too;
// sectors become bytes.
func parseDiskstats(b []byte, names []string) (map[string]disk.IOCountersStat, error) {
	names = slices.Clone(names)
	for i, n := range names {
		names[i] = filepath.Base(n)
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
		name := string(fields[2])
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		var v [11]uint64
		for i := range v {
			x, err := strconv.ParseUint(string(fields[3+i]), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("device %.64q field %d: %w", name, 4+i, err)
			}
			v[i] = x
		}
		d := disk.IOCountersStat{
			ReadCount: v[0], MergedReadCount: v[1], ReadBytes: v[2] * diskSectorSize, ReadTime: v[3],
			WriteCount: v[4], MergedWriteCount: v[5], WriteBytes: v[6] * diskSectorSize, WriteTime: v[7],
			IopsInProgress: v[8], IoTime: v[9], WeightedIO: v[10],
		}
		if d == (disk.IOCountersStat{}) {
			continue
		}
		d.Name = name
		out[name] = d
	}
	return out, nil
}
