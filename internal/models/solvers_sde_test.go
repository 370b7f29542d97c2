package models

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// sdeWeakError runs SDE-DPM-Solver++(2M) on S steps (log-SNR spacing) with
// the exact ε* of testGaussian, started from the exact marginal at the
// first step, and returns the largest error of its final samples' mean and
// variance against the exact ones: those of the exact denoiser D* applied
// to the exact marginal at the last step (mean mu, variance s⁴/(s² + σ²)).
//
// Without clipping and with an affine ε*, the sample is affine in the start
// x and the step noises: x_out = A·x + Σ_j B_j·z_j + C. Each row of one
// run isolates one term: row 0 starts at 1 without noise (A + C), row 1 at
// 0 without noise (C), row 2+j at 0 with z = 1 at step j only (B_j + C). So
// mean and variance are exact, with no Monte Carlo error to hide an order.
// firstOrder runs the ancestral sampler (σ² = β̃) instead, the SDE
// solver's first-order step.
func sdeWeakError(t *testing.T, sch *Schedule, S int, firstOrder bool) float64 {
	t.Helper()
	ts, err := Timesteps(sch, S, SpacingLogSNR)
	if err != nil {
		t.Fatal(err)
	}
	const dim = 2
	rows := 2 + S
	x := make([]float32, rows*dim)
	x[0], x[1] = 1, 1
	step := make([]int, rows)
	noise := func(row int, z []float32) bool {
		for i := range z {
			z[i] = 0
			if row >= 2 && step[row] == row-2 {
				z[i] = 1
			}
		}
		step[row]++
		return true
	}
	calls := 0
	predict := testGaussian.predictor(sch, x, &calls)
	sampler := SamplerDPMSolverSDE
	if firstOrder {
		sampler = SamplerAncestral
	}
	o, err := normalizeSampler("ddpm", SamplerOptions{Sampler: sampler, Steps: S, Spacing: SpacingLogSNR}, sch.T, true)
	if err != nil {
		t.Fatal(err)
	}
	if firstOrder {
		err = reverseDiffusion(sch, o, ts, x, dim, noise, predict, nil, nil)
	} else {
		err = dpmSolver2M(sch, o, ts, x, dim, noise, predict, nil, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	for r, k := range step {
		if k != S-1 {
			t.Fatalf("row %d drew noise %d times on %d steps, want %d", r, k, S, S-1)
		}
	}
	a0 := sch.Abar(ts[0])
	sLast := sch.Sigma(ts[len(ts)-1])
	worst := 0.0
	for j := range dim {
		mu, s := testGaussian.mu[j], testGaussian.s[j]
		m0, v0 := math.Sqrt(a0)*mu, a0*s*s+1-a0
		c := float64(x[dim+j])
		a := float64(x[j]) - c
		mean, variance := a*m0+c, a*a*v0
		for r := 2; r < rows; r++ {
			b := float64(x[r*dim+j]) - c
			variance += b * b
		}
		wantVar := s * s * s * s / (s*s + sLast*sLast)
		worst = math.Max(worst, math.Max(math.Abs(mean-mu), math.Abs(variance-wantVar)))
	}
	return worst
}

// SDE-DPM-Solver++(2M)'s weak error (of the samples' mean and variance) on
// Gaussian data with the exact ε falls by about 4× as its steps double,
// the second order of its multistep correction; without the correction
// (the ancestral sampler, first order) it falls by about 2×, and the test
// checks that the same measure tells the two apart. (Measured: from 32 to
// 256 steps 0.025 → 0.00041 against 0.18 → 0.027; at 8 steps 0.047 against
// 0.45. Below 32 steps the mean's and the variance's errors change sign and
// the ratios are erratic, so the test starts at 32.)
func TestSDESolverWeakErrorFallsAtSecondOrder(t *testing.T) {
	sch := fineSchedule(20000)
	var secondOrder []float64
	for _, firstOrder := range []bool{false, true} {
		var errs []float64
		var report []string
		for _, S := range []int{32, 64, 128, 256} {
			e := sdeWeakError(t, sch, S, firstOrder)
			errs = append(errs, e)
			report = append(report, fmt.Sprintf("%d steps: %.3g", S, e))
		}
		t.Logf("first order %v: %s", firstOrder, strings.Join(report, ", "))
		if !firstOrder {
			secondOrder = errs
		} else {
			for i := range errs {
				if secondOrder[i] >= errs[i] {
					t.Errorf("%d steps: 2M's error %.3g is not below the ancestral sampler's %.3g", 32<<i, secondOrder[i], errs[i])
				}
			}
		}
		for i := 1; i < len(errs); i++ {
			ratio := errs[i-1] / errs[i]
			if !firstOrder && ratio < 3 {
				t.Errorf("2M: error fell %.2f× from %d to %d steps, want ≥ 3× (second order)", ratio, 32<<(i-1), 32<<i)
			}
			if firstOrder && (ratio < 1.6 || ratio > 3) {
				t.Errorf("first order: error fell %.2f× from %d to %d steps, want about 2×", ratio, 32<<(i-1), 32<<i)
			}
		}
	}
}

// The SDE solver's first step is the ancestral step with σ² = β̃ of the
// respaced chain: with two steps (one stochastic step, then x̂_0) and the
// same noise streams, both samplers give the same samples.
func TestSDESolverFirstStepIsAncestral(t *testing.T) {
	sch := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	run := func(sampler string, S int) []float32 {
		ts, err := Timesteps(sch, S, SpacingTrailing)
		if err != nil {
			t.Fatal(err)
		}
		const dim, n = 4, 2
		x := make([]float32, 3*dim) // two samples and a padding row
		rng.Normal(rng.New(5, 0), x)
		rs := []*rng.RNG{rng.New(1, StreamSample), rng.New(2, StreamSample)}
		calls := 0
		o, err := normalizeSampler("ddpm", SamplerOptions{Sampler: sampler, Steps: S, Spacing: SpacingTrailing, Clip: true}, sch.T, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := runSampler(sch, o, ts, x, dim, n, rs, testGaussian.predictor(sch, x, &calls), nil, nil); err != nil {
			t.Fatal(err)
		}
		if calls != S {
			t.Errorf("%s, %d steps: %d network evaluations", sampler, S, calls)
		}
		return x
	}
	sde, anc := run(SamplerDPMSolverSDE, 2), run(SamplerAncestral, 2)
	for i := range sde {
		if !near(float64(sde[i]), float64(anc[i]), 1e-5*(1+math.Abs(float64(anc[i])))) {
			t.Fatalf("two steps: SDE solver %v, ancestral %v", sde, anc)
		}
	}
	if slices.Equal(run(SamplerDPMSolverSDE, 4), run(SamplerAncestral, 4)) {
		t.Error("four steps: the SDE solver's second-order steps changed nothing")
	}
	if slices.Equal(run(SamplerDPMSolverSDE, 4), run(SamplerDPMSolver, 4)) {
		t.Error("four steps: the SDE solver added no noise")
	}
}
