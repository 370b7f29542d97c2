package models

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// gaussianData is x_0 ~ N(mu, diag(s²)), whose optimal ε-predictor is known
// in closed form: with x_t = √ᾱ·x_0 + √(1−ᾱ)·ε, x_t ~ N(√ᾱ·mu, ᾱs² + 1 − ᾱ)
// and Cov(ε, x_t) = √(1−ᾱ), so
//
//	ε*(x_t, t) = E[ε | x_t] = √(1−ᾱ)·(x_t − √ᾱ·mu)/(ᾱs² + 1 − ᾱ).
//
// In y = x/√ᾱ and σ² = (1−ᾱ)/ᾱ that is ε* = σ(y − mu)/(s² + σ²), so the
// probability-flow ODE dy/dσ = ε* has the exact solution
//
//	y(σ') = mu + (y(σ) − mu)·√((s² + σ'²)/(s² + σ²)),
//
// and the exact denoiser is D*(y; σ) = mu + (y − mu)·s²/(s² + σ²).
type gaussianData struct{ mu, s []float64 }

var testGaussian = gaussianData{mu: []float64{0.3, -0.2}, s: []float64{0.5, 0.8}}

// predictor returns a predict function for runSampler that writes ε* of
// the current contents of x at step t, counting its calls.
func (g gaussianData) predictor(sch *Schedule, x []float32, calls *int) func(eps []float32, t int) error {
	return func(eps []float32, t int) error {
		*calls++
		a := sch.Abar(t)
		for i := range x {
			mu, s := g.mu[i%len(g.mu)], g.s[i%len(g.s)]
			eps[i] = float32(math.Sqrt(1-a) * (float64(x[i]) - math.Sqrt(a)*mu) / (a*s*s + 1 - a))
		}
		return nil
	}
}

// exact is where the probability-flow ODE takes x (variance-preserving, at
// step from) by step to, followed by the exact denoiser there: the sample a
// perfect solver on the same steps would give, since every solver's last
// step (to σ = 0) is y = D.
func (g gaussianData) exact(sch *Schedule, x []float32, from, to int) []float64 {
	out := make([]float64, len(x))
	s0, s1 := sch.Sigma(from), sch.Sigma(to)
	for i := range x {
		mu, s := g.mu[i%len(g.mu)], g.s[i%len(g.s)]
		y := float64(x[i]) / math.Sqrt(sch.Abar(from))
		y = mu + (y-mu)*math.Sqrt((s*s+s1*s1)/(s*s+s0*s0))
		out[i] = mu + (y-mu)*s*s/(s*s+s1*s1)
	}
	return out
}

// fineSchedule is the default linear schedule refined to T steps (β scaled
// by 1000/T, so ᾱ follows nearly the same curve): its training steps are
// dense enough that a spacing's rounding does not hide a solver's order.
func fineSchedule(T int) *Schedule {
	f := 1000 / float64(T)
	return mustSchedule(LinearSchedule(T, 1e-4*f, 0.02*f))
}

// solverError runs sampler o with the exact ε* on 64 two-dimensional
// samples and returns the largest deviation of its final samples from the
// exact flow's, and the network evaluations it made.
func solverError(t *testing.T, sch *Schedule, o SamplerOptions) (float64, int) {
	t.Helper()
	ts, err := Timesteps(sch, o.Steps, o.Spacing)
	if err != nil {
		t.Fatal(err)
	}
	const n, dim = 64, 2
	x := make([]float32, n*dim)
	rs := make([]*rng.RNG, n)
	for i := range rs {
		rs[i] = rng.New(uint64(i), StreamSample)
		rng.Normal(rs[i], x[i*dim:(i+1)*dim])
	}
	want := testGaussian.exact(sch, x, ts[0], ts[len(ts)-1])
	calls := 0
	if err := runSampler(sch, o, ts, x, dim, n, rs, testGaussian.predictor(sch, x, &calls), nil, nil); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := range x {
		worst = math.Max(worst, math.Abs(float64(x[i])-want[i]))
	}
	return worst, calls
}

