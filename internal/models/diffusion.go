package models

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gentri/gentri/internal/config"
)

// The maths of denoising diffusion, independent of the network
// (Ho et al. 2020, DDPM; Song et al. 2021, DDIM). Timesteps are 0-based
// indices t ∈ [0, T), index t being the paper's step t+1, as the PyTorch
// reference (bench/torch_reference.py) draws them
// (torch.randint(0, T)); ᾱ_{−1} = 1 stands for the clean image. Everything
// is computed in float64 and, for float32 slices, rounded once per element.

// float is the element type the step functions accept.
type float interface{ float32 | float64 }

// Schedule is a noise schedule: β_t, α_t = 1 − β_t and ᾱ_t = Π_{s≤t} α_s.
type Schedule struct {
	T                       int
	Betas, Alphas, AlphaBar []float64
}

// LinearSchedule returns β_t = b0 + (b1 − b0)·t/(T−1), torch.linspace(b0,
// b1, T): the DDPM default is LinearSchedule(1000, 1e-4, 0.02).
func LinearSchedule(T int, b0, b1 float64) (*Schedule, error) {
	if T < 1 {
		return nil, fmt.Errorf("linear schedule: T = %d, want >= 1", T)
	}
	if !(b0 > 0 && b0 <= b1 && b1 < 1) {
		return nil, fmt.Errorf("linear schedule: betas %g..%g, want 0 < start <= end < 1", b0, b1)
	}
	betas := make([]float64, T)
	for t := range betas {
		if T == 1 {
			betas[t] = b0
			continue
		}
		betas[t] = b0 + (b1-b0)*float64(t)/float64(T-1)
	}
	return scheduleFromBetas(betas), nil
}

// CosineSchedule returns Nichol & Dhariwal's schedule,
//
//	f(u) = cos²((u + s)/(1 + s) · π/2),  s = 0.008,
//	β_t = min(1 − f((t+1)/T)/f(t/T), 0.999),
//
// so ᾱ_t = f((t+1)/T)/f(0) wherever no β was clipped (the last steps).
func CosineSchedule(T int) (*Schedule, error) {
	if T < 1 {
		return nil, fmt.Errorf("cosine schedule: T = %d, want >= 1", T)
	}
	betas := make([]float64, T)
	for t := range betas {
		betas[t] = math.Min(1-cosineF(float64(t+1)/float64(T))/cosineF(float64(t)/float64(T)), 0.999)
	}
	return scheduleFromBetas(betas), nil
}

// cosineF is f(u) = cos²((u + 0.008)/1.008 · π/2).
func cosineF(u float64) float64 {
	const s = 0.008
	c := math.Cos((u + s) / (1 + s) * math.Pi / 2)
	return c * c
}

func scheduleFromBetas(betas []float64) *Schedule {
	s := &Schedule{T: len(betas), Betas: betas, Alphas: make([]float64, len(betas)), AlphaBar: make([]float64, len(betas))}
	prod := 1.0
	for t, b := range betas {
		s.Alphas[t] = 1 - b
		prod *= 1 - b
		s.AlphaBar[t] = prod
	}
	return s
}

// Abar returns ᾱ_t, with ᾱ_{−1} = 1 (no noise).
func (s *Schedule) Abar(t int) float64 {
	if t < 0 {
		return 1
	}
	return s.AlphaBar[t]
}

// PosteriorVariance returns β̃_t = β_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t), the variance
// of q(x_{t−1} | x_t, x_0); β̃_0 = 0.
func (s *Schedule) PosteriorVariance(t int) float64 {
	return s.Betas[t] * (1 - s.Abar(t-1)) / (1 - s.AlphaBar[t])
}

// QSample writes x_t = √ᾱ·x0 + √(1−ᾱ)·ε, a draw of q(x_t | x_0) =
// N(√ᾱ_t x_0, (1 − ᾱ_t) I) for ε ~ N(0, I).
func QSample[T float](dst, x0, eps []T, abar float64) {
	a, b := math.Sqrt(abar), math.Sqrt(1-abar)
	for i := range dst {
		dst[i] = T(a*float64(x0[i]) + b*float64(eps[i]))
	}
}

