package eval

import (
	"errors"
	"testing"
)

// clusters returns `modes` clusters of `per` points each: small random
// offsets (scale 1, general position) around centres 1000 apart on axis 0.
func clusters(seed uint64, modes, per, d int) [][][]float64 {
	r := newRand(seed)
	out := make([][][]float64, modes)
	for c := range out {
		for _, p := range gaussSet(r, per, d, 0, 1) {
			p[0] += 1000 * float64(c)
			out[c] = append(out[c], p)
		}
	}
	return out
}

func flat(cs [][][]float64) [][]float64 {
	var out [][]float64
	for _, c := range cs {
		out = append(out, c...)
	}
	return out
}

func shifted(x [][]float64, by float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, row := range x {
		out[i] = append([]float64(nil), row...)
		for j := range out[i] {
			out[i][j] += by
		}
	}
	return out
}

func TestPRDCOnConstructedSets(t *testing.T) {
	cs := clusters(20, 10, 8, 4)
	real := flat(cs)
	k3, k5 := PRDCKPrecisionRecall, PRDCKDensityCoverage
	tests := []struct {
		name string
		fake [][]float64
		kPR  int
		kDC  int
		want PRDC
	}{
		// Each ball holds its centre and k neighbours, so identical sets give
		// density (k+1)/k (not the E[density] = 1 of independent samples).
		{"identical sets", real, k3, k5, PRDC{1, 1, 6.0 / 5, 1}},
		{"identical sets, k=1", real, 1, 1, PRDC{1, 1, 2, 1}},
		{"fake far from real", shifted(real, 1e6), k3, k5, PRDC{0, 0, 0, 0}},
		{"fake = real points of half the modes", flat(cs[:5]), k3, k5, PRDC{1, 0.5, 6.0 / 5, 0.5}},
		{"fake = 2 of 10 modes", flat(cs[3:5]), k3, k5, PRDC{1, 0.2, 6.0 / 5, 0.2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ComputePRDC(real, tc.fake, tc.kPR, tc.kDC)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "precision", got.Precision, tc.want.Precision, 1e-12)
			near(t, "recall", got.Recall, tc.want.Recall, 1e-12)
			near(t, "density", got.Density, tc.want.Density, 1e-12)
			near(t, "coverage", got.Coverage, tc.want.Coverage, 1e-12)
		})
	}
}

func TestPRDCHalfModesFakeIsNotRealPoints(t *testing.T) {
	// Fake points near (not at) the real points of half the modes: every fake
	// lies within its cluster, far inside the k-NN balls' reach, so recall and
	// coverage are exactly 0.5 and precision 1 when the offset is tiny.
	cs := clusters(21, 10, 8, 3)
	real := flat(cs)
	fake := shifted(flat(cs[:5]), 1e-6)
	got, err := ComputePRDC(real, fake, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "precision", got.Precision, 1, 0)
	near(t, "recall", got.Recall, 0.5, 0)
	near(t, "coverage", got.Coverage, 0.5, 0)
}

func TestPRDCMembershipIsLessOrEqualOnDiscreteData(t *testing.T) {
	// 3 distinct points, 10 copies each: every k-NN radius is 0. With `<` all
	// metrics would be 0; with `<=` (§4) they are 1, and each ball (radius 0)
	// holds all 10 copies of its point, so density = 10/k.
	var x [][]float64
	for c := 0; c < 3; c++ {
		for i := 0; i < 10; i++ {
			x = append(x, []float64{float64(c), 2 * float64(c)})
		}
	}
	got, err := ComputePRDC(x, x, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "precision", got.Precision, 1, 0)
	near(t, "recall", got.Recall, 1, 0)
	near(t, "coverage", got.Coverage, 1, 0)
	near(t, "density", got.Density, 10.0/5, 1e-12)
}

func TestPRDCOfOneDistributionMatchesLemma2(t *testing.T) {
	// Independent samples of one distribution: E[density] = 1 and
	// E[coverage] = 1 − Π(N−i)/(N+M−i) (§4, Naeem Lemma 2).
	r := newRand(22)
	n := 600
	real := gaussSet(r, n, 4, 0, 1)
	fake := gaussSet(r, n, 4, 0, 1)
	got, err := ComputePRDC(real, fake, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	ec := ExpectedCoverage(n, n, 5)
	near(t, "expected coverage k=5 N=M=10000", ExpectedCoverage(10000, 10000, 5), 0.969, 0.001)
	near(t, "expected coverage k=3 N=M=10000", ExpectedCoverage(10000, 10000, 3), 0.875, 0.001)
	near(t, "coverage", got.Coverage, ec, 0.04)
	near(t, "density", got.Density, 1, 0.15)
	if got.Precision < 0.6 || got.Recall < 0.6 {
		t.Errorf("precision %g, recall %g: want high for one distribution", got.Precision, got.Recall)
	}
}

func TestPRDCDoesNotDependOnWorkerSplit(t *testing.T) {
	r := newRand(23)
	real := gaussSet(r, 300, 5, 0, 1)
	fake := gaussSet(r, 250, 5, 0.3, 1.2)
	a, err := ComputePRDC(real, fake, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	// reversed order of the fake set: a different split across workers
	rev := make([][]float64, len(fake))
	for i := range fake {
		rev[len(fake)-1-i] = fake[i]
	}
	b, err := ComputePRDC(real, rev, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("order changed the result: %+v vs %+v", a, b)
	}
}

func TestPRDCErrors(t *testing.T) {
	r := newRand(24)
	real := gaussSet(r, 6, 2, 0, 1)
	fake := gaussSet(r, 4, 2, 0, 1)
	tests := []struct {
		name     string
		real     [][]float64
		fake     [][]float64
		kPR, kDC int
		tooFew   bool
	}{
		{"kDC equal to real size", real, fake, 3, 6, true},
		{"kPR equal to fake size", real, fake, 4, 5, true},
		{"k zero", real, fake, 0, 5, false},
		{"dimension mismatch", real, gaussSet(r, 4, 3, 0, 1), 3, 5, false},
		{"empty fake", real, nil, 3, 5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ComputePRDC(tc.real, tc.fake, tc.kPR, tc.kDC)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrTooFewSamples) != tc.tooFew || IsWarning(err) {
				t.Errorf("unexpected error kind: %v", err)
			}
		})
	}
	if _, err := ComputePRDC(real, fake, 3, 5); err != nil {
		t.Errorf("kPR=3 < 4 fakes, kDC=5 < 6 reals must work: %v", err)
	}
}
