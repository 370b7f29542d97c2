package models

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gentri/gentri/internal/rng"
)

// Fast samplers of the discrete-time ε-prediction models (ddpm, ddpm2d),
// beside ancestral sampling and DDIM (diffusion.go), and the step spacings
// every sampler can run on.
//
// All of them read the model in the variance-exploding form of Karras et al.
// (2022, "Elucidating the Design Space of Diffusion-Based Generative
// Models"): y = x/√ᾱ_t at the noise level σ_t = √((1−ᾱ_t)/ᾱ_t), whose
// denoiser is D(y; σ_t) = x̂_0 = (x_t − √(1−ᾱ_t)·ε_θ(x_t, t))/√ᾱ_t, and whose
// probability-flow ODE is dy/dσ = (y − D)/σ = ε. DDIM (η = 0) is Euler's
// method on that ODE.
//
// The solvers visit training steps only: every network evaluation is at an
// integer t the network was trained on, and every noise level the solver
// steps between is that step's exact σ_t. A spacing that asks for another
// noise level (uniform log-SNR, Karras' ρ = 7) is rounded to the nearest
// training step in log σ. We do not interpolate t between training steps
// because the network never saw a fractional t (its sinusoidal embedding
// would accept one, but nothing trained it there), and because with
// T = 1000 the training steps are dense enough: neighbouring σ differ by
// about 1 % at the noisy end and by at most 50 % at the clean end, where a
// few-step sampler never puts two steps anyway.

// The samplers of SamplerOptions.Sampler.
const (
	SamplerAncestral = "ddpm"    // Ho et al. 2020, Algorithm 2 (respaced on fewer steps)
	SamplerDDIM      = "ddim"    // Song et al. 2021, eq. 12, with η
	SamplerDPMSolver = "dpmpp2m" // DPM-Solver++(2M), Lu et al. 2022, Algorithm 2
	// SamplerDPMSolverSDE is SDE-DPM-Solver++(2M) (Lu et al. 2022, §5 and
	// Appendix B): the same multistep correction on the reverse SDE, whose
	// first-order step is ancestral sampling.
	SamplerDPMSolverSDE = "dpmpp2m-sde"
	SamplerHeun         = "heun" // Karras et al. 2022, Algorithm 2
)

// samplerTable lists gentri's samplers in the order help texts give them,
// each with the name its paper gives it (legends, help texts) and the short
// form a plot label puts before the step count ("DPM++2M-20"); the
// ancestral sampler's label is its step count alone ("1000 steps"), the
// way DDPM papers quote it.
var samplerTable = []struct{ name, title, short string }{
	{SamplerAncestral, "ancestral", ""},
	{SamplerDDIM, "DDIM", "DDIM"},
	{SamplerDPMSolver, "DPM-Solver++(2M)", "DPM++2M"},
	{SamplerDPMSolverSDE, "SDE-DPM-Solver++(2M)", "SDE-DPM++2M"},
	{SamplerHeun, "Heun", "Heun"},
}

// Samplers lists the sampler names, for help texts and errors.
var Samplers = func() []string {
	names := make([]string, len(samplerTable))
	for i, s := range samplerTable {
		names[i] = s.name
	}
	return names
}()

// samplerEntry returns the table row of a sampler name.
func samplerEntry(name string) (title, short string, ok bool) {
	for _, s := range samplerTable {
		if s.name == name {
			return s.title, s.short, true
		}
	}
	return "", "", false
}

// SamplerTitle returns the name the sampler's paper gives it
// ("DPM-Solver++(2M)"); a name gentri does not know (another model's own
// sampler) is returned as it is.
func SamplerTitle(name string) string {
	if title, _, ok := samplerEntry(name); ok {
		return title
	}
	return name
}

