package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

func TestDDGANScheduleIsThePapersVPSchedule(t *testing.T) {
	sc, err := NewDDGANSchedule(4)
	if err != nil {
		t.Fatal(err)
	}
	// β of the reference code at T = 4, and A_T = Π α.
	for i, want := range []float64{0.4783, 0.8492, 0.9564, 0.9874} {
		if !near(sc.Beta[i], want, 5e-5) {
			t.Errorf("beta_%d = %.5f, want %.4f", i+1, sc.Beta[i], want)
		}
	}
	if aT := float64(sc.SqrtA[4]) * float64(sc.SqrtA[4]); !near(aT, 4.319e-5, 1e-7) {
		t.Errorf("A_T = %.4g, want 4.319e-5", aT)
	}
	// The posterior's coefficients as the reference prints them.
	for i, want := range [][3]float64{{1, 0, 1e-10}, {0.6658, 0.2016, 0.66394}, {0.2692, 0.1930, 0.94032}, {0.0578, 0.1119, 0.99200}} {
		got := [3]float64{float64(sc.C1[i]), float64(sc.C2[i]), float64(sc.SD[i])}
		for k := range got {
			if !near(got[k], want[k], 5e-5*math.Max(1, want[k])) {
				t.Errorf("t=%d: (c1, c2, sd) = %v, want %v", i, got, want)
				break
			}
		}
	}
	for _, T := range []int{1, 2, 4, 8} {
		sc, err := NewDDGANSchedule(T)
		if err != nil {
			t.Fatal(err)
		}
		for s := range T {
			// A noise-free x_{t+1} = √A_{t+1} x_0 has posterior mean √A_t x_0,
			// and the posterior variance is β̃ = β(1−A_t)/(1−A_{t+1}).
			aT, aT1 := float64(sc.SqrtA[s]), float64(sc.SqrtA[s+1])
			if m := float64(sc.C1[s]) + float64(sc.C2[s])*aT1; !near(m, aT, 1e-5) {
				t.Errorf("T=%d t=%d: posterior mean coefficient %.6f, want √A_t = %.6f", T, s, m, aT)
			}
			v := sc.Beta[s] * (1 - aT*aT) / (1 - aT1*aT1)
			if sd := float64(sc.SD[s]); !near(sd*sd, math.Max(v, 1e-20), 1e-5) {
				t.Errorf("T=%d t=%d: posterior variance %.6f, want %.6f", T, s, sd*sd, v)
			}
		}
		if a := float64(sc.SqrtA[T]); a*a > 1e-4 {
			t.Errorf("T=%d: A_T = %g, want the chain to end near N(0, I)", T, a*a)
		}
	}
	for _, T := range []int{0, -1, 1001} {
		if _, err := NewDDGANSchedule(T); err == nil {
			t.Errorf("T=%d: no error", T)
		}
	}
}

func TestDDGANPairAndPosteriorFollowTheSchedule(t *testing.T) {
	sc, _ := NewDDGANSchedule(4)
	x0, e1, e2, z := []float32{0.5, -1}, []float32{1, 0.25}, []float32{-0.5, 2}, []float32{0.3, -0.7}
	xt, xt1, post := make([]float32, 2), make([]float32, 2), make([]float32, 2)
	for s := range 4 {
		sc.Pair(xt, xt1, x0, e1, e2, s)
		sc.Posterior(post, x0, xt1, z, s)
		A, A1 := math.Pow(float64(sc.SqrtA[s]), 2), math.Pow(float64(sc.SqrtA[s+1]), 2)
		b := sc.Beta[s]
		for j := range x0 {
			wantT := math.Sqrt(A)*float64(x0[j]) + math.Sqrt(1-A)*float64(e1[j])
			want1 := math.Sqrt(1-b)*wantT + math.Sqrt(b)*float64(e2[j])
			sd := math.Sqrt(b * (1 - A) / (1 - A1))
			if s == 0 {
				sd = 0
			}
			wantP := b*math.Sqrt(A)/(1-A1)*float64(x0[j]) + (1-A)*math.Sqrt(1-b)/(1-A1)*float64(xt1[j]) + sd*float64(z[j])
			if !near(float64(xt[j]), wantT, 1e-5) || !near(float64(xt1[j]), want1, 1e-5) || !near(float64(post[j]), wantP, 1e-5) {
				t.Errorf("t=%d j=%d: x_t %g x_t+1 %g posterior %g, want %g %g %g", s, j, xt[j], xt1[j], post[j], wantT, want1, wantP)
			}
		}
	}
}

