package eval

import (
	"math"
	"testing"

	"github.com/gentri/gentri/internal/data"
)

// atModes returns `per` samples at each listed mode, offset by off·σ along x.
func atModes(m data.Mixture, modes []int, per int, off float64) [][2]float64 {
	var out [][2]float64
	for _, i := range modes {
		for k := 0; k < per; k++ {
			out = append(out, [2]float64{m.Means[i][0] + off*m.Std, m.Means[i][1]})
		}
	}
	return out
}

func allModes(k int) []int {
	out := make([]int, k)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestCountModesOnConstructedSamples(t *testing.T) {
	for _, m := range []data.Mixture{data.Ring8(), data.Grid25()} {
		k := len(m.Means)
		far := make([][2]float64, 50)
		for i := range far {
			far[i] = [2]float64{100, 100} // ≥ 96/σ stds from every mode
		}
		if m.Name == "ring8" {
			for i := range far {
				far[i] = [2]float64{0, 0} // ring centre: 1/0.01 = 100 stds away
			}
		} else {
			for i := range far {
				far[i] = [2]float64{1, 1} // between grid modes: √2/0.05 ≈ 28 stds
			}
		}
		tests := []struct {
			name       string
			samples    [][2]float64
			modes      int
			hq         float64
			revKL      float64
			wellCov    int
			revKLIsNaN bool
		}{
			{"exactly at every mean", atModes(m, allModes(k), 10, 0), k, 1, 0, k, false},
			{"near only 3 modes (1 std)", atModes(m, []int{0, 2, 5}, 10, 1), 3, 1, math.Log(float64(k) / 3), 3, false},
			{"just inside 3 std", atModes(m, allModes(k), 2, 2.999), k, 1, 0, k, false},
			{"just outside 3 std", atModes(m, allModes(k), 2, 3.001), 0, 0, 0, 0, true},
			{"far from all modes", far, 0, 0, 0, 0, true},
			{"half at modes, half far", append(atModes(m, allModes(k), 2, 0), far[:2*k]...), k, 0.5, 0, k, false},
		}
		for _, tc := range tests {
			t.Run(m.Name+"/"+tc.name, func(t *testing.T) {
				rep := CountModes(m, tc.samples)
				if rep.ModesCaptured != tc.modes {
					t.Errorf("modes = %d, want %d (per mode %v)", rep.ModesCaptured, tc.modes, rep.PerMode)
				}
				near(t, "HQ fraction", rep.HighQualityFraction, tc.hq, 1e-12)
				if tc.revKLIsNaN {
					if !math.IsNaN(rep.ReverseKL) {
						t.Errorf("reverse KL = %g, want NaN without HQ samples", rep.ReverseKL)
					}
				} else {
					near(t, "reverse KL", rep.ReverseKL, tc.revKL, 1e-12)
				}
				if rep.WellCovered != tc.wellCov {
					t.Errorf("well covered = %d, want %d", rep.WellCovered, tc.wellCov)
				}
			})
		}
	}
}

func TestCountModesOnTrueSamples(t *testing.T) {
	// For a 2-D isotropic Gaussian P(r < 3σ) = 1 − e^{−9/2} ≈ 0.9889.
	for _, m := range []data.Mixture{data.Ring8(), data.Grid25(), data.EightGaussians(), data.TwentyFiveGaussians()} {
		s := m.Sample(MixtureSamples, newRand(30))
		if len(s) != MixtureSamples {
			t.Fatalf("%s: %d samples", m.Name, len(s))
		}
		rep := CountModes(m, s)
		if rep.ModesCaptured != len(m.Means) || rep.WellCovered != len(m.Means) {
			t.Errorf("%s: %d modes, %d well covered", m.Name, rep.ModesCaptured, rep.WellCovered)
		}
		near(t, m.Name+" HQ", rep.HighQualityFraction, 1-math.Exp(-4.5), 0.01)
		if rep.ReverseKL > 0.05 {
			t.Errorf("%s: reverse KL %g for true samples", m.Name, rep.ReverseKL)
		}
	}
}

func TestPointsConvertsForPRDC(t *testing.T) {
	p := Points([][2]float64{{1, 2}, {3, 4}})
	if len(p) != 2 || p[1][0] != 3 || p[1][1] != 4 {
		t.Errorf("Points = %v", p)
	}
}
