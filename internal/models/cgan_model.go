package models

import (
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// GANModel is the trainable image GAN: G, D, an exponential moving
// average of G that sampling uses, one Adam per network, and one graph per
// objective on the shared weights (Gorgonia's Grad must not be called twice
// on one graph: the second call silently returns stale derivatives). The generator's graph runs the
// discriminator's at a tap on its fakes (newGStep), so G runs forward once
// a step. With classes it is the conditional GAN (CGANModel, kind cgan);
// without (Classes 0, kind gan) G and D have no label input at all: no
// embedding in G, no projection head in D.
type GANModel struct {
	G, GEMA    *Generator
	D          *Discriminator
	OptG, OptD *nn.Adam
	EMADecay   float64
	loss       ganLoss
	replay     *replayBuffer // nil: off
	slots      []int         // the replay choice of the step being taken
	labels     []int         // the classes of the step's fakes (conditional only)
	dStep      *ganDStep
	gStep      *ganGStep
	sampler    *ganSampler
}

// CGANModel is the GAN with a class input; NumClasses makes it Conditional.
type CGANModel struct{ *GANModel }

// CGANOptions are the image GANs' hyperparameters; Classes 0 builds the
// unconditional GAN.
type CGANOptions struct {
	Latent, Channels, Classes int
	Image                     Shape // the images' shape; zero = DefaultShape
	Seed                      uint64
	LRG, LRD, Beta1, Beta2    float64
	Eps, EMA, LabelSmoothing  float64
	Loss                      string
	// Experience replay (replay.go): buffer size in fakes (0 = off) and the
	// share of D's fakes it gives once full.
	ReplaySize  int
	ReplayShare float64
}

// ganSampleBatch is the fixed batch of the sampling graph.
const ganSampleBatch = 100

// NewCGANModel returns an untrained conditional GAN (o.Classes >= 1).
func NewCGANModel(o CGANOptions) *CGANModel { return &CGANModel{NewGANModel(o)} }

// NewGANModel returns an untrained GAN, conditional when o.Classes > 0;
// G's average starts as a copy of G.
func NewGANModel(o CGANOptions) *GANModel {
	r := rng.New(o.Seed, StreamInit)
	gp, dp, ep := nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r)
	img := o.Image.orDefault()
	m := &GANModel{
		G:        NewGenerator(gp, "g", o.Latent, o.Channels, o.Classes, img),
		D:        NewDiscriminator(dp, "d", o.Channels, o.Classes, img),
		GEMA:     NewGenerator(ep, "g_ema", o.Latent, o.Channels, o.Classes, img),
		EMADecay: o.EMA,
		loss:     ganLoss{kind: o.Loss, smoothing: o.LabelSmoothing},
		replay:   newReplayBuffer(o.ReplaySize, o.ReplayShare, img.Pixels(), o.Classes > 0),
	}
	copyState(m.GEMA.state(), m.G.state())
	m.OptG = nn.NewAdam(gp.List, o.LRG, o.Beta1, o.Beta2, o.Eps)
	m.OptD = nn.NewAdam(dp.List, o.LRD, o.Beta1, o.Beta2, o.Eps)
	return m
}

// Kind is cgan with a class input, gan without.
func (m *GANModel) Kind() string {
	if m.conditional() {
		return "cgan"
	}
	return "gan"
}

func (m *GANModel) conditional() bool { return m.G.Classes > 0 }

func (m *GANModel) NumParams() int {
	return m.G.Params.Count() + m.D.Params.Count()
}

// state lists the generator's learnable weights followed by its BatchNorm
// running statistics: everything the EMA copy tracks.
func (m *Generator) state() []*nn.Param {
	return append(append([]*nn.Param{}, m.Params.List...), append(m.bn0.Buffers(), m.bn1.Buffers()...)...)
}

func copyState(dst, src []*nn.Param) {
	for i := range dst {
		copy(dst[i].Value.Data().([]float32), src[i].Value.Data().([]float32))
	}
}

