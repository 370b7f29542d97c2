package models

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// Every image model's graphs run with their op outputs sharing buffers by
// lifetime (newMachine, newPrunedMachine). Against the same model on
// Gorgonia's plain tape machine, a few training steps must give the same
// bytes of weights and optimizer state and the same losses, and the
// trained model the same samples, codes and reconstructions: a buffer that
// a later op overwrote while a value in it was still needed, or a keep list
// that misses a value read after a run, changes them. The DDPM has its own
// test (TestUNetBufferPlanChangesNoBit).
func TestBufferPlansChangeNoBit(t *testing.T) {
	kinds := []struct {
		kind string
		sets []string
	}{
		{"vae", []string{"model.hidden=32", "model.latent=4"}},
		{"ae", []string{"model.hidden=32", "model.latent=4"}},
		{"cgan", []string{"model.channels=8", "model.latent=8"}},
		{"gan", []string{"model.channels=8", "model.latent=8"}},
		// R1 on every D step, so its graph and its reads of the D step's
		// gradients run each step.
		{"ddgan", []string{"model.channels=8", "model.d_channels=8", "model.latent=8", "train.timesteps=2", "train.lazy_reg=1"}},
		{"classifier", []string{"model.channels=8", "model.hidden=16"}},
	}
	for _, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			planned := trainForPlanTest(t, k.kind, k.sets, false)
			plain := trainForPlanTest(t, k.kind, k.sets, true)
			if planned.metrics != plain.metrics {
				t.Errorf("losses differ:\nplanned %s\nplain   %s", planned.metrics, plain.metrics)
			}
			if !bytes.Equal(planned.state, plain.state) {
				t.Error("the trained weights and optimizer state differ")
			}
			for what, a := range planned.outputs {
				b := plain.outputs[what]
				if len(a) != len(b) {
					t.Fatalf("%s: %d values planned, %d plain", what, len(a), len(b))
				}
				for i := range a {
					if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
						t.Fatalf("%s[%d] = %v planned, %v plain", what, i, a[i], b[i])
					}
				}
			}
		})
	}
}

// planTestRun is what trainForPlanTest compares: the losses of each step
// (printed in full), the checkpoint's bytes, and the trained model's
// outputs by name (float32 outputs widened exactly).
type planTestRun struct {
	metrics string
	state   []byte
	outputs map[string][]float64
}

// trainForPlanTest builds a small model of kind, on plain or planned
// machines, trains it four steps on a batch of 4 and collects its outputs.
func trainForPlanTest(t *testing.T, kind string, sets []string, plain bool) planTestRun {
	t.Helper()
	defer func(was bool) { plainMachines = was }(plainMachines)
	plainMachines = plain
	cfg, err := LoadConfig(kind, "", sets)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := tinyBatch(4, DefaultShape.Pixels(), 11)
	r := rng.New(5, StreamTrain)
	var run planTestRun
	for step := range 4 {
		ms, err := m.TrainStep(b, r)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		run.metrics += fmt.Sprintf("%v\n", ms)
	}
	run.state = stateBytes(t, m)
	run.outputs = map[string][]float64{}
	flat := func(what string, rows [][]float32) {
		for _, row := range rows {
			for _, v := range row {
				run.outputs[what] = append(run.outputs[what], float64(v))
			}
		}
	}
	images := [][]float32{b.X[:DefaultShape.Pixels()], b.X[DefaultShape.Pixels() : 2*DefaultShape.Pixels()]}
	if f, ok := m.(interface {
		Features([][]float32) ([][]float64, [][]float64, error)
	}); ok { // the classifier, which generates nothing
		features, probs, err := f.Features(images)
		if err != nil {
			t.Fatal(err)
		}
		for _, rows := range [][][]float64{features, probs} {
			for _, row := range rows {
				for _, v := range row {
					run.outputs["features"] = append(run.outputs["features"], v)
				}
			}
		}
		return run
	}
	samples, err := m.Generate([]uint64{1, 2, 3}, []int{0, 1, -1})
	if err != nil {
		t.Fatal(err)
	}
	flat("samples", samples)
	if rec, ok := m.(Reconstructor); ok {
		out, err := rec.Reconstruct(images)
		if err != nil {
			t.Fatal(err)
		}
		flat("reconstructions", out)
	}
	if ae, ok := m.(Autoencoder); ok {
		codes, err := ae.Encode(images)
		if err != nil {
			t.Fatal(err)
		}
		flat("codes", codes)
		out, err := ae.Decode(codes)
		if err != nil {
			t.Fatal(err)
		}
		flat("decoded codes", out)
	}
	return run
}
