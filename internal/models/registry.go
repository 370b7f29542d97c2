package models

import (
	"fmt"
	"strconv"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/version"
)

// Checkpoint metadata keys: a checkpoint describes itself, so sampling from
// it needs nothing else.
const (
	MetaFormat  = "gentri.format"
	MetaKind    = "gentri.kind"
	MetaConfig  = "gentri.config"
	MetaStep    = "gentri.step"
	MetaVersion = "gentri.version"
	formatV1    = "1"
)

// Height and Width are the image size every model is built for (MNIST's).
const Height, Width = 28, 28

// New builds an untrained model of cfg.Model.Kind, with weights drawn from
// the run's seed.
func New(cfg *config.Config) (Model, error) {
	const pixels = Height * Width
	t := cfg.Train
	switch cfg.Model.Kind {
	case "vae":
		return NewVAEModel(pixels, cfg.Model.Hidden, cfg.Model.Latent, t.Seed, t.LR, t.Beta1, t.Beta2, t.Eps), nil
	case "classifier":
		return NewClassifierModel(cfg.Model.Channels, cfg.Model.Hidden, cfg.Model.Classes, t.Seed, t.LR, t.Beta1, t.Beta2, t.Eps), nil
	case "ddpm":
		m, err := NewDDPMModel(DDPMOptions{
			UNet: UNetOptions{Channels: cfg.Model.Channels, Classes: cfg.Model.Classes},
			Seed: t.Seed, LR: t.LR, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps, EMA: t.EMA,
			Timesteps: t.Timesteps, Schedule: t.Schedule, BetaStart: t.BetaStart, BetaEnd: t.BetaEnd,
			CondDrop: t.CondDrop, Warmup: t.Warmup,
		})
		if err != nil {
			return nil, err
		}
		s := cfg.Sample
		if err := m.SetSampler(SamplerOptions{Sampler: s.Sampler, Steps: s.Steps, Eta: s.Eta, Variance: s.Variance, Guidance: s.Guidance, Clip: s.Clip}); err != nil {
			return nil, fmt.Errorf("sample.*: %w", err)
		}
		return m, nil
	case "cgan":
		return NewCGANModel(CGANOptions{
			Latent: cfg.Model.Latent, Channels: cfg.Model.Channels, Classes: cfg.Model.Classes, Seed: t.Seed,
			LRG: t.LR, LRD: t.LRD, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps,
			EMA: t.EMA, LabelSmoothing: t.LabelSmoothing, Loss: t.Loss,
		}), nil
	case "gan2d", "vae2d", "ddpm2d":
		return newToy2D(cfg)
	}
	return nil, fmt.Errorf("model kind %q is not implemented", cfg.Model.Kind)
}

// Metadata returns the self-description stored with a model's weights.
func Metadata(m Model, cfg *config.Config, step int) map[string]string {
	return map[string]string{
		MetaFormat:  formatV1,
		MetaKind:    m.Kind(),
		MetaConfig:  string(cfg.YAML()),
		MetaStep:    strconv.Itoa(step),
		MetaVersion: version.Version,
	}
}

// Describe reads a checkpoint's self-description: its config and step.
func Describe(f *checkpoint.File, name string) (*config.Config, int, error) {
	if f.Metadata[MetaFormat] != formatV1 {
		return nil, 0, fmt.Errorf("%s: not a gentri checkpoint (metadata %q is %q, want %q)", name, MetaFormat, f.Metadata[MetaFormat], formatV1)
	}
	kind := f.Metadata[MetaKind]
	cfg, err := config.Load(kind, "", nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	if err := config.Parse(cfg, []byte(f.Metadata[MetaConfig]), name+" (metadata "+MetaConfig+")"); err != nil {
		return nil, 0, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, 0, fmt.Errorf("%s: stored config: %w", name, err)
	}
	if cfg.Model.Kind != kind {
		return nil, 0, fmt.Errorf("%s: metadata says kind %q but its config says %q", name, kind, cfg.Model.Kind)
	}
	step, err := strconv.Atoi(f.Metadata[MetaStep])
	if err != nil || step < 0 {
		return nil, 0, fmt.Errorf("%s: bad step %q in metadata", name, f.Metadata[MetaStep])
	}
	return cfg, step, nil
}

// Open reads a checkpoint and rebuilds its model with the stored weights
// (and, with train, the optimizer state).
func Open(path string, train bool) (Model, *config.Config, *checkpoint.File, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, _, err := Describe(f, path)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := New(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.Load(f, train); err != nil {
		return nil, nil, nil, fmt.Errorf("checkpoint %s does not fit a %s model of its own config: %w", path, cfg.Model.Kind, err)
	}
	return m, cfg, f, nil
}
