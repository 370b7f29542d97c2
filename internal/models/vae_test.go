package models

import (
	"math"
	"testing"

	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

// The whole negative ELBO graph (linear layers, slicing into μ and log σ²,
// reparameterisation, Bernoulli NLL, KL) against central differences.
func TestVAEGradientMatchesFiniteDifferences(t *testing.T) {
	const batch = 3
	m := NewVAE(6, 5, 2, tensor.Float64, rng.New(5, StreamInit))
	o, err := m.newNELBO(batch, true)
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(9, 0)
	for i, x := range o.x.Data().([]float64) {
		o.x.Data().([]float64)[i] = math.Round(x + r.Float64())
	}
	rng.Normal(r, o.eps.Data().([]float64))
	loss := func() float64 {
		rec, kl, err := o.run()
		if err != nil {
			t.Fatal(err)
		}
		return (rec + kl) / batch
	}
	loss()
	analytic := make([][]float64, len(o.gradValues))
	for i, g := range o.gradValues {
		analytic[i] = append([]float64(nil), g.Data().([]float64)...)
	}
	const h = 1e-6
	worst := 0.0
	for i, p := range m.Params.List {
		w := p.Value.Data().([]float64)
		for j := range w {
			orig := w[j]
			w[j] = orig + h
			fp := loss()
			w[j] = orig - h
			fm := loss()
			w[j] = orig
			num := (fp - fm) / (2 * h)
			rel := math.Abs(num-analytic[i][j]) / math.Max(math.Max(math.Abs(num), math.Abs(analytic[i][j])), 1e-3)
			worst = math.Max(worst, rel)
		}
	}
	if worst > 1e-6 {
		t.Fatalf("worst relative error %.3g > 1e-6", worst)
	}
}

func TestVAEGenerateIsIndependentOfBatch(t *testing.T) {
	m := NewVAEModel(784, 32, 4, 1, 1e-3, 0.9, 0.999, 1e-8)
	seeds := make([]uint64, 200) // more than one sampling batch
	for i := range seeds {
		seeds[i] = uint64(1000 + i)
	}
	all, err := m.Generate(seeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	one, err := m.Generate(seeds[150:151], nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := range one[0] {
		if one[0][k] != all[150][k] {
			t.Fatalf("sample with seed %d differs when drawn alone (pixel %d: %v vs %v)", seeds[150], k, one[0][k], all[150][k])
		}
	}
}