// SamplerLabel returns the short label of a sampler run for steps steps:
// "DDIM-50", "SDE-DPM++2M-20", "1000 steps" (ancestral), or "name-steps"
// for a sampler gentri does not know.
func SamplerLabel(name string, steps int) string {
	_, short, ok := samplerEntry(name)
	switch {
	case !ok:
		return fmt.Sprintf("%s-%d", name, steps)
	case short == "":
		return fmt.Sprintf("%d steps", steps)
	}
	return fmt.Sprintf("%s-%d", short, steps)
}

// SamplerHelp lists the sampler names with their titles, for help texts:
// "ddpm (ancestral), ddim (DDIM), … or heun (Heun)".
func SamplerHelp() string {
	parts := make([]string, len(Samplers))
	for i, n := range Samplers {
		parts[i] = fmt.Sprintf("%s (%s)", n, SamplerTitle(n))
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// The step spacings of SamplerOptions.Spacing.
const (
	// SpacingLeading is t_i = ⌊i·T/S⌋, i = S−1 … 0 (DDIM's "uniform"
	// skip): it ends at t = 0 but starts at (S−1)·T/S, below T−1.
	SpacingLeading = "leading"
	// SpacingTrailing is t_i = round(T − i·T/S) − 1, i = 0 … S−1: it starts
	// at the noisiest step T−1 (Lin et al. 2024, "Common Diffusion Noise
	// Schedules and Sample Steps are Flawed", Table 2) and ends at T/S − 1.
	SpacingTrailing = "trailing"
	// SpacingLogSNR is uniform in log-SNR λ = log(ᾱ/(1−ᾱ)) = −2 log σ from
	// t = T−1 to t = 0 (the spacing DPM-Solver recommends).
	SpacingLogSNR = "logsnr"
	// SpacingKarras is σ_i = (σ_max^{1/ρ} + i/(S−1)·(σ_min^{1/ρ} −
	// σ_max^{1/ρ}))^ρ with ρ = 7 (Karras et al. 2022, eq. 5), σ_max = σ_{T−1},
	// σ_min = σ_0.
	SpacingKarras = "karras"
)

// Spacings lists the spacing names, for help texts and errors.
var Spacings = []string{SpacingLeading, SpacingTrailing, SpacingLogSNR, SpacingKarras}

// KarrasRho is ρ of the Karras spacing, the paper's choice for images.
const KarrasRho = 7

// Sigma returns σ_t = √((1−ᾱ_t)/ᾱ_t), the noise level of y = x_t/√ᾱ_t;
// σ_{−1} = 0 (the clean image).
func (s *Schedule) Sigma(t int) float64 {
	a := s.Abar(t)
	return math.Sqrt((1 - a) / a)
}

// nearestStep returns the training step whose σ_t is nearest to σ in log σ
// (σ_t rises with t, so a binary search finds it).
func (s *Schedule) nearestStep(sigma float64) int {
	j := sort.Search(s.T, func(t int) bool { return s.Sigma(t) >= sigma })
	switch {
	case j == 0:
		return 0
	case j == s.T:
		return s.T - 1
	}
	if math.Log(s.Sigma(j))-math.Log(sigma) < math.Log(sigma)-math.Log(s.Sigma(j-1)) {
		return j
	}
	return j - 1
}

// Timesteps returns the S training steps a sampler visits, noisiest first,
// under the named spacing ("" is leading, the spacing every sampler used
// before spacings could be chosen). Spacings that aim at noise levels
// between training steps round each to the nearest step; where two round to
// the same step (many steps near t = 0, where σ_t moves fastest) the lower
// ones are pushed down, so there are always S distinct steps and the NFE is
// what the step count says.
func Timesteps(s *Schedule, S int, spacing string) ([]int, error) {
	T := s.T
	if S < 1 || S > T {
		return nil, fmt.Errorf("%d sampling steps: want 1 to %d (the training steps T)", S, T)
	}
	ts := make([]int, S)
	switch spacing {
	case SpacingLeading, "":
		return DDIMTimesteps(T, S)
	case SpacingTrailing:
		for i := range ts {
			ts[i] = int(math.RoundToEven(float64(T)-float64(i)*float64(T)/float64(S))) - 1
		}
	case SpacingLogSNR, SpacingKarras:
		hi, lo := s.Sigma(T-1), s.Sigma(0)
		for i := range ts {
			u := 0.0
			if S > 1 {
				u = float64(i) / float64(S-1)
			}
			var sigma float64
			if spacing == SpacingLogSNR {
				sigma = math.Exp(math.Log(hi) + u*(math.Log(lo)-math.Log(hi)))
			} else {
				a, b := math.Pow(hi, 1.0/KarrasRho), math.Pow(lo, 1.0/KarrasRho)
				sigma = math.Pow(a+u*(b-a), KarrasRho)
			}
			ts[i] = s.nearestStep(sigma)
		}
	default:
		return nil, fmt.Errorf("spacing %q: want one of %v", spacing, Spacings)
	}
	distinctDescending(ts, T)
	return ts, nil
}

// distinctDescending makes a non-increasing list of S ≤ T steps in [0, T)
// strictly decreasing with the fewest moves: a step that ties with the one
// after it moves up, and one that then passes T−1 pushes those below it down.
func distinctDescending(ts []int, T int) {
	for i := len(ts) - 2; i >= 0; i-- {
		ts[i] = max(ts[i], ts[i+1]+1)
	}
	for i := range ts {
		if i == 0 {
			ts[i] = min(ts[i], T-1)
		} else {
			ts[i] = min(ts[i], ts[i-1]-1)
		}
	}
}

// SamplerNFE is the number of network evaluations per sample of sampler
// options o (normalised, Steps resolved): one per step for ancestral,
// DDIM and DPM-Solver++(2M), two per step but the last for Heun (its last
// step ends at σ = 0, where Karras et al.'s Algorithm 2 takes an Euler step);
// twice that under classifier-free guidance, which evaluates the network
// with and without the class.
func SamplerNFE(o SamplerOptions) int {
	n := o.Steps
	if o.Sampler == SamplerHeun {
		n = 2*o.Steps - 1
	}
	if o.Guidance != 0 {
		n *= 2
	}
	return n
}

// runSampler runs the sampler of o over the steps ts on one chunk of
// samples, with the contract of reverseDiffusion: x holds rows of dim
// values, rows below n real samples with their own noise streams rs[i];
// predict fills eps with ε_θ(x, t) for x's current contents; observe sees
// each step's input and first ε; done(k) follows step k.
func runSampler(s *Schedule, o SamplerOptions, ts []int, x []float32, dim, n int, rs []*rng.RNG,
	predict func(eps []float32, t int) error, observe func(k, t int, x, eps []float32), done func(k int)) error {
	noise := sampleNoise(n, rs)
	switch o.Sampler {
	case SamplerDPMSolver:
		return dpmSolver2M(s, o, ts, x, dim, nil, predict, observe, done)
	case SamplerDPMSolverSDE:
		return dpmSolver2M(s, o, ts, x, dim, noise, predict, observe, done)
	case SamplerHeun:
		return heunEDM(s, o, ts, x, dim, noise, predict, observe, done)
	}
	return reverseDiffusion(s, o, ts, x, dim, noise, predict, observe, done)
}

// denoise returns x̂_0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t, clamped to [−1, 1] with
// clip: the denoiser D of the solvers.
func denoise(x, eps float32, sa, sb float64, clip bool) float64 {
	d := (float64(x) - sb*float64(eps)) / sa
	if clip {
		d = math.Min(math.Max(d, -1), 1)
	}
	return d
}

// noiseFunc fills z with the next noise of one row of a chunk and reports
// whether the row draws noise at all; a row that does not (padding) gets
// z zeroed. Calls for a row come in step order, so a sample's noise is the
// same whatever chunk it is drawn in.
type noiseFunc func(row int, z []float32) bool

// sampleNoise draws row i's noise from its own stream rs[i] for the n real
// samples of a chunk; the padding rows draw none.
func sampleNoise(n int, rs []*rng.RNG) noiseFunc {
	return func(row int, z []float32) bool {
		if row >= n {
			clear(z)
			return false
		}
		rng.Normal(rs[row], z)
		return true
	}
}

// dpmSolver2M is DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2), the
// multistep second-order solver in data-prediction form, and with noise
// non-nil its SDE form, SDE-DPM-Solver++(2M) (same paper, §5; the
// "midpoint" second-order term). With λ = −log σ, h_k = λ_{k+1} − λ_k and
// r_k = h_{k−1}/h_k, step k is, in the variance-preserving x,
//
//	D'  = (1 + 1/(2r_k))·D_k − 1/(2r_k)·D_{k−1}
//	ODE: x_{k+1} = (√(1−ᾱ_{k+1})/√(1−ᾱ_k))·x_k + √ᾱ_{k+1}·(1 − e^{−h_k})·D'
//	SDE: x_{k+1} = (√(1−ᾱ_{k+1})/√(1−ᾱ_k))·e^{−h_k}·x_k + √ᾱ_{k+1}·(1 − e^{−2h_k})·D'
//	               + √(1−ᾱ_{k+1})·√(1 − e^{−2h_k})·z,   z ~ N(0, I)
//
// (e^{−h_k} = σ_{k+1}/σ_k). The first step has no D_{k−1} and takes the
// first-order update (D' = D_k: DDIM for the ODE; for the SDE exactly the
// ancestral step with σ² = β̃ of the respaced chain), and so does the last,
// which ends at σ = 0 where h is infinite and x = D_k: one evaluation per
// step. The SDE's extra e^{−h} on x_k is what its noise puts back. With
// clip, every D is clamped to [−1, 1] before it is combined (the
// data-prediction form is what makes such thresholding well-posed).
func dpmSolver2M(s *Schedule, o SamplerOptions, ts []int, x []float32, dim int, noise noiseFunc,
	predict func(eps []float32, t int) error, observe func(k, t int, x, eps []float32), done func(k int)) error {
	eps := make([]float32, len(x))
	prevD := make([]float64, len(x))
	z := make([]float32, dim)
	hPrev := 0.0
	for k, t := range ts {
		next := -1
		if k+1 < len(ts) {
			next = ts[k+1]
		}
		if err := predict(eps, t); err != nil {
			return err
		}
		if observe != nil {
			observe(k, t, x, eps)
		}
		at := s.Abar(t)
		sa, sb := math.Sqrt(at), math.Sqrt(1-at)
		if next < 0 {
			for i := range x {
				x[i] = float32(denoise(x[i], eps[i], sa, sb, o.Clip))
			}
		} else {
			an := s.Abar(next)
			h := math.Log(s.Sigma(t)) - math.Log(s.Sigma(next))
			cx := math.Sqrt(1-an) / sb
			cd := math.Sqrt(an) * -math.Expm1(-h)
			cz := 0.0
			if noise != nil {
				cx *= math.Exp(-h)
				cd = math.Sqrt(an) * -math.Expm1(-2*h)
				cz = math.Sqrt(1-an) * math.Sqrt(-math.Expm1(-2*h))
			}
			c0, c1 := 1.0, 0.0 // D' = c0·D_k − c1·D_{k−1}
			if k > 0 {
				r := hPrev / h
				c0, c1 = 1+1/(2*r), 1/(2*r)
			}
			for i := range x {
				if noise != nil && i%dim == 0 {
					noise(i/dim, z)
				}
				d := denoise(x[i], eps[i], sa, sb, o.Clip)
				v := cx*float64(x[i]) + cd*(c0*d-c1*prevD[i])
				if noise != nil {
					v += cz * float64(z[i%dim])
				}
				x[i] = float32(v)
				prevD[i] = d
			}
			hPrev = h
		}
		if done != nil {
			done(k)
		}
	}
	return nil
}

// heunEDM is Karras et al.'s (2022) Algorithm 2 on the training steps ts:
// Heun's second-order method on dy/dσ = (y − D(y; σ))/σ, with the optional
// stochastic "churn". At step k, from σ_k to σ_{k+1}:
//
//	γ = min(S_churn/S, √2 − 1) if S_tmin ≤ σ_k ≤ S_tmax, else 0
//	σ̂ = σ_k(1 + γ), rounded to the nearest training step t̂ ≥ t_k
//	ŷ = y + √(σ̂² − σ_k²)·S_noise·z,   z ~ N(0, I)
//	d = (ŷ − D(ŷ; σ̂))/σ̂,   y_{k+1} = ŷ + (σ_{k+1} − σ̂)·d
//	unless σ_{k+1} = 0:  d' = (y_{k+1} − D(y_{k+1}; σ_{k+1}))/σ_{k+1},
//	                     y_{k+1} = ŷ + (σ_{k+1} − σ̂)·(d + d')/2
//
// The last step ends at σ = 0 and is Euler's (y = D), so S steps take
// 2S − 1 evaluations. The buffer x stays in the variance-preserving form
// the network reads (x = √ᾱ_t·y); with clip, D is clamped to [−1, 1]. The
// churn's z comes from noise (each sample's own stream, padding rows none),
// drawn when a step churns, in step order. observe sees the churned x at t̂
// and its ε (with no churn, x_t and ε_θ(x_t, t)).
func heunEDM(s *Schedule, o SamplerOptions, ts []int, x []float32, dim int, noise noiseFunc,
	predict func(eps []float32, t int) error, observe func(k, t int, x, eps []float32), done func(k int)) error {
	eps := make([]float32, len(x))
	y, d := make([]float64, len(x)), make([]float64, len(x))
	z := make([]float32, dim)
	gammaMax := 0.0
	if o.Churn > 0 {
		gammaMax = math.Min(o.Churn/float64(len(ts)), math.Sqrt2-1)
	}
	for k, t := range ts {
		next := -1
		if k+1 < len(ts) {
			next = ts[k+1]
		}
		sigma := s.Sigma(t)
		tHat := t
		if gammaMax > 0 && sigma >= o.STmin && (o.STmax == 0 || sigma <= o.STmax) {
			tHat = max(s.nearestStep(sigma*(1+gammaMax)), t)
		}
		at, ah := s.Abar(t), s.Abar(tHat)
		sigmaHat := s.Sigma(tHat)
		if tHat != t {
			sn := math.Sqrt(sigmaHat*sigmaHat-sigma*sigma) * o.SNoise
			for i := 0; i < len(x)/dim; i++ {
				row := x[i*dim : (i+1)*dim]
				noise(i, z)
				for j := range row {
					row[j] = float32(math.Sqrt(ah) * (float64(row[j])/math.Sqrt(at) + sn*float64(z[j])))
				}
			}
		}
		if err := predict(eps, tHat); err != nil {
			return err
		}
		if observe != nil {
			observe(k, tHat, x, eps)
		}
		sa, sb := math.Sqrt(ah), math.Sqrt(1-ah)
		if next < 0 {
			for i := range x {
				x[i] = float32(denoise(x[i], eps[i], sa, sb, o.Clip))
			}
			if done != nil {
				done(k)
			}
			continue
		}
		an := s.Abar(next)
		sigmaNext, scaleNext := s.Sigma(next), math.Sqrt(an)
		dt := sigmaNext - sigmaHat
		for i := range x {
			y[i] = float64(x[i]) / sa
			d[i] = (y[i] - denoise(x[i], eps[i], sa, sb, o.Clip)) / sigmaHat
			x[i] = float32(scaleNext * (y[i] + dt*d[i]))
		}
		if err := predict(eps, next); err != nil {
			return err
		}
		sa, sb = scaleNext, math.Sqrt(1-an)
		for i := range x {
			yn := float64(x[i]) / sa
			d2 := (yn - denoise(x[i], eps[i], sa, sb, o.Clip)) / sigmaNext
			x[i] = float32(scaleNext * (y[i] + dt*(d[i]+d2)/2))
		}
		if done != nil {
			done(k)
		}
	}
	return nil
}
