package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

// penaltyCase is one op under double backpropagation: build returns
// f(in...), and the check differentiates, against central finite
// differences of every element of every input,
//
//	P = Σ c ⊙ (∂/∂in[wrt] Σ w ⊙ tanh(f))²
//
// with fixed random w and c. The tanh makes the gradient flowing into the
// op's gradient depend on every input, so each of the gradient op's own
// derivatives is exercised, not only the one along its parameters.
type penaltyCase struct {
	name   string
	shapes [][]int
	wrt    int
	build  func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)
}

func checkPenaltyGradients(t *testing.T, cases []penaltyCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rng.New(7, 0)
			var inputs []*tensor.Dense
			for _, s := range c.shapes {
				inputs = append(inputs, randDense(r, s...))
			}
			worst, err := GradCheck(inputs, 1e-5, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return weightedPenalty(g, in[c.wrt], func() (*G.Node, error) { return c.build(g, in) })
			})
			if err != nil {
				t.Fatal(err)
			}
			if worst > 1e-6 {
				t.Fatalf("worst relative error of the penalty's gradient %.3g > 1e-6", worst)
			}
			t.Logf("worst relative error of the penalty's gradient %.3g", worst)
		})
	}
}

// weightedPenalty is P = Σ c ⊙ (∂/∂x Σ w ⊙ tanh(f))² for f = build().
func weightedPenalty(g *G.ExprGraph, x *G.Node, build func() (*G.Node, error)) (*G.Node, error) {
	f, err := build()
	if err != nil {
		return nil, err
	}
	y := G.Must(G.Tanh(f))
	w := G.NodeFromAny(g, randDense(rng.New(11, 0), y.Shape()...), G.WithName("seed_weights"))
	dx, err := vjp(y, w, x)
	if err != nil {
		return nil, err
	}
	c := G.NodeFromAny(g, randDense(rng.New(13, 0), dx.Shape()...), G.WithName("penalty_weights"))
	return G.Sum(G.Must(G.HadamardProd(G.Must(G.Square(dx)), c)))
}

func TestSecondOrderActivations(t *testing.T) {
	checkPenaltyGradients(t, []penaltyCase{
		{"LeakyReLU", [][]int{{2, 3, 4, 5}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return LeakyReLU(in[0], 0.2)
		}},
		{"ReLU", [][]int{{3, 7}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return ReLU(in[0]) }},
		{"LeakyReLUAfterLinear", [][]int{{3, 4}, {5, 4}, {5}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return LeakyReLU(G.Must(G.ApplyOp(linearOp{newOp("Linear")}, in[0], in[1], in[2])), 0.2)
		}},
	})
}

func convPenaltyCase(name string, xs, ws []int, stride, pad, wrt int) penaltyCase {
	return penaltyCase{name, [][]int{xs, ws, {ws[0]}}, wrt, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return conv2d(in[0], in[1], in[2], stride, pad)
	}}
}

func TestSecondOrderConvolution(t *testing.T) {
	checkPenaltyGradients(t, []penaltyCase{
		convPenaltyCase("k3s1p1", []int{2, 2, 5, 6}, []int{3, 2, 3, 3}, 1, 1, 0),
		convPenaltyCase("k3s2p1OddSize", []int{2, 2, 5, 7}, []int{3, 2, 3, 3}, 2, 1, 0),
		convPenaltyCase("k1s1p0", []int{2, 3, 4, 5}, []int{2, 3, 1, 1}, 1, 0, 0),
		convPenaltyCase("k4s2p1", []int{2, 2, 6, 6}, []int{3, 2, 4, 4}, 2, 1, 0),
		// The penalty on the weights' gradient takes the dW op's derivatives.
		convPenaltyCase("k3s1p1WithRespectToW", []int{2, 2, 4, 5}, []int{3, 2, 3, 3}, 1, 1, 1),
		convPenaltyCase("k3s2p1WithRespectToW", []int{2, 2, 5, 5}, []int{2, 2, 3, 3}, 2, 1, 1),
		{"NoBias", [][]int{{2, 3, 4, 4}, {2, 3, 1, 1}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return ConvNoBias(in[0], in[1], 1, 0)
		}},
		{"TwoConvolutionsThroughLeakyReLU", [][]int{{2, 2, 4, 4}, {2, 2, 3, 3}, {2}, {3, 2, 3, 3}, {3}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			h := G.Must(LeakyReLU(G.Must(conv2d(in[0], in[1], in[2], 1, 1)), 0.2))
			return conv2d(h, in[3], in[4], 1, 1)
		}},
	})
}

func TestSecondOrderLinear(t *testing.T) {
	checkPenaltyGradients(t, []penaltyCase{
		{"Linear", [][]int{{3, 4}, {5, 4}, {5}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.ApplyOp(linearOp{newOp("Linear")}, in[0], in[1], in[2])
		}},
		{"LinearWithRespectToW", [][]int{{3, 4}, {5, 4}, {5}}, 1, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.ApplyOp(linearOp{newOp("Linear")}, in[0], in[1], in[2])
		}},
		{"MatMulT", [][]int{{3, 4}, {2, 4}}, 0, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return MatMulT(g, in[0], in[1])
		}},
		// A projection head Σ_k y_k (x·Pᵀ)_k, as the discriminators score classes.
		{"Projection", [][]int{{3, 4}, {5, 4}}, 0, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			y := tensor.New(tensor.WithShape(3, 5), tensor.WithBacking([]float64{0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0}))
			q := G.Must(MatMulT(g, in[0], in[1]))
			return G.Sum(G.Must(G.HadamardProd(q, G.NodeFromAny(g, y, G.WithName("onehot")))), 1)
		}},
	})
}

func TestSecondOrderPlumbing(t *testing.T) {
	checkPenaltyGradients(t, []penaltyCase{
		{"AvgPool2x", [][]int{{2, 3, 4, 6}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return AvgPool2x(in[0]) }},
		{"Upsample2x", [][]int{{2, 2, 3, 2}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Upsample2x(in[0]) }},
		{"SumSpatial", [][]int{{2, 3, 4, 5}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return SumSpatial(in[0]) }},
		{"AddChannelBias", [][]int{{2, 3, 4, 5}, {2, 3}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AddChannelBias(in[0], in[1])
		}},
		{"AddChannelBiasWithRespectToBias", [][]int{{2, 3, 2, 3}, {2, 3}}, 1, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AddChannelBias(in[0], in[1])
		}},
		{"ConcatChannelsFirst", [][]int{{2, 1, 3, 4}, {2, 2, 3, 4}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return ConcatChannels(in[0], in[1])
		}},
		{"ConcatChannelsSecond", [][]int{{2, 1, 3, 4}, {2, 2, 3, 4}}, 1, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return ConcatChannels(in[0], in[1])
		}},
		{"Scale", [][]int{{2, 3, 4}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Scale(in[0], 1/math.Sqrt2) }},
		{"GorgoniaAdd", [][]int{{2, 3, 4}, {2, 3, 4}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.Add(in[0], G.Must(G.HadamardProd(in[0], in[1])))
		}},
		{"GorgoniaReshape", [][]int{{2, 3}, {4, 3}}, 0, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return G.Reshape(G.Must(MatMulT(g, in[0], in[1])), tensor.Shape{8})
		}},
		{"Tap", [][]int{{2, 3}}, 0, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			y := G.Must(Tap(in[0], nil))
			return G.HadamardProd(y, y)
		}},
	})
}
