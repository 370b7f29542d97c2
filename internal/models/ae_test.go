package models

import (
	"math"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/rng"
)

// The autoencoder's objective (linear layers, ReLUs, Bernoulli NLL of the
// decoded code) against central differences, in float64.
func TestAEGradientMatchesFiniteDifferences(t *testing.T) {
	const batch = 3
	m := &AEModel{VAE: newMLPCoder(6, 5, 2, 2, tensor.Float64, rng.New(5, StreamInit))}
	o, err := m.newGraph(batch, true, true)
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(9, 0)
	x := o.x.Data().([]float64)
	for i := range x {
		x[i] = math.Round(r.Float64())
	}
	loss := func() float64 {
		if err := runVM(o.vm); err != nil {
			t.Fatal(err)
		}
		return scalarValue(o.rec) / batch
	}
	loss()
	analytic := make([][]float64, len(o.grads))
	for i, g := range gradValues(o.grads) {
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

// prototypes returns n binary 28x28 images, each one of four bar patterns
// with 2 % of its pixels flipped: a data set an autoencoder learns in a
// few hundred steps.
func prototypes(n int, seed uint64) *data.Dataset {
	P := DefaultShape.Pixels()
	r := rng.New(seed, 0)
	d := &data.Dataset{N: n, H: DefaultShape.H, W: DefaultShape.W, Pixels: make([]float32, n*P), Labels: make([]uint8, n)}
	for i := range n {
		k := r.IntN(4)
		d.Labels[i] = uint8(k)
		for p := range P {
			row, col := p/DefaultShape.W, p%DefaultShape.W
			on := (k == 0 && row < 14) || (k == 1 && row >= 14) || (k == 2 && col < 14) || (k == 3 && col >= 14)
			if r.Float64() < 0.02 {
				on = !on
			}
			if on {
				d.Pixels[i*P+p] = 1
			}
		}
	}
	return d
}

// The autoencoder learns: its held-out reconstruction loss falls well below
// the untrained one, its codes are what its reconstructions decode, and a
// checkpoint restores them.
func TestAETrainsAndItsCodesDecodeToItsReconstructions(t *testing.T) {
	train, test := prototypes(512, 1), prototypes(vaeEvalBatch, 2)
	m := NewAEModel(DefaultShape.Pixels(), 32, 2, 1, 3e-3, 0.9, 0.999, 1e-8)
	testRec := func() float64 {
		ev, err := m.Evaluate(test)
		if err != nil {
			t.Fatal(err)
		}
		if ev[0].Name != "test_rec" || ev[1] != (Metric{"test_images", vaeEvalBatch}) {
			t.Fatalf("Evaluate gave %v", ev)
		}
		return ev[0].Value
	}
	before := testRec()
	B, P := 64, DefaultShape.Pixels()
	for s := range 150 {
		start := (s * B) % train.N
		if _, err := m.TrainStep(Batch{N: B, X: train.Pixels[start*P : (start+B)*P]}, nil); err != nil {
			t.Fatal(err)
		}
	}
	after := testRec()
	t.Logf("test reconstruction loss: %.1f nats per image untrained, %.1f after 150 steps", before, after)
	if !(after < 0.3*before) {
		t.Fatalf("test reconstruction loss %.1f nats before training, %.1f after 150 steps: want below 30 %%", before, after)
	}

	xs := [][]float32{test.Image(0), test.Image(1), test.Image(2)}
	codes, err := m.Encode(xs)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 3 || len(codes[0]) != m.LatentDim() || slices.Equal(codes[0], codes[1]) && test.Labels[0] != test.Labels[1] {
		t.Fatalf("codes %v", codes)
	}
	dec, err := m.Decode(codes)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := m.Reconstruct(xs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rec {
		for j := range rec[i] {
			if d := math.Abs(float64(dec[i][j] - rec[i][j])); d > 1e-5 {
				t.Fatalf("image %d pixel %d: Decode(Encode(x)) %v, Reconstruct(x) %v", i, j, dec[i][j], rec[i][j])
			}
		}
	}

	b := NewAEModel(DefaultShape.Pixels(), 32, 2, 7, 3e-3, 0.9, 0.999, 1e-8)
	if err := b.Load(&checkpoint.File{Tensors: m.State(true)}, true); err != nil {
		t.Fatal(err)
	}
	again, err := b.Encode(xs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(again, codes, slices.Equal) {
		t.Fatal("the loaded autoencoder encodes differently")
	}
}

// Bad input is an error, not a panic.
func TestAERefusesImagesAndCodesOfTheWrongSize(t *testing.T) {
	m := NewAEModel(DefaultShape.Pixels(), 8, 3, 1, 1e-3, 0.9, 0.999, 1e-8)
	if _, err := m.Encode([][]float32{make([]float32, 10)}); err == nil {
		t.Error("Encode of a 10-pixel image: no error")
	}
	if _, err := m.Decode([][]float32{make([]float32, 2)}); err == nil {
		t.Error("Decode of a 2-value code for a 3-D latent: no error")
	}
	if _, err := m.TrainStep(Batch{N: 4, X: make([]float32, 10)}, nil); err == nil {
		t.Error("TrainStep on a short batch: no error")
	}
	v := NewVAEModel(DefaultShape.Pixels(), 8, 3, 1, 1e-3, 0.9, 0.999, 1e-8)
	if _, err := v.Encode([][]float32{make([]float32, 10)}); err == nil {
		t.Error("VAE Encode of a 10-pixel image: no error")
	}
	if _, err := v.Decode([][]float32{make([]float32, 4)}); err == nil {
		t.Error("VAE Decode of a 4-value code for a 3-D latent: no error")
	}
}

// The VAE's code is its posterior mean, and decoding it is its
// reconstruction.
func TestVAECodeIsThePosteriorMean(t *testing.T) {
	m := NewVAEModel(DefaultShape.Pixels(), 16, 2, 3, 1e-3, 0.9, 0.999, 1e-8)
	xs := [][]float32{prototypes(1, 4).Image(0)}
	mus, _, err := m.encodeAll(xs)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := m.Encode(xs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(codes[0], mus[0]) {
		t.Fatalf("code %v, μ %v", codes[0], mus[0])
	}
	dec, err := m.Decode(codes)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := m.Reconstruct(xs)
	if err != nil {
		t.Fatal(err)
	}
	for j := range rec[0] {
		if d := math.Abs(float64(dec[0][j] - rec[0][j])); d > 1e-5 {
			t.Fatalf("pixel %d: Decode(μ) %v, Reconstruct %v", j, dec[0][j], rec[0][j])
		}
	}
}
