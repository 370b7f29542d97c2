package eval

import (
	"math"

	"github.com/gentri/gentri/internal/data"
)

// The mixtures themselves (Ring8, Grid25, ...; §6.1) are defined in package
// data, which builds training sets from them; this file counts modes.

// Mode-counting settings of §6.2.
const (
	MixtureSamples      = 2500 // samples drawn per evaluation
	HighQualityStds     = 3.0  // HQ: Mahalanobis distance to the nearest mode < 3
	WellCoveredFraction = 0.25 // "well-covered": ≥ 25 % of the expected n/K samples
)

// ModeReport is the VEEGAN/PacGAN mode count of §6.2.
type ModeReport struct {
	ModesCaptured       int     // modes that are the nearest mode of ≥ 1 HQ sample
	HighQuality         int     // number of HQ samples
	HighQualityFraction float64 // HighQuality / len(samples) (NaN for no samples)
	// ReverseKL = Σ_i p̂_i·log(p̂_i·K) over the HQ histogram p̂ = PerMode/HighQuality
	// (nats); NaN when there is no HQ sample (the histogram is undefined).
	ReverseKL   float64
	PerMode     []int // HQ samples per mode, in Means order
	WellCovered int   // modes with PerMode ≥ 25 % of len(samples)/K (§6.2, gentri's extra)
}

// CountModes applies the counting of §6.2 (PacGAN's MetricLogger): each sample
// goes to the mode of minimum Mahalanobis distance sqrt(Σ (x−μ)²/σ²) (the
// first such mode on ties); it is high quality if that distance is < 3
// (strict). ModesCaptured counts the modes with at least one HQ sample.
// gentri eval draws MixtureSamples = 2500 samples.
func CountModes(m data.Mixture, samples [][2]float64) ModeReport {
	k := len(m.Means)
	rep := ModeReport{PerMode: make([]int, k)}
	v := m.Std * m.Std
	for _, s := range samples {
		minDis := math.Inf(1)
		minJ := -1
		for j, mu := range m.Means {
			dx, dy := s[0]-mu[0], s[1]-mu[1]
			dis := math.Sqrt(dx*dx/v + dy*dy/v)
			if dis < minDis {
				minDis, minJ = dis, j
			}
		}
		if minJ >= 0 && minDis < HighQualityStds {
			rep.PerMode[minJ]++
			rep.HighQuality++
		}
	}
	hist := make([]float64, k)
	wellMin := WellCoveredFraction * float64(len(samples)) / float64(k)
	for j, c := range rep.PerMode {
		hist[j] = float64(c)
		if c > 0 {
			rep.ModesCaptured++
		}
		if c > 0 && float64(c) >= wellMin {
			rep.WellCovered++
		}
	}
	rep.HighQualityFraction = math.NaN()
	if len(samples) > 0 {
		rep.HighQualityFraction = float64(rep.HighQuality) / float64(len(samples))
	}
	rep.ReverseKL = KLToUniform(hist) // NaN if HighQuality == 0
	return rep
}

// Points converts 2-D samples to a feature set for ComputePRDC/FID (§6.2
// tool extras: P/R/D/C in ℝ² against true samples).
func Points(samples [][2]float64) [][]float64 {
	out := make([][]float64, len(samples))
	for i, s := range samples {
		out[i] = []float64{s[0], s[1]}
	}
	return out
}
