package models

import (
	"fmt"
	"math"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// DDGAN2DModel is the denoising diffusion GAN (ddgan.go, ddgan_model.go)
// on the 2-D mixtures: the same schedule, posterior, losses, exact R1 and
// sampler, with MLPs for the two networks (points divided by the
// mixture's coordinate RMS, as every 2-D model here):
//
//	G: [x_{t+1} (2) ++ φ_G(x_{t+1}) ++ sinusoid(t, 16) ++ z (nz)] → H → SiLU → H → SiLU → H → SiLU → 2   (x̂_0)
//	D: [x_t (2) ++ φ_D(x_t) ++ x_{t+1} (2) ++ sinusoid(t, 16)] → H → LReLU(0.2) → H → LReLU(0.2) → 1
//
// φ are Fourier features of the point (Tancik et al. 2020;
// nn.FourierFeatures): the sines and cosines of each coordinate at F
// octaves s, s/2, …, s/2^{F−1} (model.g_features and model.d_features give
// F, 0 = none; model.feature_scale s, on the scaled point). Without them an
// MLP on the raw point resolves a grid of tight modes only slowly: on
// grid25 D could not tell real pairs from fake ones at all, and G could
// not snap a slightly noisy x_1 to its mode. D sees x_{t+1} raw: features
// of the noisy point only diluted its inputs, and Gaussian random
// frequencies (Tancik's other mapping) did worse than octaves
// (docs/models.md has the measurements).
//
// The schedule is the image model's (NewDDGANSchedule) or, with
// train.schedule geometric, NewDDGANGeometricSchedule: at T = 4 the
// former's last step starts from x_1 = 0.72 x_0 + 0.69 ε, so noisy that
// p(x_0 | x_1) still spans most of grid25, and the last step is as hard
// as a plain GAN (which dropped modes just as this one did).
//
// D's features make it nonlinear in x_t, but only through φ, which has no
// weights: D is a piecewise-linear MLP M of the row [x_t, φ(x_t), …], and
// ∂D/∂x_t = ∂M/∂x_t + J_φᵀ ∂M/∂φ. R1's weight gradient is M's mixed
// second derivative along the row direction [g, J_φ g] (g = ∂D/∂x_t):
// the same exact difference of first derivatives, slopes frozen, as the
// image model's (r1Grads), with the perturbation carried into feature
// space by φ's Jacobian (dGradients). It is unconditional: labels are
// ignored.
type DDGAN2DModel struct {
	Sched      *DDGANSchedule
	Latent     int
	G, EMA     *toyMLP
	D          *toyMLP
	GP, DP, EP *nn.Params
	OptG, OptD *nn.Adam
	EMADecay   float64
	R1         float64
	LazyReg    int
	R1Step     float64

	lastR1       float64
	scale        float64
	gFreqs       [][]float64 // φ_G's frequency vectors (none: raw x_{t+1})
	dFreqs       [][]float64 // φ_D's
	dStep, r1Stp *toy2DDStep
	gStep        *toy2DGStep
	gInfer       *toyForward // raw G at the training batch
	sampler      *toyForward // EMA G at toyBatch
	inferRows    int
}

// DDGAN2DOptions are ddgan2d's hyperparameters.
type DDGAN2DOptions struct {
	Mixture      data.Mixture
	Hidden       int // width of every hidden layer
	Latent       int // nz
	T            int
	R1           float64
	LazyReg      int
	Seed         uint64
	LRG, LRD     float64
	Beta1, Beta2 float64
	Eps, EMA     float64
	R1Step       float64 // 0 = 1
	// Schedule "vp" (the image model's, the default) or "geometric" with
	// noise-to-signal ratios from SigmaMin to SigmaMax.
	Schedule           string
	SigmaMin, SigmaMax float64
	// Fourier features of the point: octaves per axis for G's x_{t+1}
	// and for D's x_t (0 = the raw point only), and the highest frequency
	// s, on the scaled points.
	GFeatures, DFeatures int
	FeatureScale         float64
}

// ddgan2dTEmb is the width of the step's sinusoidal features.
const ddgan2dTEmb = 16

// octaves returns the 2F frequency vectors of F octaves s, s/2, …,
// s/2^{F−1} along x, then the same along y.
func octaves(F int, s float64) [][]float64 {
	f := make([][]float64, 2*F)
	for j := range F {
		f[j], f[F+j] = []float64{math.Ldexp(s, -j), 0}, []float64{0, math.Ldexp(s, -j)}
	}
	return f
}

// G's input row: [x_{t+1} (2) ++ φ_G (2m_G) ++ sinusoid(t) ++ z].
func (m *DDGAN2DModel) gIn() int { return 2 + 2*len(m.gFreqs) + ddgan2dTEmb + m.Latent }

// dPoint is the width of x_t's block of D's row, [x_t (2) ++ φ_D(x_t)];
// the row is [x_t block ++ x_{t+1} (2) ++ sinusoid(t)].
func (m *DDGAN2DModel) dPoint() int { return 2 + 2*len(m.dFreqs) }
func (m *DDGAN2DModel) dIn() int    { return m.dPoint() + 2 + ddgan2dTEmb }

// pointBlock writes [p ++ φ(p)] at the frequencies freqs into dst.
func pointBlock(dst, p []float32, freqs [][]float64) {
	copy(dst, p[:2])
	nn.FourierRow(dst[2:2+2*len(freqs)], p[:2], freqs)
}

// NewDDGAN2DModel returns an untrained 2-D DDGAN; its EMA starts as G.
func NewDDGAN2DModel(o DDGAN2DOptions) (*DDGAN2DModel, error) {
	var sched *DDGANSchedule
	var err error
	switch o.Schedule {
	case "", "vp":
		sched, err = NewDDGANSchedule(o.T)
	case "geometric":
		sched, err = NewDDGANGeometricSchedule(o.T, o.SigmaMin, o.SigmaMax)
	default:
		err = fmt.Errorf("ddgan2d: schedule %q, want vp or geometric", o.Schedule)
	}
	if err != nil {
		return nil, err
	}
	if o.Hidden < 1 || o.Latent < 1 || o.R1 < 0 || o.LazyReg < 1 || !(o.EMA >= 0 && o.EMA < 1) || o.R1Step < 0 {
		return nil, fmt.Errorf("ddgan2d: hidden %d, latent %d, r1 %g, lazy_reg %d, ema %g: want positive sizes, r1 >= 0, lazy_reg >= 1, ema in [0, 1)",
			o.Hidden, o.Latent, o.R1, o.LazyReg, o.EMA)
	}
	if o.GFeatures < 0 || o.DFeatures < 0 || ((o.GFeatures > 0 || o.DFeatures > 0) && !(o.FeatureScale > 0)) {
		return nil, fmt.Errorf("ddgan2d: g_features %d, d_features %d, feature_scale %g: want features >= 0 and, with any, a scale > 0",
			o.GFeatures, o.DFeatures, o.FeatureScale)
	}
	if o.R1Step == 0 {
		o.R1Step = 1
	}
	r := rng.New(o.Seed, StreamInit)
	gp, dp, ep := nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r)
	H := o.Hidden
	m := &DDGAN2DModel{Sched: sched, Latent: o.Latent, GP: gp, DP: dp, EP: ep, EMADecay: o.EMA, R1: o.R1, LazyReg: o.LazyReg,
		R1Step: o.R1Step, scale: o.Mixture.Scale(), inferRows: toyBatch,
		gFreqs: octaves(o.GFeatures, o.FeatureScale), dFreqs: octaves(o.DFeatures, o.FeatureScale)}
	gin := m.gIn()
	m.G = newToyMLP(gp, "G.net", nn.SiLU, gin, H, H, H, 2)
	m.D = newToyMLP(dp, "D.net", leakyReLU02, m.dIn(), H, H, 1)
	m.EMA = newToyMLP(ep, "ema.net", nn.SiLU, gin, H, H, H, 2)
	copyState(ep.List, gp.List)
	m.OptG = nn.NewAdam(gp.List, o.LRG, o.Beta1, o.Beta2, o.Eps)
	m.OptD = nn.NewAdam(dp.List, o.LRD, o.Beta1, o.Beta2, o.Eps)
	return m, nil
}

