package models

import (
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// DDPMModel is the trainable class-conditional DDPM (Ho et al. 2020) with
// classifier-free guidance (Ho & Salimans 2022): the U-Net ("net."), an
// exponential moving average of its weights ("ema.") that sampling and
// evaluation use, one Adam ("optim."), the noise schedule and the sampler
// options.
//
// Training minimises L_simple = mean ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t, y)‖²
// with x_0 ∈ [−1, 1], t ~ U{0..T−1}, and y replaced by "no class" (K) with
// probability CondDrop. Sampling follows Ho et al. (2020) and Song et al.
// (2021; DDIM) exactly: x̂_0
// is never clipped inside the chain; only the final image is clamped to
// [−1, 1] (pixels [0, 1]).
type DDPMModel struct {
	Net, EMA *UNet
	Opt      *nn.Adam
	Sched    *Schedule
	EMADecay float64
	CondDrop float64
	Warmup   int     // linear LR warm-up over this many steps (0 = off)
	LR       float64 // the LR after warm-up

	sampler    SamplerOptions
	inferBatch int // batch of the inference graphs (ddpmInferBatch; tests shrink it)
	train      *unetGraph
	emaFwd     *unetGraph // the inference graph at inferBatch (sampling and test_mse)
}

var (
	_ Model       = (*DDPMModel)(nil)
	_ Sampler     = (*DDPMModel)(nil)
	_ Conditional = (*DDPMModel)(nil)
)

// DDPMOptions are the DDPM's hyperparameters; the U-Net's zero fields take
// the reference's defaults (C 16, mult 1,2,4, GroupNorm 8, 1×28×28).
type DDPMOptions struct {
	UNet                  UNetOptions
	Seed                  uint64
	LR, Beta1, Beta2, Eps float64
	EMA                   float64
	Timesteps             int
	Schedule              string // "linear" or "cosine"
	BetaStart, BetaEnd    float64
	CondDrop              float64
	Warmup                int
}

// ddpmInferBatch is the fixed batch of the sampling and evaluation graphs
// (shorter batches are padded, so a sample's bytes never depend on its
// batch); 100 is a training grid and the timing batch of docs/metrics.md §8.2.
const ddpmInferBatch = 100

// ddpmEvalImages is how many test images Evaluate scores.
const ddpmEvalImages = 1000

// Defaults of the sampler: what the training grids use.
const (
	DefaultSampler   = "ddim"
	DefaultDDIMSteps = 50
)

// NewDDPMModel returns an untrained DDPM whose EMA starts as a copy of the
// network, sampling with DDIM, min(50, T) steps, η = 0 until SetSampler says
// otherwise.
func NewDDPMModel(o DDPMOptions) (*DDPMModel, error) {
	sched, err := NewSchedule(o.Schedule, o.Timesteps, o.BetaStart, o.BetaEnd)
	if err != nil {
		return nil, fmt.Errorf("ddpm: %w", err)
	}
	if !(o.CondDrop >= 0 && o.CondDrop <= 1) || o.Warmup < 0 || !(o.EMA >= 0 && o.EMA < 1) {
		return nil, fmt.Errorf("ddpm: cond_drop %g, warmup %d, ema %g: want cond_drop in [0, 1], warmup >= 0, ema in [0, 1)", o.CondDrop, o.Warmup, o.EMA)
	}
	r := rng.New(o.Seed, StreamInit)
	net, err := NewUNet(nn.NewParams(tensor.Float32, r), "net.", o.UNet)
	if err != nil {
		return nil, fmt.Errorf("ddpm: %w", err)
	}
	ema, err := NewUNet(nn.NewParams(tensor.Float32, r), "ema.", o.UNet)
	if err != nil {
		return nil, fmt.Errorf("ddpm: %w", err)
	}
	copyState(ema.Params.List, net.Params.List)
	m := &DDPMModel{
		Net: net, EMA: ema, Sched: sched,
		Opt:      nn.NewAdam(net.Params.List, o.LR, o.Beta1, o.Beta2, o.Eps),
		EMADecay: o.EMA, CondDrop: o.CondDrop, Warmup: o.Warmup, LR: o.LR,
		inferBatch: ddpmInferBatch,
	}
	if err := m.SetSampler(SamplerOptions{Sampler: DefaultSampler}); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *DDPMModel) Kind() string    { return "ddpm" }
func (m *DDPMModel) NumParams() int  { return m.Net.Params.Count() }
func (m *DDPMModel) NumClasses() int { return m.Net.Classes }
func (m *DDPMModel) pixels() int     { return m.Net.ImageChannels * m.Net.Size * m.Net.Size }
func (m *DDPMModel) noClass() int    { return m.Net.Classes }

// UsesLabels is false when every image trains as "no class" (cond_drop
// 1): the model is then unconditional, and samples so by default.
func (m *DDPMModel) UsesLabels() bool { return m.CondDrop < 1 }

// SetSampler chooses how Generate samples:
//
//	ddpm:    ancestral sampling on Steps steps (0 = all T; fewer is the
//	         respaced DDPM), σ² = β̃ ("beta_tilde", default) or β ("beta");
//	ddim:    DDIM on Steps steps (0 = min(50, T)), η ∈ [0, 1];
//	dpmpp2m: DPM-Solver++(2M) on Steps steps (0 = min(50, T));
//	dpmpp2m-sde: SDE-DPM-Solver++(2M), its stochastic form (same steps);
//	heun:    Karras et al.'s Heun sampler, with optional churn (solvers.go),
//
// each on the training steps that Spacing picks (Timesteps). Guidance
// w ≥ 0 is the classifier-free guidance scale. Errors: an unknown sampler,
// spacing or variance, Steps outside [0, T], η outside [0, 1], w < 0 or
// not finite, a negative churn option. The stored options are normalised
// (normalizeSampler), so Options describes exactly what Generate does.
func (m *DDPMModel) SetSampler(o SamplerOptions) error {
	o, err := normalizeSampler("ddpm", o, m.Sched.T, true)
	if err != nil {
		return err
	}
	m.sampler = o
	return nil
}

// Options returns the current sampler options, normalised by SetSampler.
func (m *DDPMModel) Options() SamplerOptions { return m.sampler }

// NFE is the number of U-Net evaluations per sample (SamplerNFE): one
// per step (Heun: two but the last), twice under guidance (a conditional
// and an unconditional pass).
func (m *DDPMModel) NFE() int { return SamplerNFE(m.sampler) }

// timesteps is the current sampler's step sequence; SetSampler keeps
// Steps in [1, T] and Spacing known, so it cannot fail.
func (m *DDPMModel) timesteps() []int {
	ts, err := Timesteps(m.Sched, m.sampler.Steps, m.sampler.Spacing)
	if err != nil {
		panic(fmt.Sprintf("ddpm: sampler steps %d, spacing %q: %v", m.sampler.Steps, m.sampler.Spacing, err))
	}
	return ts
}

// unetGraph is one graph of a U-Net at a fixed batch: inputs x (B,ch,S,S),
// tfeat (B,C) and one-hot y (B,K+1); out holds ε_θ. With a target it also
// computes the MSE loss and its gradients wrt the network's parameters.
type unetGraph struct {
	batch            int
	x, tfeat, y, eps *tensor.Dense
	out, loss        G.Value
	grads            G.Nodes
	vm               G.VM
	plan             nn.Plan
}

// newUNetGraph builds the graph and its tape machine, the op outputs
// sharing buffers by lifetime (nn.PlanBuffers): the parameters' gradients
// are the only values read after a run beyond the G.Read copies.
func newUNetGraph(net *UNet, batch int, train bool) (*unetGraph, error) {
	s, g, err := buildUNetGraph(net, batch, train)
	if err != nil {
		return nil, err
	}
	if s.vm, s.plan, err = nn.NewTapeMachine(g, s.grads); err != nil {
		return nil, fmt.Errorf("ddpm u-net: %w", err)
	}
	return s, nil
}

// buildUNetGraph builds the graph of newUNetGraph, without its machine.
func buildUNetGraph(net *UNet, batch int, train bool) (*unetGraph, *G.ExprGraph, error) {
	g := G.NewGraph()
	S, ch := net.Size, net.ImageChannels
	f32 := func(shape ...int) *tensor.Dense {
		return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	}
	s := &unetGraph{batch: batch, x: f32(batch, ch, S, S), tfeat: f32(batch, net.Channels), y: f32(batch, net.Classes+1)}
	x := G.NodeFromAny(g, s.x, G.WithName("x"))
	out, err := net.Apply(g, x, G.NodeFromAny(g, s.tfeat, G.WithName("tfeat")), G.NodeFromAny(g, s.y, G.WithName("y")))
	if err != nil {
		return nil, nil, fmt.Errorf("ddpm u-net: %w", err)
	}
	G.Read(out, &s.out)
	if train {
		s.eps = f32(batch, ch, S, S)
		loss := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(out, G.NodeFromAny(g, s.eps, G.WithName("eps"))))))))
		G.Read(loss, &s.loss)
		if s.grads, err = G.Grad(loss, paramNodes(g, net.Params.List)...); err != nil {
			return nil, nil, fmt.Errorf("ddpm: gradients: %w", err)
		}
	}
	return s, g, nil
}

