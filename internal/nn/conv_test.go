package nn

import (
	"math"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

// gradCase is one finite-difference check: float64 inputs of the given
// shapes drawn from N(0,1), and the op output built on them; the loss is
// the output weighted by fixed random weights.
//
// The step is h = 1e-5, not nn_test.go's 1e-6: with a few hundred output
// terms the rounding error ε·|loss|/h of a 1e-6 step alone reaches 1e-6
// relative on small gradients (a linear conv, exact up to rounding, gave
// 1.1e-6 at h=1e-6 and 7e-8 at 1e-5), while the h² truncation error at
// 1e-5 stays near 1e-7.
type gradCase struct {
	name   string
	shapes [][]int
	build  func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)
}

func checkGradients(t *testing.T, cases []gradCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rng.New(7, 0)
			var inputs []*tensor.Dense
			for _, s := range c.shapes {
				inputs = append(inputs, randDense(r, s...))
			}
			worst, err := GradCheck(inputs, 1e-5, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				y, err := c.build(g, in)
				if err != nil {
					return nil, err
				}
				return weighted(g, y, rng.New(11, 0))
			})
			if err != nil {
				t.Fatal(err)
			}
			if worst > 1e-6 {
				t.Fatalf("worst relative gradient error %.3g > 1e-6", worst)
			}
			t.Logf("worst relative gradient error %.3g", worst)
		})
	}
}

func convCase(name string, x, w []int, stride, pad int) gradCase {
	return gradCase{name, [][]int{x, w, {w[0]}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return conv2d(in[0], in[1], in[2], stride, pad)
	}}
}

func TestConv2dGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		convCase("k3s1p1", []int{2, 2, 5, 7}, []int{3, 2, 3, 3}, 1, 1),
		convCase("k4s2p1", []int{2, 3, 6, 7}, []int{2, 3, 4, 4}, 2, 1),
		convCase("k3s2p1OddSize", []int{2, 2, 5, 7}, []int{3, 2, 3, 3}, 2, 1),
		convCase("k1s1p0", []int{2, 3, 5, 7}, []int{2, 3, 1, 1}, 1, 0),
		convCase("k3s1p0", []int{2, 2, 5, 4}, []int{2, 2, 3, 3}, 1, 0),
		convCase("k3s3p2PaddingWiderThanHalfKernel", []int{1, 2, 4, 5}, []int{2, 2, 3, 3}, 3, 2),
		{"k3s1p1UsedTwice", [][]int{{2, 2, 4, 5}, {2, 2, 3, 3}, {2}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			y := G.Must(conv2d(in[0], in[1], in[2], 1, 1))
			return conv2d(G.Must(G.Tanh(y)), in[1], in[2], 1, 1)
		}},
	})
}

// naiveConv is the definition: y[n,o,i,j] = b[o] + Σ W[o,c,u,v]·x[n,c,i·s−p+u,j·s−p+v].
func naiveConv(x, w, b []float64, xs, ws []int, s, p int) ([]float64, []int) {
	n, c, h, wd, o, k := xs[0], xs[1], xs[2], xs[3], ws[0], ws[2]
	oh, ow := (h+2*p-k)/s+1, (wd+2*p-k)/s+1
	y := make([]float64, n*o*oh*ow)
	for in := 0; in < n; in++ {
		for oc := 0; oc < o; oc++ {
			for i := 0; i < oh; i++ {
				for j := 0; j < ow; j++ {
					sum := b[oc]
					for ic := 0; ic < c; ic++ {
						for u := 0; u < k; u++ {
							for v := 0; v < k; v++ {
								hh, ww := i*s-p+u, j*s-p+v
								if hh >= 0 && hh < h && ww >= 0 && ww < wd {
									sum += w[((oc*c+ic)*k+u)*k+v] * x[((in*c+ic)*h+hh)*wd+ww]
								}
							}
						}
					}
					y[((in*o+oc)*oh+i)*ow+j] = sum
				}
			}
		}
	}
	return y, []int{n, o, oh, ow}
}