// ganDStep is the discriminator's objective: real images and the
// generator's fakes (copied in by the generator's graph, at its tap) go
// through D as one batch, and the gradient is taken with respect to D's
// parameters only.
type ganDStep struct {
	x, y        *tensor.Dense // (2B, C, H, W): real then fake; (2B, classes), nil without classes
	loss, dReal G.Value
	dFake       G.Value
	grads       G.Nodes
	vm          G.VM
}

// labelInput is the node of a label tensor, or nil for an unconditional GAN
// (whose networks take none).
func labelInput(g *G.ExprGraph, y *tensor.Dense) *G.Node {
	if y == nil {
		return nil
	}
	return G.NodeFromAny(g, y, G.WithName("y"))
}

// labelTensor is a (rows, classes) one-hot input, or nil without classes.
func (m *GANModel) labelTensor(rows int) *tensor.Dense {
	if !m.conditional() {
		return nil
	}
	return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(rows, m.G.Classes))
}

func (m *GANModel) newDStep(batch int) (*ganDStep, error) {
	g := G.NewGraph()
	s := &ganDStep{
		x: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2*batch, m.D.Image.C, m.D.Image.H, m.D.Image.W)),
		y: m.labelTensor(2 * batch),
	}
	logits, err := m.D.Apply(g, G.NodeFromAny(g, s.x, G.WithName("x")), labelInput(g, s.y))
	if err != nil {
		return nil, err
	}
	halves, err := nn.Split(logits, 0, 2) // not G.Slice: see nn.Split
	if err != nil {
		return nil, fmt.Errorf("cgan: discriminator logits: %w", err)
	}
	dReal, dFake := halves[0], halves[1]
	loss := m.loss.discriminator(g, dReal, dFake)
	G.Read(loss, &s.loss)
	G.Read(dReal, &s.dReal)
	G.Read(dFake, &s.dFake)
	if s.grads, err = G.Grad(loss, paramNodes(g, m.D.Params.List)...); err != nil {
		return nil, fmt.Errorf("cgan: discriminator gradients: %w", err)
	}
	if s.vm, err = newMachine(g, s.grads); err != nil {
		return nil, fmt.Errorf("cgan: discriminator step: %w", err)
	}
	return s, nil
}

// discriminatorStep is the tap of the generator's graph: it copies the fake
// images into the discriminator's batch (with replay, a share of them
// swapped for stored fakes and their classes), takes D's step and updates D,
// all before the generator's graph scores the step's own fakes with D.
func (m *GANModel) discriminatorStep(fake G.Value) error {
	d := m.dStep
	x := d.x.Data().([]float32)
	copy(x[len(x)/2:], fake.Data().([]float32))
	if m.replay != nil {
		var labels []int
		if m.conditional() {
			labels = slices.Clone(m.labels)
		}
		if err := m.replay.mix(x[len(x)/2:], labels, m.slots); err != nil {
			return fmt.Errorf("cgan D step: %w", err)
		}
		if labels != nil {
			y := d.y.Data().([]float32)
			oneHot(y[len(y)/2:], labels, m.G.Classes)
		}
	}
	if err := runVM(d.vm); err != nil {
		return fmt.Errorf("cgan D step: %w", err)
	}
	return m.OptD.Update(gradValues(d.grads))
}

// ganGStep is the whole step's graph: G(z, y) once (BatchNorm in training
// mode, moving the running statistics), D's step at the tap, then the
// generator's objective on the same fakes, scored by the updated D, with
// the gradient taken with respect to G's parameters. This is the reference's
// order (D steps on fake.detach(), then G steps through D) with one forward
// pass of G where two graphs would each need their own.
type ganGStep struct {
	z, y  *tensor.Dense // y nil without classes
	loss  G.Value
	grads G.Nodes
	vm    G.VM
}

