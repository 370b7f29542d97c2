package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shapesFolder writes a small labelled image folder: n 20x20 PNGs in each of
// the class folders "bars" (vertical stripes) and "blobs" (a bright centre),
// varied by their index, so a classifier has something to tell apart.
func shapesFolder(t *testing.T, dir string, n int, labelled bool) {
	t.Helper()
	for c, class := range []string{"bars", "blobs"} {
		sub := dir
		if labelled {
			sub = filepath.Join(dir, class)
		}
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			img := image.NewGray(image.Rect(0, 0, 20, 20))
			for y := 0; y < 20; y++ {
				for x := 0; x < 20; x++ {
					v := 0
					if c == 0 && (x+i)%4 < 2 {
						v = 200 + i
					}
					if c == 1 && (x-10)*(x-10)+(y-10)*(y-10) < 16+i%20 {
						v = 180 + i
					}
					img.Pix[y*20+x] = uint8(min(v, 255))
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

// trainOn trains a tiny VAE on dir and returns its checkpoint.
func trainOn(t *testing.T, dir, out string) string {
	t.Helper()
	args := []string{"train", "--model", "vae", "--data", dir, "--set", "model.hidden=16", "--set", "model.latent=4",
		"--set", "train.batch_size=16", "--set", "train.steps=10", "--set", "train.checkpoint_every=10", "--set", "train.sample_every=10", "--out", out, "--quiet"}
	if code, _, stderr := run(t, args...); code != 0 {
		t.Fatalf("train on %s: exit %d: %s", dir, code, stderr)
	}
	return filepath.Join(out, "ckpt-00000010.safetensors")
}

// A model trained on a folder of labelled PNGs is evaluated against that
// folder's held-out tenth, with a feature network trained on its labels and
// cached under its content hash, never against MNIST.
func TestEvalComparesWithTheRunsOwnData(t *testing.T) {
	t.Setenv("GENTRI_CACHE", t.TempDir())
	tmp := t.TempDir()
	shapes := filepath.Join(tmp, "shapes")
	shapesFolder(t, shapes, 60, true)
	ckpt := trainOn(t, shapes, filepath.Join(tmp, "run"))

	evalArgs := []string{"eval", "--checkpoint", ckpt, "--n", "40", "--iwae-k", "0"}
	code, stdout, stderr := run(t, append(evalArgs, "--json")...)
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "no feature network for shapes") {
		t.Errorf("the first eval must train the data's own feature network; stderr:\n%s", stderr)
	}
	var rec struct {
		Data struct {
			Name, Kind, SHA256, Split string
			Images, Classes           int
		} `json:"data"`
		FeatureNetwork struct {
			Path            string `json:"path"`
			TrainedOn       string `json:"trained_on"`
			TrainedOnSHA256 string `json:"trained_on_sha256"`
		} `json:"feature_network"`
		IS      *float64 `json:"is"`
		MNISTIS *float64 `json:"mnist_is"`
		FID     *float64 `json:"fid"`
		Floor   *struct {
			IS *float64 `json:"is"`
		} `json:"real_floor"`
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, stdout)
	}
	d, fn := rec.Data, rec.FeatureNetwork
	if d.Name != "shapes" || d.Kind != "images" || d.Split != "held-out tenth" || d.Images != 12 || d.Classes != 2 || len(d.SHA256) != 64 {
		t.Errorf("reference data %+v: want the shapes folder's held-out tenth (12 images, 2 classes)", d)
	}
	if fn.TrainedOn != "shapes" || fn.TrainedOnSHA256 != d.SHA256 || !strings.Contains(fn.Path, "data-"+d.SHA256[:16]) {
		t.Errorf("feature network %+v: want one trained on shapes (%s), cached under its hash", fn, d.SHA256[:16])
	}
	if rec.IS == nil || rec.MNISTIS != nil || rec.FID == nil || rec.Floor == nil || rec.Floor.IS == nil {
		t.Errorf("want fid, the data's own IS (\"is\") beside the floor's, and no mnist_is:\n%s", stdout)
	}

	// The second eval finds the cached feature network, and the table names the IS for the data.
	code, stdout, stderr = run(t, append(evalArgs, "--no-floor")...)
	if code != 0 || strings.Contains(stderr, "no feature network") {
		t.Fatalf("second eval: exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "shapes-IS") || strings.Contains(stdout, "MNIST") || !strings.Contains(stdout, "reference shapes: held-out tenth split") {
		t.Errorf("table:\n%s", stdout)
	}

	// Data that changed since training is refused, naming both hashes.
	if err := os.Remove(filepath.Join(shapes, "blobs", "blobs-000.png")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, evalArgs...)
	if code != 1 || !strings.Contains(stderr, "was trained on shapes") || !strings.Contains(stderr, d.SHA256[:16]) {
		t.Errorf("changed data: exit %d, stderr %q; want 1 and a message naming the recorded hash", code, stderr)
	}
}

// Data without labels has no feature network: eval says which figures it
// cannot compute and why, and still reports likelihood and speed.
func TestEvalOnUnlabelledDataRefusesTheFiguresThatNeedLabels(t *testing.T) {
	t.Setenv("GENTRI_CACHE", t.TempDir())
	tmp := t.TempDir()
	flat := filepath.Join(tmp, "flat")
	shapesFolder(t, flat, 60, false)
	ckpt := trainOn(t, flat, filepath.Join(tmp, "run"))
	code, stdout, stderr := run(t, "eval", "--checkpoint", ckpt, "--n", "40", "--iwae-k", "0", "--json", "--quiet")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatal(err)
	}
	why, _ := rec["unavailable"].(string)
	if !strings.Contains(why, "FID") || !strings.Contains(why, "no labels") || rec["fid"] != nil || rec["mnist_is"] != nil || rec["test_nelbo"] == nil || rec["speed"] == nil {
		t.Errorf("record %s: want no image figures, the reason, and the likelihood and speed", stdout)
	}
	if code, stdout, _ := run(t, "eval", "--checkpoint", ckpt, "--n", "40", "--iwae-k", "0", "--quiet"); code != 0 || !strings.Contains(stdout, "not measured: FID") {
		t.Errorf("table: exit %d:\n%s", code, stdout)
	}
}
