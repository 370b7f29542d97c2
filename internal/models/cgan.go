package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/nn"
)

// Generator is the DCGAN-style conditional generator of the PyTorch reference:
//
//	h = Linear([z ++ Embedding(y)]) → (2C, S/4, S/4) → BN, ReLU
//	  → nearest ×2 → Conv3×3 2C→C → BN, ReLU
//	  → nearest ×2 → Conv3×3 C→channels → tanh    (images in [−1, 1])
//
// for images of channels × S × S: 7 → 14 → 28 for MNIST, 8 → 16 → 32 for
// 32-pixel images.
//
// Gorgonia has no transposed convolution; nearest upsampling followed by a
// 3×3 convolution ("resize-conv") is the design, not a workaround. With
// Classes 0 (the unconditional GAN) there is no embedding: h = Linear(z).
type Generator struct {
	Latent, Channels, Classes int
	Image                     Shape // the images it draws
	Params                    *nn.Params
	emb                       *nn.Param // (classes, classes), like nn.Embedding; nil without classes
	fc                        *nn.Linear
	bn0, bn1                  *nn.BatchNorm
	c1, c2                    *nn.Conv2d
}

// NewGenerator creates the generator's parameters under prefix ("g",
// "g_ema") for images of shape img (its sides divisible by 4).
func NewGenerator(ps *nn.Params, prefix string, latent, channels, classes int, img Shape) *Generator {
	c := channels
	m := &Generator{Latent: latent, Channels: c, Classes: classes, Image: img, Params: ps}
	if classes > 0 {
		m.emb = ps.Normal(prefix+".emb.weight", []int{classes, classes}, 1)
	}
	m.fc = nn.NewLinear(ps, prefix+".fc", latent+classes, 2*c*(img.H/4)*(img.W/4))
	m.bn0 = nn.NewBatchNorm(ps, prefix+".bn0", 2*c)
	m.c1 = nn.NewConv2d(ps, prefix+".c1", 2*c, c, 3, 1, 1)
	m.bn1 = nn.NewBatchNorm(ps, prefix+".bn1", c)
	m.c2 = nn.NewConv2d(ps, prefix+".c2", c, img.C, 3, 1, 1)
	return m
}

// Apply maps z (B, latent) and one-hot labels (B, classes; nil without
// classes) to images (B, C, H, W). training selects batch statistics in
// BatchNorm; updateStats lets exactly one of the graphs that run G per step
// move the running statistics.
func (m *Generator) Apply(g *G.ExprGraph, z, y *G.Node, training, updateStats bool) (*G.Node, error) {
	batch := z.Shape()[0]
	h := z
	if m.emb != nil {
		e, err := G.Mul(y, m.emb.Node(g))
		if err != nil {
			return nil, fmt.Errorf("generator embedding: %w", err)
		}
		h = G.Must(G.Concat(1, z, e))
	}
	var err error
	if h, err = m.fc.Apply(g, h); err != nil {
		return nil, err
	}
	h = G.Must(G.Reshape(h, tensor.Shape{batch, 2 * m.Channels, m.Image.H / 4, m.Image.W / 4}))
	steps := []func(*G.Node) (*G.Node, error){
		func(x *G.Node) (*G.Node, error) { return m.bn0.Apply(g, x, training, updateStats) },
		nn.ReLU, nn.Upsample2x,
		func(x *G.Node) (*G.Node, error) { return m.c1.Apply(g, x) },
		func(x *G.Node) (*G.Node, error) { return m.bn1.Apply(g, x, training, updateStats) },
		nn.ReLU, nn.Upsample2x,
		func(x *G.Node) (*G.Node, error) { return m.c2.Apply(g, x) },
		G.Tanh,
	}
	for _, f := range steps {
		if h, err = f(h); err != nil {
			return nil, fmt.Errorf("generator: %w", err)
		}
	}
	return h, nil
}

// Discriminator is the reference's convolutional discriminator with a projection
// head for the label (Miyato & Koyama 2018):
//
//	φ(x) = flatten(LReLU(Conv4×4/2 C→2C (LReLU(Conv4×4/2 channels→C (x)))))
//	D(x, y) = Linear(φ(x)) + ⟨Embedding(y), φ(x)⟩
//
// With Classes 0 (the unconditional GAN) there is no projection head:
// D(x) = Linear(φ(x)).
type Discriminator struct {
	Channels, Classes int
	Image             Shape // the images it scores
	Params            *nn.Params
	c1, c2            *nn.Conv2d
	fc                *nn.Linear
	proj              *nn.Param // (classes, 2C·H/4·W/4); nil without classes
}

