package nn

import (
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

func randFloats32(r *rng.RNG, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// kernelOutputs runs every kernel that splits its work over goroutines, on
// shapes large enough to be split, and returns their outputs in order.
func kernelOutputs() [][]float32 {
	r := rng.New(3, 0)
	var outs [][]float32
	keep := func(v []float32) { outs = append(outs, slices.Clone(v)) }

	// conv 3x3 pad 1 on (16, 8, 14, 14) -> 16 channels, and its three gradients
	xs, ws := []int{16, 8, 14, 14}, []int{16, 8, 3, 3}
	x, w, b := randFloats32(r, 16*8*14*14), randFloats32(r, 16*8*9), randFloats32(r, 16)
	cg := newConvGeom(xs, ws, 1, 1)
	y := make([]float32, 16*16*14*14)
	convForward(&cg, x, w, b, y)
	keep(y)
	dy := randFloats32(r, len(y))
	for wrt, n := range []int{len(x), len(w), len(b)} {
		g := make([]float32, n)
		convBackward(&cg, wrt, x, w, dy, g)
		keep(g)
	}

	// SiLU forward and backward on 2^17 values
	a, da := randFloats32(r, 1<<17), randFloats32(r, 1<<17)
	ya, ga := make([]float32, len(a)), make([]float32, len(a))
	actForward(actSiLU, 0, a, ya)
	actBackward(actSiLU, 0, a, da, ga)
	keep(ya)
	keep(ga)

	// GroupNorm(4) forward and backward on (64, 16, 8, 8)
	n, c, s := 64, 16, 64
	gx, gdy := randFloats32(r, n*c*s), randFloats32(r, n*c*s)
	gamma, beta := randFloats32(r, c), randFloats32(r, c)
	mean, invStd := groupStats(gx, n, c, s, 4, 1e-5)
	gy := make([]float32, len(gx))
	normAffine(gx, gamma, beta, gy, mean, invStd, n, c, s, 4, c/4)
	keep(gy)
	for wrt, size := range []int{len(gx), c, c} {
		g := make([]float32, size)
		gnBackward(wrt, gx, gamma, gdy, g, n, c, s, 4, 1e-5, nil)
		keep(g)
	}

	// Linear 128x300 -> 200 and its two matrix gradients
	ln, in, out := 128, 300, 200
	lx, lw, lb := randFloats32(r, ln*in), randFloats32(r, out*in), randFloats32(r, out)
	ly := make([]float32, ln*out)
	linearForward(lx, lw, lb, ly, ln, in, out)
	keep(ly)
	ldy := randFloats32(r, ln*out)
	for wrt, size := range []int{ln * in, out * in} {
		g := make([]float32, size)
		linearBackward(wrt, lx, lw, ldy, g, ln, in, out)
		keep(g)
	}
	return outs
}

// The kernels split work over GOMAXPROCS goroutines; the split must not
// change a single bit, or the same seed would give different checkpoints on
// machines with different core counts.
func TestKernelsAreBitIdenticalOnAnyCoreCount(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(1)
	want := kernelOutputs()
	for _, procs := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		got := kernelOutputs()
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("GOMAXPROCS=%d: kernel output %d differs from GOMAXPROCS=1", procs, i)
			}
		}
	}
}

// The split kernels still compute the right thing: the Linear layer's
// blocked products against a direct float64 evaluation.
func TestSplitLinearMatchesDirectProduct(t *testing.T) {
	r := rng.New(5, 0)
	n, in, out := 128, 300, 200
	x, w, b, dy := randFloats32(r, n*in), randFloats32(r, out*in), randFloats32(r, out), randFloats32(r, n*out)
	y, dx, dw := make([]float32, n*out), make([]float32, n*in), make([]float32, out*in)
	linearForward(x, w, b, y, n, in, out)
	linearBackward(0, x, w, dy, dx, n, in, out)
	linearBackward(1, x, w, dy, dw, n, in, out)
	check := func(what string, got float32, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-3*(1+math.Abs(want)) {
			t.Fatalf("%s = %g, want %g", what, got, want)
		}
	}
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			want := float64(b[o])
			for k := 0; k < in; k++ {
				want += float64(x[i*in+k]) * float64(w[o*in+k])
			}
			check("y", y[i*out+o], want)
		}
		for k := 0; k < in; k++ {
			want := 0.0
			for o := 0; o < out; o++ {
				want += float64(dy[i*out+o]) * float64(w[o*in+k])
			}
			check("dx", dx[i*in+k], want)
		}
	}
	for o := 0; o < out; o++ {
		for k := 0; k < in; k++ {
			want := 0.0
			for i := 0; i < n; i++ {
				want += float64(dy[i*out+o]) * float64(x[i*in+k])
			}
			check("dW", dw[o*in+k], want)
		}
	}
}
