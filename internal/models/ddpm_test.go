package models

import (
	"fmt"
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

// peerUNetStateDict lists the state_dict of torch_reference.py's UNet() (C 16,
// mult 1,2,4, one res block, GroupNorm 8, 10 classes) in registration
// order, written out from the module's constructor: Res(cin, cout) blocks
// and plain convolutions (name, cin, cout, kernel).
func peerUNetStateDict() [][2]any {
	const tdim = 64
	var sd [][2]any
	add := func(name string, shape ...int) { sd = append(sd, [2]any{name, shape}) }
	conv := func(name string, cin, cout, k int) {
		add(name+".weight", cout, cin, k, k)
		add(name+".bias", cout)
	}
	res := func(name string, cin, cout int) {
		add(name+".n1.weight", cin)
		add(name+".n1.bias", cin)
		conv(name+".c1", cin, cout, 3)
		add(name+".t.weight", cout, tdim)
		add(name+".t.bias", cout)
		add(name+".n2.weight", cout)
		add(name+".n2.bias", cout)
		conv(name+".c2", cout, cout, 3)
		if cin != cout {
			conv(name+".skip", cin, cout, 1)
		}
	}
	add("temb.0.weight", tdim, 16)
	add("temb.0.bias", tdim)
	add("temb.2.weight", tdim, tdim)
	add("temb.2.bias", tdim)
	add("cemb.weight", 11, tdim)
	conv("inc", 1, 16, 3)
	res("down.0", 16, 16)     // 28×28; skips 16, 16
	conv("down.1", 16, 16, 3) // stride 2 → 14; skip 16
	res("down.2", 16, 32)     // skip 32
	conv("down.3", 32, 32, 3) // stride 2 → 7; skip 32
	res("down.4", 32, 64)     // skip 64
	res("mid.0", 64, 64)
	res("mid.1", 64, 64)
	res("up.0", 64+64, 64)
	res("up.1", 64+32, 64)
	conv("up.2.1", 64, 64, 3) // Sequential(Upsample, Conv2d) → 14
	res("up.3", 64+32, 32)
	res("up.4", 32+16, 32)
	conv("up.5.1", 32, 32, 3) // → 28
	res("up.6", 32+16, 16)
	res("up.7", 16+16, 16)
	add("out.0.weight", 16)
	add("out.0.bias", 16)
	conv("out.2", 16, 1, 3)
	return sd
}

func TestUNetParametersAreThePeersStateDict(t *testing.T) {
	net, err := NewUNet(nn.NewParams(tensor.Float32, rng.New(1, 0)), "net.", UNetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := peerUNetStateDict()
	if len(net.Params.List) != len(want) {
		t.Errorf("%d tensors, the PyTorch reference has %d", len(net.Params.List), len(want))
	}
	count := 0
	for i, p := range net.Params.List {
		if i >= len(want) {
			break
		}
		name, shape := "net."+want[i][0].(string), want[i][1].([]int)
		if p.Name != name || !slices.Equal(p.Shape(), shape) {
			t.Errorf("tensor %d: %s %v, want %s %v", i, p.Name, p.Shape(), name, shape)
		}
		count += p.Value.Shape().TotalSize()
	}
	if count != net.Params.Count() {
		t.Errorf("count %d != Params.Count %d", count, net.Params.Count())
	}
	t.Logf("%d tensors, %d parameters", len(net.Params.List), count)
}

func TestUNetOptionsAreChecked(t *testing.T) {
	tests := []struct {
		o   UNetOptions
		sub string
	}{
		{UNetOptions{Channels: 15}, "even number"},
		{UNetOptions{Channels: 12}, "GroupNorm groups"},
		{UNetOptions{Size: 30}, "not divisible by 4"},
		{UNetOptions{Mult: []int{}}, "want a multiplier"},
	}
	for _, tt := range tests {
		_, err := NewUNet(nn.NewParams(tensor.Float32, rng.New(1, 0)), "", tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.sub) {
			t.Errorf("%+v: err = %v, want %q", tt.o, err, tt.sub)
		}
	}
}

// tinyUNet is a float64 U-Net small enough for finite differences over
// every parameter: C 4, two levels (4×4 → 2×2), GroupNorm 2, 2 classes.
func tinyUNet(t *testing.T) *UNet {
	net, err := NewUNet(nn.NewParams(tensor.Float64, rng.New(3, StreamInit)), "", UNetOptions{Channels: 4, Mult: []int{1, 2}, Classes: 2, Groups: 2, Size: 4})
	if err != nil {
		t.Fatal(err)
	}
	// Non-trivial GroupNorm affine parameters, so their gradients are exercised.
	for _, p := range net.Params.List {
		if strings.Contains(p.Name, ".n1.") || strings.Contains(p.Name, ".n2.") || strings.HasPrefix(p.Name, "out.0") {
			rng.Uniform(rng.New(4, 0), p.Value.Data().([]float64), 0.5, 1.5)
		}
	}
	return net
}

// Finite-difference checks in float64 (h = 1e-5) of every block the U-Net
// is built from and of the whole network under the training loss: the ops
// themselves are checked in package nn.
func TestUNetGradientsMatchFiniteDifferences(t *testing.T) {
	const batch = 2
	labels := oneHot64([]int{1, 2}, 3) // class 1 and "no class"
	tfeat := func(g *G.ExprGraph, c int) *G.Node {
		d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(batch, c))
		for i, step := range []int{3, 700} {
			f := make([]float32, c)
			TimestepEmbedding(f, step)
			for j, v := range f {
				d.Data().([]float64)[i*c+j] = float64(v)
			}
		}
		return G.NodeFromAny(g, d, G.WithName("tfeat"))
	}
	cases := []struct {
		name   string
		params func(net *UNet) []*nn.Param
		build  func(net *UNet, g *G.ExprGraph) *G.Node
	}{
		{"time MLP plus class embedding", func(net *UNet) []*nn.Param { return net.Params.List[:5] },
			func(net *UNet, g *G.ExprGraph) *G.Node {
				e := G.Must(net.Embed(g, tfeat(g, net.Channels), G.NodeFromAny(g, labels, G.WithName("y"))))
				return weightedSum(g, e, rng.New(5, 0))
			}},
		{"res block with 1x1 skip conv", func(net *UNet) []*nn.Param { return resParams(net, "down.2.") },
			func(net *UNet, g *G.ExprGraph) *G.Node {
				return resBlockLoss(g, net.down[2].res, batch, 2, net.TDim)
			}},
		{"res block with identity skip", func(net *UNet) []*nn.Param { return resParams(net, "mid.0.") },
			func(net *UNet, g *G.ExprGraph) *G.Node {
				return resBlockLoss(g, net.mid[0], batch, 2, net.TDim)
			}},
		// All 105 tensors take a minute; the small ones (every bias, norm and
		// embedding, the 1×1 skips, the first and last convolutions) see the
		// gradient through every path of the network in a few seconds.
		{"whole U-Net under the epsilon MSE", smallParams,
			func(net *UNet, g *G.ExprGraph) *G.Node {
				x := G.NodeFromAny(g, dense64(rng.New(6, 0), batch, 1, 4, 4), G.WithName("x"))
				eps := G.NodeFromAny(g, dense64(rng.New(7, 0), batch, 1, 4, 4), G.WithName("eps"))
				out := G.Must(net.Apply(g, x, tfeat(g, net.Channels), G.NodeFromAny(g, labels, G.WithName("y"))))
				return G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(out, eps))))))
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := tinyUNet(t)
			params := c.params(net)
			worst, err := nn.GradCheckParams(params, 1e-5, func(g *G.ExprGraph) (*G.Node, error) {
				return c.build(net, g), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if worst > 1e-6 {
				t.Fatalf("worst relative error %.3g > 1e-6", worst)
			}
			t.Logf("%d tensors, worst relative error %.3g", len(params), worst)
		})
	}
}

