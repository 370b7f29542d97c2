package models

import (
	"fmt"
	"slices"

	"github.com/gentri/gentri/internal/rng"
)

// The chains of the diffusion models of images, for the pictures that show
// how they work (`gentri sample --forward` and `--trajectory`): an image
// under the forward process q(x_t | x_0), and a sample's reverse chain with
// the clean image each step predicts.
//
// A step is named by its 0-based timestep t, the sampler's order being
// T−1, …, 0, and x_t is the image step t starts from: for the DDPM the
// x_t of ᾱ_t (diffusion.go), for the DDGAN its x_{t+1} of A_{t+1}
// (ddgan.go). Forward at t draws an image at the same noise level, so the
// two strips line up column by column.

// Chain is implemented by the diffusion models of images.
type Chain interface {
	// DiffusionSteps is T: the steps are 0..T−1.
	DiffusionSteps() int
	// ChainSteps lists the steps the current sampler visits, noisiest first.
	ChainSteps() []int
	// Trajectory samples one image per seed (and label) exactly as
	// Generate does, returning the same final images, and records at each
	// step t of at (steps of ChainSteps) each sample's input x_t and the
	// clean image x̂_0 the step predicts from it.
	Trajectory(seeds []uint64, labels []int, at []int) ([]ChainFrame, [][]float32, error)
	// Forward returns out[i][k]: image i (pixels in [0, 1]) under the
	// forward process q(x_t | x_0) at the noise level of step at[k]'s
	// input, with one ε ~ N(0, I) per image, drawn from
	// rng.New(seeds[i], StreamSample) and shared by its frames, so a strip
	// shows the same noise growing.
	Forward(x0 [][]float32, seeds []uint64, at []int) ([][][]float32, error)
}

// ChainFrame is step T of a reverse chain: X[i] is sample i's input x_t and
// X0[i] the x̂_0 predicted from it, as pixels (clamp(v, −1, 1) + 1)/2.
type ChainFrame struct {
	T     int
	X, X0 [][]float32
}

var (
	_ Chain = (*DDPMModel)(nil)
	_ Chain = (*DDGANModel)(nil)
)

// framesAt returns empty frames for the steps at, each of n samples, and
// the frame index of each step. Every step must be one the sampler visits
// (steps), at most once.
func framesAt(at, steps []int, n int) ([]ChainFrame, map[int]int, error) {
	frames, index := make([]ChainFrame, len(at)), make(map[int]int, len(at))
	for k, t := range at {
		if !slices.Contains(steps, t) {
			return nil, nil, fmt.Errorf("step %d is not one the sampler visits (its %d steps: %s)", t, len(steps), stepList(steps))
		}
		if _, dup := index[t]; dup {
			return nil, nil, fmt.Errorf("step %d asked for twice", t)
		}
		index[t] = k
		frames[k] = ChainFrame{T: t, X: make([][]float32, n), X0: make([][]float32, n)}
	}
	return frames, index, nil
}

// stepList writes steps for an error message, eliding the middle of a long list.
func stepList(steps []int) string {
	if len(steps) > 12 {
		return fmt.Sprint(steps[:6])[1:] + " … " + fmt.Sprint(steps[len(steps)-3:])[1:]
	}
	return fmt.Sprint(steps)
}

// checkForward checks Forward's arguments: one seed per image of P pixels,
// each step in [0, T).
func checkForward(x0 [][]float32, seeds []uint64, at []int, P, T int) error {
	if len(seeds) != len(x0) {
		return fmt.Errorf("forward process: %d seeds for %d images", len(seeds), len(x0))
	}
	for i, x := range x0 {
		if len(x) != P {
			return fmt.Errorf("forward process: image %d has %d pixels, want %d", i, len(x), P)
		}
	}
	for _, t := range at {
		if t < 0 || t >= T {
			return fmt.Errorf("forward process: step %d, want 0 to %d (T = %d)", t, T-1, T)
		}
	}
	return nil
}

// forward draws the strips of Forward: image i at step at[k] is
// noisy(x_0, ε, at[k]) with x_0 = 2·pixels − 1, as pixels.
func forward(x0 [][]float32, seeds []uint64, at []int, noisy func(dst, x0, eps []float32, t int)) [][][]float32 {
	out := make([][][]float32, len(x0))
	for i, px := range x0 {
		x, eps, xt := make([]float32, len(px)), make([]float32, len(px)), make([]float32, len(px))
		for j, v := range px {
			x[j] = 2*v - 1
		}
		rng.Normal(rng.New(seeds[i], StreamSample), eps)
		for _, t := range at {
			noisy(xt, x, eps, t)
			out[i] = append(out[i], toPixels(xt))
		}
	}
	return out
}

