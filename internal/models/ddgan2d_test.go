package models

import (
	"bytes"
	"slices"
	"testing"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/rng"
)

func tinyDDGAN2D(t *testing.T, seed uint64) *DDGAN2DModel {
	t.Helper()
	m, err := NewDDGAN2DModel(DDGAN2DOptions{Mixture: data.Ring8(), Hidden: 64, Latent: 2, T: 4, R1: 0.1, LazyReg: 1, Seed: seed,
		LRG: 1e-3, LRD: 1e-3, Beta1: 0.5, Beta2: 0.9, Eps: 1e-8, EMA: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A few hundred steps on ring8 move the samples towards the ring; training
// is reproducible and resumes exactly; a point depends on its seed only.
func TestDDGAN2DTrainsOnTheRing(t *testing.T) {
	m := tinyDDGAN2D(t, 1)
	next, r := toyBatches(64, 3), rng.New(1, StreamTrain)
	before := ringDistance(t, m)
	var last []Metric
	for range 400 {
		var err error
		if last, err = m.TrainStep(next(), r); err != nil {
			t.Fatal(err)
		}
	}
	if after := ringDistance(t, m); !(after < 0.7*before) {
		t.Errorf("samples' mean distance to the ring %.3f -> %.3f", before, after)
	}
	if last[2].Name != "r1" || !(last[2].Value > 0) {
		t.Errorf("metrics %v: want a positive r1", last)
	}
	// Resume: the same next step from a checkpoint, and the same points.
	f := checkpointOf(t, m)
	c := tinyDDGAN2D(t, 9)
	if err := c.Load(f, true); err != nil {
		t.Fatal(err)
	}
	rc := rng.New(0, 0)
	if err := rc.SetState(r.State()); err != nil {
		t.Fatal(err)
	}
	b := next()
	if _, err := m.TrainStep(b, r); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TrainStep(b, rc); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stateBytes(t, m), stateBytes(t, c)) {
		t.Error("a resumed step differs")
	}
	seeds := []uint64{5, 6, 7}
	all, err := m.Generate(seeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.inferRows = 2
	for i, s := range seeds {
		one, _ := m.Generate([]uint64{s}, nil)
		if !slices.Equal(one[0], all[i]) {
			t.Errorf("point %d depends on its batch", i)
		}
	}
	if m.NFE() != 4 {
		t.Errorf("NFE %d", m.NFE())
	}
}
