package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// VAE is the default variational autoencoder (Kingma & Welling 2014):
//
//	encoder  x(784) → 512 → ReLU → 512 → ReLU → (μ, log σ²) of size L
//	z = μ + σ ⊙ ε,  ε ~ N(0, I)
//	decoder  z(L) → 512 → ReLU → 512 → ReLU → 784 logits, p(x|z) = Bernoulli(sigmoid(logits))
//
// The loss is the negative ELBO per image, in nats:
//
//	−ELBO = Σ_pixels BCE(logits, x) + ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²).
//
// Parameter names follow the PyTorch reference's nn.Sequential (enc.0, enc.2, enc.4,
// dec.0, dec.2, dec.4), so a checkpoint loads into it with load_state_dict.
type VAE struct {
	Pixels, Hidden, Latent int
	Params                 *nn.Params
	enc, dec               [3]*nn.Linear
}

// NewVAE builds the VAE's parameters, initialised from r.
func NewVAE(pixels, hidden, latent int, dt tensor.Dtype, r *rng.RNG) *VAE {
	return newMLPCoder(pixels, hidden, latent, 2*latent, dt, r)
}

// newMLPCoder builds the encoder and decoder MLPs with an encoder head of
// out values: 2·latent (μ and log σ²) for the VAE, latent (the code) for
// the autoencoder.
func newMLPCoder(pixels, hidden, latent, out int, dt tensor.Dtype, r *rng.RNG) *VAE {
	ps := nn.NewParams(dt, r)
	m := &VAE{Pixels: pixels, Hidden: hidden, Latent: latent, Params: ps}
	m.enc = [3]*nn.Linear{
		nn.NewLinear(ps, "enc.0", pixels, hidden),
		nn.NewLinear(ps, "enc.2", hidden, hidden),
		nn.NewLinear(ps, "enc.4", hidden, out),
	}
	m.dec = [3]*nn.Linear{
		nn.NewLinear(ps, "dec.0", latent, hidden),
		nn.NewLinear(ps, "dec.2", hidden, hidden),
		nn.NewLinear(ps, "dec.4", hidden, pixels),
	}
	return m
}