// DiffusionSteps is the schedule's T.
func (m *DDPMModel) DiffusionSteps() int { return m.Sched.T }

// ChainSteps is the current sampler's step sequence.
func (m *DDPMModel) ChainSteps() []int {
	ts, err := DDIMTimesteps(m.Sched.T, m.sampler.Steps)
	if err != nil { // SetSampler keeps Steps in [1, T]
		panic(fmt.Sprintf("ddpm: sampler steps %d: %v", m.sampler.Steps, err))
	}
	return ts
}

// Trajectory runs Generate's own sampler (generate) with an observer: at a
// recorded step its x̂_0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t, ε being the (guided)
// prediction the step uses; with the sampler's clipping the step clamps it
// to [−1, 1], as the pixels do anyway.
func (m *DDPMModel) Trajectory(seeds []uint64, labels []int, at []int) ([]ChainFrame, [][]float32, error) {
	frames, index, err := framesAt(at, m.ChainSteps(), len(seeds))
	if err != nil {
		return nil, nil, fmt.Errorf("ddpm: %w", err)
	}
	P := m.pixels()
	x0 := make([]float32, P)
	final, err := m.generate(seeds, labels, func(start, n, _, t int, x, eps []float32) {
		f, ok := index[t]
		if !ok {
			return
		}
		for i := range n {
			xi := x[i*P : (i+1)*P]
			PredictX0(x0, xi, eps[i*P:(i+1)*P], m.Sched.AlphaBar[t])
			frames[f].X[start+i], frames[f].X0[start+i] = toPixels(xi), toPixels(x0)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return frames, final, nil
}

// Forward draws x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε (QSample).
func (m *DDPMModel) Forward(x0 [][]float32, seeds []uint64, at []int) ([][][]float32, error) {
	if err := checkForward(x0, seeds, at, m.pixels(), m.Sched.T); err != nil {
		return nil, fmt.Errorf("ddpm: %w", err)
	}
	return forward(x0, seeds, at, func(dst, x0, eps []float32, t int) {
		QSample(dst, x0, eps, m.Sched.AlphaBar[t])
	}), nil
}

// DiffusionSteps is the schedule's T.
func (m *DDGANModel) DiffusionSteps() int { return m.Sched.T }

// ChainSteps is T−1, …, 0: the DDGAN visits every step.
func (m *DDGANModel) ChainSteps() []int {
	ts := make([]int, m.Sched.T)
	for k := range ts {
		ts[k] = m.Sched.T - 1 - k
	}
	return ts
}

// Trajectory samples as Generate does (the same loop, generate) and
// records, at each step t of at, the step's input x_{t+1} and the
// generator's x̂_0 = G(x_{t+1}, t, z, y).
func (m *DDGANModel) Trajectory(seeds []uint64, labels []int, at []int) ([]ChainFrame, [][]float32, error) {
	frames, index, err := framesAt(at, m.ChainSteps(), len(seeds))
	if err != nil {
		return nil, nil, fmt.Errorf("ddgan: %w", err)
	}
	P := m.pixels()
	out, err := m.generate(seeds, labels, func(t, start, n int, x, xhat []float32) {
		if f, ok := index[t]; ok {
			for i := range n {
				frames[f].X[start+i], frames[f].X0[start+i] = toPixels(x[i*P:(i+1)*P]), toPixels(xhat[i*P:(i+1)*P])
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return frames, out, nil
}

// Forward draws x_{t+1} = √A_{t+1}·x_0 + √(1−A_{t+1})·ε, the input of
// step t, in float32 as the schedule's training pairs are.
func (m *DDGANModel) Forward(x0 [][]float32, seeds []uint64, at []int) ([][][]float32, error) {
	if err := checkForward(x0, seeds, at, m.pixels(), m.Sched.T); err != nil {
		return nil, fmt.Errorf("ddgan: %w", err)
	}
	return forward(x0, seeds, at, func(dst, x0, eps []float32, t int) {
		a, b := m.Sched.SqrtA[t+1], m.Sched.Sqrt1mA[t+1]
		for j, v := range x0 {
			dst[j] = a*v + b*eps[j]
		}
	}), nil
}