// smallParams are the tensors of at most 64 scalars.
func smallParams(net *UNet) []*nn.Param {
	var ps []*nn.Param
	for _, p := range net.Params.List {
		if p.Value.Shape().TotalSize() <= 64 {
			ps = append(ps, p)
		}
	}
	return ps
}

func resParams(net *UNet, prefix string) []*nn.Param {
	var ps []*nn.Param
	for _, p := range net.Params.List {
		if strings.HasPrefix(p.Name, prefix) {
			ps = append(ps, p)
		}
	}
	return ps
}

// resBlockLoss runs a block on fixed random x (batch, In, s, s) and temb.
func resBlockLoss(g *G.ExprGraph, r *ResBlock, batch, s, tdim int) *G.Node {
	x := G.NodeFromAny(g, dense64(rng.New(8, 0), batch, r.In, s, s), G.WithName("x"))
	temb := G.NodeFromAny(g, dense64(rng.New(9, 0), batch, tdim), G.WithName("temb"))
	return weightedSum(g, G.Must(r.Apply(g, x, temb)), rng.New(10, 0))
}

// tinyDDPM is a float32 DDPM on 8×8 images with T = 20 and an inference
// batch of 8, cheap enough to train and sample in a test.
func tinyDDPM(t *testing.T, seed uint64) *DDPMModel {
	t.Helper()
	m, err := NewDDPMModel(DDPMOptions{
		UNet: UNetOptions{Channels: 8, Mult: []int{1, 2}, Groups: 4, Size: 8},
		Seed: seed, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, EMA: 0.999,
		Timesteps: 20, Schedule: "linear", BetaStart: 1e-3, BetaEnd: 0.2, CondDrop: 0.1,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.inferBatch = 8
	return m
}

func tinyBatch(n, pixels int, seed uint64) Batch {
	r := rng.New(seed, 0)
	b := Batch{N: n, X: make([]float32, n*pixels), Labels: make([]uint8, n)}
	rng.Uniform(r, b.X, 0, 1)
	for i := range b.Labels {
		b.Labels[i] = uint8(i % 10)
	}
	return b
}

func TestDDPMSamplersRunEndToEnd(t *testing.T) {
	tests := []struct {
		name string
		o    SamplerOptions
		nfe  int
	}{
		{"ancestral all T steps beta_tilde", SamplerOptions{Sampler: "ddpm"}, 20},
		{"ancestral respaced 5 steps beta", SamplerOptions{Sampler: "ddpm", Steps: 5, Variance: VarianceBeta}, 5},
		{"ddim default 50 capped at T", SamplerOptions{Sampler: "ddim"}, 20},
		{"ddim 4 steps eta 0", SamplerOptions{Sampler: "ddim", Steps: 4}, 4},
		{"ddim 4 steps eta 1", SamplerOptions{Sampler: "ddim", Steps: 4, Eta: 1}, 4},
		{"ddim 3 steps guidance 2 doubles NFE", SamplerOptions{Sampler: "ddim", Steps: 3, Guidance: 2}, 6},
		{"ddim 4 steps eta 0.5 log-SNR spacing", SamplerOptions{Sampler: "ddim", Steps: 4, Eta: 0.5, Spacing: SpacingLogSNR}, 4},
		{"ancestral 5 trailing steps", SamplerOptions{Sampler: "ddpm", Steps: 5, Spacing: SpacingTrailing}, 5},
		{"dpm-solver++(2M) 5 karras steps", SamplerOptions{Sampler: "dpmpp2m", Steps: 5, Spacing: SpacingKarras}, 5},
		{"dpm-solver++(2M) 4 steps guidance 1.5 clipped", SamplerOptions{Sampler: "dpmpp2m", Steps: 4, Guidance: 1.5, Clip: true}, 8},
		{"sde-dpm-solver++(2M) 5 log-SNR steps guidance 1 clipped", SamplerOptions{Sampler: "dpmpp2m-sde", Steps: 5, Spacing: SpacingLogSNR, Guidance: 1, Clip: true}, 10},
		{"heun 4 steps: two evaluations a step but the last", SamplerOptions{Sampler: "heun", Steps: 4, Spacing: SpacingTrailing}, 7},
		{"heun 3 steps churn guidance 2 clipped", SamplerOptions{Sampler: "heun", Steps: 3, Churn: 10, Guidance: 2, Clip: true}, 10},
	}
	m := tinyDDPM(t, 1)
	for i := 0; i < 3; i++ { // move the EMA off the initial weights
		if _, err := m.TrainStep(tinyBatch(8, 64, uint64(i)), rng.New(uint64(i), StreamTrain)); err != nil {
			t.Fatal(err)
		}
	}
	seeds, labels := []uint64{1, 2, 3}, []int{0, 9, -1}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, total := 0, 0
			tt.o.Progress = func(done, all int) { calls, total = done, all }
			if err := m.SetSampler(tt.o); err != nil {
				t.Fatal(err)
			}
			if m.NFE() != tt.nfe {
				t.Errorf("NFE %d, want %d", m.NFE(), tt.nfe)
			}
			a, err := m.Generate(seeds, labels)
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Generate(seeds, labels)
			if err != nil {
				t.Fatal(err)
			}
			steps := m.Options().Steps
			if calls != steps || total != steps {
				t.Errorf("progress ended at %d/%d, want %d/%d", calls, total, steps, steps)
			}
			if len(a) != len(seeds) {
				t.Fatalf("%d images for %d seeds", len(a), len(seeds))
			}
			for i, img := range a {
				if len(img) != 64 || !slices.Equal(img, b[i]) {
					t.Fatalf("image %d: %d pixels, same seed same bytes: %v", i, len(img), slices.Equal(img, b[i]))
				}
				for _, v := range img {
					if !(v >= 0 && v <= 1) {
						t.Fatalf("image %d has pixel %v outside [0, 1]", i, v)
					}
				}
			}
			if slices.Equal(a[0], a[1]) {
				t.Error("two seeds gave the same image")
			}
		})
	}
}

