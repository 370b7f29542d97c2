//go:build openblas

package nn

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/netlib/blas/netlib"
	G "gorgonia.org/gorgonia"
)

// With the openblas build tag every matrix product (Gorgonia's and the
// custom ops' through G.WhichBLAS) runs on OpenBLAS via cgo, about 6x
// gonum's pure-Go sgemm on this kind of machine (field guide §6). The cgo
// directive above links libopenblas, so `go build -tags openblas` needs no
// CGO_LDFLAGS.
func init() {
	G.Use(netlib.Implementation{})
	BLASName = "OpenBLAS (gonum netlib, cgo)"
}