// setRow fills row i's time features for step t and one-hot label.
func (s *unetGraph) setRow(i, t, label int) {
	tf := s.tfeat.Data().([]float32)
	c := len(tf) / s.batch
	TimestepEmbedding(tf[i*c:(i+1)*c], t)
	y := s.y.Data().([]float32)
	k := len(y) / s.batch
	row := y[i*k : (i+1)*k]
	clear(row)
	row[label] = 1
}

// TrainStep draws, from r and in this order, t_i ~ U{0..T−1} for each
// image, ε ~ N(0, I) for the whole batch, then one uniform per image that
// drops its label to "no class" below CondDrop; it takes one Adam step on
// the MSE between ε and ε_θ(x_t, t, y), then moves the EMA.
func (m *DDPMModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	if m.train == nil || m.train.batch != b.N {
		var err error
		if m.train, err = newUNetGraph(m.Net, b.N, true); err != nil {
			return nil, err
		}
	}
	s, P := m.train, m.pixels()
	if len(b.X) < b.N*P || len(b.Labels) < b.N {
		return nil, fmt.Errorf("ddpm: batch of %d holds %d pixels and %d labels, want %d×%d pixels", b.N, len(b.X), len(b.Labels), b.N, P)
	}
	ts := make([]int, b.N)
	for i := range ts {
		ts[i] = r.IntN(m.Sched.T)
	}
	eps := s.eps.Data().([]float32)
	rng.Normal(r, eps)
	x := s.x.Data().([]float32)
	for i, t := range ts {
		label := int(b.Labels[i])
		if label >= m.Net.Classes {
			return nil, fmt.Errorf("ddpm: label %d but the model has %d classes", label, m.Net.Classes)
		}
		if r.Float64() < m.CondDrop {
			label = m.noClass()
		}
		row := x[i*P : (i+1)*P]
		for j, v := range b.X[i*P : (i+1)*P] {
			row[j] = 2*v - 1 // x_0 in [−1, 1]
		}
		QSample(row, row, eps[i*P:(i+1)*P], m.Sched.AlphaBar[t])
		s.setRow(i, t, label)
	}
	if err := runVM(s.vm); err != nil {
		return nil, fmt.Errorf("ddpm train step: %w", err)
	}
	m.Opt.LR = m.learningRate()
	if err := m.Opt.Update(gradValues(s.grads)); err != nil {
		return nil, err
	}
	updateEMA(m.EMA.Params.List, m.Net.Params.List, m.EMADecay, m.Opt.Step)
	return []Metric{{"loss", scalarValue(s.loss)}}, nil
}

