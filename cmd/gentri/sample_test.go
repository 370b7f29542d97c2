package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// trainTiny trains a small model of a kind for a few steps into dir and
// returns its last checkpoint.
func trainTiny(t *testing.T, dir string, steps int, args ...string) string {
	t.Helper()
	common := []string{"--set", "data.subset=640", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=1000",
		"--set", "train.sample_every=1000", "--set", "train.steps=" + strconv.Itoa(steps), "--out", dir, "--quiet"}
	if code, _, stderr := run(t, append(append([]string{"train"}, args...), common...)...); code != 0 {
		t.Fatalf("train %v: exit %d: %s", args, code, stderr)
	}
	return filepath.Join(dir, fmt.Sprintf("ckpt-%08d.safetensors", steps))
}

// The reverse chain's last frame is the sample `gentri sample` draws with
// the same seed, byte for byte (the --each files), for the DDPM and the
// diffusion GAN; the pictures have a column per step plus the sample, two
// rows per sample (x_t, x0_hat), one row per test image for --forward.
func TestTrajectoryEndsAtTheSampleOfSample(t *testing.T) {
	dir := t.TempDir()
	kinds := []struct {
		name  string
		ckpt  string
		steps int // the sampler's steps: the columns of --trajectory all
	}{
		{"ddpm", trainTiny(t, filepath.Join(dir, "ddpm"), 2, "--model", "ddpm", "--set", "model.channels=8",
			"--set", "train.timesteps=20", "--set", "sample.steps=4"), 4},
		{"ddgan", trainTiny(t, filepath.Join(dir, "ddgan"), 2, "--model", "ddgan", "--set", "model.channels=8",
			"--set", "model.d_channels=8", "--set", "model.latent=8", "--set", "train.timesteps=2"), 2},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			d := filepath.Join(dir, k.name+"-out")
			chain, grid := filepath.Join(d, "chain.png"), filepath.Join(d, "grid.png")
			code, stdout, stderr := run(t, "sample", "--checkpoint", k.ckpt, "--trajectory", "all", "--n", "3", "--seed", "5",
				"--each", filepath.Join(d, "chain"), "--out", chain, "--json", "--quiet")
			if code != 0 {
				t.Fatalf("sample --trajectory: exit %d: %s", code, stderr)
			}
			var rec struct{ Trajectory []int }
			if err := json.Unmarshal([]byte(stdout), &rec); err != nil || len(rec.Trajectory) != k.steps {
				t.Fatalf("--json %q (%v): want %d steps", stdout, err, k.steps)
			}
			if code, _, stderr := run(t, "sample", "--checkpoint", k.ckpt, "--n", "3", "--seed", "5",
				"--each", filepath.Join(d, "sample"), "--out", grid, "--quiet"); code != 0 {
				t.Fatalf("sample: exit %d: %s", code, stderr)
			}
			for _, f := range []string{"seed00000005.png", "seed00000006.png", "seed00000007.png"} {
				a, b := readFile(t, filepath.Join(d, "chain", f)), readFile(t, filepath.Join(d, "sample", f))
				if !bytes.Equal([]byte(a), []byte(b)) {
					t.Errorf("%s: the trajectory's last frame differs from the sample", f)
				}
			}
			if w, h := decodePNG(t, chain); w != gridSide(k.steps+1) || h != gridSide(2*3) {
				t.Errorf("trajectory picture %dx%d, want %d columns and 6 rows of cells", w, h, k.steps+1)
			}
			fwd := filepath.Join(d, "forward.png")
			if code, _, stderr := run(t, "sample", "--checkpoint", k.ckpt, "--forward", "1,0", "--n", "2", "--out", fwd, "--quiet"); code != 0 {
				t.Fatalf("sample --forward: exit %d: %s", code, stderr)
			}
			if w, h := decodePNG(t, fwd); w != gridSide(3) || h != gridSide(2) {
				t.Errorf("forward picture %dx%d, want 3 columns (x_0 and 2 steps) and 2 rows", w, h)
			}
		})
	}

	vae := trainTiny(t, filepath.Join(dir, "vae"), 2, append([]string{"--model", "vae"}, tiny...)...)
	ddpm := kinds[0].ckpt
	out := filepath.Join(dir, "x.png")
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"a step ddim 4 skips", []string{"--checkpoint", ddpm, "--trajectory", "15,3"}, "the sampler does not visit step 3; its 4 steps are 15, 10, 5, 0"},
		{"a step past T", []string{"--checkpoint", ddpm, "--forward", "20"}, "step 20 is outside [0, 19]"},
		{"not a step", []string{"--checkpoint", ddpm, "--trajectory", "10,x"}, `"x" is not a step`},
		{"a step twice", []string{"--checkpoint", ddpm, "--forward", "5,5"}, "step 5 given twice"},
		{"both pictures", []string{"--checkpoint", ddpm, "--forward", "5", "--trajectory", "5"}, "give one of them"},
		{"a class for test images", []string{"--checkpoint", ddpm, "--forward", "5", "--class", "3"}, "--forward draws test images"},
		{"no chain", []string{"--checkpoint", vae, "--trajectory", "all"}, "a vae model has no diffusion chain"},
		{"with --recon", []string{"--checkpoint", ddpm, "--trajectory", "all", "--recon"}, "--recon and --trajectory"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, append(append([]string{"sample"}, c.args...), "--out", out, "--quiet")...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, c.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused command wrote its picture")
	}
}

// gridSide is the pixel size of n cells of a sample grid (28 pixels and a
// 2-pixel gap each, and the closing gap).
func gridSide(n int) int { return n*(28+2) + 2 }
