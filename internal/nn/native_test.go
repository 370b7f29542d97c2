package nn

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// The native build's C kernels must give the bits of their Go twins, so a
// seed gives the same checkpoint on either build. The pure-Go build
// (CGO_ENABLED=0) has no C kernels to compare, so the test skips there
// rather than compare the Go kernels with themselves.
func TestNativeKernelsMatchGoBitForBit(t *testing.T) {
	skipWithoutNative(t)
	r := rng.New(11, 0)
	// Odd lengths, so vector loops leave remainders; values wide enough to
	// reach exp32's clamps; and the special values.
	x := randFloats32(r, 1001)
	for i := range x {
		x[i] *= 40
	}
	x = append(x, 0, float32(math.Copysign(0, -1)), 87, -87, 88.7, -104, float32(math.Inf(1)), float32(math.Inf(-1)))
	dy := randFloats32(r, len(x))
	for _, kind := range []actKind{actReLU, actLeakyReLU, actSiLU, actSigmoid} {
		want, got := make([]float32, len(x)), make([]float32, len(x))
		actForwardRange(kind, 0.2, x, want)
		actForward32(kind, 0.2, x, got)
		sameBits(t, fmt.Sprintf("act %d forward", kind), got, want)
		actBackwardRange(kind, 0.2, x, dy, want)
		actBackward32(kind, 0.2, x, dy, got)
		sameBits(t, fmt.Sprintf("act %d backward", kind), got, want)
	}

	// The Bernoulli loss on the same logits (NaN and ±Inf among them) and
	// targets in [0, 1]; sums of every length mod 8.
	targets := randFloats32(r, len(x))
	for i := range targets {
		targets[i] = float32(math.Abs(float64(targets[i])))
	}
	lx := append(slices.Clone(x), float32(math.NaN()))
	targets = append(targets, 0.5)
	for _, n := range []int{0, 1, 7, 8, 9, 1001, len(lx) - 1, len(lx)} {
		got, want := bernoulliSum32(lx[:n], targets[:n]), bernoulliSumRange(lx[:n], targets[:n])
		if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("bernoulli sum of %d: native %v, Go %v", n, got, want)
		}
	}
	wantR, gotR := make([]float32, len(lx)), make([]float32, len(lx))
	bernoulliGradRange(lx, targets, wantR, 0.37)
	bernoulliGrad32(lx, targets, gotR, 0.37)
	sameBits(t, "bernoulli gradient", gotR, wantR)

	n := 1003
	w, g, m, v := randFloats32(r, n), randFloats32(r, n), randFloats32(r, n), randFloats32(r, n)
	for i := range v {
		v[i] *= v[i]
	}
	w0, m0, v0 := slices.Clone(w), slices.Clone(m), slices.Clone(v)
	adamKernel32(w, g, m, v, 0.9, 0.999, float32(1-0.9), float32(1-0.999), 1e-8, 2e-4, 0.3)
	// Each vector path (a path the CPU lacks runs the scalar loop).
	for _, path := range []int{-1, 16, 8, 0} {
		w2, m2, v2 := slices.Clone(w0), slices.Clone(m0), slices.Clone(v0)
		adam32Path(w2, g, m2, v2, 0.9, 0.999, float32(1-0.9), float32(1-0.999), 1e-8, 2e-4, 0.3, path)
		sameBits(t, fmt.Sprintf("adam path %d: w", path), w2, w)
		sameBits(t, fmt.Sprintf("adam path %d: m", path), m2, m)
		sameBits(t, fmt.Sprintf("adam path %d: v", path), v2, v)
	}

	for _, c := range []struct{ c, h, w, k, s, p int }{
		{3, 28, 28, 3, 1, 1}, {2, 14, 14, 4, 2, 1}, {3, 13, 11, 3, 2, 1}, {2, 7, 7, 3, 1, 0}, {4, 5, 6, 1, 1, 0}, {1, 3, 3, 5, 1, 2},
	} {
		cg := newConvGeom([]int{1, c.c, c.h, c.w}, []int{1, c.c, c.k, c.k}, c.s, c.p)
		img := randFloats32(r, c.c*c.h*c.w)
		cols := c.c * c.k * c.k * cg.oh * cg.ow
		want, got := make([]float32, cols), randFloats32(r, cols) // stale values must be overwritten
		im2col(&cg, img, want)
		im2col32(&cg, img, got)
		sameBits(t, fmt.Sprintf("im2col %+v", c), got, want)
		dcol := randFloats32(r, cols)
		dwant, dgot := make([]float32, len(img)), randFloats32(r, len(img))
		col2im(&cg, dcol, dwant)
		col2im32(&cg, dcol, dgot)
		sameBits(t, fmt.Sprintf("col2im %+v", c), dgot, dwant)
	}
}

