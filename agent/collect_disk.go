package agent

import (
	"context"
	"fmt"
	"sort"
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

	prevIO   map[string]disk.IOCountersStat
	prevTime time.Time
}

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
		IOCounters:     disk.IOCountersWithContext,
		Now:            time.Now,
	}
}

// Name implements Collector.
func (c *DiskCollector) Name() string { return model.ResDisk }

// Collect implements Collector. A filesystem whose usage cannot be read
// (stale NFS, permission) is skipped; only a failure to list the mounts is an
// error.
func (c *DiskCollector) Collect(ctx context.Context) ([]model.Sample, error) {
	parts, err := c.Partitions(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("disk: list partitions: %w", err)
	}
	var out []model.Sample
	seen := make(map[string]bool)
	for _, p := range parts {
		if matchAny(c.ExcludeFSTypes, p.Fstype) || seen[p.Mountpoint] {
			continue
		}
		seen[p.Mountpoint] = true
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
