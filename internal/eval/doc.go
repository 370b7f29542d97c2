// Package eval holds the metric mathematics of gentri's trilemma evaluation:
// FID, KID, precision/recall/density/coverage, the classifier-based metrics
// (IS, the class histogram) against the run's own data, the 2-D mixture
// benchmarks and the sampling-speed summary. It works on plain feature
// vectors and knows nothing about models or Gorgonia.
//
// Every definition is the one written down in the repository's
// docs/metrics.md, with the papers it comes from; doc comments in this
// package cite that page's sections as §N.
//
// # Data layout
//
// A feature set is a [][]float64 with one row per sample (row-major: feats[i]
// is the d-dimensional feature vector of sample i). All rows must have the
// same, non-zero length and finite values. Arithmetic is float64 throughout
// (§2.2). Inputs are never modified.
//
// # Too few samples
//
// A metric that cannot be computed at all from the given sample count (FID
// with N < 2, KID with a subset larger than a set, k-NN with k >= N) returns a
// *SampleSizeError with Warning == false and a zero result. FitGaussian with
// 2 <= N <= d returns a usable Gaussian (its covariance is necessarily
// rank-deficient, §2.3) together with a *SampleSizeError with
// Warning == true. Both wrap ErrTooFewSamples, so
//
//	g, err := eval.FitGaussian(x)
//	if err != nil && !eval.IsWarning(err) {
//		return err
//	}
//	if err != nil {
//		log.Printf("warning: %v", err) // g is still valid
//	}
//
// The functions whose signatures return no error (InceptionScore,
// KLToUniform, ClassAccuracy, CountModes, ...) return NaN for an empty input
// and panic on a programming error such as ragged rows or an out-of-range
// label.
package eval

import (
	"errors"
	"fmt"
	"math"
)

// ErrTooFewSamples is wrapped by every *SampleSizeError.
var ErrTooFewSamples = errors.New("eval: too few samples")

// SampleSizeError reports a sample count below what a metric needs.
type SampleSizeError struct {
	Metric string // e.g. "FitGaussian", "KID", "PRDC"
	N      int    // samples given
	Need   int    // smallest N that would have been enough
	// Warning is true when the result was still computed and returned (it is
	// finite but biased or rank-deficient); false when nothing was computed.
	Warning bool
	Detail  string
}

func (e *SampleSizeError) Error() string {
	kind := "error"
	if e.Warning {
		kind = "warning"
	}
	s := fmt.Sprintf("eval: %s: too few samples (%s): have %d, need >= %d", e.Metric, kind, e.N, e.Need)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap makes errors.Is(err, ErrTooFewSamples) true.
func (e *SampleSizeError) Unwrap() error { return ErrTooFewSamples }

// IsWarning reports whether err is a *SampleSizeError whose result was still
// computed (Warning == true), i.e. the caller may log it and go on.
func IsWarning(err error) bool {
	var se *SampleSizeError
	return errors.As(err, &se) && se.Warning
}

// checkFeatures validates a feature set and returns its dimension.
func checkFeatures(what string, x [][]float64) (int, error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("eval: %s: empty feature set", what)
	}
	d := len(x[0])
	if d == 0 {
		return 0, fmt.Errorf("eval: %s: zero-dimensional features", what)
	}
	for i, row := range x {
		if len(row) != d {
			return 0, fmt.Errorf("eval: %s: ragged rows: row %d has %d values, row 0 has %d", what, i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("eval: %s: non-finite value %v at row %d, column %d", what, v, i, j)
			}
		}
	}
	return d, nil
}
