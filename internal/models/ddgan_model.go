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

// DDGANModel is the trainable class-conditional denoising diffusion GAN
// (ddgan.go has the networks and the diffusion): G ("G."), D ("D."), an
// exponential moving average of G ("ema.") that sampling uses, one Adam per
// network ("optim_g.", "optim_d.").
//
// One training step, on a batch x_0 ∈ [−1, 1] with labels y:
//
//	D step: t ~ U{0..T−1}, (x_t, x_{t+1}) a pair of step t, x'_t ~ q(x_t | x_{t+1}, G(x_{t+1}, t, z, y));
//	        L_D = E softplus(−D(x_t, x_{t+1})) + E softplus(D(x'_t, x_{t+1}))
//	              + r1/2 · E‖∂D(x_t, x_{t+1})/∂x_t‖²   (every lazy_reg steps)
//	G step: a fresh t, pair and z on the same batch; L_G = E softplus(−D(x'_t, x_{t+1})).
//
// R1's gradient needs D's second derivative; it is computed by a central
// difference of first derivatives along the gradient itself (r1Grads).
type DDGANModel struct {
	G, EMA   *DDGANGenerator
	GP, EP   *nn.Params
	D        *DDGANDiscriminator
	OptG     *nn.Adam
	OptD     *nn.Adam
	Sched    *DDGANSchedule
	Classes  int
	Image    Shape // the images' shape
	EMADecay float64
	R1       float64 // weight γ of the R1 penalty (0 = off)
	LazyReg  int     // R1 every LazyReg D steps
	R1Step   float64 // ε: R1's gradient is a difference of D's gradients at x_t + ε·∂D/∂x_t and x_t

	lastR1     float64
	inferBatch int
	dStep      *ddganDStep
	r1Step     *ddganDStep
	gStep      *ddganGStep
	gInfer     *ddganGForward // raw G at the training batch: the D step's fakes
	sampler    *ddganGForward // EMA G at inferBatch
}

var (
	_ Model       = (*DDGANModel)(nil)
	_ Sampler     = (*DDGANModel)(nil)
	_ Conditional = (*DDGANModel)(nil)
)

// DDGANOptions are the hyperparameters of the ddgan kind (docs/models.md).
// The values in parentheses are the reference implementation's;
// configs/ddgan.yaml departs from them where docs/models.md ("Tuning")
// measured better: D's width 32, R1 every 15 steps, lr_D 8e-4.
type DDGANOptions struct {
	T         int     // diffusion steps (4)
	R1        float64 // R1 weight γ (0.05); 0 turns it off
	LazyReg   int     // R1 every this many D steps (1)
	R1Step    float64 // ε of R1's exact difference (0 = 1; any ε > 0 gives the same gradient up to rounding)
	Latent    int     // nz (100)
	Channels  int     // G's base width C (16)
	DChannels int     // D's width dch (64)
	DHead     string  // D's head: "sum" (the reference's; "" too) or "flatten"
	Classes   int     // 10
	Image     Shape   // the images' shape (zero: DefaultShape)
	Seed      uint64
	LRG, LRD  float64 // 1.6e-4, 1.25e-4
	Beta1     float64 // 0.5
	Beta2     float64 // 0.9
	Eps       float64 // 1e-8
	EMA       float64 // 0.999
}

// ddganInferBatch is the fixed batch of the sampling graph (shorter
// requests are padded, so a sample never depends on its batch).
const ddganInferBatch = 100

