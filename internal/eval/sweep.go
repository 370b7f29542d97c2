package eval

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

	"github.com/gentri/gentri/internal/models"
)

// ParseSteps reads a --sweep-steps list such as "10,20,50,100,1000".
func ParseSteps(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--sweep-steps %q: %q is not a positive whole number", s, f)
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

// sweepColors are the trilemma figure's colour-map controls (viridis),
// one per sampler curve, cycling after five.
var sweepColors = []color.Color{
	color.NRGBA{R: 68, G: 1, B: 84, A: 255},
	color.NRGBA{R: 33, G: 145, B: 140, A: 255},
	color.NRGBA{R: 253, G: 180, B: 37, A: 255},
	color.NRGBA{R: 59, G: 82, B: 139, A: 255},
	color.NRGBA{R: 94, G: 201, B: 98, A: 255},
}

// SweepPlot draws the quality–speed curves of a diffusion model: FID
// against seconds per 100 samples (log scale), one line per sampler (its
// name, spacing, η, churn and guidance; the step count varies along it),
// each point labelled with its network evaluations per sample (Xiao et al.
// 2022, Fig. 4 style), and writes it as a PNG.
func SweepPlot(recs []*Record, title, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds per 100 samples (log scale)"
	p.Y.Label.Text = "FID (feature network)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{} // the trilemma figure's plain-decimal labels
	p.Legend.Top = true
	type curve struct {
		name   string
		xys    plotter.XYs
		labels []string
	}
	var curves []*curve
	byName := map[string]*curve{}
	for _, r := range recs {
		if r.Speed == nil || r.Metrics == nil || r.Sampler == nil {
			continue
		}
		name := sweepCurveName(r.Sampler)
		c := byName[name]
		if c == nil {
			c = &curve{name: name}
			byName[name] = c
			curves = append(curves, c)
		}
		c.xys = append(c.xys, plotter.XY{X: r.Speed.SecondsPer100, Y: r.FID})
		c.labels = append(c.labels, fmt.Sprintf("%d", r.Speed.NFE))
	}
	if len(curves) == 0 {
		return fmt.Errorf("sweep plot: no record with speed and FID")
	}
	for i, c := range curves {
		line, points, err := plotter.NewLinePoints(c.xys)
		if err != nil {
			return fmt.Errorf("sweep plot: %w", err)
		}
		col := sweepColors[i%len(sweepColors)]
		line.Color, points.Color = col, col
		points.Shape = draw.CircleGlyph{}
		lab, err := plotter.NewLabels(plotter.XYLabels{XYs: c.xys, Labels: c.labels})
		if err != nil {
			return fmt.Errorf("sweep plot: %w", err)
		}
		for j := range lab.TextStyle {
			lab.TextStyle[j].Color = col
			lab.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
		}
		p.Add(line, points, lab)
		p.Legend.Add(c.name, line, points)
	}
	p.Add(plotter.NewGrid())
	p.Legend.Add("(labels: network evaluations per sample)")
	// Headroom above the highest point for the legend, which sits top right.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range curves {
		for _, xy := range c.xys {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
	}
	p.Y.Min, p.Y.Max = math.Max(0, lo-0.05*(hi-lo+1)), hi+(0.12+0.07*float64(len(curves)))*(hi-lo+1)
	if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("sweep plot %s: %w", path, err)
	}
	return nil
}

// sweepCurveName names a sweep's curve by what stays fixed along it:
// "DDIM", "DPM-Solver++(2M) karras", "Heun churn 40", with η and guidance.
func sweepCurveName(s *Sampler) string {
	return models.SamplerTitle(s.Name) + s.settings()
}
