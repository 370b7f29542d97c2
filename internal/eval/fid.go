package eval

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// Gaussian is the mean and covariance of a feature set (§2.1).
type Gaussian struct {
	Mu    []float64
	Sigma *mat.SymDense // unbiased covariance (divisor N-1), as np.cov(rowvar=False)
	N     int           // number of samples it was fitted on (0 if built by hand)
}

// Dim is the feature dimension.
func (g Gaussian) Dim() int { return len(g.Mu) }

// MinSamplesFID is the smallest N for which the covariance of d-dimensional
// features can be full rank: d+1. Below it FitGaussian warns (§2.3); a
// useful FID needs far more (the headline N is 2000 for 128-d features).
func MinSamplesFID(d int) int { return d + 1 }

// FitGaussian returns the mean and the unbiased covariance (divisor N-1, as
// np.cov(act, rowvar=False) in the usual Python code, §2.1) of feats,
// computed with the two-pass (centred) algorithm in float64.
//
// Errors: fewer than 2 rows (a fatal *SampleSizeError), ragged rows, empty
// rows or non-finite values. When 2 <= N <= d the covariance is necessarily
// singular: the Gaussian is returned and valid, together with a warning
// *SampleSizeError (IsWarning(err) is true).
func FitGaussian(feats [][]float64) (Gaussian, error) {
	n := len(feats)
	if n < 2 {
		return Gaussian{}, &SampleSizeError{Metric: "FitGaussian", N: n, Need: 2,
			Detail: "a covariance needs at least 2 samples"}
	}
	d, err := checkFeatures("FitGaussian", feats)
	if err != nil {
		return Gaussian{}, err
	}
	mu := make([]float64, d)
	for _, row := range feats {
		for j, v := range row {
			mu[j] += v
		}
	}
	for j := range mu {
		mu[j] /= float64(n)
	}
	cov := make([]float64, d*d) // upper triangle accumulated, then mirrored
	c := make([]float64, d)
	for _, row := range feats {
		for j, v := range row {
			c[j] = v - mu[j]
		}
		for a := 0; a < d; a++ {
			ca := c[a]
			r := cov[a*d : (a+1)*d]
			for b := a; b < d; b++ {
				r[b] += ca * c[b]
			}
		}
	}
	inv := 1 / float64(n-1)
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			v := cov[a*d+b] * inv
			cov[a*d+b] = v
			cov[b*d+a] = v
		}
	}
	g := Gaussian{Mu: mu, Sigma: mat.NewSymDense(d, cov), N: n}
	if n < MinSamplesFID(d) {
		return g, &SampleSizeError{Metric: "FitGaussian", N: n, Need: MinSamplesFID(d), Warning: true,
			Detail: fmt.Sprintf("covariance of %d-d features from %d samples is rank-deficient; FID is biased (docs/metrics.md §2.3: use N >> d)", d, n)}
	}
	return g, nil
}

// FIDZeroClamp: |FID| below this is reported as exactly 0 (§2.2).
const FIDZeroClamp = 1e-9

// FID is the Fréchet distance between two Gaussians (§2.1):
//
//	FID = ||μa − μb||² + Tr(Σa) + Tr(Σb) − 2·Tr((Σa Σb)^{1/2})
//
// The trace of the square root is computed by the symmetric eigen route of
// §2.2: A = Σa^{1/2} = V·diag(√max(λ,0))·Vᵀ from Σa = VΛVᵀ; M = A Σb A,
// symmetrised as (M+Mᵀ)/2; Tr((Σa Σb)^{1/2}) = Σ_i √max(λ_i(M), 0). Negative
// eigenvalues from rounding are clamped to 0 in both steps, and |FID| < 1e-9
// is returned as 0. No eps is added to the diagonals (the pytorch-fid sqrtm
// retry is unnecessary on this route), so singular covariances are fine.
//
// Errors: dimension mismatch, nil or mis-sized Sigma, non-finite input, or an
// eigendecomposition that fails to converge.
func FID(a, b Gaussian) (float64, error) {
	if err := a.check("FID: first Gaussian"); err != nil {
		return 0, err
	}
	if err := b.check("FID: second Gaussian"); err != nil {
		return 0, err
	}
	if a.Dim() != b.Dim() {
		return 0, fmt.Errorf("eval: FID: dimension mismatch %d vs %d", a.Dim(), b.Dim())
	}
	var diff float64
	for i := range a.Mu {
		t := a.Mu[i] - b.Mu[i]
		diff += t * t
	}
	trSqrt, err := traceSqrtProduct(a.Sigma, b.Sigma)
	if err != nil {
		return 0, err
	}
	fid := diff + mat.Trace(a.Sigma) + mat.Trace(b.Sigma) - 2*trSqrt
	if math.Abs(fid) < FIDZeroClamp {
		fid = 0
	}
	return fid, nil
}

func (g Gaussian) check(what string) error {
	d := len(g.Mu)
	if d == 0 {
		return fmt.Errorf("eval: %s: empty mean", what)
	}
	if g.Sigma == nil {
		return fmt.Errorf("eval: %s: nil covariance", what)
	}
	if n := g.Sigma.SymmetricDim(); n != d {
		return fmt.Errorf("eval: %s: covariance is %dx%d, mean has %d entries", what, n, n, d)
	}
	for i, v := range g.Mu {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("eval: %s: non-finite mean entry %d", what, i)
		}
	}
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			if v := g.Sigma.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("eval: %s: non-finite covariance entry (%d,%d)", what, i, j)
			}
		}
	}
	return nil
}

