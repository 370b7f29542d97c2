//go:build cgo

package nn

// #cgo CFLAGS: -O3
// #cgo LDFLAGS: -lm
// #include "native.h"
import "C"

import (
	"sync"
	"unsafe"
)

// The native build, which is every build with cgo (the go command turns
// cgo off by itself where it finds no C compiler), runs the float32 kernels
// in C (native.c): the element-wise ones vectorised by GCC, with Go twins
// in the pure-Go build (native_go.go, CGO_ENABLED=0) that give the same
// bits; and, on CPUs with AVX2 and FMA, direct convolutions where the
// pure-Go build goes through im2col and a matrix product. The kernels need
// no BLAS: OpenBLAS (blas_openblas.go) is a tag of its own, and the
// convolutions, most of the cGAN's and the DDPM's work, run as fast
// without it.
const nativeKernels = true

// KernelsName says which kernels run the float32 work, for `gentri env` and
// the hardware line of evaluation records.
func KernelsName() string {
	if directConv {
		return "native C (GCC-vectorised; direct convolutions with AVX2+FMA)"
	}
	return "native C (GCC-vectorised; convolutions by im2col: no AVX2+FMA)"
}

func f32p(s []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(s))) }

func actForward32(kind actKind, alpha float32, x, y []float32) {
	if len(x) == 0 {
		return
	}
	y = y[:len(x)]
	C.gentri_act_fwd(C.int(kind), C.float(alpha), f32p(x), f32p(y), C.long(len(x)))
}

func actBackward32(kind actKind, alpha float32, x, dy, dx []float32) {
	if len(x) == 0 {
		return
	}
	dy, dx = dy[:len(x)], dx[:len(x)]
	C.gentri_act_bwd(C.int(kind), C.float(alpha), f32p(x), f32p(dy), f32p(dx), C.long(len(x)))
}

func bernoulliSum32(l, x []float32) float64 {
	if len(l) == 0 {
		return 0
	}
	x = x[:len(l)]
	return float64(C.gentri_bernoulli_sum(f32p(l), f32p(x), C.long(len(l))))
}

func bernoulliGrad32(l, x, r []float32, g float32) {
	if len(l) == 0 {
		return
	}
	x, r = x[:len(l)], r[:len(l)]
	C.gentri_bernoulli_grad(f32p(l), f32p(x), f32p(r), C.float(g), C.long(len(l)))
}

func adam32(w, g, m, v []float32, f1, f2, c1, c2, e, st, bc float32) {
	adam32Path(w, g, m, v, f1, f2, c1, c2, e, st, bc, -1)
}

// adam32Path runs Adam's kernel on the vector path given (16, 8, 0 for
// scalar; −1 for the widest the CPU has), for the tests to check each.
func adam32Path(w, g, m, v []float32, f1, f2, c1, c2, e, st, bc float32, path int) {
	if len(w) == 0 {
		return
	}
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	C.gentri_adam32(f32p(w), f32p(g), f32p(m), f32p(v), C.long(len(w)),
		C.float(f1), C.float(f2), C.float(c1), C.float(c2), C.float(e), C.float(st), C.float(bc), C.int(path))
}

// convArgs packs a geometry for the C side: (c, h, w, k, stride, pad, oh,
// ow) and the column bounds.
func convArgs(cg *convGeom) (geom, lo, hi []C.long) {
	geom = []C.long{C.long(cg.c), C.long(cg.h), C.long(cg.w), C.long(cg.k), C.long(cg.stride), C.long(cg.pad), C.long(cg.oh), C.long(cg.ow)}
	lo, hi = make([]C.long, cg.k), make([]C.long, cg.k)
	for j := range lo {
		lo[j], hi[j] = C.long(cg.lo[j]), C.long(cg.hi[j])
	}
	return geom, lo, hi
}

func im2col32(cg *convGeom, x, col []float32) {
	x, col = x[:cg.c*cg.h*cg.w], col[:cg.c*cg.k*cg.k*cg.oh*cg.ow]
	geom, lo, hi := convArgs(cg)
	C.gentri_im2col(f32p(x), f32p(col), &geom[0], &lo[0], &hi[0])
}

