package models

import (
	"fmt"
	"math"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/nn"
)

// The networks and the diffusion of the denoising diffusion GAN (Xiao,
// Kreis & Vahdat, ICLR 2022, "Tackling the Generative Learning Trilemma with
// Denoising Diffusion GANs"): a diffusion of only T large steps whose
// reverse step is a conditional GAN. docs/models.md describes the model;
// ddgan_model.go trains and samples it.

// DDGANSchedule is the discretised variance-preserving SDE of the paper's
// code (get_sigma_schedule), T steps, computed in float64 and kept in
// float32 as the reference does:
//
//	s_k = k/T·(1 − 10⁻³) + 10⁻³ (k = 0..T),  ᾱ(s) = exp(−½ s²(β_max − β_min) − s β_min),
//	β_k = 1 − ᾱ(s_k)/ᾱ(s_{k−1}),  α_k = 1 − β_k,  A_k = Π_{j≤k} α_j,  A_0 = 1,
//
// β_min 0.1, β_max 20. Index t = 0..T−1 below names the step from x_{t+1}
// to x_t, so Beta[t] is β_{t+1} and SqrtA[t] is √A_t (len T+1).
type DDGANSchedule struct {
	T                  int
	Beta               []float64 // β_1..β_T
	SqrtA, Sqrt1mA     []float32 // √A_k, √(1 − A_k), k = 0..T
	SqrtAlpha, SqrtBet []float32 // √α_{t+1}, √β_{t+1}
	// The posterior q(x_t | x_{t+1}, x_0) = N(C1·x_0 + C2·x_{t+1}, SD²):
	// C1 = β_{t+1}√A_t/(1−A_{t+1}), C2 = (1−A_t)√α_{t+1}/(1−A_{t+1}),
	// SD² = β_{t+1}(1−A_t)/(1−A_{t+1}) (at least 10⁻²⁰).
	C1, C2, SD []float32
}

// NewDDGANSchedule returns the schedule of T ≥ 1 steps.
func NewDDGANSchedule(T int) (*DDGANSchedule, error) {
	if T < 1 || T > 1000 {
		return nil, fmt.Errorf("ddgan: %d diffusion steps, want 1..1000", T)
	}
	const bmin, bmax, eps = 0.1, 20.0, 1e-3
	abar := make([]float64, T+1)
	for k := range abar {
		s := float64(k)/float64(T)*(1-eps) + eps
		abar[k] = math.Exp(-0.5*s*s*(bmax-bmin) - s*bmin)
	}
	return newDDGANSchedule(abar), nil
}

// NewDDGANGeometricSchedule returns T ≥ 1 steps whose noise-to-signal
// ratios σ_k = √((1 − A_k)/A_k) grow geometrically from σ_min at k = 1 to
// σ_max at k = T (the geometric noise levels of Song & Ermon 2019, on the
// variance-preserving process): A_k = 1/(1 + σ_k²), and T = 1 is the
// single step from σ_max. The 2-D diffusion GAN uses it to make its last
// step small (x_1 = x_0 plus noise of σ_min, a fraction of the gap between
// modes) and its first start from near noise (σ_max ≫ the data's scale).
func NewDDGANGeometricSchedule(T int, sigmaMin, sigmaMax float64) (*DDGANSchedule, error) {
	if T < 1 || T > 1000 {
		return nil, fmt.Errorf("ddgan: %d diffusion steps, want 1..1000", T)
	}
	if !(sigmaMin > 0 && sigmaMin <= sigmaMax && !math.IsInf(sigmaMax, 0)) {
		return nil, fmt.Errorf("ddgan: geometric schedule from σ %g to %g, want 0 < σ_min <= σ_max < ∞", sigmaMin, sigmaMax)
	}
	abar := []float64{1}
	for k := 1; k <= T; k++ {
		s := sigmaMax
		if T > 1 {
			s = sigmaMin * math.Pow(sigmaMax/sigmaMin, float64(k-1)/float64(T-1))
		}
		abar = append(abar, 1/(1+s*s))
	}
	return newDDGANSchedule(abar), nil
}

