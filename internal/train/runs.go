package train

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gentri/gentri/internal/checkpoint"
)

// NewRunDir creates the next numbered run folder under root, e.g.
// runs/0003-vae, numbering past every folder already there.
func NewRunDir(root, kind string) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("runs folder: %w", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("runs folder: %w", err)
	}
	next := 1
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "-")
		if n, err := strconv.Atoi(num); err == nil && n >= next {
			next = n + 1
		}
	}
	for ; ; next++ {
		dir := filepath.Join(root, fmt.Sprintf("%04d-%s", next, kind))
		if err := os.Mkdir(dir, 0o755); err == nil {
			return dir, nil
		} else if !os.IsExist(err) {
			return "", fmt.Errorf("run folder: %w", err)
		}
	}
}

// LatestCheckpoint returns the newest checkpoint of the newest run under
// root (of the given kind, if kind is not ""), or an error saying none exists.
func LatestCheckpoint(root, kind string) (string, error) {
	entries, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		return "", fmt.Errorf("runs folder: %w", err)
	}
	var runs []string
	for _, e := range entries {
		if e.IsDir() && (kind == "" || strings.HasSuffix(e.Name(), "-"+kind)) {
			runs = append(runs, e.Name())
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(runs)))
	for _, r := range runs {
		p, err := checkpoint.Newest(filepath.Join(root, r), CheckpointPattern)
		if err != nil {
			return "", err
		}
		if p != "" {
			return p, nil
		}
	}
	what := "any model"
	if kind != "" {
		what = "model " + kind
	}
	return "", fmt.Errorf("no checkpoint of %s under %s/ (train one first, or pass --checkpoint PATH)", what, root)
}

// LatestCheckpointIn returns the newest checkpoint in the run folder dir,
// or an error saying it has none (a missing folder has none).
func LatestCheckpointIn(dir string) (string, error) {
	p, err := checkpoint.Newest(dir, CheckpointPattern)
	if errors.Is(err, fs.ErrNotExist) || err == nil && p == "" {
		return "", fmt.Errorf("no checkpoint in %s to resume", dir)
	}
	return p, err
}

// RunExistsError says that a folder already holds a run, which a new run
// must not mix with: its config.yaml would be overwritten, its stats.jsonl
// appended to and its checkpoints interleaved with the new ones.
type RunExistsError struct {
	Dir        string
	Files      []string // what shows it: config.yaml, stats.jsonl, the newest checkpoint
	Checkpoint string   // the newest checkpoint, "" if it has none
}

func (e *RunExistsError) Error() string {
	if e.Checkpoint == "" {
		return fmt.Sprintf("run folder %s already holds a run (%s) that has no checkpoint to resume; choose another folder, or delete it",
			e.Dir, strings.Join(e.Files, ", "))
	}
	return fmt.Sprintf("run folder %s already holds a run (%s); continue it with --resume latest --out %s, or choose another folder",
		e.Dir, strings.Join(e.Files, ", "), e.Dir)
}

// CheckNoRun returns a *RunExistsError if dir holds a run: a config.yaml,
// a stats.jsonl or any checkpoint. A missing folder holds none, and so does
// one with other files only (a lock file, notes, an empty samples/).
func CheckNoRun(dir string) error {
	var found []string
	for _, name := range []string{"config.yaml", "stats.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			found = append(found, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("run folder: %w", err)
		}
	}
	newest, err := checkpoint.Newest(dir, CheckpointPattern)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if newest != "" {
		found = append(found, filepath.Base(newest))
	}
	if len(found) == 0 {
		return nil
	}
	return &RunExistsError{Dir: dir, Files: found, Checkpoint: newest}
}
