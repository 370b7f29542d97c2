package latent

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gentri/gentri/internal/sample"
)

// digitColours are the ten classes' colours (matplotlib's "tab10"), drawn
// translucent so dense regions show.
var digitColours = []color.NRGBA{
	{31, 119, 180, 150}, {255, 127, 14, 150}, {44, 160, 44, 150}, {214, 39, 40, 150}, {148, 103, 189, 150},
	{140, 86, 75, 150}, {227, 119, 194, 150}, {127, 127, 127, 150}, {188, 189, 34, 150}, {23, 190, 207, 150},
}

// scatterSide is the side of the scatter plot, in inches at vgimg's 96 dpi.
const scatterSide = 6 * vg.Inch

// writeScatter draws the points coloured by label, in the test set's order
// (so no digit is drawn over all the others), on square axes
// [−extent, extent]² that show where the origin is, with a legend.
func writeScatter(path, title string, pts [][2]float64, labels []int, rec *Record) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = axisLabel(rec.Axes[0], rec.Explained[0], rec.Latent)
	p.Y.Label.Text = axisLabel(rec.Axes[1], rec.Explained[1], rec.Latent)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -rec.Extent, rec.Extent, -rec.Extent, rec.Extent
	style := func(label int) draw.GlyphStyle {
		return draw.GlyphStyle{Color: digitColours[label%len(digitColours)], Radius: vg.Points(1.3), Shape: draw.CircleGlyph{}}
	}
	xys := make(plotter.XYs, len(pts))
	for i, q := range pts {
		xys[i] = plotter.XY{X: q[0], Y: q[1]}
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return fmt.Errorf("latent scatter plot: %w", err)
	}
	sc.GlyphStyleFunc = func(i int) draw.GlyphStyle { return style(labels[i]) }
	p.Add(plotter.NewGrid(), sc)
	if rec.Latent == 2 {
		// The axes are the codes' own: ring the ball that holds 95 % of
		// N(0, I), where a VAE's samples start.
		ring := make(plotter.XYs, 361)
		for k := range ring {
			a := float64(k) * math.Pi / 180
			ring[k] = plotter.XY{X: rec.PriorRadius * math.Cos(a), Y: rec.PriorRadius * math.Sin(a)}
		}
		line, err := plotter.NewLine(ring)
		if err != nil {
			return fmt.Errorf("latent scatter plot: %w", err)
		}
		line.Color, line.Width, line.Dashes = color.Black, vg.Points(1.2), []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
	}
	// The legend goes in a margin right of the axes, where it hides no code.
	legend := plot.NewLegend()
	if rec.Latent == 2 {
		p.Title.Text += "\ndashed: the circle holding 95 % of N(0, I)"
	}
	for _, c := range sortedClasses(labels) {
		key := style(c)
		key.Radius = vg.Points(3)
		legend.Add(fmt.Sprint(c), &plotter.Scatter{GlyphStyle: key})
	}
	legend.Top = true
	canvas := vgimg.New(scatterSide+legendWidth, scatterSide)
	dc := draw.New(canvas)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	legend.Draw(draw.Crop(dc, scatterSide, 0, 0, -vg.Points(20)))
	return sample.WritePNG(path, canvas.Image())
}

// legendWidth is the margin right of the scatter plot that holds its legend.
const legendWidth = vg.Inch / 2

// axisLabel names an axis of the scatter plot with its share of the variance.
func axisLabel(axis string, share float64, latent int) string {
	if latent == 1 && axis != "z1" {
		return axis
	}
	return fmt.Sprintf("%s (%.0f %% of the variance)", axis, 100*share)
}
