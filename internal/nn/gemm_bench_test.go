package nn

import (
	"fmt"
	"testing"
)

// BenchmarkGEMM times the matrix products of the default models as gentri
// runs them (rowParts over goroutines, one BLAS thread each), to set against
// the peer's torch.mm at the same shapes.
func BenchmarkGEMM(b *testing.B) {
	for _, s := range [][3]int{{128, 784, 512}, {128, 512, 512}, {1000, 512, 512}, {1000, 512, 784}} {
		m, k, n := s[0], s[1], s[2]
		x, w, y := make([]float32, m*k), make([]float32, n*k), make([]float32, m*n)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		for i := range w {
			w[i] = float32(i%5) - 2
		}
		bias := make([]float32, n)
		b.Run(fmt.Sprintf("%dx%dx%d", m, k, n), func(b *testing.B) {
			for range b.N {
				linearForward(x, w, bias, y, m, k, n)
			}
			b.ReportMetric(float64(2*m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
