//go:build !cgo

package nn

// The pure-Go build (CGO_ENABLED=0, or no C compiler) runs the Go twins of
// native.c's kernels.
const nativeKernels = false

// KernelsName says which kernels run the float32 work.
func KernelsName() string { return "pure Go (no cgo; convolutions by im2col)" }

func actForward32(kind actKind, alpha float32, x, y []float32) {
	actForwardRange(kind, alpha, x, y)
}

func actBackward32(kind actKind, alpha float32, x, dy, dx []float32) {
	actBackwardRange(kind, alpha, x, dy, dx)
}

func bernoulliSum32(l, x []float32) float64        { return bernoulliSumRange(l, x) }
func bernoulliGrad32(l, x, r []float32, g float32) { bernoulliGradRange(l, x, r, g) }

func adam32(w, g, m, v []float32, f1, f2, c1, c2, e, st, bc float32) {
	adamKernel32(w, g, m, v, f1, f2, c1, c2, e, st, bc)
}

func adam32Path(w, g, m, v []float32, f1, f2, c1, c2, e, st, bc float32, _ int) {
	adamKernel32(w, g, m, v, f1, f2, c1, c2, e, st, bc)
}

func im2col32(cg *convGeom, x, col []float32)   { im2col(cg, x, col) }
func col2im32(cg *convGeom, dcol, dx []float32) { col2im(cg, dcol, dx) }

func moments32(x []float32, outer, k, s, lo, hi int, mean, variance []float64) {
	momentsRange(x, outer, k, s, lo, hi, mean, variance)
}

func normAffine32(x, gamma, beta, y []float32, mean, invStd []float64, c, s, perSample, perStat, lo, hi int) {
	normAffineRange(x, gamma, beta, y, mean, invStd, c, s, perSample, perStat, lo, hi)
}

func gnParamGrads32(wrt int, x, dy, r []float32, mean, invStd []float64, n, c, s, groups, lo, hi int) {
	gnParamGradsRange(wrt, x, dy, r, mean, invStd, n, c, s, groups, lo, hi)
}

func gnDx32(x, gamma, dy, r []float32, mean, invStd []float64, c, s, groups, lo, hi int) {
	gnDxRange(x, gamma, dy, r, mean, invStd, c, s, groups, lo, hi)
}

// conv3x3 has no Go twin: the pure-Go build convolves through im2col.
func conv3x3(cg *convGeom, x, w, b, y []float32, generic bool) bool { return false }

// convDW has no Go twin: the pure-Go build takes dW through im2col.
func convDW(cg *convGeom, x, dy, dw []float32, generic bool) bool { return false }

// directConv: the pure-Go build has no direct convolutions.
const directConv = false

// directForward and directDx: no direct kernels, so conv.go uses im2col.
func directForward(cg *convGeom, x, w, b, y []float32) bool { return false }
func directDx(cg *convGeom, w, dy, dx []float32) bool       { return false }

// conv3Grad, convK4S2 and convK4S2Grad have no Go twins: the pure-Go build
// convolves through im2col.
func conv3Grad(cg *convGeom, w, dy, dx []float32) bool                  { return false }
func convK4S2(cg *convGeom, x, w, b, y []float32, generic bool) bool    { return false }
func convK4S2Grad(cg *convGeom, w, dy, dx []float32, generic bool) bool { return false }
