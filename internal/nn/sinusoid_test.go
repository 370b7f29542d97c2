package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

// The op's gradient against finite differences in float64, for one and
// several frequencies, including ones high enough that a step of x turns
// the sines many times.
func TestSinusoidFeaturesGradients(t *testing.T) {
	feat := func(name string, shape []int, freqs ...float64) gradCase {
		return gradCase{name, [][]int{shape}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return SinusoidFeatures(in[0], freqs)
		}}
	}
	checkGradients(t, []gradCase{
		feat("OneFrequency", []int{3, 1}, 1.5),
		feat("Octaves", []int{4, 2}, 16, 8, 4, 2, 1),
		feat("High", []int{2, 3}, 40, 0.3),
	})
}

// The features are the definition's, in the documented layout, with the
// bits of SinusoidRow (in float32 too); SinusoidJVP and SinusoidVJP are
// the derivative's two products.
func TestSinusoidFeaturesMatchDefinition(t *testing.T) {
	freqs := []float64{25, 12.5, 6.25}
	F := len(freqs)
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		x := tensor.New(tensor.Of(dt), tensor.WithShape(2, 2))
		vals := []float64{0.3, -1.7, 0.05, 2.2}
		for i, v := range vals {
			if dt == tensor.Float32 {
				x.Data().([]float32)[i] = float32(v)
			} else {
				x.Data().([]float64)[i] = v
			}
		}
		g := G.NewGraph()
		y, err := SinusoidFeatures(G.NodeFromAny(g, x, G.WithName("x")), freqs)
		if err != nil {
			t.Fatal(err)
		}
		if want := (tensor.Shape{2, 2 * 2 * F}); !y.Shape().Eq(want) {
			t.Fatalf("%v: shape %v, want %v", dt, y.Shape(), want)
		}
		m := G.NewTapeMachine(g)
		if err := m.RunAll(); err != nil {
			t.Fatal(err)
		}
		for k := range vals {
			n, c := k/2, k%2
			for i, f := range freqs {
				var v float64
				var got [2]float64
				at := n*4*F + c*2*F
				if dt == tensor.Float32 {
					v = float64(x.Data().([]float32)[k])
					d := y.Value().Data().([]float32)
					row := make([]float32, 2*F)
					SinusoidRow(row, v, freqs)
					if d[at+i] != row[i] || d[at+F+i] != row[F+i] {
						t.Errorf("float32 [%d,%d] differs from SinusoidRow's bits", n, c)
					}
					got = [2]float64{float64(d[at+i]), float64(d[at+F+i])}
				} else {
					v = vals[k]
					d := y.Value().Data().([]float64)
					got = [2]float64{d[at+i], d[at+F+i]}
				}
				want := [2]float64{math.Sin(f * v), math.Cos(f * v)}
				tol := 1e-15
				if dt == tensor.Float32 {
					tol = 1e-7
				}
				if math.Abs(got[0]-want[0]) > tol || math.Abs(got[1]-want[1]) > tol {
					t.Errorf("%v [%d,%d] f %g: (sin, cos) = %v, want %v", dt, n, c, f, got, want)
				}
			}
		}
		m.Close()
	}
	// The JVP is the features' central difference; the VJP is ⟨dy, JVP⟩.
	r := rng.New(3, 0)
	dy := make([]float64, 2*F)
	rng.Normal(r, dy)
	for _, v := range []float64{0.3, -1.1, 2.5} {
		const h = 1e-6
		jvp := make([]float64, 2*F)
		SinusoidJVP(jvp, v, 1, freqs)
		up, down := make([]float64, 2*F), make([]float64, 2*F)
		SinusoidRow(up, v+h, freqs)
		SinusoidRow(down, v-h, freqs)
		dot := 0.0
		for i := range jvp {
			if num := (up[i] - down[i]) / (2 * h); math.Abs(jvp[i]-num) > 1e-6*max(1, math.Abs(num)) {
				t.Errorf("v %g: JVP[%d] = %g, finite difference %g", v, i, jvp[i], num)
			}
			dot += dy[i] * jvp[i]
		}
		if vjp := SinusoidVJP(dy, v, freqs); math.Abs(vjp-dot) > 1e-12*max(1, math.Abs(dot)) {
			t.Errorf("v %g: VJP %g, ⟨dy, JVP⟩ %g", v, vjp, dot)
		}
	}
}

// Bad input is an error, not a panic.
func TestSinusoidFeaturesRefusesBadInput(t *testing.T) {
	g := G.NewGraph()
	x3 := G.NewTensor(g, tensor.Float64, 3, G.WithShape(2, 2, 2), G.WithName("x3"))
	if _, err := SinusoidFeatures(x3, []float64{1}); err == nil {
		t.Error("a 3-D input was accepted")
	}
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 2), G.WithName("x"))
	if _, err := SinusoidFeatures(x, nil); err == nil {
		t.Error("no frequencies were accepted")
	}
}