// The reference's defaults (gch 16, nz 100, dch 64) have these sizes in
// PyTorch: G 149 tensors, 772,273 parameters; D 25 tensors, 477,569.
func TestDDGANNetworksHaveThePeersStateDict(t *testing.T) {
	m, err := NewDDGANModel(ddganDefaults(1))
	if err != nil {
		t.Fatal(err)
	}
	if n, c := len(m.GP.List), m.GP.Count(); n != 149 || c != 772273 {
		t.Errorf("G: %d tensors, %d parameters; want 149, 772273", n, c)
	}
	if n, c := len(m.D.Params.List), m.D.Params.Count(); n != 25 || c != 477569 {
		t.Errorf("D: %d tensors, %d parameters; want 25, 477569", n, c)
	}
	var dNames []string
	for _, p := range m.D.Params.List {
		dNames = append(dNames, p.Name)
	}
	want := []string{"temb.0.weight", "temb.0.bias", "temb.2.weight", "temb.2.bias", "inc.weight", "inc.bias",
		"b1.c1.weight", "b1.c1.bias", "b1.t.weight", "b1.t.bias", "b1.c2.weight", "b1.c2.bias", "b1.skip.weight",
		"b2.c1.weight", "b2.c1.bias", "b2.t.weight", "b2.t.bias", "b2.c2.weight", "b2.c2.bias", "b2.skip.weight",
		"final.weight", "final.bias", "fc.weight", "fc.bias", "proj.weight"}
	for i := range want {
		want[i] = "D." + want[i]
	}
	if !slices.Equal(dNames, want) {
		t.Errorf("D's names\n%v\nwant\n%v", dNames, want)
	}
	// G: the U-Net's order with each AdaRes as c1, t, c2, [skip], s1, s2,
	// the class embedding without the "no class" row, then the z mapping.
	shapes := map[string][]int{}
	for _, p := range m.GP.List {
		shapes[p.Name] = p.Shape()
	}
	for name, shape := range map[string][]int{
		"G.cemb.weight": {10, 64}, "G.down.0.s1.weight": {32, 64}, "G.down.2.s2.weight": {64, 64},
		"G.up.0.s1.weight": {256, 64}, "G.up.0.skip.weight": {64, 128, 1, 1}, "G.zmap.0.weight": {64, 100},
		"G.zmap.2.bias": {64}, "G.out.0.weight": {16},
	} {
		if !slices.Equal(shapes[name], shape) {
			t.Errorf("%s: shape %v, want %v", name, shapes[name], shape)
		}
	}
	if _, ok := shapes["G.down.0.n1.weight"]; ok {
		t.Error("AdaRes has an affine GroupNorm")
	}
	order := []string{m.GP.List[0].Name, m.GP.List[4].Name, m.GP.List[len(m.GP.List)-1].Name}
	if !slices.Equal(order, []string{"G.temb.0.weight", "G.cemb.weight", "G.zmap.2.bias"}) {
		t.Errorf("G's order: %v", order)
	}
	// D starts at chance: the zeroed last convolutions make every logit fc's bias.
	for _, p := range []string{"D.final.weight", "D.b1.c2.weight", "D.b2.c2.bias"} {
		for _, q := range m.D.Params.List {
			if q.Name == p && slices.ContainsFunc(q.Value.Data().([]float32), func(v float32) bool { return v != 0 }) {
				t.Errorf("%s does not start at zero", p)
			}
		}
	}
}

func ddganDefaults(seed uint64) DDGANOptions {
	return DDGANOptions{T: 4, R1: 0.05, LazyReg: 1, Latent: 100, Channels: 16, DChannels: 64, Classes: 10, Seed: seed,
		LRG: 1.6e-4, LRD: 1.25e-4, Beta1: 0.5, Beta2: 0.9, Eps: 1e-8, EMA: 0.999}
}

