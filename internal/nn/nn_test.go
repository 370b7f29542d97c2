package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

func randDense(r *rng.RNG, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	rng.Normal(r, d.Data().([]float64))
	return d
}

// weighted turns a tensor output into a scalar with fixed random weights,
// so every output element's gradient is checked.
func weighted(g *G.ExprGraph, out *G.Node, r *rng.RNG) (*G.Node, error) {
	w := G.NodeFromAny(g, randDense(r, out.Shape()...), G.WithName("loss_weights"))
	return G.Sum(G.Must(G.HadamardProd(out, w)))
}

func TestGradients(t *testing.T) {
	cases := []struct {
		name   string
		shapes [][]int
		build  func(g *G.ExprGraph, in []*G.Node, r *rng.RNG) (*G.Node, error)
	}{
		{"Linear", [][]int{{3, 5}, {4, 5}, {4}}, func(g *G.ExprGraph, in []*G.Node, r *rng.RNG) (*G.Node, error) {
			y, err := G.ApplyOp(linearOp{newOp("Linear")}, in[0], in[1], in[2])
			if err != nil {
				return nil, err
			}
			return weighted(g, y, r)
		}},
		{"LinearUsedTwice", [][]int{{2, 3}, {3, 3}, {3}}, func(g *G.ExprGraph, in []*G.Node, r *rng.RNG) (*G.Node, error) {
			op := linearOp{newOp("Linear")}
			y := G.Must(G.ApplyOp(op, in[0], in[1], in[2]))
			y = G.Must(G.ApplyOp(op, G.Must(G.Tanh(y)), in[1], in[2]))
			return weighted(g, y, r)
		}},
		{"BernoulliNLL", [][]int{{3, 4}}, func(g *G.ExprGraph, in []*G.Node, r *rng.RNG) (*G.Node, error) {
			x := tensor.New(tensor.WithShape(3, 4), tensor.WithBacking([]float64{0, 1, 1, 0, 0.3, 1, 0, 0, 1, 0.5, 1, 0}))
			return BernoulliNLL(in[0], G.NodeFromAny(g, x, G.WithName("x")))
		}},
		{"SoftmaxCrossEntropy", [][]int{{3, 4}}, func(g *G.ExprGraph, in []*G.Node, r *rng.RNG) (*G.Node, error) {
			y := tensor.New(tensor.WithShape(3, 4), tensor.WithBacking([]float64{0, 1, 0, 0, 0.2, 0.3, 0.5, 0, 1, 0, 0, 0}))
			return SoftmaxCrossEntropy(in[0], G.NodeFromAny(g, y, G.WithName("y")))
		}},
		{"ReLUThroughLinear", [][]int{{4, 3}, {2, 3}, {2}}, func(g *G.ExprGraph, in []*G.Node, r *rng.RNG) (*G.Node, error) {
			y := G.Must(G.ApplyOp(linearOp{newOp("Linear")}, in[0], in[1], in[2]))
			return weighted(g, G.Must(G.Rectify(y)), r)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rng.New(7, 0)
			var inputs []*tensor.Dense
			for _, s := range c.shapes {
				inputs = append(inputs, randDense(r, s...))
			}
			worst, err := GradCheck(inputs, 1e-6, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
				return c.build(g, in, rng.New(11, 0))
			})
			if err != nil {
				t.Fatal(err)
			}
			if worst > 1e-6 {
				t.Fatalf("worst relative gradient error %.3g > 1e-6", worst)
			}
		})
	}
}

func TestLinearForwardMatchesDefinition(t *testing.T) {
	x := []float32{1, 2, 3, 4, 5, 6}        // (2,3)
	w := []float32{1, 0, -1, 0.5, 0.5, 0.5} // (2,3)
	b := []float32{10, 20}
	y := make([]float32, 4)
	linearForward(x, w, b, y, 2, 3, 2)
	want := []float32{1 - 3 + 10, 3 + 20, 4 - 6 + 10, 7.5 + 20}
	for i := range want {
		if y[i] != want[i] {
			t.Fatalf("y = %v, want %v", y, want)
		}
	}
}