func col2im32(cg *convGeom, dcol, dx []float32) {
	dx, dcol = dx[:cg.c*cg.h*cg.w], dcol[:cg.c*cg.k*cg.k*cg.oh*cg.ow]
	geom, lo, hi := convArgs(cg)
	C.gentri_col2im(f32p(dcol), f32p(dx), &geom[0], &lo[0], &hi[0])
}

func f64p(s []float64) *C.double { return (*C.double)(unsafe.Pointer(unsafe.SliceData(s))) }

func moments32(x []float32, outer, k, s, lo, hi int, mean, variance []float64) {
	x, mean, variance = x[:outer*k*s], mean[:k], variance[:k]
	C.gentri_moments(f32p(x), C.long(outer), C.long(k), C.long(s), C.long(lo), C.long(hi), f64p(mean), f64p(variance))
}

func normAffine32(x, gamma, beta, y []float32, mean, invStd []float64, c, s, perSample, perStat, lo, hi int) {
	_, _ = x[hi*s-1], y[hi*s-1]
	_, _ = gamma[c-1], beta[c-1]
	C.gentri_norm_affine(f32p(x), f32p(gamma), f32p(beta), f32p(y), f64p(mean), f64p(invStd),
		C.long(c), C.long(s), C.long(perSample), C.long(perStat), C.long(lo), C.long(hi))
}

func gnParamGrads32(wrt int, x, dy, r []float32, mean, invStd []float64, n, c, s, groups, lo, hi int) {
	_, _, _ = x[n*c*s-1], dy[n*c*s-1], r[c-1]
	C.gentri_gn_param_grads(C.int(wrt), f32p(x), f32p(dy), f32p(r), f64p(mean), f64p(invStd),
		C.long(n), C.long(c), C.long(s), C.long(groups), C.long(lo), C.long(hi))
}

func gnDx32(x, gamma, dy, r []float32, mean, invStd []float64, c, s, groups, lo, hi int) {
	_, _, _, _ = x[hi*(c/groups)*s-1], dy[hi*(c/groups)*s-1], r[hi*(c/groups)*s-1], gamma[c-1]
	C.gentri_gn_dx(f32p(x), f32p(gamma), f32p(dy), f32p(r), f64p(mean), f64p(invStd),
		C.long(c), C.long(s), C.long(groups), C.long(lo), C.long(hi))
}

// directConv says whether the CPU has the direct convolutions' vector paths
// (AVX2 and FMA); without them the convolutions go through im2col, faster
// than the kernels' portable paths (which the tests use as references).
var directConv = C.gentri_have_avx2_fma() != 0

// convScratch holds the direct convolutions' padded images and transposed
// gradients, reused across calls (one per goroutine at a time).
var convScratch sync.Pool

// getScratch returns a scratch buffer of at least n floats; putScratch
// gives it back.
func getScratch(n int) *[]float32 {
	buf, _ := convScratch.Get().(*[]float32)
	if buf == nil || len(*buf) < n {
		s := make([]float32, n)
		buf = &s
	}
	return buf
}

func putScratch(buf *[]float32) { convScratch.Put(buf) }

// cBool is a C int flag.
func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// directForward and directDx are conv.go's ways in: they run a float32
// convolution's forward pass or dx with a direct kernel and report true, or
// report false, doing nothing, where none applies (then im2col runs).
func directForward(cg *convGeom, x, w, b, y []float32) bool {
	return conv3x3(cg, x, w, b, y, false) || convK4S2(cg, x, w, b, y, false)
}

func directDx(cg *convGeom, w, dy, dx []float32) bool {
	return conv3Grad(cg, w, dy, dx) || convK4S2Grad(cg, w, dy, dx, false)
}

