package train

import (
	"fmt"
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
