package sample

import (
	"image"
	"image/color"
	"math"
)

// ScatterSize is the side of a scatter plot, in pixels.
const ScatterSize = 512

// Colours of a scatter plot.
var (
	scatterPoint   = color.RGBA{20, 60, 170, 255} // a sample
	scatterOutside = color.RGBA{230, 120, 0, 255} // a sample beyond the frame, drawn at its edge
	scatterMode    = color.RGBA{210, 30, 30, 255} // a true mode: cross at μ, ring of the given radius
	scatterAxis    = color.RGBA{200, 200, 200, 255}
)

// Scatter plots 2-D samples over the true modes of a mixture (its means),
// each mode a red cross with a ring of radius (in data units; 3σ draws the
// high-quality region of docs/metrics.md §6.2, at least 4 pixels wide so
// it stays visible). Samples are translucent blue dots, so density shows;
// a sample outside the frame is drawn orange on its edge. The frame is
// square, the modes' bounding box plus an eighth of its span and 0.25 on
// every side, with grey lines on the axes x = 0 and y = 0 (y points up).
func Scatter(points, modes [][2]float64, radius float64) *image.RGBA {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range modes {
		lo, hi = math.Min(lo, math.Min(m[0], m[1])), math.Max(hi, math.Max(m[0], m[1]))
	}
	if len(modes) == 0 {
		lo, hi = -1, 1
	}
	margin := (hi-lo)/8 + 0.25
	lo, hi = lo-margin, hi+margin
	const n = ScatterSize
	scale := float64(n-1) / (hi - lo)
	px := func(p [2]float64) (x, y float64) { return (p[0] - lo) * scale, (hi - p[1]) * scale }

	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	if x, y := px([2]float64{0, 0}); x >= 0 && x < n {
		for j := 0; j < n; j++ {
			img.SetRGBA(int(math.Round(x)), j, scatterAxis)
			img.SetRGBA(j, int(math.Round(y)), scatterAxis)
		}
	}
	for j := 0; j < n; j++ {
		for _, e := range [][2]int{{j, 0}, {j, n - 1}, {0, j}, {n - 1, j}} {
			img.SetRGBA(e[0], e[1], color.RGBA{0, 0, 0, 255})
		}
	}
	for _, p := range points {
		x, y := px(p)
		c, alpha := scatterPoint, 0.35
		if !(x >= 0 && x <= n-1 && y >= 0 && y <= n-1) { // also NaN
			c, alpha = scatterOutside, 1
			x, y = clampPixel(x, n), clampPixel(y, n)
		}
		cx, cy := int(math.Round(x)), int(math.Round(y))
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				blend(img, cx+dx, cy+dy, c, alpha)
			}
		}
	}
	r := math.Max(radius*scale, 4)
	for _, m := range modes {
		x, y := px(m)
		for k := 0; k < 720; k++ {
			a := float64(k) * math.Pi / 360
			blend(img, int(math.Round(x+r*math.Cos(a))), int(math.Round(y+r*math.Sin(a))), scatterMode, 1)
		}
		cx, cy := int(math.Round(x)), int(math.Round(y))
		for d := -2; d <= 2; d++ {
			blend(img, cx+d, cy, scatterMode, 1)
			blend(img, cx, cy+d, scatterMode, 1)
		}
	}
	return img
}

// clampPixel puts a coordinate outside [0, n−1] (or NaN) on the frame's edge.
func clampPixel(v float64, n int) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Min(math.Max(v, 0), float64(n-1))
}

// blend paints c over pixel (x, y) with opacity alpha; pixels off the
// image are ignored.
func blend(img *image.RGBA, x, y int, c color.RGBA, alpha float64) {
	if !(image.Point{x, y}.In(img.Rect)) {
		return
	}
	i := img.PixOffset(x, y)
	for k, v := range []uint8{c.R, c.G, c.B} {
		img.Pix[i+k] = uint8(math.Round(float64(img.Pix[i+k])*(1-alpha) + float64(v)*alpha))
	}
}
