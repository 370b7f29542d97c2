package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// readDir returns a folder's files by name, with their bytes.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// The union of the shards of `sample --seeds --shard I/N` is the unsharded
// folder byte for byte, for 1, 3 and 4 shards (blocks that cut the model's
// batches of 100 elsewhere than the unsharded run does), for a VAE and a
// conditional DDPM.
func TestShardedSamplesUnionIsTheUnshardedRun(t *testing.T) {
	dir := t.TempDir()
	kinds := []struct{ name, ckpt string }{
		{"vae", trainTiny(t, filepath.Join(dir, "vae"), 2, append([]string{"--model", "vae"}, tiny...)...)},
		{"ddpm", trainTiny(t, filepath.Join(dir, "ddpm"), 2, "--model", "ddpm", "--set", "model.channels=8",
			"--set", "train.timesteps=20", "--set", "sample.steps=2")},
	}
	const seeds = "1000-1149"
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			whole := filepath.Join(dir, k.name, "whole")
			if code, _, stderr := run(t, "sample", "--checkpoint", k.ckpt, "--seeds", seeds, "--each", whole, "--quiet"); code != 0 {
				t.Fatalf("unsharded: exit %d: %s", code, stderr)
			}
			want := readDir(t, whole)
			if len(want) != 150 || want["seed00001000.png"] == nil || want["seed00001149.png"] == nil {
				t.Fatalf("unsharded run wrote %d files, want seed00001000.png … seed00001149.png", len(want))
			}
			for _, n := range []int{1, 3, 4} {
				out := filepath.Join(dir, k.name, fmt.Sprintf("shards%d", n))
				for i := 0; i < n; i++ {
					code, stdout, stderr := run(t, "sample", "--checkpoint", k.ckpt, "--seeds", seeds, "--shard", fmt.Sprintf("%d/%d", i, n),
						"--each", out, "--quiet", "--json")
					if code != 0 {
						t.Fatalf("shard %d/%d: exit %d: %s", i, n, code, stderr)
					}
					var rec struct {
						Shard      string
						N, Written int
					}
					if err := json.Unmarshal([]byte(stdout), &rec); err != nil || rec.Shard != fmt.Sprintf("%d/%d", i, n) || rec.Written != rec.N {
						t.Fatalf("shard %d/%d: --json %s (%v)", i, n, stdout, err)
					}
				}
				got := readDir(t, out)
				if len(got) != len(want) {
					t.Fatalf("%d shards wrote %d files, want %d", n, len(got), len(want))
				}
				for name, b := range want {
					if !bytes.Equal(got[name], b) {
						t.Errorf("%d shards: %s differs from the unsharded run's", n, name)
					}
				}
			}
		})
	}
}

// A shard that is rerun keeps its complete files, redraws the missing ones
// (the same bytes), removes the temporary files an interrupted run of its
// own left, leaves other shards' alone, and refuses a file under a sample's
// name that is not a sample.
func TestRerunShardRedoesOnlyMissingFiles(t *testing.T) {
	dir := t.TempDir()
	ckpt := trainTiny(t, filepath.Join(dir, "vae"), 2, append([]string{"--model", "vae"}, tiny...)...)
	out := filepath.Join(dir, "out")
	args := []string{"sample", "--checkpoint", ckpt, "--seeds", "0-39", "--shard", "1/2", "--each", out, "--quiet", "--json"}
	if code, _, stderr := run(t, args...); code != 0 {
		t.Fatal(stderr)
	}
	first := readDir(t, out)
	if len(first) != 20 || first["seed00000020.png"] == nil || first["seed00000039.png"] == nil {
		t.Fatalf("shard 1/2 of 0-39 wrote %d files, want seeds 20-39", len(first))
	}
	for _, f := range []string{"seed00000021.png", "seed00000033.png"} {
		os.Remove(filepath.Join(out, f))
	}
	stale, other := filepath.Join(out, ".seed00000021.png.123.tmp"), filepath.Join(out, ".seed00000003.png.456.tmp")
	os.WriteFile(stale, []byte("half a png"), 0o644)
	os.WriteFile(other, []byte("shard 0 is writing this"), 0o644)
	code, stdout, stderr := run(t, args...)
	if code != 0 {
		t.Fatal(stderr)
	}
	var rec struct{ Written, Kept int }
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil || rec.Written != 2 || rec.Kept != 18 {
		t.Fatalf("rerun: %s (%v), want 2 written and 18 kept", stdout, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("the rerun left its own stale temporary file")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("the rerun removed another shard's temporary file")
	}
	os.Remove(other)
	again := readDir(t, out)
	for name, b := range first {
		if !bytes.Equal(again[name], b) {
			t.Errorf("%s differs after the rerun", name)
		}
	}
	bad := filepath.Join(out, "seed00000025.png")
	os.WriteFile(bad, []byte("not a png"), 0o644)
	if code, _, stderr := run(t, args...); code == 0 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "not a 28x28 PNG") {
		t.Errorf("a foreign file under a sample's name: exit %d, %q", code, stderr)
	}
}

