package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/train"
)

// openCheckpoint opens --checkpoint for sample, eval and latent: *path, or
// when it is empty the newest checkpoint under runsRoot of --model's kind
// (named on logw, and stored in *path), and refuses a checkpoint of another
// kind than a given --model.
func openCheckpoint(path *string, kind, runsRoot string, logw io.Writer) (models.Model, *config.Config, *checkpoint.File, error) {
	if *path == "" {
		p, err := train.LatestCheckpoint(runsRoot, kind)
		if err != nil {
			return nil, nil, nil, usageError{err}
		}
		*path = p
		fmt.Fprintf(logw, "using the newest checkpoint: %s\n", p)
	}
	m, cfg, f, err := models.Open(*path, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if kind != "" && kind != cfg.Model.Kind {
		return nil, nil, nil, usagef("--model %s, but %s is a %s checkpoint", kind, *path, cfg.Model.Kind)
	}
	return m, cfg, f, nil
}

// samplerFlags are the diffusion sampling flags `sample` and `eval` share.
type samplerFlags struct {
	opts models.SamplerOptions
	set  bool // any of them was given
	fs   *pflag.FlagSet
}

func addSamplerFlags(f *pflag.FlagSet) *samplerFlags {
	s := &samplerFlags{fs: f}
	f.StringVar(&s.opts.Sampler, "sampler", "", "diffusion: "+models.SamplerHelp()+" (default: the config's sample.sampler)")
	f.IntVar(&s.opts.Steps, "steps", 0, "diffusion: denoising steps (default: the config's sample.steps; T for ddpm); heun makes 2 network evaluations a step but the last")
	f.StringVar(&s.opts.Spacing, "spacing", "", "diffusion: which training steps the sampler visits: leading (DDIM's t = i*T/S), trailing (starts at t = T), logsnr (uniform in log-SNR) or karras (rho = 7) (default: the config's sample.spacing)")
	f.Float64Var(&s.opts.Eta, "eta", 0, "diffusion: DDIM eta, 0 deterministic, 1 stochastic")
	f.Float64Var(&s.opts.Churn, "churn", 0, "diffusion, heun: S_churn, the stochastic churn of Karras et al. (2022), 0 = deterministic")
	f.Float64Var(&s.opts.SNoise, "s-noise", 1, "diffusion, heun with --churn: S_noise, the scale of the churn's noise")
	f.Float64Var(&s.opts.STmin, "s-tmin", 0, "diffusion, heun with --churn: churn only at sigma >= S_tmin (sigma = sqrt((1-abar)/abar))")
	f.Float64Var(&s.opts.STmax, "s-tmax", 0, "diffusion, heun with --churn: churn only at sigma <= S_tmax (0 = no bound)")
	f.StringVar(&s.opts.Variance, "variance", "", "diffusion: ancestral variance, beta_tilde (default) or beta")
	f.Float64Var(&s.opts.Guidance, "guidance", 0, "diffusion: classifier-free guidance scale (0 = plain conditional)")
	f.BoolVar(&s.opts.Clip, "clip", false, "diffusion: clamp the predicted x_0 to [-1, 1] at each step (default: the config's sample.clip)")
	return s
}

// samplerFlagNames are the flags of addSamplerFlags.
var samplerFlagNames = []string{"sampler", "steps", "spacing", "eta", "churn", "s-noise", "s-tmin", "s-tmax", "variance", "guidance", "clip"}

// apply sets the sampler of a diffusion model: the flags given override
// its configured defaults; on another model any of them is a usage error.
func (s *samplerFlags) apply(m models.Model) error {
	changed := false
	for _, n := range samplerFlagNames {
		changed = changed || s.fs.Changed(n)
	}
	smp, ok := m.(models.Sampler)
	if !ok {
		if changed {
			return usagef("--%s apply to diffusion models, not to a %s", strings.Join(samplerFlagNames, ", --"), m.Kind())
		}
		return nil
	}
	if !changed {
		return nil
	}
	opts := smp.Options()
	if s.fs.Changed("sampler") {
		opts.Sampler = s.opts.Sampler
		if !s.fs.Changed("steps") {
			opts.Steps = 0 // the new sampler's own default
		}
	}
	if s.fs.Changed("steps") {
		opts.Steps = s.opts.Steps
	}
	if s.fs.Changed("spacing") {
		opts.Spacing = s.opts.Spacing
	}
	if s.fs.Changed("eta") {
		opts.Eta = s.opts.Eta
	}
	churnFlags := false
	for _, n := range []string{"churn", "s-noise", "s-tmin", "s-tmax"} {
		churnFlags = churnFlags || s.fs.Changed(n)
	}
	if churnFlags {
		if opts.Sampler != models.SamplerHeun {
			return usagef("--churn, --s-noise, --s-tmin and --s-tmax are options of --sampler heun, not of %s", opts.Sampler)
		}
		opts.Churn, opts.SNoise, opts.STmin, opts.STmax = s.opts.Churn, s.opts.SNoise, s.opts.STmin, s.opts.STmax
	}
	if s.fs.Changed("variance") {
		opts.Variance = s.opts.Variance
	}
	if s.fs.Changed("guidance") {
		opts.Guidance = s.opts.Guidance
	}
	if s.fs.Changed("clip") {
		opts.Clip = s.opts.Clip
	}
	if err := smp.SetSampler(opts); err != nil {
		return usageError{err}
	}
	return nil
}
