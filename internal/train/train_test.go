package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
)

// tinyConfig is a VAE small enough to train in well under a second.
func tinyConfig(t *testing.T, sets ...string) *config.Config {
	return tinyKind(t, "vae", sets...)
}

// tinyKind is a small model of each kind, on 640 images in batches of 32.
func tinyKind(t *testing.T, kind string, sets ...string) *config.Config {
	t.Helper()
	base := []string{"data.subset=640", "train.batch_size=32",
		"train.log_every=5", "train.sample_every=1000", "train.checkpoint_every=1000", "train.keep_checkpoints=5"}
	small := map[string][]string{"vae": {"model.hidden=16", "model.latent=4"}, "cgan": {"model.channels=4", "model.latent=8"},
		"gan": {"model.channels=4", "model.latent=8"}, "gan2d": {"data.dataset=grid25", "model.hidden=16"}}
	cfg, err := models.LoadConfig(kind, "", append(append(base, small[kind]...), sets...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func readTensors(t *testing.T, path string) *checkpoint.File {
	t.Helper()
	f, err := checkpoint.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// An interrupted run that is resumed must end with exactly the weights,
// optimizer moments, RNG state and data position of an uninterrupted one.
// 30 steps of 32 out of 640 images crosses an epoch boundary at step 20.
// With experience replay the buffer is part of that state: the cGAN's
// buffer of 64 is full after step 2, so the cut at step 13 falls while
// it swaps fakes (and their classes) every step; the 2-D GAN's buffer of
// 500 fills until step 16, so the cut falls while it fills.
func TestResumeIsBitIdentical(t *testing.T) {
	tests := []struct {
		kind string
		sets []string
	}{
		{"vae", nil},
		{"cgan", nil},
		{"cgan", []string{"train.replay_size=64", "train.replay_share=0.5"}},
		{"gan", []string{"train.replay_size=64", "train.replay_share=0.25"}},
		{"gan2d", []string{"train.replay_size=500", "train.replay_share=0.5", "train.label_smoothing=0.1"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{tt.kind}, tt.sets...), " "), func(t *testing.T) { testResumeIsBitIdentical(t, tt.kind, tt.sets...) })
	}
}

func testResumeIsBitIdentical(t *testing.T, kind string, sets ...string) {
	ctx := context.Background()
	whole, cut := t.TempDir(), t.TempDir()
	cfg := tinyKind(t, kind, append([]string{"train.steps=30"}, sets...)...)
	if _, err := Run(ctx, Options{Config: cfg, RunDir: whole}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, Options{Config: cfg, RunDir: cut, StopAfter: 13})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("StopAfter: err = %v, want ErrInterrupted", err)
	}
	if res.Step != 13 {
		t.Fatalf("stopped at step %d, want 13", res.Step)
	}
	if _, err := Run(ctx, Options{Config: cfg, RunDir: cut, Resume: res.Checkpoint}); err != nil {
		t.Fatal(err)
	}
	a := readTensors(t, filepath.Join(whole, "ckpt-00000030.safetensors"))
	b := readTensors(t, filepath.Join(cut, "ckpt-00000030.safetensors"))
	if len(a.Tensors) != len(b.Tensors) || len(a.Tensors) < 10 {
		t.Fatalf("tensor counts %d vs %d", len(a.Tensors), len(b.Tensors))
	}
	for i, ta := range a.Tensors {
		tb := b.Tensors[i]
		if ta.Name != tb.Name || !bytes.Equal(ta.Data, tb.Data) {
			t.Errorf("tensor %q differs after resume", ta.Name)
		}
	}
}

// Two runs of the same config and seed write the same bytes.
func TestSameSeedSameCheckpoint(t *testing.T) {
	cfg := tinyConfig(t, "train.steps=8")
	var files [2][]byte
	for i := range files {
		dir := t.TempDir()
		if _, err := Run(context.Background(), Options{Config: cfg, RunDir: dir}); err != nil {
			t.Fatal(err)
		}
		var err error
		if files[i], err = os.ReadFile(filepath.Join(dir, "ckpt-00000008.safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("same config and seed gave different checkpoints")
	}
}

func TestCancelledRunWritesCheckpointOfCurrentStep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	res, err := Run(ctx, Options{Config: tinyConfig(t, "train.steps=10"), RunDir: dir})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err = %v, want ErrInterrupted", err)
	}
	if _, err := checkpoint.Read(res.Checkpoint); err != nil {
		t.Fatalf("interrupt checkpoint unreadable: %v", err)
	}
}

func TestResumeRefusesOtherConfig(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(context.Background(), Options{Config: tinyConfig(t, "train.steps=4"), RunDir: dir, StopAfter: 2})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	other := tinyConfig(t, "train.steps=4", "model.hidden=8")
	if _, err := Run(context.Background(), Options{Config: other, RunDir: dir, Resume: res.Checkpoint}); err == nil {
		t.Fatal("resuming with another model shape succeeded")
	}
}

func TestKeepsNewestCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(t, "train.steps=10", "train.checkpoint_every=2", "train.keep_checkpoints=2")
	if _, err := Run(context.Background(), Options{Config: cfg, RunDir: dir}); err != nil {
		t.Fatal(err)
	}
	got, _ := filepath.Glob(filepath.Join(dir, CheckpointPattern))
	if len(got) != 2 || filepath.Base(got[0]) != "ckpt-00000008.safetensors" || filepath.Base(got[1]) != "ckpt-00000010.safetensors" {
		t.Fatalf("kept %v, want steps 8 and 10", got)
	}
}

// nanModel wraps a real model and reports a NaN loss from step nanAt on.
type nanModel struct {
	models.Model
	step, nanAt int
}

func (m *nanModel) TrainStep(b models.Batch, r *rng.RNG) ([]models.Metric, error) {
	ms, err := m.Model.TrainStep(b, r)
	if m.step++; m.step >= m.nanAt {
		ms = append(ms, models.Metric{Name: "g_loss", Value: math.NaN()})
	}
	return ms, err
}

func TestNaNLossStopsAndKeepsLastGoodCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(t, "train.steps=20", "train.checkpoint_every=4")
	opts := Options{Config: cfg, RunDir: dir, newModel: func(c *config.Config) (models.Model, error) {
		m, err := models.New(c)
		return &nanModel{Model: m, nanAt: 7}, err
	}}
	_, err := Run(context.Background(), opts)
	var nan *NaNError
	if !errors.As(err, &nan) || nan.Step != 7 || nan.Term != "g_loss" {
		t.Fatalf("err = %v, want a NaNError at step 7 naming g_loss", err)
	}
	got, _ := filepath.Glob(filepath.Join(dir, CheckpointPattern))
	if len(got) != 1 || filepath.Base(got[0]) != "ckpt-00000004.safetensors" {
		t.Fatalf("checkpoints %v, want only step 4's", got)
	}
	if _, err := checkpoint.Read(got[0]); err != nil {
		t.Fatalf("last good checkpoint unreadable: %v", err)
	}
}

