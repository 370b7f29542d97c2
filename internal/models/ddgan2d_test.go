package models

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/rng"
)

// tinyDDGAN2D is a small ddgan2d on ring8: with features 0 the first
// recipe (raw points, the image model's schedule), else the configs'
// (Fourier features of F octaves, the geometric schedule).
func tinyDDGAN2D(t *testing.T, seed uint64, features int) *DDGAN2DModel {
	t.Helper()
	o := DDGAN2DOptions{Mixture: data.Ring8(), Hidden: 64, Latent: 2, T: 4, R1: 0.1, LazyReg: 1, Seed: seed,
		LRG: 1e-3, LRD: 1e-3, Beta1: 0.5, Beta2: 0.9, Eps: 1e-8, EMA: 0.9}
	if features > 0 {
		o.GFeatures, o.DFeatures, o.FeatureScale = features, features, 25
		o.Schedule, o.SigmaMin, o.SigmaMax = "geometric", 0.05, 10
	}
	m, err := NewDDGAN2DModel(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A few hundred steps on ring8 move the samples towards the ring; training
// is reproducible and resumes exactly; a point depends on its seed only;
// with and without Fourier features of the points.
func TestDDGAN2DTrainsOnTheRing(t *testing.T) {
	for _, features := range []int{0, 8} {
		t.Run(fmt.Sprintf("features%d", features), func(t *testing.T) { testDDGAN2DTrainsOnTheRing(t, features) })
	}
}

func testDDGAN2DTrainsOnTheRing(t *testing.T, features int) {
	m := tinyDDGAN2D(t, 1, features)
	next, r := toyBatches(64, 3), rng.New(1, StreamTrain)
	before := ringDistance(t, m)
	var last []Metric
	for range 400 {
		var err error
		if last, err = m.TrainStep(next(), r); err != nil {
			t.Fatal(err)
		}
	}
	if after := ringDistance(t, m); !(after < 0.7*before) {
		t.Errorf("samples' mean distance to the ring %.3f -> %.3f", before, after)
	}
	if last[2].Name != "r1" || !(last[2].Value > 0) {
		t.Errorf("metrics %v: want a positive r1", last)
	}
	// Resume: the same next step from a checkpoint, and the same points.
	f := checkpointOf(t, m)
	c := tinyDDGAN2D(t, 9, features)
	if err := c.Load(f, true); err != nil {
		t.Fatal(err)
	}
	rc := rng.New(0, 0)
	if err := rc.SetState(r.State()); err != nil {
		t.Fatal(err)
	}
	b := next()
	if _, err := m.TrainStep(b, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TrainStep(b, rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stateBytes(t, m), stateBytes(t, c)) {
		t.Error("a resumed step differs")
	}
	seeds := []uint64{5, 6, 7}
	all, err := m.Generate(seeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.inferRows = 2
	for i, s := range seeds {
		one, _ := m.Generate([]uint64{s}, nil)
		if !slices.Equal(one[0], all[i]) {
			t.Errorf("point %d depends on its batch", i)
		}
	}
	if m.NFE() != 4 {
		t.Errorf("NFE %d", m.NFE())
	}
}

// R1's weight gradient, taken as the difference of two first-order passes
// of D with its slopes frozen and, with Fourier features, the perturbation
// carried into feature space by their Jacobian (dGradients), against
// central differences of R1 itself in float64, along random directions of
// D's weights. The float64 R1 is computed here from its definition: the
// features of x_t from sin and cos, ∂D/∂x_t by the chain rule through the
// MLP and the features. h is R1's step ε; being exact, the estimate agrees
// whatever h, to float32 rounding (5e-3, as the image model's test).
func TestDDGAN2DR1GradMatchesExact(t *testing.T) {
	for _, c := range []struct {
		name     string
		features int
		h        float64
	}{
		{"RawPoint", 0, 1},
		{"Features", 3, 1},
		{"FeaturesStep3", 3, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewDDGAN2DModel(DDGAN2DOptions{Mixture: data.Grid25(), Hidden: 16, Latent: 2, T: 4, R1: 0.1, LazyReg: 1,
				Seed: 3, LRG: 1e-3, LRD: 1e-3, Beta1: 0.5, Beta2: 0.9, Eps: 1e-8, DFeatures: c.features, FeatureScale: 25, R1Step: c.h})
			if err != nil {
				t.Fatal(err)
			}
			const B = 5
			if m.dStep, err = m.newDStep(B, false); err != nil {
				t.Fatal(err)
			}
			if m.r1Stp, err = m.newDStep(B, true); err != nil {
				t.Fatal(err)
			}
			// Random pairs (real and fake rows alike) at random steps.
			r := rng.New(4, 0)
			P, W := m.dPoint(), m.dIn()
			x := m.dStep.x.Data().([]float32)
			pt := make([]float32, 4)
			for i := range 2 * B {
				rng.Normal(r, pt)
				row := x[i*W : (i+1)*W]
				pointBlock(row[:P], pt[:2], m.dFreqs)
				copy(row[P:P+2], pt[2:])
				TimestepEmbedding(row[P+2:], r.IntN(4))
			}
			plain, err := m.dGradients(false)
			if err != nil {
				t.Fatal(err)
			}
			est := make([][]float64, len(plain))
			for i, v := range plain {
				for _, w := range v.Data().([]float32) {
					est[i] = append(est[i], float64(w))
				}
			}
			with, err := m.dGradients(true)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range with {
				for j, w := range v.Data().([]float32) {
					est[i][j] = float64(w) - est[i][j]
				}
			}
			exact := newR1Exact2D(m, x[:B*W], B)
			r1 := exact.value()
			if !near(m.lastR1, r1, 1e-4*r1) {
				t.Errorf("R1 = %g, float64 gives %g", m.lastR1, r1)
			}
			for k := range 4 {
				u := make([][]float64, len(exact.params))
				dot := 0.0
				for i := range exact.params {
					u[i] = make([]float64, len(exact.params[i]))
					rng.Normal(rng.New(uint64(100+k), uint64(i)), u[i])
					for j, v := range est[i] {
						dot += v * u[i][j]
					}
				}
				const dh = 1e-7
				exact.shift(u, dh)
				up := exact.value()
				exact.shift(u, -2*dh)
				down := exact.value()
				exact.shift(u, dh)
				num := (up - down) / (2 * dh)
				t.Logf("direction %d: relative error %.2g", k, math.Abs(dot-num)/math.Abs(num))
				if math.Abs(dot-num) > 5e-3*math.Abs(num) {
					t.Errorf("direction %d: R1 gradient %.6g, exact %.6g", k, dot, num)
				}
			}
		})
	}
}

// r1Exact2D is R1 = γ/2 · mean ‖∂D/∂x_t‖² over B real rows, with a float64
// copy of D's weights (W1, b1, W2, b2, W3, b3, as in m.DP.List) and x_t's
// features recomputed in float64 from the row's x_t.
type r1Exact2D struct {
	m      *DDGAN2DModel
	params [][]float64
	rows   [][]float64
	gamma  float64
}

func newR1Exact2D(m *DDGAN2DModel, x []float32, B int) *r1Exact2D {
	e := &r1Exact2D{m: m, gamma: m.R1}
	for _, p := range m.DP.List {
		var w []float64
		for _, v := range p.Value.Data().([]float32) {
			w = append(w, float64(v))
		}
		e.params = append(e.params, w)
	}
	W := m.dIn()
	for i := range B {
		row := make([]float64, W)
		for j, v := range x[i*W : (i+1)*W] {
			row[j] = float64(v)
		}
		e.rows = append(e.rows, row)
	}
	return e
}

func (e *r1Exact2D) value() float64 {
	ls := e.m.D.layers
	F := len(e.m.dFreqs)
	ss := 0.0
	for _, in := range e.rows {
		row := slices.Clone(in)
		for j, a := range e.m.dFreqs { // x_t's features from x_t itself, in float64
			row[2+j], row[2+F+j] = math.Sin(a[0]*row[0]+a[1]*row[1]), math.Cos(a[0]*row[0]+a[1]*row[1])
		}
		// Forward, keeping each hidden layer's LReLU slopes.
		h := row
		var slopes [][]float64
		for k, l := range ls {
			w, b := e.params[2*k], e.params[2*k+1]
			out := make([]float64, l.Out)
			for o := range out {
				out[o] = b[o]
				for j := range l.In {
					out[o] += w[o*l.In+j] * h[j]
				}
			}
			if k+1 < len(ls) {
				s := make([]float64, l.Out)
				for o, v := range out {
					s[o] = 1
					if v <= 0 {
						s[o], out[o] = 0.2, 0.2*v
					}
				}
				slopes = append(slopes, s)
			}
			h = out
		}
		// Backward from the logit to the row.
		d := []float64{1}
		for k := len(ls) - 1; k >= 0; k-- {
			l, w := ls[k], e.params[2*k]
			prev := make([]float64, l.In)
			for o := range l.Out {
				for j := range l.In {
					prev[j] += w[o*l.In+j] * d[o]
				}
			}
			if k > 0 {
				for j := range prev {
					prev[j] *= slopes[k-1][j]
				}
			}
			d = prev
		}
		for c := range 2 {
			g := d[c]
			for j, a := range e.m.dFreqs {
				arg := a[0]*row[0] + a[1]*row[1]
				g += a[c] * (d[2+j]*math.Cos(arg) - d[2+F+j]*math.Sin(arg))
			}
			ss += g * g
		}
	}
	return e.gamma / 2 * ss / float64(len(e.rows))
}

func (e *r1Exact2D) shift(u [][]float64, h float64) {
	for i, p := range e.params {
		for j := range p {
			p[j] += h * u[i][j]
		}
	}
}

// D's loss sees both halves of its batch, real and fake, at any batch size:
// the gradient of its last bias is mean −σ(−D(real)) + mean σ(D(fake)).
// At 256 (any multiple of 256) Gorgonia's slices [0, B) and [B, 2B) of
// the logits hash alike and are merged into one, the real half.
func TestDDGAN2DDiscriminatorLossSeesBothHalves(t *testing.T) {
	for _, B := range []int{3, 256} {
		m := tinyDDGAN2D(t, 2, 0)
		var err error
		if m.dStep, err = m.newDStep(B, false); err != nil {
			t.Fatal(err)
		}
		W := m.dIn()
		x := m.dStep.x.Data().([]float32)
		rng.Normal(rng.New(5, 0), x)
		for i := range B { // fakes far from the reals
			for j := range 4 {
				x[(B+i)*W+j] += 3
			}
		}
		grads, err := m.dGradients(false)
		if err != nil {
			t.Fatal(err)
		}
		logits := m.dStep.logits.Data().([]float32)
		want := 0.0
		for i, l := range logits {
			if i < B {
				want -= 1 / (1 + math.Exp(float64(l))) / float64(B)
			} else {
				want += 1 / (1 + math.Exp(-float64(l))) / float64(B)
			}
		}
		if got := float64(grads[len(grads)-1].Data().([]float32)[0]); !near(got, want, 1e-6+1e-4*math.Abs(want)) {
			t.Errorf("batch %d: ∂L_D/∂b = %.6g, want %.6g", B, got, want)
		}
	}
}

// The geometric schedule's noise-to-signal ratios √((1−A_k)/A_k) are
// σ_min·(σ_max/σ_min)^((k−1)/(T−1)); its β and posterior follow from the A_k
// as the image schedule's do; bad ranges are errors.
func TestDDGANGeometricSchedule(t *testing.T) {
	for _, c := range []struct {
		T          int
		lo, hi     float64
		wantSigmas []float64
	}{
		{4, 0.1, 10, []float64{0.1, 0.1 * math.Pow(100, 1.0/3), 0.1 * math.Pow(100, 2.0/3), 10}},
		{2, 0.5, 0.5, []float64{0.5, 0.5}},
		{1, 0.1, 10, []float64{10}},
	} {
		sc, err := NewDDGANGeometricSchedule(c.T, c.lo, c.hi)
		if err != nil {
			t.Fatal(err)
		}
		A := 1.0
		for k, want := range c.wantSigmas {
			A *= 1 - sc.Beta[k]
			if got := math.Sqrt((1 - A) / A); !near(got, want, 1e-9*want) {
				t.Errorf("T %d: σ_%d = %g, want %g", c.T, k+1, got, want)
			}
			if a := float64(sc.SqrtA[k+1]); !near(a*a, A, 1e-6) {
				t.Errorf("T %d: A_%d = %g, want %g", c.T, k+1, a*a, A)
			}
		}
		// The last step's posterior returns x̂_0 itself.
		if sc.C1[0] != 1 || sc.C2[0] != 0 {
			t.Errorf("T %d: last step C1 %g, C2 %g, want 1, 0", c.T, sc.C1[0], sc.C2[0])
		}
	}
	for _, bad := range [][2]float64{{0, 10}, {-1, 10}, {2, 1}, {0.1, math.Inf(1)}, {math.NaN(), 1}} {
		if _, err := NewDDGANGeometricSchedule(4, bad[0], bad[1]); err == nil {
			t.Errorf("σ from %g to %g accepted", bad[0], bad[1])
		}
	}
	if _, err := NewDDGANGeometricSchedule(0, 0.1, 10); err == nil {
		t.Error("T = 0 accepted")
	}
}
