package models

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// mustSchedule unwraps a schedule built from valid arguments.
func mustSchedule(s *Schedule, err error) *Schedule {
	if err != nil {
		panic(err)
	}
	return s
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestLinearScheduleIsTorchLinspaceWithCumulativeProducts(t *testing.T) {
	tests := []struct {
		T      int
		b0, b1 float64
	}{{1000, 1e-4, 0.02}, {400, 1e-4, 0.02}, {2, 0.1, 0.2}, {1, 0.05, 0.05}}
	for _, tt := range tests {
		s := mustSchedule(LinearSchedule(tt.T, tt.b0, tt.b1))
		if s.T != tt.T || len(s.Betas) != tt.T || s.Betas[0] != tt.b0 || !near(s.Betas[tt.T-1], tt.b1, 1e-15) {
			t.Fatalf("T=%d: betas %v..%v, want %v..%v", tt.T, s.Betas[0], s.Betas[tt.T-1], tt.b0, tt.b1)
		}
		prod := 1.0
		for i := range s.Betas {
			if tt.T > 1 && !near(s.Betas[i], tt.b0+(tt.b1-tt.b0)*float64(i)/float64(tt.T-1), 1e-15) {
				t.Fatalf("T=%d: beta_%d = %v, not evenly spaced", tt.T, i, s.Betas[i])
			}
			prod *= 1 - s.Betas[i]
			if s.Alphas[i] != 1-s.Betas[i] || !near(s.AlphaBar[i], prod, 1e-15) {
				t.Fatalf("T=%d: alpha_%d = %v, alphabar = %v, want %v, %v", tt.T, i, s.Alphas[i], s.AlphaBar[i], 1-s.Betas[i], prod)
			}
		}
	}
	// The DDPM default ends almost at pure noise: ᾱ_999 ≈ 4.04e-5.
	s := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	if !near(s.AlphaBar[999], 4.04e-5, 0.01e-5) {
		t.Errorf("alphabar_999 = %v, want about 4.04e-5", s.AlphaBar[999])
	}
}

func TestCosineScheduleFollowsNicholDhariwal(t *testing.T) {
	for _, T := range []int{1000, 50} {
		s := mustSchedule(CosineSchedule(T))
		for i := 0; i < T; i++ {
			if s.Betas[i] <= 0 || s.Betas[i] > 0.999 {
				t.Fatalf("T=%d: beta_%d = %v outside (0, 0.999]", T, i, s.Betas[i])
			}
			if i > 0 && s.AlphaBar[i] >= s.AlphaBar[i-1] {
				t.Fatalf("T=%d: alphabar not decreasing at %d", T, i)
			}
			if s.Betas[i] < 0.999 { // unclipped: ᾱ_t = f((t+1)/T)/f(0)
				want := cosineF(float64(i+1)/float64(T)) / cosineF(0)
				if !near(s.AlphaBar[i], want, 1e-12) {
					t.Fatalf("T=%d: alphabar_%d = %v, want f(t/T)/f(0) = %v", T, i, s.AlphaBar[i], want)
				}
			}
		}
		if s.Betas[T-1] != 0.999 { // f(1) = 0 would make β = 1
			t.Errorf("T=%d: last beta %v, want clipped to 0.999", T, s.Betas[T-1])
		}
	}
}

func TestSchedulesRejectBadArguments(t *testing.T) {
	tests := []struct {
		name string
		err  error
		sub  string
	}{
		{"no steps", second(LinearSchedule(0, 1e-4, 0.02)), "T = 0"},
		{"zero beta", second(LinearSchedule(10, 0, 0.02)), "0 < start <= end < 1"},
		{"decreasing betas", second(LinearSchedule(10, 0.02, 1e-4)), "0 < start <= end < 1"},
		{"beta one", second(LinearSchedule(10, 0.1, 1)), "0 < start <= end < 1"},
		{"cosine without steps", second(CosineSchedule(-1)), "T = -1"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.sub) {
			t.Errorf("%s: err = %v, want %q", tt.name, tt.err, tt.sub)
		}
	}
}

func second[A any](_ A, err error) error { return err }

// Iterating q(x_t | x_{t−1}) from x_0 gives the law of the closed form
// q(x_t | x_0) = N(√ᾱ_t x_0, (1−ᾱ_t) I): sample means and variances of many
// chains agree with both the formula and closed-form draws within 5 standard
// errors.
func TestClosedFormQMatchesIteratedForwardSteps(t *testing.T) {
	linear := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	cosine := mustSchedule(CosineSchedule(200))
	tests := []struct {
		name   string
		s      *Schedule
		checks []int
	}{
		{"linear T=1000", linear, []int{0, 9, 99, 499, 999}},
		{"cosine T=200", cosine, []int{0, 19, 99, 198}},
	}
	x0s := []float64{-1, 0, 0.7}
	const chains = 6000 // per x_0 value
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rng.New(3, 0)
			n := chains * len(x0s)
			x0, x, z, closed := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
			for i := range x0 {
				x0[i] = x0s[i%len(x0s)]
			}
			copy(x, x0)
			for step := 0; step <= slices.Max(tt.checks); step++ {
				rng.Normal(r, z)
				QStep(x, x, z, tt.s.Betas[step])
				if !slices.Contains(tt.checks, step) {
					continue
				}
				rng.Normal(r, z)
				ab := tt.s.AlphaBar[step]
				QSample(closed, x0, z, ab)
				for k, v := range x0s {
					wantMean, wantVar := math.Sqrt(ab)*v, 1-ab
					for _, got := range [][]float64{x, closed} {
						mean, variance := groupMoments(got, k, len(x0s))
						seMean, seVar := math.Sqrt(wantVar/chains), wantVar*math.Sqrt(2.0/chains)
						if !near(mean, wantMean, 5*seMean) || !near(variance, wantVar, 5*seVar) {
							t.Fatalf("t=%d, x0=%v: mean %.5f var %.5f, want %.5f ± %.5f and %.5f ± %.5f",
								step, v, mean, variance, wantMean, 5*seMean, wantVar, 5*seVar)
						}
					}
				}
			}
		})
	}
}

