package nn

import (
	"gorgonia.org/tensor"
)

// The helpers BatchNorm (batchnorm.go) and GroupNorm (groupnorm.go) share:
// per-channel moments, lane-interleaved float64 sums and the affine map.

// channelView reads a (B, C, *) shape as (B, C, S), S the product of the
// trailing dims (1 for a matrix).
func channelView(s tensor.Shape) (b, c, sp int) {
	sp = 1
	for _, d := range s[2:] {
		sp *= d
	}
	return s[0], s[1], sp
}

// moments returns, for x viewed as (outer, k, s), the mean and biased
// variance of each of the k slices over (outer, s), accumulated in float64
// in two passes (no cancellation of E[x²] − E[x]²).
func moments[T float](x []T, outer, k, s int) (mean, variance []float64) {
	mean, variance = make([]float64, k), make([]float64, k)
	// Each slice j is independent, so the slices are split over goroutines.
	parallelRange(k, max(1, (1<<15)/(outer*s)), func(lo, hi int) {
		if x32, ok := any(x).([]float32); ok {
			moments32(x32, outer, k, s, lo, hi, mean, variance)
			return
		}
		momentsRange(x, outer, k, s, lo, hi, mean, variance)
	})
	return mean, variance
}

// momentsRange computes the moments of slices [lo, hi); native.c has its
// float32 twin.
func momentsRange[T float](x []T, outer, k, s, lo, hi int, mean, variance []float64) {
	m := float64(outer * s)
	for j := lo; j < hi; j++ {
		sum := 0.0
		for o := 0; o < outer; o++ {
			sum += laneSum(x[(o*k+j)*s : (o*k+j+1)*s])
		}
		mu := sum / m
		sq := 0.0
		for o := 0; o < outer; o++ {
			sq += laneSumSq(x[(o*k+j)*s:(o*k+j+1)*s], mu)
		}
		mean[j], variance[j] = mu, sq/m
	}
}

// The float64 reductions run as lanes interleaved partial sums, added in a
// fixed order at the end: native.c's twins vectorise the same arithmetic,
// so both builds give the same bits.
const lanes = 8

// laneFold adds the lanes pairwise in a fixed order.
func laneFold(a *[lanes]float64) float64 {
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// laneSum is Σ x.
func laneSum[T float](x []T) float64 {
	var a [lanes]float64
	i := 0
	for ; i+lanes <= len(x); i += lanes {
		for l, v := range x[i : i+lanes] {
			a[l] += float64(v)
		}
	}
	for l, v := range x[i:] {
		a[l] += float64(v)
	}
	return laneFold(&a)
}

// laneSumSq is Σ (x − mu)².
func laneSumSq[T float](x []T, mu float64) float64 {
	var a [lanes]float64
	i := 0
	for ; i+lanes <= len(x); i += lanes {
		for l, v := range x[i : i+lanes] {
			d := float64(v) - mu
			a[l] += d * d
		}
	}
	for l, v := range x[i:] {
		d := float64(v) - mu
		a[l] += d * d
	}
	return laneFold(&a)
}

// laneDot is Σ dy·(x − mu).
func laneDot[T float](dy, x []T, mu float64) float64 {
	var a [lanes]float64
	x = x[:len(dy)]
	i := 0
	for ; i+lanes <= len(dy); i += lanes {
		xs := x[i : i+lanes]
		for l, d := range dy[i : i+lanes] {
			a[l] += float64(d) * (float64(xs[l]) - mu)
		}
	}
	for l, d := range dy[i:] {
		a[l] += float64(d) * (float64(x[i+l]) - mu)
	}
	return laneFold(&a)
}

// normAffine writes y = γ_c·(x − μ)·invStd + β_c for x (b, c, s), with the
// statistics of channel ch in sample n at index n·perSample + ch/perStat:
// (0, 1) for BatchNorm, (groups, c/groups) for GroupNorm.
func normAffine[T float](x, gamma, beta, y []T, mean, invStd []float64, b, c, s, perSample, perStat int) {
	parallelRange(b*c, max(1, (1<<15)/s), func(lo, hi int) {
		if x32, ok := any(x).([]float32); ok {
			normAffine32(x32, any(gamma).([]float32), any(beta).([]float32), any(y).([]float32), mean, invStd, c, s, perSample, perStat, lo, hi)
			return
		}
		normAffineRange(x, gamma, beta, y, mean, invStd, c, s, perSample, perStat, lo, hi)
	})
}

// normAffineRange normalises rows [lo, hi) of x viewed as (b·c, s);
// native.c has its float32 twin.
func normAffineRange[T float](x, gamma, beta, y []T, mean, invStd []float64, c, s, perSample, perStat, lo, hi int) {
	for r := lo; r < hi; r++ {
		n, ch := r/c, r%c
		st := n*perSample + ch/perStat
		scale := float64(gamma[ch]) * invStd[st]
		a, sh := T(scale), T(float64(beta[ch])-mean[st]*scale)
		off := r * s
		for i, v := range x[off : off+s] {
			y[off+i] = a*v + sh
		}
	}
}

// floats copies a float32 or float64 tensor into a []float64.
func floats(d *tensor.Dense) []float64 {
	switch v := d.Data().(type) {
	case []float32:
		r := make([]float64, len(v))
		for i, x := range v {
			r[i] = float64(x)
		}
		return r
	case []float64:
		return append([]float64(nil), v...)
	}
	return nil
}

// setFloats stores vals into a float32 or float64 tensor.
func setFloats(d *tensor.Dense, vals []float64) {
	switch v := d.Data().(type) {
	case []float32:
		for i, x := range vals {
			v[i] = float32(x)
		}
	case []float64:
		copy(v, vals)
	}
}
