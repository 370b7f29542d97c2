package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

// The op's gradient against finite differences in float64: one frequency,
// axis-aligned octaves, and random directions high enough that a step of x
// turns the sines many times.
func TestFourierFeaturesGradients(t *testing.T) {
	feat := func(name string, shape []int, freqs [][]float64) gradCase {
		return gradCase{name, [][]int{shape}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
			return FourierFeatures(in[0], freqs)
		}}
	}
	random := make([][]float64, 6)
	r := rng.New(9, 0)
	for j := range random {
		random[j] = []float64{20 * r.NormFloat64(), 20 * r.NormFloat64()}
	}
	checkGradients(t, []gradCase{
		feat("OneFrequency", []int{3, 1}, [][]float64{{1.5}}),
		feat("Octaves", []int{4, 2}, [][]float64{{16, 0}, {8, 0}, {4, 0}, {0, 16}, {0, 8}, {0, 4}}),
		feat("Random", []int{3, 2}, random),
	})
}

// The features are the definition's, in the documented layout, with the
// bits of FourierRow in float32 too; FourierJVP is their derivative along
// u and FourierVJP its transpose.
func TestFourierFeaturesMatchDefinition(t *testing.T) {
	freqs := [][]float64{{25, 0}, {3, -7}, {0.5, 12}}
	m := len(freqs)
	pts := [][]float64{{0.3, -1.7}, {0.05, 2.2}}
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		x := tensor.New(tensor.Of(dt), tensor.WithShape(2, 2))
		for i, p := range pts {
			for k, v := range p {
				if dt == tensor.Float32 {
					x.Data().([]float32)[2*i+k] = float32(v)
				} else {
					x.Data().([]float64)[2*i+k] = v
				}
			}
		}
		g := G.NewGraph()
		y, err := FourierFeatures(G.NodeFromAny(g, x, G.WithName("x")), freqs)
		if err != nil {
			t.Fatal(err)
		}
		if want := (tensor.Shape{2, 2 * m}); !y.Shape().Eq(want) {
			t.Fatalf("%v: shape %v, want %v", dt, y.Shape(), want)
		}
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		for i, p := range pts {
			for j, a := range freqs {
				var got [2]float64
				arg := a[0]*p[0] + a[1]*p[1]
				tol := 1e-15
				if dt == tensor.Float32 {
					d := y.Value().Data().([]float32)
					row := make([]float32, 2*m)
					FourierRow(row, x.Data().([]float32)[2*i:2*i+2], freqs)
					if d[i*2*m+j] != row[j] || d[i*2*m+m+j] != row[m+j] {
						t.Errorf("float32 point %d differs from FourierRow's bits", i)
					}
					got = [2]float64{float64(d[i*2*m+j]), float64(d[i*2*m+m+j])}
					pf := x.Data().([]float32)[2*i : 2*i+2]
					arg = a[0]*float64(pf[0]) + a[1]*float64(pf[1])
					tol = 1e-7
				} else {
					d := y.Value().Data().([]float64)
					got = [2]float64{d[i*2*m+j], d[i*2*m+m+j]}
				}
				if want := [2]float64{math.Sin(arg), math.Cos(arg)}; math.Abs(got[0]-want[0]) > tol || math.Abs(got[1]-want[1]) > tol {
					t.Errorf("%v point %d, a_%d: (sin, cos) = %v, want %v", dt, i, j, got, want)
				}
			}
		}
		vm.Close()
	}
	// The JVP is the features' central difference along u; the VJP is its
	// transpose: ⟨dy, J u⟩ = ⟨Jᵀ dy, u⟩.
	r := rng.New(3, 0)
	dy, u := make([]float64, 2*m), make([]float64, 2)
	rng.Normal(r, dy)
	rng.Normal(r, u)
	for _, p := range pts {
		const h = 1e-6
		jvp := make([]float64, 2*m)
		FourierJVP(jvp, p, u, freqs)
		up, down := make([]float64, 2*m), make([]float64, 2*m)
		FourierRow(up, []float64{p[0] + h*u[0], p[1] + h*u[1]}, freqs)
		FourierRow(down, []float64{p[0] - h*u[0], p[1] - h*u[1]}, freqs)
		lhs := 0.0
		for i := range jvp {
			if num := (up[i] - down[i]) / (2 * h); math.Abs(jvp[i]-num) > 1e-6*max(1, math.Abs(num)) {
				t.Errorf("point %v: JVP[%d] = %g, finite difference %g", p, i, jvp[i], num)
			}
			lhs += dy[i] * jvp[i]
		}
		vjp := make([]float64, 2)
		FourierVJP(vjp, dy, p, freqs)
		if rhs := vjp[0]*u[0] + vjp[1]*u[1]; math.Abs(lhs-rhs) > 1e-12*max(1, math.Abs(lhs)) {
			t.Errorf("point %v: ⟨dy, J u⟩ %g, ⟨Jᵀ dy, u⟩ %g", p, lhs, rhs)
		}
	}
}

// Bad input is an error, not a panic.
func TestFourierFeaturesRefusesBadInput(t *testing.T) {
	g := G.NewGraph()
	x3 := G.NewTensor(g, tensor.Float64, 3, G.WithShape(2, 2, 2), G.WithName("x3"))
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 2), G.WithName("x"))
	for _, c := range []struct {
		name  string
		x     *G.Node
		freqs [][]float64
	}{
		{"3-D input", x3, [][]float64{{1, 0}}},
		{"no frequencies", x, nil},
		{"short frequency vector", x, [][]float64{{1, 0}, {1}}},
	} {
		if _, err := FourierFeatures(c.x, c.freqs); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
