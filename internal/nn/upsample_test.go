package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestUpsample2xGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		{"OddSize", [][]int{{2, 3, 3, 5}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) { return Upsample2x(in[0]) }},
		{"Twice", [][]int{{1, 2, 2, 3}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return Upsample2x(G.Must(Upsample2x(in[0])))
		}},
	})
}

func TestUpsample2xRepeatsEachPixelAndSumPoolsTheGradient(t *testing.T) {
	g := G.NewGraph()
	x := G.NodeFromAny(g, tensor.New(tensor.WithShape(1, 1, 2, 3), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6})), G.WithName("x"))
	y := G.Must(Upsample2x(x))
	dy := make([]float64, 24)
	for i := range dy {
		dy[i] = float64(i)
	}
	w := G.NodeFromAny(g, tensor.New(tensor.WithShape(1, 1, 4, 6), tensor.WithBacking(dy)), G.WithName("w"))
	grads, err := G.Grad(G.Must(G.Sum(G.Must(G.HadamardProd(y, w)))), x)
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	wantY := []float64{
		1, 1, 2, 2, 3, 3,
		1, 1, 2, 2, 3, 3,
		4, 4, 5, 5, 6, 6,
		4, 4, 5, 5, 6, 6,
	}
	// dx[i,j] = dy[2i,2j] + dy[2i,2j+1] + dy[2i+1,2j] + dy[2i+1,2j+1], dy[r,c] = 6r+c.
	wantDx := []float64{0 + 1 + 6 + 7, 2 + 3 + 8 + 9, 4 + 5 + 10 + 11, 12 + 13 + 18 + 19, 14 + 15 + 20 + 21, 16 + 17 + 22 + 23}
	for i, v := range y.Value().Data().([]float64) {
		if v != wantY[i] {
			t.Fatalf("y = %v, want %v", y.Value().Data(), wantY)
		}
	}
	for i, v := range grads[0].Value().Data().([]float64) {
		if v != wantDx[i] {
			t.Fatalf("dx = %v, want %v", grads[0].Value().Data(), wantDx)
		}
	}
}
