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

// The 2-D DDPM's input features: the sinusoidal embedding of t, and of each
// coordinate of x_t times toyPointScale (Fourier features, as in the
// tiny-diffusion toy: a plain MLP on (x, y) learns the near-step ε of a
// point a few σ from a mode far too slowly; on grid25 it smeared its
// samples over the square, 3.7 % high quality against 96 % with them).
const (
	toyTimeDim    = 32
	toyPointDim   = 32
	toyPointScale = 25.0
	toyInputDim   = 2 + 2*toyPointDim + toyTimeDim
)

// DDPM2DModel is a DDPM (Ho et al. 2020) of points with an MLP denoiser
//
//	ε_θ(x_t, t): [x_t (2) ++ emb(25·x) (32) ++ emb(25·y) (32) ++ emb(t) (32)]
//	             → H → SiLU → H → SiLU → H → SiLU → 2,
//
// emb the sinusoidal embedding of TimestepEmbedding, computed in Go (for
// the coordinates at a real-valued argument). Training minimises
// L_simple = mean ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖², t ~ U{0..T−1};
// sampling runs the EMA of the weights through the schedule and step
// functions of diffusion.go, the image DDPM's: ancestral with σ² = β̃
// (default) or β, or DDIM.
type DDPM2DModel struct {
	Net, EMA   *toyMLP
	NetP, EMAP *nn.Params
	Opt        *nn.Adam
	Sched      *Schedule
	EMADecay   float64
	scale      float64
	sampler    SamplerOptions
	train      *toyDenoise
	emaFwd     *toyForward
}

// NewDDPM2DModel returns an untrained 2-D DDPM whose EMA starts as a copy
// of the network, sampling ancestrally over all T steps with σ² = β̃.
func NewDDPM2DModel(o Toy2DOptions) (*DDPM2DModel, error) {
	sched, err := NewSchedule(o.Schedule, o.Timesteps, o.BetaStart, o.BetaEnd)
	if err != nil {
		return nil, fmt.Errorf("ddpm2d: %w", err)
	}
	if !(o.EMA >= 0 && o.EMA < 1) {
		return nil, fmt.Errorf("ddpm2d: ema %g, want [0, 1)", o.EMA)
	}
	r := rng.New(o.Seed, StreamInit)
	np, ep := nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r)
	h := o.Hidden
	m := &DDPM2DModel{
		NetP: np, EMAP: ep, Sched: sched, EMADecay: o.EMA, scale: o.Mixture.Scale(),
		Net: newToyMLP(np, "net", nn.SiLU, toyInputDim, h, h, h, 2),
		EMA: newToyMLP(ep, "ema", nn.SiLU, toyInputDim, h, h, h, 2),
	}
	copyState(ep.List, np.List)
	m.Opt = nn.NewAdam(np.List, o.LR, o.Beta1, o.Beta2, o.Eps)
	if err := m.SetSampler(SamplerOptions{Sampler: "ddpm"}); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *DDPM2DModel) Kind() string   { return "ddpm2d" }
func (m *DDPM2DModel) NumParams() int { return m.NetP.Count() }

// SetSampler chooses how Generate samples, as the image DDPM's does:
// "ddpm" (ancestral, 0 steps = all T; variance beta_tilde, the default, or
// beta), "ddim" (η ∈ [0, 1]), "dpmpp2m", "dpmpp2m-sde" or "heun" (0 steps = min(50, T)),
// on the steps of Spacing. Like the image DDPM's, it normalises the
// options (normalizeSampler). The model is unconditional, so guidance must
// be 0, and points have no range to clip to.
func (m *DDPM2DModel) SetSampler(o SamplerOptions) error {
	o, err := normalizeSampler("ddpm2d", o, m.Sched.T, false)
	if err != nil {
		return err
	}
	m.sampler = o
	return nil
}

// Options returns the current sampler options, normalised by SetSampler.
func (m *DDPM2DModel) Options() SamplerOptions { return m.sampler }

// NFE is the network evaluations per sample (SamplerNFE).
func (m *DDPM2DModel) NFE() int { return SamplerNFE(m.sampler) }

// denoiserInput writes row i of the network input: x_t (2 values, scaled),
// the embeddings of 25·x and 25·y, then the embedding of step t.
func denoiserInput(in []float32, i int, x []float32, t int) {
	row := in[i*toyInputDim : (i+1)*toyInputDim]
	row[0], row[1] = x[0], x[1]
	pointEmbedding(row[2:2+toyPointDim], toyPointScale*float64(x[0]))
	pointEmbedding(row[2+toyPointDim:2+2*toyPointDim], toyPointScale*float64(x[1]))
	TimestepEmbedding(row[2+2*toyPointDim:], t)
}

