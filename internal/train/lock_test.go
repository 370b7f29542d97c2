package train

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// A second lock on a held folder fails at once with the folder and the
// holder's pid; once released, the folder can be locked again and no lock
// file is left behind.
func TestLockRunDirRefusesASecondHolderUntilReleased(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock: the lock only records the pid")
	}
	dir := t.TempDir()
	first, err := LockRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := readLockFile(t, dir); got != strconv.Itoa(os.Getpid())+"\n" {
		t.Fatalf("lock file holds %q, want this pid", got)
	}
	// flock locks belong to the open file, so a second open in this process
	// conflicts as another process's would.
	_, err = LockRunDir(dir)
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Dir != dir || busy.PID != os.Getpid() {
		t.Fatalf("second lock: err = %v, want a *BusyError for %s with pid %d", err, dir, os.Getpid())
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("message %q does not name the folder and the pid", msg)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !os.IsNotExist(err) {
		t.Fatalf("lock file after Release: %v, want it removed", err)
	}
	again, err := LockRunDir(dir)
	if err != nil {
		t.Fatalf("lock after Release: %v", err)
	}
	again.Release()
}

// A lock file that no process holds (its holder crashed) is taken over,
// and gets the new holder's pid in place of the old, longer one.
func TestLockRunDirTakesOverAStaleLockFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, LockFile), []byte("4194303999\n"), 0o644)
	l, err := LockRunDir(dir)
	if err != nil {
		t.Fatalf("stale lock file: %v", err)
	}
	defer l.Release()
	if got := readLockFile(t, dir); got != strconv.Itoa(os.Getpid())+"\n" {
		t.Fatalf("lock file holds %q, want this pid alone", got)
	}
}

func TestLockRunDirOfAMissingFolderIsAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	if _, err := LockRunDir(dir); err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want one naming %s", err, dir)
	}
}

func readLockFile(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A folder holds a run when it has a config.yaml, a stats.jsonl or a
// checkpoint; other files do not make it one.
func TestCheckNoRunFindsTheFilesOfARun(t *testing.T) {
	cases := []struct {
		name       string
		files      []string
		wantFiles  []string // nil: no run
		wantResume bool     // the message says how to continue it
	}{
		{"missing folder", nil, nil, false},
		{"empty", []string{}, nil, false},
		{"other files", []string{LockFile, "notes.txt", "samples/step-00000010.png", ".ckpt-00000010.safetensors.123.tmp"}, nil, false},
		{"config", []string{"config.yaml"}, []string{"config.yaml"}, false},
		{"stats", []string{"stats.jsonl"}, []string{"stats.jsonl"}, false},
		{"checkpoint", []string{"ckpt-00000010.safetensors"}, []string{"ckpt-00000010.safetensors"}, true},
		{"finished run", []string{"ckpt-00000010.safetensors", "stats.jsonl", "config.yaml", "ckpt-00000020.safetensors"},
			[]string{"config.yaml", "stats.jsonl", "ckpt-00000020.safetensors"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			if c.files != nil {
				for _, f := range append([]string{"samples/.keep"}, c.files...) {
					os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
					if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := CheckNoRun(dir)
			if c.wantFiles == nil {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			var exists *RunExistsError
			if !errors.As(err, &exists) {
				t.Fatalf("err = %v, want a *RunExistsError", err)
			}
			if strings.Join(exists.Files, ",") != strings.Join(c.wantFiles, ",") {
				t.Fatalf("files %v, want %v", exists.Files, c.wantFiles)
			}
			msg := err.Error()
			if !strings.Contains(msg, dir) || strings.Contains(msg, "--resume latest --out "+dir) != c.wantResume {
				t.Fatalf("message %q: want the folder, and --resume only when it has a checkpoint", msg)
			}
		})
	}
}

func TestLatestCheckpointInIsTheNewestOfThatFolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := LatestCheckpointIn(dir); err == nil || !strings.Contains(err.Error(), "no checkpoint in "+dir) {
		t.Fatalf("empty folder: err = %v", err)
	}
	if _, err := LatestCheckpointIn(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "no checkpoint in") {
		t.Fatalf("missing folder: err = %v", err)
	}
	for _, n := range []string{"ckpt-00000300.safetensors", "ckpt-00000020.safetensors"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	if got, err := LatestCheckpointIn(dir); err != nil || got != filepath.Join(dir, "ckpt-00000300.safetensors") {
		t.Fatalf("LatestCheckpointIn = %q, %v; want ckpt-00000300", got, err)
	}
}