// Each solver's error falls at its order as its steps double, on Gaussian
// data with the exact ε: by 2× a doubling for DDIM (Euler on the ODE), by
// 4× for Heun and DPM-Solver++(2M). A solver one order off (Heun without
// its correction, 2M without its history) fails this.
func TestSolverErrorFallsAtItsOrderAsStepsDouble(t *testing.T) {
	sch := fineSchedule(20000)
	tests := []struct {
		sampler string
		order   float64
	}{
		{SamplerDDIM, 1},
		{SamplerDPMSolver, 2},
		{SamplerHeun, 2},
	}
	for _, tt := range tests {
		for _, spacing := range []string{SpacingLogSNR, SpacingKarras} {
			t.Run(tt.sampler+"/"+spacing, func(t *testing.T) {
				var errs []float64
				var report []string
				for _, S := range []int{16, 32, 64, 128} {
					e, _ := solverError(t, sch, SamplerOptions{Sampler: tt.sampler, Steps: S, Spacing: spacing})
					errs = append(errs, e)
					report = append(report, fmt.Sprintf("%d steps: %.3g", S, e))
				}
				t.Log(strings.Join(report, ", "))
				for i := 1; i < len(errs); i++ {
					rate := math.Log2(errs[i-1] / errs[i])
					if math.Abs(rate-tt.order) > 0.3 {
						t.Errorf("order %.2f between %d and %d steps, want %g (%s)", rate, 16<<(i-1), 16<<i, tt.order, strings.Join(report, ", "))
					}
				}
			})
		}
	}
}

// Every sampler evaluates the network exactly SamplerNFE times: one per
// step, Heun two per step but the last, on every spacing, with churn too.
func TestSolversCountTheirNetworkEvaluations(t *testing.T) {
	sch := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	for _, sampler := range Samplers {
		for _, spacing := range Spacings {
			for _, S := range []int{1, 2, 5, 10} {
				o, err := normalizeSampler("test", SamplerOptions{Sampler: sampler, Steps: S, Spacing: spacing}, sch.T, false)
				if err != nil {
					t.Fatal(err)
				}
				_, calls := solverError(t, sch, o)
				if calls != SamplerNFE(o) {
					t.Errorf("%s, %s, %d steps: %d evaluations, SamplerNFE says %d", sampler, spacing, S, calls, SamplerNFE(o))
				}
			}
		}
		o := SamplerOptions{Sampler: sampler, Steps: 10, Guidance: 2}
		if want := 20; sampler == SamplerHeun {
			if SamplerNFE(o) != 38 {
				t.Errorf("heun, 10 steps, guidance: NFE %d, want 38", SamplerNFE(o))
			}
		} else if SamplerNFE(o) != want {
			t.Errorf("%s, 10 steps, guidance: NFE %d, want %d", sampler, SamplerNFE(o), want)
		}
	}
	_, calls := solverError(t, sch, SamplerOptions{Sampler: SamplerHeun, Steps: 10, Spacing: SpacingKarras, Churn: 40, SNoise: 1})
	if calls != 19 {
		t.Errorf("heun with churn: %d evaluations, want 19", calls)
	}
}

// The spacings: leading is DDIM's old sequence; trailing starts at T−1 as
// Lin et al. (2024) tabulate; log-SNR and Karras run from T−1 to 0, and
// every spacing gives S distinct descending steps, even at S = T.
func TestSpacingsGiveDistinctDescendingSteps(t *testing.T) {
	sch := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	leading, _ := DDIMTimesteps(1000, 10)
	tests := []struct {
		spacing string
		S       int
		want    []int // nil: only the shape is checked
	}{
		{SpacingLeading, 10, leading},
		{"", 10, leading},
		{SpacingTrailing, 10, []int{999, 899, 799, 699, 599, 499, 399, 299, 199, 99}},
		{SpacingTrailing, 3, []int{999, 666, 332}},
		{SpacingTrailing, 1, []int{999}},
		{SpacingLogSNR, 1, []int{999}},
		{SpacingKarras, 2, []int{999, 0}},
	}
	for _, spacing := range Spacings {
		for _, S := range []int{5, 50, 999, 1000} {
			tests = append(tests, struct {
				spacing string
				S       int
				want    []int
			}{spacing, S, nil})
		}
	}
	for _, tt := range tests {
		ts, err := Timesteps(sch, tt.S, tt.spacing)
		if err != nil {
			t.Fatal(err)
		}
		if tt.want != nil && !slices.Equal(ts, tt.want) {
			t.Errorf("%s, %d steps: %v, want %v", tt.spacing, tt.S, ts, tt.want)
		}
		if len(ts) != tt.S || ts[0] > 999 || ts[len(ts)-1] < 0 {
			t.Fatalf("%s, %d steps: %d steps from %d to %d", tt.spacing, tt.S, len(ts), ts[0], ts[len(ts)-1])
		}
		for i := 1; i < len(ts); i++ {
			if ts[i] >= ts[i-1] {
				t.Fatalf("%s, %d steps: not strictly descending at %d: %v", tt.spacing, tt.S, i, ts)
			}
		}
		if (tt.spacing == SpacingLogSNR || tt.spacing == SpacingKarras) && tt.S > 1 && (ts[0] != 999 || ts[len(ts)-1] != 0) {
			t.Errorf("%s, %d steps: from %d to %d, want 999 to 0", tt.spacing, tt.S, ts[0], ts[len(ts)-1])
		}
	}
	// Log-SNR is Karras' spacing in the limit ρ → ∞: ρ = 7 takes larger
	// steps in log σ at both ends, so its last step starts further from 0.
	k, _ := Timesteps(sch, 10, SpacingKarras)
	l, _ := Timesteps(sch, 10, SpacingLogSNR)
	if k[8] <= l[8] {
		t.Errorf("karras' second-to-last step %d, log-SNR's %d: want log-SNR nearer t = 0", k[8], l[8])
	}
	for _, bad := range []struct {
		S       int
		spacing string
		sub     string
	}{{0, SpacingKarras, "0 sampling steps"}, {1001, SpacingTrailing, "want 1 to 1000"}, {10, "cosine", `spacing "cosine"`}} {
		if _, err := Timesteps(sch, bad.S, bad.spacing); err == nil || !strings.Contains(err.Error(), bad.sub) {
			t.Errorf("Timesteps(%d, %q): err = %v, want %q", bad.S, bad.spacing, err, bad.sub)
		}
	}
}

