package eval

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
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

// SweepPlot draws the quality–speed curve of a diffusion model: FID
// against seconds per 100 samples (log scale), one labelled point per step
// count (§8.2, Xiao et al. 2022, Fig. 4 style), and writes it as a PNG.
func SweepPlot(recs []*Record, title, path string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds per 100 samples (log scale)"
	p.Y.Label.Text = "FID (feature network)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{}
	xys := make(plotter.XYs, 0, len(recs))
	var labels []string
	for _, r := range recs {
		if r.Speed == nil || r.Metrics == nil || r.Sampler == nil {
			continue
		}
		xys = append(xys, plotter.XY{X: r.Speed.SecondsPer100, Y: r.FID})
		labels = append(labels, fmt.Sprintf("%d steps", r.Sampler.Steps))
	}
	if len(xys) == 0 {
		return fmt.Errorf("sweep plot: no record with speed and FID")
	}
	line, points, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("sweep plot: %w", err)
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return fmt.Errorf("sweep plot: %w", err)
	}
	p.Add(line, points, lab, plotter.NewGrid())
	if err := p.Save(6*vg.Inch, 4*vg.Inch, path); err != nil {
		return fmt.Errorf("sweep plot %s: %w", path, err)
	}
	return nil
}