// The normalisation kernels, on GroupNorm and BatchNorm shapes whose
// spatial sizes leave vector remainders (49 = 6·8+1, 13).
func TestNativeNormKernelsMatchGoBitForBit(t *testing.T) {
	skipWithoutNative(t)
	r := rng.New(12, 0)
	for _, c := range []struct{ n, c, s, groups int }{{4, 16, 49, 8}, {3, 8, 13, 4}, {2, 32, 64, 8}, {5, 6, 1, 3}} {
		size := c.n * c.c * c.s
		x, dy, gamma, beta := randFloats32(r, size), randFloats32(r, size), randFloats32(r, c.c), randFloats32(r, c.c)
		for i := range x {
			x[i] = 3*x[i] + 1.5 // an offset mean, so the centring matters
		}
		for _, v := range [][3]int{{1, c.n * c.groups, c.c / c.groups * c.s}, {c.n, c.c, c.s}} { // GroupNorm's and BatchNorm's views
			outer, k, s := v[0], v[1], v[2]
			m1, v1, m2, v2 := make([]float64, k), make([]float64, k), make([]float64, k), make([]float64, k)
			momentsRange(x, outer, k, s, 0, k, m1, v1)
			moments32(x, outer, k, s, 0, k, m2, v2)
			if !slices.Equal(m1, m2) || !slices.Equal(v1, v2) {
				t.Errorf("moments %+v view %v: native differs from Go", c, v)
			}
		}
		mean, invStd := groupStats(x, c.n, c.c, c.s, c.groups, 1e-5)
		want, got := make([]float32, size), make([]float32, size)
		normAffineRange(x, gamma, beta, want, mean, invStd, c.c, c.s, c.groups, c.c/c.groups, 0, c.n*c.c)
		normAffine32(x, gamma, beta, got, mean, invStd, c.c, c.s, c.groups, c.c/c.groups, 0, c.n*c.c)
		sameBits(t, fmt.Sprintf("normAffine %+v", c), got, want)
		gnDxRange(x, gamma, dy, want, mean, invStd, c.c, c.s, c.groups, 0, c.n*c.groups)
		gnDx32(x, gamma, dy, got, mean, invStd, c.c, c.s, c.groups, 0, c.n*c.groups)
		sameBits(t, fmt.Sprintf("GroupNorm dx %+v", c), got, want)
		for _, wrt := range []int{1, 2} {
			pw, pg := make([]float32, c.c), make([]float32, c.c)
			gnParamGradsRange(wrt, x, dy, pw, mean, invStd, c.n, c.c, c.s, c.groups, 0, c.c)
			gnParamGrads32(wrt, x, dy, pg, mean, invStd, c.n, c.c, c.s, c.groups, 0, c.c)
			sameBits(t, fmt.Sprintf("GroupNorm grad %d %+v", wrt, c), pg, pw)
		}
	}
}

// skipWithoutNative skips a test of the C kernels in the pure-Go build
// (CGO_ENABLED=0), which has none: there the float32 work runs on the Go
// twins alone and the convolutions through im2col.
func skipWithoutNative(t *testing.T) {
	t.Helper()
	if !nativeKernels {
		t.Skip("pure-Go build (CGO_ENABLED=0): no C kernels to compare with their Go twins")
	}
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Errorf("%s: element %d = %v (%#x), Go kernel gives %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			return
		}
	}
}

