package eval

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/models"
)

// tiny2D builds an untrained 2-D model of kind on ring8, small enough to
// sample in milliseconds.
func tiny2D(t *testing.T, kind string, sets ...string) Options {
	t.Helper()
	cfg, err := models.LoadConfig(kind, "", append([]string{"model.hidden=8"}, sets...))
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return Options{Model: m, Config: cfg, Checkpoint: filepath.Join(t.TempDir(), "ckpt.safetensors"), N: 2000, Seed: 1}
}

// Options that do not fit the model are UsageErrors naming the option, found
// before anything is sampled.
func TestRunRefusesOptionsThatDoNotFitTheModel(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"unconditional 2-D model", func() error {
			o := tiny2D(t, "gan2d")
			o.Unconditional = true
			_, err := Run(context.Background(), o)
			return err
		}, `--unconditional: a gan2d model has no classes to leave out`},
		{"plot of samples", func() error {
			_, err := Run(context.Background(), Options{Samples: "pngs/", Plot: "x.png"})
			return err
		}, "--plot draws the samples of a 2-D model (" + strings.Join(models.Schema.PointKinds(), ", ") + "); --samples pngs/ is not one"},
		{"sweep of a GAN", func() error {
			return RunSweep(context.Background(), tiny2D(t, "gan2d"), Sweep{Counts: []int{10}}, "p.png", nil)
		}, "--sweep-steps: "},
		{"sweep of a 2-D DDPM", func() error {
			return RunSweep(context.Background(), tiny2D(t, "ddpm2d", "train.timesteps=10"), Sweep{Counts: []int{5}}, "p.png", nil)
		}, "--sweep-steps plots FID, which 2-D models do not have"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			var ue UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a UsageError containing %q", err, tt.want)
			}
		})
	}
}

// A 2-D model is measured on its mixture: mode figures, speed and a scatter
// plot beside the checkpoint, the same figures for the same seed.
func TestRunMeasuresATwoDModelOnItsMixture(t *testing.T) {
	o := tiny2D(t, "vae2d")
	o.N, o.NSet = 200, true
	var log bytes.Buffer
	o.Log = &log
	rec, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Model != "vae2d" || rec.Modes == nil || rec.Modes.N != 200 || rec.Modes.Dataset != "ring8" || rec.Speed == nil {
		t.Fatalf("record %+v", rec)
	}
	if _, err := os.Stat(rec.Plot); err != nil || !strings.HasSuffix(rec.Plot, "ckpt-modes.png") {
		t.Errorf("plot %q: %v", rec.Plot, err)
	}
	again, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Modes, rec.Modes) {
		t.Errorf("same seed, different figures: %+v vs %+v", again.Modes, rec.Modes)
	}
	var text bytes.Buffer
	WriteText(&text, rec)
	if !strings.Contains(text.String(), "modes captured") {
		t.Errorf("text:\n%s", text.String())
	}
}
