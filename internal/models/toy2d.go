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

// The 2-D models of the mixture benchmarks (docs/metrics.md §6): a GAN, a
// VAE and a DDPM, each a few small MLPs on points of the plane. A "sample"
// is one point, returned by Generate as []float32{x, y}; a batch holds N
// rows of 2 values (data.FromPoints). Every network sees points divided by
// the mixture's coordinate RMS (data.Mixture.Scale: ring8 0.71, grid25
// 2.83), so one set of hyperparameters suits both mixtures; samples are
// scaled back. The mode counts themselves are eval's (CountModes): the
// training loop and `gentri eval` apply them to Generate's points.

// Toy2DOptions are the hyperparameters of the three 2-D models.
type Toy2DOptions struct {
	Mixture               data.Mixture
	Hidden                int // width of every hidden layer
	Latent                int // gan2d: noise dimension; vae2d: latent dimension
	Seed                  uint64
	LR, Beta1, Beta2, Eps float64
	// ddpm2d only.
	EMA                float64
	Timesteps          int
	Schedule           string // "linear" or "cosine"
	BetaStart, BetaEnd float64
}

// toyBatch is the fixed batch of every inference graph of the 2-D models
// (shorter requests are padded), so a point's bytes never depend on how
// many were asked for; 100 is also the timing batch of docs/metrics.md §8.2.
const toyBatch = 100

// toyMLP is Linear layers with an activation between them (none after the
// last), named like a PyTorch nn.Sequential: prefix.0, prefix.2, …
type toyMLP struct {
	layers []*nn.Linear
	act    func(*G.Node) (*G.Node, error)
}

// newToyMLP builds layers of sizes[0] → sizes[1] → … → sizes[len−1].
func newToyMLP(ps *nn.Params, prefix string, act func(*G.Node) (*G.Node, error), sizes ...int) *toyMLP {
	m := &toyMLP{act: act}
	for i := 0; i+1 < len(sizes); i++ {
		m.layers = append(m.layers, nn.NewLinear(ps, fmt.Sprintf("%s.%d", prefix, 2*i), sizes[i], sizes[i+1]))
	}
	return m
}

