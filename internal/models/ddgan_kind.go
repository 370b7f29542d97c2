package models

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
)

// The ddgan and ddgan2d registry entries and their own config keys
// (configs/ddgan.yaml, configs/ddgan2d.yaml).

// DDGANTrainConfig holds the keys both DDGAN kinds share: the schedule's T,
// R1 and its cadence, D's learning rate and G's weight average.
type DDGANTrainConfig struct {
	LRD       float64 `key:"train.lr_d"`      // the discriminator's learning rate (train.lr is G's)
	EMA       float64 `key:"train.ema"`       // decay of G's weight average that sampling uses (0 = off)
	Timesteps int     `key:"train.timesteps"` // diffusion steps T: NFE of sampling
	R1        float64 `key:"train.r1"`        // weight γ of the R1 penalty (0 = off)
	LazyReg   int     `key:"train.lazy_reg"`  // R1 every this many D steps
}

// Validate checks the shared keys.
func (s *DDGANTrainConfig) Validate(_ *config.Config, v *config.Checker) {
	v.Check("train.lr_d", s.LRD > 0, "> 0", s.LRD)
	v.Check("train.ema", s.EMA >= 0 && s.EMA < 1, ">= 0 and < 1", s.EMA)
	v.Check("train.timesteps", config.In(s.Timesteps, 1, 1000), "in [1, 1000]", s.Timesteps)
	v.Check("train.r1", s.R1 >= 0, ">= 0", s.R1)
	v.Check("train.lazy_reg", s.LazyReg >= 1, ">= 1", s.LazyReg)
}

// DDGANConfig is the ddgan kind's section.
type DDGANConfig struct {
	Channels  int    `key:"model.channels"`   // G's base width C (a multiple of 8)
	DChannels int    `key:"model.d_channels"` // D's width
	DHead     string `key:"model.d_head"`     // D's head: sum (the reference's) or flatten
	Latent    int    `key:"model.latent"`     // dimension of z
	Classes   int    `key:"model.classes"`
	DDGANTrainConfig
}

// Validate checks the sizes and the shared keys.
func (s *DDGANConfig) Validate(c *config.Config, v *config.Checker) {
	v.Check("model.channels", s.Channels >= 8 && s.Channels%8 == 0, "a positive multiple of 8", s.Channels)
	v.Check("model.d_channels", s.DChannels >= 2 && s.DChannels%2 == 0, "an even number >= 2", s.DChannels)
	v.Check("model.d_head", slices.Contains(DDGANHeads, s.DHead), "one of "+strings.Join(DDGANHeads, ", "), s.DHead)
	v.Check("model.latent", s.Latent >= 1, ">= 1", s.Latent)
	v.Check("model.classes", s.Classes >= 1, ">= 1", s.Classes)
	s.DDGANTrainConfig.Validate(c, v)
}

var ddganKind = &Kind{
	Kind:    config.Kind{Name: "ddgan", Section: func() config.Section { return &DDGANConfig{} }},
	Summary: "denoising diffusion GAN: T (default 4) large diffusion steps, each a class-conditional GAN; NFE = T",
	Caps:    CapConditional | CapSampler,
	New: func(cfg *config.Config) (Model, error) {
		s, t := cfg.Own.(*DDGANConfig), cfg.Train
		return NewDDGANModel(DDGANOptions{
			T: s.Timesteps, R1: s.R1, LazyReg: s.LazyReg, Latent: s.Latent, Channels: s.Channels, DChannels: s.DChannels, DHead: s.DHead,
			Classes: s.Classes, Image: ShapeOf(cfg), Seed: t.Seed, LRG: t.LR, LRD: s.LRD, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps, EMA: s.EMA,
		})
	},
}

// DDGAN2DConfig is the ddgan2d kind's section.
type DDGAN2DConfig struct {
	Hidden       int     `key:"model.hidden"`        // width of the MLPs' hidden layers
	Latent       int     `key:"model.latent"`        // dimension of z
	GFeatures    int     `key:"model.g_features"`    // Fourier-feature octaves per axis of G's x_{t+1} (0 = the raw point)
	DFeatures    int     `key:"model.d_features"`    // of D's x_t
	FeatureScale float64 `key:"model.feature_scale"` // their highest frequency, on the scaled point
	Schedule     string  `key:"train.schedule"`      // vp (the image model's) | geometric
	SigmaMin     float64 `key:"train.sigma_min"`     // geometric: the last step's noise-to-signal ratio
	SigmaMax     float64 `key:"train.sigma_max"`     // geometric: x_T's
	DDGANTrainConfig
}

// Validate checks the sizes and the shared keys.
func (s *DDGAN2DConfig) Validate(c *config.Config, v *config.Checker) {
	v.Check("model.hidden", s.Hidden >= 1, ">= 1", s.Hidden)
	v.Check("model.latent", s.Latent >= 1, ">= 1", s.Latent)
	v.Check("model.g_features", config.In(s.GFeatures, 0, 32), "in [0, 32]", s.GFeatures)
	v.Check("model.d_features", config.In(s.DFeatures, 0, 32), "in [0, 32]", s.DFeatures)
	v.Check("model.feature_scale", s.FeatureScale > 0, "> 0", s.FeatureScale)
	v.Check("train.schedule", s.Schedule == "vp" || s.Schedule == "geometric", "vp or geometric", s.Schedule)
	v.Check("train.sigma_min", s.SigmaMin > 0, "> 0", s.SigmaMin)
	v.Check("train.sigma_max", s.SigmaMax >= s.SigmaMin && s.SigmaMax < 1e6, ">= train.sigma_min and < 1e6", s.SigmaMax)
	s.DDGANTrainConfig.Validate(c, v)
}

var ddgan2dKind = &Kind{
	Kind:    config.Kind{Name: "ddgan2d", Section: func() config.Section { return &DDGAN2DConfig{} }, Points: true},
	Summary: "denoising diffusion GAN on a 2-D mixture (ring8, grid25), MLP generator and discriminator",
	Caps:    CapSampler,
	New: func(cfg *config.Config) (Model, error) {
		mix, ok := data.MixtureByName(cfg.Data.Dataset)
		if !ok {
			return nil, fmt.Errorf("model kind ddgan2d needs a 2-D mixture, data.dataset is %q", cfg.Data.Dataset)
		}
		s, t := cfg.Own.(*DDGAN2DConfig), cfg.Train
		return NewDDGAN2DModel(DDGAN2DOptions{
			Mixture: mix, Hidden: s.Hidden, Latent: s.Latent, GFeatures: s.GFeatures, DFeatures: s.DFeatures,
			FeatureScale: s.FeatureScale, Schedule: s.Schedule, SigmaMin: s.SigmaMin, SigmaMax: s.SigmaMax, T: s.Timesteps, R1: s.R1, LazyReg: s.LazyReg, Seed: t.Seed,
			LRG: t.LR, LRD: s.LRD, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps, EMA: s.EMA,
		})
	},
}