// pointEmbedding writes TimestepEmbedding's features at a real argument v:
// with half = len(dst)/2 and f_i = exp(−ln(10⁴)·i/half),
// dst = [sin(v·f_0) … sin(v·f_{half−1}), cos(v·f_0) … cos(v·f_{half−1})].
func pointEmbedding(dst []float32, v float64) {
	half := len(dst) / 2
	for i := 0; i < half; i++ {
		a := v * math.Exp(-math.Log(10000)*float64(i)/float64(half))
		dst[i], dst[half+i] = float32(math.Sin(a)), float32(math.Cos(a))
	}
}

// toyDenoise is the training graph: input rows [x_t, emb(t)], target ε,
// the MSE and its gradients wrt the network.
type toyDenoise struct {
	in, eps *tensor.Dense
	loss    G.Value
	grads   G.Nodes
	vm      G.VM
}

// ddpm2dLoss is mean (ε_θ(in) − ε)² over the batch and both coordinates.
func ddpm2dLoss(g *G.ExprGraph, net *toyMLP, in, eps *G.Node) (*G.Node, error) {
	out, err := net.apply(g, in)
	if err != nil {
		return nil, fmt.Errorf("ddpm2d denoiser: %w", err)
	}
	return G.Mean(G.Must(G.Square(G.Must(G.Sub(out, eps)))))
}

func (m *DDPM2DModel) newDenoise(batch int) (*toyDenoise, error) {
	g := G.NewGraph()
	s := &toyDenoise{in: f32(batch, toyInputDim), eps: f32(batch, 2)}
	loss, err := ddpm2dLoss(g, m.Net, G.NodeFromAny(g, s.in, G.WithName("in")), G.NodeFromAny(g, s.eps, G.WithName("eps")))
	if err != nil {
		return nil, err
	}
	G.Read(loss, &s.loss)
	if s.grads, err = G.Grad(loss, paramNodes(g, m.NetP.List)...); err != nil {
		return nil, fmt.Errorf("ddpm2d gradients: %w", err)
	}
	s.vm = G.NewTapeMachine(g)
	return s, nil
}

// TrainStep draws from r, in this order, t_i ~ U{0..T−1} for each point
// and ε ~ N(0, I) for the batch, takes one Adam step on the ε-MSE and moves
// the EMA.
func (m *DDPM2DModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	if m.train == nil || m.train.eps.Shape()[0] != b.N {
		var err error
		if m.train, err = m.newDenoise(b.N); err != nil {
			return nil, err
		}
	}
	s := m.train
	x0 := make([]float32, 2*b.N)
	if err := scaledPoints(x0, b.X, b.N, m.scale); err != nil {
		return nil, fmt.Errorf("ddpm2d: %w", err)
	}
	ts := make([]int, b.N)
	for i := range ts {
		ts[i] = r.IntN(m.Sched.T)
	}
	eps := s.eps.Data().([]float32)
	rng.Normal(r, eps)
	m.noisyInputs(s.in.Data().([]float32), x0, eps, ts)
	if err := runVM(s.vm); err != nil {
		return nil, fmt.Errorf("ddpm2d train step: %w", err)
	}
	if err := m.Opt.Update(gradValues(s.grads)); err != nil {
		return nil, err
	}
	updateEMA(m.EMAP.List, m.NetP.List, m.EMADecay, m.Opt.Step)
	return []Metric{{"loss", scalarValue(s.loss)}}, nil
}

// noisyInputs writes the rows [q_sample(x0_i, ε_i, t_i), emb(t_i)].
func (m *DDPM2DModel) noisyInputs(in, x0, eps []float32, ts []int) {
	var xt [2]float32
	for i, t := range ts {
		QSample(xt[:], x0[2*i:2*i+2], eps[2*i:2*i+2], m.Sched.AlphaBar[t])
		denoiserInput(in, i, xt[:], t)
	}
}

// Evaluate returns the EMA network's ε-MSE ("test_mse") on the test points,
// each at a t ~ U{0..T−1} and ε ~ N(0, I) drawn per point (t, then ε) from
// rng.New(0, StreamEval); points beyond whole batches of toyBatch are left
// out.
func (m *DDPM2DModel) Evaluate(test *data.Dataset) ([]Metric, error) {
	if err := checkPoints("ddpm2d", test); err != nil {
		return nil, err
	}
	if err := m.ensureEMAForward(); err != nil {
		return nil, err
	}
	f := m.emaFwd
	r := rng.New(0, StreamEval)
	x0, eps, ts := make([]float32, 2*toyBatch), make([]float32, 2*toyBatch), make([]int, toyBatch)
	sse, used := 0.0, 0
	for start := 0; start+toyBatch <= test.N; start += toyBatch {
		if err := scaledPoints(x0, test.Pixels[2*start:], toyBatch, m.scale); err != nil {
			return nil, err
		}
		for i := range ts {
			ts[i] = r.IntN(m.Sched.T)
			rng.Normal(r, eps[2*i:2*i+2])
		}
		m.noisyInputs(f.in.Data().([]float32), x0, eps, ts)
		if err := runVM(f.vm); err != nil {
			return nil, fmt.Errorf("ddpm2d evaluate: %w", err)
		}
		for j, p := range f.out.Data().([]float32) {
			d := float64(p) - float64(eps[j])
			sse += d * d
		}
		used += toyBatch
	}
	if used == 0 {
		return nil, fmt.Errorf("ddpm2d evaluate: %d test points, fewer than one batch of %d", test.N, toyBatch)
	}
	return []Metric{{"test_mse", sse / float64(2*used)}}, nil
}

