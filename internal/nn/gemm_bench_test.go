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

// BenchmarkConvForward times the float32 convolution kernels alone at the
// DDPM U-Net's shapes (batch 64), against the peer's F.conv2d at the same.
func BenchmarkConvForward(b *testing.B) {
	for _, s := range []struct{ c, hw, o int }{{16, 28, 16}, {32, 14, 32}, {64, 7, 64}, {48, 28, 16}} {
		xs, ws := []int{64, s.c, s.hw, s.hw}, []int{s.o, s.c, 3, 3}
		cg := newConvGeom(xs, ws, 1, 1)
		x, w, bias := make([]float32, 64*s.c*s.hw*s.hw), make([]float32, s.o*s.c*9), make([]float32, s.o)
		y := make([]float32, 64*s.o*s.hw*s.hw)
		g := make([]float32, len(w))
		b.Run(fmt.Sprintf("fwd%dx%d@%d", s.c, s.o, s.hw), func(b *testing.B) {
			for range b.N {
				convForward(&cg, x, w, bias, y)
			}
			b.ReportMetric(float64(2*len(y)*s.c*9)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("dx%dx%d@%d", s.c, s.o, s.hw), func(b *testing.B) {
			for range b.N {
				convBackward(&cg, 0, x, w, y, x)
			}
			b.ReportMetric(float64(2*len(y)*s.c*9)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("dw%dx%d@%d", s.c, s.o, s.hw), func(b *testing.B) {
			for range b.N {
				convBackward(&cg, 1, x, w, y, g)
			}
			b.ReportMetric(float64(2*len(y)*s.c*9)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
