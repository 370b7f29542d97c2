package nn

import (
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Split's pieces are the right elements, with the right gradients, at sizes
// where Gorgonia's Slice merges x[0:B] and x[B:2B] (B a multiple of 256):
// loss = Σ piece0 − 2·Σ piece1 must give 1 on the first half and −2 on the
// second. With G.Slice(x, G.S(0, B)) and G.S(B, 2B) at B = 256 the loss is
// −Σ piece0 and the second half's gradient is 0.
func TestSplitPiecesAreDistinct(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape tensor.Shape
		axis  int
	}{
		{"rows 3", tensor.Shape{6}, 0},
		{"rows 256", tensor.Shape{512}, 0},
		{"rows 256 of (512,1)", tensor.Shape{512, 1}, 0},
		{"columns 256", tensor.Shape{3, 512}, 1},
		{"columns 5", tensor.Shape{4, 10}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := G.NewGraph()
			xt := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(c.shape...))
			data := xt.Data().([]float64)
			for i := range data {
				data[i] = float64(i%7) - 3
			}
			x := G.NodeFromAny(g, xt, G.WithName("x"))
			p, err := Split(x, c.axis, 2)
			if err != nil {
				t.Fatal(err)
			}
			loss := G.Must(G.Sub(G.Must(G.Sum(p[0])), G.Must(G.Mul(G.NewConstant(2.0), G.Must(G.Sum(p[1]))))))
			var lv G.Value
			G.Read(loss, &lv)
			grads, err := G.Grad(loss, x)
			if err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			half := c.shape[c.axis] / 2
			inner := 1
			for _, d := range c.shape[c.axis+1:] {
				inner *= d
			}
			want := 0.0
			gw := make([]float64, len(data))
			for i, v := range data {
				w := 1.0
				if (i/inner)%c.shape[c.axis] >= half {
					w = -2
				}
				want += w * v
				gw[i] = w
			}
			if got := lv.Data().(float64); got != want {
				t.Errorf("loss %v, want %v", got, want)
			}
			for i, v := range grads[0].Value().Data().([]float64) {
				if v != gw[i] {
					t.Fatalf("∂loss/∂x[%d] = %v, want %v", i, v, gw[i])
				}
			}
		})
	}
}

func TestSplitRefusesBadShapes(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float32, G.WithShape(4, 6), G.WithName("x"))
	for _, c := range []struct{ axis, parts int }{{2, 2}, {-1, 2}, {0, 3}, {1, 0}, {1, 256}} {
		if _, err := Split(x, c.axis, c.parts); err == nil {
			t.Errorf("Split(axis %d, parts %d) of (4, 6): no error", c.axis, c.parts)
		}
	}
}