func TestConv2dForwardMatchesDirectConvolution(t *testing.T) {
	cases := []struct {
		name                    string
		x                       []int
		in, out, k, stride, pad int
	}{
		{"k3s1p1", []int{2, 3, 5, 7}, 3, 4, 3, 1, 1},
		{"k4s2p1", []int{3, 1, 28, 28}, 1, 4, 4, 2, 1},
		{"k3s2p1OddSize", []int{2, 2, 7, 5}, 2, 3, 3, 2, 1},
		{"k1s1p0", []int{2, 3, 4, 6}, 3, 5, 1, 1, 0},
		{"k5s1p2", []int{1, 2, 6, 6}, 2, 2, 5, 1, 2},
		{"k2s3p3", []int{1, 2, 5, 4}, 2, 2, 2, 3, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := NewParams(tensor.Float64, rng.New(5, 0))
			conv := NewConv2d(ps, "conv", c.in, c.out, c.k, c.stride, c.pad)
			x := randDense(rng.New(6, 0), c.x...)
			g := G.NewGraph()
			y, err := conv.Apply(g, G.NodeFromAny(g, x, G.WithName("x")))
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			want, shape := naiveConv(data[float64](x), data[float64](conv.W.Value), data[float64](conv.B.Value), c.x, conv.W.Shape(), c.stride, c.pad)
			if oh := (c.x[2]+2*c.pad-c.k)/c.stride + 1; !y.Shape().Eq(tensor.Shape(shape)) || shape[2] != oh {
				t.Fatalf("output shape %v, want %v", y.Shape(), shape)
			}
			got := y.Value().Data().([]float64)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-12 {
					t.Fatalf("y[%d] = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestConv2dInitIsPyTorchUniform(t *testing.T) {
	conv := NewConv2d(NewParams(tensor.Float32, rng.New(1, 0)), "c", 2, 8, 3, 1, 1)
	bound := float32(1 / math.Sqrt(2*3*3))
	for _, p := range []*Param{conv.W, conv.B} {
		for i, v := range p.Value.Data().([]float32) {
			if v < -bound || v > bound {
				t.Fatalf("%s[%d] = %v outside ±%v", p.Name, i, v, bound)
			}
		}
	}
	if conv.W.Name != "c.weight" || conv.B.Name != "c.bias" || !conv.W.Value.Shape().Eq(tensor.Shape{8, 2, 3, 3}) {
		t.Fatalf("parameters %s %v, %s", conv.W.Name, conv.W.Shape(), conv.B.Name)
	}
}

// Hash-consing returns an existing node for an op with an equal hash and
// the same children, so geometry and state must be in the hash.
func TestOpsDifferingInParametersAreDistinctNodes(t *testing.T) {
	g := G.NewGraph()
	r := rng.New(2, 0)
	x := G.NodeFromAny(g, randDense(r, 1, 2, 8, 8), G.WithName("x"))
	w := G.NodeFromAny(g, randDense(r, 2, 2, 3, 3), G.WithName("w"))
	b := G.NodeFromAny(g, randDense(r, 2), G.WithName("b"))
	gamma := G.NodeFromAny(g, randDense(r, 2), G.WithName("gamma"))
	ps := NewParams(tensor.Float64, r)
	bn1, bn2 := NewBatchNorm(ps, "bn1", 2), NewBatchNorm(ps, "bn2", 2)
	nodes := []*G.Node{
		G.Must(conv2d(x, w, b, 1, 1)), G.Must(conv2d(x, w, b, 2, 1)), G.Must(conv2d(x, w, b, 1, 0)),
		G.Must(LeakyReLU(x, 0.2)), G.Must(LeakyReLU(x, 0.1)), G.Must(ReLU(x)), G.Must(SiLU(x)),
		G.Must(bn1.apply(x, gamma, b, true, false)), G.Must(bn1.apply(x, gamma, b, true, true)),
		G.Must(bn1.apply(x, gamma, b, false, false)), G.Must(bn2.apply(x, gamma, b, true, false)),
		G.Must(groupNorm(x, gamma, b, 1, 1e-5)), G.Must(groupNorm(x, gamma, b, 2, 1e-5)),
	}
	seen := map[*G.Node]int{}
	for i, n := range nodes {
		if j, ok := seen[n]; ok {
			t.Fatalf("nodes %d and %d were hash-consed into one (%v)", j, i, n.Op())
		}
		seen[n] = i
	}
	if s := nodes[1].Shape(); !s.Eq(tensor.Shape{1, 2, 4, 4}) {
		t.Fatalf("stride-2 shape %v", s)
	}
}

// castDense returns a copy of a float64 tensor in dtype dt.
func castDense(d *tensor.Dense, dt tensor.Dtype) *tensor.Dense {
	r := tensor.New(tensor.Of(dt), tensor.WithShape(d.Shape().Clone()...))
	setFloats(r, data[float64](d))
	return r
}

// forwardBackward runs build on inputs cast to dt and returns the output
// and the gradients of Σ w·y, w fixed random weights, as float64.
func forwardBackward(t *testing.T, dt tensor.Dtype, inputs []*tensor.Dense, build func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)) ([]float64, [][]float64) {
	t.Helper()
	g := G.NewGraph()
	var nodes []*G.Node
	for _, d := range inputs {
		nodes = append(nodes, G.NodeFromAny(g, castDense(d, dt), G.WithName("in"+string(rune('0'+len(nodes))))))
	}
	y, err := build(g, nodes)
	if err != nil {
		t.Fatal(err)
	}
	var yv G.Value
	G.Read(y, &yv)
	w := G.NodeFromAny(g, castDense(randDense(rng.New(11, 0), y.Shape()...), dt), G.WithName("w"))
	grads, err := G.Grad(G.Must(G.Sum(G.Must(G.HadamardProd(y, w)))), nodes...)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	out := floats(denseOf(yv))
	var gs [][]float64
	for _, gn := range grads {
		gs = append(gs, floats(denseOf(gn.Value())))
	}
	return out, gs
}

func TestLayersRunInFloat32LikeFloat64(t *testing.T) {
	x4 := []int{2, 4, 5, 6}
	bn := func(dt tensor.Dtype, training bool) func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			b := NewBatchNorm(NewParams(dt, rng.New(1, 0)), "bn", 4)
			setFloats(b.RunningMean, []float64{0.1, -0.2, 0.3, 0})
			setFloats(b.RunningVar, []float64{0.5, 1, 2, 4})
			return b.apply(in[0], in[1], in[2], training, true)
		}
	}
	cases := []struct {
		name   string
		shapes [][]int
		build  func(dt tensor.Dtype) func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)
	}{
		{"Conv2d", [][]int{x4, {3, 4, 3, 3}, {3}}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return conv2d(in[0], in[1], in[2], 2, 1) }
		}},
		{"Conv2d1x1", [][]int{x4, {3, 4, 1, 1}, {3}}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return conv2d(in[0], in[1], in[2], 1, 0) }
		}},
		{"Upsample2x", [][]int{x4}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Upsample2x(in[0]) }
		}},
		{"ReLU", [][]int{x4}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return ReLU(in[0]) }
		}},
		{"LeakyReLU", [][]int{x4}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return LeakyReLU(in[0], 0.2) }
		}},
		{"Sigmoid", [][]int{x4}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Sigmoid(in[0]) }
		}},
		{"SiLU", [][]int{x4}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return SiLU(in[0]) }
		}},
		{"BatchNormTraining", [][]int{x4, {4}, {4}}, func(dt tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return bn(dt, true)
		}},
		{"BatchNormEval", [][]int{x4, {4}, {4}}, func(dt tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return bn(dt, false)
		}},
		{"GroupNorm", [][]int{x4, {4}, {4}}, func(tensor.Dtype) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
			return func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return groupNorm(in[0], in[1], in[2], 2, 1e-5) }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rng.New(9, 0)
			var inputs []*tensor.Dense
			for _, s := range c.shapes {
				inputs = append(inputs, randDense(r, s...))
			}
			want, wantGrads := forwardBackward(t, tensor.Float64, inputs, c.build(tensor.Float64))
			got, gotGrads := forwardBackward(t, tensor.Float32, inputs, c.build(tensor.Float32))
			closeTo(t, "output", got, want)
			for i := range wantGrads {
				closeTo(t, "gradient "+string(rune('0'+i)), gotGrads[i], wantGrads[i])
			}
		})
	}
}