// groupMoments returns the mean and variance of x[k], x[k+stride], ….
func groupMoments(x []float64, k, stride int) (mean, variance float64) {
	n := 0.0
	for i := k; i < len(x); i += stride {
		mean += x[i]
		n++
	}
	mean /= n
	for i := k; i < len(x); i += stride {
		variance += (x[i] - mean) * (x[i] - mean)
	}
	return mean, variance / (n - 1)
}

// oracle returns the exact ε with x = √ᾱ_t·x0 + √(1−ᾱ_t)·ε.
func oracle(x, x0 []float64, abar float64) []float64 {
	eps := make([]float64, len(x))
	for i := range x {
		eps[i] = (x[i] - math.Sqrt(abar)*x0[i]) / math.Sqrt(1-abar)
	}
	return eps
}

// With a perfect ε oracle every DDIM step predicts x̂_0 = x_0 exactly, so
// the chain started from a known noising of x_0 lands on x_0 (η = 0 is the
// deterministic inversion; η = 1 too, since its last step adds no noise).
func TestDDIMWithPerfectOracleRecoversX0(t *testing.T) {
	linear := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	cosine := mustSchedule(CosineSchedule(1000))
	tests := []struct {
		name  string
		s     *Schedule
		steps int
		eta   float64
	}{
		{"linear all 1000 steps eta 0", linear, 1000, 0},
		{"linear 50 steps eta 0", linear, 50, 0},
		{"linear 7 uneven steps eta 0", linear, 7, 0},
		{"linear 1 step eta 0", linear, 1, 0},
		{"cosine 50 steps eta 0", cosine, 50, 0},
		{"linear 20 steps eta 1", linear, 20, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rng.New(5, 0)
			x0, eps, z := make([]float64, 64), make([]float64, 64), make([]float64, 64)
			rng.Uniform(r, x0, -1, 1)
			rng.Normal(r, eps)
			ts, err := DDIMTimesteps(tt.s.T, tt.steps)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float64, len(x0))
			QSample(x, x0, eps, tt.s.AlphaBar[ts[0]])
			for k, step := range ts {
				prev := -1
				if k+1 < len(ts) {
					prev = ts[k+1]
				}
				at, ap := tt.s.Abar(step), tt.s.Abar(prev)
				rng.Normal(r, z)
				DDIMStep(x, x, oracle(x, x0, at), z, at, ap, DDIMSigma(at, ap, tt.eta), false)
			}
			for i := range x {
				if !near(x[i], x0[i], 1e-9) {
					t.Fatalf("x[%d] = %.15f, want x0 = %.15f", i, x[i], x0[i])
				}
			}
		})
	}
}