func (m *DDGAN2DModel) Kind() string   { return "ddgan2d" }
func (m *DDGAN2DModel) NumParams() int { return m.GP.Count() + m.DP.Count() }

// SetSampler, Options and NFE: T posterior steps, as the image model.
func (m *DDGAN2DModel) SetSampler(o SamplerOptions) error {
	if (o.Sampler != "" && o.Sampler != "ddgan") || (o.Steps != 0 && o.Steps != m.Sched.T) || o.Eta != 0 || o.Guidance != 0 || o.Variance != "" || o.Clip {
		return fmt.Errorf("ddgan2d samples with its own T = %d posterior steps (sampler ddgan); it takes no other steps, eta, variance, guidance or clipping", m.Sched.T)
	}
	return nil
}
func (m *DDGAN2DModel) Options() SamplerOptions {
	return SamplerOptions{Sampler: "ddgan", Steps: m.Sched.T}
}
func (m *DDGAN2DModel) NFE() int { return m.Sched.T }

// dLogits applies D (image-path LReLUs through acts) to rows (N, dIn) and
// returns (N).
func (m *DDGAN2DModel) dLogits(g *G.ExprGraph, x *G.Node, acts *dActs) (*G.Node, error) {
	h := x
	for i, l := range m.D.layers {
		var err error
		if h, err = l.Apply(g, h); err != nil {
			return nil, err
		}
		if i+1 < len(m.D.layers) {
			if h, err = acts.lrelu(h); err != nil {
				return nil, err
			}
		}
	}
	return G.Reshape(h, tensor.Shape{x.Shape()[0]})
}

