package models

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// GAN2DModel is the 2-D GAN (Goodfellow et al. 2014 with the
// non-saturating loss, as in the VEEGAN/PacGAN toy experiments but without
// BatchNorm):
//
//	G: z(latent) → H → ReLU → H → ReLU → 2,  z ~ N(0, I)
//	D: x(2) → H → LReLU(0.2) → H → LReLU(0.2) → 1 (a logit)
//
// trained with one D step then one G step on the same z, one Adam per
// network and one graph per objective (Grad once per graph, as for the cGAN). It samples with G
// itself: no weight average. Two remedies for collapse are options: one-sided
// label smoothing and experience replay (replay.go).
type GAN2DModel struct {
	Latent     int
	G, D       *toyMLP
	GP, DP     *nn.Params
	OptG, OptD *nn.Adam
	scale      float64
	loss       ganLoss
	replay     *replayBuffer // nil: off
	slots      []int         // the replay choice of the step being taken
	dStep      *toyGANStep
	gStep      *toyGANStep
	sampler    *toyForward
}

// NewGAN2DModel returns an untrained 2-D GAN.
func NewGAN2DModel(o Toy2DOptions) *GAN2DModel {
	r := rng.New(o.Seed, StreamInit)
	gp, dp := nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r)
	m := &GAN2DModel{
		Latent: o.Latent, GP: gp, DP: dp, scale: o.Mixture.Scale(),
		loss:   ganLoss{kind: "ns", smoothing: o.LabelSmoothing},
		replay: newReplayBuffer(o.ReplaySize, o.ReplayShare, 2, false),
		G:      newToyMLP(gp, "g.net", nn.ReLU, o.Latent, o.Hidden, o.Hidden, 2),
		D:      newToyMLP(dp, "d.net", leakyReLU02, 2, o.Hidden, o.Hidden, 1),
	}
	m.OptG = nn.NewAdam(gp.List, o.LR, o.Beta1, o.Beta2, o.Eps)
	m.OptD = nn.NewAdam(dp.List, o.LR, o.Beta1, o.Beta2, o.Eps)
	return m
}

func (m *GAN2DModel) Kind() string   { return "gan2d" }
func (m *GAN2DModel) NumParams() int { return m.GP.Count() + m.DP.Count() }

// toyGANStep is one GAN objective at a fixed batch: x (real points, D
// step only) and z in; loss, D's logits and gradients out.
type toyGANStep struct {
	x, z               *tensor.Dense
	loss, dReal, dFake G.Value
	grads              G.Nodes
	vm                 G.VM
}

// logits applies D to points (B, 2) and returns (B).
func (m *GAN2DModel) logits(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
	out, err := m.D.apply(g, x)
	if err != nil {
		return nil, fmt.Errorf("gan2d discriminator: %w", err)
	}
	return G.Reshape(out, tensor.Shape{x.Shape()[0]})
}

// newStep builds L_D (d true: real and G(z) through D, gradients wrt D)
// or L_G (G(z) through D, gradients wrt G). With replay on, D's graph swaps
// fakes with the buffer at a tap between G and D (the gradient wrt D does
// not pass through G, so nothing else sees the swap).
func (m *GAN2DModel) newStep(batch int, d bool) (*toyGANStep, error) {
	g := G.NewGraph()
	s := &toyGANStep{x: f32(batch, 2), z: f32(batch, m.Latent)}
	fake, err := m.G.apply(g, G.NodeFromAny(g, s.z, G.WithName("z")))
	if err != nil {
		return nil, fmt.Errorf("gan2d generator: %w", err)
	}
	if d && m.replay != nil {
		if fake, err = nn.Tap(fake, func(v G.Value) error { return m.replay.mix(v.Data().([]float32), nil, m.slots) }); err != nil {
			return nil, err
		}
	}
	dFake, err := m.logits(g, fake)
	if err != nil {
		return nil, err
	}
	loss, wrt := m.loss.generator(dFake), m.GP.List
	if d {
		dReal, err := m.logits(g, G.NodeFromAny(g, s.x, G.WithName("x")))
		if err != nil {
			return nil, err
		}
		loss, wrt = m.loss.discriminator(g, dReal, dFake), m.DP.List
		G.Read(dReal, &s.dReal)
		G.Read(dFake, &s.dFake)
	}
	G.Read(loss, &s.loss)
	if s.grads, err = G.Grad(loss, paramNodes(g, wrt)...); err != nil {
		return nil, fmt.Errorf("gan2d gradients: %w", err)
	}
	s.vm = G.NewTapeMachine(g)
	return s, nil
}

