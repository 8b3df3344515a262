// Package views holds the dashboard's templ components (full pages and the
// HTML fragments pushed over SSE), the data each page needs, and the small
// pure helpers they share: load colour bands, uptime computation and a
// server-side SVG line-graph renderer. It performs no I/O besides writing
// the rendered HTML.
package views

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lookout-mon/lookout/model"
)

// Page is what every full page needs for its frame (title, navigation, user).
type Page struct {
	Title   string
	Active  string // nav entry to highlight: overview, downtimes, alarms, maintenance, cluster
	User    string // logged-in user, "" for the public read-only view
	Version string
	Now     time.Time
	// CanEdit is true when the viewer may use the mutating forms.
	CanEdit bool
}

// Counts are the headline numbers at the top of the overview.
type Counts struct {
	Up, Down, Firing int
}

// OverviewData is the overview page's data.
type OverviewData struct {
	Page
	Counts Counts
	Hosts  []model.HostStatus
}

// UptimeRow is a host's availability over one window.
type UptimeRow struct {
	Window  string // "24h", "7d", "30d"
	Percent float64
	Down    time.Duration
}

// Graph is one rendered history series of a host.
type Graph struct {
	Title  string
	Series string
	Attr   string
	Points []model.Point
	From   time.Time
	To     time.Time
}

// HostData is the host page's data.
type HostData struct {
	Page
	Status    model.HostStatus
	Range     string // 1h, 24h, 7d
	Graphs    []Graph
	Alarms    []model.AlarmStatus
	Downtimes []model.Downtime
	Uptime    []UptimeRow
}

// DowntimesData is the downtimes page's data.
type DowntimesData struct {
	Page
	Current []model.Downtime
	Past    []model.Downtime
}

// AlarmsData is the alarms page's data.
type AlarmsData struct {
	Page
	Alarms      []model.AlarmStatus
	Transitions []model.Event
	Deliveries  []model.Delivery
	Rules       []model.RuleInfo
	Error       string
}

// MaintenanceData is the maintenance page's data.
type MaintenanceData struct {
	Page
	Windows []model.Maintenance
	Error   string
}

// ClusterData is the cluster page's data.
type ClusterData struct {
	Page
	Members []model.MemberStatus
}

// LoginData is the login form's data.
type LoginData struct {
	Version string
	Error   string
	Next    string
}

// LoadBand returns the 10 % band (0..9) of a 0..100 load; out-of-range and
// NaN values are clamped.
func LoadBand(load float64) int {
	if math.IsNaN(load) || load < 0 {
		return 0
	}
	b := int(load / 10)
	if b > 9 {
		b = 9
	}
	return b
}

// TileClass returns the CSS classes of a host tile: "tile load-N" when up,
// "tile down" when down.
func TileClass(h model.HostStatus) string {
	if !h.Up {
		return "tile down"
	}
	return "tile load-" + strconv.Itoa(LoadBand(h.Load))
}

// TileID is the element id of a host's tile on the overview.
func TileID(host string) string { return "tile-" + host }

// HostRowID is the element id of a host's status summary on its page.
func HostRowID(host string) string { return "hostrow-" + host }

// ValuesID is the element id of a host's live values table.
func ValuesID(host string) string { return "values-" + host }

// ChecksID is the element id of a host's checks table.
func ChecksID(host string) string { return "checks-" + host }

// AlarmID is the element id of an alarm's row on the alarms page.
func AlarmID(a model.AlarmStatus) string {
	h := fnv.New64a()
	h.Write([]byte(a.Rule + "\x00" + a.Host + "\x00" + a.Series))
	return fmt.Sprintf("alarm-%016x", h.Sum64())
}

// NotificationID is the element id of a notification's row.
func NotificationID(n model.Notification) string {
	h := fnv.New64a()
	h.Write([]byte(n.ID))
	return fmt.Sprintf("notif-%016x", h.Sum64())
}

// CountFiring counts alarms in the firing state.
func CountFiring(alarms []model.AlarmStatus) int {
	n := 0
	for _, a := range alarms {
		if a.State == model.AlarmFiring {
			n++
		}
	}
	return n
}

// CountHosts counts up and down hosts.
func CountHosts(hosts []model.HostStatus) (up, down int) {
	for _, h := range hosts {
		if h.Up {
			up++
		} else {
			down++
		}
	}
	return up, down
}

