package models

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gentri/gentri/internal/rng"
)

// BenchmarkScalingDDPMStep times one DDPM training step (forward,
// backward, Adam, EMA) at the batch size and U-Net width that the
// environment names: GENTRI_SCALING_BATCH (default 64) and
// GENTRI_SCALING_WIDTH (the base channels C, a multiple of the 8
// GroupNorm groups; default 16): the median of GENTRI_SCALING_STEPS timed
// steps (default 3) after GENTRI_SCALING_WARMUP untimed ones (default 1),
// all in one run of the benchmark (-test.benchtime 1x). The rest is the default model's (configs/ddpm.yaml), as in
// BenchmarkDDPMTrainStep. scripts/scaling.sh (`make scaling`) runs it once
// per point, each in its own process so that the process's peak RSS is
// that point's alone. Its name does not start with BenchmarkDDPM, so `make
// bench` leaves it out.
func BenchmarkScalingDDPMStep(b *testing.B) {
	batch, err := scalingEnv("GENTRI_SCALING_BATCH", 64, 1)
	if err != nil {
		b.Fatal(err)
	}
	width, err := scalingEnv("GENTRI_SCALING_WIDTH", 16, 8)
	if err != nil {
		b.Fatal(err)
	}
	warmup, err := scalingEnv("GENTRI_SCALING_WARMUP", 1, 0)
	if err != nil {
		b.Fatal(err)
	}
	steps, err := scalingEnv("GENTRI_SCALING_STEPS", 3, 1)
	if err != nil {
		b.Fatal(err)
	}
	if b.N > 1 {
		// go test runs a benchmark with b.N = 1 first: a second model in
		// the process would add its memory to the point's peak.
		b.Fatal("run with -test.benchtime 1x; GENTRI_SCALING_STEPS sets the timed steps")
	}
	if width%8 != 0 {
		b.Fatalf("GENTRI_SCALING_WIDTH=%d: the U-Net's width must be a multiple of its 8 GroupNorm groups", width)
	}
	m, err := NewDDPMModel(DDPMOptions{UNet: UNetOptions{Channels: width}, Seed: 1, LR: 2e-4, Beta1: 0.9, Beta2: 0.999,
		Eps: 1e-8, EMA: 0.999, Timesteps: 1000, Schedule: "linear", BetaStart: 1e-4, BetaEnd: 0.02, CondDrop: 0.1})
	if err != nil {
		b.Fatal(err)
	}
	r := rng.New(1, StreamTrain)
	bt := Batch{N: batch, X: make([]float32, batch*DefaultShape.Pixels()), Labels: make([]uint8, batch)}
	rng.Uniform(r, bt.X, 0, 1)
	for i := range bt.Labels {
		bt.Labels[i] = uint8(i % 10)
	}
	step := func() {
		if _, err := m.TrainStep(bt, r); err != nil {
			b.Fatal(err)
		}
	}
	for range warmup {
		step()
	}
	ts := make([]float64, steps)
	for i := range ts {
		t0 := time.Now()
		step()
		ts[i] = time.Since(t0).Seconds()
	}
	slices.Sort(ts)
	b.ReportMetric(ts[len(ts)/2]*1e3, "ms/step")
	b.ReportMetric(float64(m.NumParams()), "params")
}

// scalingEnv reads a whole number of at least least from the environment
// variable name, or def when it is unset.
func scalingEnv(name string, def, least int) (int, error) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, fmt.Errorf("%s=%q: want a whole number of at least %d", name, v, least)
	}
	return n, nil
}
