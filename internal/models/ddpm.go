package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"github.com/gentri/gentri/internal/nn"
)

// UNet is the ε-prediction network of the DDPM, the PyTorch reference's class
// UNet (bench/torch_reference.py) layer for layer, so a checkpoint's
// weights load into it by name (after stripping the "net." or "ema." prefix):
//
//	temb = Linear(C,4C) → SiLU → Linear(4C,4C) (sinusoidal(t, C)) + Embedding(K+1, 4C)(y)
//	h = inc(x) = Conv3×3 channels→C;  hs = [h]
//	down: per level i (width C·mult[i]): ResBlocks × Res, then (but at the
//	      last level) Conv3×3 stride 2; every output is pushed on hs
//	mid:  Res, Res
//	up:   per level from the deepest: ResBlocks+1 × Res(concat(h, hs.pop())),
//	      then (but at level 0) nearest ×2 → Conv3×3
//	out = Conv3×3 C→channels (SiLU(GroupNorm(h)))
//
// with Res(x, temb) = c2(SiLU(n2(c1(SiLU(n1(x))) + t(temb)))) + skip(x),
// skip a 1×1 conv when the width changes. The default (C = 16, mult 1,2,4,
// 28×28) runs at 28, 14 and 7 pixels; 32-pixel images at 32, 16 and 8;
// channels is the images' (1 grey, 3 RGB). Class K (the embedding's last row) is
// "no class", for classifier-free guidance.
type UNet struct {
	UNetOptions
	TDim   int // width of the time/class embedding, 4C
	Params *nn.Params

	temb0, temb2 *nn.Linear // temb.0, temb.2
	cemb         *nn.Param  // cemb.weight (K+1, 4C)
	inc          *nn.Conv2d
	down, up     []unetLayer
	mid          [2]*ResBlock
	outNorm      *nn.GroupNorm // out.0
	outConv      *nn.Conv2d    // out.2
}

// UNetOptions size a UNet; zero fields take the reference's defaults.
type UNetOptions struct {
	Channels  int   // base width C (16)
	Mult      []int // width multiplier per resolution level (1, 2, 4)
	ResBlocks int   // residual blocks per level going down (1); going up has one more
	Classes   int   // labels K (10); the class embedding has K+1 rows
	Groups    int   // GroupNorm groups (8); must divide every width
	Size      int   // image height and width (28), divisible by 2^(len(Mult)−1)
	// ImageChannels is the images' channel count (1): the input and output
	// planes of the network.
	ImageChannels int
	// Style > 0 makes every residual block's two GroupNorms adaptive (the
	// denoising diffusion GAN's AdaGN): no affine parameters of their own,
	// scale and shift from Linear(Style, 2c)(w) of a style vector w given
	// to ApplyStyle, registered as the block's s1 and s2.
	Style int
	// NoNullClass drops the class embedding's "no class" row (K rows, not
	// K+1), for a model trained without classifier-free guidance.
	NoNullClass bool
}

// embedRows is the number of rows of the class embedding: K, plus the
// "no class" row unless NoNullClass.
func (o UNetOptions) embedRows() int {
	if o.NoNullClass {
		return o.Classes
	}
	return o.Classes + 1
}

func (o UNetOptions) withDefaults() UNetOptions {
	if o.Channels == 0 {
		o.Channels = 16
	}
	if o.Mult == nil {
		o.Mult = []int{1, 2, 4}
	}
	if o.ResBlocks == 0 {
		o.ResBlocks = 1
	}
	if o.Classes == 0 {
		o.Classes = 10
	}
	if o.Groups == 0 {
		o.Groups = 8
	}
	if o.Size == 0 {
		o.Size = DefaultShape.H
	}
	if o.ImageChannels == 0 {
		o.ImageChannels = DefaultShape.C
	}
	return o
}

func (o UNetOptions) validate() error {
	if o.Channels < 2 || o.Channels%2 != 0 {
		return fmt.Errorf("u-net: channels %d, want an even number >= 2 (the sinusoidal embedding has C features)", o.Channels)
	}
	if len(o.Mult) == 0 || o.ResBlocks < 1 || o.Classes < 1 || o.Groups < 1 || o.Style < 0 || o.ImageChannels < 1 {
		return fmt.Errorf("u-net: mult %v, res blocks %d, classes %d, groups %d: want a multiplier and positive counts", o.Mult, o.ResBlocks, o.Classes, o.Groups)
	}
	for _, m := range o.Mult {
		if m < 1 || o.Channels*m%o.Groups != 0 {
			return fmt.Errorf("u-net: width %d·%d does not split into %d GroupNorm groups", o.Channels, m, o.Groups)
		}
	}
	if f := 1 << (len(o.Mult) - 1); o.Size < f || o.Size%f != 0 {
		return fmt.Errorf("u-net: image size %d is not divisible by %d (%d levels)", o.Size, f, len(o.Mult))
	}
	return nil
}

