package eval

import (
	"math"
	"math/rand/v2"
)

// Mixture is an equal-weight isotropic Gaussian mixture in ℝ² (§5.1): every
// component has standard deviation Std on each axis.
type Mixture struct {
	Name  string
	Means [][2]float64
	Std   float64
}

// Mode-counting settings of §5.2.
const (
	MixtureSamples      = 2500 // samples drawn per evaluation
	HighQualityStds     = 3.0  // HQ: Mahalanobis distance to the nearest mode < 3
	WellCoveredFraction = 0.25 // "well-covered": ≥ 25 % of the expected n/K samples
)

// Ring8 is the VEEGAN/PacGAN ring (§5.1): means (cos 2πi/8, sin 2πi/8),
// i = 0..7 (radius 1, 8 distinct modes, 2πi/K rather than linspace), σ = 0.01.
func Ring8() Mixture {
	m := Mixture{Name: "ring8", Std: 0.01}
	for i := 0; i < 8; i++ {
		a := 2 * math.Pi * float64(i) / 8
		m.Means = append(m.Means, [2]float64{math.Cos(a), math.Sin(a)})
	}
	return m
}

// Grid25 is the VEEGAN/PacGAN grid (§5.1): means (i, j), i, j ∈
// {−4, −2, 0, 2, 4} (spacing 2; i major, j minor), σ = 0.05.
func Grid25() Mixture {
	m := Mixture{Name: "grid25", Std: 0.05}
	for i := -4; i <= 4; i += 2 {
		for j := -4; j <= 4; j += 2 {
			m.Means = append(m.Means, [2]float64{float64(i), float64(j)})
		}
	}
	return m
}

// EightGaussians is the WGAN-GP toy "8gaussians" (§5.1): means
// 2·{(±1,0), (0,±1), (±1/√2, ±1/√2)} ÷ 1.414, σ = 0.02 ÷ 1.414.
func EightGaussians() Mixture {
	m := Mixture{Name: "8gaussians", Std: 0.02 / 1.414}
	r := 1 / math.Sqrt2
	for _, c := range [][2]float64{{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {r, r}, {r, -r}, {-r, r}, {-r, -r}} {
		m.Means = append(m.Means, [2]float64{2 * c[0] / 1.414, 2 * c[1] / 1.414})
	}
	return m
}

// TwentyFiveGaussians is the WGAN-GP toy "25gaussians" (§5.1): means
// (2x, 2y) ÷ 2.828, x, y ∈ {−2..2}, σ = 0.05 ÷ 2.828.
func TwentyFiveGaussians() Mixture {
	m := Mixture{Name: "25gaussians", Std: 0.05 / 2.828}
	for x := -2; x <= 2; x++ {
		for y := -2; y <= 2; y++ {
			m.Means = append(m.Means, [2]float64{float64(2*x) / 2.828, float64(2*y) / 2.828})
		}
	}
	return m
}

// Sample draws n points: a component uniformly at random, then mean + Std·ε
// per axis with ε ~ N(0,1). n <= 0 gives nil.
func (m Mixture) Sample(n int, r *rand.Rand) [][2]float64 {
	if n <= 0 {
		return nil
	}
	out := make([][2]float64, n)
	for i := range out {
		c := m.Means[r.IntN(len(m.Means))]
		out[i] = [2]float64{c[0] + m.Std*r.NormFloat64(), c[1] + m.Std*r.NormFloat64()}
	}
	return out
}

// ModeReport is the VEEGAN/PacGAN mode count of §5.2.
type ModeReport struct {
	ModesCaptured       int     // modes that are the nearest mode of ≥ 1 HQ sample
	HighQuality         int     // number of HQ samples
	HighQualityFraction float64 // HighQuality / len(samples) (NaN for no samples)
	// ReverseKL = Σ_i p̂_i·log(p̂_i·K) over the HQ histogram p̂ = PerMode/HighQuality
	// (nats); NaN when there is no HQ sample (the histogram is undefined).
	ReverseKL   float64
	PerMode     []int // HQ samples per mode, in Means order
	WellCovered int   // modes with PerMode ≥ 25 % of len(samples)/K (§5.2 tool extra)
}

// CountModes applies the counting of §5.2 (PacGAN MetricLogger): each sample
// goes to the mode of minimum Mahalanobis distance sqrt(Σ (x−μ)²/σ²) (the
// first such mode on ties); it is high quality if that distance is < 3
// (strict). ModesCaptured counts the modes with at least one HQ sample.
// The doc's setting draws MixtureSamples = 2500 samples.
func CountModes(m Mixture, samples [][2]float64) ModeReport {
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

// Points converts 2-D samples to a feature set for ComputePRDC/FID (§5.2
// tool extras: P/R/D/C in ℝ² against true samples).
func Points(samples [][2]float64) [][]float64 {
	out := make([][]float64, len(samples))
	for i, s := range samples {
		out[i] = []float64{s[0], s[1]}
	}
	return out
}
