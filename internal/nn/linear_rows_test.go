package nn

import (
	"fmt"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// linearShapes are the (in, out) of the Linear layers whose rows are
// samples at inference: the VAE decoder (20-512-512-784), the cGAN
// generator's first layer (latent 64 + 10 classes -> 2·64·7·7) and the
// classifier's head (2·32·7·7 -> 128 -> 10), as in configs/.
var linearShapes = [][2]int{{20, 512}, {512, 512}, {512, 784}, {74, 6272}, {3136, 128}, {128, 10}}

// A row of y = x·Wᵀ + b must not depend on how many rows are in the product
// or where the row sits among them: a sample drawn alone must have the bytes
// it has in a batch. Products of M = 1..40 rows and then every 13th M up to
// 300 (a sweep of every M to 300 takes 45 s here and found nothing more) are
// compared, row by row and bit for bit, with each row computed alone.
func TestLinearRowsAreIndependentOfBatch(t *testing.T) {
	if !openBLAS {
		t.Skip("matrix products on gonum, which computes each row of a product alone; " +
			"the property is at risk with OpenBLAS's tiled kernels (go test -tags openblas)")
	}
	const maxRows = 300
	for _, s := range linearShapes {
		t.Run(fmt.Sprintf("float32/%dx%d", s[0], s[1]), func(t *testing.T) { checkRowsIndependent[float32](t, s[0], s[1], maxRows) })
		t.Run(fmt.Sprintf("float64/%dx%d", s[0], s[1]), func(t *testing.T) { checkRowsIndependent[float64](t, s[0], s[1], maxRows) })
	}
}

func checkRowsIndependent[T float](t *testing.T, in, out, maxRows int) {
	r := rng.New(uint64(in*10000+out), 0)
	x, w, b := randSlice[T](r, maxRows*in), randSlice[T](r, out*in), randSlice[T](r, out)
	alone := make([]T, maxRows*out)
	for i := 0; i < maxRows; i++ {
		linearForward(x[i*in:(i+1)*in], w, b, alone[i*out:(i+1)*out], 1, in, out)
	}
	y := make([]T, maxRows*out)
	for m := 1; m <= maxRows; m = nextRows(m) {
		linearForward(x[:m*in], w, b, y[:m*out], m, in, out)
		for i := 0; i < m; i++ {
			for j := 0; j < out; j++ {
				if y[i*out+j] != alone[i*out+j] {
					t.Fatalf("%d rows: row %d, column %d is %v, alone %v", m, i, j, y[i*out+j], alone[i*out+j])
				}
			}
		}
	}
}

func nextRows(m int) int {
	if m < 40 {
		return m + 1
	}
	return m + 13
}

func randSlice[T float](r *rng.RNG, n int) []T {
	v := make([]float64, n)
	rng.Normal(r, v)
	out := make([]T, n)
	for i, f := range v {
		out[i] = T(f)
	}
	return out
}
