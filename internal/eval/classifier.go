package eval

import (
	"fmt"
	"math"
)

// ClassCoverageThreshold is gentri's "class covered" threshold of §5.2:
// p̂_c ≥ 0.25/10 = 2.5 % of the samples.
const ClassCoverageThreshold = 0.25 / 10

// InceptionScore is MNIST-IS (§5.1; Salimans et al. 2016):
// exp( E_x KL( p(y|x) ‖ p̂(y) ) ), with p̂(y) the mean of p(y|x) over the
// rows of probs (each row a class distribution summing to 1; 0·log 0 = 0).
// It lies in [1, #classes]; real MNIST test data gives ≈ 9.88 with a good
// classifier. Empty input gives NaN; rows of different lengths panic.
func InceptionScore(probs [][]float64) float64 {
	if len(probs) == 0 {
		return math.NaN()
	}
	c := len(probs[0])
	py := make([]float64, c)
	for i, p := range probs {
		if len(p) != c {
			panic(fmt.Sprintf("eval: InceptionScore: row %d has %d classes, row 0 has %d", i, len(p), c))
		}
		for k, v := range p {
			py[k] += v
		}
	}
	for k := range py {
		py[k] /= float64(len(probs))
	}
	var kl float64
	for _, p := range probs {
		for k, v := range p {
			if v > 0 {
				kl += v * (math.Log(v) - math.Log(py[k]))
			}
		}
	}
	return math.Exp(kl / float64(len(probs)))
}

// InceptionScoreSplits is the usual split form of the score: probs is cut
// into `splits` consecutive parts of len(probs)/splits rows (a remainder is
// dropped, as in the common PyTorch IS code); it returns the mean and the
// population standard deviation of InceptionScore over the parts. The
// "mean ± std" Inception scores quoted in papers are of this form. splits < 1 or > len(probs)
// gives NaN, NaN.
func InceptionScoreSplits(probs [][]float64, splits int) (mean, std float64) {
	if splits < 1 || splits > len(probs) {
		return math.NaN(), math.NaN()
	}
	part := len(probs) / splits
	v := make([]float64, splits)
	for s := range v {
		v[s] = InceptionScore(probs[s*part : (s+1)*part])
	}
	mean, std, _ = meanStd(v)
	return mean, std
}

// ClassHistogram returns p̂_c, the fraction of labels equal to c, for
// c = 0..classes−1 (§5.2; labels are argmax classifier outputs). An empty label
// slice gives all NaN; a label outside [0, classes) panics.
func ClassHistogram(labels []int, classes int) []float64 {
	h := make([]float64, classes)
	for i, l := range labels {
		if l < 0 || l >= classes {
			panic(fmt.Sprintf("eval: ClassHistogram: label %d at %d outside [0,%d)", l, i, classes))
		}
		h[l]++
	}
	for c := range h {
		h[c] /= float64(len(labels))
	}
	return h
}

// normalize returns hist/Σhist, or nil if the sum is not positive.
func normalize(hist []float64) []float64 {
	var s float64
	for _, v := range hist {
		s += v
	}
	if !(s > 0) {
		return nil
	}
	p := make([]float64, len(hist))
	for i, v := range hist {
		p[i] = v / s
	}
	return p
}

// KLToUniform is KL(p̂ ‖ U_K) = Σ_c p̂_c·log(K·p̂_c) in nats with K =
// len(hist) (§5.2, the Stacked-MNIST convention of VEEGAN and PacGAN; also
// the 2-D reverse KL of §6.2). hist may hold fractions or counts: it is
// normalised first. 0 for a uniform histogram, log K when all mass is in
// one class. An empty or all-zero histogram gives NaN.
func KLToUniform(hist []float64) float64 {
	p := normalize(hist)
	if p == nil {
		return math.NaN()
	}
	k := float64(len(p))
	var kl float64
	for _, v := range p {
		if v > 0 {
			kl += v * math.Log(k*v)
		}
	}
	return kl
}

// ClassesCovered is #{c : p̂_c ≥ minFraction} (§5.2). Pass
// ClassCoverageThreshold (2.5 %) for the tool's MNIST setting. minFraction
// <= 0 counts the classes with at least one sample (the Stacked-MNIST "number
// of modes" of VEEGAN and PacGAN). hist may hold fractions or counts (it is normalised
// first); an all-zero histogram covers 0 classes.
func ClassesCovered(hist []float64, minFraction float64) int {
	p := normalize(hist)
	n := 0
	for _, v := range p {
		if minFraction <= 0 {
			if v > 0 {
				n++
			}
			continue
		}
		// relative slack of 1e-12 so that e.g. 50/2000 counts as ≥ 2.5 %
		// whatever the rounding of the division
		if v >= minFraction*(1-1e-12) {
			n++
		}
	}
	return n
}

// ClassAccuracy is the cGAN "GAN-test" accuracy of §5.3 (Shmelkov et al. 2018):
// (1/N) Σ 1[pred_i = want_i]. Empty input gives NaN; different lengths panic.
func ClassAccuracy(pred, want []int) float64 {
	if len(pred) != len(want) {
		panic(fmt.Sprintf("eval: ClassAccuracy: %d predictions, %d labels", len(pred), len(want)))
	}
	if len(pred) == 0 {
		return math.NaN()
	}
	ok := 0
	for i := range pred {
		if pred[i] == want[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(pred))
}

// PerClassAccuracy returns, for each requested class c, the accuracy over the
// samples with want == c (§5.3); NaN for a
// class with no samples. Different lengths or a want label outside
// [0, classes) panic.
func PerClassAccuracy(pred, want []int, classes int) []float64 {
	if len(pred) != len(want) {
		panic(fmt.Sprintf("eval: PerClassAccuracy: %d predictions, %d labels", len(pred), len(want)))
	}
	ok := make([]int, classes)
	n := make([]int, classes)
	for i, w := range want {
		if w < 0 || w >= classes {
			panic(fmt.Sprintf("eval: PerClassAccuracy: label %d at %d outside [0,%d)", w, i, classes))
		}
		n[w]++
		if pred[i] == w {
			ok[w]++
		}
	}
	acc := make([]float64, classes)
	for c := range acc {
		if n[c] == 0 {
			acc[c] = math.NaN()
			continue
		}
		acc[c] = float64(ok[c]) / float64(n[c])
	}
	return acc
}

// Argmax returns the index of the largest entry of each row (first on ties),
// the label used for class histograms and accuracy (§5.2, §5.3).
func Argmax(probs [][]float64) []int {
	out := make([]int, len(probs))
	for i, p := range probs {
		best := 0
		for k := 1; k < len(p); k++ {
			if p[k] > p[best] {
				best = k
			}
		}
		out[i] = best
	}
	return out
}