// NewDDGANModel returns an untrained DDGAN whose EMA starts as a copy of G.
func NewDDGANModel(o DDGANOptions) (*DDGANModel, error) {
	sched, err := NewDDGANSchedule(o.T)
	if err != nil {
		return nil, err
	}
	if o.R1 < 0 || math.IsNaN(o.R1) || o.LazyReg < 1 || !(o.EMA >= 0 && o.EMA < 1) || o.R1Step < 0 || o.Classes < 1 {
		return nil, fmt.Errorf("ddgan: r1 %g, lazy_reg %d, ema %g, r1 step %g, classes %d: want r1 >= 0, lazy_reg >= 1, ema in [0, 1), a step >= 0 and a class",
			o.R1, o.LazyReg, o.EMA, o.R1Step, o.Classes)
	}
	if o.R1Step == 0 {
		o.R1Step = 1
	}
	r := rng.New(o.Seed, StreamInit)
	gp, dp, ep := nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r), nn.NewParams(tensor.Float32, r)
	img := o.Image.orDefault()
	if img.H != img.W || img.H%4 != 0 {
		return nil, fmt.Errorf("ddgan: images of %s: want square ones whose side is divisible by 4", img)
	}
	m := &DDGANModel{GP: gp, EP: ep, Sched: sched, Classes: o.Classes, Image: img, EMADecay: o.EMA, R1: o.R1, LazyReg: o.LazyReg,
		R1Step: o.R1Step, inferBatch: ddganInferBatch}
	if m.G, err = NewDDGANGenerator(gp, "G.", o.Channels, o.Classes, o.Latent, img); err != nil {
		return nil, err
	}
	if m.D, err = NewDDGANDiscriminator(dp, "D.", o.DChannels, o.Classes, img, o.DHead); err != nil {
		return nil, err
	}
	if m.EMA, err = NewDDGANGenerator(ep, "ema.", o.Channels, o.Classes, o.Latent, img); err != nil {
		return nil, err
	}
	copyState(ep.List, gp.List)
	m.OptG = nn.NewAdam(gp.List, o.LRG, o.Beta1, o.Beta2, o.Eps)
	m.OptD = nn.NewAdam(dp.List, o.LRD, o.Beta1, o.Beta2, o.Eps)
	return m, nil
}

func (m *DDGANModel) Kind() string    { return "ddgan" }
func (m *DDGANModel) NumParams() int  { return m.GP.Count() + m.D.Params.Count() }
func (m *DDGANModel) NumClasses() int { return m.Classes }
func (m *DDGANModel) pixels() int     { return m.Image.Pixels() }

// UsesLabels is false for a model of one class (model.classes 1): every
// image is class 0, and the model is unconditional.
func (m *DDGANModel) UsesLabels() bool { return m.Classes > 1 }

// SetSampler accepts only the model's own sampler: T posterior steps, one
// generator evaluation each (Steps 0 or T; no guidance, no DDIM).
func (m *DDGANModel) SetSampler(o SamplerOptions) error {
	if (o.Sampler != "" && o.Sampler != "ddgan") || (o.Steps != 0 && o.Steps != m.Sched.T) || o.Eta != 0 || o.Guidance != 0 || o.Variance != "" || o.Clip {
		return fmt.Errorf("ddgan samples with its own T = %d posterior steps (sampler ddgan); it takes no other steps, eta, variance, guidance or clipping", m.Sched.T)
	}
	return nil
}

// Options describes the sampler: T steps of x_t ~ q(x_t | x_{t+1}, G(x_{t+1}, t, z, y)).
func (m *DDGANModel) Options() SamplerOptions {
	return SamplerOptions{Sampler: "ddgan", Steps: m.Sched.T}
}

// NFE is T: one generator evaluation per step.
func (m *DDGANModel) NFE() int { return m.Sched.T }

// ddganGForward is a graph of G at a fixed batch: x_{t+1}, step features,
// one-hot labels and PixelNorm'ed z in, x̂_0 out.
type ddganGForward struct {
	batch          int
	x, tfeat, y, z *tensor.Dense
	out            G.Value
	vm             G.VM
}

