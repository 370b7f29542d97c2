package nn

// BLASName says which BLAS the matrix products run on; the openblas build
// tag replaces it (and the BLAS itself) in blas_openblas.go.
var BLASName = "gonum (pure Go)"

// openBLAS is set by the openblas build (blas_openblas.go).
var openBLAS = false

// BuildHint is one line telling the user of a slower build how to get the
// faster one, or "" for the fastest build there is (C kernels and
// OpenBLAS). `gentri env` and `gentri train` print it, so that a machine
// without a C compiler or OpenBLAS does not run several times slower
// unnoticed.
func BuildHint() string { return buildHint(nativeKernels, openBLAS) }

func buildHint(native, openblas bool) string {
	switch {
	case !native:
		return "built without cgo (CGO_ENABLED=0 or no C compiler), so the kernels are pure Go and the matrix products gonum's; " +
			"install gcc and OpenBLAS (apt-get install gcc libopenblas-dev) and rebuild with `make build` for C kernels and OpenBLAS"
	case !openblas:
		return "matrix products on pure-Go gonum; install OpenBLAS (apt-get install libopenblas-dev) and rebuild with `make build` " +
			"(go build -tags openblas) for faster ones"
	}
	return ""
}
