package views

import (
	"context"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/lookout-mon/lookout/model"
)

// Chart geometry, in SVG user units.
const (
	chartW    = 360
	chartH    = 120
	chartPadL = 40
	chartPadR = 4
	chartPadT = 6
	chartPadB = 16
)

// RenderSVG renders points as an SVG line graph: a filled min/max band and an
// avg line, with the y range and the time range as labels. Points must be in
// time order; non-finite values are skipped. With no points it renders an
// empty frame saying "no data".
func RenderSVG(points []model.Point, from, to time.Time) string {
	var b strings.Builder
	b.WriteString(`<svg class="chart" viewBox="0 0 ` + itoa(chartW) + ` ` + itoa(chartH) + `" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">`)
	x0, x1 := float64(chartPadL), float64(chartW-chartPadR)
	y0, y1 := float64(chartH-chartPadB), float64(chartPadT)
	b.WriteString(`<path class="axis" fill="none" d="M` + ff(x0) + ` ` + ff(y1) + `V` + ff(y0) + `H` + ff(x1) + `"/>`)
	pts := make([]model.Point, 0, len(points))
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		if !finite(p.Min) || !finite(p.Max) || !finite(p.Avg) {
			continue
		}
		pts = append(pts, p)
		lo = math.Min(lo, math.Min(p.Min, p.Avg))
		hi = math.Max(hi, math.Max(p.Max, p.Avg))
	}
	if len(pts) == 0 {
		b.WriteString(`<text x="` + ff((x0+x1)/2) + `" y="` + ff((y0+y1)/2) + `" text-anchor="middle">no data</text></svg>`)
		return b.String()
	}
	if !to.After(from) {
		from, to = pts[0].T, pts[len(pts)-1].T
		if !to.After(from) {
			to = from.Add(time.Second)
		}
	}
	if lo > 0 && lo < hi/2 {
		lo = 0 // anchor positive series at zero unless they sit far from it
	}
	if hi == lo {
		hi, lo = hi+1, lo-1
		if lo < 0 && pts[0].Min >= 0 {
			lo = 0
		}
	}
	span := float64(to.Sub(from))
	xf := func(t time.Time) float64 {
		v := x0 + (x1-x0)*float64(t.Sub(from))/span
		return math.Max(x0, math.Min(x1, v))
	}
	yf := func(v float64) float64 { return y0 - (y0-y1)*(v-lo)/(hi-lo) }

	// Band: along the max values forward, back along the min values.
	b.WriteString(`<path class="band" d="`)
	for i, p := range pts {
		if i == 0 {
			b.WriteString("M")
		} else {
			b.WriteString("L")
		}
		b.WriteString(ff(xf(p.T)) + " " + ff(yf(p.Max)))
	}
	for i := len(pts) - 1; i >= 0; i-- {
		b.WriteString("L" + ff(xf(pts[i].T)) + " " + ff(yf(pts[i].Min)))
	}
	b.WriteString(`Z"/>`)
	b.WriteString(`<polyline class="avg" points="`)
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(ff(xf(p.T)) + "," + ff(yf(p.Avg)))
	}
	b.WriteString(`"/>`)
	b.WriteString(`<text x="` + ff(x0-3) + `" y="` + ff(y1+8) + `" text-anchor="end">` + html.EscapeString(axisLabel(hi)) + `</text>`)
	b.WriteString(`<text x="` + ff(x0-3) + `" y="` + ff(y0) + `" text-anchor="end">` + html.EscapeString(axisLabel(lo)) + `</text>`)
	layout := "15:04"
	if to.Sub(from) > 36*time.Hour {
		layout = "01-02"
	}
	b.WriteString(`<text x="` + ff(x0) + `" y="` + itoa(chartH-3) + `">` + from.UTC().Format(layout) + `</text>`)
	b.WriteString(`<text x="` + ff(x1) + `" y="` + itoa(chartH-3) + `" text-anchor="end">` + to.UTC().Format(layout) + `</text>`)
	b.WriteString(`</svg>`)
	return b.String()
}

// SVG returns RenderSVG's output as a templ component.
func SVG(g Graph) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, RenderSVG(g.Points, g.From, g.To))
		return err
	})
}

// axisLabel formats a y-axis label to fit the chart's left margin: as
// FmtFloat below 10,000 in magnitude, else with 3 significant digits and an
// SI suffix ("7.75M"), since longer labels were cut off on the left.
func axisLabel(v float64) string {
	if !finite(v) || math.Abs(v) < 1e4 {
		return FmtFloat(v)
	}
	units := []struct {
		scale  float64
		suffix string
	}{{1e3, "k"}, {1e6, "M"}, {1e9, "G"}, {1e12, "T"}, {1e15, "P"}}
	for i, u := range units {
		// The smallest unit whose 3 digits need no exponent (999,999 is
		// "1M", not "1e+03k"); beyond the last, the exponent stays.
		if s := strconv.FormatFloat(v/u.scale, 'g', 3, 64); !strings.Contains(s, "e") || i == len(units)-1 {
			return s + u.suffix
		}
	}
	return FmtFloat(v) // not reached
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func ff(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func itoa(i int) string { return strconv.Itoa(i) }
