package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Mixture is an equal-weight isotropic Gaussian mixture in ℝ²
// (docs/metrics.md §6.1): every component has standard deviation Std on
// each axis. The mode-counting metrics of docs/metrics.md §6.2 live in package eval.
type Mixture struct {
	Name  string
	Means [][2]float64
	Std   float64
}

// Sizes of the data sets built from a mixture: the training set is drawn
// once per run (like PacGAN's 100k samples, Lin et al. 2018), the test set once for
// all runs.
const (
	MixtureTrainPoints = 100000
	MixtureTestPoints  = 2500
)

// Ring8 is the VEEGAN/PacGAN ring (docs/metrics.md §6.1): means (cos 2πi/8, sin 2πi/8),
// i = 0..7 (radius 1, 8 distinct modes, 2πi/K rather than linspace), σ = 0.01.
func Ring8() Mixture {
	m := Mixture{Name: "ring8", Std: 0.01}
	for i := 0; i < 8; i++ {
		a := 2 * math.Pi * float64(i) / 8
		m.Means = append(m.Means, [2]float64{math.Cos(a), math.Sin(a)})
	}
	return m
}

// Grid25 is the VEEGAN/PacGAN grid (docs/metrics.md §6.1): means (i, j), i, j ∈
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

// EightGaussians is the WGAN-GP toy "8gaussians" (docs/metrics.md §6.1): means
// 2·{(±1,0), (0,±1), (±1/√2, ±1/√2)} ÷ 1.414, σ = 0.02 ÷ 1.414.
func EightGaussians() Mixture {
	m := Mixture{Name: "8gaussians", Std: 0.02 / 1.414}
	r := 1 / math.Sqrt2
	for _, c := range [][2]float64{{1, 0}, {-1, 0}, {0, 1}, {0, -1}, {r, r}, {r, -r}, {-r, r}, {-r, -r}} {
		m.Means = append(m.Means, [2]float64{2 * c[0] / 1.414, 2 * c[1] / 1.414})
	}
	return m
}

// TwentyFiveGaussians is the WGAN-GP toy "25gaussians" (docs/metrics.md §6.1): means
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

// MixtureByName returns the mixture a data.dataset value names ("ring8",
// "grid25", "8gaussians", "25gaussians"); ok is false for any other name
// (an image data set such as "mnist").
func MixtureByName(name string) (m Mixture, ok bool) {
	for _, f := range []func() Mixture{Ring8, Grid25, EightGaussians, TwentyFiveGaussians} {
		if m := f(); m.Name == name {
			return m, true
		}
	}
	return Mixture{}, false
}

// Sample draws n points: a component uniformly at random, then mean + Std·ε
// per axis with ε ~ N(0,1). n <= 0 gives nil.
func (m Mixture) Sample(n int, r *rand.Rand) [][2]float64 {
	points, _ := m.Draw(n, r)
	return points
}

// Draw is Sample that also returns each point's component (same draws).
func (m Mixture) Draw(n int, r *rand.Rand) (points [][2]float64, modes []int) {
	if n <= 0 {
		return nil, nil
	}
	points, modes = make([][2]float64, n), make([]int, n)
	for i := range points {
		k := r.IntN(len(m.Means))
		c := m.Means[k]
		points[i] = [2]float64{c[0] + m.Std*r.NormFloat64(), c[1] + m.Std*r.NormFloat64()}
		modes[i] = k
	}
	return points, modes
}

// Scale is the root mean square of one coordinate under the mixture,
//
//	s = √(Σ_k (μ_kx² + μ_ky²) / 2K + σ²),
//
// the factor models divide points by so their inputs have unit scale
// (ring8 ≈ 0.707, grid25 ≈ 2.83).
func (m Mixture) Scale() float64 {
	s := 0.0
	for _, mu := range m.Means {
		s += mu[0]*mu[0] + mu[1]*mu[1]
	}
	return math.Sqrt(s/float64(2*len(m.Means)) + m.Std*m.Std)
}

// Dataset draws n points of the mixture as a Dataset (FromPoints).
func (m Mixture) Dataset(n int, r *rand.Rand) *Dataset {
	return FromPoints(m.Draw(n, r))
}

// FromPoints stores 2-D points as a Dataset of 1×2 "images" (H = 1, W = 2:
// Pixels holds x, y as float32, unscaled) labelled by their component
// modes[i] (< 256), so batching and Gather work as for images.
func FromPoints(points [][2]float64, modes []int) *Dataset {
	d := &Dataset{N: len(points), H: 1, W: 2, Pixels: make([]float32, 2*len(points)), Labels: make([]uint8, len(points))}
	for i, p := range points {
		d.Pixels[2*i], d.Pixels[2*i+1] = float32(p[0]), float32(p[1])
		d.Labels[i] = uint8(modes[i])
	}
	return d
}

// PointsOf reads rows of 2 values (what a 2-D model's Generate returns)
// as points.
func PointsOf(rows [][]float32) ([][2]float64, error) {
	out := make([][2]float64, len(rows))
	for i, r := range rows {
		if len(r) != 2 {
			return nil, fmt.Errorf("sample %d has %d values, want 2 (a point in the plane)", i, len(r))
		}
		out[i] = [2]float64{float64(r[0]), float64(r[1])}
	}
	return out, nil
}