// learningRate is LR·min(1, (k+1)/Warmup) for the k-th update (k from 0).
func (m *DDPMModel) learningRate() float64 {
	if k := m.Opt.Step; m.Warmup > 0 && k < int64(m.Warmup) {
		return m.LR * float64(k+1) / float64(m.Warmup)
	}
	return m.LR
}

// epsilon writes ε_θ of the EMA network for the graph's current x at step
// t, guided with scale w: one pass with the rows' labels, and, for w ≠ 0, a
// second with every row unconditional. cond is scratch of the graph's size.
func (m *DDPMModel) epsilon(s *unetGraph, dst, cond []float32, t int, labels []int, w float64) error {
	for i, l := range labels {
		s.setRow(i, t, l)
	}
	if err := runVM(s.vm); err != nil {
		return err
	}
	if w == 0 {
		copy(dst, s.out.Data().([]float32))
		return nil
	}
	copy(cond, s.out.Data().([]float32))
	for i := range labels {
		s.setRow(i, t, m.noClass())
	}
	if err := runVM(s.vm); err != nil {
		return err
	}
	Guide(dst, cond, s.out.Data().([]float32), w)
	return nil
}

// Generate samples one image per seed with the EMA network and the current
// sampler. Sample i draws x_T ~ N(0, I) and then every step's noise z from
// its own stream rng.New(seeds[i], StreamSample), in step order, so it
// depends on its seed and label only. labels[i] < 0 (or labels nil) asks for
// an unconditional sample; the last step adds no noise (DDPM's z = 0 at
// t = 1). Pixels are (clamp(x_0, −1, 1) + 1)/2.
func (m *DDPMModel) Generate(seeds []uint64, labels []int) ([][]float32, error) {
	return m.generate(seeds, labels, nil)
}