// The direct 3×3 convolutions (native build) against a float64 evaluation
// of the sums, and their AVX2 paths against the portable one bit for bit:
// the channel-vectorised kernel with one, two and three blocks of 8, the
// row kernel for widths of 1 to 4 vectors with short last tiles, and widths
// past 32 (portable only). dx through the kernel is checked against col2im;
// dW's kernel like the forward one.
func TestDirectConv3x3(t *testing.T) {
	skipWithoutNative(t)
	r := rng.New(13, 0)
	for _, c := range []struct{ n, c, h, w, o int }{{2, 3, 28, 28, 16}, {3, 5, 14, 14, 7}, {2, 16, 7, 7, 13}, {1, 4, 9, 20, 5}, {1, 2, 5, 33, 3}, {2, 1, 4, 4, 1}, {1, 2, 200, 6, 3}, {1, 3, 5, 5, 17}, {1, 3, 6, 28, 5}, {1, 3, 5, 5, 24}, {2, 4, 14, 14, 8}, {2, 4, 9, 9, 32}, {1, 2, 6, 6, 48}, {11, 3, 5, 5, 16}} {
		cg := newConvGeom([]int{c.n, c.c, c.h, c.w}, []int{c.o, c.c, 3, 3}, 1, 1)
		x, w, b := randFloats32(r, c.n*c.c*c.h*c.w), randFloats32(r, c.o*c.c*9), randFloats32(r, c.o)
		fast, slow := make([]float32, c.n*c.o*c.h*c.w), make([]float32, c.n*c.o*c.h*c.w)
		// The vector paths take whole blocks of 8 channels, or rows up to 32 wide.
		vector := conv3x3(&cg, x, w, b, fast, false)
		if !conv3x3(&cg, x, w, b, slow, true) || vector != (directConv && (c.o%8 == 0 || c.w <= 32)) {
			t.Fatalf("conv3x3 %+v: took it %v (portable) / %v (vector)", c, true, vector)
		}
		if vector {
			sameBits(t, fmt.Sprintf("conv3x3 %+v fast vs portable", c), fast, slow)
		}
		at := func(img []float32, ch, nch, i, j int) float64 {
			if i < 0 || i >= c.h || j < 0 || j >= c.w {
				return 0
			}
			return float64(img[(ch*c.h+i)*c.w+j])
		}
		for n := 0; n < c.n; n++ {
			xn := x[n*c.c*c.h*c.w:]
			for o := 0; o < c.o; o++ {
				for i := 0; i < c.h; i++ {
					for j := 0; j < c.w; j++ {
						want := float64(b[o])
						for ch := 0; ch < c.c; ch++ {
							for u := 0; u < 3; u++ {
								for v := 0; v < 3; v++ {
									want += float64(w[((o*c.c+ch)*3+u)*3+v]) * at(xn, ch, c.c, i+u-1, j+v-1)
								}
							}
						}
						got := float64(slow[((n*c.o+o)*c.h+i)*c.w+j])
						if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
							t.Fatalf("conv3x3 %+v: y[%d,%d,%d,%d] = %g, want %g", c, n, o, i, j, got, want)
						}
					}
				}
			}
		}
		// dx through the direct kernel against the im2col path's col2im.
		dy := randFloats32(r, len(fast))
		want, got := make([]float32, len(x)), make([]float32, len(x))
		convDxIm2col(&cg, w, dy, want)
		if !conv3Grad(&cg, w, dy, got) {
			if directConv && (c.c%8 == 0 || c.w <= 32) {
				t.Fatalf("conv3Grad %+v refused a geometry the vector paths take", c)
			}
			copy(got, want)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("conv3Grad %+v: dx[%d] = %g, im2col gives %g", c, i, got[i], want[i])
			}
		}
		// dW: fast against portable bit for bit, and against a float64 evaluation.
		dwFast, dwSlow := make([]float32, len(w)), make([]float32, len(w))
		fastDW := convDW(&cg, x, dy, dwFast, false) // vector path only for whole blocks of 8
		if !convDW(&cg, x, dy, dwSlow, true) || fastDW != (directConv && c.o%8 == 0) {
			t.Fatalf("convDW %+v: took it %v (portable) / %v (vector)", c, true, fastDW)
		}
		if fastDW {
			sameBits(t, fmt.Sprintf("convDW %+v fast vs portable", c), dwFast, dwSlow)
		}
		for o := 0; o < c.o; o++ {
			for ch := 0; ch < c.c; ch++ {
				for u := 0; u < 3; u++ {
					for v := 0; v < 3; v++ {
						want := 0.0
						for n := 0; n < c.n; n++ {
							for i := 0; i < c.h; i++ {
								for j := 0; j < c.w; j++ {
									want += float64(dy[((n*c.o+o)*c.h+i)*c.w+j]) * at(x[n*c.c*c.h*c.w:], ch, c.c, i+u-1, j+v-1)
								}
							}
						}
						got := float64(dwSlow[((o*c.c+ch)*3+u)*3+v])
						if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
							t.Fatalf("convDW %+v: dW[%d,%d,%d,%d] = %g, want %g", c, o, ch, u, v, got, want)
						}
					}
				}
			}
		}
	}
}