func newDDGANGForward(gen *DDGANGenerator, batch, classes int) (*ddganGForward, error) {
	g := G.NewGraph()
	S, ch := gen.Net.Size, gen.Net.ImageChannels
	f := &ddganGForward{batch: batch, x: f32(batch, ch, S, S), tfeat: f32(batch, gen.Net.Channels),
		y: f32(batch, classes), z: f32(batch, gen.Latent)}
	out, err := gen.Apply(g, G.NodeFromAny(g, f.x, G.WithName("x")), G.NodeFromAny(g, f.tfeat, G.WithName("tfeat")),
		G.NodeFromAny(g, f.y, G.WithName("y")), G.NodeFromAny(g, f.z, G.WithName("z")))
	if err != nil {
		return nil, err
	}
	G.Read(out, &f.out)
	if f.vm, err = newMachine(g, nil); err != nil {
		return nil, fmt.Errorf("ddgan generator: %w", err)
	}
	return f, nil
}

// ddganDStep is a graph of D on a fixed batch of pairs (rows, 2ch, S, S)
// with their step features and one-hot labels, whose gradient is taken wrt
// D's parameters.
//
// The D step's graph holds B real then B fake pairs; its objective is L_D
// plus, with R1, Σ_{i<B} w_i·D_i on the real rows (fed weights: R1's
// baseline, see r1Grads), and its gradient is also taken wrt the pairs. R1's
// graph holds the B perturbed real pairs with D's slopes frozen; its
// objective is Σ_i w_i·D_i.
type ddganDStep struct {
	rows              int
	pair, tfeat, y, w *tensor.Dense
	// With R1: the D step's pre-activations of its image-path LReLUs
	// (read), and R1's frozen slopes (fed).
	pre          []G.Value
	frozen       []*tensor.Dense
	loss, logits G.Value
	grads        G.Nodes // D's parameters, then (D step) the pairs
	vm           G.VM
}

func (m *DDGANModel) newDStep(batch int, r1 bool) (*ddganDStep, error) {
	g := G.NewGraph()
	rows := 2 * batch
	if r1 {
		rows = batch
	}
	img := m.Image
	s := &ddganDStep{rows: rows, pair: f32(rows, 2*img.C, img.H, img.W), tfeat: f32(rows, m.D.Channels), y: f32(rows, m.Classes)}
	pair := G.NodeFromAny(g, s.pair, G.WithName("pair"))
	acts := &dActs{}
	if m.R1 > 0 && !r1 {
		acts.pre = make([]*G.Node, ddganDActs)
	}
	if r1 {
		for k := range ddganDActs {
			f := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(m.preShape(rows, k)...))
			s.frozen = append(s.frozen, f)
			acts.frozen = append(acts.frozen, G.NodeFromAny(g, f, G.WithName(fmt.Sprintf("frozen%d", k))))
		}
	}
	logits, err := m.D.apply(g, pair, G.NodeFromAny(g, s.tfeat, G.WithName("tfeat")), G.NodeFromAny(g, s.y, G.WithName("y")), acts)
	if err != nil {
		return nil, err
	}
	outs := G.Nodes{G.Read(logits, &s.logits)}
	if acts.pre != nil {
		s.pre = make([]G.Value, ddganDActs)
		for k, n := range acts.pre {
			outs = append(outs, G.Read(n, &s.pre[k]))
		}
	}
	var loss *G.Node
	wrt := paramNodes(g, m.D.Params.List)
	weighted := func(l *G.Node) *G.Node {
		return G.Must(G.Sum(G.Must(G.HadamardProd(l, G.NodeFromAny(g, s.w, G.WithName("w"))))))
	}
	if r1 {
		s.w = f32(rows)
		loss = weighted(logits)
		outs = append(outs, G.Read(loss, &s.loss))
	} else {
		halves, err := nn.Split(logits, 0, 2) // not G.Slice: see nn.Split
		if err != nil {
			return nil, fmt.Errorf("ddgan: discriminator logits: %w", err)
		}
		real, fake := halves[0], halves[1]
		loss = ganLoss{kind: "ns"}.discriminator(g, real, fake)
		outs = append(outs, G.Read(loss, &s.loss))
		if m.R1 > 0 {
			s.w = f32(batch)
			loss = G.Must(G.Add(loss, weighted(real)))
		}
		wrt = append(wrt, pair)
	}
	if s.grads, err = G.Grad(loss, wrt...); err != nil {
		return nil, fmt.Errorf("ddgan: discriminator gradients: %w", err)
	}
	if s.vm, err = newPrunedMachine(g, append(outs, s.grads...), s.grads); err != nil {
		return nil, fmt.Errorf("ddgan: discriminator step: %w", err)
	}
	return s, nil
}