// tinyDDGAN is small enough to train in a test: C 8, nz 8, dch 8, T 2.
func tinyDDGAN(t *testing.T, seed uint64, r1 float64) *DDGANModel {
	t.Helper()
	return tinyDDGANWith(t, seed, r1, func(*DDGANOptions) {})
}

// tinyDDGANWith is tinyDDGAN with its options changed by set first.
func tinyDDGANWith(t *testing.T, seed uint64, r1 float64, set func(*DDGANOptions)) *DDGANModel {
	t.Helper()
	o := ddganDefaults(seed)
	o.T, o.Latent, o.Channels, o.DChannels, o.R1, o.LazyReg = 2, 8, 8, 8, r1, 2
	o.LRG, o.LRD = 1e-3, 1e-3
	set(&o)
	m, err := NewDDGANModel(o)
	if err != nil {
		t.Fatal(err)
	}
	m.inferBatch = 4
	return m
}

func stateBytes(t *testing.T, m Model) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := checkpoint.Encode(&buf, &checkpoint.File{Tensors: m.State(true)}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDDGANTrainingIsReproducibleAndResumesExactly(t *testing.T) {
	const steps = 3
	b := tinyBatch(4, DefaultShape.Pixels(), 7)
	run := func(m *DDGANModel, r *rng.RNG, n int) [][]Metric {
		var ms [][]Metric
		for range n {
			got, err := m.TrainStep(b, r)
			if err != nil {
				t.Fatal(err)
			}
			ms = append(ms, got)
		}
		return ms
	}
	a, c := tinyDDGAN(t, 3, 0.05), tinyDDGAN(t, 3, 0.05)
	ra, rc := rng.New(3, StreamTrain), rng.New(3, StreamTrain)
	ma := run(a, ra, steps)
	run(c, rc, steps)
	if !bytes.Equal(stateBytes(t, a), stateBytes(t, c)) {
		t.Fatal("two runs of one seed differ")
	}
	names := []string{}
	for _, mt := range ma[0] {
		names = append(names, mt.Name)
	}
	if !slices.Equal(names, []string{"d_loss", "g_loss", "r1", "d_real", "d_fake"}) {
		t.Errorf("metrics %v", names)
	}
	// D starts with ∂D/∂x = 0 (its last convolutions are zero), so R1 is 0
	// on step 0, held at step 1 (lazy_reg 2), positive on step 2.
	if ma[0][2].Value != 0 || ma[1][2].Value != 0 || ma[2][2].Value <= 0 {
		t.Errorf("r1 = %v: want 0, 0, positive", []float64{ma[0][2].Value, ma[1][2].Value, ma[2][2].Value})
	}
	// Resume: a fresh model loads the checkpoint and the RNG state, and the
	// next step gives the same bytes as the uninterrupted run.
	f := checkpointOf(t, a)
	d := tinyDDGAN(t, 99, 0.05)
	if err := d.Load(f, true); err != nil {
		t.Fatal(err)
	}
	rd := rng.New(0, 0)
	if err := rd.SetState(ra.State()); err != nil {
		t.Fatal(err)
	}
	run(a, ra, 2)
	run(d, rd, 2)
	if !bytes.Equal(stateBytes(t, a), stateBytes(t, d)) {
		t.Error("a resumed run differs from the uninterrupted one")
	}
	other := tinyDDGAN(t, 4, 0.05)
	run(other, rng.New(4, StreamTrain), steps)
	if bytes.Equal(stateBytes(t, other), stateBytes(t, c)) {
		t.Error("seeds 3 and 4 give the same model")
	}
}

func checkpointOf(t *testing.T, m Model) *checkpoint.File {
	t.Helper()
	f, err := checkpoint.Decode(stateBytes(t, m), "test")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDDGANSamplesDependOnlyOnSeedAndLabel(t *testing.T) {
	m := tinyDDGAN(t, 5, 0)
	b := tinyBatch(4, DefaultShape.Pixels(), 1)
	if _, err := m.TrainStep(b, rng.New(5, StreamTrain)); err != nil {
		t.Fatal(err)
	}
	seeds, labels := []uint64{10, 11, 12, 13, 14, 15}, []int{0, 1, 2, 3, -1, 9}
	all, err := m.Generate(seeds, labels) // batches of 4 and 2 (padded)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 6 || len(all[0]) != DefaultShape.Pixels() {
		t.Fatalf("%d samples of %d pixels", len(all), len(all[0]))
	}
	for i := range seeds {
		one, err := m.Generate(seeds[i:i+1], labels[i:i+1])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(one[0], all[i]) {
			t.Errorf("sample %d depends on its batch", i)
		}
	}
	other, _ := m.Generate([]uint64{10}, []int{1})
	if slices.Equal(other[0], all[0]) {
		t.Error("the label does not change the sample")
	}
	for _, v := range all[2] {
		if v < 0 || v > 1 {
			t.Fatalf("pixel %g outside [0, 1]", v)
		}
	}
	if _, err := m.Generate([]uint64{1}, []int{10}); err == nil {
		t.Error("class 10 of 10: no error")
	}
	if m.NFE() != 2 || m.SetSampler(SamplerOptions{Sampler: "ddim", Steps: 50}) == nil || m.SetSampler(m.Options()) != nil {
		t.Error("the sampler is not fixed at T steps of the model's own")
	}
}

// With T = 1 (x'_0 = G's x̂_0 against the data itself), a fixed generator
// and white images for data, D learns to tell them apart: its loss falls
// from chance (2 ln 2) within a few steps.
func TestDDGANDiscriminatorLearns(t *testing.T) {
	o := ddganDefaults(6)
	o.T, o.Latent, o.Channels, o.DChannels, o.R1, o.LRD, o.LRG = 1, 8, 8, 8, 0, 2e-3, 0
	m, err := NewDDGANModel(o)
	if err != nil {
		t.Fatal(err)
	}
	b := tinyBatch(8, DefaultShape.Pixels(), 2)
	for i := range b.X {
		b.X[i] = 1 // white images: D can tell them from G's by their mean
	}
	r := rng.New(6, StreamTrain)
	var losses []float64
	for range 12 {
		ms, err := m.TrainStep(b, r)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, ms[0].Value)
	}
	first, last := losses[0], losses[len(losses)-1]
	if !near(first, 2*math.Ln2, 0.05) || last > 0.8*first {
		t.Errorf("d_loss %.4v: want from chance (%.4f) to well below", losses, 2*math.Ln2)
	}
}

