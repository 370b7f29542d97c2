package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestActivationGradients(t *testing.T) {
	unary := func(f func(*G.Node) (*G.Node, error)) func(*G.ExprGraph, []*G.Node) (*G.Node, error) {
		return func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return f(in[0]) }
	}
	checkGradients(t, []gradCase{
		{"ReLU", [][]int{{3, 4, 5}}, unary(ReLU)},
		{"LeakyReLU", [][]int{{2, 3, 4, 5}}, unary(func(x *G.Node) (*G.Node, error) { return LeakyReLU(x, 0.2) })},
		{"SiLU", [][]int{{2, 3, 4, 5}}, unary(SiLU)},
		{"SiLUOnMatrix", [][]int{{4, 6}}, unary(SiLU)},
		{"Sigmoid", [][]int{{2, 3, 4, 5}}, unary(Sigmoid)},
	})
}

func TestActivationsMatchDefinitions(t *testing.T) {
	xs := []float64{-3, -0.5, 0, 0.25, 2, -800, 800}
	sigmoid := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	cases := []struct {
		name   string
		f      func(*G.Node) (*G.Node, error)
		want   func(float64) float64
		wantDx func(float64) float64
	}{
		{"ReLU", ReLU, func(v float64) float64 { return math.Max(v, 0) }, func(v float64) float64 {
			if v > 0 {
				return 1
			}
			return 0
		}},
		{"LeakyReLU", func(x *G.Node) (*G.Node, error) { return LeakyReLU(x, 0.2) }, func(v float64) float64 {
			if v > 0 {
				return v
			}
			return 0.2 * v
		}, func(v float64) float64 {
			if v > 0 {
				return 1
			}
			return 0.2
		}},
		{"SiLU", SiLU, func(v float64) float64 { return v * sigmoid(v) }, func(v float64) float64 {
			return sigmoid(v) * (1 + v*(1-sigmoid(v)))
		}},
		{"Sigmoid", Sigmoid, sigmoid, func(v float64) float64 { return sigmoid(v) * (1 - sigmoid(v)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			x := G.NodeFromAny(g, tensor.New(tensor.WithShape(len(xs)), tensor.WithBacking(append([]float64(nil), xs...))), G.WithName("x"))
			y := G.Must(c.f(x))
			grads, err := G.Grad(G.Must(G.Sum(y)), x)
			if err != nil {
				t.Fatal(err)
			}
			m := G.NewTapeMachine(g)
			defer m.Close()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
			ys, dxs := y.Value().Data().([]float64), grads[0].Value().Data().([]float64)
			for i, v := range xs {
				if w := c.want(v); math.Abs(ys[i]-w) > 1e-12*math.Max(1, math.Abs(w)) || math.IsNaN(ys[i]) {
					t.Errorf("y(%v) = %v, want %v", v, ys[i], w)
				}
				if w := c.wantDx(v); math.Abs(dxs[i]-w) > 1e-12 || math.IsNaN(dxs[i]) {
					t.Errorf("dy/dx(%v) = %v, want %v", v, dxs[i], w)
				}
			}
		})
	}
}

// exp32 stands in for math.Exp in the float32 SiLU; it must stay within a
// few float32 ulps over the whole range where e^x is a normal float32.
func TestExp32MatchesMathExp(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 87; x += 1e-4 {
		x32 := float32(x)
		want := math.Exp(float64(x32))
		worst = max(worst, math.Abs(float64(exp32(x32))-want)/want)
	}
	if worst > 3e-7 {
		t.Fatalf("exp32: worst relative error %.3g > 3e-7", worst)
	}
	// Beyond ±87 it saturates at e^±87 instead of reaching 0 or +Inf.
	for _, c := range []struct{ x, want float64 }{{-200, math.Exp(-87)}, {200, math.Exp(87)}, {0, 1}} {
		if got := float64(exp32(float32(c.x))); math.Abs(got-c.want) > 3e-7*c.want {
			t.Errorf("exp32(%g) = %g, want %g", c.x, got, c.want)
		}
	}
}
