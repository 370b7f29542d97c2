package models

import (
	"testing"
	"time"

	"github.com/gentri/gentri/internal/rng"
)

// BenchmarkDDGANTrainStep times one step of the default ddgan at batch 64.
func BenchmarkDDGANTrainStep(b *testing.B) {
	m, err := NewDDGANModel(ddganDefaults(1))
	if err != nil {
		b.Fatal(err)
	}
	batch := tinyBatch(64, Height*Width, 1)
	r := rng.New(1, StreamTrain)
	for range 2 {
		if _, err := m.TrainStep(batch, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := m.TrainStep(batch, r); err != nil {
			b.Fatal(err)
		}
		b.Logf("%v", time.Since(t0))
	}
}

// BenchmarkDDGANSample1000 times 1000 samples of the default ddgan (T = 4).
func BenchmarkDDGANSample1000(b *testing.B) {
	m, err := NewDDGANModel(ddganDefaults(1))
	if err != nil {
		b.Fatal(err)
	}
	seeds := make([]uint64, 1000)
	for i := range seeds {
		seeds[i] = uint64(i)
	}
	labels := make([]int, 1000)
	for i := range labels {
		labels[i] = i % 10
	}
	if _, err := m.Generate(seeds[:100], labels[:100]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := m.Generate(seeds, labels); err != nil {
			b.Fatal(err)
		}
	}
}