// mlp applies three linear layers with ReLU between them.
func mlp(g *G.ExprGraph, x *G.Node, ls [3]*nn.Linear) (*G.Node, error) {
	h := x
	for i, l := range ls {
		var err error
		if h, err = l.Apply(g, h); err != nil {
			return nil, err
		}
		if i < 2 {
			if h, err = nn.ReLU(h); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

// encode returns μ and log σ² for x (B, pixels).
func (m *VAE) encode(g *G.ExprGraph, x *G.Node) (mu, logvar *G.Node, err error) {
	h, err := mlp(g, x, m.enc)
	if err != nil {
		return nil, nil, err
	}
	halves, err := nn.Split(h, 1, 2) // not G.Slice: see nn.Split
	if err != nil {
		return nil, nil, err
	}
	return halves[0], halves[1], nil
}

// vaeNELBO is a graph computing the batch's summed reconstruction and KL
// terms of the negative ELBO; with grads it also holds their gradients.
type vaeNELBO struct {
	g          *G.ExprGraph
	x, eps     *tensor.Dense // inputs, bound by pointer: fill them, then run
	rec, kl    G.Value
	loss       *G.Node
	grads      G.Nodes
	gradValues []G.Value
	vm         G.VM
}

func (m *VAE) newNELBO(batch int, withGrad bool) (*vaeNELBO, error) {
	dt := m.Params.Dtype
	o := &vaeNELBO{
		g:   G.NewGraph(),
		x:   tensor.New(tensor.Of(dt), tensor.WithShape(batch, m.Pixels)),
		eps: tensor.New(tensor.Of(dt), tensor.WithShape(batch, m.Latent)),
	}
	g := o.g
	x := G.NodeFromAny(g, o.x, G.WithName("x"))
	eps := G.NodeFromAny(g, o.eps, G.WithName("eps"))
	mu, logvar, err := m.encode(g, x)
	if err != nil {
		return nil, fmt.Errorf("vae encoder: %w", err)
	}
	half, one := scalar(g, dt, 0.5), scalar(g, dt, 1)
	// z = μ + exp(½ log σ²) ⊙ ε: the reparameterisation, with ε fed from our RNG.
	std := G.Must(G.Exp(G.Must(G.Mul(logvar, half))))
	z := G.Must(G.Add(mu, G.Must(G.HadamardProd(std, eps))))
	logits, err := mlp(g, z, m.dec)
	if err != nil {
		return nil, fmt.Errorf("vae decoder: %w", err)
	}
	rec, err := nn.BernoulliNLL(logits, x)
	if err != nil {
		return nil, err
	}
	// KL(q(z|x) ‖ N(0, I)) = ½ Σ (μ² + σ² − 1 − log σ²)
	klTerms := G.Must(G.Sub(G.Must(G.Add(G.Must(G.Square(mu)), G.Must(G.Exp(logvar)))), G.Must(G.Add(logvar, one))))
	kl := G.Must(G.Mul(G.Must(G.Sum(klTerms)), half))
	G.Read(rec, &o.rec)
	G.Read(kl, &o.kl)
	if withGrad {
		// The objective is the mean over the batch.
		o.loss = G.Must(G.Mul(G.Must(G.Add(rec, kl)), scalar(g, dt, 1/float64(batch))))
		params := make(G.Nodes, len(m.Params.List))
		for i, p := range m.Params.List {
			params[i] = p.Node(g)
		}
		if o.grads, err = G.Grad(o.loss, params...); err != nil {
			return nil, fmt.Errorf("vae gradients: %w", err)
		}
		o.gradValues = make([]G.Value, len(o.grads))
	}
	if o.vm, err = newMachine(g, o.grads); err != nil {
		return nil, fmt.Errorf("vae: %w", err)
	}
	return o, nil
}

// run evaluates the graph on the current inputs and returns the summed
// reconstruction and KL terms.
func (o *vaeNELBO) run() (rec, kl float64, err error) {
	o.vm.Reset()
	if err := o.vm.RunAll(); err != nil {
		return 0, 0, fmt.Errorf("vae: %w", err)
	}
	for i, n := range o.grads {
		o.gradValues[i] = n.Value()
	}
	return scalarValue(o.rec), scalarValue(o.kl), nil
}

// decoder is an inference graph z → sigmoid(logits), the Bernoulli means.
type vaeDecoder struct {
	z     *tensor.Dense
	out   G.Value
	vm    G.VM
	batch int
}

func (m *VAE) newDecoder(batch int) (*vaeDecoder, error) {
	g := G.NewGraph()
	d := &vaeDecoder{z: tensor.New(tensor.Of(m.Params.Dtype), tensor.WithShape(batch, m.Latent)), batch: batch}
	logits, err := mlp(g, G.NodeFromAny(g, d.z, G.WithName("z")), m.dec)
	if err != nil {
		return nil, fmt.Errorf("vae decoder: %w", err)
	}
	G.Read(G.Must(nn.Sigmoid(logits)), &d.out)
	if d.vm, err = newMachine(g, nil); err != nil {
		return nil, fmt.Errorf("vae decoder: %w", err)
	}
	return d, nil
}

// vaeRecon is an inference graph x → μ → sigmoid(decoder(μ)).
type vaeRecon struct {
	x   *tensor.Dense
	out G.Value
	vm  G.VM
}

func (m *VAE) newRecon(batch int) (*vaeRecon, error) {
	g := G.NewGraph()
	r := &vaeRecon{x: tensor.New(tensor.Of(m.Params.Dtype), tensor.WithShape(batch, m.Pixels))}
	mu, _, err := m.encode(g, G.NodeFromAny(g, r.x, G.WithName("x")))
	if err != nil {
		return nil, fmt.Errorf("vae encoder: %w", err)
	}
	logits, err := mlp(g, mu, m.dec)
	if err != nil {
		return nil, fmt.Errorf("vae decoder: %w", err)
	}
	G.Read(G.Must(nn.Sigmoid(logits)), &r.out)
	if r.vm, err = newMachine(g, nil); err != nil {
		return nil, fmt.Errorf("vae reconstruction: %w", err)
	}
	return r, nil
}

func runVM(vm G.VM) error {
	vm.Reset()
	return vm.RunAll()
}
