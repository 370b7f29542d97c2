package nn

// BLASName says which BLAS the matrix products run on; the openblas build
// tag replaces it (and the BLAS itself) in blas_openblas.go.
var BLASName = "gonum (pure Go)"