// prunedMachine compiles only the part of g that the outputs need.
// Gorgonia's Grad builds every gradient of an op whose output is on the
// path (a convolution's dW and db as well as its dx), and Compile runs all
// of them: in the generator's step that is D's whole weight gradient, a
// tenth of the step, for nothing.
func prunedMachine(g *G.ExprGraph, outputs G.Nodes) (G.VM, error) {
	sub := g.ExactSubgraphRoots(outputs...)
	prog, locs, err := G.CompileFunction(g, sub.Inputs(), outputs)
	if err != nil {
		return nil, fmt.Errorf("ddgan: compiling a graph: %w", err)
	}
	return G.NewTapeMachine(g, G.WithPrecompiled(prog, locs)), nil
}

// ddganGStep is the generator's objective at batch B: x̂_0 = G(x_{t+1}, t,
// z, y), x'_t = C1_t·x̂_0 + K (K = C2_t·x_{t+1} + SD_t·noise, fed), then
// L_G = mean softplus(−D(x'_t, x_{t+1})), differentiated wrt G's parameters.
type ddganGStep struct {
	x, tfeat, y, z *tensor.Dense // G's inputs
	c1, k, dtfeat  *tensor.Dense // the posterior's per-pixel coefficient and offset; D's step features
	loss           G.Value
	grads          G.Nodes
	vm             G.VM
}

func (m *DDGANModel) newGStep(batch int) (*ddganGStep, error) {
	g := G.NewGraph()
	img := m.Image
	s := &ddganGStep{x: f32(batch, img.C, img.H, img.W), tfeat: f32(batch, m.G.Net.Channels), y: f32(batch, m.Classes),
		z: f32(batch, m.G.Latent), c1: f32(batch, img.C, img.H, img.W), k: f32(batch, img.C, img.H, img.W), dtfeat: f32(batch, m.D.Channels)}
	x := G.NodeFromAny(g, s.x, G.WithName("x"))
	y := G.NodeFromAny(g, s.y, G.WithName("y"))
	x0, err := m.G.Apply(g, x, G.NodeFromAny(g, s.tfeat, G.WithName("tfeat")), y, G.NodeFromAny(g, s.z, G.WithName("z")))
	if err != nil {
		return nil, err
	}
	xt := G.Must(G.Add(G.Must(G.HadamardProd(x0, G.NodeFromAny(g, s.c1, G.WithName("c1")))), G.NodeFromAny(g, s.k, G.WithName("k"))))
	pair, err := nn.ConcatChannels(xt, x)
	if err != nil {
		return nil, err
	}
	logits, err := m.D.Apply(g, pair, G.NodeFromAny(g, s.dtfeat, G.WithName("dtfeat")), y)
	if err != nil {
		return nil, err
	}
	loss := ganLoss{kind: "ns"}.generator(logits)
	read := G.Read(loss, &s.loss)
	if s.grads, err = G.Grad(loss, paramNodes(g, m.GP.List)...); err != nil {
		return nil, fmt.Errorf("ddgan: generator gradients: %w", err)
	}
	if s.vm, err = newPrunedMachine(g, append(G.Nodes{read}, s.grads...), s.grads); err != nil {
		return nil, fmt.Errorf("ddgan: generator step: %w", err)
	}
	return s, nil
}

// preShape is the shape of the input of D's k-th image-path LReLU for a
// batch of rows: each Down block's input and its c1's output, then the
// final conv's output.
func (m *DDGANModel) preShape(rows, k int) []int {
	c, H, W := m.D.Channels, m.Image.H, m.Image.W
	return [][]int{{rows, c, H, W}, {rows, c, H, W}, {rows, c, H / 2, W / 2},
		{rows, 2 * c, H / 2, W / 2}, {rows, 2 * c, H / 4, W / 4}}[k]
}

