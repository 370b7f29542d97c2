package nn

import (
	"fmt"
	"math"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

func TestNewOpsGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		{"AvgPool2x", [][]int{{2, 3, 4, 6}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return AvgPool2x(in[0]) }},
		{"SumSpatial", [][]int{{2, 3, 4, 5}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return SumSpatial(in[0]) }},
		{"Scale", [][]int{{3, 4}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Scale(in[0], -0.7) }},
		{"ConvNoBias", [][]int{{2, 3, 4, 5}, {2, 3, 3, 3}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return ConvNoBias(in[0], in[1], 2, 1)
		}},
		{"PlaneBroadcast", [][]int{{2, 3}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.ApplyOp(newPlaneBroadcastOp(3, 2), in[0])
		}},
		{"ChannelPad", [][]int{{2, 2, 3, 2}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.ApplyOp(newChannelPadOp(1, 3, 4), in[0])
		}},
	})
}

func TestAvgPool2xAveragesEachWindow(t *testing.T) {
	x := make([]float64, 2*4*6) // (1,2,4,6): x[c,i,j] = 100c + 10i + j
	for c := 0; c < 2; c++ {
		for i := 0; i < 4; i++ {
			for j := 0; j < 6; j++ {
				x[(c*4+i)*6+j] = float64(100*c + 10*i + j)
			}
		}
	}
	g := G.NewGraph()
	xn := G.NodeFromAny(g, tensor.New(tensor.WithShape(1, 2, 4, 6), tensor.WithBacking(x)), G.WithName("x"))
	y := G.Must(AvgPool2x(xn))
	grads, err := G.Grad(G.Must(G.Sum(y)), xn)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	for k, v := range y.Value().Data().([]float64) { // window (c,i,j) averages 100c+10(2i+½)+(2j+½)
		c, i, j := k/6, k/3%2, k%3
		if want := float64(100*c+20*i+2*j) + 5.5; v != want {
			t.Errorf("y[%d,%d,%d] = %v, want %v", c, i, j, v, want)
		}
	}
	for k, v := range grads[0].Value().Data().([]float64) {
		if v != 0.25 {
			t.Fatalf("dx[%d] = %v, want 0.25", k, v)
		}
	}
	if _, err := AvgPool2x(G.NewTensor(g, tensor.Float64, 4, G.WithShape(1, 1, 3, 4), G.WithName("odd"))); err == nil {
		t.Fatal("AvgPool2x accepted an odd height")
	}
}

// For out = x·Wᵀ the gradient of Σ out with respect to every row of x is
// Σ_o W[o,:], so the penalty is ‖Σ_o W[o,:]‖².
func TestGradPenaltyOfLinearMapIsSquaredColumnSumNorm(t *testing.T) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, randDense(rng.New(1, 0), 3, 4), G.WithName("x"))
	wv := randDense(rng.New(2, 0), 2, 4)
	out := G.Must(MatMulT(g, x, G.NodeFromAny(g, wv, G.WithName("w"))))
	p, err := GradPenalty(out, x)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	w, want := wv.Data().([]float64), 0.0
	for j := 0; j < 4; j++ {
		want += (w[j] + w[4+j]) * (w[j] + w[4+j])
	}
	if got := p.Value().Data().(float64); math.Abs(got-want) > 1e-12*want {
		t.Fatalf("penalty %v, want %v", got, want)
	}
}

// Gorgonia's Grad marks the nodes it differentiates, and a second Grad on
// the graph would take those marks for the loss's gradients.
func TestGradPenaltyMarksNoNodeAsDifferentiated(t *testing.T) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, randDense(rng.New(1, 0), 2, 2, 4, 4), G.WithName("x"))
	w := G.NodeFromAny(g, randDense(rng.New(2, 0), 3, 2, 3, 3), G.WithName("w"))
	h := G.Must(LeakyReLU(G.Must(ConvNoBias(x, w, 1, 1)), 0.2))
	if _, err := GradPenalty(G.Must(SumSpatial(h)), x); err != nil {
		t.Fatal(err)
	}
	for _, n := range g.AllNodes() {
		if n.Deriv() != nil || len(n.DerivOf()) > 0 {
			t.Fatalf("node %v is marked as a derivative", n)
		}
	}
}

