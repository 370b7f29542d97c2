package models

import (
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// benchDDPM is the default DDPM of configs/ddpm.yaml, the reference's U-Net.
func benchDDPM(b *testing.B) *DDPMModel {
	m, err := NewDDPMModel(DDPMOptions{Seed: 1, LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, EMA: 0.999,
		Timesteps: 1000, Schedule: "linear", BetaStart: 1e-4, BetaEnd: 0.02, CondDrop: 0.1})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkDDPMTrainStep times one training step (forward, backward, Adam,
// EMA) at the reference's batch of 64 (torch_reference.py ddpm_train_step).
func BenchmarkDDPMTrainStep(b *testing.B) {
	m := benchDDPM(b)
	const batch = 64
	r := rng.New(1, StreamTrain)
	x := make([]float32, batch*DefaultShape.Pixels())
	rng.Uniform(r, x, 0, 1)
	labels := make([]uint8, batch)
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	bt := Batch{N: batch, X: x, Labels: labels}
	s := medianRun(b, func() error { _, err := m.TrainStep(bt, r); return err })
	b.ReportMetric(s*1e3, "ms/step")
}

// BenchmarkDDPMNFE64 times one U-Net evaluation at batch 64, t = 500,
// unconditional (torch_reference.py ddpm_nfe_batch64).
func BenchmarkDDPMNFE64(b *testing.B) {
	m := benchDDPM(b)
	const batch = 64
	s, err := newUNetGraph(m.EMA, batch, false)
	if err != nil {
		b.Fatal(err)
	}
	rng.Normal(rng.New(2, 0), s.x.Data().([]float32))
	for i := 0; i < batch; i++ {
		s.setRow(i, 500, m.noClass())
	}
	t := medianRun(b, func() error { return runVM(s.vm) })
	b.ReportMetric(t*1e3, "ms/nfe")
}