// FmtTime formats t for tables ("2006-01-02 15:04:05 UTC"), "-" when zero.
func FmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// FmtFloat formats a measured value compactly.
func FmtFloat(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// FmtPercent formats a percentage with 3 decimals ("99.982 %").
func FmtPercent(p float64) string { return strconv.FormatFloat(p, 'f', 3, 64) + " %" }

// Since renders how long ago t was, in words, relative to now.
func Since(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return model.HumanDuration(now.Sub(t).Truncate(time.Second))
}

// DowntimeLength renders a downtime's length ("ongoing" suffix while open).
func DowntimeLength(d model.Downtime, now time.Time) string {
	s := model.HumanDuration(d.Duration(now))
	if d.End.IsZero() {
		s += " (ongoing)"
	}
	return s
}

// Uptime computes availability over window ending at now from a host's
// downtimes. Only host-level downtimes (Service "host" or "") count;
// overlapping periods are merged and clipped to the window.
func Uptime(downtimes []model.Downtime, now time.Time, window time.Duration) (percent float64, down time.Duration) {
	if window <= 0 {
		return 100, 0
	}
	from := now.Add(-window)
	type iv struct{ s, e time.Time }
	var ivs []iv
	for _, d := range downtimes {
		if d.Service != "host" && d.Service != "" {
			continue
		}
		s, e := d.Start, d.End
		if e.IsZero() || e.After(now) {
			e = now
		}
		if s.Before(from) {
			s = from
		}
		if !e.After(s) {
			continue
		}
		ivs = append(ivs, iv{s, e})
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].s.Before(ivs[j].s) })
	var curS, curE time.Time
	for i, v := range ivs {
		if i == 0 {
			curS, curE = v.s, v.e
			continue
		}
		if !v.s.After(curE) {
			if v.e.After(curE) {
				curE = v.e
			}
			continue
		}
		down += curE.Sub(curS)
		curS, curE = v.s, v.e
	}
	if len(ivs) > 0 {
		down += curE.Sub(curS)
	}
	percent = 100 * (1 - float64(down)/float64(window))
	return percent, down
}

// UptimeRows computes the 24h, 7d and 30d availability rows.
func UptimeRows(downtimes []model.Downtime, now time.Time) []UptimeRow {
	wins := []struct {
		name string
		d    time.Duration
	}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}
	rows := make([]UptimeRow, 0, len(wins))
	for _, w := range wins {
		p, d := Uptime(downtimes, now, w.d)
		rows = append(rows, UptimeRow{Window: w.name, Percent: p, Down: d})
	}
	return rows
}

// SampleGroup is the samples of one resource type, for the live values table.
type SampleGroup struct {
	Resource string
	Samples  []model.Sample
}

// GroupSamples groups samples by resource type, sorted by resource and unit.
func GroupSamples(samples []model.Sample) []SampleGroup {
	byRes := map[string][]model.Sample{}
	for _, s := range samples {
		key := s.Resource
		if s.Service != model.ServiceMachine && s.Service != "" {
			key = s.Service + "." + s.Resource
		}
		byRes[key] = append(byRes[key], s)
	}
	groups := make([]SampleGroup, 0, len(byRes))
	for _, k := range model.SortedKeys(byRes) {
		ss := byRes[k]
		sort.Slice(ss, func(i, j int) bool { return ss[i].Unit < ss[j].Unit })
		groups = append(groups, SampleGroup{Resource: k, Samples: ss})
	}
	return groups
}

// FmtValues renders a sample's values as "name=value" pairs in key order.
func FmtValues(v map[string]float64) string {
	var b strings.Builder
	for i, k := range model.SortedKeys(v) {
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(FmtFloat(v[k]))
	}
	return b.String()
}

// CheckIsUp returns "up"/"down" for a check's CSS class and label.
func CheckIsUp(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// LevelOrDash returns the notification level's name.
func LevelOrDash(l model.Level) string { return l.String() }

// HumanDurationOrNone renders d in words, or "-" when zero.
func HumanDurationOrNone(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return model.HumanDuration(d)
}

// PathSeg escapes s as one URL path segment.
func PathSeg(s string) string { return url.PathEscape(s) }

// HostStateText describes a host's up/down state for the transitions list:
// "up", "down since 2026-11-24 10:00:00" or, past the persistent-downtime
// threshold, "down since ... (persistent downtime)".
func HostStateText(h model.HostStatus) string {
	if h.Up {
		return "up"
	}
	s := "down"
	if !h.DownSince.IsZero() {
		s += " since " + FmtTime(h.DownSince)
	}
	if h.Persistent {
		s += " (persistent downtime)"
	}
	return s
}