// unetLayer is one entry of the reference's down or up ModuleList: a residual
// block, or a resampling convolution (stride 2 going down; after a nearest
// ×2 upsample going up).
type unetLayer struct {
	res  *ResBlock
	conv *nn.Conv2d
}

// NewUNet creates the network's parameters, named prefix + the reference's
// state_dict names, in the reference's registration order.
func NewUNet(ps *nn.Params, prefix string, o UNetOptions) (*UNet, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	C, tdim := o.Channels, 4*o.Channels
	m := &UNet{UNetOptions: o, TDim: tdim, Params: ps}
	m.temb0 = nn.NewLinear(ps, prefix+"temb.0", C, tdim)
	m.temb2 = nn.NewLinear(ps, prefix+"temb.2", tdim, tdim)
	m.cemb = ps.Normal(prefix+"cemb.weight", []int{o.embedRows(), tdim}, 1) // nn.Embedding's N(0, 1)
	m.inc = nn.NewConv2d(ps, prefix+"inc", o.ImageChannels, C, 3, 1, 1)

	name := func(part string, i int) string { return fmt.Sprintf("%s%s.%d", prefix, part, i) }
	skips, c := []int{C}, C
	for i, mult := range o.Mult {
		for range o.ResBlocks {
			m.down = append(m.down, unetLayer{res: newResBlock(ps, name("down", len(m.down)), c, C*mult, tdim, o.Groups, o.Style)})
			c = C * mult
			skips = append(skips, c)
		}
		if i < len(o.Mult)-1 {
			m.down = append(m.down, unetLayer{conv: nn.NewConv2d(ps, name("down", len(m.down)), c, c, 3, 2, 1)})
			skips = append(skips, c)
		}
	}
	for i := range m.mid {
		m.mid[i] = newResBlock(ps, name("mid", i), c, c, tdim, o.Groups, o.Style)
	}
	for i := len(o.Mult) - 1; i >= 0; i-- {
		for range o.ResBlocks + 1 {
			skip := skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			m.up = append(m.up, unetLayer{res: newResBlock(ps, name("up", len(m.up)), c+skip, C*o.Mult[i], tdim, o.Groups, o.Style)})
			c = C * o.Mult[i]
		}
		if i > 0 { // Sequential(Upsample, Conv2d): the conv is its element 1
			m.up = append(m.up, unetLayer{conv: nn.NewConv2d(ps, name("up", len(m.up))+".1", c, c, 3, 1, 1)})
		}
	}
	m.outNorm = nn.NewGroupNorm(ps, prefix+"out.0", o.Groups, c)
	m.outConv = nn.NewConv2d(ps, prefix+"out.2", c, o.ImageChannels, 3, 1, 1)
	return m, nil
}

// Embed returns temb (B, 4C) = Linear(SiLU(Linear(tfeat))) + y·cemb for the
// sinusoidal features tfeat (B, C) and one-hot labels y (B, rows of cemb).
func (m *UNet) Embed(g *G.ExprGraph, tfeat, y *G.Node) (*G.Node, error) {
	h, err := m.temb0.Apply(g, tfeat)
	if err != nil {
		return nil, err
	}
	if h, err = nn.SiLU(h); err != nil {
		return nil, err
	}
	if h, err = m.temb2.Apply(g, h); err != nil {
		return nil, err
	}
	e, err := G.Mul(y, m.cemb.Node(g))
	if err != nil {
		return nil, fmt.Errorf("u-net class embedding: %w", err)
	}
	return G.Add(h, e)
}

// Apply returns the predicted noise ε_θ (B, channels, S, S) for noisy
// images x (B, channels, S, S), sinusoidal time features tfeat (B, C) and one-hot labels y
// (B, K+1).
func (m *UNet) Apply(g *G.ExprGraph, x, tfeat, y *G.Node) (*G.Node, error) {
	return m.ApplyStyle(g, x, tfeat, y, nil)
}

