package eval

import (
	"fmt"
	"runtime"
	"sync"
)

// PRDC neighbourhood sizes of §4.
const (
	PRDCKPrecisionRecall = 3 // precision and recall (Kynkäänniemi et al., nhood_sizes=[3])
	PRDCKDensityCoverage = 5 // density and coverage (Naeem et al.)
)

// PRDC holds improved precision/recall (Kynkäänniemi et al. 2019) and
// density/coverage (Naeem et al. 2020), §4.
type PRDC struct {
	Precision, Recall, Density, Coverage float64
}

// ComputePRDC computes the four metrics of §4 for real features X_1..X_N and
// generated features Y_1..Y_M with exact Euclidean distances:
//
//	precision = (1/M) Σ_j 1[Y_j ∈ manifold_kPR(X)]
//	recall    = (1/N) Σ_i 1[X_i ∈ manifold_kPR(Y)]
//	density   = (1/(kDC·M)) Σ_j Σ_i 1[Y_j ∈ B(X_i, NND_kDC(X_i))]
//	coverage  = (1/N) Σ_i 1[∃ j: Y_j ∈ B(X_i, NND_kDC(X_i))]
//
// with manifold_k(S) = ∪ B(S_i, NND_k(S_i)), NND_k(S_i) the distance to the
// k-th nearest neighbour of S_i in S excluding S_i itself (by index, so an
// exact duplicate of S_i counts as a neighbour at distance 0), and ball
// membership `distance <= radius` (§4). Use kPR = 3 and kDC = 5
// (PRDCKPrecisionRecall, PRDCKDensityCoverage) and N = M.
//
// Note that a ball B(X_i, NND_k(X_i)) contains X_i and its k nearest
// neighbours, so fake == real (the same points) gives density (k+1)/k, while
// two independent samples of one distribution give E[density] = 1 and
// E[coverage] = ExpectedCoverage(N, M, k) (§4).
//
// Distances are never stored as a matrix: rows are streamed, keeping the k
// smallest (§4), and the O(N·M·d) work is spread over
// GOMAXPROCS goroutines; the result does not depend on the number of workers.
// Squared distances are compared with squared radii, both computed by the
// same function, so ties are decided consistently.
//
// Errors: kPR or kDC < 1; kPR >= N or kPR >= M, kDC >= N (a fatal
// *SampleSizeError: the k-th neighbour excluding self does not exist);
// ragged, empty or non-finite features; a dimension mismatch.
func ComputePRDC(real, fake [][]float64, kPR, kDC int) (PRDC, error) {
	if kPR < 1 || kDC < 1 {
		return PRDC{}, fmt.Errorf("eval: PRDC: k must be >= 1 (kPR=%d, kDC=%d)", kPR, kDC)
	}
	dr, err := checkFeatures("PRDC: real", real)
	if err != nil {
		return PRDC{}, err
	}
	df, err := checkFeatures("PRDC: fake", fake)
	if err != nil {
		return PRDC{}, err
	}
	if dr != df {
		return PRDC{}, fmt.Errorf("eval: PRDC: dimension mismatch %d vs %d", dr, df)
	}
	n, m := len(real), len(fake)
	if kr := max(kPR, kDC); kr >= n {
		return PRDC{}, &SampleSizeError{Metric: "PRDC", N: n, Need: kr + 1,
			Detail: fmt.Sprintf("k=%d nearest neighbours (excluding self) need more than k real samples", kr)}
	}
	if kPR >= m {
		return PRDC{}, &SampleSizeError{Metric: "PRDC", N: m, Need: kPR + 1,
			Detail: fmt.Sprintf("k=%d nearest neighbours (excluding self) need more than k fake samples", kPR)}
	}

	realKNN := knnSq(real, max(kPR, kDC))
	fakeKNN := knnSq(fake, kPR)
	realPR := make([]float64, n) // squared radii
	realDC := make([]float64, n)
	for i, s := range realKNN {
		realPR[i] = s[kPR-1]
		realDC[i] = s[kDC-1]
	}
	fakePR := make([]float64, m)
	for j, s := range fakeKNN {
		fakePR[j] = s[kPR-1]
	}

	inPrec := make([]bool, m)
	densCount := make([]int, m)
	workers := numWorkers(m)
	recallHit := make([][]bool, workers)
	coverHit := make([][]bool, workers)
	parallel(m, workers, func(w, lo, hi int) {
		rh := make([]bool, n)
		ch := make([]bool, n)
		for j := lo; j < hi; j++ {
			y := fake[j]
			ry := fakePR[j]
			prec := false
			cnt := 0
			for i, x := range real {
				d2 := sqDist(x, y)
				if d2 <= realPR[i] {
					prec = true
				}
				if d2 <= realDC[i] {
					cnt++
					ch[i] = true
				}
				if d2 <= ry {
					rh[i] = true
				}
			}
			inPrec[j] = prec
			densCount[j] = cnt
		}
		recallHit[w] = rh
		coverHit[w] = ch
	})

	var res PRDC
	var precN, dens int
	for j := range fake {
		if inPrec[j] {
			precN++
		}
		dens += densCount[j]
	}
	var recN, covN int
	for i := range real {
		rec, cov := false, false
		for w := range workers {
			rec = rec || (recallHit[w] != nil && recallHit[w][i])
			cov = cov || (coverHit[w] != nil && coverHit[w][i])
		}
		if rec {
			recN++
		}
		if cov {
			covN++
		}
	}
	res.Precision = float64(precN) / float64(m)
	res.Recall = float64(recN) / float64(n)
	res.Density = float64(dens) / (float64(kDC) * float64(m))
	res.Coverage = float64(covN) / float64(n)
	return res, nil
}