// symSqrt returns V·diag(√max(λ,0))·Vᵀ for the symmetric s = VΛVᵀ (§2.2 step 1).
func symSqrt(s mat.Symmetric) (*mat.Dense, error) {
	var es mat.EigenSym
	if !es.Factorize(s, true) {
		return nil, fmt.Errorf("eval: FID: eigendecomposition of the covariance did not converge")
	}
	vals := es.Values(nil)
	var v mat.Dense
	es.VectorsTo(&v)
	n := len(vals)
	vd := mat.NewDense(n, n, nil)
	for j, l := range vals {
		s := math.Sqrt(math.Max(l, 0))
		for i := 0; i < n; i++ {
			vd.Set(i, j, v.At(i, j)*s)
		}
	}
	var out mat.Dense
	out.Mul(vd, v.T())
	return &out, nil
}

// traceSqrtProduct returns Tr((Σa Σb)^{1/2}) by the symmetric route of §2.2.
func traceSqrtProduct(sa, sb *mat.SymDense) (float64, error) {
	a, err := symSqrt(sa)
	if err != nil {
		return 0, err
	}
	var t, m mat.Dense
	t.Mul(a, sb)
	m.Mul(&t, a)
	n, _ := m.Dims()
	sym := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			sym.SetSym(i, j, 0.5*(m.At(i, j)+m.At(j, i)))
		}
	}
	var es mat.EigenSym
	if !es.Factorize(sym, false) {
		return 0, fmt.Errorf("eval: FID: eigendecomposition of Σa^½ Σb Σa^½ did not converge")
	}
	var tr float64
	for _, l := range es.Values(nil) {
		tr += math.Sqrt(math.Max(l, 0))
	}
	return tr, nil
}

// FIDFeatures fits both feature sets and returns FID(real, fake). A warning
// from FitGaussian (N <= d) is returned with the computed value.
func FIDFeatures(real, fake [][]float64) (float64, error) {
	gr, errR := FitGaussian(real)
	if errR != nil && !IsWarning(errR) {
		return 0, errR
	}
	gf, errF := FitGaussian(fake)
	if errF != nil && !IsWarning(errF) {
		return 0, errF
	}
	fid, err := FID(gr, gf)
	if err != nil {
		return 0, err
	}
	if errR != nil {
		return fid, errR
	}
	return fid, errF
}

// FIDPoint is one (N, FID_N) pair of the FID∞ extrapolation.
type FIDPoint struct {
	N   int
	FID float64
}

// FIDInfinityNs returns the sample sizes of the CPU-scaled FID∞ recipe
// (§2.3): `points` values of linspace(nMax/5, nMax), truncated to int as the
// reference code's astype('int32') does. gentri's setting is points = 8.
func FIDInfinityNs(nMax, points int) []int {
	if points < 1 || nMax < 1 {
		return nil
	}
	lo := float64(nMax) / 5
	hi := float64(nMax)
	if points == 1 {
		return []int{nMax}
	}
	ns := make([]int, points)
	step := (hi - lo) / float64(points-1)
	for i := range ns {
		ns[i] = int(lo + float64(i)*step)
	}
	ns[points-1] = nMax
	return ns
}

// FIDInfinity is the Chong & Forsyth extrapolation (§2.3): for each N in ns
// it shuffles the fake features (seeded PCG), computes FID between ref and the
// Gaussian of the first N rows, fits FID_N = a + b/N by ordinary least
// squares and returns the intercept a (FID at 1/N = 0) with the points.
//
// ns needs at least two distinct values, each in [2, len(fake)]. If some N <=
// d, the points are still computed and the first FitGaussian warning is
// returned with the result.
func FIDInfinity(ref Gaussian, fake [][]float64, ns []int, seed uint64) (float64, []FIDPoint, error) {
	if _, err := checkFeatures("FIDInfinity", fake); err != nil {
		return 0, nil, err
	}
	distinct := map[int]bool{}
	for _, n := range ns {
		if n < 2 || n > len(fake) {
			return 0, nil, &SampleSizeError{Metric: "FIDInfinity", N: len(fake), Need: max(n, 2),
				Detail: fmt.Sprintf("sample size %d outside [2, %d]", n, len(fake))}
		}
		distinct[n] = true
	}
	if len(distinct) < 2 {
		return 0, nil, fmt.Errorf("eval: FIDInfinity: need at least two distinct sample sizes, got %v", ns)
	}
	r := rand.New(rand.NewPCG(seed, 0xf1d1f))
	rows := append([][]float64(nil), fake...)
	pts := make([]FIDPoint, 0, len(ns))
	var warn error
	for _, n := range ns {
		r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		g, err := FitGaussian(rows[:n])
		if err != nil {
			if !IsWarning(err) {
				return 0, nil, err
			}
			if warn == nil {
				warn = err
			}
		}
		f, err := FID(ref, g)
		if err != nil {
			return 0, nil, err
		}
		pts = append(pts, FIDPoint{N: n, FID: f})
	}
	x := make([]float64, len(pts))
	y := make([]float64, len(pts))
	for i, p := range pts {
		x[i] = 1 / float64(p.N)
		y[i] = p.FID
	}
	a, _ := linearFit(x, y)
	return a, pts, warn
}

// linearFit returns the OLS intercept and slope of y = a + b·x.
func linearFit(x, y []float64) (a, b float64) {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
	}
	b = sxy / sxx
	return my - b*mx, b
}
