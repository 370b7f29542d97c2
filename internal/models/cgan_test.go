package models

import (
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

func dense64(r *rng.RNG, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	rng.Normal(r, d.Data().([]float64))
	return d
}

func oneHot64(labels []int, classes int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(len(labels), classes))
	for i, l := range labels {
		d.Data().([]float64)[i*classes+l] = 1
	}
	return d
}

// weightedSum turns an output into a scalar with fixed random weights so
// every output element's gradient is checked.
func weightedSum(g *G.ExprGraph, out *G.Node, r *rng.RNG) *G.Node {
	w := G.NodeFromAny(g, dense64(r, out.Shape()...), G.WithName("w"))
	return G.Must(G.Sum(G.Must(G.HadamardProd(out, w))))
}

// Finite-difference checks of whole networks in float64: the layers are
// checked one by one in package nn; these check how the models wire them
// (embedding, concatenation, reshape, projection head, BatchNorm use) and
// the two GAN losses.
func TestCGANGradientsMatchFiniteDifferences(t *testing.T) {
	const batch, classes = 3, 3
	labels := []int{0, 2, 1}
	cases := []struct {
		name  string
		wrtG  bool    // check G's parameters, else D's
		h     float64 // finite-difference step, 1e-5 unless set
		build func(gen *Generator, d *Discriminator, g *G.ExprGraph) *G.Node
	}{
		// BatchNorm over a batch of 3 is strongly curved, so the error of a
		// central difference has a truncation term (∝ h²) and a rounding term
		// (∝ ε|f|/h) of similar size. Worst errors measured, gonum / OpenBLAS
		// 0.3.21 on AVX2: h=1e-4 1.32e-6 / 1.31e-6 (truncation), 3e-5
		// 1.95e-7 / 2.32e-7, 1e-5 6.2e-7 / 1.2e-6, 3e-6 1.5e-6 / 2.3e-6
		// (rounding, which differs with the BLAS's summation order). 3e-5
		// balances the two and leaves 4x margin under the 1e-6 limit.
		{"generator with BatchNorm in training mode", true, 3e-5, func(gen *Generator, _ *Discriminator, g *G.ExprGraph) *G.Node {
			z := G.NodeFromAny(g, dense64(rng.New(1, 0), batch, gen.Latent), G.WithName("z"))
			img := G.Must(gen.Apply(g, z, G.NodeFromAny(g, oneHot64(labels, classes), G.WithName("y")), true, false))
			return weightedSum(g, img, rng.New(2, 0))
		}},
		{"discriminator with projection head", false, 0, func(_ *Generator, d *Discriminator, g *G.ExprGraph) *G.Node {
			x := G.NodeFromAny(g, dense64(rng.New(3, 0), batch, 1, DefaultShape.H, DefaultShape.W), G.WithName("x"))
			logits := G.Must(d.Apply(g, x, G.NodeFromAny(g, oneHot64(labels, classes), G.WithName("y"))))
			return weightedSum(g, logits, rng.New(4, 0))
		}},
		{"ns loss with label smoothing", false, 0, func(_ *Generator, d *Discriminator, g *G.ExprGraph) *G.Node {
			return discriminatorLoss(g, d, ganLoss{kind: "ns", smoothing: 0.1}, labels)
		}},
		{"hinge loss", false, 0, func(_ *Generator, d *Discriminator, g *G.ExprGraph) *G.Node {
			return discriminatorLoss(g, d, ganLoss{kind: "hinge"}, labels)
		}},
		{"generator loss through D", true, 0, func(gen *Generator, d *Discriminator, g *G.ExprGraph) *G.Node {
			y := G.NodeFromAny(g, oneHot64(labels, classes), G.WithName("y"))
			z := G.NodeFromAny(g, dense64(rng.New(5, 0), batch, gen.Latent), G.WithName("z"))
			fake := G.Must(gen.Apply(g, z, y, true, false))
			return ganLoss{kind: "ns"}.generator(G.Must(d.Apply(g, fake, y)))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rng.New(7, StreamInit)
			gen := NewGenerator(nn.NewParams(tensor.Float64, r), "g", 3, 2, classes, DefaultShape)
			d := NewDiscriminator(nn.NewParams(tensor.Float64, r), "d", 2, classes, DefaultShape)
			params := d.Params.List
			if c.wrtG {
				params = gen.Params.List
			}
			h := c.h
			if h == 0 {
				h = 1e-5
			}
			worst, err := nn.GradCheckParams(params, h, func(g *G.ExprGraph) (*G.Node, error) {
				return c.build(gen, d, g), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if worst > 1e-6 {
				t.Fatalf("worst relative error %.3g > 1e-6", worst)
			}
		})
	}
}

// discriminatorLoss scores fixed real and fake batches with D.
func discriminatorLoss(g *G.ExprGraph, d *Discriminator, l ganLoss, labels []int) *G.Node {
	y := G.NodeFromAny(g, oneHot64(labels, d.Classes), G.WithName("y"))
	real := G.NodeFromAny(g, dense64(rng.New(8, 0), len(labels), 1, DefaultShape.H, DefaultShape.W), G.WithName("real"))
	fake := G.NodeFromAny(g, dense64(rng.New(9, 0), len(labels), 1, DefaultShape.H, DefaultShape.W), G.WithName("fake"))
	return l.discriminator(g, G.Must(d.Apply(g, real, y)), G.Must(d.Apply(g, fake, y)))
}

func TestCGANGenerateIsIndependentOfBatchAndHonoursClass(t *testing.T) {
	m := NewCGANModel(CGANOptions{Latent: 8, Channels: 4, Classes: 10, Seed: 1, LRG: 2e-4, LRD: 2e-4, Beta1: 0.5, Beta2: 0.999, Eps: 1e-8, EMA: 0.999, Loss: "ns"})
	seeds := make([]uint64, 130)
	labels := make([]int, 130)
	for i := range seeds {
		seeds[i], labels[i] = uint64(i), i%10
	}
	all, err := m.Generate(seeds, labels)
	if err != nil {
		t.Fatal(err)
	}
	one, err := m.Generate(seeds[123:124], labels[123:124])
	if err != nil {
		t.Fatal(err)
	}
	for k := range one[0] {
		if one[0][k] != all[123][k] {
			t.Fatalf("sample 123 differs when drawn alone")
		}
	}
	other, err := m.Generate(seeds[123:124], []int{4})
	if err != nil {
		t.Fatal(err)
	}
	same := true
	for k := range other[0] {
		same = same && other[0][k] == all[123][k]
	}
	if same {
		t.Fatal("asking for another class gave the same image")
	}
	if _, err := m.Generate(seeds[:1], []int{10}); err == nil {
		t.Fatal("class 10 of a 10-class model was accepted")
	}
}

// One training step runs G once: D steps on the fakes at the generator
// graph's tap, and G's objective then scores the same fakes with the
// updated D, as the reference does. With G's learning rate 0 (so G is unchanged
// by the step), G's loss must be exactly what a side-effect-free graph
// computes afterwards with the step's z and labels, and must differ from
// what the pre-step D gives.
func TestCGANGeneratorStepScoresWithTheUpdatedDiscriminator(t *testing.T) {
	m := NewCGANModel(CGANOptions{Latent: 8, Channels: 8, Classes: 3, Seed: 1, LRG: 0, LRD: 0.01,
		Beta1: 0.5, Beta2: 0.999, Eps: 1e-8, EMA: 0.999, Loss: "ns"})
	const n = 4
	r := rng.New(2, 0)
	b := Batch{N: n, X: make([]float32, n*DefaultShape.Pixels()), Labels: []uint8{0, 1, 2, 1}}
	for i := range b.X {
		b.X[i] = float32(r.Float64())
	}
	gLoss := func() float64 {
		g := G.NewGraph()
		z := G.NodeFromAny(g, m.gStep.z.Clone().(*tensor.Dense), G.WithName("z"))
		y := G.NodeFromAny(g, m.gStep.y.Clone().(*tensor.Dense), G.WithName("y"))
		loss := m.loss.generator(G.Must(m.D.Apply(g, G.Must(m.G.Apply(g, z, y, true, false)), y)))
		vm := G.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		return scalarValue(loss.Value())
	}
	snapshot := func() [][]float32 {
		var s [][]float32
		for _, p := range m.D.Params.List {
			s = append(s, append([]float32(nil), p.Value.Data().([]float32)...))
		}
		return s
	}
	restore := func(s [][]float32) {
		for i, p := range m.D.Params.List {
			copy(p.Value.Data().([]float32), s[i])
		}
	}
	for step := 0; step < 2; step++ {
		old := snapshot()
		ms, err := m.TrainStep(b, r)
		if err != nil {
			t.Fatal(err)
		}
		if ms[1].Name != "g_loss" {
			t.Fatalf("metric 1 is %q", ms[1].Name)
		}
		got, after := ms[1].Value, gLoss()
		updated := snapshot()
		restore(old)
		stale := gLoss()
		restore(updated)
		if got != after || got == stale {
			t.Fatalf("step %d: g_loss %v; the step's fakes score %v with the updated D, %v with the old one", step, got, after, stale)
		}
	}
}

// Without classes the GAN has no label input at all: no embedding in G, no
// projection head in D, the same image whatever label is asked for, and it
// is not a Conditional model (so eval and sample treat it as unconditional).
func TestGANWithoutClassesHasNoLabelInput(t *testing.T) {
	m := NewGANModel(CGANOptions{Latent: 8, Channels: 4, Seed: 1, LRG: 2e-4, LRD: 2e-4, Beta1: 0.5, Beta2: 0.999, Eps: 1e-8, EMA: 0.999, Loss: "ns"})
	if m.Kind() != "gan" {
		t.Errorf("Kind() = %q, want gan", m.Kind())
	}
	if _, ok := Model(m).(Conditional); ok {
		t.Error("an unconditional GAN is a Conditional model")
	}
	for _, ts := range m.State(true) {
		if strings.Contains(ts.Name, "emb") || strings.Contains(ts.Name, "proj") {
			t.Errorf("tensor %q: a label input in an unconditional GAN", ts.Name)
		}
	}
	a, err := m.Generate([]uint64{5}, []int{3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Generate([]uint64{5}, []int{-1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a[0], b[0]) {
		t.Error("the label changed an unconditional sample")
	}
	// MNIST labels come with every batch; the unconditional GAN ignores them,
	// even ones a conditional model would refuse.
	const n = 4
	batch := Batch{N: n, X: make([]float32, n*DefaultShape.Pixels()), Labels: []uint8{9, 200, 0, 1}}
	ms, err := m.TrainStep(batch, rng.New(1, StreamTrain))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 || ms[0].Name != "d_loss" {
		t.Errorf("metrics %v", ms)
	}
}
