package data

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.15g, want %.15g (tol %g)", name, got, want, tol)
	}
}

func TestMixtureDefinitions(t *testing.T) {
	r8 := Ring8()
	if len(r8.Means) != 8 || r8.Std != 0.01 {
		t.Fatalf("ring8: %d means, std %g", len(r8.Means), r8.Std)
	}
	for i, m := range r8.Means {
		near(t, "ring radius", math.Hypot(m[0], m[1]), 1, 1e-15)
		near(t, "ring angle", math.Atan2(m[1], m[0]), math.Remainder(2*math.Pi*float64(i)/8, 2*math.Pi), 1e-12)
	}
	g := Grid25()
	if len(g.Means) != 25 || g.Std != 0.05 {
		t.Fatalf("grid25: %d means, std %g", len(g.Means), g.Std)
	}
	seen := map[[2]float64]bool{}
	for _, m := range g.Means {
		seen[m] = true
		for _, v := range m {
			if v != -4 && v != -2 && v != 0 && v != 2 && v != 4 {
				t.Errorf("grid mean %v off the {−4,−2,0,2,4}² grid", m)
			}
		}
	}
	if len(seen) != 25 {
		t.Errorf("grid25 has %d distinct means", len(seen))
	}
	if e := EightGaussians(); len(e.Means) != 8 {
		t.Errorf("8gaussians: %d means", len(e.Means))
	} else {
		near(t, "8gaussians radius", math.Hypot(e.Means[4][0], e.Means[4][1]), 2/1.414, 1e-12)
	}
	if e := TwentyFiveGaussians(); len(e.Means) != 25 {
		t.Errorf("25gaussians: %d means", len(e.Means))
	}
}

func TestMixtureByNameKnowsTheMixturesOnly(t *testing.T) {
	for _, name := range []string{"ring8", "grid25", "8gaussians", "25gaussians"} {
		if m, ok := MixtureByName(name); !ok || m.Name != name {
			t.Errorf("MixtureByName(%q) = %q, %v", name, m.Name, ok)
		}
	}
	for _, name := range []string{"mnist", "", "ring"} {
		if _, ok := MixtureByName(name); ok {
			t.Errorf("MixtureByName(%q) found a mixture", name)
		}
	}
}

// Scale is the per-coordinate RMS: ring8 √(1/2 + σ²), grid25 √(8 + σ²).
func TestMixtureScaleIsCoordinateRMS(t *testing.T) {
	near(t, "ring8 scale", Ring8().Scale(), math.Sqrt(0.5+1e-4), 1e-12)
	near(t, "grid25 scale", Grid25().Scale(), math.Sqrt(8+0.0025), 1e-12)
}

func TestMixtureDatasetHoldsPointsAndComponents(t *testing.T) {
	m := Grid25()
	r := func() *rand.Rand { return rand.New(rand.NewPCG(3, 4)) }
	points, modes := m.Draw(1000, r())
	if s := m.Sample(1000, r()); s[999] != points[999] {
		t.Fatal("Sample and Draw differ on the same stream")
	}
	d := m.Dataset(1000, r())
	if d.N != 1000 || d.H != 1 || d.W != 2 || len(d.Pixels) != 2000 || len(d.Labels) != 1000 {
		t.Fatalf("dataset N=%d H=%d W=%d, %d values, %d labels", d.N, d.H, d.W, len(d.Pixels), len(d.Labels))
	}
	counts := make([]int, len(m.Means))
	for i, p := range points {
		if int(d.Labels[i]) != modes[i] || d.Pixels[2*i] != float32(p[0]) || d.Pixels[2*i+1] != float32(p[1]) {
			t.Fatalf("point %d: dataset (%g, %g | %d), drawn %v | %d", i, d.Pixels[2*i], d.Pixels[2*i+1], d.Labels[i], p, modes[i])
		}
		mu := m.Means[modes[i]]
		if math.Hypot(p[0]-mu[0], p[1]-mu[1]) > 6*m.Std {
			t.Fatalf("point %v is %g σ from its component %v", p, math.Hypot(p[0]-mu[0], p[1]-mu[1])/m.Std, mu)
		}
		counts[modes[i]]++
	}
	for k, c := range counts {
		if c < 15 || c > 70 { // binomial(1000, 1/25): mean 40, sd 6.2
			t.Errorf("component %d drawn %d times of 1000", k, c)
		}
	}
	idx := []int{5, 0}
	x, labels := make([]float32, 4), make([]uint8, 2)
	d.Gather(idx, x, labels)
	if x[0] != d.Pixels[10] || x[3] != d.Pixels[1] || labels[0] != d.Labels[5] {
		t.Fatalf("Gather on points: %v %v", x, labels)
	}
}

func TestPointsOfNeedsPairs(t *testing.T) {
	p, err := PointsOf([][]float32{{1, 2}, {-3, 0.5}})
	if err != nil || p[1] != [2]float64{-3, 0.5} {
		t.Fatalf("PointsOf = %v, %v", p, err)
	}
	if _, err := PointsOf([][]float32{{1, 2}, make([]float32, 784)}); err == nil {
		t.Fatal("a 784-value image was read as a point")
	}
}