func (m *DDPM2DModel) ensureEMAForward() error {
	if m.emaFwd != nil {
		return nil
	}
	var err error
	if m.emaFwd, err = newToyForward(m.EMA, toyInputDim); err != nil {
		return fmt.Errorf("ddpm2d denoiser: %w", err)
	}
	return nil
}

// Generate samples one point per seed with the EMA network and the current
// sampler: x_T ~ N(0, I), then each step's noise z, from the seed's own
// stream StreamSample in step order; the last step adds no noise. Labels
// are ignored (the model is unconditional).
func (m *DDPM2DModel) Generate(seeds []uint64, _ []int) ([][]float32, error) {
	if err := m.ensureEMAForward(); err != nil {
		return nil, err
	}
	o := m.sampler
	ts, err := Timesteps(m.Sched, m.sampler.Steps, m.sampler.Spacing)
	if err != nil {
		return nil, fmt.Errorf("ddpm2d: %w", err)
	}
	f := m.emaFwd
	in := f.in.Data().([]float32)
	x := make([]float32, 2*toyBatch)
	chunks := (len(seeds) + toyBatch - 1) / toyBatch
	out := make([][]float32, 0, len(seeds))
	for c := 0; c < chunks; c++ {
		start, end := c*toyBatch, min((c+1)*toyBatch, len(seeds))
		n := end - start
		clear(x)
		rs := make([]*rng.RNG, n)
		for i := range rs {
			rs[i] = rng.New(seeds[start+i], StreamSample)
			rng.Normal(rs[i], x[2*i:2*i+2])
		}
		predict := func(eps []float32, t int) error {
			for i := 0; i < toyBatch; i++ {
				denoiserInput(in, i, x[2*i:2*i+2], t)
			}
			if err := runVM(f.vm); err != nil {
				return err
			}
			copy(eps, f.out.Data().([]float32))
			return nil
		}
		done := func(k int) {
			if o.Progress != nil {
				o.Progress(c*len(ts)+k+1, chunks*len(ts))
			}
		}
		if err := runSampler(m.Sched, o, ts, x, 2, n, rs, predict, nil, done); err != nil {
			return nil, fmt.Errorf("ddpm2d sampler: %w", err)
		}
		out = append(out, pointsFrom(x, n, m.scale)...)
	}
	return out, nil
}

func (m *DDPM2DModel) State(train bool) []checkpoint.Tensor {
	return modelState(train, [][]*nn.Param{m.NetP.List, m.EMAP.List}, namedAdam{"optim", m.Opt})
}

func (m *DDPM2DModel) Load(f *checkpoint.File, train bool) error {
	return loadModelState(f, train, [][]*nn.Param{m.NetP.List, m.EMAP.List}, namedAdam{"optim", m.Opt})
}

// DDPM2DConfig is the 2-D DDPM's section: the diffusion keys of ddpm, less
// the labels, on an MLP.
type DDPM2DConfig struct {
	Hidden int `key:"model.hidden"` // width of the hidden layers
	DiffusionConfig
}

// Validate checks the width and the diffusion keys.
func (s *DDPM2DConfig) Validate(c *config.Config, v *config.Checker) {
	v.Check("model.hidden", config.In(s.Hidden, 1, 65536), "in [1, 65536]", s.Hidden)
	s.DiffusionConfig.Validate(c, v)
}

var ddpm2dKind = &Kind{
	Kind:    config.Kind{Name: "ddpm2d", Section: func() config.Section { return &DDPM2DConfig{} }, Points: true},
	Summary: "DDPM on a 2-D mixture",
	Caps:    CapSampler,
	New: func(cfg *config.Config) (Model, error) {
		o, err := mixtureOptions(cfg)
		if err != nil {
			return nil, err
		}
		s := cfg.Own.(*DDPM2DConfig)
		o.Hidden, o.EMA, o.Timesteps, o.Schedule, o.BetaStart, o.BetaEnd = s.Hidden, s.EMA, s.Timesteps, s.Schedule, s.BetaStart, s.BetaEnd
		m, err := NewDDPM2DModel(o)
		if err != nil {
			return nil, err
		}
		if err := m.SetSampler(s.Sampler()); err != nil {
			return nil, fmt.Errorf("sample.*: %w", err)
		}
		return m, nil
	},
}
