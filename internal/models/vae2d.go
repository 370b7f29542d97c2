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
	codes, err := nn.Split(h, 1, 2) // not G.Slice: see nn.Split
	if err != nil {
		return nil, nil, fmt.Errorf("vae2d: %w", err)
	}
	mu, logvar := codes[0], codes[1]
	half, one := scalar(g, dt, 0.5), scalar(g, dt, 1)
	z := G.Must(G.Add(mu, G.Must(G.HadamardProd(G.Must(G.Exp(G.Must(G.Mul(logvar, half)))), eps))))
	out, err := dec.apply(g, z)
	if err != nil {
		return nil, nil, fmt.Errorf("vae2d decoder: %w", err)
	}
	outs, err := nn.Split(out, 1, 2)
	if err != nil {
		return nil, nil, fmt.Errorf("vae2d: %w", err)
	}
	mean, logv := outs[0], outs[1]
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
	return netState(m.Params.List, m.Opt, train)
}

func (m *VAE2DModel) Load(f *checkpoint.File, train bool) error {
	return loadNetState(f, m.Params.List, m.Opt, train)
}

var vae2dKind = &Kind{
	Kind:    config.Kind{Name: "vae2d", Section: func() config.Section { return &LatentConfig{} }, Points: true},
	Summary: "VAE on a 2-D mixture",
	New: func(cfg *config.Config) (Model, error) {
		o, err := mixtureOptions(cfg)
		if err != nil {
			return nil, err
		}
		s := cfg.Own.(*LatentConfig)
		o.Hidden, o.Latent = s.Hidden, s.Latent
		return NewVAE2DModel(o), nil
	},
}