// newDDGANSchedule builds the schedule of T = len(abar)−1 steps from the
// signal levels ᾱ(s_k), k = 0..T (only their ratios matter).
func newDDGANSchedule(abar []float64) *DDGANSchedule {
	T := len(abar) - 1
	sc := &DDGANSchedule{T: T}
	A := []float64{1}
	for k := 1; k <= T; k++ {
		b := 1 - abar[k]/abar[k-1]
		sc.Beta = append(sc.Beta, b)
		A = append(A, A[k-1]*(1-b))
	}
	for k := 0; k <= T; k++ {
		sc.SqrtA = append(sc.SqrtA, float32(math.Sqrt(A[k])))
		sc.Sqrt1mA = append(sc.Sqrt1mA, float32(math.Sqrt(1-A[k])))
	}
	for t, b := range sc.Beta {
		sc.SqrtAlpha = append(sc.SqrtAlpha, float32(math.Sqrt(1-b)))
		sc.SqrtBet = append(sc.SqrtBet, float32(math.Sqrt(b)))
		sc.C1 = append(sc.C1, float32(b*math.Sqrt(A[t])/(1-A[t+1])))
		sc.C2 = append(sc.C2, float32((1-A[t])*math.Sqrt(1-b)/(1-A[t+1])))
		sc.SD = append(sc.SD, float32(math.Sqrt(max(b*(1-A[t])/(1-A[t+1]), 1e-20))))
	}
	return sc
}

// Pair writes the training pair of step t from x0 and fresh noise e1, e2
// (q_sample_pairs): x_t = √A_t x_0 + √(1−A_t) e1, x_{t+1} = √α_{t+1} x_t + √β_{t+1} e2.
func (sc *DDGANSchedule) Pair(xt, xt1, x0, e1, e2 []float32, t int) {
	a, b, c, d := sc.SqrtA[t], sc.Sqrt1mA[t], sc.SqrtAlpha[t], sc.SqrtBet[t]
	for j, v := range x0 {
		xt[j] = a*v + b*e1[j]
		xt1[j] = c*xt[j] + d*e2[j]
	}
}

// Posterior writes a draw of q(x_t | x_{t+1}, x_0) into dst: C1·x_0 +
// C2·x_{t+1} + SD·z, with no noise at t = 0 (the last step returns the mean).
func (sc *DDGANSchedule) Posterior(dst, x0, xt1, z []float32, t int) {
	c1, c2, sd := sc.C1[t], sc.C2[t], sc.SD[t]
	if t == 0 {
		sd = 0
	}
	for j, v := range x0 {
		dst[j] = c1*v + c2*xt1[j] + sd*z[j]
	}
}

// DDGANGenerator is G(x_{t+1}, t, z, y) → x̂_0 ∈ (−1, 1): the DDPM's U-Net
// (ddpm.go) with AdaGN in every residual block, a class embedding of K rows,
// and the style w from the latent z through PixelNorm and a mapping MLP,
//
//	w = SiLU(zmap.2(SiLU(zmap.0(z / √(mean(z²) + 10⁻⁸)))))   (nz → 4C → 4C),
//	x̂_0 = tanh(UNet(x_{t+1}, t, y; w)).
//
// Its parameters are the U-Net's followed by zmap.0 and zmap.2, PyTorch's
// registration order.
type DDGANGenerator struct {
	Net          *UNet
	Latent       int
	zmap0, zmap2 *nn.Linear
}

// NewDDGANGenerator creates G's parameters under prefix ("G.", "ema.") for
// images of shape img (zero: DefaultShape; square).
func NewDDGANGenerator(ps *nn.Params, prefix string, channels, classes, latent int, img Shape) (*DDGANGenerator, error) {
	if latent < 1 {
		return nil, fmt.Errorf("ddgan: latent size %d, want >= 1", latent)
	}
	img = img.orDefault()
	net, err := NewUNet(ps, prefix, UNetOptions{Channels: channels, Classes: classes, Style: 4 * channels, NoNullClass: true,
		Size: img.H, ImageChannels: img.C})
	if err != nil {
		return nil, fmt.Errorf("ddgan generator: %w", err)
	}
	return &DDGANGenerator{
		Net: net, Latent: latent,
		zmap0: nn.NewLinear(ps, prefix+"zmap.0", latent, net.TDim),
		zmap2: nn.NewLinear(ps, prefix+"zmap.2", net.TDim, net.TDim),
	}, nil
}

// PixelNorm writes z / √(mean(z²) + 10⁻⁸) row by row (rows of dim values):
// the generator's input normalisation, done on the host since z is data.
func PixelNorm(z []float32, dim int) {
	for i := 0; i+dim <= len(z); i += dim {
		row, s := z[i:i+dim], 0.0
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		k := float32(1 / math.Sqrt(s/float64(dim)+1e-8))
		for j := range row {
			row[j] *= k
		}
	}
}

// Apply returns x̂_0 (B, ch, S, S) for x_{t+1} (B, ch, S, S), the step's
// sinusoidal features tfeat (B, C), one-hot labels y (B, K) and the
// PixelNorm'ed latent z (B, nz).
func (m *DDGANGenerator) Apply(g *G.ExprGraph, x, tfeat, y, z *G.Node) (*G.Node, error) {
	w, err := m.zmap0.Apply(g, z)
	if err != nil {
		return nil, err
	}
	for _, f := range []func(*G.Node) (*G.Node, error){nn.SiLU, func(h *G.Node) (*G.Node, error) { return m.zmap2.Apply(g, h) }, nn.SiLU} {
		if w, err = f(w); err != nil {
			return nil, fmt.Errorf("ddgan z mapping: %w", err)
		}
	}
	h, err := m.Net.ApplyStyle(g, x, tfeat, y, w)
	if err != nil {
		return nil, err
	}
	return G.Tanh(h)
}