func (m *toyMLP) apply(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
	h := x
	for i, l := range m.layers {
		var err error
		if h, err = l.Apply(g, h); err != nil {
			return nil, err
		}
		if i+1 < len(m.layers) {
			if h, err = m.act(h); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

func leakyReLU02(x *G.Node) (*G.Node, error) { return nn.LeakyReLU(x, 0.2) }

// f32 is a float32 tensor of the given shape, an input bound by pointer.
func f32(shape ...int) *tensor.Dense {
	return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
}

// scaledPoints writes a batch's first n points divided by scale into dst.
func scaledPoints(dst, x []float32, n int, scale float64) error {
	if len(x) < 2*n {
		return fmt.Errorf("batch of %d points holds %d values, want %d", n, len(x), 2*n)
	}
	for i, v := range x[:2*n] {
		dst[i] = float32(float64(v) / scale)
	}
	return nil
}

// pointsFrom returns n rows {x, y} of a (toyBatch, 2) output, times scale.
func pointsFrom(out []float32, n int, scale float64) [][]float32 {
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = []float32{float32(float64(out[2*i]) * scale), float32(float64(out[2*i+1]) * scale)}
	}
	return rows
}

// checkPoints says whether a test set holds 2-D points.
func checkPoints(kind string, test *data.Dataset) error {
	if test.H*test.W != 2 || test.N == 0 {
		return fmt.Errorf("%s evaluate: %d test examples of %dx%d, want 2-D points", kind, test.N, test.H, test.W)
	}
	return nil
}

// ---------------------------------------------------------------- gan2d

// GAN2DModel is the 2-D GAN (Goodfellow et al. 2014 with the
// non-saturating loss, as in the VEEGAN/PacGAN toy experiments but without
// BatchNorm):
//
//	G: z(latent) → H → ReLU → H → ReLU → 2,  z ~ N(0, I)
//	D: x(2) → H → LReLU(0.2) → H → LReLU(0.2) → 1 (a logit)
//
// trained with one D step then one G step on the same z, one Adam per
// network and one graph per objective (Grad once per graph, as for the cGAN). It samples with G
// itself: no weight average.
type GAN2DModel struct {
	Latent     int
	G, D       *toyMLP
	GP, DP     *nn.Params
	OptG, OptD *nn.Adam
	scale      float64
	loss       ganLoss
	dStep      *toyGANStep
	gStep      *toyGANStep
	sampler    *toyForward
}

// NewGAN2DModel returns an untrained 2-D GAN.
func NewGAN2DModel(o Toy2DOptions) *GAN2DModel {
	r := rng.New(o.Seed, StreamInit)
	gp, dp := nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r)
	m := &GAN2DModel{
		Latent: o.Latent, GP: gp, DP: dp, scale: o.Mixture.Scale(), loss: ganLoss{kind: "ns"},
		G: newToyMLP(gp, "g.net", nn.ReLU, o.Latent, o.Hidden, o.Hidden, 2),
		D: newToyMLP(dp, "d.net", leakyReLU02, 2, o.Hidden, o.Hidden, 1),
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
// or L_G (G(z) through D, gradients wrt G).
func (m *GAN2DModel) newStep(batch int, d bool) (*toyGANStep, error) {
	g := G.NewGraph()
	s := &toyGANStep{x: f32(batch, 2), z: f32(batch, m.Latent)}
	fake, err := m.G.apply(g, G.NodeFromAny(g, s.z, G.WithName("z")))
	if err != nil {
		return nil, fmt.Errorf("gan2d generator: %w", err)
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
// and G(z), then one G step on the same z.
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

// toyForward is an inference graph at toyBatch: in → net → out.
type toyForward struct {
	in  *tensor.Dense
	out G.Value
	vm  G.VM
}

func newToyForward(net *toyMLP, inDim int) (*toyForward, error) {
	g := G.NewGraph()
	f := &toyForward{in: f32(toyBatch, inDim)}
	out, err := net.apply(g, G.NodeFromAny(g, f.in, G.WithName("in")))
	if err != nil {
		return nil, err
	}
	G.Read(out, &f.out)
	f.vm = G.NewTapeMachine(g)
	return f, nil
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

func (m *GAN2DModel) State(train bool) []checkpoint.Tensor {
	ts := append(paramTensors(m.GP.List), paramTensors(m.DP.List)...)
	if train {
		ts = append(ts, adamTensors("optim_g", m.OptG)...)
		ts = append(ts, adamTensors("optim_d", m.OptD)...)
	}
	return ts
}

func (m *GAN2DModel) Load(f *checkpoint.File, train bool) error {
	for _, ps := range [][]*nn.Param{m.GP.List, m.DP.List} {
		if err := loadParams(f, ps); err != nil {
			return err
		}
	}
	if train {
		if err := loadAdam(f, "optim_g", m.OptG); err != nil {
			return err
		}
		return loadAdam(f, "optim_d", m.OptD)
	}
	return nil
}

// ---------------------------------------------------------------- vae2d

// VAE2DModel is a VAE with a Gaussian decoder (a Bernoulli one means
// nothing for points of the plane):
//
//	encoder  x(2) → H → ReLU → H → ReLU → (μ, log σ²) of size L
//	z = μ + σ ⊙ ε,  ε ~ N(0, I)
//	decoder  z(L) → H → ReLU → H → ReLU → (m, log v) of size 2,
//	p(x|z) = N(m, diag v)
//
// with the negative ELBO per point, in nats,
//
//	−ELBO = ½ Σ_d (log 2π + log v_d + (x_d − m_d)²/v_d) + ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²).
type VAE2DModel struct {
	Latent   int
	Enc, Dec *toyMLP
	Params   *nn.Params
	Opt      *nn.Adam
	scale    float64
	train    *toyNELBO
	eval     *toyNELBO
	decoder  *toyForward
}

// NewVAE2DModel returns an untrained 2-D VAE.
func NewVAE2DModel(o Toy2DOptions) *VAE2DModel {
	ps := nn.NewParams(tensor.Float32, rng.New(o.Seed, StreamInit))
	m := &VAE2DModel{
		Latent: o.Latent, Params: ps, scale: o.Mixture.Scale(),
		Enc: newToyMLP(ps, "enc", nn.ReLU, 2, o.Hidden, o.Hidden, 2*o.Latent),
		Dec: newToyMLP(ps, "dec", nn.ReLU, o.Latent, o.Hidden, o.Hidden, 4),
	}
	m.Opt = nn.NewAdam(ps.List, o.LR, o.Beta1, o.Beta2, o.Eps)
	return m
}

func (m *VAE2DModel) Kind() string   { return "vae2d" }
func (m *VAE2DModel) NumParams() int { return m.Params.Count() }

// vae2dTerms adds the batch's summed Gaussian NLL (without the constant
// ½·log 2π per coordinate) and KL terms to g for points x (B, 2) and noise
// eps (B, L).
func vae2dTerms(g *G.ExprGraph, enc, dec *toyMLP, x, eps *G.Node, latent int) (nll, kl *G.Node, err error) {
	dt := x.Dtype()
	h, err := enc.apply(g, x)
	if err != nil {
		return nil, nil, fmt.Errorf("vae2d encoder: %w", err)
	}
	mu := G.Must(G.Slice(h, nil, G.S(0, latent)))
	logvar := G.Must(G.Slice(h, nil, G.S(latent, 2*latent)))
	half, one := scalar(g, dt, 0.5), scalar(g, dt, 1)
	z := G.Must(G.Add(mu, G.Must(G.HadamardProd(G.Must(G.Exp(G.Must(G.Mul(logvar, half)))), eps))))
	out, err := dec.apply(g, z)
	if err != nil {
		return nil, nil, fmt.Errorf("vae2d decoder: %w", err)
	}
	mean := G.Must(G.Slice(out, nil, G.S(0, 2)))
	logv := G.Must(G.Slice(out, nil, G.S(2, 4)))
	sq := G.Must(G.Square(G.Must(G.Sub(x, mean))))
	// ½ Σ (log v + (x − m)² · e^{−log v})
	nll = G.Must(G.Mul(G.Must(G.Sum(G.Must(G.Add(logv, G.Must(G.HadamardProd(sq, G.Must(G.Exp(G.Must(G.Neg(logv)))))))))), half))
	klTerms := G.Must(G.Sub(G.Must(G.Add(G.Must(G.Square(mu)), G.Must(G.Exp(logvar)))), G.Must(G.Add(logvar, one))))
	kl = G.Must(G.Mul(G.Must(G.Sum(klTerms)), half))
	return nll, kl, nil
}

// toyNELBO is the negative-ELBO graph at a fixed batch; with grads it also
// computes the gradients of the batch mean.
type toyNELBO struct {
	x, eps  *tensor.Dense
	nll, kl G.Value
	grads   G.Nodes
	vm      G.VM
}

func (m *VAE2DModel) newNELBO(batch int, withGrad bool) (*toyNELBO, error) {
	g := G.NewGraph()
	o := &toyNELBO{x: f32(batch, 2), eps: f32(batch, m.Latent)}
	nll, kl, err := vae2dTerms(g, m.Enc, m.Dec, G.NodeFromAny(g, o.x, G.WithName("x")), G.NodeFromAny(g, o.eps, G.WithName("eps")), m.Latent)
	if err != nil {
		return nil, err
	}
	G.Read(nll, &o.nll)
	G.Read(kl, &o.kl)
	if withGrad {
		loss := G.Must(G.Mul(G.Must(G.Add(nll, kl)), scalar(g, tensor.Float32, 1/float64(batch))))
		if o.grads, err = G.Grad(loss, paramNodes(g, m.Params.List)...); err != nil {
			return nil, fmt.Errorf("vae2d gradients: %w", err)
		}
	}
	o.vm = G.NewTapeMachine(g)
	return o, nil
}

// run returns the batch's summed NLL (with its log 2π constant) and KL.
func (o *toyNELBO) run() (nll, kl float64, err error) {
	if err := runVM(o.vm); err != nil {
		return 0, 0, fmt.Errorf("vae2d: %w", err)
	}
	n := float64(o.x.Shape()[0])
	return scalarValue(o.nll) + n*math.Log(2*math.Pi), scalarValue(o.kl), nil
}

// TrainStep draws ε ~ N(0, I) from r and takes one Adam step on the mean
// negative ELBO of the (scaled) points.
func (m *VAE2DModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	if m.train == nil || m.train.x.Shape()[0] != b.N {
		var err error
		if m.train, err = m.newNELBO(b.N, true); err != nil {
			return nil, err
		}
	}
	o := m.train
	if err := scaledPoints(o.x.Data().([]float32), b.X, b.N, m.scale); err != nil {
		return nil, fmt.Errorf("vae2d: %w", err)
	}
	rng.Normal(r, o.eps.Data().([]float32))
	nll, kl, err := o.run()
	if err != nil {
		return nil, err
	}
	if err := m.Opt.Update(gradValues(o.grads)); err != nil {
		return nil, err
	}
	n := float64(b.N)
	return []Metric{{"loss", (nll + kl) / n}, {"rec", nll / n}, {"kl", kl / n}}, nil
}

// Evaluate returns the test points' negative ELBO in nats per point in the
// data's own units (the scaled model's figure + 2·log scale, the Jacobian
// of x ↦ x/scale), one ε per point from rng.New(0, StreamEval); points
// beyond whole batches of toyBatch are left out.
func (m *VAE2DModel) Evaluate(test *data.Dataset) ([]Metric, error) {
	if err := checkPoints("vae2d", test); err != nil {
		return nil, err
	}
	if m.eval == nil {
		var err error
		if m.eval, err = m.newNELBO(toyBatch, false); err != nil {
			return nil, err
		}
	}
	r := rng.New(0, StreamEval)
	var nll, kl float64
	used := 0
	for start := 0; start+toyBatch <= test.N; start += toyBatch {
		if err := scaledPoints(m.eval.x.Data().([]float32), test.Pixels[2*start:], toyBatch, m.scale); err != nil {
			return nil, err
		}
		rng.Normal(r, m.eval.eps.Data().([]float32))
		bn, bk, err := m.eval.run()
		if err != nil {
			return nil, err
		}
		nll, kl, used = nll+bn, kl+bk, used+toyBatch
	}
	if used == 0 {
		return nil, fmt.Errorf("vae2d evaluate: %d test points, fewer than one batch of %d", test.N, toyBatch)
	}
	n, jac := float64(used), 2*math.Log(m.scale)
	return []Metric{{"test_nelbo", (nll+kl)/n + jac}, {"test_rec", nll/n + jac}, {"test_kl", kl / n}}, nil
}

// Generate decodes z ~ N(0, I) and draws x ~ N(m(z), diag v(z)): a sample
// of the model's density, not the decoder mean, which would hide the
// decoder's variance and so flatter the high-quality share. Each seed's
// stream StreamSample gives z (L values) then the 2 values of the noise.
func (m *VAE2DModel) Generate(seeds []uint64, _ []int) ([][]float32, error) {
	if m.decoder == nil {
		var err error
		if m.decoder, err = newToyForward(m.Dec, m.Latent); err != nil {
			return nil, fmt.Errorf("vae2d decoder: %w", err)
		}
	}
	z := m.decoder.in.Data().([]float32)
	noise := make([]float32, 2*toyBatch)
	out := make([][]float32, 0, len(seeds))
	for start := 0; start < len(seeds); start += toyBatch {
		end := min(start+toyBatch, len(seeds))
		clear(z)
		for i, s := range seeds[start:end] {
			r := rng.New(s, StreamSample)
			rng.Normal(r, z[i*m.Latent:(i+1)*m.Latent])
			rng.Normal(r, noise[2*i:2*i+2])
		}
		if err := runVM(m.decoder.vm); err != nil {
			return nil, fmt.Errorf("vae2d decoder: %w", err)
		}
		dec := m.decoder.out.Data().([]float32)
		xs := make([]float32, 2*toyBatch)
		for i := 0; i < end-start; i++ {
			for d := 0; d < 2; d++ {
				mean, logv := float64(dec[4*i+d]), float64(dec[4*i+2+d])
				xs[2*i+d] = float32(mean + math.Exp(0.5*logv)*float64(noise[2*i+d]))
			}
		}
		out = append(out, pointsFrom(xs, end-start, m.scale)...)
	}
	return out, nil
}

func (m *VAE2DModel) State(train bool) []checkpoint.Tensor {
	ts := paramTensors(m.Params.List)
	if train {
		ts = append(ts, adamTensors("optim", m.Opt)...)
	}
	return ts
}

func (m *VAE2DModel) Load(f *checkpoint.File, train bool) error {
	if err := loadParams(f, m.Params.List); err != nil {
		return err
	}
	if train {
		return loadAdam(f, "optim", m.Opt)
	}
	return nil
}

// ---------------------------------------------------------------- ddpm2d

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

// SetSampler chooses how Generate samples: "ddpm" (ancestral on Steps
// evenly spaced steps, 0 = all T; variance beta_tilde, the default, or
// beta) or "ddim" (Steps, 0 = min(50, T); η ∈ [0, 1]). Like the image
// DDPM's, it normalises the options: the default steps resolved, and the
// option the chosen sampler ignores (η for ddpm, the variance for ddim)
// cleared. The model is unconditional, so guidance must be 0.
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

// NFE is one network evaluation per sampling step.
func (m *DDPM2DModel) NFE() int { return m.sampler.Steps }

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
	ts, err := DDIMTimesteps(m.Sched.T, m.sampler.Steps)
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
		if err := reverseDiffusion(m.Sched, o, ts, x, 2, n, rs, predict, done); err != nil {
			return nil, fmt.Errorf("ddpm2d sampler: %w", err)
		}
		out = append(out, pointsFrom(x, n, m.scale)...)
	}
	return out, nil
}

func (m *DDPM2DModel) State(train bool) []checkpoint.Tensor {
	ts := append(paramTensors(m.NetP.List), paramTensors(m.EMAP.List)...)
	if train {
		ts = append(ts, adamTensors("optim", m.Opt)...)
	}
	return ts
}

func (m *DDPM2DModel) Load(f *checkpoint.File, train bool) error {
	for _, ps := range [][]*nn.Param{m.NetP.List, m.EMAP.List} {
		if err := loadParams(f, ps); err != nil {
			return err
		}
	}
	if train {
		return loadAdam(f, "optim", m.Opt)
	}
	return nil
}

// newToy2D builds the 2-D model of cfg.Model.Kind on the mixture that
// data.dataset names.
func newToy2D(cfg *config.Config) (Model, error) {
	mix, ok := data.MixtureByName(cfg.Data.Dataset)
	if !ok {
		return nil, fmt.Errorf("model kind %s needs a 2-D mixture, data.dataset is %q", cfg.Model.Kind, cfg.Data.Dataset)
	}
	t, s := cfg.Train, cfg.Sample
	o := Toy2DOptions{
		Mixture: mix, Hidden: cfg.Model.Hidden, Latent: cfg.Model.Latent, Seed: t.Seed,
		LR: t.LR, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps,
		EMA: t.EMA, Timesteps: t.Timesteps, Schedule: t.Schedule, BetaStart: t.BetaStart, BetaEnd: t.BetaEnd,
	}
	switch cfg.Model.Kind {
	case "gan2d":
		return NewGAN2DModel(o), nil
	case "vae2d":
		return NewVAE2DModel(o), nil
	}
	m, err := NewDDPM2DModel(o)
	if err != nil {
		return nil, err
	}
	if err := m.SetSampler(SamplerOptions{Sampler: s.Sampler, Steps: s.Steps, Eta: s.Eta, Variance: s.Variance}); err != nil {
		return nil, fmt.Errorf("sample.*: %w", err)
	}
	return m, nil
}