// toy2DDStep mirrors ddganDStep: the D step on 2B rows (real, fake; the
// gradient also wrt the rows) or R1's pass on B perturbed real rows.
type toy2DDStep struct {
	rows         int
	x, w         *tensor.Dense
	pre          []G.Value
	frozen       []*tensor.Dense
	loss, logits G.Value
	grads        G.Nodes
	vm           G.VM
}

const ddgan2dActs = 2

func (m *DDGAN2DModel) newDStep(batch int, r1 bool) (*toy2DDStep, error) {
	g := G.NewGraph()
	rows := 2 * batch
	if r1 {
		rows = batch
	}
	s := &toy2DDStep{rows: rows, x: f32(rows, m.dIn())}
	x := G.NodeFromAny(g, s.x, G.WithName("x"))
	acts := &dActs{}
	if m.R1 > 0 && !r1 {
		acts.pre = make([]*G.Node, ddgan2dActs)
	}
	if r1 {
		for k := range ddgan2dActs {
			f := f32(rows, m.D.layers[k].Out)
			s.frozen = append(s.frozen, f)
			acts.frozen = append(acts.frozen, G.NodeFromAny(g, f, G.WithName(fmt.Sprintf("frozen%d", k))))
		}
	}
	logits, err := m.dLogits(g, x, acts)
	if err != nil {
		return nil, fmt.Errorf("ddgan2d discriminator: %w", err)
	}
	outs := G.Nodes{G.Read(logits, &s.logits)}
	if acts.pre != nil {
		s.pre = make([]G.Value, ddgan2dActs)
		for k, n := range acts.pre {
			outs = append(outs, G.Read(n, &s.pre[k]))
		}
	}
	weighted := func(l *G.Node) *G.Node {
		return G.Must(G.Sum(G.Must(G.HadamardProd(l, G.NodeFromAny(g, s.w, G.WithName("w"))))))
	}
	wrt := paramNodes(g, m.DP.List)
	var loss *G.Node
	if r1 {
		s.w = f32(rows)
		loss = weighted(logits)
		outs = append(outs, G.Read(loss, &s.loss))
	} else {
		halves, err := nn.Split(logits, 0, 2) // not G.Slice: see nn.Split
		if err != nil {
			return nil, fmt.Errorf("ddgan2d: discriminator logits: %w", err)
		}
		real := halves[0]
		loss = ganLoss{kind: "ns"}.discriminator(g, real, halves[1])
		outs = append(outs, G.Read(loss, &s.loss))
		if m.R1 > 0 {
			s.w = f32(batch)
			loss = G.Must(G.Add(loss, weighted(real)))
		}
		wrt = append(wrt, x)
	}
	if s.grads, err = G.Grad(loss, wrt...); err != nil {
		return nil, fmt.Errorf("ddgan2d: discriminator gradients: %w", err)
	}
	s.vm, err = prunedMachine(g, append(outs, s.grads...))
	return s, err
}

// toy2DGStep: x̂_0 = G(in), x'_t = C1·x̂_0 + k, L_G = mean softplus(−D([x'_t ++ φ_D(x'_t) ++ cond])),
// cond = [x_{t+1} ++ sinusoid(t)].
type toy2DGStep struct {
	in, c1, k, cond *tensor.Dense
	loss            G.Value
	grads           G.Nodes
	vm              G.VM
}