// QStep writes x_t = √(1−β)·x_{t−1} + √β·z, a draw of one forward step
// q(x_t | x_{t−1}) = N(√α_t x_{t−1}, β_t I) for z ~ N(0, I).
func QStep[T float](dst, prev, z []T, beta float64) {
	a, b := math.Sqrt(1-beta), math.Sqrt(beta)
	for i := range dst {
		dst[i] = T(a*float64(prev[i]) + b*float64(z[i]))
	}
}

// PredictX0 writes x̂_0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t.
func PredictX0[T float](dst, xt, eps []T, abar float64) {
	a, b := math.Sqrt(abar), math.Sqrt(1-abar)
	for i := range dst {
		dst[i] = T((float64(xt[i]) - b*float64(eps[i])) / a)
	}
}

// Variance names the σ² of the ancestral sampler.
const (
	VarianceBetaTilde = "beta_tilde" // σ_t² = β̃_t ("fixed-small", the default)
	VarianceBeta      = "beta"       // σ_t² = β_t ("fixed-large")
)

// AncestralSigma returns σ of an ancestral step from t to prev < t (prev =
// −1: the last step), on the effective schedule of that pair,
//
//	β' = 1 − ᾱ_t/ᾱ_prev,  σ² = β' (beta) or β'·(1 − ᾱ_prev)/(1 − ᾱ_t) (beta_tilde).
//
// With prev = t − 1 these are β_t and β̃_t of Ho et al. (2020); with a coarser step
// sequence it is the "respaced" DDPM (Nichol & Dhariwal 2021).
func AncestralSigma(abarT, abarPrev float64, variance string) (float64, error) {
	beta := 1 - abarT/abarPrev
	switch variance {
	case VarianceBeta:
		return math.Sqrt(beta), nil
	case VarianceBetaTilde, "":
		return math.Sqrt(beta * (1 - abarPrev) / (1 - abarT)), nil
	}
	return 0, fmt.Errorf("variance %q: want %s or %s", variance, VarianceBetaTilde, VarianceBeta)
}

// AncestralStep writes the DDPM step (Ho et al. 2020, Algorithm 2) from x_t to x_prev,
//
//	x_prev = (x_t − β'/√(1−ᾱ_t)·ε)/√α' + σ·z,  α' = ᾱ_t/ᾱ_prev, β' = 1 − α',
//
// which is (1/√α_t)(x_t − β_t/√(1−ᾱ_t)·ε_θ) + σ_t z for prev = t − 1.
// z is ignored (no noise) when nil or σ = 0.
//
// With clip, x̂_0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t is clamped to [−1, 1] and the
// mean is the posterior mean of q(x_prev | x_t, x̂_0),
//
//	μ = √ᾱ_prev·β'/(1−ᾱ_t)·x̂_0 + √α'·(1−ᾱ_prev)/(1−ᾱ_t)·x_t,
//
// which equals the formula above when nothing is clamped.
func AncestralStep[T float](dst, xt, eps, z []T, abarT, abarPrev, sigma float64, clip bool) {
	alpha := abarT / abarPrev
	if clip {
		sa, sb := math.Sqrt(abarT), math.Sqrt(1-abarT)
		c0 := math.Sqrt(abarPrev) * (1 - alpha) / (1 - abarT)
		ct := math.Sqrt(alpha) * (1 - abarPrev) / (1 - abarT)
		for i := range dst {
			x := float64(xt[i])
			x0 := math.Min(math.Max((x-sb*float64(eps[i]))/sa, -1), 1)
			v := c0*x0 + ct*x
			if z != nil && sigma != 0 {
				v += sigma * float64(z[i])
			}
			dst[i] = T(v)
		}
		return
	}
	c := (1 - alpha) / math.Sqrt(1-abarT)
	inv := 1 / math.Sqrt(alpha)
	for i := range dst {
		v := inv * (float64(xt[i]) - c*float64(eps[i]))
		if z != nil && sigma != 0 {
			v += sigma * float64(z[i])
		}
		dst[i] = T(v)
	}
}

// DDIMSigma returns σ = η·√((1−ᾱ_prev)/(1−ᾱ_t))·√(1 − ᾱ_t/ᾱ_prev), DDIM's
// noise for a step from t to prev (ermongroup/ddim generalized_steps): η = 0
// is deterministic, η = 1 gives σ² = β̃ of the (respaced) DDPM posterior.
func DDIMSigma(abarT, abarPrev, eta float64) float64 {
	return eta * math.Sqrt((1-abarPrev)/(1-abarT)) * math.Sqrt(1-abarT/abarPrev)
}