// DDGANDiscriminator is D(x_t, x_{t+1}, t, y) → logit, time-conditioned, on
// the pair stacked as channels (x_t's ch planes, then x_{t+1}'s), with a
// projection head for the class (Miyato & Koyama 2018); every LReLU has
// slope 0.2 and dch = D channels:
//
//	temb = LReLU(temb.2(LReLU(temb.0(sinusoid(t, dch)))))
//	h = inc(cat[x_t, x_{t+1}])            1×1 conv 2ch → dch, at S×S (28×28)
//	h = b2(b1(h, temb), temb)             Down dch → dch (S/2: 14×14), dch → 2dch (S/4: 7×7)
//	f = Σ_{S/4×S/4} LReLU(final(h))       3×3 conv 2dch → 2dch
//	D = fc(f) + ⟨proj(y), f⟩
//
// or, with the flatten head (model.d_head), f = LReLU(final(h)) flattened,
// 2dch·(S/4)² values, as the cgan's discriminator reads its last features
// (Miyato & Koyama 2018 project them the same way). The sum is the
// reference's head and the default: it counts strokes without placing
// them. The flat head places them and learns faster, but its generator
// collapses within each class (docs/models.md, "Tuning, continued").
//
// with Down(x) = (c2(avgpool(LReLU(c1(LReLU(x)) + t(temb)))) + skip(avgpool(x)))/√2,
// skip a 1×1 conv without bias. The paper's code starts the last conv of
// every block and the final conv at zero (init_scale 0), so every logit
// starts at fc's bias: D begins at chance.
type DDGANDiscriminator struct {
	Channels, Classes int
	Head              string // "sum" or "flatten" (DDGANHeads)
	Params            *nn.Params
	temb0, temb2      *nn.Linear
	inc, final        *nn.Conv2d
	blocks            [2]*ddganDown
	fc                *nn.Linear
	proj              *nn.Param // (classes, features), nn.Embedding
}

type ddganDown struct {
	c1, c2, skip *nn.Conv2d
	t            *nn.Linear
}

// DDGANHeads are the discriminator's heads (model.d_head): "sum", the
// reference's spatial sum, and "flatten".
var DDGANHeads = []string{"sum", "flatten"}

// NewDDGANDiscriminator creates D's parameters under prefix ("D.") for
// pairs of images of img's planes and size, with the given head ("" =
// "sum").
func NewDDGANDiscriminator(ps *nn.Params, prefix string, channels, classes int, img Shape, head string) (*DDGANDiscriminator, error) {
	c := channels
	img = img.orDefault()
	if c < 2 || c%2 != 0 || classes < 1 {
		return nil, fmt.Errorf("ddgan discriminator: %d channels, %d classes: want an even width >= 2 and a class", c, classes)
	}
	d := &DDGANDiscriminator{Channels: c, Classes: classes, Params: ps}
	imageChannels := img.C
	feat := 2 * c
	if head == "" {
		head = "sum"
	}
	d.Head = head
	switch head {
	case "sum":
	case "flatten":
		feat = 2 * c * (img.H / 4) * (img.W / 4)
	default:
		return nil, fmt.Errorf("ddgan discriminator: head %q, want one of %s", head, strings.Join(DDGANHeads, ", "))
	}
	d.temb0 = nn.NewLinear(ps, prefix+"temb.0", c, c)
	d.temb2 = nn.NewLinear(ps, prefix+"temb.2", c, c)
	d.inc = nn.NewConv2d(ps, prefix+"inc", 2*max(imageChannels, 1), c, 1, 1, 0)
	for i, io := range [][2]int{{c, c}, {c, 2 * c}} {
		p := fmt.Sprintf("%sb%d", prefix, i+1)
		d.blocks[i] = &ddganDown{
			c1: nn.NewConv2d(ps, p+".c1", io[0], io[1], 3, 1, 1),
			t:  nn.NewLinear(ps, p+".t", c, io[1]),
			c2: nn.NewConv2d(ps, p+".c2", io[1], io[1], 3, 1, 1),
		}
		d.blocks[i].skip = nn.NewConv2dNoBias(ps, p+".skip", io[0], io[1], 1, 1, 0)
	}
	d.final = nn.NewConv2d(ps, prefix+"final", 2*c, 2*c, 3, 1, 1)
	d.fc = nn.NewLinear(ps, prefix+"fc", feat, 1)
	d.proj = ps.Normal(prefix+"proj.weight", []int{classes, feat}, 1)
	for _, conv := range []*nn.Conv2d{d.blocks[0].c2, d.blocks[1].c2, d.final} {
		conv.W.Value.Zero()
		conv.B.Value.Zero()
	}
	return d, nil
}

