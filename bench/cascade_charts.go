package bench

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Chart geometry and thinning limits. A chart is read at screen size, so
// more points than pixels only make the files bigger.
const (
	chartWidth  = 10 * vg.Inch
	chartHeight = 5 * vg.Inch
	// maxLinePoints bounds each line after min/max bucketing.
	maxLinePoints = 4000
	// maxMarkers bounds the liquidation markers on the price chart.
	maxMarkers = 3000
	// markerGridX and markerGridY divide the markers' range into cells,
	// about a pixel each; one marker per cell looks like all of them.
	markerGridX, markerGridY = 960, 480
)

var (
	colorIndex = color.RGBA{R: 90, G: 90, B: 90, A: 255}
	colorMark  = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorLast  = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colorLiq   = color.NRGBA{R: 214, G: 39, B: 40, A: 140}
	colorFund  = color.RGBA{R: 44, G: 160, B: 44, A: 255}
	colorP50   = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	colorP99   = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	colorP999  = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	colorShock = color.NRGBA{R: 255, G: 200, B: 0, A: 60}
)

// WriteCascadeCharts writes the cascade's charts into dir, each as PNG and
// SVG: prices (index, mark, last and the liquidations of s.Symbol),
// liquidations (per interval), fund (the insurance fund) and latency (ack
// latency percentiles). NaN samples are gaps; a chart with no data is
// still written, saying so. The same series gives the same files.
func WriteCascadeCharts(dir string, s *CascadeSeries) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: charts: %w", err)
	}
	charts := []struct {
		name string
		p    *plot.Plot
	}{
		{"prices", pricesChart(s)},
		{"liquidations", liquidationsChart(s)},
		{"fund", fundChart(s)},
		{"latency", latencyChart(s)},
	}
	for _, c := range charts {
		for _, ext := range []string{".png", ".svg"} {
			path := filepath.Join(dir, c.name+ext)
			if err := c.p.Save(chartWidth, chartHeight, path); err != nil {
				return fmt.Errorf("bench: writing chart %s: %w", path, err)
			}
		}
	}
	return nil
}

func pricesChart(s *CascadeSeries) *plot.Plot {
	title := "Index, mark and last price"
	if s.Symbol != "" {
		title += " of " + s.Symbol
	}
	p := newChart(s, title, "price (USDT)")
	n := addLine(p, s.T, s.Index, "index", colorIndex, nil, linePoint)
	n += addLine(p, s.T, s.Mark, "mark", colorMark, nil, linePoint)
	n += addLine(p, s.T, s.Last, "last", colorLast, nil, linePoint)
	if xys := thinMarkers(s.LiqT, s.LiqPrice); len(xys) > 0 {
		sc := &plotter.Scatter{XYs: xys, GlyphStyle: draw.GlyphStyle{
			Color: colorLiq, Radius: vg.Points(1.5), Shape: draw.CircleGlyph{},
		}}
		p.Add(sc)
		label := fmt.Sprintf("liquidations at bankruptcy price (%d", len(s.LiqT))
		if len(xys) < len(s.LiqT) {
			label += fmt.Sprintf(", %d drawn", len(xys))
		}
		p.Legend.Add(label+")", sc)
		n += len(xys)
	}
	return finish(p, s, n)
}

func liquidationsChart(s *CascadeSeries) *plot.Plot {
	per := "interval"
	if s.Interval > 0 {
		per = strconv.FormatFloat(s.Interval, 'g', -1, 64) + " s"
	}
	p := newChart(s, "Liquidations per interval (all markets)", "liquidations per "+per)
	fill := color.NRGBA{R: 214, G: 39, B: 40, A: 70}
	n := addLine(p, s.T, s.Liquidations, "liquidations", colorP999, func(l *plotter.Line) {
		l.StepStyle = plotter.PreStep
		l.FillColor = fill
	}, linePoint)
	return finish(p, s, n)
}

