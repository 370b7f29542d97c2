package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/data"
)

// colourFolder writes a small labelled folder of n 40x36 RGB PNGs in each
// of the class folders "warm" (a red disc on a yellow ground) and "cool" (a
// blue bar on a green ground), varied by their index; the colour tells the
// classes apart, so a grey model could not.
func colourFolder(t *testing.T, dir string, n int) {
	t.Helper()
	for c, class := range []string{"cool", "warm"} {
		sub := filepath.Join(dir, class)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			img := image.NewRGBA(image.Rect(0, 0, 40, 36))
			for y := 0; y < 36; y++ {
				for x := 0; x < 40; x++ {
					px := color.RGBA{0, uint8(100 + i), 40, 255}
					if c == 1 {
						px = color.RGBA{uint8(200 + i%50), 190, 30, 255}
						if (x-20)*(x-20)+(y-18)*(y-18) < 40+i {
							px = color.RGBA{230, 20, uint8(i), 255}
						}
					} else if (x+i)%10 < 4 {
						px = color.RGBA{20, uint8(i), 220, 255}
					}
					img.SetRGBA(x, y, px)
				}
			}
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%s-%03d.png", class, i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The 3-channel 32x32 path end to end: each image kind trains a few steps
// on a generated RGB folder at data.channels 3, data.size 32, samples an RGB
// grid, and is evaluated against the folder's held-out tenth with a
// feature network trained on its labels (once, then cached), whose record
// names both.
func TestRGB32TrainsSamplesAndEvaluatesEveryImageKind(t *testing.T) {
	t.Setenv("GENTRI_CACHE", t.TempDir())
	tmp := t.TempDir()
	colours := filepath.Join(tmp, "colours")
	colourFolder(t, colours, 50)
	shape := []string{"--set", "data.channels=3", "--set", "data.size=32", "--set", "train.batch_size=8",
		"--set", "train.steps=3", "--set", "train.checkpoint_every=3", "--set", "train.sample_every=3"}
	kinds := []struct {
		kind string
		sets []string
	}{
		{"vae", []string{"model.hidden=16", "model.latent=4"}},
		{"cgan", []string{"model.latent=8", "model.channels=4", "model.classes=2"}},
		{"ddpm", []string{"model.channels=8", "model.classes=2", "train.timesteps=20", "sample.steps=2"}},
		{"ddgan", []string{"model.channels=8", "model.d_channels=4", "model.latent=4", "model.classes=2"}},
	}
	var dataSHA string
	for i, k := range kinds {
		t.Run(k.kind, func(t *testing.T) {
			out := filepath.Join(tmp, k.kind)
			args := append([]string{"train", "--model", k.kind, "--data", colours, "--out", out, "--quiet"}, shape...)
			for _, s := range k.sets {
				args = append(args, "--set", s)
			}
			if code, _, stderr := run(t, args...); code != 0 {
				t.Fatalf("train: exit %d: %s", code, stderr)
			}
			ckpt := filepath.Join(out, "ckpt-00000003.safetensors")
			grid := filepath.Join(tmp, k.kind+".png")
			if code, _, stderr := run(t, "sample", "--checkpoint", ckpt, "--n", "4", "--out", grid, "--quiet"); code != 0 {
				t.Fatalf("sample: exit %d: %s", code, stderr)
			}
			f, err := os.Open(grid)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := png.DecodeConfig(f)
			f.Close()
			if err != nil || cfg.ColorModel == color.GrayModel || cfg.Width%34 != 2 || cfg.Height%34 != 2 {
				t.Errorf("sample grid %s: %+v (%v): want an RGB grid of 32-pixel cells", grid, cfg, err)
			}

			code, stdout, stderr := run(t, "eval", "--checkpoint", ckpt, "--n", "40", "--iwae-k", "0", "--no-floor", "--json", "--quiet")
			if code != 0 {
				t.Fatalf("eval: exit %d: %s", code, stderr)
			}
			var rec struct {
				Data struct {
					Name, Kind, SHA256 string
					Classes            int
				} `json:"data"`
				FeatureNetwork struct {
					Path            string `json:"path"`
					TrainedOn       string `json:"trained_on"`
					TrainedOnSHA256 string `json:"trained_on_sha256"`
				} `json:"feature_network"`
				FID *float64 `json:"fid"`
			}
			if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
				t.Fatalf("eval --json: %v\n%s", err, stdout)
			}
			d, fn := rec.Data, rec.FeatureNetwork
			if d.Name != "colours" || d.Kind != "images" || d.Classes != 2 || len(d.SHA256) != 64 || rec.FID == nil {
				t.Errorf("record %s: want the colours folder's data and an FID", stdout)
			}
			if fn.TrainedOn != "colours" || fn.TrainedOnSHA256 != d.SHA256 || !strings.Contains(fn.Path, "data-"+d.SHA256[:16]) {
				t.Errorf("feature network %+v: want the colours folder's own", fn)
			}
			if i > 0 && d.SHA256 != dataSHA {
				t.Errorf("data hash %s, the first model's %s: one folder, one shape, one hash", d.SHA256, dataSHA)
			}
			dataSHA = d.SHA256
		})
	}
}

// Stacked MNIST end to end: the kinds that can do without labels train on
// it (a VAE, a DDPM that drops every label, a ddgan of one class), the
// class-conditional GAN is refused with the way out, and eval counts the
// modes of the samples with the MNIST classifier, out of 1000, with the
// KL of their histogram to uniform, and says which figures it leaves out.
func TestStackedMNISTTrainsAndCountsModes(t *testing.T) {
	if _, err := data.MNISTDir(""); err != nil {
		t.Skipf("no MNIST: %v", err)
	}
	tmp := t.TempDir()
	ext := trainTinyClassifier(t, filepath.Join(tmp, "cls"), 20)
	stacked := []string{"--set", "data.dataset=stacked_mnist", "--set", "data.channels=3", "--set", "data.subset=256",
		"--set", "train.batch_size=16", "--set", "train.steps=2", "--set", "train.checkpoint_every=2", "--set", "train.sample_every=2", "--quiet"}
	trainArgs := func(kind, out string, sets ...string) []string {
		args := append([]string{"train", "--model", kind, "--out", out}, stacked...)
		for _, s := range sets {
			args = append(args, "--set", s)
		}
		return args
	}
	code, _, stderr := run(t, trainArgs("cgan", filepath.Join(tmp, "cgan"), "model.channels=4", "model.latent=4")...)
	if code == 0 || !strings.Contains(stderr, "stacked-mnist") || !strings.Contains(stderr, "has no labels") || !strings.Contains(stderr, "gan kind") {
		t.Errorf("cgan on Stacked MNIST: exit %d, stderr %q; want a refusal naming the data and the gan kind", code, stderr)
	}
	// The ddgan's evaluation is the others' path: it only trains here.
	for _, k := range []struct {
		kind string
		sets []string
		eval bool
	}{
		{"vae", []string{"model.hidden=16", "model.latent=4"}, true},
		{"ddpm", []string{"model.channels=8", "model.classes=2", "train.cond_drop=1", "train.timesteps=20", "sample.steps=2"}, true},
		{"ddgan", []string{"model.channels=8", "model.d_channels=4", "model.latent=4", "model.classes=1"}, false},
	} {
		t.Run(k.kind, func(t *testing.T) {
			out := filepath.Join(tmp, k.kind)
			if code, _, stderr := run(t, trainArgs(k.kind, out, k.sets...)...); code != 0 {
				t.Fatalf("train: exit %d: %s", code, stderr)
			}
			if !k.eval {
				return
			}
			ckpt := filepath.Join(out, "ckpt-00000002.safetensors")
			code, stdout, stderr := run(t, "eval", "--checkpoint", ckpt, "--extractor", ext, "--n", "100", "--iwae-k", "0", "--json", "--quiet")
			if code != 0 {
				t.Fatalf("eval: exit %d: %s", code, stderr)
			}
			var rec struct {
				Data struct {
					Name, Kind string
				} `json:"data"`
				FeatureNetwork struct {
					TrainedOn string `json:"trained_on"`
				} `json:"feature_network"`
				Stacked, Floor *struct {
					N, Modes, Of int
					KL           float64
					Note         string
					PerMode      []int `json:"per_mode"`
				}
				Unavailable string   `json:"unavailable"`
				FID         *float64 `json:"fid"`
			}
			if err := json.Unmarshal([]byte(strings.ReplaceAll(strings.ReplaceAll(stdout, `"stacked_modes_floor"`, `"floor"`), `"stacked_modes"`, `"stacked"`)), &rec); err != nil {
				t.Fatalf("eval --json: %v\n%s", err, stdout)
			}
			s := rec.Stacked
			if s == nil || s.N != 100 || s.Of != 1000 || s.Modes < 1 || s.Modes > 100 || len(s.PerMode) != 1000 || !strings.Contains(s.Note, "natural log") || math.IsNaN(s.KL) {
				t.Fatalf("stacked figures %+v: want N 100, 1 to 100 modes of 1000, the KL and its note", s)
			}
			// The tiny classifier of 20 steps tells few digits apart: the
			// floor's count says little here, only that it is made.
			if fl := rec.Floor; fl == nil || fl.N != 100 || fl.Of != 1000 || fl.Modes < 1 {
				t.Errorf("real floor %+v: want the figures of 100 training images", fl)
			}
			if rec.Data.Name != "stacked-mnist" || rec.Data.Kind != "stacked_mnist" || rec.FeatureNetwork.TrainedOn != "mnist" || rec.FID != nil || !strings.Contains(rec.Unavailable, "FID") {
				t.Errorf("record %s: want the stacked data, the MNIST classifier, no FID and why", stdout)
			}
		})
	}
}