func (m *DDGAN2DModel) newGStep(batch int) (*toy2DGStep, error) {
	g := G.NewGraph()
	s := &toy2DGStep{in: f32(batch, m.gIn()), c1: f32(batch, 2), k: f32(batch, 2), cond: f32(batch, 2+ddgan2dTEmb)}
	x0, err := m.G.apply(g, G.NodeFromAny(g, s.in, G.WithName("in")))
	if err != nil {
		return nil, fmt.Errorf("ddgan2d generator: %w", err)
	}
	xt := G.Must(G.Add(G.Must(G.HadamardProd(x0, G.NodeFromAny(g, s.c1, G.WithName("c1")))), G.NodeFromAny(g, s.k, G.WithName("k"))))
	parts := G.Nodes{xt}
	if len(m.dFreqs) > 0 {
		phi, err := nn.FourierFeatures(xt, m.dFreqs)
		if err != nil {
			return nil, fmt.Errorf("ddgan2d generator step: %w", err)
		}
		parts = append(parts, phi)
	}
	din := G.Must(G.Concat(1, append(parts, G.NodeFromAny(g, s.cond, G.WithName("cond")))...))
	logits, err := m.dLogits(g, din, &dActs{})
	if err != nil {
		return nil, err
	}
	loss := ganLoss{kind: "ns"}.generator(logits)
	read := G.Read(loss, &s.loss)
	if s.grads, err = G.Grad(loss, paramNodes(g, m.GP.List)...); err != nil {
		return nil, fmt.Errorf("ddgan2d: generator gradients: %w", err)
	}
	s.vm, err = prunedMachine(g, append(G.Nodes{read}, s.grads...))
	return s, err
}

// gInput writes G's input row [x_{t+1} ++ φ_G(x_{t+1}) ++ sinusoid(t) ++ z].
func (m *DDGAN2DModel) gInput(row, xt1, z []float32, t int) {
	p := 2 + 2*len(m.gFreqs)
	pointBlock(row[:p], xt1, m.gFreqs)
	TimestepEmbedding(row[p:p+ddgan2dTEmb], t)
	copy(row[p+ddgan2dTEmb:], z)
}

// TrainStep: the D step (R1 when due) then the G step, as DDGANModel's,
// with draws t, e1, e2, z, noise from r for each.
func (m *DDGAN2DModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	B := b.N
	x0 := make([]float32, 2*B)
	if err := scaledPoints(x0, b.X, B, m.scale); err != nil {
		return nil, fmt.Errorf("ddgan2d: %w", err)
	}
	if m.gStep == nil || m.dStep.rows != 2*B {
		var err error
		if m.dStep, err = m.newDStep(B, false); err != nil {
			return nil, err
		}
		if m.R1 > 0 {
			if m.r1Stp, err = m.newDStep(B, true); err != nil {
				return nil, err
			}
		}
		if m.gStep, err = m.newGStep(B); err != nil {
			return nil, err
		}
		if m.gInfer, err = newToyForwardRows(m.G, m.gIn(), B); err != nil {
			return nil, err
		}
	}
	dReal, dFake, err := m.discriminatorStep(x0, m.draw(r, B))
	if err != nil {
		return nil, err
	}
	if err := m.generatorStep(x0, m.draw(r, B)); err != nil {
		return nil, err
	}
	updateEMA(m.EP.List, m.GP.List, m.EMADecay, m.OptG.Step)
	return []Metric{
		{"d_loss", scalarValue(m.dStep.loss)},
		{"g_loss", scalarValue(m.gStep.loss)},
		{"r1", m.lastR1},
		{"d_real", dReal},
		{"d_fake", dFake},
	}, nil
}

func (m *DDGAN2DModel) draw(r *rng.RNG, n int) ddganDraw {
	d := ddganDraw{ts: make([]int, n), e1: make([]float32, 2*n), e2: make([]float32, 2*n),
		z: make([]float32, n*m.Latent), noise: make([]float32, 2*n)}
	for i := range d.ts {
		d.ts[i] = r.IntN(m.Sched.T)
	}
	rng.Normal(r, d.e1)
	rng.Normal(r, d.e2)
	rng.Normal(r, d.z)
	rng.Normal(r, d.noise)
	return d
}

