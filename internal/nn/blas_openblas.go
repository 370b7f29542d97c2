//go:build openblas && cgo

package nn

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// char *openblas_get_corename(void);
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// openBLASCore names the kernels OpenBLAS chose at load time, as
// openblas_get_corename reports them ("Haswell", "SkylakeX", ...). On unix,
// when it is the Prescott fallback on a newer CPU, blas_coretype.go's init
// starts the program again with better ones.
var openBLASCore = C.GoString(C.openblas_get_corename())

// With the openblas build tag every matrix product (Gorgonia's and the
// custom ops' through G.WhichBLAS) runs on OpenBLAS via cgo, about 6x
// gonum's pure-Go sgemm on this kind of machine (gemm_bench_test.go). The cgo
// directive above links libopenblas, so `go build -tags openblas` needs no
// CGO_LDFLAGS.
//
// OpenBLAS runs single-threaded: the kernels split their work over Go's
// goroutines themselves (parallel.go), and OpenBLAS's own threads, spinning
// while they wait, fought Go's scheduler for the cores (the cGAN step was
// 2.6x slower with two OpenBLAS threads on a busy machine).
func init() {
	C.openblas_set_num_threads(1)
	G.Use(netlib.Implementation{})
	linearRowBlock = openBLASRowBlock
	BLASName = "OpenBLAS (gonum netlib, cgo; " + openBLASCore + " kernels), 1 thread per call"
	openBLAS = true
}

// openBLASRowBlock is the row count of every forward Linear product
// (linearRowBlock). Measured on OpenBLAS 0.3.21's Haswell/Zen kernels
// (sgemm 8x4, dgemm 4x8, AVX2+FMA): with the batch as OpenBLAS's n, a call
// of 1, 2, 3, 4 or 8 rows (float32) or any even number of rows (float64)
// gives a row the same bits at every position; 12 or more mixes the 6-column
// halves of the n=12 tile, whose sums are ordered differently, and 5-7 mixes
// the n=4 tile (two accumulators) with the n=1..3 tiles (one). 8 is the
// largest that suits both.
const openBLASRowBlock = 8