func fundChart(s *CascadeSeries) *plot.Plot {
	p := newChart(s, "Insurance fund balance", "balance (USDT)")
	n := addLine(p, s.T, s.Fund, "insurance fund", colorFund, nil, linePoint)
	return finish(p, s, n)
}

func latencyChart(s *CascadeSeries) *plot.Plot {
	p := newChart(s, "Ack latency percentiles", "ack latency (ms)")
	series := []struct {
		y     []float64
		name  string
		color color.Color
	}{
		{s.LatencyP50, "p50", colorP50},
		{s.LatencyP99, "p99", colorP99},
		{s.LatencyP999, "p99.9", colorP999},
	}
	// A log scale shows p50 and a spiking p99.9 together, but it can only
	// hold positive values: zeros become gaps too.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ser := range series {
		for _, v := range ser.y {
			if v > 0 && !math.IsInf(v, 1) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	keep := linePoint
	logY := hi >= 10*lo
	if logY {
		keep = func(y float64) bool { return linePoint(y) && y > 0 }
	}
	n := 0
	for _, ser := range series {
		n += addLine(p, s.T, ser.y, ser.name, ser.color, nil, keep)
	}
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text += ", log scale"
	}
	return finish(p, s, n)
}

// newChart starts a chart with a grid and the shock window under the data.
func newChart(s *CascadeSeries, title, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = "time (simulated s)"
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid(), shockBand{start: s.ShockStart, end: s.ShockEnd})
	return p
}

// finish adds the shock window to the legend or, when n, the number of
// points drawn, is zero, returns a chart that says there is no data.
func finish(p *plot.Plot, s *CascadeSeries, n int) *plot.Plot {
	if n > 0 {
		p.Legend.Add("shock", shockBand{start: s.ShockStart, end: s.ShockEnd})
		return p
	}
	empty := plot.New()
	empty.Title = p.Title
	empty.Title.Text += " (no data)"
	empty.X.Label, empty.Y.Label = p.X.Label, p.Y.Label
	empty.X.Min, empty.X.Max, empty.Y.Min, empty.Y.Max = 0, 1, 0, 1
	empty.X.Tick.Marker, empty.Y.Tick.Marker = plot.ConstantTicks{}, plot.ConstantTicks{}
	note, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 0.5, Y: 0.5}}, Labels: []string{"no data"}})
	if err == nil {
		note.TextStyle[0].XAlign = draw.XCenter
		note.TextStyle[0].Font.Size = vg.Points(16)
		empty.Add(note)
	}
	return empty
}

func linePoint(y float64) bool { return !math.IsNaN(y) && !math.IsInf(y, 0) }

// addLine adds (x, y) as a line named name, broken where keep rejects y,
// thinned to maxLinePoints. Samples alone between gaps are drawn as dots.
// It returns the number of points drawn.
func addLine(p *plot.Plot, x, y []float64, name string, c color.Color, style func(*plotter.Line), keep func(float64) bool) int {
	var first plot.Thumbnailer
	var dots plotter.XYs
	n := 0
	for _, seg := range polylines(x, y, maxLinePoints, keep) {
		n += len(seg)
		if len(seg) == 1 {
			dots = append(dots, seg...)
			continue
		}
		l := &plotter.Line{XYs: seg, LineStyle: draw.LineStyle{Color: c, Width: vg.Points(1.2)}}
		if style != nil {
			style(l)
		}
		p.Add(l)
		if first == nil {
			first = l
		}
	}
	if len(dots) > 0 {
		sc := &plotter.Scatter{XYs: dots, GlyphStyle: draw.GlyphStyle{
			Color: c, Radius: vg.Points(1), Shape: draw.CircleGlyph{},
		}}
		p.Add(sc)
		if first == nil {
			first = sc
		}
	}
	if first != nil {
		p.Legend.Add(name, first)
	}
	return n
}

