package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/nn"
)

// `gentri env` names the kernels and the BLAS this binary runs on, and the
// hint to a faster build where there is one, as text and as JSON.
func TestEnvNamesKernelsBLASAndHint(t *testing.T) {
	code, stdout, stderr := run(t, "env", "--json")
	if code != 0 {
		t.Fatalf("env --json exit %d: %s", code, stderr)
	}
	var info envInfo
	if err := json.Unmarshal([]byte(stdout), &info); err != nil {
		t.Fatalf("env --json output %q: %v", stdout, err)
	}
	if info.Kernels != nn.KernelsName() || info.BLAS != nn.BLASName || info.Hint != nn.BuildHint() {
		t.Errorf("env --json: kernels %q, blas %q, hint %q; want %q, %q, %q",
			info.Kernels, info.BLAS, info.Hint, nn.KernelsName(), nn.BLASName, nn.BuildHint())
	}

	code, stdout, stderr = run(t, "env")
	if code != 0 {
		t.Fatalf("env exit %d: %s", code, stderr)
	}
	for _, want := range []string{"kernels     " + nn.KernelsName() + "\n", "blas        " + nn.BLASName + "\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("env output lacks %q:\n%s", want, stdout)
		}
	}
	if hint := nn.BuildHint(); strings.Contains(stdout, "hint: ") != (hint != "") || !strings.Contains(stdout, hint) {
		t.Errorf("env output, with hint %q for this build:\n%s", hint, stdout)
	}
}

// The first line of `gentri train` says which kernels and BLAS the steps
// run on, and the next gives the hint to a faster build where there is one.
func TestTrainFirstLinesNameTheBuild(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := run(t, append([]string{"train", "--model", "vae", "--set", "train.steps=2", "--out", filepath.Join(dir, "run")}, tiny...)...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	lines := strings.Split(stderr, "\n")
	want := []string{"build: kernels " + nn.KernelsName() + "; blas " + nn.BLASName}
	if hint := nn.BuildHint(); hint != "" {
		want = append(want, "hint: "+hint)
	}
	if len(lines) < len(want)+1 {
		t.Fatalf("train stderr:\n%s", stderr)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("train stderr line %d = %q, want %q", i+1, lines[i], w)
		}
	}
	if !strings.HasPrefix(lines[len(want)], "training vae in ") {
		t.Errorf("train stderr line %d = %q, want the training line", len(want)+1, lines[len(want)])
	}
}