func (m *DDGAN2DModel) discriminatorStep(x0 []float32, d ddganDraw) (float64, float64, error) {
	B, s, sc, W, P := len(d.ts), m.dStep, m.Sched, m.dIn(), m.dPoint()
	x := s.x.Data().([]float32)
	gin := m.gInfer.in.Data().([]float32)
	xt, xt1 := make([]float32, 2), make([]float32, 2)
	for i, t := range d.ts {
		real, fake := x[i*W:(i+1)*W], x[(B+i)*W:(B+i+1)*W]
		sc.Pair(xt, xt1, x0[2*i:2*i+2], d.e1[2*i:2*i+2], d.e2[2*i:2*i+2], t)
		pointBlock(real[:P], xt, m.dFreqs)
		copy(real[P:P+2], xt1)
		TimestepEmbedding(real[P+2:], t)
		copy(fake[P:], real[P:])
		m.gInput(gin[i*m.gIn():(i+1)*m.gIn()], xt1, d.z[i*m.Latent:(i+1)*m.Latent], t)
	}
	if err := runVM(m.gInfer.vm); err != nil {
		return 0, 0, fmt.Errorf("ddgan2d D step, generator: %w", err)
	}
	xhat := m.gInfer.out.Data().([]float32)
	for i, t := range d.ts {
		fake := x[(B+i)*W : (B+i+1)*W]
		sc.Posterior(xt, xhat[2*i:2*i+2], fake[P:P+2], d.noise[2*i:2*i+2], t)
		pointBlock(fake[:P], xt, m.dFreqs)
	}
	due := m.R1 > 0 && m.OptD.Step%int64(m.LazyReg) == 0
	grads, err := m.dGradients(due)
	if err != nil {
		return 0, 0, err
	}
	if err := m.OptD.Update(grads); err != nil {
		return 0, 0, err
	}
	l := s.logits.Data().([]float32)
	return meanSigmoid32(l[:B]), meanSigmoid32(l[B:]), nil
}

// dGradients is DDGANModel.dGradients for the MLP: the D step with R1's
// baseline weights, then (when due) R1's pass on the rows moved along
// [g, J_φ g] by ε: x_t + ε·g and φ(x_t) + ε·J_φ g, g = ∂D/∂x_t (which
// takes the features' share through J_φᵀ).
func (m *DDGAN2DModel) dGradients(due bool) ([]G.Value, error) {
	s, W, F := m.dStep, m.dIn(), 2*len(m.dFreqs)
	var xt [2]float32
	var dir [2]float64 // ∂D/∂x_t, then the move ε·g of x_t
	B := s.rows / 2
	c := 0.0
	if due {
		c = m.R1 / (m.R1Step * float64(B))
	}
	if s.w != nil {
		for i, w := 0, s.w.Data().([]float32); i < B; i++ {
			w[i] = float32(-c)
		}
	}
	if err := runVM(s.vm); err != nil {
		return nil, fmt.Errorf("ddgan2d D step: %w", err)
	}
	grads := gradValues(s.grads[:len(m.DP.List)])
	if !due {
		return grads, nil
	}
	r := m.r1Stp
	dx, logits := s.grads[len(s.grads)-1].Value().Data().([]float32), s.logits.Data().([]float32)
	rx := r.x.Data().([]float32)
	copy(rx, s.x.Data().([]float32)[:B*W])
	for k, f := range r.frozen {
		copy(f.Data().([]float32), s.pre[k].Data().([]float32)[:B*m.D.layers[k].Out])
	}
	penalty := 0.0
	for i := range B {
		scale := -float64(B) / (1/(1+math.Exp(float64(logits[i]))) + c*float64(B))
		row, d := rx[i*W:(i+1)*W], dx[i*W:(i+1)*W]
		copy(xt[:], row[:2])
		dir = [2]float64{float64(d[0]), float64(d[1])}
		if F > 0 {
			nn.FourierVJP(dir[:], d[2:2+F], xt[:], m.dFreqs)
		}
		for j := range 2 {
			g := dir[j] * scale
			penalty += g * g
			dir[j] = m.R1Step * g
			row[j] += float32(dir[j])
		}
		if F > 0 {
			nn.FourierJVP(row[2:2+F], xt[:], dir[:], m.dFreqs)
		}
	}
	m.lastR1 = m.R1 / 2 * penalty / float64(B)
	for i, w := 0, r.w.Data().([]float32); i < B; i++ {
		w[i] = float32(c)
	}
	if err := runVM(r.vm); err != nil {
		return nil, fmt.Errorf("ddgan2d R1: %w", err)
	}
	for k, gv := range grads {
		dst := gv.Data().([]float32)
		for j, v := range r.grads[k].Value().Data().([]float32) {
			dst[j] += v
		}
	}
	return grads, nil
}