// polylines returns the points of (x, y) that keep accepts (x must be
// finite), split into polylines at the rejected ones. Longer than
// maxPoints, the series is cut into maxPoints/2 buckets of consecutive
// samples and each bucket gives its lowest and highest point in time
// order, so spikes survive; a bucket without a kept point is a gap.
func polylines(x, y []float64, maxPoints int, keep func(float64) bool) []plotter.XYs {
	n := min(len(x), len(y))
	ok := func(i int) bool { return keep(y[i]) && !math.IsNaN(x[i]) && !math.IsInf(x[i], 0) }
	var lines []plotter.XYs
	var cur plotter.XYs
	flush := func() {
		if len(cur) > 0 {
			lines = append(lines, cur)
			cur = nil
		}
	}
	add := func(i int) { cur = append(cur, plotter.XY{X: x[i], Y: y[i]}) }
	if n <= maxPoints {
		for i := range n {
			if ok(i) {
				add(i)
			} else {
				flush()
			}
		}
		flush()
		return lines
	}
	buckets := max(maxPoints/2, 1)
	for b := range buckets {
		lo, hi := b*n/buckets, (b+1)*n/buckets
		imin, imax := -1, -1
		for i := lo; i < hi; i++ {
			if !ok(i) {
				continue
			}
			if imin < 0 || y[i] < y[imin] {
				imin = i
			}
			if imax < 0 || y[i] > y[imax] {
				imax = i
			}
		}
		switch {
		case imin < 0:
			flush()
		case imin == imax:
			add(imin)
		default:
			add(min(imin, imax))
			add(max(imin, imax))
		}
	}
	flush()
	return lines
}

// thinMarkers returns the finite points (x, y), at most maxMarkers: the
// first in each cell of a grid over their range, the grid as fine as
// allows. Dense clusters stay dense and outliers stay visible.
func thinMarkers(x, y []float64) plotter.XYs {
	n := min(len(x), len(y))
	var pts plotter.XYs
	for i := range n {
		if linePoint(x[i]) && linePoint(y[i]) {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	if len(pts) <= maxMarkers {
		return pts
	}
	xmin, xmax, ymin, ymax := plotter.XYRange(pts)
	cell := func(v, lo, hi float64, cells int) int {
		if hi <= lo {
			return 0
		}
		return min(int((v-lo)/(hi-lo)*float64(cells)), cells-1)
	}
	kept := make(plotter.XYs, 0, maxMarkers)
	for gx, gy := markerGridX, markerGridY; ; gx, gy = max(gx/2, 1), max(gy/2, 1) {
		seen := make([]bool, gx*gy)
		kept = kept[:0]
		for _, pt := range pts {
			c := cell(pt.Y, ymin, ymax, gy)*gx + cell(pt.X, xmin, xmax, gx)
			if !seen[c] {
				seen[c] = true
				kept = append(kept, pt)
				if len(kept) > maxMarkers {
					break
				}
			}
		}
		if len(kept) <= maxMarkers {
			return kept
		}
	}
}

// shockBand shades the shock window [start, end] across the plot's
// height; a window of no width is drawn as a dashed line.
type shockBand struct{ start, end float64 }

func (b shockBand) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0, x1 := trX(b.start), trX(b.end)
	if x1 < c.Min.X || x0 > c.Max.X {
		return
	}
	x0, x1 = max(x0, c.Min.X), min(x1, c.Max.X)
	c.FillPolygon(colorShock, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	edge := draw.LineStyle{
		Color:  color.NRGBA{R: 200, G: 140, B: 0, A: 255},
		Width:  vg.Points(0.8),
		Dashes: []vg.Length{vg.Points(4), vg.Points(3)},
	}
	c.StrokeLine2(edge, x0, c.Min.Y, x0, c.Max.Y)
	c.StrokeLine2(edge, x1, c.Min.Y, x1, c.Max.Y)
}

// DataRange keeps the window on the x axis; it has no say on y.
func (b shockBand) DataRange() (xmin, xmax, ymin, ymax float64) {
	return b.start, b.end, math.Inf(1), math.Inf(-1)
}

func (b shockBand) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(colorShock, []vg.Point{c.Min, {X: c.Max.X, Y: c.Min.Y}, c.Max, {X: c.Min.X, Y: c.Max.Y}})
}