// conv3x3 computes a 3×3, stride-1, padding-1 convolution of float32 images
// with a direct kernel, images split over goroutines: the channel-vectorised
// one (gentri_conv_cv) for output channels in whole blocks of 8, the row one
// (gentri_conv3x3) for rows up to 32 wide. It reports false, doing nothing,
// elsewhere. generic forces the kernels' portable paths (for the tests).
func conv3x3(cg *convGeom, x, w, b, y []float32, generic bool) bool {
	if cg.k != 3 || cg.stride != 1 || cg.pad != 1 {
		return false
	}
	if !generic && !(directConv && (cg.o%8 == 0 || cg.w <= 32)) {
		return false // no vector path for it: im2col is faster than the portable one
	}
	if cg.o%8 == 0 { // whole blocks of 8 output channels: the channel-vectorised kernel
		conv3cv(cg, x, w, plainMap(cg.c, 3), b, y, generic)
		return true
	}
	img, out := cg.c*cg.h*cg.w, cg.o*cg.oh*cg.ow
	x, w, b, y = x[:cg.n*img], w[:cg.o*cg.c*9], b[:cg.o], y[:cg.n*out]
	need := int(C.gentri_conv3x3_scratch(C.long(cg.c), C.long(cg.h), C.long(cg.w)))
	parallelRange(cg.n, 1, func(lo, hi int) {
		buf := getScratch(need)
		C.gentri_conv3x3(f32p(x), f32p(w), f32p(b), f32p(y), f32p(*buf), C.long(lo), C.long(hi),
			C.long(cg.c), C.long(cg.h), C.long(cg.w), C.long(cg.o), cBool(generic))
		putScratch(buf)
	})
	return true
}

// conv3cv runs a 3×3, stride-1, padding-1 convolution with the
// channel-vectorised kernel, the weights read through wm.
func conv3cv(cg *convGeom, x, w []float32, wm wmap, b, y []float32, generic bool) {
	a := cvCall{c: cg.c, h: cg.h, w: cg.w, pad: 1, o: cg.o, k: 3, s: 1, oh: cg.oh, ow: cg.ow,
		ych: cg.oh * cg.ow, yrow: cg.ow, ycol: 1, yimg: cg.o * cg.oh * cg.ow}
	a.run(cg.n, x, w, wm, b, y, generic)
}

// conv3Grad computes dx of a 3×3, stride-1, padding-1 float32 convolution
// with a direct kernel, as the convolution of dy with the flipped,
// transposed weights K[c,o,u,v] = W[o,c,2−u,2−v]; it reports false, doing
// nothing, where no direct kernel applies.
func conv3Grad(cg *convGeom, w, dy, dx []float32) bool {
	if cg.k != 3 || cg.stride != 1 || cg.pad != 1 {
		return false
	}
	t := convGeom{n: cg.n, c: cg.o, h: cg.h, w: cg.w, o: cg.c, k: 3, stride: 1, pad: 1, oh: cg.h, ow: cg.w}
	if !directConv || !(t.o%8 == 0 || t.w <= 32) {
		return false // as in conv3x3
	}
	if t.o%8 == 0 { // tap (c, o, u, v) is W[o, c, 2−u, 2−v]
		conv3cv(&t, dy, w, wmap{8, 9, cg.c * 9, -3, -1}, nil, dx, false)
		return true
	}
	buf := getScratch(len(w) + cg.c)
	defer putScratch(buf)
	k, zero := (*buf)[:len(w)], (*buf)[len(w):len(w)+cg.c]
	clear(zero)
	for o := 0; o < cg.o; o++ {
		for c := 0; c < cg.c; c++ {
			for u := 0; u < 3; u++ {
				for v := 0; v < 3; v++ {
					k[((c*cg.o+o)*3+u)*3+v] = w[((o*cg.c+c)*3+2-u)*3+2-v]
				}
			}
		}
	}
	return conv3x3(&t, dy, k, zero, dx, false)
}

