package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

func TestAddChannelBiasGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		{"NCHWPlusBatchChannelBias", [][]int{{2, 3, 4, 5}, {2, 3}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AddChannelBias(in[0], in[1])
		}},
		{"OnePixelPlanes", [][]int{{3, 2, 1, 1}, {3, 2}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return AddChannelBias(in[0], in[1])
		}},
		{"BiasFromLinearUsedTwice", [][]int{{2, 3, 3, 3}, {2, 4}, {3, 4}, {3}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			e := G.Must(G.ApplyOp(linearOp{newOp("Linear")}, in[1], in[2], in[3]))
			y := G.Must(AddChannelBias(in[0], e))
			return AddChannelBias(G.Must(G.Tanh(y)), e)
		}},
	})
}

func TestAddChannelBiasMatchesBroadcastAdd(t *testing.T) {
	x, e := randDense(rng.New(1, 0), 2, 3, 4, 5), randDense(rng.New(2, 0), 2, 3)
	g := G.NewGraph()
	xn, en := G.NodeFromAny(g, x, G.WithName("x")), G.NodeFromAny(g, e, G.WithName("e"))
	got := G.Must(AddChannelBias(xn, en))
	want := G.Must(G.BroadcastAdd(xn, G.Must(G.Reshape(en, tensor.Shape{2, 3, 1, 1})), nil, []byte{2, 3}))
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	a, b := got.Value().Data().([]float64), want.Value().Data().([]float64)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("element %d: %v, BroadcastAdd gives %v", i, a[i], b[i])
		}
	}
}