// TrainStep draws z ~ N(0, I) from r, takes one D step on the real points
// and G(z) (with replay, a share of the G(z) swapped for stored fakes), then
// one G step on the same z.
func (m *GAN2DModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	var err error
	if m.dStep == nil || m.dStep.x.Shape()[0] != b.N {
		if m.dStep, err = m.newStep(b.N, true); err != nil {
			return nil, err
		}
		if m.gStep, err = m.newStep(b.N, false); err != nil {
			return nil, err
		}
	}
	d, gs := m.dStep, m.gStep
	if err := scaledPoints(d.x.Data().([]float32), b.X, b.N, m.scale); err != nil {
		return nil, fmt.Errorf("gan2d: %w", err)
	}
	rng.Normal(r, d.z.Data().([]float32))
	copy(gs.z.Data().([]float32), d.z.Data().([]float32))
	if m.replay != nil {
		m.slots = m.replay.slots(r, b.N)
	}
	if err := runVM(d.vm); err != nil {
		return nil, fmt.Errorf("gan2d D step: %w", err)
	}
	if err := m.OptD.Update(gradValues(d.grads)); err != nil {
		return nil, err
	}
	if err := runVM(gs.vm); err != nil {
		return nil, fmt.Errorf("gan2d G step: %w", err)
	}
	if err := m.OptG.Update(gradValues(gs.grads)); err != nil {
		return nil, err
	}
	return []Metric{
		{"d_loss", scalarValue(d.loss)},
		{"g_loss", scalarValue(gs.loss)},
		{"d_real", meanSigmoid(d.dReal)},
		{"d_fake", meanSigmoid(d.dFake)},
	}, nil
}

// meanSigmoid is the mean of σ(logit): D's mean probability of "real".
func meanSigmoid(v G.Value) float64 {
	ls := v.Data().([]float32)
	s := 0.0
	for _, l := range ls {
		s += 1 / (1 + math.Exp(-float64(l)))
	}
	return s / float64(len(ls))
}

// Generate returns G(z) for z ~ N(0, I) drawn from each seed's stream
// StreamSample; labels are ignored (the model is unconditional).
func (m *GAN2DModel) Generate(seeds []uint64, _ []int) ([][]float32, error) {
	if m.sampler == nil {
		var err error
		if m.sampler, err = newToyForward(m.G, m.Latent); err != nil {
			return nil, fmt.Errorf("gan2d generator: %w", err)
		}
	}
	z := m.sampler.in.Data().([]float32)
	out := make([][]float32, 0, len(seeds))
	for start := 0; start < len(seeds); start += toyBatch {
		end := min(start+toyBatch, len(seeds))
		clear(z)
		for i, s := range seeds[start:end] {
			rng.Normal(rng.New(s, StreamSample), z[i*m.Latent:(i+1)*m.Latent])
		}
		if err := runVM(m.sampler.vm); err != nil {
			return nil, fmt.Errorf("gan2d sampler: %w", err)
		}
		out = append(out, pointsFrom(m.sampler.out.Data().([]float32), end-start, m.scale)...)
	}
	return out, nil
}

// Evaluate has no held-out score of its own; the training loop adds the
// mode counts of docs/metrics.md §6.2.
func (m *GAN2DModel) Evaluate(*data.Dataset) ([]Metric, error) { return nil, nil }

// State is the weights and, for training, the optimizers and the replay
// buffer.
func (m *GAN2DModel) State(train bool) []checkpoint.Tensor {
	ts := modelState(train, [][]*nn.Param{m.GP.List, m.DP.List}, namedAdam{"optim_g", m.OptG}, namedAdam{"optim_d", m.OptD})
	if train {
		ts = append(ts, m.replay.state()...)
	}
	return ts
}

func (m *GAN2DModel) Load(f *checkpoint.File, train bool) error {
	if err := loadModelState(f, train, [][]*nn.Param{m.GP.List, m.DP.List}, namedAdam{"optim_g", m.OptG}, namedAdam{"optim_d", m.OptD}); err != nil {
		return err
	}
	if train {
		return m.replay.load(f, 0)
	}
	return nil
}

// GAN2DConfig is the 2-D GAN's section: the MLP widths and its two remedies
// for collapse.
type GAN2DConfig struct {
	LatentConfig
	LabelSmoothing float64 `key:"train.label_smoothing"` // one-sided: D's target for real points is 1-s
	ReplayConfig
}

// Validate checks the widths, the smoothing and the replay keys.
func (s *GAN2DConfig) Validate(c *config.Config, v *config.Checker) {
	s.LatentConfig.Validate(c, v)
	v.Check("train.label_smoothing", s.LabelSmoothing >= 0 && s.LabelSmoothing < 0.5, ">= 0 and < 0.5", s.LabelSmoothing)
	s.ReplayConfig.Validate(c, v)
}

var gan2dKind = &Kind{
	Kind:    config.Kind{Name: "gan2d", Section: func() config.Section { return &GAN2DConfig{} }, Points: true},
	Summary: "GAN on a 2-D mixture (ring8, grid25): the mode-coverage benchmark",
	New: func(cfg *config.Config) (Model, error) {
		o, err := mixtureOptions(cfg)
		if err != nil {
			return nil, err
		}
		s := cfg.Own.(*GAN2DConfig)
		o.Hidden, o.Latent = s.Hidden, s.Latent
		o.LabelSmoothing, o.ReplaySize, o.ReplayShare = s.LabelSmoothing, s.ReplaySize, s.ReplayShare
		return NewGAN2DModel(o), nil
	},
}
