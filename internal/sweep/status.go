package sweep

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/train"
)

// RecordFile is the name of a point's evaluation record in its folder:
// the `gentri eval --json` line of its newest checkpoint, which
// `gentri eval --sweep` writes and `gentri report --sweep` reads.
const RecordFile = "eval.json"

// Newest returns the newest checkpoint of the point's folder and its step
// (read from the name train gives it, ckpt-<step>.safetensors), or "" and 0
// where the folder holds none or does not exist.
func (p Point) Newest() (path string, step int, err error) {
	path, err = checkpoint.Newest(p.Dir, train.CheckpointPattern)
	if errors.Is(err, fs.ErrNotExist) || err == nil && path == "" {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	if _, err := fmt.Sscanf(filepath.Base(path), "ckpt-%d.safetensors", &step); err != nil {
		return "", 0, fmt.Errorf("%s: not a checkpoint name train writes: %w", path, err)
	}
	return path, step, nil
}

// Status says where a point stands, for `gentri train --sweep --list`:
// "not started", "step S/N" or "finished".
func (p Point) Status() string {
	_, step, err := p.Newest()
	switch {
	case err != nil:
		return "unreadable: " + err.Error()
	case step == 0:
		return "not started"
	case step >= p.Config.Train.Steps:
		return "finished"
	}
	return fmt.Sprintf("step %d/%d", step, p.Config.Train.Steps)
}

// ConfigDiff lists the keys where a run's config differs from the point's
// ("model.hidden: 64 in the run, 128 in the sweep"), train.steps aside: a
// sweep file that raises the steps trains its points on.
func ConfigDiff(run, point *config.Config) []string {
	a, b := flatten(run), flatten(point)
	var out []string
	for _, kv := range b {
		if kv[0] == "train.steps" {
			continue
		}
		if got, ok := lookup(a, kv[0]); !ok || got != kv[1] {
			out = append(out, fmt.Sprintf("%s: %s in the run, %s in the sweep", kv[0], got, kv[1]))
		}
	}
	return out
}

// flatten turns a config's YAML into its keys and values, in order.
func flatten(c *config.Config) [][2]string {
	var out [][2]string
	section := ""
	for _, line := range strings.Split(string(c.YAML()), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !strings.HasPrefix(line, " ") {
			section = strings.TrimSuffix(line, ":")
			continue
		}
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		out = append(out, [2]string{section + "." + k, strings.TrimSpace(v)})
	}
	return out
}

func lookup(kvs [][2]string, key string) (string, bool) {
	for _, kv := range kvs {
		if kv[0] == key {
			return kv[1], true
		}
	}
	return "(none)", false
}