// For consecutive steps the generalised ancestral step is Ho et al.'s
// (1/√α_t)(x_t − β_t/√(1−ᾱ_t)·ε) + σ_t z with σ_t² = β̃_t or β_t.
func TestAncestralStepIsDDPMFormulaOnConsecutiveSteps(t *testing.T) {
	s := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	r := rng.New(6, 0)
	xt, eps, z, got := make([]float64, 16), make([]float64, 16), make([]float64, 16), make([]float64, 16)
	for _, variance := range []string{VarianceBetaTilde, VarianceBeta} {
		for _, step := range []int{1, 2, 500, 999} {
			rng.Normal(r, xt)
			rng.Normal(r, eps)
			rng.Normal(r, z)
			sigma, err := AncestralSigma(s.AlphaBar[step], s.AlphaBar[step-1], variance)
			if err != nil {
				t.Fatal(err)
			}
			want := s.Betas[step]
			if variance == VarianceBetaTilde {
				want = s.PosteriorVariance(step)
			}
			if !near(sigma*sigma, want, 1e-12*want) {
				t.Fatalf("%s t=%d: σ² = %v, want %v", variance, step, sigma*sigma, want)
			}
			AncestralStep(got, xt, eps, z, s.AlphaBar[step], s.AlphaBar[step-1], sigma, false)
			for i := range got {
				w := (xt[i]-s.Betas[step]/math.Sqrt(1-s.AlphaBar[step])*eps[i])/math.Sqrt(s.Alphas[step]) + sigma*z[i]
				if !near(got[i], w, 1e-12) {
					t.Fatalf("%s t=%d: x_{t-1}[%d] = %v, want %v", variance, step, i, got[i], w)
				}
			}
		}
	}
}

// With the true ε the noiseless ancestral step is the posterior mean
// μ̃ = √ᾱ_prev·β'/(1−ᾱ_t)·x_0 + √α'·(1−ᾱ_prev)/(1−ᾱ_t)·x_t, also for a
// respaced pair of steps (α' = ᾱ_t/ᾱ_prev, β' = 1 − α').
func TestAncestralStepMeanIsPosteriorMean(t *testing.T) {
	s := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	r := rng.New(7, 0)
	x0, eps, xt, got := make([]float64, 16), make([]float64, 16), make([]float64, 16), make([]float64, 16)
	for _, pair := range [][2]int{{1, 0}, {500, 499}, {999, 979}, {300, 0}} {
		step, prev := pair[0], pair[1]
		rng.Uniform(r, x0, -1, 1)
		rng.Normal(r, eps)
		at, ap := s.AlphaBar[step], s.AlphaBar[prev]
		QSample(xt, x0, eps, at)
		AncestralStep(got, xt, eps, nil, at, ap, 0, false)
		a := at / ap
		for i := range got {
			mu := math.Sqrt(ap)*(1-a)/(1-at)*x0[i] + math.Sqrt(a)*(1-ap)/(1-at)*xt[i]
			if !near(got[i], mu, 1e-10) {
				t.Fatalf("t=%d→%d: mean %v, want posterior mean %v", step, prev, got[i], mu)
			}
		}
	}
}

// η = 1 makes DDIM's σ the ancestral β̃ σ for any pair of steps, and DDPM's
// β̃_t for consecutive ones; η = 0 makes it 0.
func TestDDIMSigmaAtEtaOneIsAncestralBetaTilde(t *testing.T) {
	s := mustSchedule(CosineSchedule(1000))
	for _, pair := range [][2]int{{1, 0}, {10, 9}, {999, 998}, {980, 960}, {500, 0}} {
		at, ap := s.AlphaBar[pair[0]], s.AlphaBar[pair[1]]
		anc, err := AncestralSigma(at, ap, VarianceBetaTilde)
		if err != nil {
			t.Fatal(err)
		}
		if d := DDIMSigma(at, ap, 1); !near(d, anc, 1e-12) {
			t.Errorf("t=%d→%d: DDIM σ(η=1) = %v, ancestral β̃ σ = %v", pair[0], pair[1], d, anc)
		}
		if pair[1] == pair[0]-1 && !near(anc*anc, s.PosteriorVariance(pair[0]), 1e-12) {
			t.Errorf("t=%d: σ² = %v, β̃ = %v", pair[0], anc*anc, s.PosteriorVariance(pair[0]))
		}
		if DDIMSigma(at, ap, 0) != 0 {
			t.Errorf("η = 0 gives σ ≠ 0")
		}
	}
	if s.PosteriorVariance(0) != 0 {
		t.Errorf("β̃_0 = %v, want 0", s.PosteriorVariance(0))
	}
	if _, err := AncestralSigma(0.5, 0.6, "large"); err == nil {
		t.Error("unknown variance accepted")
	}
}

