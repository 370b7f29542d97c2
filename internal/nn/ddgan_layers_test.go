package nn

import (
	"math"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

func TestAdaGroupNormGradients(t *testing.T) {
	ada := func(name string, x []int, groups int) gradCase {
		return gradCase{name, [][]int{x, {x[0], 2 * x[1]}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return NewAdaGroupNorm(groups, x[1]).Apply(in[0], in[1])
		}}
	}
	checkGradients(t, []gradCase{
		ada("TwoGroups", []int{2, 4, 3, 3}, 2),
		ada("GroupPerChannel", []int{3, 3, 2, 3}, 3),
		ada("Matrix", []int{3, 6}, 3),
	})
}

// AdaGN is GroupNorm without affine parameters, then ·(1 + a) + b per
// sample and channel.
func TestAdaGroupNormMatchesDefinition(t *testing.T) {
	const n, c, s, groups = 2, 4, 5, 2
	x, ab := randDense(rng.New(4, 0), n, c, 1, s), randDense(rng.New(5, 0), n, 2*c)
	g := G.NewGraph()
	y, err := NewAdaGroupNorm(groups, c).Apply(G.NodeFromAny(g, x, G.WithName("x")), G.NodeFromAny(g, ab, G.WithName("ab")))
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	xs, ys, abs := data[float64](x), y.Value().Data().([]float64), data[float64](ab)
	per := c / groups * s
	for st := 0; st < n*groups; st++ {
		grp := xs[st*per : (st+1)*per]
		mu, v := 0.0, 0.0
		for _, e := range grp {
			mu += e / float64(per)
		}
		for _, e := range grp {
			v += (e - mu) * (e - mu) / float64(per)
		}
		for j, e := range grp {
			k := st*per + j
			i, ch := k/(c*s), k/s%c
			want := (e-mu)/math.Sqrt(v+1e-5)*(1+abs[i*2*c+ch]) + abs[i*2*c+c+ch]
			if math.Abs(ys[k]-want) > 1e-12 {
				t.Fatalf("y[%d] = %g, want %g", k, ys[k], want)
			}
		}
	}
	if _, err := NewAdaGroupNorm(3, c).Apply(G.NodeFromAny(g, x, G.WithName("x2")), G.NodeFromAny(g, ab, G.WithName("ab2"))); err == nil {
		t.Error("4 channels in 3 groups: no error")
	}
}

func TestLeakyReLUAtGradients(t *testing.T) {
	ref := randDense(rng.New(9, 0), 2, 3, 4)
	checkGradients(t, []gradCase{{"FrozenSlopes", [][]int{{2, 3, 4}}, func(g *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return LeakyReLUAt(in[0], G.NodeFromAny(g, ref, G.WithName("ref")), 0.2)
	}}})
}

// With ref = x it is LeakyReLU; with another ref it is linear in x, with
// ref's slopes.
func TestLeakyReLUAtTakesTheReferenceSlopes(t *testing.T) {
	x := tensor.New(tensor.WithShape(4), tensor.WithBacking([]float64{-2, -1, 1, 2}))
	ref := tensor.New(tensor.WithShape(4), tensor.WithBacking([]float64{1, -1, -1, 0}))
	run := func(r *tensor.Dense) []float64 {
		g := G.NewGraph()
		xn := G.NodeFromAny(g, x, G.WithName("x"))
		rn := xn
		if r != nil {
			rn = G.NodeFromAny(g, r, G.WithName("ref"))
		}
		y, err := LeakyReLUAt(xn, rn, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		m := G.NewTapeMachine(g)
		defer m.Close()
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		return y.Value().Data().([]float64)
	}
	if got, want := run(nil), []float64{-0.4, -0.2, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("ref = x: %v, want LeakyReLU's %v", got, want)
	}
	if got, want := run(ref), []float64{-2, -0.2, 0.2, 0.4}; !slices.Equal(got, want) {
		t.Errorf("other ref: %v, want %v", got, want)
	}
}