// DDIMStep writes the DDIM step (Song et al. 2021, eq. 12) from x_t to x_prev,
//
//	x̂_0 = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t,
//	x_prev = √ᾱ_prev·x̂_0 + √(1 − ᾱ_prev − σ²)·ε + σ·z.
//
// With clip, x̂_0 is clamped to [−1, 1] and ε re-derived from it,
// ε = (x_t − √ᾱ_t·x̂_0)/√(1−ᾱ_t), as improved-diffusion's ddim_sample does,
// so the step stays consistent. z is ignored when nil or σ = 0.
func DDIMStep[T float](dst, xt, eps, z []T, abarT, abarPrev, sigma float64, clip bool) {
	sa, sb := math.Sqrt(abarT), math.Sqrt(1-abarT)
	ca, ce := math.Sqrt(abarPrev), math.Sqrt(math.Max(1-abarPrev-sigma*sigma, 0))
	for i := range dst {
		e := float64(eps[i])
		x0 := (float64(xt[i]) - sb*e) / sa
		if clip {
			x0 = math.Min(math.Max(x0, -1), 1)
			e = (float64(xt[i]) - sa*x0) / sb
		}
		v := ca*x0 + ce*e
		if z != nil && sigma != 0 {
			v += sigma * float64(z[i])
		}
		dst[i] = T(v)
	}
}

// DDIMTimesteps returns the S steps a sampler visits, in the order it
// visits them: t_i = ⌊i·T/S⌋ for i = S−1, …, 0. This is DDIM's "uniform"
// skip (range(0, T, T/S)) whenever S divides T, is every step for S = T,
// and always ends at t = 0.
func DDIMTimesteps(T, S int) ([]int, error) {
	if S < 1 || S > T {
		return nil, fmt.Errorf("%d sampling steps: want 1 to %d (the training steps T)", S, T)
	}
	ts := make([]int, S)
	for i := range ts {
		ts[S-1-i] = i * T / S
	}
	return ts, nil
}

// Guide writes classifier-free guidance's ε = ε_c + w·(ε_c − ε_u) (Ho &
// Salimans 2022, the ModelOptions form): w = 0 is the conditional
// prediction, bit for bit.
func Guide[T float](dst, cond, uncond []T, w float64) {
	if w == 0 {
		copy(dst, cond)
		return
	}
	for i := range dst {
		c := float64(cond[i])
		dst[i] = T(c + w*(c-float64(uncond[i])))
	}
}

// TimestepEmbedding writes the reference's timestep_embedding(t, dim) for one t
// into dst (len dim, even): with half = dim/2 and f_i = exp(−ln(10⁴)·i/half),
// dst = [sin(t·f_0) … sin(t·f_{half−1}), cos(t·f_0) … cos(t·f_{half−1})].
// f_i and t·f_i are rounded to float32 as PyTorch computes them, so the
// arguments match the reference's bit for bit up to exp's last ulp.
func TimestepEmbedding(dst []float32, t int) {
	half := len(dst) / 2
	for i := 0; i < half; i++ {
		e := float32(float32(-math.Log(10000))*float32(i)) / float32(half)
		f := float32(math.Exp(float64(e)))
		a := float64(float32(float32(t) * f))
		dst[i] = float32(math.Sin(a))
		dst[half+i] = float32(math.Cos(a))
	}
}

