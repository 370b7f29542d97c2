package sample

import (
	"image/color"
	"math"
	"testing"
)

// The frame of modes in [−1, 1]² is [−1.5, 1.5]² (margin 2/8 + 0.25), so
// data point p sits at pixel ((p.x + 1.5)·s, (1.5 − p.y)·s), s = 511/3.
func TestScatterPutsPointsAndModesWhereTheyBelong(t *testing.T) {
	modes := [][2]float64{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}
	points := [][2]float64{{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}, {40, -40}, {math.NaN(), 0}}
	img := Scatter(points, modes, 0.01)
	if b := img.Bounds(); b.Dx() != ScatterSize || b.Dy() != ScatterSize {
		t.Fatalf("plot is %v", b)
	}
	s := float64(ScatterSize-1) / 3
	at := func(x, y float64) color.RGBA {
		return img.RGBAAt(int(math.Round((x+1.5)*s)), int(math.Round((1.5-y)*s)))
	}
	tests := []struct {
		name  string
		got   color.RGBA
		check func(c color.RGBA) bool
	}{
		{"three overlapping samples are dark blue", at(0.5, 0.5), func(c color.RGBA) bool { return c.B > 150 && c.R < 120 && c.G < 140 }},
		{"a mode's centre is red", at(1, 0), func(c color.RGBA) bool { return c == scatterMode }},
		{"empty space is white", at(-0.5, 0.7), func(c color.RGBA) bool { return c == color.RGBA{255, 255, 255, 255} }},
		{"a far sample sits orange on the bottom-right edge", img.RGBAAt(ScatterSize-2, ScatterSize-2), func(c color.RGBA) bool { return c == scatterOutside }},
		{"the axis x = 0 is grey", at(0, 0.4), func(c color.RGBA) bool { return c == scatterAxis }},
	}
	for _, tc := range tests {
		if !tc.check(tc.got) {
			t.Errorf("%s: pixel is %v", tc.name, tc.got)
		}
	}
	// The ring of a 3σ radius narrower than 4 pixels is drawn 4 pixels out.
	// (±1 pixel: the row of y = 0 is 255.5 up to rounding.)
	x0, y0 := int(math.Round(2.5*s))+4, int(math.Round(1.5*s))
	found := false
	for dy := -1; dy <= 1; dy++ {
		found = found || img.RGBAAt(x0, y0+dy) == scatterMode
	}
	if !found || img.RGBAAt(x0+2, y0) == scatterMode {
		t.Errorf("mode ring of (1, 0) is not 4 pixels out")
	}
}
