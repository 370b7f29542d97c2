package models

import (
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// BenchmarkCGANTrainStep times one D step plus one G step of the default
// cGAN at the peer's batch of 64.
func BenchmarkCGANTrainStep(b *testing.B) {
	m := NewCGANModel(CGANOptions{Latent: 64, Channels: 64, Classes: 10, Seed: 1, LRG: 2e-4, LRD: 2e-4,
		Beta1: 0.5, Beta2: 0.999, Eps: 1e-8, EMA: 0.999, Loss: "ns"})
	const batch = 64
	r := rng.New(1, 0)
	x := make([]float32, batch*Height*Width)
	rng.Uniform(r, x, 0, 1)
	labels := make([]uint8, batch)
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	bt := Batch{N: batch, X: x, Labels: labels}
	if _, err := m.TrainStep(bt, r); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.TrainStep(bt, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/step")
}
