package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// The charts are written as SVG by hand: a few rectangles, lines and
// texts, no dependency. Geometry of every chart, in SVG user units.
const (
	chartW, chartH            = 840.0, 420.0
	marginL, marginR          = 78.0, 270.0
	marginT, marginB          = 44.0, 86.0
	plotW, plotH              = chartW - marginL - marginR, chartH - marginT - marginB
	yTicks                    = 5
	fontFamily                = "sans-serif"
	missingMark               = "n/a"
	legendRowH, legendSwatchW = 18.0, 12.0
)

// palette colours the series in order.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// BarChart is bars grouped by category: Series[s].Values[c] is the bar of
// series s in category c; NaN leaves it out (marked n/a). Lines are
// horizontal reference lines (targets).
type BarChart struct {
	Title, YLabel string
	Categories    []string
	Series        []BarSeries
	Lines         []RefLine
}

// BarSeries is one colour of bars, a value per category.
type BarSeries struct {
	Name   string
	Values []float64
}

// RefLine is a dashed horizontal line at Y, labelled.
type RefLine struct {
	Y     float64
	Label string
}

// LineChart is series of points joined by lines, X on a log scale if
// LogX (every X must then be positive).
type LineChart struct {
	Title, XLabel, YLabel string
	LogX                  bool
	Series                []LineSeries
	Lines                 []RefLine
}

// LineSeries is one line: points (X[i], Y[i]) in order of X.
type LineSeries struct {
	Name string
	X, Y []float64
}

// svgWriter accumulates the elements of one chart.
type svgWriter struct{ b strings.Builder }

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

func (w *svgWriter) text(x, y float64, anchor, class, s string, extra string) {
	w.printf(`<text x="%.1f" y="%.1f" text-anchor="%s" class="%s"%s>%s</text>`+"\n", x, y, anchor, class, extra, html.EscapeString(s))
}

// open writes the SVG header, background and title.
func (w *svgWriter) open(title string) {
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="%s" font-size="12">`+"\n", chartW, chartH, chartW, chartH, fontFamily)
	w.printf(`<rect x="0" y="0" width="%.0f" height="%.0f" fill="white"/>`+"\n", chartW, chartH)
	w.text(chartW/2, 24, "middle", "title", title, ` font-size="15" font-weight="bold"`)
}

func (w *svgWriter) close() { w.printf("</svg>\n") }

// yAxis draws the value axis from 0 to top with its grid and label and
// returns the function mapping a value to its y coordinate.
func (w *svgWriter) yAxis(top float64, label string) func(float64) float64 {
	y := func(v float64) float64 { return marginT + plotH - v/top*plotH }
	for i := 0; i <= yTicks; i++ {
		v := top * float64(i) / yTicks
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", marginL, y(v), marginL+plotW, y(v))
		w.text(marginL-6, y(v)+4, "end", "tick", formatTick(v), "")
	}
	w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", marginL, marginT, marginL, marginT+plotH)
	w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", marginL, marginT+plotH, marginL+plotW, marginT+plotH)
	w.text(18, marginT+plotH/2, "middle", "axis-label", label, fmt.Sprintf(` transform="rotate(-90 18 %.1f)"`, marginT+plotH/2))
	return y
}

// dashes tell the reference lines apart.
var dashes = []string{"6 4", "2 3", "10 3 2 3"}

// refLines draws the dashed reference lines (all of them lie within the
// axis: its top was chosen above them).
func (w *svgWriter) refLines(lines []RefLine, y func(float64) float64) {
	for i, l := range lines {
		w.printf(`<line class="ref" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-width="1.5" stroke-dasharray="%s"><title>%s</title></line>`+"\n",
			marginL, y(l.Y), marginL+plotW, y(l.Y), dashes[i%len(dashes)], html.EscapeString(l.Label))
	}
}

// legend lists the series' names beside the plot, then the reference
// lines'.
func (w *svgWriter) legend(names []string, lines []RefLine) {
	x := marginL + plotW + 16
	for i, n := range names {
		y := marginT + 8 + float64(i)*legendRowH
		w.printf(`<rect class="swatch" x="%.1f" y="%.1f" width="%.0f" height="%.0f" fill="%s"/>`+"\n", x, y-legendSwatchW+2, legendSwatchW, legendSwatchW, palette[i%len(palette)])
		w.text(x+legendSwatchW+6, y, "start", "legend", n, "")
	}
	for i, l := range lines {
		y := marginT + 8 + float64(len(names)+i)*legendRowH + legendRowH/2
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#c00" stroke-width="1.5" stroke-dasharray="%s"/>`+"\n", x, y-4, x+legendSwatchW+4, y-4, dashes[i%len(dashes)])
		w.text(x+legendSwatchW+6, y, "start", "legend", l.Label, ` font-size="10"`)
	}
}

