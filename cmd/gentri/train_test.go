package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gentriProcess is gentri as a real process (this test binary, see
// TestMain) working in dir.
func gentriProcess(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GENTRI_TEST_AS_MAIN=1")
	return cmd
}

// runProcess runs gentri in dir to its end.
func runProcess(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := gentriProcess(dir, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("gentri %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// waitForFile polls for a file matching pattern, for at most a minute.
func waitForFile(t *testing.T, pattern string) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0]
		}
	}
	t.Fatalf("no %s after a minute", pattern)
	return ""
}

// Two trainings started together on one folder: one trains, the other
// fails at once (exit 1) naming the folder and the first one's pid, as does
// a resume while it runs; sampling its checkpoints needs no lock. After the
// trainer is killed (SIGKILL: no clean-up) its stale lock does not stop
// `--resume latest --out`.
func TestSecondTrainingOnAFolderInUseFailsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in real processes")
	}
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	// Checkpoints every 100 steps, all kept: the one sampled below must not be pruned meanwhile.
	args := append(append([]string{"train", "--model", "vae", "--set", "train.steps=100000", "--out", runDir}, tiny...),
		"--set", "train.checkpoint_every=100", "--set", "train.keep_checkpoints=100000")
	type exit struct {
		i    int
		code int
	}
	exits := make(chan exit, 2)
	var procs [2]*exec.Cmd
	var errs [2]bytes.Buffer
	for i := range procs {
		procs[i] = gentriProcess(dir, args...)
		procs[i].Stderr = &errs[i]
		if err := procs[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range procs {
		go func() {
			p.Wait()
			exits <- exit{i, p.ProcessState.ExitCode()}
		}()
	}
	defer func() { // a failed test must not leave a trainer behind
		for _, p := range procs {
			p.Process.Kill()
		}
	}()
	var loser exit
	select {
	case loser = <-exits:
	case <-time.After(time.Minute):
		t.Fatal("neither of two trainings on one folder stopped within a minute")
	}
	winner := procs[1-loser.i]
	msg := errs[loser.i].String()
	wantPID := fmt.Sprintf("pid %d", winner.Process.Pid)
	if loser.code != exitFailure || !strings.Contains(msg, runDir) || !strings.Contains(msg, wantPID) {
		t.Fatalf("second training: exit %d, stderr %q; want exit %d naming %s and %s", loser.code, msg, exitFailure, runDir, wantPID)
	}
	if strings.Contains(msg, "training vae") {
		t.Fatalf("the refused training started: %q", msg)
	}

	ckpt := waitForFile(t, filepath.Join(runDir, "ckpt-*.safetensors"))
	for _, args := range [][]string{
		{"train", "--resume", "latest", "--out", runDir},
		{"train", "--resume", ckpt, "--set", "train.steps=1000000"},
		{"train", "--model", "vae", "--out", runDir},
	} {
		code, _, stderr := runProcess(t, dir, args...)
		if code != exitFailure || !strings.Contains(stderr, runDir) || !strings.Contains(stderr, wantPID) {
			t.Errorf("gentri %v while the folder is in use: exit %d, %q; want exit %d naming the folder and %s", args, code, stderr, exitFailure, wantPID)
		}
	}
	if code, _, stderr := runProcess(t, dir, "sample", "--checkpoint", ckpt, "--n", "4", "--out", filepath.Join(dir, "s.png"), "--quiet"); code != 0 {
		t.Errorf("sample while the folder is in use: exit %d, %s", code, stderr)
	}

	winner.Process.Kill()
	<-exits
	if _, err := os.Stat(filepath.Join(runDir, ".lock")); err != nil {
		t.Fatalf("SIGKILL left no stale lock file to test with: %v", err)
	}
	newest, err := filepath.Glob(filepath.Join(runDir, "ckpt-*.safetensors"))
	if err != nil || len(newest) == 0 {
		t.Fatal(newest, err)
	}
	var step int
	fmt.Sscanf(filepath.Base(newest[len(newest)-1]), "ckpt-%d.safetensors", &step)
	code, stdout, stderr := runProcess(t, dir, "train", "--resume", "latest", "--out", runDir, "--set", fmt.Sprintf("train.steps=%d", step+5), "--quiet", "--json")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf(`"step":%d`, step+5)) {
		t.Fatalf("resume after SIGKILL: exit %d, %s%s; want step %d", code, stdout, stderr, step+5)
	}
	if _, err := os.Stat(filepath.Join(runDir, ".lock")); !os.IsNotExist(err) {
		t.Errorf("lock file after a training ended: %v, want none", err)
	}
}

