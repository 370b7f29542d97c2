package eval

import (
	"errors"
	"testing"
)

// naiveMMD2 is the reference code's unbiased estimator written out directly.
func naiveMMD2(x, y [][]float64) float64 {
	d := len(x[0])
	k := func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s += a[i] * b[i]
		}
		return polyKernel(s, d)
	}
	m := float64(len(x))
	var sxx, syy, sxy float64
	for i := range x {
		for j := range x {
			if i != j {
				sxx += k(x[i], x[j])
				syy += k(y[i], y[j])
			}
			sxy += k(x[i], y[j])
		}
	}
	return (sxx+syy)/(m*(m-1)) - 2*sxy/(m*m)
}

func TestKIDHandComputedValue(t *testing.T) {
	// d=1, X={0,1}, Y={2,3}: XX off-diagonal 2·1, YY 2·343, XY 1+1+27+64=93:
	// (2+686)/2 − 2·93/4 = 297.5. A subset of the whole set is the set itself.
	mean, std, err := KID([][]float64{{0}, {1}}, [][]float64{{2}, {3}}, 3, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "KID", mean, 297.5, 1e-12)
	near(t, "std", std, 0, 1e-12)
}

func TestKIDWithFullSubsetsEqualsDirectEstimator(t *testing.T) {
	r := newRand(10)
	x := gaussSet(r, 60, 5, 0, 1)
	y := gaussSet(r, 60, 5, 0.2, 1.1)
	mean, std, err := KID(x, y, 4, 60, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := naiveMMD2(x, y)
	near(t, "KID", mean, want, 1e-10)
	near(t, "std", std, 0, 1e-10)
}

func TestKIDOfOneDistributionIsNearZeroAndOfShiftedIsPositive(t *testing.T) {
	r := newRand(11)
	a := gaussSet(r, 600, 8, 0, 1)
	b := gaussSet(r, 600, 8, 0, 1)
	c := gaussSet(r, 600, 8, 0.5, 1)
	m0, s0, err := KID(a, b, 20, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(abs(m0) < 3*s0 || abs(m0) < 1e-3) {
		t.Errorf("same distribution: KID = %g ± %g, want |mean| < 3 std", m0, s0)
	}
	m1, s1, err := KID(a, c, 20, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(m1 > 5*s1 && m1 > 100*abs(m0)) {
		t.Errorf("shifted: KID = %g ± %g, same-distribution KID = %g: want clearly positive", m1, s1, m0)
	}
	// deterministic in the seed
	m2, _, _ := KID(a, c, 20, 200, 1)
	if m2 != m1 {
		t.Errorf("same seed gave %g then %g", m1, m2)
	}
}

func TestKIDSampleSizeErrors(t *testing.T) {
	r := newRand(12)
	a := gaussSet(r, 50, 3, 0, 1)
	b := gaussSet(r, 40, 3, 0, 1)
	tests := []struct {
		name          string
		subsets, size int
		tooFew        bool
	}{
		{"subset larger than the smaller set", 5, 41, true},
		{"default subset size 1000 larger than the sets", 5, 0, true},
		{"subset of 1", 5, 1, true},
		{"negative subsets", -1, 10, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := KID(a, b, tc.subsets, tc.size, 1)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrTooFewSamples) != tc.tooFew || IsWarning(err) {
				t.Errorf("unexpected error kind: %v", err)
			}
		})
	}
	if _, _, err := KID(a, gaussSet(r, 40, 4, 0, 1), 5, 10, 1); err == nil {
		t.Error("dimension mismatch: no error")
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