// R1's gradient by the difference of first derivatives with D's slopes
// frozen (r1Grads) against the derivative of R1(θ) = γ/2·mean‖∂D/∂x_t‖²
// itself, taken numerically in θ in float64 along random directions (with
// a step of 1e-8, small enough that no LReLU changes sign). Being exact,
// it agrees to float32 rounding whatever the step h: within 5e-3 here
// (1e-6 to 1.2e-3 measured across the builds; the rounding of the
// difference grows as ε·‖g‖ shrinks against x_t).
func TestDDGANR1GradMatchesExact(t *testing.T) {
	for _, head := range DDGANHeads {
		for _, h := range []float64{1, 3} {
			t.Run(fmt.Sprintf("%s/step%g", head, h), func(t *testing.T) { testR1Grad(t, head, h) })
		}
	}
}

func testR1Grad(t *testing.T, head string, h float64) {
	m := tinyDDGANWith(t, 8, 1, func(o *DDGANOptions) { o.DHead = head })
	m.R1Step = h
	// A large γ: the estimate is a float32 difference of D's gradients with
	// and without R1, and the flatten head's plain gradient is large enough
	// beside R1's at γ = 1 for that difference to lose 0.5 % to rounding.
	m.R1 = 100
	const B = 4
	if err := m.ensureGraphs(B); err != nil {
		t.Fatal(err)
	}
	// Random weights everywhere (the zero-initialised convolutions would
	// make ∂D/∂x vanish) and random pairs, steps and labels.
	r := rng.New(8, 0)
	for _, p := range m.D.Params.List {
		d := p.Value.Data().([]float32)
		rng.Normal(r, d)
		k := float32(1 / math.Sqrt(float64(p.Value.Shape().TotalSize()/p.Value.Shape()[0])))
		for i := range d {
			d[i] *= k
		}
	}
	s := m.dStep
	rng.Normal(r, s.pair.Data().([]float32))
	for i := range 2 * B {
		setRows(s.tfeat.Data().([]float32), s.y.Data().([]float32), 2*B, i, i%2, (i*3)%10, 10)
	}
	// R1's gradient: D's gradients with R1 less those without.
	plain, err := m.dGradients(false)
	if err != nil {
		t.Fatal(err)
	}
	est := make([]G.Value, len(plain))
	for i, v := range plain {
		est[i] = v.(*tensor.Dense).Clone().(*tensor.Dense)
	}
	with, err := m.dGradients(true)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range with {
		e := est[i].Data().([]float32)
		for j, w := range v.Data().([]float32) {
			e[j] = w - e[j]
		}
	}
	exact := newR1Exact(t, m, s)
	r1 := exact.value()
	if !near(m.lastR1, r1, 1e-4*r1) {
		t.Errorf("R1 = %g, float64 gives %g", m.lastR1, r1)
	}
	for k := range 4 {
		u := make([][]float64, len(exact.params))
		dot := 0.0
		for i, p := range exact.params {
			u[i] = make([]float64, p.Value.Shape().TotalSize())
			rng.Normal(rng.New(uint64(100+k), uint64(i)), u[i])
			for j, v := range est[i].Data().([]float32) {
				dot += float64(v) * u[i][j]
			}
		}
		const dh = 1e-8
		exact.shift(u, dh)
		up := exact.value()
		exact.shift(u, -2*dh)
		down := exact.value()
		exact.shift(u, dh)
		num := (up - down) / (2 * dh)
		if math.Abs(dot-num) > 5e-3*math.Abs(num) {
			t.Errorf("h %g, direction %d: R1 gradient %.6g, exact %.6g", h, k, dot, num)
		}
	}
}