// The GAN's two losses must move: a discriminator that learns pushes D(real)
// above D(fake) on a few hundred steps of real data.
func TestCGANTrainingMovesBothLosses(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyKind(t, "cgan", "train.steps=60", "train.log_every=10", "train.lr_d=0.001")
	if _, err := Run(context.Background(), Options{Config: cfg, RunDir: dir}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(readString(t, filepath.Join(dir, "stats.jsonl"))), "\n")
	var first, last map[string]float64
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-2]), &last) // the last line is the checkpoint's
	for _, k := range []string{"d_loss", "g_loss"} {
		if first[k] == last[k] || first[k] == 0 {
			t.Errorf("%s did not move: %v then %v", k, first[k], last[k])
		}
	}
	if last["d_real"] <= last["d_fake"] {
		t.Errorf("after 60 steps D(real)=%.3f is not above D(fake)=%.3f", last["d_real"], last["d_fake"])
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestElapsedAtReadsTheRunsWallTimeUpToAStep(t *testing.T) {
	dir := t.TempDir()
	stats := `{"step":100,"elapsed_s":10}
{"step":200,"elapsed_s":21.5}
{"step":200,"checkpoint":"ckpt-00000200.safetensors","test_nelbo":99}
{"step":300,"elapsed_s":33}
`
	os.WriteFile(filepath.Join(dir, "stats.jsonl"), []byte(stats), 0o644)
	for _, c := range []struct {
		step int
		want float64
	}{{50, 0}, {200, 21.5}, {250, 21.5}, {300, 33}} {
		if got := ElapsedAt(dir, c.step); got != c.want {
			t.Errorf("ElapsedAt(%d) = %v, want %v", c.step, got, c.want)
		}
	}
}

// writePNGFolder writes n flat 6x6 grey PNGs into dir/<class> for each class
// (or straight into dir when classes is empty).
func writePNGFolder(t *testing.T, dir string, classes []string, n int) {
	t.Helper()
	subs := classes
	if len(subs) == 0 {
		subs = []string{""}
	}
	for c, sub := range subs {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			img := image.NewGray(image.Rect(0, 0, 6, 6))
			for p := range img.Pix {
				img.Pix[p] = uint8(40*c + 3*i + p)
			}
			var b bytes.Buffer
			if err := png.Encode(&b, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, fmt.Sprintf("%03d.png", i)), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestCheckpointRecordsItsData(t *testing.T) {
	data := t.TempDir()
	writePNGFolder(t, data, []string{"cat", "dog"}, 20)
	res, err := Run(context.Background(), Options{Config: tinyConfig(t, "train.steps=2", "data.dir="+data, "train.batch_size=8"), RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	info, ok, err := models.DataInfo(readTensors(t, res.Checkpoint), res.Checkpoint)
	if err != nil || !ok {
		t.Fatalf("the checkpoint records no data (ok %v, err %v)", ok, err)
	}
	if info.Kind != "images" || info.Name != filepath.Base(data) || info.Train != 36 || info.Test != 4 || len(info.SHA256) != 64 ||
		strings.Join(info.Classes, ",") != "cat,dog" {
		t.Errorf("recorded data %+v: want the image folder, classes cat and dog, 36 training and 4 held-out images", info)
	}
}

func TestModelsThatLearnFromLabelsRefuseUnlabelledData(t *testing.T) {
	unlabelled, many := t.TempDir(), t.TempDir()
	writePNGFolder(t, unlabelled, nil, 20)
	var classes []string
	for c := 0; c < 11; c++ {
		classes = append(classes, fmt.Sprintf("c%02d", c))
	}
	writePNGFolder(t, many, classes, 10)
	for _, tc := range []struct {
		name, kind, dir, want string
	}{
		{"cgan without labels", "cgan", unlabelled, "has no labels"},
		{"cgan with more classes than model.classes", "cgan", many, "has 11 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyKind(t, tc.kind, "train.steps=1", "data.dir="+tc.dir, "train.batch_size=8")
			_, err := Run(context.Background(), Options{Config: cfg, RunDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
				t.Errorf("error %v, want one naming %s and saying %q", err, tc.dir, tc.want)
			}
		})
	}
	// A VAE learns without labels.
	if _, err := Run(context.Background(), Options{Config: tinyConfig(t, "train.steps=1", "data.dir="+unlabelled, "train.batch_size=8"), RunDir: t.TempDir()}); err != nil {
		t.Errorf("a VAE on unlabelled images: %v", err)
	}
}

func TestResumeRefusesChangedData(t *testing.T) {
	data := t.TempDir()
	writePNGFolder(t, data, []string{"cat", "dog"}, 20)
	cfg := tinyConfig(t, "train.steps=4", "data.dir="+data, "train.batch_size=8")
	res, err := Run(context.Background(), Options{Config: cfg, RunDir: t.TempDir(), StopAfter: 2})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	writePNGFolder(t, data, []string{"cat", "dog"}, 21) // one more image of each class
	_, err = Run(context.Background(), Options{Config: cfg, RunDir: t.TempDir(), Resume: res.Checkpoint})
	if err == nil || !strings.Contains(err.Error(), "changed since it was written") {
		t.Errorf("resuming on changed data: %v", err)
	}
}