// stepObserver sees step k (timestep t) of the chunk of samples
// start..start+n−1: their rows of the step's input x_t and of the ε it
// steps with, before the step. It must not change them.
type stepObserver func(start, n, k, t int, x, eps []float32)

// generate is Generate, showing each step to observe when it is set
// (Trajectory); observing changes no sample.
func (m *DDPMModel) generate(seeds []uint64, labels []int, observe stepObserver) ([][]float32, error) {
	if labels != nil && len(labels) != len(seeds) {
		return nil, fmt.Errorf("ddpm: %d labels for %d seeds", len(labels), len(seeds))
	}
	for i := range seeds {
		if labels != nil && labels[i] >= m.Net.Classes {
			return nil, fmt.Errorf("ddpm: class %d requested, the model has classes 0..%d (or < 0 for unconditional)", labels[i], m.Net.Classes-1)
		}
	}
	if m.emaFwd == nil {
		var err error
		if m.emaFwd, err = newUNetGraph(m.EMA, m.inferBatch, false); err != nil {
			return nil, err
		}
	}
	o := m.sampler
	ts := m.timesteps()
	s, P, B := m.emaFwd, m.pixels(), m.inferBatch
	x := s.x.Data().([]float32)
	cond := make([]float32, B*P)
	chunks := (len(seeds) + B - 1) / B
	out := make([][]float32, 0, len(seeds))
	for c := 0; c < chunks; c++ {
		start, end := c*B, min((c+1)*B, len(seeds))
		n := end - start
		clear(x)
		rs := make([]*rng.RNG, n)
		ls := make([]int, B)
		for i := range ls {
			ls[i] = m.noClass()
			if i < n && labels != nil && labels[start+i] >= 0 {
				ls[i] = labels[start+i]
			}
		}
		for i := range rs {
			rs[i] = rng.New(seeds[start+i], StreamSample)
			rng.Normal(rs[i], x[i*P:(i+1)*P])
		}
		predict := func(eps []float32, t int) error { return m.epsilon(s, eps, cond, t, ls, o.Guidance) }
		done := func(k int) {
			if o.Progress != nil {
				o.Progress(c*len(ts)+k+1, chunks*len(ts))
			}
		}
		var obs func(k, t int, x, eps []float32)
		if observe != nil {
			obs = func(k, t int, x, eps []float32) { observe(start, n, k, t, x[:n*P], eps[:n*P]) }
		}
		if err := runSampler(m.Sched, o, ts, x, P, n, rs, predict, obs, done); err != nil {
			return nil, fmt.Errorf("ddpm sampler: %w", err)
		}
		for i := 0; i < n; i++ {
			out = append(out, toPixels(x[i*P:(i+1)*P]))
		}
	}
	return out, nil
}

