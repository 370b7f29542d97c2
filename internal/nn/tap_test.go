package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestTapGradients(t *testing.T) {
	calls := 0
	checkGradients(t, []gradCase{
		{"Identity", [][]int{{2, 3}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			y, err := Tap(in[0], func(G.Value) error { calls++; return nil })
			if err != nil {
				return nil, err
			}
			return G.HadamardProd(y, y)
		}},
	})
	if calls == 0 {
		t.Fatal("the tap's callback never ran")
	}
}

// The callback sees x's value and runs before the nodes that use the tap's
// output: here it changes w, which the next node reads.
func TestTapRunsBeforeItsConsumers(t *testing.T) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, 2, 3})), G.WithName("x"))
	wv := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, 1, 1}))
	w := G.NodeFromAny(g, wv, G.WithName("w"))
	var seen []float64
	y, err := Tap(x, func(v G.Value) error {
		seen = append([]float64(nil), v.Data().([]float64)...)
		copy(wv.Data().([]float64), []float64{10, 20, 30})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out := G.Must(G.HadamardProd(y, w))
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	want := []float64{10, 40, 90}
	for i, v := range out.Value().Data().([]float64) {
		if v != want[i] || seen[i] != float64(i+1) {
			t.Fatalf("x⊙w = %v (want %v), callback saw %v", out.Value().Data(), want, seen)
		}
	}
}
