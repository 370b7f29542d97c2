package sweep

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// lineColors tell a plot's lines apart (colour-blind-safe, Okabe & Ito).
var lineColors = []color.Color{
	color.NRGBA{R: 0, G: 114, B: 178, A: 255},
	color.NRGBA{R: 213, G: 94, B: 0, A: 255},
	color.NRGBA{R: 0, G: 158, B: 115, A: 255},
	color.NRGBA{R: 204, G: 121, B: 167, A: 255},
	color.NRGBA{R: 230, G: 159, B: 0, A: 255},
	color.NRGBA{R: 86, G: 180, B: 233, A: 255},
	color.NRGBA{R: 0, G: 0, B: 0, A: 255},
}

// PlotAxis returns the index of the grid axis a plot puts across: the one
// named x, or where x is "" the only numeric axis.
func (r *Report) PlotAxis(x string) (int, error) {
	var numeric []string
	for i, ax := range r.Sweep.Grid {
		if x != "" && ax.Key == x {
			if !ax.Numeric() {
				return 0, fmt.Errorf("--x %s: its values %s are not all numbers", x, strings.Join(ax.Values, ", "))
			}
			return i, nil
		}
		if ax.Numeric() {
			numeric = append(numeric, ax.Key)
		}
	}
	switch {
	case x != "":
		return 0, fmt.Errorf("--x %s: not a key of %s's grid (%s)", x, r.Sweep.Path, strings.Join(r.axisKeys(), ", "))
	case len(numeric) == 0:
		return 0, fmt.Errorf("%s: no grid key has numeric values to plot against", r.Sweep.Path)
	case len(numeric) > 1:
		return 0, fmt.Errorf("%s: the grid has several numeric keys (%s): choose the horizontal one with --x", r.Sweep.Path, strings.Join(numeric, ", "))
	}
	for i, ax := range r.Sweep.Grid {
		if ax.Key == numeric[0] {
			return i, nil
		}
	}
	panic("unreachable")
}

func (r *Report) axisKeys() []string {
	keys := make([]string, len(r.Sweep.Grid))
	for i, ax := range r.Sweep.Grid {
		keys[i] = ax.Key
	}
	return keys
}

// metricIndex returns the column of the figure named name, or of the
// first figure ("fid" for image models, "modes.captured" for 2-D ones)
// where name is "".
func (r *Report) metricIndex(name string) (int, error) {
	var names []string
	for i, m := range r.Metrics {
		if m.Name == name || name == "" {
			return i, nil
		}
		names = append(names, m.Name)
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("%s: no point has a record to plot", r.Sweep.Path)
	}
	return 0, fmt.Errorf("--metric %s: the records have %s", name, strings.Join(names, ", "))
}

// curve is one line of the plot: the rows that share the other axes'
// values.
type curve struct {
	label string
	xys   plotter.XYs
	errs  plotter.YErrors
}

// WritePlot draws the figure named metric ("" for the first column)
// against the grid axis x ("" for the only numeric one), one line per
// combination of the other axes' values, each point the mean over its
// seeds with a bar of ± one standard deviation, and writes a PNG. The
// horizontal axis is logarithmic where its values span a factor of 10 or
// more (learning rates), linear otherwise. title "" is "<file>: <metric>
// against <key>".
func (r *Report) WritePlot(path, metric, x, title string) error {
	xi, err := r.PlotAxis(x)
	if err != nil {
		return err
	}
	mi, err := r.metricIndex(metric)
	if err != nil {
		return err
	}
	var curves []*curve
	byLabel := map[string]*curve{}
	for _, row := range r.Rows {
		f := row.Figures[mi]
		if f.N == 0 {
			continue
		}
		var other []string
		for i, v := range row.Values {
			if i != xi {
				other = append(other, r.Sweep.Grid[i].Key+"="+v)
			}
		}
		label := strings.Join(other, ", ")
		c := byLabel[label]
		if c == nil {
			c = &curve{label: label}
			byLabel[label] = c
			curves = append(curves, c)
		}
		xv, _ := strconv.ParseFloat(row.Values[xi], 64)
		sd := f.SD
		if math.IsNaN(sd) {
			sd = 0
		}
		c.xys = append(c.xys, plotter.XY{X: xv, Y: f.Mean})
		c.errs = append(c.errs, struct{ Low, High float64 }{sd, sd})
	}
	name := r.Metrics[mi].Name
	if len(curves) == 0 {
		return fmt.Errorf("%s: no point has %s to plot", r.Sweep.Path, name)
	}
	p := plot.New()
	p.Title.Text = title
	if title == "" {
		p.Title.Text = fmt.Sprintf("%s: %s against %s", r.Sweep.Path, name, r.Sweep.Grid[xi].Key)
	}
	p.X.Label.Text = r.Sweep.Grid[xi].Key
	p.Y.Label.Text = name
	if len(r.Sweep.Seeds) > 1 {
		p.Y.Label.Text += " (mean ± sd over seeds)"
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		sort.Sort(byX{c})
		for _, xy := range c.xys {
			lo, hi = math.Min(lo, xy.X), math.Max(hi, xy.X)
		}
	}
	if lo > 0 && hi/lo >= 10 {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.X.Label.Text += " (log scale)"
	}
	p.Legend.Top = true
	for i, c := range curves {
		line, points, err := plotter.NewLinePoints(c.xys)
		if err != nil {
			return fmt.Errorf("sweep plot: %w", err)
		}
		col := lineColors[i%len(lineColors)]
		line.Color, points.Color = col, col
		points.Shape = draw.CircleGlyph{}
		bars, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{c.xys, c.errs})
		if err != nil {
			return fmt.Errorf("sweep plot: %w", err)
		}
		bars.Color = col
		p.Add(line, points, bars)
		if c.label != "" {
			p.Legend.Add(c.label, line, points)
		}
	}
	p.Add(plotter.NewGrid())
	// Room beside the outermost points (their bars sit on the frame
	// otherwise) and above the highest for the legend, top right.
	if _, isLog := p.X.Scale.(plot.LogScale); isLog {
		p.X.Min, p.X.Max = lo/1.2, hi*1.2
	} else {
		pad := 0.06 * (hi - lo)
		if pad == 0 {
			pad = 0.5 * math.Max(math.Abs(lo), 1)
		}
		p.X.Min, p.X.Max = lo-pad, hi+pad
	}
	span := p.Y.Max - p.Y.Min
	if span == 0 {
		span = math.Max(math.Abs(p.Y.Max), 1)
	}
	p.Y.Min -= 0.05 * span
	p.Y.Max += (0.08 + 0.07*float64(len(curves))) * span
	if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("sweep plot %s: %w", path, err)
	}
	return nil
}

// byX sorts a curve's points (and their bars) by x.
type byX struct{ c *curve }

func (b byX) Len() int           { return len(b.c.xys) }
func (b byX) Less(i, j int) bool { return b.c.xys[i].X < b.c.xys[j].X }
func (b byX) Swap(i, j int) {
	b.c.xys[i], b.c.xys[j] = b.c.xys[j], b.c.xys[i]
	b.c.errs[i], b.c.errs[j] = b.c.errs[j], b.c.errs[i]
}