// DPM-Solver++(2M)'s first step and Heun's last are DDIM's step: with one
// step both are the one DDIM step x̂_0, and DPM-Solver++(2M)'s two-step
// chain begins with DDIM's first step.
func TestSolversReduceToDDIMWhereTheyShould(t *testing.T) {
	sch := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	run := func(o SamplerOptions, stop int) []float32 {
		ts, err := Timesteps(sch, o.Steps, SpacingTrailing)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 8)
		rng.Normal(rng.New(3, StreamSample), x)
		calls := 0
		predict := testGaussian.predictor(sch, x, &calls)
		var at []float32
		observe := func(k, _ int, x, _ []float32) {
			if k == stop {
				at = slices.Clone(x)
			}
		}
		if err := runSampler(sch, o, ts, x, 8, 1, []*rng.RNG{rng.New(3, StreamSample)}, predict, observe, nil); err != nil {
			t.Fatal(err)
		}
		if at == nil {
			return x
		}
		return at
	}
	close := func(a, b []float32) bool {
		for i := range a {
			if !near(float64(a[i]), float64(b[i]), 1e-5*(1+math.Abs(float64(a[i])))) {
				return false
			}
		}
		return true
	}
	ddim1 := run(SamplerOptions{Sampler: SamplerDDIM, Steps: 1}, -1)
	for _, s := range []string{SamplerDPMSolver, SamplerHeun} {
		if got := run(SamplerOptions{Sampler: s, Steps: 1}, -1); !close(got, ddim1) {
			t.Errorf("%s, one step: %v, DDIM %v", s, got, ddim1)
		}
	}
	if a, b := run(SamplerOptions{Sampler: SamplerDPMSolver, Steps: 4}, 1), run(SamplerOptions{Sampler: SamplerDDIM, Steps: 4}, 1); !close(a, b) {
		t.Errorf("DPM-Solver++(2M) after its first step %v, DDIM %v", a, b)
	}
}

// Churn adds noise from each sample's own stream: the samples change, are
// reproducible, and a sample is the same drawn beside another or alone
// (the other's row then padding, which draws no noise).
func TestHeunChurnIsSeededNoise(t *testing.T) {
	sch := mustSchedule(LinearSchedule(1000, 1e-4, 0.02))
	ts, _ := Timesteps(sch, 8, SpacingKarras)
	run := func(o SamplerOptions, n int) []float32 {
		x := make([]float32, 12) // 3 rows of 4 values: n samples, then padding
		rs := []*rng.RNG{rng.New(1, StreamSample), rng.New(2, StreamSample)}[:n]
		rng.Normal(rng.New(9, 0), x[:4*n])
		calls := 0
		if err := runSampler(sch, o, ts, x, 4, n, rs, testGaussian.predictor(sch, x, &calls), nil, nil); err != nil {
			t.Fatal(err)
		}
		return x
	}
	churnOpts := SamplerOptions{Sampler: SamplerHeun, Steps: 8, Churn: 20, SNoise: 1}
	plain := run(SamplerOptions{Sampler: SamplerHeun, Steps: 8}, 2)
	churn, again := run(churnOpts, 2), run(churnOpts, 2)
	if slices.Equal(plain[:8], churn[:8]) {
		t.Error("churn 20 changed no sample")
	}
	if !slices.Equal(churn, again) {
		t.Error("churn with the same streams gave other samples")
	}
	if alone := run(churnOpts, 1); !slices.Equal(alone[:4], churn[:4]) {
		t.Errorf("sample 0 alone %v, beside sample 1 %v", alone[:4], churn[:4])
	}
	if narrow := run(SamplerOptions{Sampler: SamplerHeun, Steps: 8, Churn: 20, SNoise: 1, STmin: 1e4}, 2); !slices.Equal(narrow, plain) {
		t.Error("S_tmin above every σ still churned")
	}
}

