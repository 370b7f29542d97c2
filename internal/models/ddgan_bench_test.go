package models

import (
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// The ddgan's benchmarks measure as the others do (medianRun: untimed
// warm-up, then the median of b.N timed runs, reported as ms/step and
// ms/1000samples for scripts/bench.sh), against torch_reference.py's ddgan.
// A step takes seconds and 1000 samples ten times that, so both sides warm
// up with less than the others' three runs: one training step (the first
// builds every graph and the optimizers' moments), and one sampling batch
// of ddganInferBatch images (the graph that all 1000 go through).

// benchDDGAN builds the model of configs/ddgan.yaml, the shapes and the
// R1 cadence that torch_reference.py reads from the same file, so the two
// sides time the same work whatever the default becomes.
func benchDDGAN(b *testing.B) (*DDGANModel, int) {
	cfg, err := LoadConfig("ddgan", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return m.(*DDGANModel), cfg.Train.BatchSize
}

// BenchmarkDDGANTrainStep times one step of the default ddgan: a D step
// (with R1 on the steps lazy_reg picks), a G step, the EMA update
// (torch_reference.py ddgan_train_step).
func BenchmarkDDGANTrainStep(b *testing.B) {
	m, batch := benchDDGAN(b)
	bt := tinyBatch(batch, DefaultShape.Pixels(), 1)
	r := rng.New(1, StreamTrain)
	s := medianRunAfter(b, 1, func() error { _, err := m.TrainStep(bt, r); return err })
	b.ReportMetric(s*1e3, "ms/step")
	b.ReportMetric(float64(batch)/s, "examples/s")
}

// BenchmarkDDGANSample1000 times 1000 samples of the default ddgan (T = 4,
// so 40 generator evaluations at batch 100; torch_reference.py ddgan_sample).
func BenchmarkDDGANSample1000(b *testing.B) {
	m, _ := benchDDGAN(b)
	seeds := make([]uint64, 1000)
	labels := make([]int, len(seeds))
	for i := range seeds {
		seeds[i] = uint64(i)
		labels[i] = i % 10
	}
	if _, err := m.Generate(seeds[:ddganInferBatch], labels[:ddganInferBatch]); err != nil {
		b.Fatal(err)
	}
	s := medianRunAfter(b, 0, func() error { _, err := m.Generate(seeds, labels); return err })
	b.ReportMetric(s*1e3, "ms/1000samples")
	b.ReportMetric(float64(len(seeds))/s, "samples/s")
}
