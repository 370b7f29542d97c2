package eval

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// KID defaults (§3): subsets of 1000 samples, 100 subsets.
const (
	KIDSubsets    = 100
	KIDSubsetSize = 1000
)

// KID is the Kernel Inception Distance (§3; Bińkowski et al. 2018) as the
// authors' code computes it (polynomial_mmd_averages): for each of `subsets`
// rounds it draws subsetSize rows of a and subsetSize rows of b, each
// without replacement (seeded PCG from seed), and computes the unbiased MMD²
// with the cubic polynomial kernel k(x,y) = (xᵀy/d + 1)³:
//
//	MMD² = [Σ_{i≠j} k(x_i,x_j) + Σ_{i≠j} k(y_i,y_j)] / (m(m−1)) − 2·Σ_{i,j} k(x_i,y_j) / m²
//
// (the reference code's 'unbiased' estimator: its cross term keeps the
// diagonal and divides by m²). mean and std are the mean and the population
// standard deviation (np.std, ddof 0) of the per-subset values. MMD² may be
// slightly negative when the distributions agree.
//
// subsets == 0 and subsetSize == 0 select the defaults KIDSubsets and
// KIDSubsetSize. A subsetSize above len(a) or len(b), or below 2, is a fatal
// *SampleSizeError; negative arguments, ragged/non-finite rows or a
// dimension mismatch are errors.
func KID(a, b [][]float64, subsets, subsetSize int, seed uint64) (mean, std float64, err error) {
	if subsets == 0 {
		subsets = KIDSubsets
	}
	if subsetSize == 0 {
		subsetSize = KIDSubsetSize
	}
	if subsets < 0 || subsetSize < 0 {
		return 0, 0, fmt.Errorf("eval: KID: negative subsets (%d) or subset size (%d)", subsets, subsetSize)
	}
	da, err := checkFeatures("KID: first set", a)
	if err != nil {
		return 0, 0, err
	}
	db, err := checkFeatures("KID: second set", b)
	if err != nil {
		return 0, 0, err
	}
	if da != db {
		return 0, 0, fmt.Errorf("eval: KID: dimension mismatch %d vs %d", da, db)
	}
	if subsetSize < 2 {
		return 0, 0, &SampleSizeError{Metric: "KID", N: subsetSize, Need: 2, Detail: "the unbiased MMD² needs subsets of at least 2"}
	}
	if n := min(len(a), len(b)); subsetSize > n {
		return 0, 0, &SampleSizeError{Metric: "KID", N: n, Need: subsetSize,
			Detail: fmt.Sprintf("subset size %d exceeds a set of %d samples", subsetSize, n)}
	}
	d := da
	m := subsetSize
	r := rand.New(rand.NewPCG(seed, 0x6b1d))
	x := mat.NewDense(m, d, nil)
	y := mat.NewDense(m, d, nil)
	var kxx, kyy mat.SymDense
	var kxy mat.Dense
	vals := make([]float64, subsets)
	for s := range vals {
		fillSubset(x, a, r, m)
		fillSubset(y, b, r, m)
		kxx.Reset()
		kyy.Reset()
		kxy.Reset()
		kxx.SymOuterK(1, x)
		kyy.SymOuterK(1, y)
		kxy.Mul(x, y.T())
		sxx := offDiagKernelSum(&kxx, d)
		syy := offDiagKernelSum(&kyy, d)
		var sxy float64
		for i := 0; i < m; i++ {
			for _, v := range kxy.RawRowView(i) {
				sxy += polyKernel(v, d)
			}
		}
		fm := float64(m)
		vals[s] = (sxx+syy)/(fm*(fm-1)) - 2*sxy/(fm*fm)
	}
	return meanStd(vals)
}

func polyKernel(dot float64, d int) float64 {
	t := dot/float64(d) + 1
	return t * t * t
}

// offDiagKernelSum returns Σ_{i≠j} k from the Gram matrix g = XXᵀ.
func offDiagKernelSum(g *mat.SymDense, d int) float64 {
	raw := g.RawSymmetric() // upper triangle stored (SymOuterK)
	var s float64
	for i := 0; i < raw.N; i++ {
		for _, v := range raw.Data[i*raw.Stride+i+1 : i*raw.Stride+raw.N] {
			s += polyKernel(v, d)
		}
	}
	return 2 * s
}

// fillSubset copies m rows of src, drawn without replacement, into dst.
func fillSubset(dst *mat.Dense, src [][]float64, r *rand.Rand, m int) {
	idx := r.Perm(len(src))[:m]
	for i, k := range idx {
		copy(dst.RawRowView(i), src[k])
	}
}

// meanStd returns the mean and the population (ddof 0) standard deviation.
func meanStd(v []float64) (float64, float64, error) {
	if len(v) == 0 {
		return 0, 0, fmt.Errorf("eval: no values to average")
	}
	var mean float64
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v))), nil
}
