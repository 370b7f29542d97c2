package config

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/gentri/gentri/configs"
)

// The 2-D kinds train on a mixture and only on one; every other kind trains
// on images and never on a mixture. The error names both keys.
func TestMixtureDatasetsAndTwoDKindsGoTogether(t *testing.T) {
	tests := []struct {
		name string
		kind string
		sets []string
		want []string // substrings of the error; nil = valid
	}{
		{"gan2d on ring8", "gan2d", nil, nil},
		{"vae2d on grid25", "vae2d", []string{"data.dataset=grid25"}, nil},
		{"ddpm2d on grid25 with ddim", "ddpm2d", []string{"data.dataset=grid25", "sample.sampler=ddim", "sample.steps=20"}, nil},
		{"image vae on ring8", "vae", []string{"data.dataset=ring8"}, []string{"data.dataset", `"ring8"`, `model.kind "vae"`}},
		{"cgan on grid25", "cgan", []string{"data.dataset=grid25"}, []string{"data.dataset", `model.kind "cgan"`}},
		{"classifier on ring8", "classifier", []string{"data.dataset=ring8"}, []string{"data.dataset", `model.kind "classifier"`}},
		{"gan2d on mnist", "gan2d", []string{"data.dataset=mnist"}, []string{"data.dataset", `model.kind "gan2d"`, `"mnist"`}},
		{"unknown dataset", "ddpm2d", []string{"data.dataset=ring"}, []string{`data.dataset: must be one of mnist, ring8, grid25, got "ring"`}},
		{"binarised points", "vae2d", []string{"data.binarize=dynamic"}, []string{"data.binarize: must be none for a 2-D mixture"}},
		{"a data folder for drawn points", "gan2d", []string{"data.dir=/tmp"}, []string{"data.dir"}},
		{"gan2d takes no channels", "gan2d", []string{"model.channels=4"}, []string{`model.channels: not used by model kind "gan2d"`}},
		{"ddpm2d is unconditional", "ddpm2d", []string{"sample.guidance=1"}, []string{`sample.guidance: not used by model kind "ddpm2d"`}},
		{"ddpm2d steps above T", "ddpm2d", []string{"train.timesteps=100", "sample.steps=101"}, []string{"sample.steps: must be in [0, 100]"}},
		{"vae2d needs a latent", "vae2d", []string{"model.latent=0"}, []string{"model.latent: must be in [1, 4096], got 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.kind, "", tc.sets)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.Model.Kind != tc.kind {
					t.Fatalf("kind %q, want %q", c.Model.Kind, tc.kind)
				}
				return
			}
			wantErr(t, err, tc.want...)
		})
	}
}

// configs/<mixture>-<model>.yaml are user configs on the kind defaults; they
// are not kinds themselves.
func TestBenchmarkConfigsLoadOnTheirKindDefaults(t *testing.T) {
	for _, d := range []string{"ring8", "grid25"} {
		for _, k := range []string{"gan", "vae", "ddpm"} {
			path := filepath.Join("..", "..", "configs", d+"-"+k+".yaml")
			c, err := Load("", path, nil)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			def, err := Load(k+"2d", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			def.Data.Dataset = d
			if c.Model.Kind != k+"2d" || *c != *def {
				t.Errorf("%s resolves to %+v, want the %s2d defaults on %s", path, *c, k, d)
			}
		}
	}
	if slices.Contains(configs.Kinds(), "ring8-gan") || !slices.Contains(configs.Kinds(), "gan2d") {
		t.Errorf("kinds %v: want gan2d, not the benchmark configs", configs.Kinds())
	}
	if _, err := configs.Default("grid25-ddpm"); err == nil {
		t.Error(`configs.Default("grid25-ddpm") is a kind default`)
	}
}