// ApplyStyle is Apply with the style vector w (B, Style) that modulates
// every residual block's AdaGN (nil when Style is 0).
func (m *UNet) ApplyStyle(g *G.ExprGraph, x, tfeat, y, w *G.Node) (*G.Node, error) {
	if (w != nil) != (m.Style > 0) {
		return nil, fmt.Errorf("u-net: style vector given %v, but the network's style width is %d", w != nil, m.Style)
	}
	temb, err := m.Embed(g, tfeat, y)
	if err != nil {
		return nil, err
	}
	h, err := m.inc.Apply(g, x)
	if err != nil {
		return nil, err
	}
	hs := []*G.Node{h}
	for _, l := range m.down {
		if l.res != nil {
			h, err = l.res.ApplyStyle(g, h, temb, w)
		} else {
			h, err = l.conv.Apply(g, h)
		}
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	for _, r := range m.mid {
		if h, err = r.ApplyStyle(g, h, temb, w); err != nil {
			return nil, err
		}
	}
	for _, l := range m.up {
		if l.res == nil {
			if h, err = nn.Upsample2x(h); err != nil {
				return nil, err
			}
			if h, err = l.conv.Apply(g, h); err != nil {
				return nil, err
			}
			continue
		}
		skip := hs[len(hs)-1]
		hs = hs[:len(hs)-1]
		if h, err = nn.ConcatChannels(h, skip); err != nil {
			return nil, fmt.Errorf("u-net skip concat: %w", err)
		}
		if h, err = l.res.ApplyStyle(g, h, temb, w); err != nil {
			return nil, err
		}
	}
	if h, err = m.outNorm.Apply(g, h); err != nil {
		return nil, err
	}
	if h, err = nn.SiLU(h); err != nil {
		return nil, err
	}
	return m.outConv.Apply(g, h)
}

// ResBlock is the reference's Res: a pre-activation residual block that adds a
// projection of the time/class embedding between its two convolutions,
//
//	h = c1(SiLU(n1(x))) + t(temb)[:, :, None, None]
//	y = c2(SiLU(n2(h))) + skip(x),   skip = 1×1 conv if in ≠ out, else identity.
//
// With a style width (the DDGAN's AdaRes) n1 and n2 are AdaGN,
// GroupNorm(h)·(1 + a) + b with [a; b] = s1(w) or s2(w), and the parameters
// follow PyTorch's registration order c1, t, c2, skip, s1, s2 (the plain
// norms are replaced in place by norms without parameters).
type ResBlock struct {
	In, Out  int
	n1, n2   *nn.GroupNorm
	an1, an2 *nn.AdaGroupNorm // style only
	s1, s2   *nn.Linear       // style only
	c1, c2   *nn.Conv2d
	t        *nn.Linear
	skip     *nn.Conv2d // nil: identity
}

func newResBlock(ps *nn.Params, prefix string, in, out, tdim, groups, style int) *ResBlock {
	r := &ResBlock{In: in, Out: out}
	if style > 0 {
		r.an1, r.an2 = nn.NewAdaGroupNorm(groups, in), nn.NewAdaGroupNorm(groups, out)
	} else {
		r.n1 = nn.NewGroupNorm(ps, prefix+".n1", groups, in)
	}
	r.c1 = nn.NewConv2d(ps, prefix+".c1", in, out, 3, 1, 1)
	r.t = nn.NewLinear(ps, prefix+".t", tdim, out)
	if style == 0 {
		r.n2 = nn.NewGroupNorm(ps, prefix+".n2", groups, out)
	}
	r.c2 = nn.NewConv2d(ps, prefix+".c2", out, out, 3, 1, 1)
	if in != out {
		r.skip = nn.NewConv2d(ps, prefix+".skip", in, out, 1, 1, 0)
	}
	if style > 0 {
		r.s1 = nn.NewLinear(ps, prefix+".s1", style, 2*in)
		r.s2 = nn.NewLinear(ps, prefix+".s2", style, 2*out)
	}
	return r
}

// Apply runs the block on x (B, In, H, W) with temb (B, TDim).
func (r *ResBlock) Apply(g *G.ExprGraph, x, temb *G.Node) (*G.Node, error) {
	return r.ApplyStyle(g, x, temb, nil)
}

// norm applies the block's first (i = 1) or second norm to h: plain
// GroupNorm, or AdaGN modulated by the style vector w.
func (r *ResBlock) norm(g *G.ExprGraph, i int, h, w *G.Node) (*G.Node, error) {
	if r.s1 == nil {
		if i == 1 {
			return r.n1.Apply(g, h)
		}
		return r.n2.Apply(g, h)
	}
	if w == nil {
		return nil, fmt.Errorf("res block %s: AdaGN needs a style vector", r.c1.W.Name)
	}
	an, s := r.an1, r.s1
	if i == 2 {
		an, s = r.an2, r.s2
	}
	ab, err := s.Apply(g, w)
	if err != nil {
		return nil, err
	}
	return an.Apply(h, ab)
}

// ApplyStyle runs the block on x (B, In, H, W) with temb (B, TDim) and, for
// an AdaRes, the style vector w (B, Style).
func (r *ResBlock) ApplyStyle(g *G.ExprGraph, x, temb, w *G.Node) (*G.Node, error) {
	h, err := r.norm(g, 1, x, w)
	if err != nil {
		return nil, err
	}
	if h, err = nn.SiLU(h); err != nil {
		return nil, err
	}
	if h, err = r.c1.Apply(g, h); err != nil {
		return nil, err
	}
	e, err := r.t.Apply(g, temb)
	if err != nil {
		return nil, err
	}
	if h, err = nn.AddChannelBias(h, e); err != nil {
		return nil, err
	}
	if h, err = r.norm(g, 2, h, w); err != nil {
		return nil, err
	}
	if h, err = nn.SiLU(h); err != nil {
		return nil, err
	}
	if h, err = r.c2.Apply(g, h); err != nil {
		return nil, err
	}
	s := x
	if r.skip != nil {
		if s, err = r.skip.Apply(g, x); err != nil {
			return nil, err
		}
	}
	return G.Add(h, s)
}
