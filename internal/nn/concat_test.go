package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/gentri/gentri/internal/rng"
)

func TestConcatChannelsGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		{"UnequalChannels", [][]int{{2, 3, 4, 5}, {2, 2, 4, 5}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return ConcatChannels(in[0], in[1])
		}},
		{"SameInputTwice", [][]int{{3, 2, 2, 3}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return ConcatChannels(in[0], G.Must(G.Tanh(in[0])))
		}},
	})
}

func TestConcatChannelsMatchesGorgoniaConcat(t *testing.T) {
	a, b := randDense(rng.New(1, 0), 2, 3, 4, 5), randDense(rng.New(2, 0), 2, 1, 4, 5)
	g := G.NewGraph()
	an, bn := G.NodeFromAny(g, a, G.WithName("a")), G.NodeFromAny(g, b, G.WithName("b"))
	got, want := G.Must(ConcatChannels(an, bn)), G.Must(G.Concat(1, an, bn))
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	if !got.Shape().Eq(want.Shape()) {
		t.Fatalf("shape %v, Concat gives %v", got.Shape(), want.Shape())
	}
	x, y := got.Value().Data().([]float64), want.Value().Data().([]float64)
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("element %d: %v, Concat gives %v", i, x[i], y[i])
		}
	}
}