// ensureGraphs builds the training graphs for batch B on first use.
func (m *DDGANModel) ensureGraphs(batch int) error {
	if m.gStep != nil && m.gStep.x.Shape()[0] == batch {
		return nil
	}
	var err error
	if m.dStep, err = m.newDStep(batch, false); err != nil {
		return err
	}
	if m.R1 > 0 {
		if m.r1Step, err = m.newDStep(batch, true); err != nil {
			return err
		}
	}
	if m.gStep, err = m.newGStep(batch); err != nil {
		return err
	}
	m.gInfer, err = newDDGANGForward(m.G, batch, m.Classes)
	return err
}

// ddganDraw is one step's randomness for a batch, drawn from r in this
// order: t_i for every row, e1 and e2 for the whole batch, z, then the
// posterior noise.
type ddganDraw struct {
	ts               []int
	e1, e2, z, noise []float32
}

func (m *DDGANModel) draw(r *rng.RNG, n int) ddganDraw {
	P := m.pixels()
	d := ddganDraw{ts: make([]int, n), e1: make([]float32, n*P), e2: make([]float32, n*P),
		z: make([]float32, n*m.G.Latent), noise: make([]float32, n*P)}
	for i := range d.ts {
		d.ts[i] = r.IntN(m.Sched.T)
	}
	rng.Normal(r, d.e1)
	rng.Normal(r, d.e2)
	rng.Normal(r, d.z)
	PixelNorm(d.z, m.G.Latent)
	rng.Normal(r, d.noise)
	return d
}

// setRows writes row i's step features and one-hot label into tfeat (rows
// of len(tfeat)/n) and y (rows of Classes).
func setRows(tfeat, y []float32, n, i, t, label, classes int) {
	c := len(tfeat) / n
	TimestepEmbedding(tfeat[i*c:(i+1)*c], t)
	row := y[i*classes : (i+1)*classes]
	clear(row)
	row[label] = 1
}

