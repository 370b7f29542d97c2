package eval

import (
	"errors"
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestFitGaussianMatchesNpCov(t *testing.T) {
	// np.cov([[1,2],[3,4],[5,0]], rowvar=False) = [[4,-2],[-2,4]], mean (3,2).
	g, err := FitGaussian([][]float64{{1, 2}, {3, 4}, {5, 0}})
	if err != nil && !IsWarning(err) {
		t.Fatal(err)
	}
	near(t, "mu0", g.Mu[0], 3, 1e-15)
	near(t, "mu1", g.Mu[1], 2, 1e-15)
	want := [][]float64{{4, -2}, {-2, 4}}
	for i := range want {
		for j := range want[i] {
			near(t, "sigma", g.Sigma.At(i, j), want[i][j], 1e-14)
		}
	}
	if g.N != 3 {
		t.Errorf("N = %d, want 3", g.N)
	}
}

func TestFitGaussianErrors(t *testing.T) {
	tests := []struct {
		name      string
		x         [][]float64
		tooFew    bool
		isWarning bool
	}{
		{"one row is too few", [][]float64{{1, 2}}, true, false},
		{"no rows is too few", nil, true, false},
		{"ragged rows", [][]float64{{1, 2}, {3}}, false, false},
		{"NaN value", [][]float64{{1, 2}, {math.NaN(), 1}}, false, false},
		{"Inf value", [][]float64{{1, 2}, {math.Inf(1), 1}}, false, false},
		{"empty rows", [][]float64{{}, {}}, false, false},
		{"N <= d is a warning", [][]float64{{1, 2, 3}, {3, 4, 0}, {5, 0, 1}}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := FitGaussian(tc.x)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrTooFewSamples) != tc.tooFew {
				t.Errorf("errors.Is(ErrTooFewSamples) = %v, want %v (%v)", !tc.tooFew, tc.tooFew, err)
			}
			if IsWarning(err) != tc.isWarning {
				t.Errorf("IsWarning = %v, want %v (%v)", !tc.isWarning, tc.isWarning, err)
			}
			if tc.isWarning && (g.Sigma == nil || len(g.Mu) != 3) {
				t.Errorf("warning must come with a usable Gaussian, got %+v", g)
			}
		})
	}
}

func TestFIDOfASetWithItselfIsZero(t *testing.T) {
	r := newRand(1)
	for _, x := range [][][]float64{gaussSet(r, 500, 8, 0.3, 2), correlatedSet(r, 500, 8, 1)} {
		g, err := FitGaussian(x)
		if err != nil {
			t.Fatal(err)
		}
		f, err := FID(g, g)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "FID(X,X)", f, 0, 1e-6)
	}
}

func diagSym(v ...float64) *mat.SymDense {
	s := mat.NewSymDense(len(v), nil)
	for i, x := range v {
		s.SetSym(i, i, x)
	}
	return s
}

// conj returns Q·diag(v)·Qᵀ.
func conj(q *mat.Dense, v ...float64) *mat.SymDense {
	n := len(v)
	var t, m mat.Dense
	t.Mul(q, mat.NewDiagDense(n, v))
	m.Mul(&t, q.T())
	s := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			s.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
		}
	}
	return s
}

