package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `gentri train --model ae` then `gentri latent`: the record measures the
// whole test set, the table goes to stdout and to the folder, --json prints
// the record; a model without codes and bad flags are usage errors.
func TestAETrainThenLatentEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ae := trainTiny(t, filepath.Join(dir, "ae"), 5, append([]string{"--model", "ae"}, tiny...)...)
	out := filepath.Join(dir, "latent")
	code, stdout, stderr := run(t, "latent", "--checkpoint", ae, "--out", out, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("latent: exit %d: %s", code, stderr)
	}
	var rec struct {
		N, Latent int
		Axes      []string
		Dims      []struct{ Std float64 }
		Files     map[string]string
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("--json %q: %v", stdout, err)
	}
	if rec.N != 10000 || rec.Latent != 4 || len(rec.Dims) != 4 || rec.Axes[0] != "PC1" {
		t.Fatalf("record %+v: want the 10000 test images' 4-D codes on principal components", rec)
	}
	for key, f := range map[string]string{"scatter": "scatter.png", "decodings": "decodings.png", "table": "spread.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil || rec.Files[key] != filepath.Join(out, f) {
			t.Errorf("latent folder lacks %s, or the record names %q", f, rec.Files[key])
		}
	}
	if w, h := decodePNG(t, filepath.Join(out, "decodings.png")); w < 2*gridSide(8) || h != gridSide(8) {
		t.Errorf("decodings.png is %dx%d: want an 8x8 grid beside an 8x10 one", w, h)
	}
	code, stdout, _ = run(t, "latent", "--checkpoint", ae, "--out", out, "--quiet")
	if table := readFile(t, filepath.Join(out, "spread.md")); code != 0 || stdout != table || !strings.Contains(table, "| z4 |") {
		t.Fatalf("exit %d; stdout\n%s\nspread.md\n%s\nwant the same table of z1..z4", code, stdout, table)
	}

	ddpm := trainTiny(t, filepath.Join(dir, "ddpm"), 1, "--model", "ddpm", "--set", "model.channels=8", "--set", "train.timesteps=10", "--set", "sample.steps=2")
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"a model without codes", []string{"--checkpoint", ddpm}, "a ddpm checkpoint, which has no latent codes: gentri latent takes a checkpoint of vae or ae"},
		{"another kind than --model", []string{"--checkpoint", ae, "--model", "vae"}, "is a ae checkpoint"},
		{"one step", []string{"--checkpoint", ae, "--steps", "1"}, "--steps must be in [2, 100]"},
		{"negative extent", []string{"--checkpoint", ae, "--extent", "-2"}, "--extent must be a finite number >= 0"},
		{"no draws", []string{"--checkpoint", ae, "--n", "0"}, "--n must be in [1, 10000]"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, append(append([]string{"latent"}, c.args...), "--out", filepath.Join(dir, "bad"), "--quiet")...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); err == nil {
		t.Error("a refused command wrote its folder")
	}
}