// ExpectedCoverage is E[coverage] for two independent samples of one
// distribution, N real and M fake, neighbourhood k (Naeem et al., Lemma 2;
// §4): 1 − Π_{i=1..k} (N−i)/(N+M−i). For N = M = 10,000 and k = 5 it is 0.969.
func ExpectedCoverage(n, m, k int) float64 {
	p := 1.0
	for i := 1; i <= k; i++ {
		p *= float64(n-i) / float64(n+m-i)
	}
	return 1 - p
}

// knnSq returns, for every row, its k smallest squared distances to the other
// rows (excluding itself by index), sorted ascending.
func knnSq(x [][]float64, k int) [][]float64 {
	out := make([][]float64, len(x))
	buf := make([]float64, len(x)*k)
	parallel(len(x), numWorkers(len(x)), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			best := buf[i*k : (i+1)*k : (i+1)*k]
			filled := 0
			xi := x[i]
			for j, xj := range x {
				if j == i {
					continue
				}
				d2 := sqDist(xi, xj)
				if filled < k {
					p := filled
					for p > 0 && best[p-1] > d2 {
						best[p] = best[p-1]
						p--
					}
					best[p] = d2
					filled++
					continue
				}
				if d2 >= best[k-1] {
					continue
				}
				p := k - 1
				for p > 0 && best[p-1] > d2 {
					best[p] = best[p-1]
					p--
				}
				best[p] = d2
			}
			out[i] = best
		}
	})
	return out
}

// sqDist is the squared Euclidean distance. sqDist(a,b) == sqDist(b,a)
// exactly, since (a−b)² == (b−a)² in IEEE arithmetic.
func sqDist(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		d0 := a[i] - b[i]
		d1 := a[i+1] - b[i+1]
		d2 := a[i+2] - b[i+2]
		d3 := a[i+3] - b[i+3]
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(a); i++ {
		d := a[i] - b[i]
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

func numWorkers(n int) int {
	w := runtime.GOMAXPROCS(0)
	if n < 64 {
		w = 1
	}
	return max(1, min(w, n))
}

// parallel runs fn(worker, lo, hi) over contiguous chunks of [0, n).
func parallel(n, workers int, fn func(w, lo, hi int)) {
	if workers <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	wg.Wait()
}