// Bad --seeds and --shard combinations are usage errors that say what is wrong.
func TestSampleSeedsRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	ckpt := trainTiny(t, filepath.Join(dir, "vae"), 2, append([]string{"--model", "vae"}, tiny...)...)
	each := filepath.Join(dir, "each")
	t.Setenv("JOB_COMPLETION_INDEX", "")
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"shard without seeds", []string{"--shard", "0/2", "--each", each}, "give it with --seeds"},
		{"seeds without each", []string{"--seeds", "0-9"}, "give their folder with --each"},
		{"seeds and n", []string{"--seeds", "0-9", "--n", "4", "--each", each}, "give one or the other"},
		{"seeds and out", []string{"--seeds", "0-9", "--out", "x.png", "--each", each}, "--seeds writes only the --each files"},
		{"bad seeds", []string{"--seeds", "9-0", "--each", each}, "runs backwards"},
		{"bad shard", []string{"--seeds", "0-9", "--shard", "2/2", "--each", each}, "outside [0, 1]"},
		{"more shards than seeds", []string{"--seeds", "0-2", "--shard", "0/4", "--each", each}, "3 seeds cannot be split into 4 shards"},
		{"auto outside an engine", []string{"--seeds", "0-9", "--shard", "auto", "--each", each}, "neither JOB_COMPLETION_INDEX"},
		{"recon", []string{"--seeds", "0-9", "--recon", "--each", each}, "--recon"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, append([]string{"sample", "--checkpoint", ckpt, "--quiet"}, c.args...)...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, %q; want exit %d and %q", code, stderr, exitUsage, c.want)
			}
		})
	}
	if _, err := os.Stat(each); !os.IsNotExist(err) {
		t.Error("a refused command wrote files")
	}
	// --shard auto inside a Slurm array that starts at 1.
	t.Setenv("SLURM_ARRAY_TASK_ID", "2")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "2")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "1")
	code, stdout, stderr := run(t, "sample", "--checkpoint", ckpt, "--seeds", "0-9", "--shard", "auto", "--each", each, "--quiet", "--json")
	if code != 0 || !strings.Contains(stdout, `"shard":"1/2"`) {
		t.Fatalf("--shard auto in a Slurm array: exit %d, %s %s", code, stdout, stderr)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range readDir(t, each) {
			if !yield(n) {
				return
			}
		}
	})
	if len(names) != 5 || names[0] != "seed00000005.png" {
		t.Errorf("shard 1/2 of 0-9 wrote %v, want seeds 5-9", names)
	}
}

// Ctrl-C or SIGTERM (a pod deleted, a Slurm task preempted) stops
// `sample --seeds` between batches with exit 130, every file written so far
// complete; the rerun draws the rest.
func TestSampleSeedsStopsOnInterrupt(t *testing.T) {
	dir := t.TempDir()
	ckpt := trainTiny(t, filepath.Join(dir, "vae"), 2, append([]string{"--model", "vae"}, tiny...)...)
	out := filepath.Join(dir, "out")
	args := []string{"sample", "--checkpoint", ckpt, "--seeds", "0-9", "--each", out, "--quiet"}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	if code := execute(ctx, args, streams{Out: io.Discard, Err: &stderr}); code != exitInterrupted || !strings.Contains(stderr.String(), "rerun to draw the rest") {
		t.Fatalf("interrupted: exit %d, %q; want %d", code, stderr.String(), exitInterrupted)
	}
	if code, _, stderr := run(t, args...); code != 0 {
		t.Fatal(stderr)
	}
	if got := len(readDir(t, out)); got != 10 {
		t.Errorf("the rerun left %d files, want 10", got)
	}
}