// The 4×4 stride-2 convolution's direct kernels (native build): forward,
// dW and dx against float64 evaluations, their AVX2 paths against the portable
// one bit for bit, and refusals where channels are not whole blocks of 8.
func TestDirectConvK4S2(t *testing.T) {
	skipWithoutNative(t)
	r := rng.New(14, 0)
	for _, c := range []struct{ n, c, h, w, o int }{{2, 8, 14, 14, 16}, {1, 16, 6, 8, 8}, {2, 3, 10, 10, 24}, {1, 8, 28, 28, 8}, {1, 8, 6, 6, 5}} {
		cg := newConvGeom([]int{c.n, c.c, c.h, c.w}, []int{c.o, c.c, 4, 4}, 2, 1)
		x, w, b := randFloats32(r, c.n*c.c*c.h*c.w), randFloats32(r, c.o*c.c*16), randFloats32(r, c.o)
		ylen := c.n * c.o * cg.oh * cg.ow
		fast, slow := make([]float32, ylen), make([]float32, ylen)
		// The vector paths run where the CPU has them; the portable ones anywhere.
		if ok := convK4S2(&cg, x, w, b, fast, false); ok != (directConv && c.o%8 == 0) {
			t.Fatalf("convK4S2 %+v: took it %v", c, ok)
		} else if convK4S2(&cg, x, w, b, slow, true) {
			if ok {
				sameBits(t, fmt.Sprintf("convK4S2 %+v fast vs portable", c), fast, slow)
			}
			for n := 0; n < c.n; n++ {
				for o := 0; o < c.o; o++ {
					for i := 0; i < cg.oh; i++ {
						for j := 0; j < cg.ow; j++ {
							want := float64(b[o])
							for ch := 0; ch < c.c; ch++ {
								for u := 0; u < 4; u++ {
									for v := 0; v < 4; v++ {
										ih, iw := 2*i-1+u, 2*j-1+v
										if ih >= 0 && ih < c.h && iw >= 0 && iw < c.w {
											want += float64(w[((o*c.c+ch)*4+u)*4+v]) * float64(x[((n*c.c+ch)*c.h+ih)*c.w+iw])
										}
									}
								}
							}
							got := float64(slow[((n*c.o+o)*cg.oh+i)*cg.ow+j])
							if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
								t.Fatalf("convK4S2 %+v: y[%d,%d,%d,%d] = %g, want %g", c, n, o, i, j, got, want)
							}
						}
					}
				}
			}
		}
		dy := randFloats32(r, ylen)
		dwFast, dwSlow := make([]float32, len(w)), make([]float32, len(w))
		if ok := convDW(&cg, x, dy, dwFast, false); ok != (directConv && c.o%8 == 0) {
			t.Fatalf("convDW %+v: took it %v", c, ok)
		} else if convDW(&cg, x, dy, dwSlow, true) {
			if ok {
				sameBits(t, fmt.Sprintf("convDW %+v fast vs portable", c), dwFast, dwSlow)
			}
			for o := 0; o < c.o; o++ {
				for ch := 0; ch < c.c; ch++ {
					for u := 0; u < 4; u++ {
						for v := 0; v < 4; v++ {
							want := 0.0
							for n := 0; n < c.n; n++ {
								for i := 0; i < cg.oh; i++ {
									for j := 0; j < cg.ow; j++ {
										ih, iw := 2*i-1+u, 2*j-1+v
										if ih >= 0 && ih < c.h && iw >= 0 && iw < c.w {
											want += float64(dy[((n*c.o+o)*cg.oh+i)*cg.ow+j]) * float64(x[((n*c.c+ch)*c.h+ih)*c.w+iw])
										}
									}
								}
							}
							got := float64(dwSlow[((o*c.c+ch)*4+u)*4+v])
							if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
								t.Fatalf("convDW %+v: dW[%d,%d,%d,%d] = %g, want %g", c, o, ch, u, v, got, want)
							}
						}
					}
				}
			}
		}
		dxFast, dxSlow := make([]float32, len(x)), make([]float32, len(x))
		ok := convK4S2Grad(&cg, w, dy, dxFast, false)
		if ok != (directConv && c.c%8 == 0) {
			t.Fatalf("convK4S2Grad %+v: took it %v", c, ok)
		}
		if !convK4S2Grad(&cg, w, dy, dxSlow, true) {
			continue
		}
		if ok {
			sameBits(t, fmt.Sprintf("convK4S2Grad %+v fast vs portable", c), dxFast, dxSlow)
		}
		want := make([]float64, len(x))
		for n := 0; n < c.n; n++ {
			for o := 0; o < c.o; o++ {
				for i := 0; i < cg.oh; i++ {
					for j := 0; j < cg.ow; j++ {
						d := float64(dy[((n*c.o+o)*cg.oh+i)*cg.ow+j])
						for ch := 0; ch < c.c; ch++ {
							for u := 0; u < 4; u++ {
								for v := 0; v < 4; v++ {
									ih, iw := 2*i-1+u, 2*j-1+v
									if ih >= 0 && ih < c.h && iw >= 0 && iw < c.w {
										want[((n*c.c+ch)*c.h+ih)*c.w+iw] += float64(w[((o*c.c+ch)*4+u)*4+v]) * d
									}
								}
							}
						}
					}
				}
			}
		}
		for i, wv := range want {
			if math.Abs(float64(dxSlow[i])-wv) > 1e-4*(1+math.Abs(wv)) {
				t.Fatalf("convK4S2Grad %+v: dx[%d] = %g, want %g", c, i, dxSlow[i], wv)
			}
		}
	}
}