func (m *GANModel) newGStep(batch int) (*ganGStep, error) {
	g := G.NewGraph()
	s := &ganGStep{
		z: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, m.G.Latent)),
		y: m.labelTensor(batch),
	}
	z, y := G.NodeFromAny(g, s.z, G.WithName("z")), labelInput(g, s.y)
	fake, err := m.G.Apply(g, z, y, true, true)
	if err != nil {
		return nil, err
	}
	if fake, err = nn.Tap(fake, m.discriminatorStep); err != nil {
		return nil, err
	}
	logits, err := m.D.Apply(g, fake, y)
	if err != nil {
		return nil, err
	}
	loss := m.loss.generator(logits)
	G.Read(loss, &s.loss)
	if s.grads, err = G.Grad(loss, paramNodes(g, m.G.Params.List)...); err != nil {
		return nil, fmt.Errorf("cgan: generator gradients: %w", err)
	}
	if s.vm, err = newMachine(g, s.grads); err != nil {
		return nil, fmt.Errorf("cgan: generator step: %w", err)
	}
	return s, nil
}

// ganSampler runs the EMA generator with BatchNorm in eval mode, so each
// sample depends on its own noise and label only.
type ganSampler struct {
	z, y *tensor.Dense // y nil without classes
	out  G.Value
	vm   G.VM
}

func (m *GANModel) newSampler() (*ganSampler, error) {
	g := G.NewGraph()
	s := &ganSampler{
		z: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(ganSampleBatch, m.GEMA.Latent)),
		y: m.labelTensor(ganSampleBatch),
	}
	img, err := m.GEMA.Apply(g, G.NodeFromAny(g, s.z, G.WithName("z")), labelInput(g, s.y), false, false)
	if err != nil {
		return nil, err
	}
	G.Read(img, &s.out)
	if s.vm, err = newMachine(g, nil); err != nil {
		return nil, fmt.Errorf("cgan: sampler: %w", err)
	}
	return s, nil
}

func paramNodes(g *G.ExprGraph, ps []*nn.Param) G.Nodes {
	ns := make(G.Nodes, len(ps))
	for i, p := range ps {
		ns[i] = p.Node(g)
	}
	return ns
}

func gradValues(ns G.Nodes) []G.Value {
	vs := make([]G.Value, len(ns))
	for i, n := range ns {
		vs[i] = n.Value()
	}
	return vs
}

// oneHot writes labels as rows of a (len(labels), classes) one-hot matrix.
func oneHot(dst []float32, labels []int, classes int) {
	clear(dst)
	for i, l := range labels {
		dst[i*classes+l] = 1
	}
}

// TrainStep takes one D step then one G step on the same z and labels, as
// the PyTorch reference does, then moves G's average. An unconditional GAN
// ignores the batch's labels.
func (m *GANModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	var err error
	if m.dStep == nil || m.gStep.z.Shape()[0] != b.N {
		if m.dStep, err = m.newDStep(b.N); err != nil {
			return nil, err
		}
		if m.gStep, err = m.newGStep(b.N); err != nil {
			return nil, err
		}
	}
	d, gs := m.dStep, m.gStep
	x := d.x.Data().([]float32)
	for i, v := range b.X[:len(x)/2] {
		x[i] = 2*v - 1 // images in [−1, 1], the range of tanh
	}
	if m.conditional() {
		labels := make([]int, b.N)
		for i, l := range b.Labels[:b.N] {
			if int(l) >= m.G.Classes {
				return nil, fmt.Errorf("cgan: label %d but the model has %d classes", l, m.G.Classes)
			}
			labels[i] = int(l)
		}
		oneHot(gs.y.Data().([]float32), labels, m.G.Classes)
		dy := d.y.Data().([]float32)
		copy(dy, gs.y.Data().([]float32))
		copy(dy[len(dy)/2:], gs.y.Data().([]float32))
		m.labels = labels
	}
	rng.Normal(r, gs.z.Data().([]float32))
	if m.replay != nil {
		m.slots = m.replay.slots(r, b.N)
	}

	// One run: G forward, D's step at the tap, then G's objective.
	if err := runVM(gs.vm); err != nil {
		return nil, fmt.Errorf("cgan step: %w", err)
	}
	if err := m.OptG.Update(gradValues(gs.grads)); err != nil {
		return nil, err
	}
	m.updateEMA()
	return []Metric{
		{"d_loss", scalarValue(d.loss)},
		{"g_loss", scalarValue(gs.loss)},
		{"d_real", m.meanScore(d.dReal)},
		{"d_fake", m.meanScore(d.dFake)},
	}, nil
}