// WriteSVG writes the bar chart.
func (c BarChart) WriteSVG(out io.Writer) error {
	var w svgWriter
	w.open(c.Title)
	top := 0.0
	for _, s := range c.Series {
		if len(s.Values) != len(c.Categories) {
			return fmt.Errorf("bar chart %q: series %q has %d values for %d categories", c.Title, s.Name, len(s.Values), len(c.Categories))
		}
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				top = math.Max(top, v)
			}
		}
	}
	for _, l := range c.Lines {
		top = math.Max(top, l.Y)
	}
	top = niceTop(top)
	y := w.yAxis(top, c.YLabel)
	groupW := plotW / float64(max(len(c.Categories), 1))
	barW := groupW * 0.8 / float64(max(len(c.Series), 1))
	for ci, cat := range c.Categories {
		x0 := marginL + float64(ci)*groupW + groupW*0.1
		cx := marginL + (float64(ci)+0.5)*groupW
		for si, s := range c.Series {
			x, v := x0+float64(si)*barW, s.Values[ci]
			if math.IsNaN(v) {
				// A missing bar is marked, not drawn as zero.
				mx, my := x+barW/2+3, marginT+plotH-4
				w.text(mx, my, "start", "missing", missingMark, fmt.Sprintf(` font-size="9" fill="#666" transform="rotate(-90 %.1f %.1f)"`, mx, my))
				continue
			}
			w.printf(`<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`+"\n",
				x, y(v), barW, marginT+plotH-y(v), palette[si%len(palette)], html.EscapeString(fmt.Sprintf("%s, %s: %s", cat, s.Name, formatTick(v))))
		}
		w.text(cx, marginT+plotH+16, "end", "category", cat, fmt.Sprintf(` transform="rotate(-30 %.1f %.1f)"`, cx, marginT+plotH+16))
	}
	w.refLines(c.Lines, y)
	names := make([]string, len(c.Series))
	for i, s := range c.Series {
		names[i] = s.Name
	}
	w.legend(names, c.Lines)
	w.close()
	_, err := io.WriteString(out, w.b.String())
	return err
}

// WriteSVG writes the line chart.
func (c LineChart) WriteSVG(out io.Writer) error {
	var w svgWriter
	w.open(c.Title)
	top, xmin, xmax := 0.0, math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		if len(s.X) != len(s.Y) {
			return fmt.Errorf("line chart %q: series %q has %d x for %d y", c.Title, s.Name, len(s.X), len(s.Y))
		}
		for i := range s.X {
			if c.LogX && s.X[i] <= 0 {
				return fmt.Errorf("line chart %q: series %q: x %v on a log scale", c.Title, s.Name, s.X[i])
			}
			top, xmin, xmax = math.Max(top, s.Y[i]), math.Min(xmin, s.X[i]), math.Max(xmax, s.X[i])
		}
	}
	for _, l := range c.Lines {
		top = math.Max(top, l.Y)
	}
	top = niceTop(top)
	y := w.yAxis(top, c.YLabel)
	var ticks []float64
	if math.IsInf(xmin, 1) { // no points
		xmin, xmax = 0, 1
	}
	tr := func(v float64) float64 { return v }
	if c.LogX {
		tr = math.Log10
		for d := math.Floor(math.Log10(xmin)); d <= math.Ceil(math.Log10(xmax)); d++ {
			ticks = append(ticks, math.Pow(10, d))
		}
		xmin, xmax = ticks[0], ticks[len(ticks)-1]
	} else {
		xmin, xmax = 0, niceTop(xmax)
		for i := 0; i <= yTicks; i++ {
			ticks = append(ticks, xmax*float64(i)/yTicks)
		}
	}
	span := tr(xmax) - tr(xmin)
	if span == 0 {
		span = 1
	}
	x := func(v float64) float64 { return marginL + (tr(v)-tr(xmin))/span*plotW }
	for _, t := range ticks {
		w.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x(t), marginT, x(t), marginT+plotH)
		w.text(x(t), marginT+plotH+16, "middle", "tick", formatTick(t), "")
	}
	w.text(marginL+plotW/2, marginT+plotH+40, "middle", "axis-label", c.XLabel, "")
	names := make([]string, len(c.Series))
	for si, s := range c.Series {
		names[si] = s.Name
		colour := palette[si%len(palette)]
		pts := make([]string, len(s.X))
		for i := range s.X {
			pts[i] = fmt.Sprintf("%.1f,%.1f", x(s.X[i]), y(s.Y[i]))
		}
		w.printf(`<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), colour)
		for i := range s.X {
			w.printf(`<circle class="point" cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s</title></circle>`+"\n",
				x(s.X[i]), y(s.Y[i]), colour, html.EscapeString(fmt.Sprintf("%s: %s at %s", s.Name, formatTick(s.Y[i]), formatTick(s.X[i]))))
		}
	}
	w.refLines(c.Lines, y)
	w.legend(names, c.Lines)
	w.close()
	_, err := io.WriteString(out, w.b.String())
	return err
}

// niceTop rounds v up to 1, 2, 2.5 or 5 times a power of ten (1 if v is
// not positive), the top of an axis with round ticks.
func niceTop(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// formatTick prints an axis value with at most three significant digits
// and thousands written out: 0.25, 12.5, 10000.
func formatTick(v float64) string {
	if v != 0 && math.Abs(v) < 1000 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
}