// A sample depends on its seed and label only: drawn among 20 (three
// chunks of the fixed inference batch) or alone, its bytes are the same,
// with stochastic steps and with guidance.
func TestDDPMSampleDoesNotDependOnItsBatch(t *testing.T) {
	m := tinyDDPM(t, 2)
	seeds, labels := make([]uint64, 20), make([]int, 20)
	for i := range seeds {
		seeds[i], labels[i] = uint64(1000+i), i%11-1
	}
	for _, o := range []SamplerOptions{
		{Sampler: "ddpm", Steps: 3, Variance: VarianceBeta},
		{Sampler: "ddim", Steps: 2, Eta: 0.5, Guidance: 1.5},
		{Sampler: "heun", Steps: 3, Churn: 10, Spacing: SpacingKarras},
		{Sampler: "dpmpp2m", Steps: 3, Guidance: 1.5, Spacing: SpacingTrailing},
		{Sampler: "dpmpp2m-sde", Steps: 3, Guidance: 1.5, Spacing: SpacingLogSNR},
	} {
		if err := m.SetSampler(o); err != nil {
			t.Fatal(err)
		}
		all, err := m.Generate(seeds, labels)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, 9, 19} {
			one, err := m.Generate(seeds[i:i+1], labels[i:i+1])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(one[0], all[i]) {
				t.Fatalf("%s: sample %d differs when drawn alone", o.Sampler, i)
			}
		}
	}
}

