package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }

// gaussSet draws n rows of N(shift, scale²·I) in d dimensions.
func gaussSet(r *rand.Rand, n, d int, shift, scale float64) [][]float64 {
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for j := range x[i] {
			x[i][j] = shift + scale*r.NormFloat64()
		}
	}
	return x
}

// correlatedSet draws n rows of L·z + mu with a random mixing matrix L.
func correlatedSet(r *rand.Rand, n, d int, mu float64) [][]float64 {
	l := make([]float64, d*d)
	for i := range l {
		l[i] = r.NormFloat64()
	}
	z := gaussSet(r, n, d, 0, 1)
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for a := 0; a < d; a++ {
			s := mu
			for b := 0; b < d; b++ {
				s += l[a*d+b] * z[i][b]
			}
			x[i][a] = s
		}
	}
	return x
}

// randOrthogonal returns a random d×d orthogonal matrix (Q of a QR).
func randOrthogonal(r *rand.Rand, d int) *mat.Dense {
	a := mat.NewDense(d, d, nil)
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			a.Set(i, j, r.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(a)
	var q mat.Dense
	qr.QTo(&q)
	return &q
}

// rotate returns the rows x_i ↦ Q x_i.
func rotate(x [][]float64, q *mat.Dense) [][]float64 {
	d := len(x[0])
	out := make([][]float64, len(x))
	for i, row := range x {
		out[i] = make([]float64, d)
		for a := 0; a < d; a++ {
			var s float64
			for b := 0; b < d; b++ {
				s += q.At(a, b) * row[b]
			}
			out[i][a] = s
		}
	}
	return out
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.15g, want %.15g (tol %g)", name, got, want, tol)
	}
}