func TestFIDMatchesClosedForm(t *testing.T) {
	q := randOrthogonal(newRand(2), 4)
	sqDiff := func(mu1, mu2 []float64) float64 {
		var s float64
		for i := range mu1 {
			s += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i])
		}
		return s
	}
	// commuting Σa = Q diag(a) Qᵀ, Σb = Q diag(b) Qᵀ: trace term Σ(√a_i − √b_i)².
	commuting := func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s += (math.Sqrt(a[i]) - math.Sqrt(b[i])) * (math.Sqrt(a[i]) - math.Sqrt(b[i]))
		}
		return s
	}
	// non-commuting 2×2: Tr((SaSb)^½) = sqrt(tr(SaSb) + 2·sqrt(det Sa·det Sb)).
	sa2 := mat.NewSymDense(2, []float64{2, 0.7, 0.7, 1})
	sb2 := mat.NewSymDense(2, []float64{0.5, -0.3, -0.3, 3})
	var p mat.Dense
	p.Mul(sa2, sb2)
	tr2 := math.Sqrt(mat.Trace(&p) + 2*math.Sqrt(mat.Det(sa2)*mat.Det(sb2)))
	tests := []struct {
		name string
		a, b Gaussian
		want float64
	}{
		{"equal diagonal covariances, shifted means",
			Gaussian{Mu: []float64{0, 0, 0}, Sigma: diagSym(1, 2, 3)},
			Gaussian{Mu: []float64{1, -2, 0.5}, Sigma: diagSym(1, 2, 3)},
			1 + 4 + 0.25},
		{"diagonal covariances",
			Gaussian{Mu: []float64{1, 2, 3}, Sigma: diagSym(1, 4, 9)},
			Gaussian{Mu: []float64{0, 2, 5}, Sigma: diagSym(4, 1, 0.25)},
			1 + 0 + 4 + commuting([]float64{1, 4, 9}, []float64{4, 1, 0.25})},
		{"full covariances sharing eigenvectors",
			Gaussian{Mu: []float64{0.1, 0.2, 0.3, 0.4}, Sigma: conj(q, 1, 2, 5, 0.3)},
			Gaussian{Mu: []float64{-0.1, 0, 0.3, 1}, Sigma: conj(q, 3, 0.5, 5, 2)},
			sqDiff([]float64{0.1, 0.2, 0.3, 0.4}, []float64{-0.1, 0, 0.3, 1}) +
				commuting([]float64{1, 2, 5, 0.3}, []float64{3, 0.5, 5, 2})},
		{"non-commuting 2x2 full covariances",
			Gaussian{Mu: []float64{0, 1}, Sigma: sa2},
			Gaussian{Mu: []float64{2, 1}, Sigma: sb2},
			4 + mat.Trace(sa2) + mat.Trace(sb2) - 2*tr2},
		{"singular covariances (rank 1)",
			Gaussian{Mu: []float64{0, 0}, Sigma: diagSym(1, 0)},
			Gaussian{Mu: []float64{0, 0}, Sigma: diagSym(4, 0)},
			1},
		{"scaled covariance c=4: (1-sqrt c)^2 Tr Σ",
			Gaussian{Mu: []float64{0, 0, 0, 0}, Sigma: conj(q, 1, 2, 3, 4)},
			Gaussian{Mu: []float64{0, 0, 0, 0}, Sigma: conj(q, 4, 8, 12, 16)},
			10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FID(tc.a, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "FID", got, tc.want, 1e-9)
		})
	}
}

func TestFIDIsSymmetric(t *testing.T) {
	r := newRand(3)
	ga, _ := FitGaussian(correlatedSet(r, 400, 8, 0))
	gb, _ := FitGaussian(correlatedSet(r, 300, 8, 0.5))
	ab, err := FID(ga, gb)
	if err != nil {
		t.Fatal(err)
	}
	ba, err := FID(gb, ga)
	if err != nil {
		t.Fatal(err)
	}
	if ab <= 0 {
		t.Fatalf("FID of different sets = %g, want > 0", ab)
	}
	near(t, "FID(b,a)", ba, ab, 1e-9*ab)
}

func TestFIDIsInvariantToARotationOfBothSets(t *testing.T) {
	r := newRand(4)
	x := correlatedSet(r, 500, 8, 0)
	y := gaussSet(r, 500, 8, 0.7, 1.5)
	q := randOrthogonal(r, 8)
	f0, err := FIDFeatures(x, y)
	if err != nil {
		t.Fatal(err)
	}
	f1, err := FIDFeatures(rotate(x, q), rotate(y, q))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "FID rotated", f1, f0, 1e-8*f0)
}

func TestFIDRejectsMismatchedGaussians(t *testing.T) {
	a := Gaussian{Mu: []float64{0, 0}, Sigma: diagSym(1, 1)}
	for name, b := range map[string]Gaussian{
		"dimension mismatch":    {Mu: []float64{0, 0, 0}, Sigma: diagSym(1, 1, 1)},
		"nil covariance":        {Mu: []float64{0, 0}},
		"covariance size wrong": {Mu: []float64{0, 0}, Sigma: diagSym(1, 1, 1)},
		"NaN mean":              {Mu: []float64{math.NaN(), 0}, Sigma: diagSym(1, 1)},
	} {
		if _, err := FID(a, b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestFIDInfinityNsIsLinspaceFromAFifth(t *testing.T) {
	got := FIDInfinityNs(2000, 8)
	want := []int{400, 628, 857, 1085, 1314, 1542, 1771, 2000}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestFIDInfinityExtrapolatesBelowFiniteN(t *testing.T) {
	r := newRand(5)
	ref, _ := FitGaussian(gaussSet(r, 4000, 4, 0, 1))
	fake := gaussSet(r, 1000, 4, 0, 1)
	inf, pts, err := FIDInfinity(ref, fake, FIDInfinityNs(len(fake), 8), 9)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 8 {
		t.Fatalf("%d points", len(pts))
	}
	if last := pts[len(pts)-1].FID; !(inf < last) {
		t.Errorf("FID∞ = %g not below FID_N = %g for the same distribution", inf, last)
	}
	a, b := linearFit([]float64{1, 2, 3}, []float64{5, 7, 9})
	near(t, "intercept", a, 3, 1e-12)
	near(t, "slope", b, 2, 1e-12)
}
