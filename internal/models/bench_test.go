package models

import (
	"slices"
	"testing"
	"time"

	"github.com/gentri/gentri/internal/rng"
)

// Benchmarks of the default model shapes, the same work the PyTorch reference
// (bench/torch_reference.py) times; scripts/bench.sh (`make bench`)
// runs them next to it and prints the ratios. Each benchmark reports
// "ms/step" (one training step) or "ms/1000samples" so bench.sh can pair
// them with the reference's figures, measured as the reference measures them (see
// medianRun). To add a model, add a row to benchModels.

type benchModel struct {
	name  string
	new   func() Model
	batch int // training batch size of the default config
}

var benchModels = []benchModel{
	{"VAE", func() Model { return NewVAEModel(784, 512, 20, 1, 1e-3, 0.9, 0.999, 1e-8) }, 128},
	{"CGAN", func() Model {
		return NewCGANModel(CGANOptions{Latent: 64, Channels: 64, Classes: 10, Seed: 1, LRG: 2e-4, LRD: 2e-4,
			Beta1: 0.5, Beta2: 0.999, Eps: 1e-8, EMA: 0.999, Loss: "ns"})
	}, 64},
}

// benchBatch is a fixed random binary batch, like the reference's torch.rand(n, 784).round().
func benchBatch(n int) Batch {
	r := rng.New(7, 0)
	x := make([]float32, n*784)
	for i := range x {
		if r.Float64() >= 0.5 {
			x[i] = 1
		}
	}
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	return Batch{N: n, X: x, Labels: labels}
}

// medianRun measures fn as the reference's bench() does: three untimed runs
// (building graphs, touching buffers), then b.N timed ones, and the median
// seconds of one. A single slow run (a GC cycle, a busy host) moves the
// median less than the mean that ns/op shows.
func medianRun(b *testing.B, fn func() error) float64 { return medianRunAfter(b, 3, fn) }

// medianRunAfter is medianRun with warmup untimed runs, for models whose
// runs take seconds (the reference's bench() takes the same count).
func medianRunAfter(b *testing.B, warmup int, fn func() error) float64 {
	for range warmup {
		if err := fn(); err != nil {
			b.Fatal(err)
		}
	}
	ts := make([]float64, b.N)
	b.ResetTimer()
	for i := range ts {
		t0 := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		ts[i] = time.Since(t0).Seconds()
	}
	b.StopTimer()
	slices.Sort(ts)
	return ts[len(ts)/2]
}

func benchTrainStep(b *testing.B, bm benchModel) {
	m := bm.new()
	batch := benchBatch(bm.batch)
	r := rng.New(1, StreamTrain)
	s := medianRun(b, func() error { _, err := m.TrainStep(batch, r); return err })
	b.ReportMetric(s*1e3, "ms/step")
	b.ReportMetric(float64(bm.batch)/s, "examples/s")
}

func benchSample1000(b *testing.B, bm benchModel) {
	m := bm.new()
	seeds := make([]uint64, 1000)
	labels := make([]int, len(seeds))
	for i := range seeds {
		seeds[i] = uint64(i)
		labels[i] = i % 10
	}
	s := medianRun(b, func() error { _, err := m.Generate(seeds, labels); return err })
	b.ReportMetric(s*1e3, "ms/1000samples")
	b.ReportMetric(float64(len(seeds))/s, "samples/s")
}

// One top-level benchmark per model and measurement, so `-bench VAE` or
// `-bench TrainStep` select them by name.

func BenchmarkVAETrainStep(b *testing.B)  { benchTrainStep(b, benchModelNamed(b, "VAE")) }
func BenchmarkVAESample1000(b *testing.B) { benchSample1000(b, benchModelNamed(b, "VAE")) }

// BenchmarkCGANTrainStep is one D step plus one G step at the reference's batch of 64.
func BenchmarkCGANTrainStep(b *testing.B)  { benchTrainStep(b, benchModelNamed(b, "CGAN")) }
func BenchmarkCGANSample1000(b *testing.B) { benchSample1000(b, benchModelNamed(b, "CGAN")) }

func benchModelNamed(b *testing.B, name string) benchModel {
	for _, bm := range benchModels {
		if bm.name == name {
			return bm
		}
	}
	b.Fatalf("no bench model %q", name)
	return benchModel{}
}
