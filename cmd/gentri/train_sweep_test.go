package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/sweep"
	"github.com/gentri/gentri/internal/train"
)

// tinySweep is a 2-D sweep that trains in well under a second a point:
// 2 learning rates × 2 seeds of a small 2-D VAE, 20 steps each.
const tinySweep = `model: vae2d
out: %s
set:
  model.hidden: 16
  train.steps: 20
  train.checkpoint_every: 10
  train.sample_every: 20
grid:
  train.lr: [0.001, 0.002]
seeds: 1-2
`

func writeSweep(t *testing.T, dir, name, out string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(strings.Replace(tinySweep, "%s", out, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSweepPointResumesAndAFinishedPointIsANoOp interrupts a point after
// 10 of its 20 steps, reruns it (it resumes from its checkpoint and ends
// with the bytes of an uninterrupted run), and reruns it once more (it is
// finished: nothing is written).
func TestSweepPointResumesAndAFinishedPointIsANoOp(t *testing.T) {
	dir := t.TempDir()
	cut := writeSweep(t, dir, "cut.yaml", "cut")
	whole := writeSweep(t, dir, "whole.yaml", "whole")

	sw, err := sweep.Load(cut)
	if err != nil {
		t.Fatal(err)
	}
	p := sw.Points[3]
	var errb bytes.Buffer
	err = trainPoint(context.Background(), trainOptions{Quiet: true, stopAfter: 10}, streams{Out: &bytes.Buffer{}, Err: &errb}, sw, p)
	if !errors.Is(err, train.ErrInterrupted) {
		t.Fatalf("cut run: %v", err)
	}
	if got := p.Status(); got != "step 10/20" {
		t.Errorf("status after the cut %q", got)
	}
	code, _, stderr := run(t, "train", "--sweep", cut, "--index", "3")
	if code != exitOK || !strings.Contains(stderr, "resuming at step 10 of 20") {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "train", "--sweep", whole, "--index", "3", "--quiet"); code != exitOK {
		t.Fatalf("uninterrupted: exit %d: %s", code, stderr)
	}
	name := "ckpt-00000020.safetensors"
	a := readFile(t, filepath.Join(p.Dir, name))
	b := readFile(t, filepath.Join(dir, "whole", p.Name, name))
	if a != b {
		t.Fatal("the resumed point's final checkpoint differs from the uninterrupted one's")
	}
	if p.Name != "train.lr=0.002,seed=2" {
		t.Errorf("point 3 is %q", p.Name)
	}

	before := snapshot(t, p.Dir)
	code, stdout, stderr := run(t, "train", "--sweep", cut, "--index", "3", "--json")
	if code != exitOK || !strings.Contains(stderr, "finished at step 20 (train.steps=20): nothing to do") {
		t.Fatalf("finished point: exit %d: %s", code, stderr)
	}
	var res struct {
		Finished, Trained bool
		Step              int
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || !res.Finished || res.Trained || res.Step != 20 {
		t.Errorf("--json of a finished point: %q (%v)", stdout, err)
	}
	if after := snapshot(t, p.Dir); after != before {
		t.Errorf("a finished point's folder changed:\n%s\n---\n%s", before, after)
	}
}

// TestSweepShardAutoTrainsItsTasksPoints runs a Slurm array's task 1 of 3
// (ids starting at 1) and a Kubernetes pod's, and checks which points each
// trained; then --list shows them.
func TestSweepShardAutoTrainsItsTasksPoints(t *testing.T) {
	dir := t.TempDir()
	path := writeSweep(t, dir, "s.yaml", "out")
	sw, err := sweep.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	trained := func() []int {
		var out []int
		for _, p := range sw.Points {
			if p.Status() == "finished" {
				out = append(out, p.Index)
			}
		}
		return out
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "2")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "1")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "3")
	if code, _, stderr := run(t, "train", "--sweep", path, "--shard", "auto", "--quiet"); code != exitOK {
		t.Fatalf("slurm task: exit %d: %s", code, stderr)
	}
	if got := trained(); !slices.Equal(got, []int{1}) {
		t.Fatalf("task 1 of 3 trained points %v, want [1]", got)
	}
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT"} {
		os.Unsetenv(v)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "0")
	t.Setenv("GENTRI_SHARD_COUNT", "3")
	if code, _, stderr := run(t, "train", "--sweep", path, "--shard", "auto", "--quiet"); code != exitOK {
		t.Fatalf("k8s pod: exit %d: %s", code, stderr)
	}
	if got := trained(); !slices.Equal(got, []int{0, 1, 3}) {
		t.Fatalf("after pod 0 of 3: finished points %v, want [0 1 3]", got)
	}
	t.Setenv("JOB_COMPLETION_INDEX", "5")
	t.Setenv("GENTRI_SHARD_COUNT", "6")
	code, _, stderr := run(t, "train", "--sweep", path, "--shard", "auto")
	if code != exitOK || !strings.Contains(stderr, "this task has no point (the sweep has 4): nothing to do") {
		t.Fatalf("a task beyond the points: exit %d: %s", code, stderr)
	}

	code, stdout, stderr := run(t, "train", "--sweep", path, "--list")
	if code != exitOK {
		t.Fatalf("--list: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := [][]string{
		{"0", filepath.Join(dir, "out", "train.lr=0.001,seed=1"), "finished"},
		{"1", filepath.Join(dir, "out", "train.lr=0.001,seed=2"), "finished"},
		{"2", filepath.Join(dir, "out", "train.lr=0.002,seed=1"), "not started"},
		{"3", filepath.Join(dir, "out", "train.lr=0.002,seed=2"), "finished"},
	}
	if len(lines) != len(want) {
		t.Fatalf("--list:\n%s", stdout)
	}
	for i, w := range want {
		f := strings.Fields(lines[i])
		if got := append(f[:2:2], strings.Join(f[2:], " ")); !slices.Equal(got, w) {
			t.Errorf("--list line %d: %q, want %q", i, got, w)
		}
	}
}

// TestSweepEvalThenReportSeesEveryPoint trains a sweep, evaluates it
// (a second evaluation skips the points already done), and checks that
// the report has both grid points with their two seeds and no missing
// record; a point removed before the report is listed as missing.
func TestSweepEvalThenReportSeesEveryPoint(t *testing.T) {
	dir := t.TempDir()
	path := writeSweep(t, dir, "s.yaml", "out")
	if code, _, stderr := run(t, "train", "--sweep", path, "--quiet"); code != exitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "eval", "--sweep", path, "--quiet"); code != exitOK {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	code, _, stderr := run(t, "eval", "--sweep", path, "--index", "2")
	if code != exitOK || !strings.Contains(stderr, "already records ckpt-00000020.safetensors: nothing to do") {
		t.Fatalf("eval again: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, "report", "--sweep", path, "--json")
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	var rep struct {
		Rows []struct {
			Values  map[string]string          `json:"values"`
			Seeds   []uint64                   `json:"seeds"`
			Figures map[string]json.RawMessage `json:"figures"`
		} `json:"rows"`
		Missing []sweep.Missing `json:"missing"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	if len(rep.Rows) != 2 || len(rep.Missing) != 0 || rep.Rows[1].Values["train.lr"] != "0.002" || !slices.Equal(rep.Rows[1].Seeds, []uint64{1, 2}) {
		t.Fatalf("report:\n%s", stdout)
	}
	for _, m := range []string{"modes.captured", "modes.high_quality", "s_per_100"} {
		if _, ok := rep.Rows[0].Figures[m]; !ok {
			t.Errorf("report lacks %s:\n%s", m, stdout)
		}
	}
	sw, _ := sweep.Load(path)
	if err := os.Remove(filepath.Join(sw.Points[1].Dir, sweep.RecordFile)); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run(t, "report", "--sweep", path)
	if code != exitOK || !strings.Contains(stdout, "Missing records (1 of 4 points)") || !strings.Contains(stderr, "point 1 ("+sw.Points[1].Dir+"): no eval.json") {
		t.Fatalf("report with a record missing: exit %d\n%s\n%s", code, stdout, stderr)
	}
	png := filepath.Join(dir, "lr.png")
	if code, _, stderr := run(t, "report", "--sweep", path, "--plot", png, "--metric", "modes.high_quality"); code != exitOK {
		t.Fatalf("report --plot: exit %d: %s", code, stderr)
	}
	if w, h := decodePNG(t, png); w < 500 || h < 300 {
		t.Errorf("plot is %dx%d", w, h)
	}
}

// TestSweepUsageErrors checks that bad sweep invocations exit 2 with a
// message naming the problem, and a changed sweep file is refused rather
// than mixed into a point's run.
func TestSweepUsageErrors(t *testing.T) {
	dir := t.TempDir()
	path := writeSweep(t, dir, "s.yaml", "out")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("model: vae2d\ngrid:\n  train.lr: [0.001]\n  model.hiden: [8]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"index without a sweep", []string{"train", "--index", "1"}, "give --sweep FILE"},
		{"a single run's flag", []string{"train", "--sweep", path, "--set", "train.lr=1"}, "--set does not apply"},
		{"out", []string{"train", "--sweep", path, "--out", dir}, "--out does not apply"},
		{"index out of range", []string{"train", "--sweep", path, "--index", "4"}, "--index 4: " + path + " has 4 points, 0 to 3"},
		{"index and shard", []string{"train", "--sweep", path, "--index", "1", "--shard", "0/2"}, "give one or the other"},
		{"bad shard", []string{"train", "--sweep", path, "--shard", "2/2"}, "--shard 2/2: shard index 2 is outside [0, 1]"},
		{"shard auto outside an engine", []string{"train", "--sweep", path, "--shard", "auto"}, "neither JOB_COMPLETION_INDEX"},
		{"list and index", []string{"train", "--sweep", path, "--list", "--index", "0"}, "--list prints every point"},
		{"bad sweep file", []string{"train", "--sweep", bad, "--list"}, bad + `: line 4: grid: --set model.hiden=8: unknown key "model.hiden" (did you mean "model.hidden"?)`},
		{"missing sweep file", []string{"train", "--sweep", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"eval of one checkpoint", []string{"eval", "--sweep", path, "--checkpoint", "x"}, "--checkpoint does not apply"},
		{"report without records", []string{"report", "--sweep", path, "extra.json"}, "unexpected argument"},
		{"report json without sweep", []string{"report", "--json", "a.json"}, "give --sweep FILE"},
		{"report metric without plot", []string{"report", "--sweep", path, "--metric", "fid"}, "give --plot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range []string{"JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID"} {
				t.Setenv(v, "")
			}
			code, _, stderr := run(t, c.args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "panic") {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr, c.want)
			}
		})
	}

	// A point trained with one config, then the file's set: changes a value
	// that is not in the folder's name.
	if code, _, stderr := run(t, "train", "--sweep", path, "--index", "0", "--quiet"); code != exitOK {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	changed := readFile(t, path)
	changed = strings.Replace(changed, "model.hidden: 16", "model.hidden: 24", 1)
	changed = strings.Replace(changed, "train.steps: 20", "train.steps: 30", 1)
	if err := os.WriteFile(path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "train", "--sweep", path, "--index", "0")
	if code != exitUsage || !strings.Contains(stderr, "holds a run of another config") || !strings.Contains(stderr, "model.hidden: 16 in the run, 24 in the sweep") {
		t.Fatalf("changed sweep file: exit %d: %s", code, stderr)
	}
}
