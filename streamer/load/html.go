package load

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// WriteHTML writes one self-contained page (no scripts, no network) with
// the summary and three plots: latency over time, throughput over time,
// and the latency distribution by percentile. The markup is well-formed
// XML, so tools (and tests) can parse it.
func (r *Report) WriteHTML(w io.Writer, title string) error {
	dist, err := r.distribution()
	if err != nil {
		return err
	}
	page := struct {
		Title                          string
		R                              *Report
		Note                           string // the generator fell behind
		Rows                           [][2]string
		Latency, Throughput, Histogram template.HTML
	}{Title: title, R: r, Note: r.GeneratorNote()}
	ms := func(ns int64) string { return fmt.Sprintf("%.2f ms", float64(ns)/1e6) }
	page.Rows = [][2]string{
		{"Requests", fmt.Sprintf("%d at %.1f/s (throughput %.1f/s)", r.Requests, r.Rate, r.Throughput)},
		{"Events", fmt.Sprintf("%d at %.1f/s", r.Events, r.EventsPerSecond)},
		{"Success", fmt.Sprintf("%.2f%%", r.Success*100)},
		{"Latency p50 / p99 / p99.9 / max", ms(r.Latencies.P50) + " / " + ms(r.Latencies.P99) + " / " + ms(r.Latencies.P999) + " / " + ms(r.Latencies.Max)},
		{"Schedule lag p99 / late sends", fmt.Sprintf("%s / %d", ms(r.ScheduleLag.P99), r.LateSends)},
		{"Duration", (r.Duration + r.Wait).Round(time.Millisecond).String()},
	}
	if r.TargetRate > 0 {
		page.Rows = append(page.Rows, [2]string{"Target rate", fmt.Sprintf("%.1f/s (achieved %+.2f%%)", r.TargetRate, (r.Rate/r.TargetRate-1)*100)})
	}
	var p50, p99, ok, target []point
	for _, s := range r.Timeline {
		x := float64(s.T) + 0.5
		l50, l99 := float64(s.P50)/1e6, float64(s.P99)/1e6
		if s.Requests == 0 { // no latency to show (an outage step): a gap, not 0 ms
			l50, l99 = math.NaN(), math.NaN()
		}
		p50 = append(p50, point{x, l50})
		p99 = append(p99, point{x, l99})
		ok = append(ok, point{x, float64(s.OK)})
		target = append(target, point{x, s.Target})
	}
	page.Latency = chart("Latency over time", "seconds", "ms", []series{{"p50", "#2563eb", p50, false}, {"p99", "#dc2626", p99, false}}, false)
	page.Throughput = chart("Throughput over time", "seconds", "requests/s", []series{{"2xx per second", "#059669", ok, false}, {"target rate", "#6b7280", target, true}}, false)
	page.Histogram = chart("Latency distribution", "percentile", "ms", []series{{"latency", "#7c3aed", dist, false}}, true)
	return pageTemplate.Execute(w, page)
}

// distribution is latency by percentile, on a scale that opens up the tail.
func (r *Report) distribution() ([]point, error) {
	h, err := decode(r.Histogram)
	if err != nil {
		return nil, fmt.Errorf("latency histogram: %w", err)
	}
	var pts []point
	for _, q := range []float64{0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999} {
		// x = nines: 0 → 0, 90 → 1, 99 → 2, 99.9 → 3 ...
		x := 0.0
		if q > 0 {
			x = -math.Log10(1 - q/100)
		}
		pts = append(pts, point{x, float64(h.ValueAtQuantile(q)) / 1e6})
	}
	return pts, nil
}

type point struct{ X, Y float64 }

type series struct {
	Name   string
	Color  string
	Points []point
	Dashed bool
}