func TestDDPMSamplerOptionErrorsAreClear(t *testing.T) {
	m := tinyDDPM(t, 1)
	tests := []struct {
		o   SamplerOptions
		sub string
	}{
		{SamplerOptions{Sampler: "euler"}, `sampler "euler"`},
		{SamplerOptions{Sampler: "ddim", Steps: 21}, "21 sampling steps: want 1 to 20"},
		{SamplerOptions{Sampler: "ddpm", Steps: -1}, "want 1 to 20"},
		{SamplerOptions{Sampler: "ddim", Eta: 1.5}, "eta 1.5"},
		{SamplerOptions{Sampler: "ddpm", Variance: "large"}, `variance "large"`},
		{SamplerOptions{Sampler: "ddim", Guidance: -1}, "guidance scale -1"},
		{SamplerOptions{Sampler: "ddim", Guidance: math.NaN()}, "guidance scale NaN"},
	}
	for _, tt := range tests {
		err := m.SetSampler(tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.sub) {
			t.Errorf("%+v: err = %v, want %q", tt.o, err, tt.sub)
		}
	}
	if o := m.Options(); o.Sampler != DefaultSampler || o.Steps != 20 || m.NFE() != 20 {
		t.Errorf("a rejected option changed the sampler: %+v", o)
	}
	if _, err := m.Generate([]uint64{1}, []int{10}); err == nil || !strings.Contains(err.Error(), "class 10 requested, the model has classes 0..9") {
		t.Errorf("class without an embedding: err = %v", err)
	}
}