func TestAdamMatchesPyTorchFormula(t *testing.T) {
	// One parameter w=1 with gradient 0.5 for two steps, lr 0.1: PyTorch's
	// Adam moves it by exactly lr each step while m/√v = 1.
	ps := NewParams(tensor.Float32, rng.New(1, 0))
	p := ps.Constant("w", []int{1}, 1)
	a := NewAdam(ps.List, 0.1, 0.9, 0.999, 1e-8)
	g := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{0.5}))
	for i := 0; i < 2; i++ {
		if err := a.Update([]G.Value{g}); err != nil {
			t.Fatal(err)
		}
	}
	got := p.Value.Data().([]float32)[0]
	if d := got - 0.8; d > 1e-6 || d < -1e-6 {
		t.Fatalf("w after two steps = %v, want 0.8", got)
	}
}

func TestParamsAreDeterministic(t *testing.T) {
	mk := func() []float32 {
		ps := NewParams(tensor.Float32, rng.New(42, 0))
		l := NewLinear(ps, "fc", 8, 4)
		return append(append([]float32{}, l.W.Value.Data().([]float32)...), l.B.Value.Data().([]float32)...)
	}
	a, b := mk(), mk()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("element %d differs: %v vs %v", i, a[i], b[i])
		}
		if a[i] < -0.3536 || a[i] > 0.3536 { // 1/√8
			t.Fatalf("element %d = %v outside U(-1/√8, 1/√8)", i, a[i])
		}
	}
}

// wrongGradOp is BernoulliNLL with a gradient twice too large: the checker
// must catch it, or a passing gradient check proves nothing.
type wrongGradOp struct{ bernoulliOp }

func (o wrongGradOp) SymDiff(in G.Nodes, out, grad *G.Node) (G.Nodes, error) {
	d, err := o.bernoulliOp.SymDiff(in, out, grad)
	if err != nil {
		return nil, err
	}
	d[0] = G.Must(G.Add(d[0], d[0]))
	return d, nil
}

func TestGradCheckCatchesWrongGradient(t *testing.T) {
	x := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float64{0, 1, 1, 0}))
	worst, err := GradCheck([]*tensor.Dense{randDense(rng.New(3, 0), 2, 2)}, 1e-6, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return G.ApplyOp(wrongGradOp{bernoulliOp{newOp("WrongBernoulli")}}, in[0], G.NodeFromAny(g, x, G.WithName("x")))
	})
	if err != nil {
		t.Fatal(err)
	}
	if worst < 0.1 {
		t.Fatalf("a doubled gradient gave relative error %.3g; the checker is blind", worst)
	}
}

func TestSoftmaxCrossEntropyOfEqualLogitsIsLogK(t *testing.T) {
	// Two rows, K = 4, equal logits (one of them huge, for stability): each row's loss is ln 4.
	l := []float64{0, 0, 0, 0, 1e3, 1e3, 1e3, 1e3}
	y := []float64{1, 0, 0, 0, 0, 0, 0, 1}
	if got := xentSum(l, y, 2, 4) / 2; math.Abs(got-math.Log(4)) > 1e-12 {
		t.Fatalf("loss %v, want ln 4", got)
	}
}

// softplus32 (the float32 loss's) against the float64 softplus across the
// range of logits, NaN included.
func TestSoftplus32MatchesSoftplus(t *testing.T) {
	for v := float32(-100); v <= 100; v += 0.0137 {
		want := softplus(float64(v))
		if got := softplus32(v); math.Abs(got-want) > 2e-7*math.Max(1, want) {
			t.Fatalf("softplus32(%g) = %.10g, softplus gives %.10g", v, got, want)
		}
	}
	if got := softplus32(float32(math.NaN())); !math.IsNaN(got) {
		t.Fatalf("softplus32(NaN) = %g", got)
	}
}