// meanScore is the mean of sigmoid(D) for the non-saturating loss (D's
// probability that an image is real) and the mean raw D for the hinge loss.
func (m *GANModel) meanScore(v G.Value) float64 {
	ls := v.Data().([]float32)
	s := 0.0
	for _, l := range ls {
		if m.loss.kind == "hinge" {
			s += float64(l)
		} else {
			s += 1 / (1 + math.Exp(-float64(l)))
		}
	}
	return s / float64(len(ls))
}

// updateEMA moves G's average towards G (ema.go: warm-up decay
// min(d, (1+t)/(10+t))). BatchNorm running statistics are averaged the same
// way (as timm's ModelEmaV2 does with buffers).
func (m *GANModel) updateEMA() {
	updateEMA(m.GEMA.state(), m.G.state(), m.EMADecay, m.OptG.Step)
}

// Generate draws z ~ N(0, I) from each seed's own stream, then, for a
// label < 0, a uniform class from the same stream. An unconditional GAN
// ignores labels.
func (m *GANModel) Generate(seeds []uint64, labels []int) ([][]float32, error) {
	if m.sampler == nil {
		var err error
		if m.sampler, err = m.newSampler(); err != nil {
			return nil, err
		}
	}
	s := m.sampler
	lat, pixels := m.GEMA.Latent, m.GEMA.Image.Pixels()
	z := s.z.Data().([]float32)
	var out [][]float32
	for start := 0; start < len(seeds); start += ganSampleBatch {
		end := min(start+ganSampleBatch, len(seeds))
		clear(z)
		ls := make([]int, ganSampleBatch)
		for i, seed := range seeds[start:end] {
			r := rng.New(seed, StreamSample)
			rng.Normal(r, z[i*lat:(i+1)*lat])
			if !m.conditional() {
				continue
			}
			ls[i] = -1
			if labels != nil {
				ls[i] = labels[start+i]
			}
			if ls[i] < 0 {
				ls[i] = r.IntN(m.GEMA.Classes)
			}
			if ls[i] >= m.GEMA.Classes {
				return nil, fmt.Errorf("cgan: class %d requested, the model has classes 0..%d", ls[i], m.GEMA.Classes-1)
			}
		}
		if m.conditional() {
			oneHot(s.y.Data().([]float32), ls, m.GEMA.Classes)
		}
		if err := runVM(s.vm); err != nil {
			return nil, fmt.Errorf("cgan sampler: %w", err)
		}
		imgs := appendRows(nil, s.out, end-start, pixels)
		for _, img := range imgs {
			for j, v := range img {
				img[j] = (v + 1) / 2
			}
		}
		out = append(out, imgs...)
	}
	return out, nil
}

// Evaluate has no held-out score of its own: `gentri eval` measures a GAN.
func (m *GANModel) Evaluate(*data.Dataset) ([]Metric, error) { return nil, nil }

// State is the weights and, for training, the optimizers and the replay
// buffer.
func (m *GANModel) State(train bool) []checkpoint.Tensor {
	ts := modelState(train, m.weights(), m.optimizers()...)
	if train {
		ts = append(ts, m.replay.state()...)
	}
	return ts
}

func (m *GANModel) Load(f *checkpoint.File, train bool) error {
	if err := loadModelState(f, train, m.weights(), m.optimizers()...); err != nil {
		return err
	}
	if train {
		return m.replay.load(f, m.G.Classes)
	}
	return nil
}

func (m *GANModel) weights() [][]*nn.Param {
	return [][]*nn.Param{m.G.state(), m.D.Params.List, m.GEMA.state()}
}

func (m *GANModel) optimizers() []namedAdam {
	return []namedAdam{{"optim_g", m.OptG}, {"optim_d", m.OptD}}
}

// NumClasses makes the cGAN a Conditional model.
func (m *CGANModel) NumClasses() int { return m.G.Classes }

// CGANConfig is the cGAN's section.
type CGANConfig struct {
	Latent   int `key:"model.latent"`   // dimension of the noise z
	Channels int `key:"model.channels"` // base channel count of G and D
	Classes  int `key:"model.classes"`  // number of labels
	GANTrainConfig
}

