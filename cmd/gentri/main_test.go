package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test re-run this binary as the gentri command itself
// (GENTRI_TEST_AS_MAIN=1), so signals can be sent to a real process.
func TestMain(m *testing.M) {
	if os.Getenv("GENTRI_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// tiny is a VAE small enough to train in a second on 640 images.
var tiny = []string{"--set", "model.hidden=32", "--set", "model.latent=4", "--set", "data.subset=640",
	"--set", "train.batch_size=32", "--set", "train.log_every=10", "--set", "train.sample_every=25", "--set", "train.checkpoint_every=25"}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, streams{Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func decodePNG(t *testing.T, path string) (w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	return b.Dx(), b.Dy()
}

func TestTrainThenSampleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	code, stdout, stderr := run(t, append([]string{"train", "--model", "vae", "--set", "train.steps=50", "--out", runDir, "--quiet", "--json"}, tiny...)...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	var res struct {
		Step       int                `json:"step"`
		Checkpoint string             `json:"checkpoint"`
		Eval       map[string]float64 `json:"eval"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("--json output %q: %v", stdout, err)
	}
	if res.Step != 50 || res.Eval["test_nelbo"] <= 0 || res.Eval["test_nelbo"] > 600 {
		t.Fatalf("result %+v: want step 50 and a test NELBO in (0, 600]", res)
	}
	for _, f := range []string{"config.yaml", "stats.jsonl", "samples/step-00000025.png", "samples/step-00000050.png"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run folder lacks %s", f)
		}
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(runDir, "stats.jsonl"))), "\n")
	var first map[string]float64
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"step", "loss", "rec", "kl", "examples_per_s", "elapsed_s"} {
		if _, ok := first[k]; !ok {
			t.Errorf("stats.jsonl line %q lacks %q", lines[0], k)
		}
	}

	grid := filepath.Join(dir, "grid.png")
	if code, _, stderr := run(t, "sample", "--checkpoint", res.Checkpoint, "--n", "16", "--out", grid, "--each", filepath.Join(dir, "each"), "--seed", "7"); code != 0 {
		t.Fatalf("sample exit %d: %s", code, stderr)
	}
	if w, h := decodePNG(t, grid); w != 4*30+2 || h != 4*30+2 {
		t.Fatalf("16 samples gave a %dx%d grid, want 122x122", w, h)
	}
	if w, h := decodePNG(t, filepath.Join(dir, "each", "seed00000022.png")); w != 28 || h != 28 {
		t.Fatalf("per-sample PNG is %dx%d", w, h)
	}
	// The same seed gives the same bytes, whatever else is drawn beside it.
	alone := filepath.Join(dir, "alone")
	if code, _, stderr := run(t, "sample", "--checkpoint", res.Checkpoint, "--n", "1", "--seed", "22", "--out", filepath.Join(dir, "one.png"), "--each", alone); code != 0 {
		t.Fatalf("sample exit %d: %s", code, stderr)
	}
	if readFile(t, filepath.Join(alone, "seed00000022.png")) != readFile(t, filepath.Join(dir, "each", "seed00000022.png")) {
		t.Fatal("seed 22 drawn alone differs from seed 22 drawn among 16")
	}
	recon := filepath.Join(dir, "recon.png")
	if code, _, stderr := run(t, "sample", "--checkpoint", res.Checkpoint, "--recon", "--n", "8", "--out", recon); code != 0 {
		t.Fatalf("sample --recon exit %d: %s", code, stderr)
	}
	if w, _ := decodePNG(t, recon); w != 2*3*30+2 {
		t.Fatalf("recon grid width %d, want pairs in 6 columns", w)
	}
	if code, _, stderr := run(t, "sample", "--checkpoint", res.Checkpoint, "--unconditional", "--out", filepath.Join(dir, "u.png")); code != exitUsage || !strings.Contains(stderr, "no classes") {
		t.Fatalf("sample --unconditional on a VAE: exit %d (%s), want a usage error", code, stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBadInputGivesClearErrorAndExitCode(t *testing.T) {
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badYAML, []byte("model:\n  kind: vae\n  hiden: 3\n"), 0o644)
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	os.WriteFile(corrupt, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"train", "--bogus"}, exitUsage, "unknown flag"},
		{"no model", []string{"train"}, exitUsage, "--model"},
		{"unknown kind", []string{"train", "--model", "gpt"}, exitUsage, "gpt"},
		{"unknown config key", []string{"train", "--config", badYAML}, exitUsage, `line 3: unknown key "model.hiden"`},
		{"bad --set value", []string{"train", "--model", "vae", "--set", "train.lr=fast"}, exitUsage, "train.lr"},
		{"out of range", []string{"train", "--model", "vae", "--set", "train.lr=0"}, exitUsage, "train.lr: must be"},
		{"missing config file", []string{"train", "--config", filepath.Join(dir, "nope.yaml")}, exitUsage, "nope.yaml"},
		{"missing checkpoint", []string{"sample", "--checkpoint", filepath.Join(dir, "nope.safetensors")}, exitFailure, "nope.safetensors"},
		{"corrupted checkpoint", []string{"sample", "--checkpoint", corrupt}, exitFailure, "corrupt.safetensors"},
		{"stray argument", []string{"sample", "extra"}, exitUsage, "unexpected argument"},
		{"bad data dir", []string{"train", "--model", "vae", "--data", dir, "--out", filepath.Join(dir, "r")}, exitFailure, "train-images-idx3-ubyte"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Fatalf("stderr shows a panic: %s", stderr)
			}
		})
	}
}

func TestSampleRefusesCheckpointOfAnotherKind(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, append([]string{"train", "--model", "vae", "--set", "train.steps=2", "--out", dir, "--quiet"}, tiny...)...); code != 0 {
		t.Fatal(stderr)
	}
	code, _, stderr := run(t, "sample", "--checkpoint", filepath.Join(dir, "ckpt-00000002.safetensors"), "--model", "cgan", "--out", filepath.Join(dir, "x.png"))
	if code != exitUsage || !strings.Contains(stderr, "vae checkpoint") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

// SIGTERM during training writes a checkpoint of the current step and exits
// 130; `--resume latest` then continues the run.
func TestSIGTERMWritesCheckpointAndResumes(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], append([]string{"train", "--model", "vae", "--set", "train.steps=100000"}, tiny...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GENTRI_TEST_AS_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var log strings.Builder
	for sc.Scan() { // wait for the first checkpoint, so training is under way
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "wrote") {
			break
		}
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit: %v, want %d\n%s", err, exitInterrupted, log.String())
	}
	if !strings.Contains(log.String(), "interrupted") {
		t.Fatalf("stderr does not say it was interrupted:\n%s", log.String())
	}
	ckpts, _ := filepath.Glob(filepath.Join(dir, "runs", "0001-vae", "ckpt-*.safetensors"))
	if len(ckpts) < 2 {
		t.Fatalf("want the periodic and the interrupt checkpoint, got %v\n%s", ckpts, log.String())
	}
	last := ckpts[len(ckpts)-1] // names sort by step
	var step int
	fmt.Sscanf(filepath.Base(last), "ckpt-%d.safetensors", &step)
	want := step + 20
	resume := exec.Command(os.Args[0], "train", "--resume", "latest", "--model", "vae", "--set", fmt.Sprintf("train.steps=%d", want), "--quiet", "--json")
	resume.Dir = dir
	resume.Env = cmd.Env
	out, err := resume.Output()
	if err != nil {
		t.Fatalf("resume latest: %v", err)
	}
	if !strings.Contains(string(out), fmt.Sprintf(`"step":%d`, want)) {
		t.Fatalf("resume result %s, want step %d", out, want)
	}
}

// trainTinyClassifier trains a feature network of a few steps on 640
// MNIST images into out and returns its checkpoint.
func trainTinyClassifier(t *testing.T, out string, steps int) string {
	t.Helper()
	if code, _, stderr := run(t, "train", "--model", "classifier", "--set", "model.channels=4", "--set", "model.hidden=16",
		"--set", fmt.Sprintf("train.steps=%d", steps), "--set", "data.subset=640", "--set", "train.batch_size=32",
		"--set", "train.checkpoint_every=1000", "--quiet", "--out", out); code != 0 {
		t.Fatalf("classifier: %s", stderr)
	}
	return filepath.Join(out, fmt.Sprintf("ckpt-%08d.safetensors", steps))
}

// gentri eval on a small trained VAE with a small trained feature network:
// every part of the record is there, gates exit 4, --samples judges PNGs.
func TestEvalEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ext := trainTinyClassifier(t, filepath.Join(dir, "cls"), 20)
	vae := filepath.Join(dir, "vae")
	if code, _, stderr := run(t, append([]string{"train", "--model", "vae", "--set", "train.steps=20", "--out", vae}, append(tiny, "--quiet")...)...); code != 0 {
		t.Fatalf("vae: %s", stderr)
	}
	ckpt := filepath.Join(vae, "ckpt-00000020.safetensors")
	base := []string{"eval", "--checkpoint", ckpt, "--extractor", ext, "--n", "300", "--iwae-k", "4", "--iwae-images", "20", "--quiet"}
	code, stdout, stderr := run(t, append(base, "--json")...)
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, stdout)
	}
	for _, k := range []string{"fid", "kid", "precision", "recall", "density", "coverage", "mnist_is", "class_kl",
		"classes_covered", "test_nelbo", "iwae_nll", "speed", "real_floor", "extractor_sha256", "hardware"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("record lacks %q", k)
		}
	}
	if sp := rec["speed"].(map[string]any); sp["nfe"].(float64) != 1 || sp["seconds_per_100"].(float64) <= 0 {
		t.Errorf("speed %v", sp)
	}
	if code, _, stderr := run(t, append(base, "--no-floor", "--iwae-k", "0", "--fail-if", "fid<1e9")...); code != exitGate || !strings.Contains(stderr, "fid<1e9") {
		t.Errorf("holding gate: exit %d, %q; want %d", code, stderr, exitGate)
	}
	if code, _, stderr := run(t, append(base, "--no-floor", "--iwae-k", "0", "--fail-if", "fdi>1")...); code != exitUsage || !strings.Contains(stderr, `"fdi"`) {
		t.Errorf("unknown gate figure: exit %d, %q", code, stderr)
	}

	pngs := filepath.Join(dir, "pngs")
	if code, _, stderr := run(t, "sample", "--checkpoint", ckpt, "--n", "150", "--each", pngs, "--out", filepath.Join(dir, "g.png"), "--quiet"); code != 0 {
		t.Fatal(stderr)
	}
	code, stdout, stderr = run(t, "eval", "--samples", pngs, "--extractor", ext, "--no-floor", "--json", "--quiet")
	if code != 0 || !strings.Contains(stdout, `"n":150`) {
		t.Fatalf("eval --samples: exit %d, %s %s", code, stdout, stderr)
	}
}

// A 2-D GAN on ring8: training writes scatter plots and mode counts,
// `gentri eval` reports the figures of docs/metrics.md §6.2 without a feature network or
// MNIST, writes a scatter plot, and gates on them; `gentri sample` draws a
// scatter plot too.
func TestTwoDModelTrainEvalSampleEndToEnd(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	code, _, stderr := run(t, "train", "--model", "gan2d", "--set", "train.steps=50", "--set", "train.checkpoint_every=50",
		"--set", "train.sample_every=25", "--set", "train.log_every=10", "--out", runDir, "--quiet")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	stats := readFile(t, filepath.Join(runDir, "stats.jsonl"))
	if !strings.Contains(stats, `"modes_captured"`) || !strings.Contains(stats, `"high_quality"`) {
		t.Errorf("stats.jsonl lacks the mode counts:\n%s", stats)
	}
	if w, h := decodePNG(t, filepath.Join(runDir, "samples", "step-00000025.png")); w != 512 || h != 512 {
		t.Errorf("training scatter plot is %dx%d", w, h)
	}
	ckpt := filepath.Join(runDir, "ckpt-00000050.safetensors")
	// --data points at nothing: a 2-D model needs neither MNIST nor a feature network.
	code, stdout, stderr := run(t, "eval", "--checkpoint", ckpt, "--json", "--quiet", "--data", filepath.Join(dir, "no-mnist"))
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var rec struct {
		Model string         `json:"model"`
		Modes map[string]any `json:"modes"`
		Speed map[string]any `json:"speed"`
		Plot  string         `json:"plot"`
		FID   *float64       `json:"fid"`
	}
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, stdout)
	}
	if rec.Model != "gan2d" || rec.Modes == nil || rec.Modes["n"].(float64) != 2500 || rec.Modes["components"].(float64) != 8 {
		t.Fatalf("record %s: want gan2d with modes of 2500 samples of 8 components", stdout)
	}
	for _, k := range []string{"captured", "high_quality", "well_covered", "per_mode"} {
		if _, ok := rec.Modes[k]; !ok {
			t.Errorf("modes lack %q: %v", k, rec.Modes)
		}
	}
	if rec.FID != nil || rec.Speed["nfe"].(float64) != 1 {
		t.Errorf("a 2-D record with image metrics or speed %v: %s", rec.Speed, stdout)
	}
	if w, _ := decodePNG(t, rec.Plot); rec.Plot != filepath.Join(runDir, "ckpt-00000050-modes.png") || w != 512 {
		t.Errorf("plot %q", rec.Plot)
	}
	plot := filepath.Join(dir, "p.png")
	code, stdout, stderr = run(t, "eval", "--checkpoint", ckpt, "--n", "300", "--plot", plot, "--fail-if", "modes.captured>8", "--fail-if", "modes.high_quality<=1")
	if code != exitGate || !strings.Contains(stderr, "modes.high_quality<=1") || strings.Contains(stderr, "modes.captured>8") {
		t.Errorf("gates: exit %d, %q; want %d for the holding gate only", code, stderr, exitGate)
	}
	if !strings.Contains(stdout, "modes captured") || !strings.Contains(stdout, "(ring8, N=300") {
		t.Errorf("table:\n%s", stdout)
	}
	if _, err := os.Stat(plot); err != nil {
		t.Errorf("--plot: %v", err)
	}
	out := filepath.Join(dir, "s.png")
	if code, _, stderr := run(t, "sample", "--checkpoint", ckpt, "--n", "500", "--out", out, "--quiet"); code != 0 {
		t.Fatalf("sample exit %d: %s", code, stderr)
	}
	if w, h := decodePNG(t, out); w != 512 || h != 512 {
		t.Errorf("sample scatter plot is %dx%d", w, h)
	}
	if code, _, stderr := run(t, "sample", "--checkpoint", ckpt, "--each", filepath.Join(dir, "each")); code != exitUsage || !strings.Contains(stderr, "scatter") {
		t.Errorf("sample --each on points: exit %d, %q", code, stderr)
	}
}

// --sweep-steps gives one record per step count and the FID-vs-time plot.
func TestEvalSweepWritesOneRecordPerStepCountAndAPlot(t *testing.T) {
	dir := t.TempDir()
	ext := trainTinyClassifier(t, filepath.Join(dir, "cls"), 5)
	ddpm := filepath.Join(dir, "ddpm")
	small := []string{"--set", "data.subset=640", "--set", "train.batch_size=32", "--set", "train.checkpoint_every=1000", "--quiet"}
	if code, _, stderr := run(t, append([]string{"train", "--model", "ddpm", "--set", "model.channels=8", "--set", "train.timesteps=20",
		"--set", "sample.steps=4", "--set", "train.sample_every=1000", "--set", "train.steps=3", "--out", ddpm}, small...)...); code != 0 {
		t.Fatalf("ddpm: %s", stderr)
	}
	plotPath := filepath.Join(dir, "sweep.png")
	code, stdout, stderr := run(t, "eval", "--checkpoint", filepath.Join(ddpm, "ckpt-00000003.safetensors"), "--extractor",
		ext, "--n", "100", "--no-floor", "--sweep-steps", "3,1", "--sweep-plot", plotPath, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("sweep: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"steps":1`) || !strings.Contains(lines[1], `"steps":3`) {
		t.Fatalf("want two records, 1 then 3 steps:\n%s", stdout)
	}
	if !strings.Contains(lines[1], `"nfe":3`) {
		t.Fatalf("3-step record does not say nfe 3: %s", lines[1])
	}
	if w, h := decodePNG(t, plotPath); w < 100 || h < 100 {
		t.Fatalf("plot is %dx%d", w, h)
	}
	if code, _, _ := run(t, "eval", "--checkpoint", filepath.Join(ddpm, "ckpt-00000003.safetensors"), "--extractor",
		ext, "--sweep-steps", "5,x", "--quiet"); code != exitUsage {
		t.Fatalf("bad --sweep-steps: exit %d, want %d", code, exitUsage)
	}

	// Several samplers at an equal NFE budget: Heun affords 2 steps in 3 evaluations.
	code, stdout, stderr = run(t, "eval", "--checkpoint", filepath.Join(ddpm, "ckpt-00000003.safetensors"), "--extractor",
		ext, "--n", "100", "--no-floor", "--sweep-steps", "3", "--sweep-nfe",
		"--sweep-samplers", "ddim,heun:karras", "--sweep-plot", plotPath, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("sampler sweep: exit %d: %s", code, stderr)
	}
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"name":"ddim","steps":3`) ||
		!strings.Contains(lines[1], `"name":"heun","steps":2`) || !strings.Contains(lines[1], `"spacing":"karras","nfe":3`) {
		t.Fatalf("want ddim at 3 steps, then heun at 2 karras steps (3 NFE):\n%s", stdout)
	}
	for _, bad := range [][]string{
		{"eval", "--sweep-samplers", "ddim"},
		{"eval", "--sweep-steps", "3", "--sweep-samplers", "euler"},
		{"sample", "--churn", "5", "--out", plotPath},
		{"sample", "--spacing", "cosine", "--out", plotPath},
	} {
		args := append(bad, "--checkpoint", filepath.Join(ddpm, "ckpt-00000003.safetensors"), "--quiet")
		if code, _, stderr := run(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d (%s), want a usage error", bad, code, stderr)
		}
	}

	// --unconditional: the "no class" label, so no class accuracy; it excludes --class and --guidance.
	ckpt := filepath.Join(ddpm, "ckpt-00000003.safetensors")
	code, stdout, stderr = run(t, "eval", "--checkpoint", ckpt, "--extractor", ext,
		"--n", "100", "--no-floor", "--unconditional", "--json", "--quiet")
	if code != 0 || !strings.Contains(stdout, `"unconditional":true`) || strings.Contains(stdout, "class_accuracy") {
		t.Fatalf("eval --unconditional: exit %d, want a record without class accuracy:\n%s%s", code, stdout, stderr)
	}
	grid := filepath.Join(dir, "uncond.png")
	if code, _, stderr := run(t, "sample", "--checkpoint", ckpt, "--unconditional", "--n", "4", "--out", grid, "--quiet"); code != 0 {
		t.Fatalf("sample --unconditional: %s", stderr)
	}
	for _, bad := range [][]string{{"--class", "3"}, {"--guidance", "2"}} {
		code, _, stderr := run(t, append([]string{"sample", "--checkpoint", ckpt, "--unconditional", "--n", "4", "--out", grid, "--quiet"}, bad...)...)
		if code != exitUsage || !strings.Contains(stderr, "--") {
			t.Errorf("sample --unconditional %v: exit %d (%s), want a usage error", bad, code, stderr)
		}
	}
}
