package models

import (
	"testing"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/rng"
)

// tinySets shrinks each image kind so that a step at 3x32x32 takes
// moments; the shape keys come on top.
var tinySets = map[string][]string{
	"vae":        {"model.hidden=8", "model.latent=2"},
	"ae":         {"model.hidden=8", "model.latent=2"},
	"cgan":       {"model.latent=4", "model.channels=4", "model.classes=3"},
	"gan":        {"model.latent=4", "model.channels=4"},
	"ddpm":       {"model.channels=8", "model.classes=3", "train.timesteps=10", "sample.steps=2"},
	"ddgan":      {"model.channels=8", "model.d_channels=4", "model.latent=4", "model.classes=3"},
	"classifier": {"model.channels=2", "model.hidden=8", "model.classes=3"},
}

// Every image kind builds for each shape: it trains a step on a batch of
// that shape, draws images of it, and its checkpoint records the shape,
// which loading checks.
func TestImageKindsBuildForEveryShape(t *testing.T) {
	for kind, sets := range tinySets {
		for _, shape := range []Shape{{1, 28, 28}, {3, 32, 32}, {3, 28, 28}, {1, 32, 32}} {
			t.Run(kind+" "+shape.String(), func(t *testing.T) {
				cfg, err := LoadConfig(kind, "", append([]string{
					"data.channels=" + itoa(shape.C), "data.size=" + itoa(shape.H)}, sets...))
				if err != nil {
					t.Fatal(err)
				}
				if got := ShapeOf(cfg); got != shape {
					t.Fatalf("ShapeOf = %v, want %v", got, shape)
				}
				m, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				const n = 4
				r := rng.New(1, StreamTrain)
				b := Batch{N: n, X: make([]float32, n*shape.Pixels()), Labels: []uint8{0, 1, 2, 0}}
				rng.Uniform(r, b.X, 0, 1)
				if _, err := m.TrainStep(b, r); err != nil {
					t.Fatalf("train step: %v", err)
				}
				if kind != "classifier" {
					imgs, err := m.Generate([]uint64{1, 2}, nil)
					if err != nil {
						t.Fatal(err)
					}
					if len(imgs) != 2 || len(imgs[0]) != shape.Pixels() {
						t.Fatalf("Generate: %d images of %d values, want 2 of %d", len(imgs), len(imgs[0]), shape.Pixels())
					}
				}
				f := &checkpoint.File{Metadata: Metadata(m, cfg, 1), Tensors: m.State(false)}
				if f.Metadata[MetaShape] != shape.String() {
					t.Errorf("metadata %s = %q, want %q", MetaShape, f.Metadata[MetaShape], shape)
				}
				if _, _, err := Describe(f, "ckpt"); err != nil {
					t.Fatal(err)
				}
				other := Shape{3, 32, 32}
				if shape == other {
					other = DefaultShape
				}
				f.Metadata[MetaShape] = other.String()
				_, _, err = Describe(f, "ckpt")
				wantErrSubs(t, err, "ckpt: metadata gentri.shape is "+other.String(), "says "+shape.String())
				// Written before shapes: only a 1x28x28 config fits.
				delete(f.Metadata, MetaShape)
				if _, _, err := Describe(f, "ckpt"); (err == nil) != (shape == DefaultShape) {
					t.Errorf("no recorded shape, config %s: error %v", shape, err)
				}
			})
		}
	}
}

func itoa(v int) string {
	return map[int]string{1: "1", 3: "3", 28: "28", 32: "32"}[v]
}

// A checkpoint whose tensors were made for another shape does not load
// into a model of its stored config's shape.
func TestCheckpointOfAnotherShapeDoesNotLoad(t *testing.T) {
	build := func(sets ...string) (Model, *config.Config) {
		cfg, err := LoadConfig("gan", "", append([]string{"model.latent=4", "model.channels=4"}, sets...))
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m, cfg
	}
	rgb, _ := build("data.channels=3", "data.size=32")
	grey, _ := build()
	f := &checkpoint.File{Tensors: rgb.State(false)}
	if err := grey.Load(f, false); err == nil {
		t.Fatal("a 3x32x32 GAN's weights loaded into a 1x28x28 one")
	}
}

func TestParseShape(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shape
		ok   bool
	}{
		{"1x28x28", DefaultShape, true}, {"3x32x32", Shape{3, 32, 32}, true},
		{"3x32", Shape{}, false}, {"0x28x28", Shape{}, false}, {"1x28x28x", Shape{}, false}, {"", Shape{}, false},
	} {
		got, err := ParseShape(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseShape(%q) = %v, %v", tc.in, got, err)
		}
	}
}