// toPixels maps an image in the model's range [−1, 1] to pixels in [0, 1],
// (clamp(v, −1, 1) + 1)/2, in a new slice.
func toPixels(x []float32) []float32 {
	img := make([]float32, len(x))
	for j, v := range x {
		img[j] = (min(max(v, -1), 1) + 1) / 2
	}
	return img
}

// Evaluate returns the held-out ε-MSE of the EMA network ("test_mse", the
// weights sampling uses) and of the raw network ("test_mse_net") on the
// first 1000 test images with their labels (none when the model trains
// without them, UsesLabels), each at a t ~ U{0..T−1} and
// ε ~ N(0, I) drawn per image (t, then ε) from rng.New(0, StreamEval): the
// same draws for every checkpoint.
func (m *DDPMModel) Evaluate(test *data.Dataset) ([]Metric, error) {
	P := m.pixels()
	n := min(ddpmEvalImages, test.N)
	if n == 0 || test.ImageLen() != P {
		return nil, fmt.Errorf("ddpm evaluate: %d test images of %dx%dx%d, want some of %dx%dx%d", test.N, test.Channels(), test.H, test.W, m.Net.ImageChannels, m.Net.Size, m.Net.Size)
	}
	var err error
	if m.emaFwd == nil {
		if m.emaFwd, err = newUNetGraph(m.EMA, m.inferBatch, false); err != nil {
			return nil, err
		}
	}
	var sse [2]float64
	// The raw network is scored through the same inference graph, its
	// weights lent to the EMA's tensors for the pass: one graph, not two,
	// stays in memory beside the training graph.
	if sse[0], err = m.heldOutSSE(test, n); err != nil {
		return nil, err
	}
	err = m.withNetWeightsInEMA(func() error {
		sse[1], err = m.heldOutSSE(test, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	count := float64(n * P)
	return []Metric{{"test_mse", sse[0] / count}, {"test_mse_net", sse[1] / count}}, nil
}

// heldOutSSE is the summed squared ε error of the inference graph on the
// first n test images (the same t, ε and labels on every call).
func (m *DDPMModel) heldOutSSE(test *data.Dataset, n int) (float64, error) {
	P, B, s := m.pixels(), m.inferBatch, m.emaFwd
	r := rng.New(0, StreamEval)
	eps := make([]float32, B*P)
	x0 := make([]float32, B*P)
	sse := 0.0
	for start := 0; start < n; start += B {
		rows := min(B, n-start)
		ts, ls := make([]int, B), make([]int, B)
		for i := range ls {
			ls[i] = m.noClass()
		}
		clear(eps)
		clear(x0)
		for i := 0; i < rows; i++ {
			ts[i] = r.IntN(m.Sched.T)
			rng.Normal(r, eps[i*P:(i+1)*P])
			for j, v := range test.Image(start + i) {
				x0[i*P+j] = 2*v - 1
			}
			// A model that trained every image as "no class" (cond_drop 1,
			// the unconditional runs on unlabelled data such as Stacked
			// MNIST, whose labels are all 0) is scored as it samples, without
			// a class: its class rows never trained.
			if l := int(test.Labels[start+i]); l < m.Net.Classes && m.UsesLabels() {
				ls[i] = l
			}
		}
		x := s.x.Data().([]float32)
		for i := 0; i < B; i++ {
			QSample(x[i*P:(i+1)*P], x0[i*P:(i+1)*P], eps[i*P:(i+1)*P], m.Sched.AlphaBar[ts[i]])
			s.setRow(i, ts[i], ls[i])
		}
		if err := runVM(s.vm); err != nil {
			return 0, fmt.Errorf("ddpm evaluate: %w", err)
		}
		pred := s.out.Data().([]float32)
		for j := 0; j < rows*P; j++ {
			d := float64(pred[j]) - float64(eps[j])
			sse += d * d
		}
	}
	return sse, nil
}

// withNetWeightsInEMA runs f with the raw network's weights copied into the
// EMA's tensors, and puts the EMA's back afterwards.
func (m *DDPMModel) withNetWeightsInEMA(f func() error) error {
	ema, net := m.EMA.Params.List, m.Net.Params.List
	saved := make([][]float32, len(ema))
	for i, p := range ema {
		w, ok := p.Value.Data().([]float32)
		if !ok || i >= len(net) {
			return fmt.Errorf("ddpm evaluate: parameter %s is not float32", p.Name)
		}
		saved[i] = append([]float32(nil), w...)
		copy(w, net[i].Value.Data().([]float32))
	}
	defer func() {
		for i, p := range ema {
			copy(p.Value.Data().([]float32), saved[i])
		}
	}()
	return f()
}

// State is the network ("net."), its average ("ema.") and, with train,
// Adam's state of the network ("optim.").
func (m *DDPMModel) State(train bool) []checkpoint.Tensor {
	return netState(m.weights(), m.Opt, train)
}

func (m *DDPMModel) Load(f *checkpoint.File, train bool) error {
	return loadNetState(f, m.weights(), m.Opt, train)
}

func (m *DDPMModel) weights() []*nn.Param {
	return append(slices.Clone(m.Net.Params.List), m.EMA.Params.List...)
}

// DDPMConfig is the DDPM's section: the U-Net's size, the diffusion keys it
// shares with ddpm2d, the label dropout and classifier-free guidance.
type DDPMConfig struct {
	Channels int `key:"model.channels"` // the U-Net's base width
	Classes  int `key:"model.classes"`  // number of labels
	DiffusionConfig
	CondDrop float64 `key:"train.cond_drop"` // probability of training a label as "no class"
	Warmup   int     `key:"train.warmup"`    // linear learning-rate warm-up steps (0 = off)
	Guidance float64 `key:"sample.guidance"` // classifier-free guidance scale (0 = plain conditional)
	Clip     bool    `key:"sample.clip"`     // clip the predicted x_0 to [-1, 1] at each step
}

// Validate checks the U-Net's size, the diffusion keys and the guidance.
func (s *DDPMConfig) Validate(c *config.Config, v *config.Checker) {
	v.Check("model.channels", config.In(s.Channels, 8, 1024) && s.Channels%8 == 0, "a multiple of 8 in [8, 1024] (GroupNorm with 8 groups)", s.Channels)
	v.Check("model.classes", config.In(s.Classes, 2, 10), "in [2, 10] (MNIST labels)", s.Classes)
	s.DiffusionConfig.Validate(c, v)
	v.Check("train.cond_drop", s.CondDrop >= 0 && s.CondDrop <= 1, ">= 0 and <= 1", s.CondDrop)
	v.Check("train.warmup", s.Warmup >= 0, ">= 0", s.Warmup)
	v.Check("sample.guidance", s.Guidance >= 0 && config.Finite(s.Guidance), ">= 0 and finite", s.Guidance)
}

var ddpmKind = &Kind{
	Kind:    config.Kind{Name: "ddpm", Section: func() config.Section { return &DDPMConfig{} }},
	Summary: "denoising diffusion, class-conditional U-Net with classifier-free guidance",
	Caps:    CapConditional | CapSampler,
	New: func(cfg *config.Config) (Model, error) {
		s, t, img := cfg.Own.(*DDPMConfig), cfg.Train, ShapeOf(cfg)
		m, err := NewDDPMModel(DDPMOptions{
			UNet: UNetOptions{Channels: s.Channels, Classes: s.Classes, Size: img.H, ImageChannels: img.C},
			Seed: t.Seed, LR: t.LR, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps, EMA: s.EMA,
			Timesteps: s.Timesteps, Schedule: s.Schedule, BetaStart: s.BetaStart, BetaEnd: s.BetaEnd,
			CondDrop: s.CondDrop, Warmup: s.Warmup,
		})
		if err != nil {
			return nil, err
		}
		so := s.Sampler()
		so.Guidance, so.Clip = s.Guidance, s.Clip
		if err := m.SetSampler(so); err != nil {
			return nil, fmt.Errorf("sample.*: %w", err)
		}
		return m, nil
	},
}