// r1Exact evaluates R1 on the real half of a D step's batch with a float64
// copy of D.
type r1Exact struct {
	d      *DDGANDiscriminator
	gamma  float64
	params []*nn.Param
	logits G.Value
	dpair  *G.Node
	vm     G.VM
	rows   int
}

func newR1Exact(t *testing.T, m *DDGANModel, s *ddganDStep) *r1Exact {
	t.Helper()
	B := s.rows / 2
	ps := nn.NewParams(tensor.Float64, rng.New(0, 0))
	d, err := NewDDGANDiscriminator(ps, "D.", m.D.Channels, m.Classes, DefaultShape, m.D.Head)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps.List {
		dst := p.Value.Data().([]float64)
		for j, v := range m.D.Params.List[i].Value.Data().([]float32) {
			dst[j] = float64(v)
		}
	}
	P := DefaultShape.Pixels()
	to64 := func(src []float32, n int, shape ...int) *tensor.Dense {
		out := make([]float64, n)
		for j := range out {
			out[j] = float64(src[j])
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(out))
	}
	g := G.NewGraph()
	pair := G.NodeFromAny(g, to64(s.pair.Data().([]float32), B*2*P, B, 2, DefaultShape.H, DefaultShape.W), G.WithName("pair"))
	logits, err := d.Apply(g, pair, G.NodeFromAny(g, to64(s.tfeat.Data().([]float32), B*d.Channels, B, d.Channels), G.WithName("tf")),
		G.NodeFromAny(g, to64(s.y.Data().([]float32), B*m.Classes, B, m.Classes), G.WithName("y")))
	if err != nil {
		t.Fatal(err)
	}
	e := &r1Exact{d: d, gamma: m.R1, params: ps.List, rows: B}
	grads, err := G.Grad(G.Must(G.Sum(logits)), pair)
	if err != nil {
		t.Fatal(err)
	}
	e.dpair = grads[0]
	e.vm = G.NewTapeMachine(g)
	return e
}

func (e *r1Exact) value() float64 {
	if err := runVM(e.vm); err != nil {
		panic(err)
	}
	P := DefaultShape.Pixels()
	g := e.dpair.Value().Data().([]float64)
	ss := 0.0
	for i := range e.rows {
		for _, v := range g[2*i*P : 2*i*P+P] {
			ss += v * v
		}
	}
	return e.gamma / 2 * ss / float64(e.rows)
}

