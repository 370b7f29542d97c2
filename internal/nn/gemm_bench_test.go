package nn

import (
	"fmt"
	"testing"
)

// BenchmarkGEMM times the matrix products of the default models as gentri
// runs them (rowParts over goroutines, one BLAS thread each), to set against
// the reference's torch.mm at the same shapes.
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

// BenchmarkConv times the float32 convolution kernels alone (forward, dx,
// dW) at the DDPM U-Net's and the cGAN's shapes (batch 64), to set against
// the reference's F.conv2d at the same.
func BenchmarkConv(b *testing.B) {
	for _, s := range []struct{ c, hw, o, k, s int }{
		{16, 28, 16, 3, 1}, {32, 14, 32, 3, 1}, {64, 7, 64, 3, 1}, {48, 28, 16, 3, 1}, // DDPM
		{1, 28, 64, 4, 2}, {64, 14, 128, 4, 2}, {128, 14, 64, 3, 1}, {64, 28, 1, 3, 1}, // cGAN
	} {
		xs, ws := []int{64, s.c, s.hw, s.hw}, []int{s.o, s.c, s.k, s.k}
		cg := newConvGeom(xs, ws, s.s, 1)
		x, w, bias := make([]float32, 64*s.c*s.hw*s.hw), make([]float32, s.o*s.c*s.k*s.k), make([]float32, s.o)
		y := make([]float32, 64*s.o*cg.oh*cg.ow)
		g := make([]float32, len(w))
		flops := float64(2 * len(y) * s.c * s.k * s.k)
		for wrt, name := range []string{"fwd", "dx", "dw"} {
			b.Run(fmt.Sprintf("%s%dx%d@%dk%ds%d", name, s.c, s.o, s.hw, s.k, s.s), func(b *testing.B) {
				for range b.N {
					switch wrt {
					case 0:
						convForward(&cg, x, w, bias, y)
					case 1:
						convBackward(&cg, 0, x, w, y, x)
					default:
						convBackward(&cg, 1, x, w, y, g)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