// The penalty's gradient subgraph holds only the gradients on the path
// from x: the tape machine would run any other one every step.
func TestGradPenaltyBuildsNoWeightGradients(t *testing.T) {
	g := G.NewGraph()
	ps := NewParams(tensor.Float64, rng.New(5, 0))
	d := newTinyD(ps, 2)
	in := newTinyDInputs(tensor.Float64, 2, 2, 8)
	if _, err := d.r1Loss(g, G.NodeFromAny(g, in.xt, G.WithName("xt")), in, 10, true); err != nil {
		t.Fatal(err)
	}
	for _, n := range g.AllNodes() {
		if name := fmt.Sprint(n.Op()); strings.Contains(name, "GradW") || strings.Contains(name, "GradB") {
			t.Errorf("the penalty's graph computes %s", name)
		}
	}
}

func TestGradPenaltyErrors(t *testing.T) {
	cases := []struct {
		name string
		loss func(g *G.ExprGraph) (*G.Node, []*G.Node, error)
		want string
	}{
		{"OutDoesNotDependOnX", func(g *G.ExprGraph) (*G.Node, []*G.Node, error) {
			x := G.NodeFromAny(g, randDense(rng.New(1, 0), 2, 3), G.WithName("x"))
			other := G.NodeFromAny(g, randDense(rng.New(2, 0), 2, 3), G.WithName("other"))
			p, err := GradPenalty(G.Must(ReLU(other)), x)
			return p, nil, err
		}, "does not depend"},
		{"SecondDerivativeOfSiLU", func(g *G.ExprGraph) (*G.Node, []*G.Node, error) {
			x := G.NodeFromAny(g, randDense(rng.New(1, 0), 2, 3), G.WithName("x"))
			w := G.NodeFromAny(g, randDense(rng.New(2, 0), 4, 3), G.WithName("w"))
			p, err := GradPenalty(G.Must(SiLU(G.Must(MatMulT(g, x, w)))), x)
			return p, []*G.Node{w}, err
		}, "second derivative is not implemented"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			p, wrt, err := c.loss(g)
			if err == nil {
				_, err = G.Grad(p, wrt...)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// tinyD is the denoising diffusion GAN's discriminator at toy sizes
// (Xiao, Kreis and Vahdat, "Tackling the Generative Learning Trilemma with
// Denoising Diffusion GANs", ICLR 2022), every LeakyReLU of slope 0.2:
//
//	temb = LReLU(Linear(LReLU(Linear(e_t))));  h = conv1×1(cat[x_t, x_{t+1}]);
//	h = Down(ch → ch)(h, temb);  h = Down(ch → 2ch)(h, temb);
//	f = Σ_{i,j} LReLU(conv3×3(h));  logit = Linear(f) + Σ_k y_k (f·Pᵀ)_k,
//
// with Down(x) = (conv3×3(avgpool(LReLU(conv3×3(LReLU(x)) + Linear(temb))))
// + conv1×1 without bias(avgpool(x))) / √2.
type tinyD struct {
	t1, t2, in, head, out layer
	proj                  *Param
	downs                 []tinyDown
}

// layer is what Conv2d and Linear have in common.
type layer interface {
	Apply(*G.ExprGraph, *G.Node) (*G.Node, error)
}

type tinyDown struct {
	conv1, conv2, temb layer
	skip               *Param
}

func newTinyD(ps *Params, ch int) *tinyD {
	d := &tinyD{
		t1: NewLinear(ps, "t1", ch, ch), t2: NewLinear(ps, "t2", ch, ch),
		in:   NewConv2d(ps, "in", 2, ch, 1, 1, 0),
		head: NewConv2d(ps, "head", 2*ch, 2*ch, 3, 1, 1),
		out:  NewLinear(ps, "out", 2*ch, 1),
		proj: ps.Uniform("proj", []int{10, 2 * ch}, -0.5, 0.5),
	}
	for i, io := range [][2]int{{ch, ch}, {ch, 2 * ch}} {
		p := "down" + string(rune('0'+i))
		d.downs = append(d.downs, tinyDown{
			conv1: NewConv2d(ps, p+".conv1", io[0], io[1], 3, 1, 1),
			temb:  NewLinear(ps, p+".temb", ch, io[1]),
			conv2: NewConv2d(ps, p+".conv2", io[1], io[1], 3, 1, 1),
			skip:  ps.Uniform(p+".skip", []int{io[1], io[0], 1, 1}, -0.7, 0.7),
		})
	}
	return d
}

func (d *tinyDown) apply(g *G.ExprGraph, x, temb *G.Node) (*G.Node, error) {
	h, err := d.conv1.Apply(g, G.Must(LeakyReLU(x, 0.2)))
	if err != nil {
		return nil, err
	}
	h = G.Must(AddChannelBias(h, G.Must(d.temb.Apply(g, temb))))
	h = G.Must(d.conv2.Apply(g, G.Must(AvgPool2x(G.Must(LeakyReLU(h, 0.2))))))
	skip := G.Must(ConvNoBias(G.Must(AvgPool2x(x)), d.skip.Node(g), 1, 0))
	return Scale(G.Must(G.Add(h, skip)), 1/math.Sqrt2)
}

// logits returns D's (N) logits for inputs x_t, x_{t+1} (N,1,H,W), the time
// embedding e_t (N,ch) and one-hot classes y (N,10).
func (d *tinyD) logits(g *G.ExprGraph, xt, xt1, et, y *G.Node) (*G.Node, error) {
	temb := G.Must(LeakyReLU(G.Must(d.t1.Apply(g, et)), 0.2))
	temb = G.Must(LeakyReLU(G.Must(d.t2.Apply(g, temb)), 0.2))
	h := G.Must(d.in.Apply(g, G.Must(ConcatChannels(xt, xt1))))
	for i := range d.downs {
		var err error
		if h, err = d.downs[i].apply(g, h, temb); err != nil {
			return nil, err
		}
	}
	f := G.Must(SumSpatial(G.Must(LeakyReLU(G.Must(d.head.Apply(g, h)), 0.2))))
	n := xt.Shape()[0]
	lin := G.Must(G.Reshape(G.Must(d.out.Apply(g, f)), tensor.Shape{n}))
	proj := G.Must(G.Sum(G.Must(G.HadamardProd(G.Must(MatMulT(g, f, d.proj.Node(g))), y)), 1))
	return G.Add(lin, proj)
}

// tinyDInputs holds one batch for tinyD: x_t, x_{t+1}, e_t and y.
type tinyDInputs struct{ xt, xt1, et, y *tensor.Dense }

func newTinyDInputs(dt tensor.Dtype, n, ch, size int) tinyDInputs {
	in := tinyDInputs{
		xt: randDense(rng.New(21, 0), n, 1, size, size), xt1: randDense(rng.New(22, 0), n, 1, size, size),
		et: randDense(rng.New(23, 0), n, ch), y: tensor.New(tensor.WithShape(n, 10), tensor.Of(tensor.Float64)),
	}
	for i := 0; i < n; i++ {
		in.y.Data().([]float64)[i*10+(3*i+1)%10] = 1
	}
	if dt == tensor.Float32 {
		in = tinyDInputs{toF32(in.xt), toF32(in.xt1), toF32(in.et), toF32(in.y)}
	}
	return in
}

func toF32(d *tensor.Dense) *tensor.Dense {
	v := make([]float32, d.Shape().TotalSize())
	for i, x := range d.Data().([]float64) {
		v[i] = float32(x)
	}
	return tensor.New(tensor.WithShape(d.Shape()...), tensor.WithBacking(v))
}

// r1Loss is the discriminator's loss on real pairs with the R1 penalty,
// Σ softplus(−D) + γ/2 · mean_n ‖∂D/∂x_t‖²; xt is x_t's node (a parameter
// in the gradient check, so its gradient is checked too).
func (d *tinyD) r1Loss(g *G.ExprGraph, xt *G.Node, in tinyDInputs, gamma float64, penaltyOnly bool) (*G.Node, error) {
	xt1 := G.NodeFromAny(g, in.xt1, G.WithName("xt1"))
	et := G.NodeFromAny(g, in.et, G.WithName("et"))
	y := G.NodeFromAny(g, in.y, G.WithName("y"))
	logit, err := d.logits(g, xt, xt1, et, y)
	if err != nil {
		return nil, err
	}
	p, err := GradPenalty(logit, xt)
	if err != nil {
		return nil, err
	}
	p = G.Must(Scale(p, gamma/2))
	if penaltyOnly {
		return p, nil
	}
	return G.Add(G.Must(G.Sum(G.Must(G.Softplus(G.Must(G.Neg(logit)))))), p)
}

func TestR1PenaltyOfTinyDiscriminatorMatchesFiniteDifferences(t *testing.T) {
	ps := NewParams(tensor.Float64, rng.New(5, 0))
	d := newTinyD(ps, 2)
	in := newTinyDInputs(tensor.Float64, 2, 2, 8)
	xt := &Param{Name: "xt", Value: in.xt}
	// The penalty alone depends on the weights only: D is piecewise linear
	// in x_t, and the biases and the time embedding reach ∂D/∂x_t only
	// through LeakyReLU's slopes, which are piecewise constant.
	var weights []*Param
	for _, p := range ps.List {
		time := strings.HasPrefix(p.Name, "t") || strings.HasSuffix(p.Name, "temb.weight")
		if strings.HasSuffix(p.Name, "weight") && !time || p.Name == "proj" || strings.HasSuffix(p.Name, "skip") {
			weights = append(weights, p)
		}
	}
	cases := []struct {
		name        string
		params      []*Param
		penaltyOnly bool
	}{
		{"PenaltyAlone", weights, true},
		{"LossWithPenalty", append([]*Param{xt}, ps.List...), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			worst, err := GradCheckParams(c.params, 1e-5, func(g *G.ExprGraph) (*G.Node, error) {
				return d.r1Loss(g, xt.Node(g), in, 10, c.penaltyOnly)
			})
			if err != nil {
				t.Fatal(err)
			}
			if worst > 1e-6 {
				t.Fatalf("worst relative gradient error %.3g > 1e-6", worst)
			}
			t.Logf("worst relative gradient error %.3g over %d tensors", worst, len(c.params))
		})
	}
}

// The float32 graph of the loss with the R1 penalty runs the same ops as
// the float64 one the finite differences check, through the float32
// kernels (native C and direct convolutions in the openblas build: 8
// output channels take the channel-vectorised 3×3 kernels, 4 the row ones),
// and must agree with it to float32 precision.
func TestR1PenaltyGradientsInFloat32MatchFloat64(t *testing.T) {
	const ch, n, size = 4, 4, 16
	gradients := func(dt tensor.Dtype) [][]float64 {
		ps := NewParams(tensor.Float64, rng.New(5, 0))
		d := newTinyD(ps, ch)
		if dt == tensor.Float32 {
			for _, p := range ps.List {
				p.Value = toF32(p.Value)
			}
		}
		in := newTinyDInputs(dt, n, ch, size)
		g := G.NewGraph()
		loss, err := d.r1Loss(g, G.NodeFromAny(g, in.xt, G.WithName("xt")), in, 10, false)
		if err != nil {
			t.Fatal(err)
		}
		var nodes G.Nodes
		for _, p := range ps.List {
			nodes = append(nodes, p.Node(g))
		}
		grads, err := G.Grad(loss, nodes...)
		if err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		var out [][]float64
		for _, gn := range grads {
			var v []float64
			switch d := gn.Value().Data().(type) {
			case []float32:
				for _, x := range d {
					v = append(v, float64(x))
				}
			case []float64:
				v = append(v, d...)
			}
			out = append(out, v)
		}
		return out
	}
	g32, g64 := gradients(tensor.Float32), gradients(tensor.Float64)
	names := NewParams(tensor.Float64, rng.New(5, 0))
	newTinyD(names, ch)
	for i, p := range names.List {
		scale := 0.0
		for _, v := range g64[i] {
			scale = max(scale, math.Abs(v))
		}
		for j, v := range g64[i] {
			if math.Abs(g32[i][j]-v) > 1e-4*scale || math.IsNaN(g32[i][j]) {
				t.Fatalf("%s[%d]: float32 gradient %v, float64 %v (largest %v)", p.Name, j, g32[i][j], v, scale)
			}
		}
	}
}