// `train --out D` on a folder that holds a run is a usage error that says
// how to continue it, and leaves the run as it was; other files do not
// make a run.
func TestNewTrainingInAFolderHoldingARunIsAUsageError(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in real processes")
	}
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	if code, _, stderr := runProcess(t, dir, append([]string{"train", "--model", "vae", "--set", "train.steps=20", "--out", done, "--quiet"}, tiny...)...); code != 0 {
		t.Fatalf("train: exit %d, %s", code, stderr)
	}
	// Folders holding part of a run: each file alone is enough.
	for _, f := range []string{"config.yaml", "stats.jsonl", "ckpt-00000020.safetensors"} {
		part := filepath.Join(dir, "only-"+f)
		os.Mkdir(part, 0o755)
		copyFile(t, filepath.Join(done, f), filepath.Join(part, f))
	}
	notes := filepath.Join(dir, "notes")
	os.Mkdir(notes, 0o755)
	os.WriteFile(filepath.Join(notes, "README.txt"), []byte("plans\n"), 0o644)
	cases := []struct {
		dir  string
		code int
		want string
	}{
		{done, exitUsage, "--resume latest --out " + done},
		{filepath.Join(dir, "only-config.yaml"), exitUsage, "no checkpoint to resume"},
		{filepath.Join(dir, "only-stats.jsonl"), exitUsage, "no checkpoint to resume"},
		{filepath.Join(dir, "only-ckpt-00000020.safetensors"), exitUsage, "--resume latest"},
		{notes, 0, ""},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			before := snapshot(t, c.dir)
			code, _, stderr := runProcess(t, dir, append([]string{"train", "--model", "vae", "--set", "train.steps=1", "--out", c.dir, "--quiet"}, tiny...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
			if c.code == 0 {
				return
			}
			if !strings.Contains(stderr, c.dir+" already holds a run") {
				t.Errorf("stderr %q does not name the folder", stderr)
			}
			if after := snapshot(t, c.dir); after != before {
				t.Errorf("the refused training changed the folder:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// `--resume latest --out D` resumes the newest checkpoint in D, not the
// newest run under runs/; a checkpoint resumed into a folder that holds
// another run is refused, and one without checkpoints has nothing to resume.
func TestResumeLatestWithOutResumesThatFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in real processes")
	}
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine")
	if code, _, stderr := runProcess(t, dir, append([]string{"train", "--model", "vae", "--set", "train.steps=20", "--out", mine, "--quiet"}, tiny...)...); code != 0 {
		t.Fatalf("train: exit %d, %s", code, stderr)
	}
	// The newest run under runs/, further on than mine.
	if code, _, stderr := runProcess(t, dir, append([]string{"train", "--model", "vae", "--set", "train.steps=30", "--quiet"}, tiny...)...); code != 0 {
		t.Fatalf("train: exit %d, %s", code, stderr)
	}
	other := filepath.Join(dir, "runs", "0001-vae", "ckpt-00000030.safetensors")
	if _, err := os.Stat(other); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runProcess(t, dir, "train", "--resume", "latest", "--out", "mine", "--set", "train.steps=40", "--json")
	if code != 0 || !strings.Contains(stderr, "resumed "+filepath.Join("mine", "ckpt-00000020.safetensors")+" at step 20") ||
		!strings.Contains(stdout, `"step":40`) || !strings.Contains(stdout, `"run_dir":"mine"`) {
		t.Fatalf("resume latest --out mine: exit %d\n%s%s\nwant mine's step-20 checkpoint resumed to step 40 in mine", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "runs", "0001-vae", "ckpt-00000040.safetensors")); !os.IsNotExist(err) {
		t.Fatalf("the run under runs/ was continued: %v", err)
	}
	// The checkpoint's own folder, named another way, is not another run.
	if code, _, stderr := runProcess(t, dir, "train", "--resume", filepath.Join(mine, "ckpt-00000040.safetensors"), "--out", "mine/", "--set", "train.steps=41", "--quiet"); code != 0 {
		t.Fatalf("resume into its own folder: exit %d, %s", code, stderr)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"another run's checkpoint", []string{"--resume", other, "--out", mine}, mine + " already holds a run"},
		{"empty folder", []string{"--resume", "latest", "--out", t.TempDir()}, "no checkpoint in"},
		{"no folder", []string{"--resume", "latest", "--out", filepath.Join(dir, "nope")}, "no such folder"},
		{"already at train.steps", []string{"--resume", "latest", "--out", mine, "--set", "train.steps=41"}, "already at train.steps=41"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runProcess(t, dir, append([]string{"train", "--set", "train.steps=50", "--quiet"}, c.args...)...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !os.IsNotExist(err) {
		t.Errorf("resuming into a missing folder created it: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot is every file under dir with its size and modification time.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var s strings.Builder
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		fmt.Fprintf(&s, "%s %d %d; ", strings.TrimPrefix(path, dir), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.String()
}