// normalizeSampler checks a diffusion model's sampler options and resolves
// them: Steps 0 becomes T for ddpm and min(DefaultDDIMSteps, T) for the
// others, Spacing "" becomes leading, and the options the chosen sampler
// ignores are cleared (η but for ddim, the variance but for ddpm, the churn
// but for heun; S_noise, S_tmin and S_tmax without churn), so the stored
// options say exactly what runs. kind names the model in errors; guidance
// and clipping need an image model (conditional, in [−1, 1]).
func normalizeSampler(kind string, o SamplerOptions, T int, images bool) (SamplerOptions, error) {
	finite := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }
	switch {
	case !slices.Contains(Samplers, o.Sampler):
		return o, fmt.Errorf("%s: sampler %q: want one of %s (ddpm is ancestral)", kind, o.Sampler, strings.Join(Samplers, ", "))
	case o.Steps < 0 || o.Steps > T:
		return o, fmt.Errorf("%s: %d sampling steps: want 1 to %d (the model was trained with T = %d), or 0 for the default", kind, o.Steps, T, T)
	case o.Spacing != "" && !slices.Contains(Spacings, o.Spacing):
		return o, fmt.Errorf("%s: spacing %q: want one of %s", kind, o.Spacing, strings.Join(Spacings, ", "))
	case !(o.Eta >= 0 && o.Eta <= 1):
		return o, fmt.Errorf("%s: eta %g: want 0 (deterministic DDIM) to 1", kind, o.Eta)
	case o.Variance != "" && o.Variance != VarianceBetaTilde && o.Variance != VarianceBeta:
		return o, fmt.Errorf("%s: variance %q: want %s or %s", kind, o.Variance, VarianceBetaTilde, VarianceBeta)
	case !finite(o.Churn) || !finite(o.SNoise) || !finite(o.STmin) || !finite(o.STmax):
		return o, fmt.Errorf("%s: churn %g, s_noise %g, s_tmin %g, s_tmax %g: want finite numbers >= 0", kind, o.Churn, o.SNoise, o.STmin, o.STmax)
	case o.STmax != 0 && o.STmin > o.STmax:
		return o, fmt.Errorf("%s: s_tmin %g > s_tmax %g: no step would churn", kind, o.STmin, o.STmax)
	case !images && o.Guidance != 0:
		return o, fmt.Errorf("%s: guidance %g: the model is unconditional (want 0)", kind, o.Guidance)
	case !images && o.Clip:
		return o, fmt.Errorf("%s: clipping x_0 to [-1, 1] needs image data; 2-D points have no such range", kind)
	case !(o.Guidance >= 0) || math.IsInf(o.Guidance, 0):
		return o, fmt.Errorf("%s: guidance scale %g: want a finite w >= 0 (0 = plain conditional)", kind, o.Guidance)
	}
	if o.Spacing == "" {
		o.Spacing = SpacingLeading
	}
	if o.Sampler != SamplerDDIM {
		o.Eta = 0
	}
	if o.Sampler == SamplerAncestral {
		if o.Variance == "" {
			o.Variance = VarianceBetaTilde
		}
	} else {
		o.Variance = ""
	}
	if o.Sampler != SamplerHeun {
		o.Churn = 0
	}
	if o.Churn == 0 {
		o.SNoise, o.STmin, o.STmax = 0, 0, 0
	} else if o.SNoise == 0 {
		o.SNoise = 1
	}
	if o.Steps == 0 {
		o.Steps = min(DefaultDDIMSteps, T)
		if o.Sampler == SamplerAncestral {
			o.Steps = T
		}
	}
	return o, nil
}

// reverseDiffusion runs the sampler o over the step sequence ts on one
// chunk: x holds rows of dim values, noise gives each row's noise (a real
// sample's from its own stream, so a sample does not depend on the chunk
// it is drawn in; padding rows none), and predict fills eps (same layout)
// with ε_θ(x, t). The last step adds no noise. observe, if set, sees step
// k's input x_t and the ε it steps with, before the step (it must not
// change them); done(k) is called after step k.
func reverseDiffusion(s *Schedule, o SamplerOptions, ts []int, x []float32, dim int, noise noiseFunc,
	predict func(eps []float32, t int) error, observe func(k, t int, x, eps []float32), done func(k int)) error {
	eps, z := make([]float32, len(x)), make([]float32, dim)
	for k, t := range ts {
		prev := -1
		if k+1 < len(ts) {
			prev = ts[k+1]
		}
		if err := predict(eps, t); err != nil {
			return err
		}
		if observe != nil {
			observe(k, t, x, eps)
		}
		at, ap := s.Abar(t), s.Abar(prev)
		sigma := DDIMSigma(at, ap, o.Eta)
		if o.Sampler == "ddpm" {
			var err error
			if sigma, err = AncestralSigma(at, ap, o.Variance); err != nil {
				return err
			}
		}
		for i := 0; i < len(x)/dim; i++ {
			var zi []float32
			if prev >= 0 && sigma > 0 && noise(i, z) {
				zi = z
			}
			xi, ei := x[i*dim:(i+1)*dim], eps[i*dim:(i+1)*dim]
			if o.Sampler == "ddpm" {
				AncestralStep(xi, xi, ei, zi, at, ap, sigma, o.Clip)
			} else {
				DDIMStep(xi, xi, ei, zi, at, ap, sigma, o.Clip)
			}
		}
		if done != nil {
			done(k)
		}
	}
	return nil
}