// NewDiscriminator creates the discriminator's parameters under prefix
// ("d") for images of shape img (its sides divisible by 4).
func NewDiscriminator(ps *nn.Params, prefix string, channels, classes int, img Shape) *Discriminator {
	c := channels
	m := &Discriminator{Channels: c, Classes: classes, Image: img, Params: ps}
	m.c1 = nn.NewConv2d(ps, prefix+".c1", img.C, c, 4, 2, 1)
	m.c2 = nn.NewConv2d(ps, prefix+".c2", c, 2*c, 4, 2, 1)
	m.fc = nn.NewLinear(ps, prefix+".fc", m.features(), 1)
	if classes > 0 {
		m.proj = ps.Normal(prefix+".proj.weight", []int{classes, m.features()}, 1)
	}
	return m
}

// features is the length of φ(x): 2C planes of a quarter of the image's
// side each way (two stride-2 convolutions).
func (m *Discriminator) features() int { return 2 * m.Channels * (m.Image.H / 4) * (m.Image.W / 4) }

// Apply returns the logits D(x, y), shape (B); y is nil without classes.
func (m *Discriminator) Apply(g *G.ExprGraph, x, y *G.Node) (*G.Node, error) {
	batch := x.Shape()[0]
	h, err := m.c1.Apply(g, x)
	if err != nil {
		return nil, err
	}
	if h, err = nn.LeakyReLU(h, 0.2); err != nil {
		return nil, err
	}
	if h, err = m.c2.Apply(g, h); err != nil {
		return nil, err
	}
	if h, err = nn.LeakyReLU(h, 0.2); err != nil {
		return nil, err
	}
	h = G.Must(G.Reshape(h, tensor.Shape{batch, m.features()}))
	out, err := m.fc.Apply(g, h)
	if err != nil {
		return nil, err
	}
	out = G.Must(G.Reshape(out, tensor.Shape{batch}))
	if m.proj == nil {
		return out, nil
	}
	// ⟨Embedding(y), φ⟩ = Σ_k y_k (φ·Pᵀ)_k: every node that reads a weight
	// depends on x, as the generator's step needs (nn.Tap).
	q, err := nn.MatMulT(g, h, m.proj.Node(g))
	if err != nil {
		return nil, fmt.Errorf("discriminator projection: %w", err)
	}
	proj := G.Must(G.Sum(G.Must(G.HadamardProd(q, y)), 1))
	return G.Add(out, proj)
}

// ganLoss holds the two objectives of a GAN loss on the logits of D.
type ganLoss struct {
	kind      string  // "ns" or "hinge"
	smoothing float64 // one-sided: the target for real images is 1 − smoothing
}

// discriminator returns L_D for logits of real and fake images:
//
//	ns:    E[(1−s)·softplus(−D(x)) + s·softplus(D(x))] + E[softplus(D(G(z)))]
//	hinge: E[max(0, 1 − D(x))] + E[max(0, 1 + D(G(z)))]
func (l ganLoss) discriminator(g *G.ExprGraph, real, fake *G.Node) *G.Node {
	dt := real.Dtype()
	one := scalar(g, dt, 1)
	if l.kind == "hinge" {
		r := G.Must(G.Mean(G.Must(G.Rectify(G.Must(G.Sub(one, real))))))
		f := G.Must(G.Mean(G.Must(G.Rectify(G.Must(G.Add(fake, one))))))
		return G.Must(G.Add(r, f))
	}
	r := G.Must(G.Mean(G.Must(G.Softplus(G.Must(G.Neg(real))))))
	if l.smoothing > 0 {
		s := l.smoothing
		r = G.Must(G.Add(G.Must(G.Mul(r, scalar(g, dt, 1-s))),
			G.Must(G.Mul(G.Must(G.Mean(G.Must(G.Softplus(real)))), scalar(g, dt, s)))))
	}
	f := G.Must(G.Mean(G.Must(G.Softplus(fake))))
	return G.Must(G.Add(r, f))
}

// generator returns L_G: ns E[softplus(−D(G(z)))], hinge −E[D(G(z))].
func (l ganLoss) generator(fake *G.Node) *G.Node {
	if l.kind == "hinge" {
		return G.Must(G.Neg(G.Must(G.Mean(fake))))
	}
	return G.Must(G.Mean(G.Must(G.Softplus(G.Must(G.Neg(fake))))))
}
