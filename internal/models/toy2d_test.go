package models

import (
	"math"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// toyOptions are small 2-D models on ring8 that train in a second.
func toyOptions(seed uint64) Toy2DOptions {
	return Toy2DOptions{Mixture: data.Ring8(), Hidden: 32, Latent: 2, Seed: seed, LR: 1e-3, Beta1: 0.5, Beta2: 0.999, Eps: 1e-8,
		EMA: 0.9, Timesteps: 10, Schedule: "linear", BetaStart: 1e-3, BetaEnd: 0.3}
}

func toyModels(t *testing.T, seed uint64) []Model {
	t.Helper()
	o := toyOptions(seed)
	d, err := NewDDPM2DModel(o)
	if err != nil {
		t.Fatal(err)
	}
	return []Model{NewGAN2DModel(o), NewVAE2DModel(o), d}
}

// toyBatches returns a batch-drawing function over ring8 points.
func toyBatches(n int, seed uint64) func() Batch {
	set := data.Ring8().Dataset(2000, rng.New(seed, 0).Rand)
	b, _ := data.NewBatcher(set.N, n)
	r := rng.New(seed, 1)
	return func() Batch {
		x, labels := make([]float32, 2*n), make([]uint8, n)
		set.Gather(b.Next(r), x, labels)
		return Batch{N: n, X: x, Labels: labels}
	}
}

// Finite-difference checks, in float64, of each 2-D network's loss with
// respect to the parameters it trains.
func TestToy2DGradientsMatchFiniteDifferences(t *testing.T) {
	const batch, latent, hidden = 4, 3, 5
	ps := func(seed uint64) *nn.Params { return nn.NewParams(tensor.Float64, rng.New(seed, StreamInit)) }
	input := func(g *G.ExprGraph, name string, seed uint64, cols int) *G.Node {
		return G.NodeFromAny(g, dense64(rng.New(seed, 0), batch, cols), G.WithName(name))
	}
	gp, dp := ps(1), ps(2)
	gan := &GAN2DModel{Latent: latent, GP: gp, DP: dp, loss: ganLoss{kind: "ns"},
		G: newToyMLP(gp, "g.net", nn.ReLU, latent, hidden, hidden, 2),
		D: newToyMLP(dp, "d.net", leakyReLU02, 2, hidden, hidden, 1)}
	vp := ps(3)
	enc := newToyMLP(vp, "enc", nn.ReLU, 2, hidden, hidden, 2*latent)
	dec := newToyMLP(vp, "dec", nn.ReLU, latent, hidden, hidden, 4)
	np := ps(4)
	denoiser := newToyMLP(np, "net", nn.SiLU, toyInputDim, hidden, hidden, hidden, 2)
	tests := []struct {
		name   string
		params []*nn.Param
		build  func(g *G.ExprGraph) *G.Node
	}{
		{"gan2d discriminator loss wrt D", dp.List, func(g *G.ExprGraph) *G.Node {
			fake := G.Must(gan.G.apply(g, input(g, "z", 5, latent)))
			return gan.loss.discriminator(g, G.Must(gan.logits(g, input(g, "x", 6, 2))), G.Must(gan.logits(g, fake)))
		}},
		{"gan2d generator loss wrt G, through D", gp.List, func(g *G.ExprGraph) *G.Node {
			fake := G.Must(gan.G.apply(g, input(g, "z", 7, latent)))
			return gan.loss.generator(G.Must(gan.logits(g, fake)))
		}},
		{"vae2d Gaussian NLL + KL", vp.List, func(g *G.ExprGraph) *G.Node {
			nll, kl, err := vae2dTerms(g, enc, dec, input(g, "x", 8, 2), input(g, "eps", 9, latent), latent)
			if err != nil {
				t.Fatal(err)
			}
			return G.Must(G.Add(nll, kl))
		}},
		{"ddpm2d epsilon MSE", np.List, func(g *G.ExprGraph) *G.Node {
			in := make([]float32, batch*toyInputDim)
			for i := 0; i < batch; i++ {
				denoiserInput(in, i, []float32{float32(i) / 3, -0.5}, 3*i)
			}
			inD := tensor.New(tensor.WithShape(batch, toyInputDim), tensor.WithBacking(toFloat64(in)))
			loss, err := ddpm2dLoss(g, denoiser, G.NodeFromAny(g, inD, G.WithName("in")), input(g, "eps", 10, 2))
			if err != nil {
				t.Fatal(err)
			}
			return loss
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			worst, err := nn.GradCheckParams(tc.params, 1e-5, func(g *G.ExprGraph) (*G.Node, error) { return tc.build(g), nil })
			if err != nil {
				t.Fatal(err)
			}
			if worst > 1e-6 {
				t.Fatalf("worst relative error %.3g > 1e-6", worst)
			}
		})
	}
}

func toFloat64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// meanMetric averages a named loss over the steps.
func meanMetric(steps [][]Metric, name string) float64 {
	s := 0.0
	for _, ms := range steps {
		for _, m := range ms {
			if m.Name == name {
				s += m.Value / float64(len(steps))
			}
		}
	}
	return s
}

// ringDistance is the mean |‖x‖ − 1| of points: how far they are from the ring.
func ringDistance(t *testing.T, m Model) float64 {
	t.Helper()
	seeds := make([]uint64, 200)
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	pts, err := m.Generate(seeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := 0.0
	for _, p := range pts {
		d += math.Abs(math.Hypot(float64(p[0]), float64(p[1]))-1) / float64(len(pts))
	}
	return d
}

// A few hundred steps on ring8 lower each model's training loss (the GAN:
// move its samples towards the ring), and the held-out figures are finite.
func TestToy2DModelsLearnTheRing(t *testing.T) {
	tests := []struct {
		loss  string // the loss that must fall; "" = the GAN's sample distance
		steps int
	}{{"", 400}, {"loss", 300}, {"loss", 300}}
	test := data.Ring8().Dataset(300, rng.New(5, 0).Rand)
	for i, m := range toyModels(t, 1) {
		tc := tests[i]
		t.Run(m.Kind(), func(t *testing.T) {
			next, r := toyBatches(64, 3), rng.New(1, StreamTrain)
			before := ringDistance(t, m)
			var hist [][]Metric
			for s := 0; s < tc.steps; s++ {
				ms, err := m.TrainStep(next(), r)
				if err != nil {
					t.Fatal(err)
				}
				hist = append(hist, ms)
			}
			if tc.loss == "" {
				if after := ringDistance(t, m); !(after < 0.7*before) {
					t.Errorf("samples' mean distance to the ring %.3f -> %.3f", before, after)
				}
			} else if first, last := meanMetric(hist[:30], tc.loss), meanMetric(hist[len(hist)-30:], tc.loss); !(last < first) {
				t.Errorf("%s: first 30 steps %.4f, last 30 %.4f", tc.loss, first, last)
			}
			ev, err := m.Evaluate(test)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ev {
				if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
					t.Errorf("%s = %v", e.Name, e.Value)
				}
			}
		})
	}
}

// Point i depends on seed i only, not on the points drawn beside it, and
// loading a model's state reproduces its points and its next training step.
func TestToy2DSamplesAreIndependentOfBatchAndSurviveACheckpoint(t *testing.T) {
	seeds := make([]uint64, 130)
	for i := range seeds {
		seeds[i] = uint64(1000 + i)
	}
	fresh := toyModels(t, 9)
	for i, m := range toyModels(t, 2) {
		t.Run(m.Kind(), func(t *testing.T) {
			next, r := toyBatches(16, 4), rng.New(2, StreamTrain)
			for s := 0; s < 3; s++ {
				if _, err := m.TrainStep(next(), r); err != nil {
					t.Fatal(err)
				}
			}
			all, err := m.Generate(seeds, nil)
			if err != nil {
				t.Fatal(err)
			}
			one, err := m.Generate(seeds[123:124], nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 130 || len(all[0]) != 2 || !slices.Equal(one[0], all[123]) {
				t.Fatalf("%d points of %d values; seed 1123 alone %v, among 130 %v", len(all), len(all[0]), one[0], all[123])
			}
			if slices.Equal(all[0], all[1]) {
				t.Fatal("two seeds gave the same point")
			}
			f := &checkpoint.File{Tensors: m.State(true)}
			b := fresh[i]
			if err := b.Load(f, true); err != nil {
				t.Fatal(err)
			}
			again, err := b.Generate(seeds[123:124], nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again[0], one[0]) {
				t.Fatal("the loaded model samples differently")
			}
			batch := next()
			la, err := m.TrainStep(batch, rng.New(7, 0))
			if err != nil {
				t.Fatal(err)
			}
			lb, err := b.TrainStep(batch, rng.New(7, 0))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(la, lb) {
				t.Fatalf("step after loading %v, original %v", lb, la)
			}
		})
	}
}

func TestToy2DCheckpointNamesArePyTorchStyle(t *testing.T) {
	want := map[string][]string{
		"gan2d":  {"g.net.0.weight", "g.net.4.bias", "d.net.2.weight", "optim_g.g.net.0.weight.exp_avg", "optim_d.step"},
		"vae2d":  {"enc.4.weight", "dec.0.bias", "optim.dec.4.weight.exp_avg_sq", "optim.step"},
		"ddpm2d": {"net.0.weight", "net.6.bias", "ema.6.weight", "optim.net.2.weight.exp_avg", "optim.step"},
	}
	for _, m := range toyModels(t, 1) {
		f := &checkpoint.File{Tensors: m.State(true)}
		for _, name := range want[m.Kind()] {
			if _, ok := f.Get(name); !ok {
				t.Errorf("%s state lacks %s", m.Kind(), name)
			}
		}
	}
}

func TestDDPM2DSamplerOptions(t *testing.T) {
	d, err := NewDDPM2DModel(toyOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	if o := d.Options(); o.Sampler != "ddpm" || o.Steps != 10 || o.Variance != VarianceBetaTilde || d.NFE() != 10 {
		t.Fatalf("default options %+v, NFE %d; want ancestral over T = 10 with beta_tilde", o, d.NFE())
	}
	tests := []struct {
		in   SamplerOptions
		want string // error substring; "" = accepted
		nfe  int
	}{
		{SamplerOptions{Sampler: "ddim", Variance: VarianceBeta}, "", 10},
		{SamplerOptions{Sampler: "ddim", Steps: 4, Eta: 1}, "", 4},
		{SamplerOptions{Sampler: "ddpm", Steps: 5, Variance: VarianceBeta}, "", 5},
		{SamplerOptions{Sampler: "ddpm", Steps: 11}, "want 1 to 10", 0},
		{SamplerOptions{Sampler: "ddpm", Guidance: 1}, "unconditional", 0},
		{SamplerOptions{Sampler: "heun", Steps: 4, Spacing: SpacingKarras}, "", 7},
		{SamplerOptions{Sampler: "dpmpp2m", Steps: 4, Spacing: SpacingTrailing}, "", 4},
		{SamplerOptions{Sampler: "dpmpp2m-sde", Steps: 4, Spacing: SpacingLogSNR}, "", 4},
		{SamplerOptions{Sampler: "euler"}, `sampler "euler"`, 0},
	}
	seeds := []uint64{1, 2, 3}
	for _, tc := range tests {
		err := d.SetSampler(tc.in)
		if tc.want != "" {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SetSampler(%+v): err = %v, want %q", tc.in, err, tc.want)
			}
			continue
		}
		if err != nil || d.NFE() != tc.nfe {
			t.Errorf("SetSampler(%+v): err %v, NFE %d, want %d", tc.in, err, d.NFE(), tc.nfe)
			continue
		}
		pts, err := d.Generate(seeds, nil)
		if err != nil || len(pts) != 3 {
			t.Errorf("%+v: %d points, %v", tc.in, len(pts), err)
		}
	}
}

// New builds the 2-D kinds on the mixture data.dataset names, scaled to it.
func TestNewBuildsTwoDModelsOnTheirMixture(t *testing.T) {
	for _, tc := range []struct {
		kind, dataset string
		scale         float64
	}{{"gan2d", "ring8", data.Ring8().Scale()}, {"vae2d", "grid25", data.Grid25().Scale()}, {"ddpm2d", "grid25", data.Grid25().Scale()}} {
		cfg, err := LoadConfig(tc.kind, "", []string{"data.dataset=" + tc.dataset})
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var scale float64
		switch x := m.(type) {
		case *GAN2DModel:
			scale = x.scale
		case *VAE2DModel:
			scale = x.scale
		case *DDPM2DModel:
			scale = x.scale
			s := cfg.Own.(*DDPM2DConfig)
			if o := x.Options(); o.Sampler != s.SamplerName || o.Steps != s.Timesteps {
				t.Errorf("ddpm2d sampler %+v, want the config's (%s over all %d steps)", o, s.SamplerName, s.Timesteps)
			}
		}
		if m.Kind() != tc.kind || scale != tc.scale {
			t.Errorf("New(%s on %s) = %s with scale %g, want scale %g", tc.kind, tc.dataset, m.Kind(), scale, tc.scale)
		}
	}
}