func (m *DDGAN2DModel) generatorStep(x0 []float32, d ddganDraw) error {
	s, sc := m.gStep, m.Sched
	in, c1, k, cond := s.in.Data().([]float32), s.c1.Data().([]float32), s.k.Data().([]float32), s.cond.Data().([]float32)
	xt, zero := make([]float32, 2), make([]float32, 2)
	C := 2 + ddgan2dTEmb
	for i, t := range d.ts {
		xt1 := cond[i*C : i*C+2]
		sc.Pair(xt, xt1, x0[2*i:2*i+2], d.e1[2*i:2*i+2], d.e2[2*i:2*i+2], t)
		TimestepEmbedding(cond[i*C+2:(i+1)*C], t)
		m.gInput(in[i*m.gIn():(i+1)*m.gIn()], xt1, d.z[i*m.Latent:(i+1)*m.Latent], t)
		sc.Posterior(k[2*i:2*i+2], zero, xt1, d.noise[2*i:2*i+2], t)
		c1[2*i], c1[2*i+1] = sc.C1[t], sc.C1[t]
	}
	if err := runVM(s.vm); err != nil {
		return fmt.Errorf("ddgan2d G step: %w", err)
	}
	return m.OptG.Update(gradValues(s.grads))
}

// newToyForwardRows is newToyForward at a given batch.
func newToyForwardRows(net *toyMLP, inDim, rows int) (*toyForward, error) {
	g := G.NewGraph()
	f := &toyForward{in: f32(rows, inDim)}
	out, err := net.apply(g, G.NodeFromAny(g, f.in, G.WithName("in")))
	if err != nil {
		return nil, err
	}
	G.Read(out, &f.out)
	f.vm = G.NewTapeMachine(g)
	return f, nil
}

// Generate samples one point per seed with the EMA generator: from the
// seed's stream StreamSample, x_T ~ N(0, I), then for t = T−1..0 z and
// (t > 0) the posterior's noise. Labels are ignored.
func (m *DDGAN2DModel) Generate(seeds []uint64, _ []int) ([][]float32, error) {
	if m.sampler == nil || m.sampler.in.Shape()[0] != m.inferRows {
		var err error
		if m.sampler, err = newToyForwardRows(m.EMA, m.gIn(), m.inferRows); err != nil {
			return nil, err
		}
	}
	B, nz, gi := m.inferRows, m.Latent, m.gIn()
	in := m.sampler.in.Data().([]float32)
	x := make([]float32, 2*B)
	z, noise := make([]float32, nz), make([]float32, 2)
	out := make([][]float32, 0, len(seeds))
	for start := 0; start < len(seeds); start += B {
		n := min(B, len(seeds)-start)
		clear(x)
		clear(in)
		rs := make([]*rng.RNG, n)
		for i := range rs {
			rs[i] = rng.New(seeds[start+i], StreamSample)
			rng.Normal(rs[i], x[2*i:2*i+2])
		}
		for t := m.Sched.T - 1; t >= 0; t-- {
			for i := range B {
				clear(z)
				if i < n {
					rng.Normal(rs[i], z)
				}
				m.gInput(in[i*gi:(i+1)*gi], x[2*i:2*i+2], z, t)
			}
			if err := runVM(m.sampler.vm); err != nil {
				return nil, fmt.Errorf("ddgan2d sampler: %w", err)
			}
			xhat := m.sampler.out.Data().([]float32)
			for i := range n {
				clear(noise)
				if t > 0 {
					rng.Normal(rs[i], noise)
				}
				m.Sched.Posterior(x[2*i:2*i+2], xhat[2*i:2*i+2], x[2*i:2*i+2], noise, t)
			}
		}
		out = append(out, pointsFrom(x, n, m.scale)...)
	}
	return out, nil
}

// Evaluate has no held-out score of its own; the training loop adds the
// mode counts.
func (m *DDGAN2DModel) Evaluate(*data.Dataset) ([]Metric, error) { return nil, nil }

func (m *DDGAN2DModel) State(train bool) []checkpoint.Tensor {
	ts := paramTensors(slices.Concat(m.GP.List, m.DP.List, m.EP.List))
	if train {
		ts = append(ts, adamTensors("optim_g", m.OptG)...)
		ts = append(ts, adamTensors("optim_d", m.OptD)...)
	}
	return ts
}

func (m *DDGAN2DModel) Load(f *checkpoint.File, train bool) error {
	if err := loadParams(f, slices.Concat(m.GP.List, m.DP.List, m.EP.List)); err != nil {
		return err
	}
	if train {
		if err := loadAdam(f, "optim_g", m.OptG); err != nil {
			return err
		}
		return loadAdam(f, "optim_d", m.OptD)
	}
	return nil
}