// Options reports what Generate does: the default steps resolved, and the
// option the chosen sampler ignores cleared.
func TestDDPMSamplerOptionsAreNormalised(t *testing.T) {
	m := tinyDDPM(t, 1)
	tests := []struct{ in, want SamplerOptions }{
		{SamplerOptions{Sampler: "ddpm", Eta: 0.5}, SamplerOptions{Sampler: "ddpm", Steps: 20, Variance: VarianceBetaTilde}},
		{SamplerOptions{Sampler: "ddpm", Steps: 4, Variance: VarianceBeta, Guidance: 1}, SamplerOptions{Sampler: "ddpm", Steps: 4, Variance: VarianceBeta, Guidance: 1}},
		{SamplerOptions{Sampler: "ddim", Eta: 1, Variance: VarianceBeta}, SamplerOptions{Sampler: "ddim", Steps: 20, Eta: 1}},
	}
	for _, tt := range tests {
		if err := m.SetSampler(tt.in); err != nil {
			t.Fatal(err)
		}
		if got := m.Options(); got.Sampler != tt.want.Sampler || got.Steps != tt.want.Steps || got.Eta != tt.want.Eta ||
			got.Variance != tt.want.Variance || got.Guidance != tt.want.Guidance {
			t.Errorf("SetSampler(%+v): Options() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// The guided ε of the sampler with scale 0 is the conditional prediction
// bit for bit, and with scale w it is ε_c + w(ε_c − ε_u) of the two passes.
func TestDDPMGuidanceScaleZeroIsConditionalPrediction(t *testing.T) {
	m := tinyDDPM(t, 3)
	s, err := newUNetGraph(m.EMA, m.inferBatch, false)
	if err != nil {
		t.Fatal(err)
	}
	n := len(s.x.Data().([]float32))
	rng.Normal(rng.New(4, 0), s.x.Data().([]float32))
	labels := make([]int, m.inferBatch)
	uncondLabels := make([]int, m.inferBatch)
	for i := range labels {
		labels[i], uncondLabels[i] = i%10, m.noClass()
	}
	eps := func(ls []int, w float64) []float32 {
		dst, scratch := make([]float32, n), make([]float32, n)
		if err := m.epsilon(s, dst, scratch, 7, ls, w); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	cond, uncond, guided0, guided2 := eps(labels, 0), eps(uncondLabels, 0), eps(labels, 0), eps(labels, 2)
	if !slices.Equal(guided0, cond) {
		t.Fatal("scale 0 differs from the conditional prediction")
	}
	if slices.Equal(cond, uncond) {
		t.Fatal("the class embedding changes nothing")
	}
	for i := range cond {
		want := float64(cond[i]) + 2*(float64(cond[i])-float64(uncond[i]))
		if !near(float64(guided2[i]), want, 1e-5*(1+math.Abs(want))) {
			t.Fatalf("scale 2, element %d: %v, want ε_c + 2(ε_c − ε_u) = %v", i, guided2[i], want)
		}
	}
}

func TestDDPMTrainStepIsReproducibleAndLowersTheLoss(t *testing.T) {
	a, b := tinyDDPM(t, 5), tinyDDPM(t, 5)
	batch := tinyBatch(16, 64, 9)
	var first, last float64
	for step := 0; step < 30; step++ {
		// The same t, ε and dropped labels every step: the loss must fall.
		la, err := a.TrainStep(batch, rng.New(11, StreamTrain))
		if err != nil {
			t.Fatal(err)
		}
		lb, err := b.TrainStep(batch, rng.New(11, StreamTrain))
		if err != nil {
			t.Fatal(err)
		}
		if la[0] != lb[0] {
			t.Fatalf("step %d: losses %v and %v from the same seed", step, la[0].Value, lb[0].Value)
		}
		if step == 0 {
			first = la[0].Value
		}
		last = la[0].Value
	}
	t.Logf("loss %.4f → %.4f", first, last)
	if !(last < 0.7*first) {
		t.Errorf("loss %v → %v after 30 steps on one batch", first, last)
	}
	sa, sb := a.State(true), b.State(true)
	for i := range sa {
		if !slices.Equal(sa[i].Data, sb[i].Data) {
			t.Fatalf("%s differs between runs of the same seed", sa[i].Name)
		}
	}
	if _, err := a.TrainStep(Batch{N: 1, X: make([]float32, 64), Labels: []uint8{10}}, rng.New(1, 0)); err == nil {
		t.Error("label 10 of a 10-class model was accepted")
	}
}

// After update k (from 1) the EMA is d·ema + (1−d)·w with
// d = min(0.999, (1+k)/(10+k)), and the LR ramps linearly over the warm-up.
func TestDDPMEMAWarmUpAndLRWarmUp(t *testing.T) {
	m := tinyDDPM(t, 6)
	m.Warmup = 4
	batch := tinyBatch(4, 64, 1)
	for k := 1; k <= 6; k++ {
		before := slices.Clone(m.EMA.Params.List[0].Value.Data().([]float32))
		if _, err := m.TrainStep(batch, rng.New(uint64(k), 0)); err != nil {
			t.Fatal(err)
		}
		if want := 1e-3 * math.Min(1, float64(k)/4); !near(m.Opt.LR, want, 1e-15) {
			t.Errorf("update %d: LR %v, want %v", k, m.Opt.LR, want)
		}
		d := math.Min(0.999, float64(1+k)/float64(10+k))
		w := m.Net.Params.List[0].Value.Data().([]float32)
		for j, e := range m.EMA.Params.List[0].Value.Data().([]float32) {
			want := float32(d*float64(before[j]) + (1-d)*float64(w[j]))
			if e != want {
				t.Fatalf("update %d: ema[%d] = %v, want %v", k, j, e, want)
			}
		}
	}
}

// Saving and loading gives the same weights, optimizer state and samples,
// and the next training step is the one the original would have taken.
func TestDDPMStateLoadRoundTrip(t *testing.T) {
	a := tinyDDPM(t, 7)
	batch := tinyBatch(8, 64, 2)
	for i := 0; i < 2; i++ {
		if _, err := a.TrainStep(batch, rng.New(uint64(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	f := &checkpoint.File{Tensors: a.State(true)}
	for _, p := range []string{"net.temb.0.weight", "ema.up.2.1.weight", "optim.net.cemb.weight.exp_avg", "optim.step"} {
		if _, ok := f.Get(p); !ok {
			t.Errorf("state lacks %s", p)
		}
	}
	b := tinyDDPM(t, 8)
	if err := b.Load(f, true); err != nil {
		t.Fatal(err)
	}
	la, err := a.TrainStep(batch, rng.New(9, 0))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.TrainStep(batch, rng.New(9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if la[0] != lb[0] {
		t.Fatalf("resumed step loss %v, original %v", lb[0].Value, la[0].Value)
	}
	ia, _ := a.Generate([]uint64{4}, []int{3})
	ib, _ := b.Generate([]uint64{4}, []int{3})
	if !slices.Equal(ia[0], ib[0]) {
		t.Fatal("loaded model samples differently")
	}
	wrong, err := NewDDPMModel(DDPMOptions{UNet: UNetOptions{Channels: 16, Mult: []int{1, 2}, Groups: 4, Size: 8},
		Seed: 1, LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Timesteps: 20, BetaStart: 1e-3, BetaEnd: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if err := wrong.Load(f, false); err == nil || !strings.Contains(err.Error(), "shape mismatch") {
		t.Errorf("loading into a wider U-Net: err = %v", err)
	}
}

func TestDDPMEvaluateIsFixedAcrossCalls(t *testing.T) {
	m := tinyDDPM(t, 9)
	b := tinyBatch(150, 64, 3)
	test := &data.Dataset{N: 150, H: 8, W: 8, Pixels: b.X, Labels: b.Labels}
	first, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].Name != "test_mse" || first[1].Name != "test_mse_net" {
		t.Fatalf("metrics %v", first)
	}
	// Untrained, the EMA is the network itself.
	if first[0].Value != first[1].Value || !(first[0].Value > 0) {
		t.Errorf("untrained: EMA %v vs network %v", first[0].Value, first[1].Value)
	}
	if _, err := m.TrainStep(tinyBatch(8, 64, 4), rng.New(1, 0)); err != nil {
		t.Fatal(err)
	}
	again, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	third, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again) != fmt.Sprint(third) || again[0].Value == again[1].Value {
		t.Errorf("evaluations %v then %v", again, third)
	}
}

// A DDPM that trains every image as "no class" (cond_drop 1) is scored
// without a class whatever labels the test set carries: Stacked MNIST's are
// all 0, and its test_mse rose with training while the class-0 row, never
// trained, was what the network was asked about. A conditional model still
// uses the labels.
func TestDDPMEvaluateUsesNoClassWhenTrainedWithout(t *testing.T) {
	b := tinyBatch(40, 64, 3)
	labelled := &data.Dataset{N: 40, H: 8, W: 8, Pixels: b.X, Labels: b.Labels}
	zeros := &data.Dataset{N: 40, H: 8, W: 8, Pixels: b.X, Labels: make([]uint8, 40)}
	none := &data.Dataset{N: 40, H: 8, W: 8, Pixels: b.X, Labels: slices.Repeat([]uint8{255}, 40)}
	for _, c := range []struct {
		condDrop  float64
		wantEqual bool
	}{{1, true}, {0.1, false}} {
		m := tinyDDPM(t, 9)
		m.CondDrop = c.condDrop
		// A few steps, so that the class rows differ from the no-class row.
		for s := range 3 {
			if _, err := m.TrainStep(tinyBatch(8, 64, uint64(4+s)), rng.New(uint64(s), 0)); err != nil {
				t.Fatal(err)
			}
		}
		var got [3][]Metric
		for i, d := range []*data.Dataset{labelled, zeros, none} {
			var err error
			if got[i], err = m.Evaluate(d); err != nil {
				t.Fatal(err)
			}
		}
		same := fmt.Sprint(got[0]) == fmt.Sprint(got[2]) && fmt.Sprint(got[1]) == fmt.Sprint(got[2])
		if same != c.wantEqual {
			t.Errorf("cond_drop %v: test_mse with labels %v, all 0 %v, none %v; want equal = %v",
				c.condDrop, got[0], got[1], got[2], c.wantEqual)
		}
	}
}

// models.New builds configs/ddpm.yaml's model: the reference's 620,401-parameter
// U-Net, T = 1000, sampling (and drawing training grids) with the config's
// sampler.
func TestNewBuildsDefaultDDPMWithTheConfigsSampler(t *testing.T) {
	tests := []struct {
		sets []string
		want SamplerOptions
		nfe  int
	}{
		{nil, SamplerOptions{Sampler: "ddim", Steps: 50}, 50},
		{[]string{"sample.sampler=ddpm", "sample.steps=0"}, SamplerOptions{Sampler: "ddpm", Steps: 1000, Variance: VarianceBetaTilde}, 1000},
		{[]string{"sample.guidance=3", "sample.eta=1", "train.schedule=cosine"}, SamplerOptions{Sampler: "ddim", Steps: 50, Eta: 1, Guidance: 3}, 100},
	}
	for _, tt := range tests {
		cfg, err := LoadConfig("ddpm", "", tt.sets)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		d, ok := m.(*DDPMModel)
		if !ok {
			t.Fatalf("New gave a %T", m)
		}
		o := d.Options()
		if o.Sampler != tt.want.Sampler || o.Steps != tt.want.Steps || o.Eta != tt.want.Eta || o.Variance != tt.want.Variance || o.Guidance != tt.want.Guidance || d.NFE() != tt.nfe {
			t.Errorf("%v: options %+v NFE %d, want %+v NFE %d", tt.sets, o, d.NFE(), tt.want, tt.nfe)
		}
		if d.Kind() != "ddpm" || d.NumParams() != 620401 || d.NumClasses() != 10 || d.Sched.T != 1000 {
			t.Errorf("%v: kind %s, %d params, %d classes, T %d", tt.sets, d.Kind(), d.NumParams(), d.NumClasses(), d.Sched.T)
		}
	}
}