// convDW writes to dw the weight gradient of a float32 convolution with the
// direct kernel (gentri_conv_dw): 3×3 stride 1 and 4×4 stride 2, padding 1,
// output channels in whole blocks of 8. Like the im2col path it sums the
// batch as fixedParts partial sums, each over its images in order, added in
// order; the parts are kept (c, k, k, o), the kernel's layout, and
// transposed once as they are added. It reports false, doing nothing,
// elsewhere.
func convDW(cg *convGeom, x, dy, dw []float32, generic bool) bool {
	if !(cg.k == 3 && cg.stride == 1 || cg.k == 4 && cg.stride == 2) || cg.pad != 1 {
		return false
	}
	if !generic && !(directConv && cg.o%8 == 0) {
		return false // as in conv3x3
	}
	x, dy, dw = x[:cg.n*cg.c*cg.h*cg.w], dy[:cg.n*cg.o*cg.oh*cg.ow], dw[:cg.o*cg.c*cg.k*cg.k]
	parts, size, taps := min(cg.n, fixedParts), len(dw), cg.c*cg.k*cg.k
	partial := getScratch(parts * size)
	defer putScratch(partial)
	need := int(C.gentri_conv_dw_scratch(C.long(cg.c), C.long(cg.h), C.long(cg.w), 1, C.long(cg.o), C.long(cg.oh), C.long(cg.ow)))
	parallelRange(parts, 1, func(plo, phi int) {
		buf := getScratch(need)
		for part := plo; part < phi; part++ {
			acc := (*partial)[part*size : (part+1)*size]
			clear(acc)
			lo, hi := partBounds(cg.n, parts, part)
			C.gentri_conv_dw(f32p(x), f32p(dy), f32p(acc), f32p(*buf), C.long(lo), C.long(hi), C.long(cg.c), C.long(cg.h),
				C.long(cg.w), 1, C.long(cg.o), C.long(cg.k), C.long(cg.stride), C.long(cg.oh), C.long(cg.ow), cBool(generic))
		}
		putScratch(buf)
	})
	parallelRange(taps, 64, func(lo, hi int) {
		C.gentri_conv_dw_sum(f32p(*partial), C.long(parts), C.long(size), C.long(cg.o), C.long(taps), f32p(dw), C.long(lo), C.long(hi))
	})
	return true
}

// cvCall is one channel-vectorised convolution (gentri_conv_cv): images of
// c×h×w padded by pad, o output channels, a k×k window with stride s
// starting at start, oh×ow output pixels written with the given strides.
type cvCall struct {
	c, h, w, pad, o, k, s, start, oh, ow, ych, yrow, ycol, yoff, yimg int
}

// wmap says where tap (oc, ch, u, v) of a cvCall's weights lies in a weight
// slice: at base + oc·so + ch·sc + u·su + v·sv. W itself, its transpose and
// its flips (the dx kernels' weights) are all such maps of W, so they are
// re-laid straight from it, in C.
type wmap struct{ base, so, sc, su, sv int }

// plainMap is the map of weights stored (o, c, k, k).
func plainMap(c, k int) wmap { return wmap{0, c * k * k, k * k, k, 1} }

// span returns the lowest and highest index the map reads for o×c×k×k taps.
func (m wmap) span(o, c, k int) (lo, hi int) {
	lo, hi = m.base, m.base
	for _, d := range [][2]int{{m.so, o - 1}, {m.sc, c - 1}, {m.su, k - 1}, {m.sv, k - 1}} {
		if d[0] < 0 {
			lo += d[0] * d[1]
		} else {
			hi += d[0] * d[1]
		}
	}
	return lo, hi
}