func (e *r1Exact) shift(u [][]float64, h float64) {
	for i, p := range e.params {
		d := p.Value.Data().([]float64)
		for j := range d {
			d[j] += h * u[i][j]
		}
	}
}

// D's wiring (time embedding, Down blocks, average pools, the projection
// head) against finite differences in float64, on 8×8 pairs (1e-4: a
// step of 1e-6 may cross an LReLU's kink); G's AdaGN U-Net likewise, on a
// few of its tensors.
func TestDDGANGradientsMatchFiniteDifferences(t *testing.T) {
	const batch, classes = 3, 3
	labels := []int{0, 2, 1}
	r := rng.New(11, 0)
	for _, head := range DDGANHeads {
		ps := nn.NewParams(tensor.Float64, r)
		d, err := NewDDGANDiscriminator(ps, "D.", 4, classes, Shape{C: 1, H: 8, W: 8}, head)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps.List { // the zeroed convolutions too
			rng.Normal(r, p.Value.Data().([]float64))
		}
		worst, err := nn.GradCheckParams(ps.List, 1e-6, func(g *G.ExprGraph) (*G.Node, error) {
			pair := G.NodeFromAny(g, dense64(rng.New(12, 0), batch, 2, 8, 8), G.WithName("pair"))
			tf := G.NodeFromAny(g, dense64(rng.New(13, 0), batch, 4), G.WithName("tf"))
			logits, err := d.Apply(g, pair, tf, G.NodeFromAny(g, oneHot64(labels, classes), G.WithName("y")))
			if err != nil {
				return nil, err
			}
			return weightedSum(g, logits, rng.New(14, 0)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if worst > 1e-4 {
			t.Errorf("discriminator, %s head: worst relative error %.3g", head, worst)
		}
	}
	gp := nn.NewParams(tensor.Float64, r)
	gen, err := NewDDGANGenerator(gp, "G.", 8, classes, 5, DefaultShape)
	if err != nil {
		t.Fatal(err)
	}
	gen.Net.Size = 8
	// A few tensors on every path: z mapping, the AdaGN styles down, mid
	// and up, the time embedding and the class embedding's first row.
	want := []string{"G.zmap.0.bias", "G.zmap.2.bias", "G.down.0.s1.bias", "G.mid.0.s2.bias", "G.up.1.s1.bias", "G.temb.2.bias", "G.out.2.bias"}
	var small []*nn.Param
	for _, p := range gp.List {
		if slices.Contains(want, p.Name) {
			small = append(small, p)
		}
	}
	if len(small) != len(want) {
		t.Fatalf("found %d of %v", len(small), want)
	}
	worst, err := nn.GradCheckParams(small, 1e-6, func(g *G.ExprGraph) (*G.Node, error) {
		x := G.NodeFromAny(g, dense64(rng.New(15, 0), batch, 1, 8, 8), G.WithName("x"))
		tf := G.NodeFromAny(g, dense64(rng.New(16, 0), batch, 8), G.WithName("tf"))
		z := G.NodeFromAny(g, dense64(rng.New(17, 0), batch, 5), G.WithName("z"))
		out, err := gen.Apply(g, x, tf, G.NodeFromAny(g, oneHot64(labels, classes), G.WithName("y")), z)
		if err != nil {
			return nil, err
		}
		return weightedSum(g, out, rng.New(18, 0)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if worst > 1e-5 {
		t.Errorf("generator: worst relative error %.3g over %d small tensors", worst, len(small))
	}
}

// A checkpoint's "G.", "ema." and "D." tensors load into PyTorch modules of
// the same networks (scripts/ddgan_torch_check.py, strict=True), which give
// the same outputs on a fixed input. Skipped without python3-torch.
func TestDDGANCheckpointLoadsIntoPyTorch(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import torch").Run() != nil {
		t.Skip("no /usr/bin/python3 with torch")
	}
	for _, head := range DDGANHeads {
		t.Run(head, func(t *testing.T) { testDDGANInPyTorch(t, head) })
	}
}

func testDDGANInPyTorch(t *testing.T, head string) {
	o := ddganDefaults(21)
	o.DHead = head
	m, err := NewDDGANModel(o)
	if err != nil {
		t.Fatal(err)
	}
	r := rng.New(21, 0)
	for _, ps := range [][]*nn.Param{m.D.Params.List, m.EP.List} { // D's zeroed convolutions, and an EMA unlike G
		for _, p := range ps {
			d := p.Value.Data().([]float32)
			noise := make([]float32, len(d))
			rng.Normal(r, noise)
			for i := range d {
				d[i] += 0.02 * noise[i]
			}
		}
	}
	// The checkpoint carries the config of these shapes, as a trained one
	// does: the PyTorch side builds its networks from it, not from the
	// default configs/ddgan.yaml.
	cfg, err := LoadConfig("ddgan", "", []string{"model.d_channels=64", "model.d_head=" + head, "train.lazy_reg=1", "train.seed=21"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ddgan.safetensors")
	f := &checkpoint.File{Metadata: map[string]string{MetaKind: "ddgan", MetaConfig: string(cfg.YAML())}, Tensors: m.State(false)}
	if err := checkpoint.WriteAtomic(path, f); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "../../scripts/ddgan_torch_check.py", path).Output()
	if err != nil {
		t.Fatalf("ddgan_torch_check.py: %v", err)
	}
	var torch struct {
		Loaded int       `json:"tensors_loaded"`
		G      []float64 `json:"G"`
		EMA    []float64 `json:"ema"`
		D      []float64 `json:"D"`
	}
	if err := json.Unmarshal(out, &torch); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := len(m.weights()); torch.Loaded != want {
		t.Errorf("PyTorch loaded %d tensors, the checkpoint has %d", torch.Loaded, want)
	}
	// The same fixed input on the Go side.
	B, P := 4, DefaultShape.Pixels()
	gen := func(net *DDGANGenerator) []float32 {
		f, err := newDDGANGForward(net, B, m.Classes)
		if err != nil {
			t.Fatal(err)
		}
		x, z := f.x.Data().([]float32), f.z.Data().([]float32)
		for i := range B {
			for j := range P {
				x[i*P+j] = float32(math.Sin(0.1*float64(j) + float64(i)))
			}
			for k := range net.Latent {
				z[i*net.Latent+k] = float32(math.Cos(0.3*float64(k) + float64(i)))
			}
			setRows(f.tfeat.Data().([]float32), f.y.Data().([]float32), B, i, i%4, i%10, m.Classes)
		}
		PixelNorm(z, net.Latent)
		if err := runVM(f.vm); err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), f.out.Data().([]float32)...)
	}
	compare := func(name string, got []float32, want []float64, tol float64) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, PyTorch %d", name, len(got), len(want))
		}
		worst := 0.0
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i])-want[i]))
		}
		if worst > tol {
			t.Errorf("%s: largest difference from PyTorch %.3g", name, worst)
		}
	}
	x0 := gen(m.G)
	compare("G", x0, torch.G, 1e-4)
	compare("ema", gen(m.EMA), torch.EMA, 1e-4)
	g := G.NewGraph()
	pair, tf, y := f32(B, 2, DefaultShape.H, DefaultShape.W), f32(B, m.D.Channels), f32(B, m.Classes)
	pd := pair.Data().([]float32)
	for i := range B {
		copy(pd[2*i*P:], x0[i*P:(i+1)*P])
		for j := range P {
			pd[2*i*P+P+j] = float32(math.Sin(0.1*float64(j) + float64(i)))
		}
		setRows(tf.Data().([]float32), y.Data().([]float32), B, i, i%4, i%10, m.Classes)
	}
	logits, err := m.D.Apply(g, G.NodeFromAny(g, pair, G.WithName("p")), G.NodeFromAny(g, tf, G.WithName("t")), G.NodeFromAny(g, y, G.WithName("y")))
	if err != nil {
		t.Fatal(err)
	}
	var lv G.Value
	G.Read(logits, &lv)
	if err := runVM(G.NewTapeMachine(g)); err != nil {
		t.Fatal(err)
	}
	compare("D", lv.Data().([]float32), torch.D, 1e-3)
}