// TrainStep takes one D step (with R1 when due) then one G step, as
// DDGANModel's comment states, and moves G's average. Randomness comes
// from r: the D step's draws (ddganDraw), then the G step's.
func (m *DDGANModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	P, B := m.pixels(), b.N
	if B < 1 || len(b.X) < B*P || len(b.Labels) < B {
		return nil, fmt.Errorf("ddgan: batch of %d holds %d pixels and %d labels, want %d×%d pixels", B, len(b.X), len(b.Labels), B, P)
	}
	labels := make([]int, B)
	for i, l := range b.Labels[:B] {
		if int(l) >= m.Classes {
			return nil, fmt.Errorf("ddgan: label %d but the model has %d classes", l, m.Classes)
		}
		labels[i] = int(l)
	}
	if err := m.ensureGraphs(B); err != nil {
		return nil, err
	}
	x0 := make([]float32, B*P)
	for i, v := range b.X[:B*P] {
		x0[i] = 2*v - 1
	}
	dReal, dFake, err := m.discriminatorStep(x0, labels, m.draw(r, B))
	if err != nil {
		return nil, err
	}
	if err := m.generatorStep(x0, labels, m.draw(r, B)); err != nil {
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

// discriminatorStep fills the D step's real and fake pairs, runs it (and
// R1's graph when due) and updates D. It returns the mean σ(D) on the real
// and the fake pairs.
func (m *DDGANModel) discriminatorStep(x0 []float32, labels []int, d ddganDraw) (float64, float64, error) {
	P, B, sc := m.pixels(), len(labels), m.Sched
	s, gf := m.dStep, m.gInfer
	pair, tfeat, y := s.pair.Data().([]float32), s.tfeat.Data().([]float32), s.y.Data().([]float32)
	gx, gt, gy := gf.x.Data().([]float32), gf.tfeat.Data().([]float32), gf.y.Data().([]float32)
	for i, t := range d.ts {
		real, fake := pair[2*i*P:(2*i+2)*P], pair[2*(B+i)*P:(2*(B+i)+2)*P]
		sc.Pair(real[:P], real[P:], x0[i*P:(i+1)*P], d.e1[i*P:(i+1)*P], d.e2[i*P:(i+1)*P], t)
		copy(fake[P:], real[P:])
		copy(gx[i*P:(i+1)*P], real[P:])
		setRows(tfeat, y, 2*B, i, t, labels[i], m.Classes)
		setRows(tfeat, y, 2*B, B+i, t, labels[i], m.Classes)
		setRows(gt, gy, B, i, t, labels[i], m.Classes)
	}
	copy(gf.z.Data().([]float32), d.z)
	if err := runVM(gf.vm); err != nil {
		return 0, 0, fmt.Errorf("ddgan D step, generator: %w", err)
	}
	xhat := gf.out.Data().([]float32)
	for i, t := range d.ts {
		fake := pair[2*(B+i)*P : (2*(B+i)+2)*P]
		sc.Posterior(fake[:P], xhat[i*P:(i+1)*P], fake[P:], d.noise[i*P:(i+1)*P], t)
	}
	grads, err := m.dGradients(m.R1 > 0 && m.OptD.Step%int64(m.LazyReg) == 0)
	if err != nil {
		return 0, 0, err
	}
	if err := m.OptD.Update(grads); err != nil {
		return 0, 0, err
	}
	logits := s.logits.Data().([]float32)
	return meanSigmoid32(logits[:B]), meanSigmoid32(logits[B:]), nil
}

// dGradients runs the D step's graph on its filled batch and returns D's
// gradients, R1's added when r1Due.
func (m *DDGANModel) dGradients(r1Due bool) ([]G.Value, error) {
	s := m.dStep
	B := s.rows / 2
	if s.w != nil {
		c := float32(0)
		if r1Due {
			c = float32(m.R1 / (m.R1Step * float64(B)))
		}
		for i, w := 0, s.w.Data().([]float32); i < B; i++ {
			w[i] = -c
		}
	}
	if err := runVM(s.vm); err != nil {
		return nil, fmt.Errorf("ddgan D step: %w", err)
	}
	grads := gradValues(s.grads[:len(m.D.Params.List)])
	if r1Due {
		if err := m.r1Grads(grads); err != nil {
			return nil, err
		}
	}
	return grads, nil
}

func meanSigmoid32(ls []float32) float64 {
	s := 0.0
	for _, l := range ls {
		s += 1 / (1 + math.Exp(-float64(l)))
	}
	return s / float64(len(ls))
}

// r1Grads adds the gradient of R1 = γ/2 · mean_i ‖g_i‖², g_i = ∂D_i/∂x_t,
// to D's gradients, after the D step's graph has run on the batch.
//
// ∇_θ R1 = γ/B · Σ_i (∂g_i/∂θ)ᵀ g_i, where (∂g_i/∂θ)ᵀ v = ∂/∂ε ∇_θ D_i(x_t + ε v)
// at ε = 0 is the mixed second derivative that double backpropagation
// computes. D is piecewise linear in its input (convolutions, linear maps,
// average pools and LReLUs): with each LReLU's slopes frozen at their
// values on the real pair (nn.LeakyReLUAt), D is affine in x_t on the
// whole line x_t + ε v, so ∇_θ D_i is affine in ε too, and the difference
//
//	(∇_θ D_i(x_t + ε g_i) − ∇_θ D_i(x_t)) / ε
//
// is that derivative exactly (double backpropagation also takes LReLU” =
// 0), for any ε, up to rounding. The second term is in the D step already:
// its objective carries −c·Σ_i D_i(x_t) on the real rows, c = γ/(εB) (fed
// as its weights, 0 when R1 is not due). The first is one more pass of D on
// the B perturbed real pairs with weight +c (R1's graph). ε = R1Step.
// TestDDGANR1GradMatchesExact checks the sum against the derivative of R1
// in float64.
//
// g_i is read off the D step's own gradient wrt the real pairs:
// ∂L/∂x_t,i = (−σ(−D_i)/B − c) · g_i.
func (m *DDGANModel) r1Grads(grads []G.Value) error {
	P, s, r := m.pixels(), m.dStep, m.r1Step
	B := s.rows / 2
	dpair := s.grads[len(s.grads)-1].Value().Data().([]float32)
	logits := s.logits.Data().([]float32)
	pair, rp := s.pair.Data().([]float32), r.pair.Data().([]float32)
	c := float64(-s.w.Data().([]float32)[0])
	// R1's rows are the real rows: their pairs, steps, labels and
	// activation patterns.
	copy(rp, pair[:B*2*P])
	copy(r.tfeat.Data().([]float32), s.tfeat.Data().([]float32))
	copy(r.y.Data().([]float32), s.y.Data().([]float32))
	for k, f := range r.frozen {
		copy(f.Data().([]float32), s.pre[k].Data().([]float32))
	}
	penalty := 0.0
	for i := range B {
		scale := -float64(B) / (1/(1+math.Exp(float64(logits[i]))) + c*float64(B)) // 1/(−σ(−D_i)/B − c)
		row := rp[2*i*P : 2*i*P+P]
		for j, v := range dpair[2*i*P : 2*i*P+P] {
			g := float64(v) * scale
			penalty += g * g
			row[j] += float32(m.R1Step * g)
		}
	}
	m.lastR1 = m.R1 / 2 * penalty / float64(B)
	for i, w := 0, r.w.Data().([]float32); i < B; i++ {
		w[i] = float32(c)
	}
	if err := runVM(r.vm); err != nil {
		return fmt.Errorf("ddgan R1: %w", err)
	}
	for k, gv := range grads {
		dst, add := gv.Data().([]float32), r.grads[k].Value().Data().([]float32)
		for j, v := range add {
			dst[j] += v
		}
	}
	return nil
}

// generatorStep fills the G step from a fresh draw, runs it and updates G.
func (m *DDGANModel) generatorStep(x0 []float32, labels []int, d ddganDraw) error {
	P, s, sc := m.pixels(), m.gStep, m.Sched
	x, c1, k := s.x.Data().([]float32), s.c1.Data().([]float32), s.k.Data().([]float32)
	xt := make([]float32, P)
	for i, t := range d.ts {
		row := x[i*P : (i+1)*P]
		sc.Pair(xt, row, x0[i*P:(i+1)*P], d.e1[i*P:(i+1)*P], d.e2[i*P:(i+1)*P], t)
		// x'_t = C1·x̂_0 + (C2·x_{t+1} + SD·noise): the posterior with a zero x̂_0 gives K.
		sc.Posterior(k[i*P:(i+1)*P], make([]float32, P), row, d.noise[i*P:(i+1)*P], t)
		for j := range P {
			c1[i*P+j] = sc.C1[t]
		}
		setRows(s.tfeat.Data().([]float32), s.y.Data().([]float32), len(labels), i, t, labels[i], m.Classes)
		TimestepEmbedding(s.dtfeat.Data().([]float32)[i*m.D.Channels:(i+1)*m.D.Channels], t)
	}
	copy(s.z.Data().([]float32), d.z)
	if err := runVM(s.vm); err != nil {
		return fmt.Errorf("ddgan G step: %w", err)
	}
	return m.OptG.Update(gradValues(s.grads))
}

// Generate samples one image per seed with the EMA generator: sample i
// draws from its own stream rng.New(seeds[i], StreamSample), in this order,
// a uniform class when labels[i] < 0 (or labels is nil), x_T ~ N(0, I),
// then for t = T−1..0 a latent z and (t > 0) the posterior's noise, so it
// depends on its seed and label only. Pixels are (clamp(x_0, −1, 1) + 1)/2.
func (m *DDGANModel) Generate(seeds []uint64, labels []int) ([][]float32, error) {
	return m.generate(seeds, labels, nil)
}

// generate is Generate's sampler. observe, if set, sees each step t's input
// x_{t+1} and the generator's x̂_0 for the n samples of the batch that starts
// at sample start (Trajectory records them); it must not change them.
func (m *DDGANModel) generate(seeds []uint64, labels []int, observe func(t, start, n int, x, xhat []float32)) ([][]float32, error) {
	if labels != nil && len(labels) != len(seeds) {
		return nil, fmt.Errorf("ddgan: %d labels for %d seeds", len(labels), len(seeds))
	}
	for _, l := range labels {
		if l >= m.Classes {
			return nil, fmt.Errorf("ddgan: class %d requested, the model has classes 0..%d", l, m.Classes-1)
		}
	}
	if m.sampler == nil || m.sampler.batch != m.inferBatch {
		var err error
		if m.sampler, err = newDDGANGForward(m.EMA, m.inferBatch, m.Classes); err != nil {
			return nil, err
		}
	}
	s, P, B, nz := m.sampler, m.pixels(), m.inferBatch, m.EMA.Latent
	x, z := s.x.Data().([]float32), s.z.Data().([]float32)
	tfeat, y := s.tfeat.Data().([]float32), s.y.Data().([]float32)
	out := make([][]float32, 0, len(seeds))
	noise := make([]float32, P)
	for start := 0; start < len(seeds); start += B {
		n := min(B, len(seeds)-start)
		clear(x)
		clear(z)
		rs := make([]*rng.RNG, n)
		ls := make([]int, B)
		for i := range rs {
			rs[i] = rng.New(seeds[start+i], StreamSample)
			ls[i] = -1
			if labels != nil {
				ls[i] = labels[start+i]
			}
			if ls[i] < 0 {
				ls[i] = rs[i].IntN(m.Classes)
			}
			rng.Normal(rs[i], x[i*P:(i+1)*P])
		}
		for t := m.Sched.T - 1; t >= 0; t-- {
			for i := range B {
				setRows(tfeat, y, B, i, t, ls[i], m.Classes)
			}
			for i, r := range rs {
				rng.Normal(r, z[i*nz:(i+1)*nz])
				PixelNorm(z[i*nz:(i+1)*nz], nz)
			}
			if err := runVM(s.vm); err != nil {
				return nil, fmt.Errorf("ddgan sampler: %w", err)
			}
			xhat := s.out.Data().([]float32)
			if observe != nil {
				observe(t, start, n, x, xhat)
			}
			for i, r := range rs {
				if t > 0 {
					rng.Normal(r, noise)
				}
				row := x[i*P : (i+1)*P]
				m.Sched.Posterior(row, xhat[i*P:(i+1)*P], row, noise, t)
			}
		}
		for i := range n {
			out = append(out, toPixels(x[i*P:(i+1)*P]))
		}
	}
	return out, nil
}

// Evaluate has no held-out score of its own: `gentri eval` measures the
// samples.
func (m *DDGANModel) Evaluate(*data.Dataset) ([]Metric, error) { return nil, nil }

// State is G ("G."), D ("D.") and G's average ("ema."), the reference's
// state_dict names, and with train both optimizers ("optim_g.", "optim_d.").
func (m *DDGANModel) State(train bool) []checkpoint.Tensor {
	ts := paramTensors(m.weights())
	if train {
		ts = append(ts, adamTensors("optim_g", m.OptG)...)
		ts = append(ts, adamTensors("optim_d", m.OptD)...)
	}
	return ts
}

func (m *DDGANModel) Load(f *checkpoint.File, train bool) error {
	if err := loadParams(f, m.weights()); err != nil {
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

func (m *DDGANModel) weights() []*nn.Param {
	return slices.Concat(m.GP.List, m.D.Params.List, m.EP.List)
}