// closeTo fails unless got and want agree to float32 precision, relative
// to the largest magnitude in want.
func closeTo(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(got[i] - want[i]); !(d <= 1e-5*scale) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// The tape machine hands UsePreallocDo a register that may hold another
// node's values: every kernel must write every element of its output.
func TestKernelsOverwriteStalePreallocatedOutput(t *testing.T) {
	r := rng.New(8, 0)
	x, w, b := randDense(r, 2, 3, 5, 7), randDense(r, 4, 3, 3, 3), randDense(r, 4)
	dyConv := randDense(r, 2, 4, 3, 4) // conv k3 s2 p1 of 5×7 is 3×4
	w1, dy1 := randDense(r, 4, 3, 1, 1), randDense(r, 2, 4, 5, 7)
	gamma, beta, dy := randDense(r, 3), randDense(r, 3), randDense(r, 2, 3, 5, 7)
	bn := NewBatchNorm(NewParams(tensor.Float64, r), "bn", 3)
	type preallocOp interface {
		G.Op
		UsePreallocDo(G.Value, ...G.Value) (G.Value, error)
	}
	type preallocCase struct {
		op preallocOp
		in []*tensor.Dense
	}
	cases := []preallocCase{
		{newConvOp(3, 2, 1), []*tensor.Dense{x, w, b}},
		{newConvOp(1, 1, 0), []*tensor.Dense{x, w1, b}},
		{upsampleOp{newOp("Upsample2x")}, []*tensor.Dense{x}},
		{upsampleGradOp{newOp("Upsample2xGrad")}, []*tensor.Dense{randDense(r, 2, 3, 4, 6)}},
		{actOp{newOp("ReLU"), actReLU, 0}, []*tensor.Dense{x}},
		{actOp{newOp("LeakyReLU"), actLeakyReLU, 0.2}, []*tensor.Dense{x}},
		{actOp{newOp("SiLU"), actSiLU, 0}, []*tensor.Dense{x}},
		{bnOp{newOp("BN"), bn, 4, true, false}, []*tensor.Dense{x, gamma, beta}},
		{bnOp{newOp("BN"), bn, 4, false, false}, []*tensor.Dense{x, gamma, beta}},
		{gnOp{newOp("GN"), 3, 4, 1e-5, &gnStats{}}, []*tensor.Dense{x, gamma, beta}},
	}
	for wrt := 0; wrt < 3; wrt++ {
		cases = append(cases,
			preallocCase{convGradOp{newOp("ConvGrad"), 3, 2, 1, wrt}, []*tensor.Dense{x, w, dyConv}},
			preallocCase{convGradOp{newOp("ConvGrad1x1"), 1, 1, 0, wrt}, []*tensor.Dense{x, w1, dy1}},
			preallocCase{bnGradOp{newOp("BNGradTrain"), bn, 4, true, wrt}, []*tensor.Dense{x, gamma, dy}},
			preallocCase{bnGradOp{newOp("BNGradEval"), bn, 4, false, wrt}, []*tensor.Dense{x, gamma, dy}},
			preallocCase{gnGradOp{newOp("GNGrad"), 3, 4, 1e-5, wrt, nil}, []*tensor.Dense{x, gamma, dy}})
	}
	for _, kind := range []actKind{actReLU, actLeakyReLU, actSiLU} {
		cases = append(cases, preallocCase{actGradOp{newOp("ActGrad"), kind, 0.2}, []*tensor.Dense{x, dy}})
	}
	for _, c := range cases {
		vals := make([]G.Value, len(c.in))
		for i, d := range c.in {
			vals[i] = d
		}
		want, err := c.op.Do(vals...)
		if err != nil {
			t.Fatalf("%v: %v", c.op, err)
		}
		stale := tensor.New(tensor.WithShape(want.Shape().Clone()...), tensor.WithBacking(make([]float64, want.Shape().TotalSize())))
		for i := range data[float64](stale) {
			data[float64](stale)[i] = math.NaN()
		}
		got, err := c.op.UsePreallocDo(stale, vals...)
		if err != nil {
			t.Fatalf("%v: %v", c.op, err)
		}
		if got != G.Value(stale) {
			t.Fatalf("%v did not use the preallocated output", c.op)
		}
		for i, v := range data[float64](stale) {
			if v != data[float64](denseOf(want))[i] {
				t.Fatalf("%v: element %d = %v with a stale output, %v with a fresh one", c.op, i, v, data[float64](denseOf(want))[i])
			}
		}
	}
}

// BenchmarkLayers times forward+backward of one layer in float32 on a
// feature map the size of the conditional GAN's generator middle layer.
func BenchmarkLayers(b *testing.B) {
	x4 := []int{64, 32, 14, 14}
	cases := []struct {
		name   string
		shapes [][]int
		build  func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)
	}{
		{"Conv2d32to32k3s1p1", [][]int{x4, {32, 32, 3, 3}, {32}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return conv2d(in[0], in[1], in[2], 1, 1)
		}},
		{"Conv2d32to64k4s2p1", [][]int{x4, {64, 32, 4, 4}, {64}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return conv2d(in[0], in[1], in[2], 2, 1)
		}},
		{"Upsample2x", [][]int{x4}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Upsample2x(in[0]) }},
		{"LeakyReLU", [][]int{x4}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return LeakyReLU(in[0], 0.2) }},
		{"SiLU", [][]int{x4}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) { return SiLU(in[0]) }},
		{"BatchNormTraining", [][]int{x4, {32}, {32}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return NewBatchNorm(NewParams(tensor.Float32, rng.New(1, 0)), "bn", 32).apply(in[0], in[1], in[2], true, true)
		}},
		{"GroupNorm8", [][]int{x4, {32}, {32}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return groupNorm(in[0], in[1], in[2], 8, 1e-5)
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			g := G.NewGraph()
			r := rng.New(1, 0)
			var nodes []*G.Node
			for i, s := range c.shapes {
				nodes = append(nodes, G.NodeFromAny(g, castDense(randDense(r, s...), tensor.Float32), G.WithName("in"+string(rune('0'+i)))))
			}
			y, err := c.build(g, nodes)
			if err != nil {
				b.Fatal(err)
			}
			w := G.NodeFromAny(g, castDense(randDense(r, y.Shape()...), tensor.Float32), G.WithName("w"))
			if _, err := G.Grad(G.Must(G.Sum(G.Must(G.HadamardProd(y, w)))), nodes...); err != nil {
				b.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			defer m.Close()
			b.ResetTimer()
			for range b.N {
				if err := m.RunAll(); err != nil {
					b.Fatal(err)
				}
				m.Reset()
			}
		})
	}
}