// GANConfig is the unconditional GAN's section: the cGAN's without classes.
type GANConfig struct {
	Latent   int `key:"model.latent"`   // dimension of the noise z
	Channels int `key:"model.channels"` // base channel count of G and D
	GANTrainConfig
}

// GANTrainConfig holds the training keys the two image GANs share.
type GANTrainConfig struct {
	LRD            float64 `key:"train.lr_d"`            // the discriminator's learning rate (train.lr is G's)
	Loss           string  `key:"train.loss"`            // "ns" (non-saturating softplus) | "hinge"
	LabelSmoothing float64 `key:"train.label_smoothing"` // one-sided: D's target for real images is 1-s
	EMA            float64 `key:"train.ema"`             // decay of G's weight average for sampling (0 = off)
	ReplayConfig
}

// Validate checks the sizes, the loss and its options.
func (s *CGANConfig) Validate(c *config.Config, v *config.Checker) {
	validateGANSizes(v, s.Latent, s.Channels)
	v.Check("model.classes", config.In(s.Classes, 2, 10), "in [2, 10] (MNIST labels)", s.Classes)
	s.GANTrainConfig.Validate(c, v)
}

// Validate checks the sizes, the loss and its options.
func (s *GANConfig) Validate(c *config.Config, v *config.Checker) {
	validateGANSizes(v, s.Latent, s.Channels)
	s.GANTrainConfig.Validate(c, v)
}

func validateGANSizes(v *config.Checker, latent, channels int) {
	v.Check("model.latent", config.In(latent, 1, 4096), "in [1, 4096]", latent)
	v.Check("model.channels", config.In(channels, 1, 1024), "in [1, 1024]", channels)
}

// Validate checks the loss, its options and the replay keys.
func (s *GANTrainConfig) Validate(c *config.Config, v *config.Checker) {
	v.Check("train.lr_d", s.LRD > 0 && s.LRD <= 1, "> 0 and <= 1", s.LRD)
	v.Check("train.loss", s.Loss == "ns" || s.Loss == "hinge", "one of ns, hinge", s.Loss)
	v.Check("train.label_smoothing", s.LabelSmoothing >= 0 && s.LabelSmoothing < 0.5, ">= 0 and < 0.5", s.LabelSmoothing)
	v.Check("train.ema", s.EMA >= 0 && s.EMA < 1, ">= 0 and < 1", s.EMA)
	v.Check("train.label_smoothing", s.Loss != "hinge" || s.LabelSmoothing == 0, "0 with train.loss hinge", s.LabelSmoothing)
	s.ReplayConfig.Validate(c, v)
}

// options are the CGANOptions of a config with these training keys.
func (s *GANTrainConfig) options(cfg *config.Config, latent, channels, classes int) CGANOptions {
	t := cfg.Train
	return CGANOptions{
		Latent: latent, Channels: channels, Classes: classes, Image: ShapeOf(cfg), Seed: t.Seed,
		LRG: t.LR, LRD: s.LRD, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps,
		EMA: s.EMA, LabelSmoothing: s.LabelSmoothing, Loss: s.Loss,
		ReplaySize: s.ReplaySize, ReplayShare: s.ReplayShare,
	}
}

var cganKind = &Kind{
	Kind:    config.Kind{Name: "cgan", Section: func() config.Section { return &CGANConfig{} }},
	Summary: "class-conditional GAN, DCGAN-style with a projection discriminator",
	Caps:    CapConditional,
	New: func(cfg *config.Config) (Model, error) {
		s := cfg.Own.(*CGANConfig)
		return NewCGANModel(s.options(cfg, s.Latent, s.Channels, s.Classes)), nil
	},
}

var ganKind = &Kind{
	Kind:    config.Kind{Name: "gan", Section: func() config.Section { return &GANConfig{} }},
	Summary: "unconditional GAN: the cgan's networks without the label input",
	New: func(cfg *config.Config) (Model, error) {
		s := cfg.Own.(*GANConfig)
		return NewGANModel(s.options(cfg, s.Latent, s.Channels, 0)), nil
	},
}