// NewSchedule builds the named schedule: "linear" (β from b0 to b1; also
// the default for "") or "cosine" (b0 and b1 unused).
func NewSchedule(name string, T int, b0, b1 float64) (*Schedule, error) {
	switch name {
	case "linear", "":
		return LinearSchedule(T, b0, b1)
	case "cosine":
		return CosineSchedule(T)
	}
	return nil, fmt.Errorf("schedule %q: want linear or cosine", name)
}

// DiffusionConfig holds the keys of the diffusion kinds (ddpm, ddpm2d): the
// noise schedule, the weight average and the sampler of the training grids
// (`gentri sample` and `eval` flags override the sampler).
type DiffusionConfig struct {
	EMA         float64 `key:"train.ema"`        // decay of the sampling network's weight average (0 = off)
	Timesteps   int     `key:"train.timesteps"`  // diffusion steps T
	Schedule    string  `key:"train.schedule"`   // "linear" | "cosine" noise schedule
	BetaStart   float64 `key:"train.beta_start"` // first beta of the linear schedule
	BetaEnd     float64 `key:"train.beta_end"`   // last beta of the linear schedule
	SamplerName string  `key:"sample.sampler"`   // "ddpm" (ancestral) | "ddim" | "dpmpp2m" | "dpmpp2m-sde" | "heun"
	Steps       int     `key:"sample.steps"`     // denoising steps, <= train.timesteps; 0 = T for ddpm, 50 for the others
	Spacing     string  `key:"sample.spacing"`   // the training steps visited: "leading" | "trailing" | "logsnr" | "karras"
	Eta         float64 `key:"sample.eta"`       // ddim: 0 deterministic .. 1 stochastic
	Variance    string  `key:"sample.variance"`  // ddpm: "beta_tilde" | "beta"
}

// Validate checks the schedule and the sampler.
func (s *DiffusionConfig) Validate(_ *config.Config, v *config.Checker) {
	v.Check("train.ema", s.EMA >= 0 && s.EMA < 1, ">= 0 and < 1", s.EMA)
	v.Check("train.timesteps", config.In(s.Timesteps, 1, 100000), "in [1, 100000]", s.Timesteps)
	v.Check("train.schedule", s.Schedule == "linear" || s.Schedule == "cosine", "one of linear, cosine", s.Schedule)
	v.Check("train.beta_start", s.BetaStart > 0 && s.BetaStart < 1, "> 0 and < 1", s.BetaStart)
	v.Check("train.beta_end", s.BetaEnd >= s.BetaStart && s.BetaEnd < 1, ">= train.beta_start and < 1", s.BetaEnd)
	v.Check("sample.sampler", slices.Contains(Samplers, s.SamplerName), "one of "+strings.Join(Samplers, ", "), s.SamplerName)
	v.Check("sample.steps", s.Steps >= 0 && s.Steps <= s.Timesteps, fmt.Sprintf("in [0, %d] (train.timesteps; 0 = the sampler's default)", s.Timesteps), s.Steps)
	v.Check("sample.spacing", slices.Contains(Spacings, s.Spacing), "one of "+strings.Join(Spacings, ", "), s.Spacing)
	v.Check("sample.eta", s.Eta >= 0 && s.Eta <= 1, ">= 0 and <= 1", s.Eta)
	v.Check("sample.eta", s.SamplerName == "ddim" || s.Eta == 0, "0 unless sample.sampler is ddim (eta is a DDIM option)", s.Eta)
	v.Check("sample.variance", s.Variance == "beta_tilde" || s.Variance == "beta", "one of beta_tilde, beta", s.Variance)
}

// Sampler returns the configured sampler options.
func (s *DiffusionConfig) Sampler() SamplerOptions {
	return SamplerOptions{Sampler: s.SamplerName, Steps: s.Steps, Spacing: s.Spacing, Eta: s.Eta, Variance: s.Variance}
}