// An op keeps its output tensor from one run to the next (no reallocation
// after the tape machine's Reset), gives the same values in it, and takes a
// new one when the input's shape changes.
func TestOpKeepsItsOutputAcrossRuns(t *testing.T) {
	r := rng.New(21, 0)
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(2, 3, 4, 4), G.WithName("x"), G.WithValue(randDense(r, 2, 3, 4, 4)))
	w := G.NewTensor(g, tensor.Float64, 4, G.WithShape(5, 3, 3, 3), G.WithName("w"), G.WithValue(randDense(r, 5, 3, 3, 3)))
	b := G.NewVector(g, tensor.Float64, G.WithShape(5), G.WithName("b"), G.WithValue(randDense(r, 5)))
	y := G.Must(SiLU(G.Must(conv2d(x, w, b, 1, 1))))
	if _, err := G.Grad(G.Must(G.Sum(y)), w); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	run := func() (*tensor.Dense, []float64) {
		t.Helper()
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		d := y.Value().(*tensor.Dense)
		return d, slices.Clone(data[float64](d))
	}
	first, want := run()
	second, got := run()
	if first != second {
		t.Error("the second run allocated a new output tensor")
	}
	if !slices.Equal(got, want) {
		t.Error("the second run's output differs from the first's")
	}

	op := newOp("k")
	a := op.output(nil, first, tensor.Shape{2, 5, 4, 4})
	if op.output(nil, first, tensor.Shape{2, 5, 4, 4}) != a {
		t.Error("output did not reuse the kept tensor")
	}
	if c := op.output(nil, first, tensor.Shape{3, 5, 4, 4}); c == a || !c.Shape().Eq(tensor.Shape{3, 5, 4, 4}) {
		t.Errorf("output for a new shape gave %v, the kept tensor or the wrong shape", c.Shape())
	}
}
