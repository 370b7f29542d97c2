//go:build openblas && cgo

package nn

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

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
	BLASName = "OpenBLAS (gonum netlib, cgo), 1 thread per call"
	openBLAS = true
}