// chart draws a line chart as SVG with axes, ticks and a legend.
func chart(title, xlabel, ylabel string, ss []series, nines bool) template.HTML {
	const W, H, L, R, T, B = 720.0, 300.0, 64.0, 16.0, 36.0, 44.0
	var maxX, maxY float64
	for _, s := range ss {
		for _, p := range s.Points {
			if !math.IsNaN(p.Y) { // NaN: no value there
				maxX, maxY = math.Max(maxX, p.X), math.Max(maxY, p.Y)
			}
		}
	}
	if maxX == 0 {
		maxX = 1
	}
	maxY = niceCeil(maxY)
	px := func(x float64) float64 { return L + x/maxX*(W-L-R) }
	py := func(y float64) float64 { return H - B - y/maxY*(H-T-B) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, W, H, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="22" class="title">%s</text>`, L, template.HTMLEscapeString(title))
	for i := 0; i <= 4; i++ {
		y := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, L, W-R, py(y), py(y))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="end">%s</text>`, L-6, py(y)+4, trim(y))
	}
	step := niceStep(maxX / 6)
	if nines {
		step = 1
	}
	for x := 0.0; x <= maxX+1e-9; x += step {
		label := trim(x)
		if nines {
			label = ninesLabel(int(math.Round(x)))
		}
		anchor := "middle"
		if x+step > maxX+1e-9 && px(x) > W-R-30 {
			anchor = "end" // keep the last label inside the frame
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="tick" text-anchor="%s">%s</text>`, px(x), H-B+16, anchor, label)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="middle">%s</text>`, (L+W-R)/2, H-6, xlabel)
	fmt.Fprintf(&b, `<text x="14" y="%.1f" class="axis" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`, (T+H-B)/2, (T+H-B)/2, template.HTMLEscapeString(ylabel))
	for i, s := range ss {
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		line := func() { // one polyline per run of points between gaps
			if len(pts) > 0 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`, s.Color, dash, strings.Join(pts, " "))
				pts = nil
			}
		}
		for _, p := range s.Points {
			if math.IsNaN(p.Y) {
				line()
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.X), py(p.Y)))
		}
		line()
		lx := W - R - 150
		ly := T + 4 + float64(i)*16
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.0f" y2="%.0f" stroke="%s" stroke-width="3"%s/>`, lx, lx+18, ly, ly, s.Color, dash)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="tick">%s</text>`, lx+24, ly+4, template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// ninesLabel names a percentile by its nines: 0%, 90%, 99%, 99.9%, ...
func ninesLabel(n int) string {
	switch n {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", n-2) + "%"
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	m := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 4, 8, 10} { // quarters of these are round
		if f*m >= v {
			return f * m
		}
	}
	return 10 * m
}

// niceStep rounds a tick step up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	m := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if f*m >= v {
			return f * m
		}
	}
	return 10 * m
}

func trim(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 780px; color: #111827; padding: 0 1rem; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
p.sub { color: #6b7280; margin-top: 0; }
p.note { color: #b45309; font-weight: 600; }
table { border-collapse: collapse; margin: 1rem 0 1.5rem; width: 100%; }
td { padding: 0.35rem 0.5rem; border-bottom: 1px solid #e5e7eb; }
td:first-child { color: #4b5563; width: 40%; }
section { margin-bottom: 1.5rem; }
svg { width: 100%; height: auto; background: #fafafa; border: 1px solid #e5e7eb; border-radius: 6px; }
svg .title { font-size: 14px; font-weight: 600; fill: #111827; }
svg .tick { font-size: 11px; fill: #4b5563; }
svg .axis { font-size: 12px; fill: #374151; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">emnify-mock load report{{if .R.Shards}} · merged from {{.R.Shards}} shards{{end}}{{if .R.Shard}} · shard {{.R.Shard}}{{end}} · latency counts from each request's intended instant</p>
<table>
{{range .Rows}}<tr><td>{{index . 0}}</td><td>{{index . 1}}</td></tr>
{{end}}</table>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
<section>{{.Latency}}</section>
<section>{{.Throughput}}</section>
<section>{{.Histogram}}</section>
</body>
</html>
`))
