package eval

import (
	"math"
	"testing"
)

// The mode figures of constructed histograms: every mode equally often is
// KL 0 with all 1000 covered; one mode alone is KL ln 1000.
func TestStackedFiguresOfConstructedHistograms(t *testing.T) {
	repeat := func(modes []int, k int) []int {
		var out []int
		for range k {
			out = append(out, modes...)
		}
		return out
	}
	all := make([]int, 1000)
	for i := range all {
		all[i] = i
	}
	half := make([]int, 500) // modes 0..499, each twice as often as uniform
	for i := range half {
		half[i] = i
	}
	for _, tc := range []struct {
		name   string
		modes  []int
		want   int
		wantKL float64
	}{
		{"uniform over all 1000", repeat(all, 3), 1000, 0},
		{"one mode", repeat([]int{417}, 50), 1, math.Log(1000)},
		{"half the modes, evenly", repeat(half, 2), 500, math.Log(2)},
		// p = (0.5, 0.5/999 each of the rest): KL = 0.5 ln 500 + 0.5 ln(1000/1998).
		{"one mode holds half", append(repeat([]int{0}, 999), all[1:]...), 1000, 0.5*math.Log(500) + 0.5*math.Log(1000.0/1998)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := NewStackedFigures(tc.modes)
			if f.Modes != tc.want || f.Of != 1000 || f.N != len(tc.modes) || math.Abs(f.KL-tc.wantKL) > 1e-12 {
				t.Errorf("got %d of %d modes, KL %.15f over N %d; want %d, KL %.15f", f.Modes, f.Of, f.KL, f.N, tc.want, tc.wantKL)
			}
			if f.Note == "" || f.PerMode[tc.modes[0]] == 0 {
				t.Errorf("figures without their note or histogram: %+v", f.Note)
			}
		})
	}
}