func TestDDIMTimestepsAreEvenlySpacedDescendingToZero(t *testing.T) {
	tests := []struct {
		T, S int
		want []int
	}{
		{10, 10, []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{10, 5, []int{8, 6, 4, 2, 0}},
		{10, 3, []int{6, 3, 0}},
		{10, 1, []int{0}},
		{7, 2, []int{3, 0}},
	}
	for _, tt := range tests {
		got, err := DDIMTimesteps(tt.T, tt.S)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("DDIMTimesteps(%d, %d) = %v, %v; want %v", tt.T, tt.S, got, err, tt.want)
		}
	}
	got, err := DDIMTimesteps(1000, 50) // DDIM's uniform skip: range(0, 1000, 20)
	if err != nil || len(got) != 50 || got[0] != 980 || got[49] != 0 || got[0]-got[1] != 20 {
		t.Errorf("DDIMTimesteps(1000, 50) = %v, %v", got, err)
	}
	for _, S := range []int{0, -1, 11} {
		if _, err := DDIMTimesteps(10, S); err == nil || !strings.Contains(err.Error(), "want 1 to 10") {
			t.Errorf("S=%d: err = %v", S, err)
		}
	}
}

func TestGuideCombinesConditionalAndUnconditional(t *testing.T) {
	cond, uncond := []float32{1, -2, 0.5}, []float32{3, 1, 0.5}
	tests := []struct {
		w    float64
		want []float32
	}{
		{0, []float32{1, -2, 0.5}}, // w = 0 is the conditional prediction, bit for bit
		{1, []float32{-1, -5, 0.5}},
		{2.5, []float32{-4, -9.5, 0.5}},
	}
	for _, tt := range tests {
		got := make([]float32, 3)
		Guide(got, cond, uncond, tt.w)
		if !slices.Equal(got, tt.want) {
			t.Errorf("w=%v: %v, want %v", tt.w, got, tt.want)
		}
	}
}

func TestTimestepEmbeddingIsPeerSinCos(t *testing.T) {
	const dim = 16
	for _, step := range []int{0, 1, 37, 500, 999} {
		got := make([]float32, dim)
		TimestepEmbedding(got, step)
		for i := 0; i < dim/2; i++ {
			a := float64(step) * math.Exp(-math.Log(10000)*float64(i)/(dim/2))
			// float32 arguments: t·f carries up to 2⁻²⁴·t of rounding.
			tol := 1e-6 + float64(step)*2e-7
			if !near(float64(got[i]), math.Sin(a), tol) || !near(float64(got[dim/2+i]), math.Cos(a), tol) {
				t.Fatalf("t=%d, i=%d: (%v, %v), want (sin, cos)(%v) = (%v, %v)", step, i, got[i], got[dim/2+i], a, math.Sin(a), math.Cos(a))
			}
		}
	}
}

// Clipping clamps the predicted x̂_0 to [−1, 1]; when x̂_0 is inside the
// range the clipped ancestral step (posterior-mean form) equals the plain one.
func TestClippedStepsClampPredictedX0(t *testing.T) {
	xt, eps := []float64{10, -10, 0.3}, []float64{0, 0, 0.1}
	got := make([]float64, 3)
	DDIMStep(got, xt, eps, nil, 0.5, 1, 0, true) // to t = −1: x_prev = x̂_0
	if got[0] != 1 || got[1] != -1 {
		t.Fatalf("clipped DDIM to x_0 gave %v, want ±1", got[:2])
	}
	AncestralStep(got, xt, eps, nil, 0.5, 1, 0, true)
	if got[0] != 1 || got[1] != -1 {
		t.Fatalf("clipped ancestral to x_0 gave %v, want ±1", got[:2])
	}
	plain, clipped := make([]float64, 1), make([]float64, 1)
	for _, ab := range [][2]float64{{0.5, 0.6}, {0.9, 0.95}, {0.02, 0.021}} {
		x := []float64{0.1 * math.Sqrt(ab[0])}
		e := []float64{0.01} // x̂_0 stays inside [−1, 1]
		AncestralStep(plain, x, e, nil, ab[0], ab[1], 0, false)
		AncestralStep(clipped, x, e, nil, ab[0], ab[1], 0, true)
		if math.Abs(plain[0]-clipped[0]) > 1e-12 {
			t.Fatalf("ᾱ %v: plain %v, posterior form %v", ab, plain[0], clipped[0])
		}
	}
}