func lrelu(x *G.Node) (*G.Node, error) { return nn.LeakyReLU(x, 0.2) }

// ddganDActs is the number of LReLUs on D's image path (two per Down
// block, one after the final conv): the activation pattern R1 freezes.
const ddganDActs = 5

// dActs applies D's image-path LReLUs: the k-th takes its slopes from
// frozen[k] when frozen is given (nn.LeakyReLUAt), and records its input in
// pre[k] (when pre is not nil).
type dActs struct {
	frozen, pre []*G.Node
	k           int
}

func (a *dActs) lrelu(x *G.Node) (*G.Node, error) {
	k := a.k
	a.k++
	if a.pre != nil {
		a.pre[k] = x
	}
	if a.frozen != nil {
		return nn.LeakyReLUAt(x, a.frozen[k], 0.2)
	}
	return lrelu(x)
}

// Apply returns the logits (B) for pairs (B, 2ch, S, S) (the first ch
// channels x_t, the others x_{t+1}), sinusoidal step features tfeat (B, dch) and one-hot
// labels y (B, K).
func (d *DDGANDiscriminator) Apply(g *G.ExprGraph, pair, tfeat, y *G.Node) (*G.Node, error) {
	return d.apply(g, pair, tfeat, y, &dActs{})
}

// apply is Apply with its image-path LReLUs given by acts.
func (d *DDGANDiscriminator) apply(g *G.ExprGraph, pair, tfeat, y *G.Node, acts *dActs) (*G.Node, error) {
	batch := pair.Shape()[0]
	temb, err := d.temb0.Apply(g, tfeat)
	if err != nil {
		return nil, err
	}
	if temb, err = lrelu(temb); err != nil {
		return nil, err
	}
	if temb, err = d.temb2.Apply(g, temb); err != nil {
		return nil, err
	}
	if temb, err = lrelu(temb); err != nil {
		return nil, err
	}
	h, err := d.inc.Apply(g, pair)
	if err != nil {
		return nil, err
	}
	for _, b := range d.blocks {
		if h, err = b.apply(g, h, temb, acts); err != nil {
			return nil, err
		}
	}
	if h, err = d.final.Apply(g, h); err != nil {
		return nil, err
	}
	if h, err = acts.lrelu(h); err != nil {
		return nil, err
	}
	s := h.Shape()
	var f *G.Node
	if d.Head == "flatten" {
		f, err = G.Reshape(h, tensor.Shape{s[0], s[1] * s[2] * s[3]})
	} else {
		// Σ over the S/4×S/4 plane as a sum over the last axis (Gorgonia's Sum is
		// wrong along a middle axis of a 4-D tensor when its size exceeds 2).
		f, err = G.Sum(G.Must(G.Reshape(h, tensor.Shape{s[0], s[1], s[2] * s[3]})), 2)
	}
	if err != nil {
		return nil, fmt.Errorf("ddgan discriminator: %w", err)
	}
	out, err := d.fc.Apply(g, f)
	if err != nil {
		return nil, err
	}
	out = G.Must(G.Reshape(out, tensor.Shape{batch}))
	q, err := nn.MatMulT(g, f, d.proj.Node(g))
	if err != nil {
		return nil, fmt.Errorf("ddgan discriminator projection: %w", err)
	}
	return G.Add(out, G.Must(G.Sum(G.Must(G.HadamardProd(q, y)), 1)))
}

func (b *ddganDown) apply(g *G.ExprGraph, x, temb *G.Node, acts *dActs) (*G.Node, error) {
	h, err := acts.lrelu(x)
	if err != nil {
		return nil, err
	}
	if h, err = b.c1.Apply(g, h); err != nil {
		return nil, err
	}
	e, err := b.t.Apply(g, temb)
	if err != nil {
		return nil, err
	}
	if h, err = nn.AddChannelBias(h, e); err != nil {
		return nil, err
	}
	if h, err = acts.lrelu(h); err != nil {
		return nil, err
	}
	if h, err = nn.AvgPool2x(h); err != nil {
		return nil, err
	}
	if h, err = b.c2.Apply(g, h); err != nil {
		return nil, err
	}
	s, err := nn.AvgPool2x(x)
	if err != nil {
		return nil, err
	}
	if s, err = b.skip.Apply(g, s); err != nil {
		return nil, err
	}
	sum, err := G.Add(h, s)
	if err != nil {
		return nil, err
	}
	return G.Mul(sum, scalar(g, x.Dtype(), 1/math.Sqrt2))
}