// normalizeSampler resolves the new options and refuses bad ones with a
// message naming them.
func TestSolverOptionsAreNormalisedOrRefused(t *testing.T) {
	tests := []struct {
		in, want SamplerOptions
		sub      string // error; "" = none
	}{
		{in: SamplerOptions{Sampler: "heun", Eta: 1, Variance: VarianceBeta}, want: SamplerOptions{Sampler: "heun", Steps: 50, Spacing: SpacingLeading}},
		{in: SamplerOptions{Sampler: "heun", Churn: 5, Spacing: SpacingKarras, Steps: 7}, want: SamplerOptions{Sampler: "heun", Steps: 7, Spacing: SpacingKarras, Churn: 5, SNoise: 1}},
		{in: SamplerOptions{Sampler: "heun", SNoise: 1.003, STmax: 50}, want: SamplerOptions{Sampler: "heun", Steps: 50, Spacing: SpacingLeading}},
		{in: SamplerOptions{Sampler: "dpmpp2m", Churn: 5, Spacing: SpacingTrailing}, want: SamplerOptions{Sampler: "dpmpp2m", Steps: 50, Spacing: SpacingTrailing}},
		{in: SamplerOptions{Sampler: "dpmpp2m-sde", Eta: 1, Variance: VarianceBeta, Churn: 3, Steps: 10}, want: SamplerOptions{Sampler: "dpmpp2m-sde", Steps: 10, Spacing: SpacingLeading}},
		{in: SamplerOptions{Sampler: "ddpm", Spacing: SpacingLogSNR, Steps: 10}, want: SamplerOptions{Sampler: "ddpm", Steps: 10, Spacing: SpacingLogSNR, Variance: VarianceBetaTilde}},
		{in: SamplerOptions{Sampler: "heun", Spacing: "cosine"}, sub: `spacing "cosine": want one of leading, trailing, logsnr, karras`},
		{in: SamplerOptions{Sampler: "euler"}, sub: `sampler "euler": want one of ddpm, ddim, dpmpp2m, dpmpp2m-sde, heun`},
		{in: SamplerOptions{Sampler: "heun", Churn: -1}, sub: "churn -1"},
		{in: SamplerOptions{Sampler: "heun", Churn: math.Inf(1)}, sub: "want finite numbers"},
		{in: SamplerOptions{Sampler: "heun", Churn: 1, STmin: 2, STmax: 1}, sub: "s_tmin 2 > s_tmax 1"},
	}
	for _, tt := range tests {
		got, err := normalizeSampler("ddpm", tt.in, 1000, true)
		switch {
		case tt.sub != "":
			if err == nil || !strings.Contains(err.Error(), tt.sub) {
				t.Errorf("%+v: err = %v, want %q", tt.in, err, tt.sub)
			}
		case err != nil:
			t.Errorf("%+v: %v", tt.in, err)
		case fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want): // Progress (a func) is nil in both
			t.Errorf("%+v: normalised to %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestSamplerNamesCoverEverySampler: every sampler has its paper's title,
// a short label and its place in the help text.
func TestSamplerNamesCoverEverySampler(t *testing.T) {
	cases := []struct {
		name, title, label string
	}{
		{SamplerAncestral, "ancestral", "1000 steps"},
		{SamplerDDIM, "DDIM", "DDIM-1000"},
		{SamplerDPMSolver, "DPM-Solver++(2M)", "DPM++2M-1000"},
		{SamplerDPMSolverSDE, "SDE-DPM-Solver++(2M)", "SDE-DPM++2M-1000"},
		{SamplerHeun, "Heun", "Heun-1000"},
		{"euler", "euler", "euler-1000"}, // not gentri's: shown as named
	}
	for _, c := range cases {
		if got := SamplerTitle(c.name); got != c.title {
			t.Errorf("SamplerTitle(%q) = %q, want %q", c.name, got, c.title)
		}
		if got := SamplerLabel(c.name, 1000); got != c.label {
			t.Errorf("SamplerLabel(%q, 1000) = %q, want %q", c.name, got, c.label)
		}
	}
	const help = "ddpm (ancestral), ddim (DDIM), dpmpp2m (DPM-Solver++(2M)), dpmpp2m-sde (SDE-DPM-Solver++(2M)) or heun (Heun)"
	if got := SamplerHelp(); got != help {
		t.Errorf("SamplerHelp() = %q, want %q", got, help)
	}
}