// run computes the n images of x into y, split over goroutines, with the
// weights read from w through wm and bias b (nil: zeros). The weights are
// re-laid as gentri_conv_cv wants them, once per call, in a pooled buffer.
func (a cvCall) run(n int, x, w []float32, wm wmap, b, y []float32, generic bool) {
	_, _ = x[n*a.c*a.h*a.w-1], y[(n-1)*a.yimg+(a.o-1)*a.ych+a.yoff+(a.oh-1)*a.yrow+(a.ow-1)*a.ycol]
	lo, hi := wm.span(a.o, a.c, a.k)
	_, _ = w[lo], w[hi]
	lanes := int(C.gentri_cv_lanes(C.long(a.o), C.long(a.k), cBool(generic)))
	ol := (a.o + lanes - 1) / lanes * lanes
	nw := ol * a.c * a.k * a.k
	lay := getScratch(nw + ol)
	defer putScratch(lay)
	wt, bp := (*lay)[:nw], (*lay)[nw:nw+ol]
	C.gentri_cv_lay(f32p(w), C.long(wm.base), C.long(wm.so), C.long(wm.sc), C.long(wm.su), C.long(wm.sv),
		C.long(a.o), C.long(a.c), C.long(a.k), C.long(lanes), f32p(wt))
	clear(bp)
	copy(bp, b)
	need := a.c * (a.h + 2*a.pad) * (a.w + 2*a.pad)
	parallelRange(n, 1, func(lo, hi int) {
		buf := getScratch(need)
		C.gentri_conv_cv(f32p(x), f32p(wt), f32p(bp), f32p(y), f32p(*buf), C.long(lo), C.long(hi),
			C.long(a.c), C.long(a.h), C.long(a.w), C.long(a.pad), C.long(a.o), C.long(a.k), C.long(a.s),
			C.long(a.start), C.long(a.oh), C.long(a.ow), C.long(a.ych), C.long(a.yrow), C.long(a.ycol),
			C.long(a.yoff), C.long(a.yimg), C.long(lanes), cBool(generic))
		putScratch(buf)
	})
}

// convK4S2 computes the forward pass of a 4×4, stride-2, padding-1 float32
// convolution (the cGAN discriminator's) with the channel-vectorised kernel,
// where the output channels come in whole blocks of 8; it reports false,
// doing nothing, elsewhere.
func convK4S2(cg *convGeom, x, w, b, y []float32, generic bool) bool {
	if cg.k != 4 || cg.stride != 2 || cg.pad != 1 || cg.o%8 != 0 || !(directConv || generic) {
		return false
	}
	a := cvCall{c: cg.c, h: cg.h, w: cg.w, pad: 1, o: cg.o, k: 4, s: 2, oh: cg.oh, ow: cg.ow,
		ych: cg.oh * cg.ow, yrow: cg.ow, ycol: 1, yimg: cg.o * cg.oh * cg.ow}
	a.run(cg.n, x, w, plainMap(cg.c, 4), b, y, generic)
	return true
}

// convK4S2Grad computes dx of that convolution, for even image sizes and
// input channels in whole blocks of 8, as four 2×2 stride-1 convolutions of
// dy padded by 1, one per parity (a, b) of the dx pixel (2i+a, 2j+b):
//
//	dx[c, 2i+a, 2j+b] = Σ_o Σ_{r,t∈{0,1}} W[o, c, 3−a−2r, 3−b−2t]·dyPad[o, i+a+r, j+b+t].
func convK4S2Grad(cg *convGeom, w, dy, dx []float32, generic bool) bool {
	if cg.k != 4 || cg.stride != 2 || cg.pad != 1 || cg.c%8 != 0 || cg.h%2 != 0 || cg.w%2 != 0 ||
		cg.oh != cg.h/2 || cg.ow != cg.w/2 || !(directConv || generic) {
		return false
	}
	for a := 0; a < 2; a++ {
		for b := 0; b < 2; b++ {
			call := cvCall{c: cg.o, h: cg.oh, w: cg.ow, pad: 1, o: cg.c, k: 2, s: 1, start: a*(cg.ow+2) + b,
				oh: cg.oh, ow: cg.ow, ych: cg.h * cg.w, yrow: 2 * cg.w, ycol: 2, yoff: a*cg.w + b, yimg: cg.c * cg.h * cg.w}
			// tap (ch, oc, r, t) of the call is W[oc, ch, 3−a−2r, 3−b−2t]
			call.run(cg.n, dy, w, wmap{(3-a)*4 + 3 - b, 16, cg.c * 16, -8, -2}, nil, dx, generic)
		}
	}
	return true
}
