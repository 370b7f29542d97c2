// Package sweep reads a sweep file, the YAML list of `--set` values a
// hyper-parameter and seed sweep trains, and expands it into numbered
// points, each with its resolved config and its own run folder. A job
// engine runs point K as task K (`gentri train --sweep FILE --index K`, or
// `--shard auto`); nothing coordinates the tasks but the file.
//
// A sweep file:
//
//	model: gan2d                 # the kind (or config: FILE, a base config)
//	out: runs/gan2d-lr           # the sweep's output root (default: the file's path without .yaml)
//	set:                         # --set values of every point
//	  train.steps: 2000
//	grid:                        # --set values to cross: every combination is a point
//	  train.lr: [0.0001, 0.0002]
//	  model.hidden: [64, 128]
//	seeds: 1-3                   # train.seed of each grid point: a range A-B, or a list [1, 2, 3]
//
// The points are the cartesian product of the grid's lists in the order the
// file writes them, the last key varying fastest, then the seeds, fastest
// of all: point K of a grid with lists of n1, n2, … values and S seeds has
// value K/(n2·…·S) of the first key, … and seed K mod S. Relative paths in
// the file (config, out) are relative to the file's folder.
package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/shard"
)

// MaxPoints bounds a sweep's size, so that a typo (seeds: 0-99999) is an
// error and not a hundred thousand run folders.
const MaxPoints = 10000

// Sweep is a parsed sweep file.
type Sweep struct {
	Path   string   // the file
	Model  string   // the model kind ("" when Config names it)
	Config string   // the base config file, "" for the kind's defaults
	Out    string   // the output root: each point's folder is Out/<point name>
	Set    []Value  // the --set values of every point, in file order
	Grid   []Axis   // the grid's keys, in file order
	Seeds  []uint64 // train.seed of each grid point; nil: the config's own seed
	Points []Point
}

// Value is one `key: value` of the file's set section.
type Value struct {
	Key, Value string
	Line       int
}

// Axis is one key of the grid and the values it takes, as written (the
// text --set would be given).
type Axis struct {
	Key    string
	Values []string
	Line   int
}

// Numeric reports whether every value of the axis is a number, so that it
// can be a plot's horizontal axis.
func (a Axis) Numeric() bool {
	for _, v := range a.Values {
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return false
		}
	}
	return len(a.Values) > 0
}

// Point is one run of the sweep.
type Point struct {
	Index int
	// Values are the grid's values of this point, one per axis, in axis
	// order; Seed is its train.seed where the file lists seeds.
	Values  []string
	Seed    uint64
	HasSeed bool
	Name    string // its folder's name under Out: "train.lr=0.0002,seed=3"
	// Group is the point's grid values without its seed, "train.lr=0.0002"
	// ("" for a sweep of seeds alone): a report's row, over the seeds.
	Group  string
	Dir    string // Out/Name
	Sets   []string
	Config *config.Config
}

// pairs returns "key=value" for each grid axis of p.
func (p Point) pairs(axes []Axis) []string {
	out := make([]string, len(p.Values))
	for i, v := range p.Values {
		out[i] = axes[i].Key + "=" + v
	}
	return out
}

// fileKeys are the top-level keys of a sweep file.
var fileKeys = []string{"model", "config", "out", "set", "grid", "seeds"}

// Load reads and expands the sweep file at path. Every problem of the file
// is reported at once, each naming the file, the field and its line; the
// set and grid values are checked the way `gentri train --set` checks them
// (unknown keys, values of the wrong type), and each point's whole config
// is validated.
func Load(path string) (*Sweep, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep file: %w", err)
	}
	return Parse(b, path)
}

// Parse expands the sweep file data, read from path (which names it in
// errors and anchors its relative paths).
func Parse(data []byte, path string) (*Sweep, error) {
	s := &Sweep{Path: path}
	var errs []error
	fail := func(line int, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: line %d: "+format, append([]any{path, line}, a...)...))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, fmt.Errorf("%s: empty sweep file: want %s", path, strings.Join(fileKeys, ", "))
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return nil, fmt.Errorf("%s: line %d: a second YAML document; put the whole sweep in one", path, extra.Line)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty sweep file: want %s", path, strings.Join(fileKeys, ", "))
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: line %d: want a mapping of %s, got %s", path, root.Line, strings.Join(fileKeys, ", "), describe(root))
	}
	dir := filepath.Dir(path)
	seen := map[string]int{}    // top-level keys
	setKeys := map[string]int{} // keys of set and grid: each once
	var seedsLine int
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if first, dup := seen[k.Value]; dup {
			fail(k.Line, "%s given twice (first at line %d)", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "model", "config", "out":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				fail(v.Line, "%s: want one value, got %s", k.Value, describe(v))
				continue
			}
			switch k.Value {
			case "model":
				s.Model = v.Value
			case "config":
				s.Config = resolve(dir, v.Value)
			case "out":
				s.Out = resolve(dir, v.Value)
			}
		case "set", "grid":
			if v.Kind != yaml.MappingNode {
				fail(v.Line, "%s: want a mapping of section.key to %s, got %s", k.Value, map[string]string{"set": "a value", "grid": "a list of values"}[k.Value], describe(v))
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				kk, vv := v.Content[j], deref(v.Content[j+1])
				key := strings.TrimSpace(kk.Value)
				if first, dup := setKeys[key]; dup {
					fail(kk.Line, "%s: %s is given twice (first at line %d)", k.Value, key, first)
					continue
				}
				setKeys[key] = kk.Line
				switch key {
				case "model.kind":
					fail(kk.Line, "%s: model.kind: a sweep trains one kind: name it with model:", k.Value)
					continue
				case "train.seed":
					fail(kk.Line, "%s: train.seed: list the seeds under seeds: (e.g. seeds: 1-3, or seeds: [7] for one)", k.Value)
					continue
				}
				if k.Value == "set" {
					if vv.Kind != yaml.ScalarNode {
						fail(vv.Line, "set: %s: want one value, got %s (a list of values belongs under grid:)", key, describe(vv))
						continue
					}
					s.Set = append(s.Set, Value{Key: key, Value: vv.Value, Line: vv.Line})
					continue
				}
				if vv.Kind != yaml.SequenceNode || len(vv.Content) == 0 {
					fail(vv.Line, "grid: %s: want a list of values, e.g. [%s], got %s", key, vv.Value, describe(vv))
					continue
				}
				ax := Axis{Key: key, Line: kk.Line}
				values := map[string]int{}
				for _, e := range vv.Content {
					e = deref(e)
					if e.Kind != yaml.ScalarNode {
						fail(e.Line, "grid: %s: want plain values, got %s", key, describe(e))
						continue
					}
					if first, dup := values[e.Value]; dup {
						fail(e.Line, "grid: %s: value %s is listed twice (first at line %d)", key, e.Value, first)
						continue
					}
					values[e.Value] = e.Line
					ax.Values = append(ax.Values, e.Value)
				}
				s.Grid = append(s.Grid, ax)
			}
		case "seeds":
			seedsLine = v.Line
			seeds, err := parseSeeds(v)
			if err != nil {
				fail(v.Line, "seeds: %v", err)
				continue
			}
			s.Seeds = seeds
		default:
			fail(k.Line, "unknown field %q (a sweep file has %s)", k.Value, strings.Join(fileKeys, ", "))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if s.Model == "" && s.Config == "" {
		return nil, fmt.Errorf("%s: no model: say which kind to train with model: KIND (%s), or config: FILE", path, strings.Join(models.KindNames(), ", "))
	}
	if len(s.Grid) == 0 && len(s.Seeds) == 0 {
		return nil, fmt.Errorf("%s: nothing to sweep: give grid: (lists of --set values) or seeds:", path)
	}
	if s.Out == "" {
		s.Out = strings.TrimSuffix(path, filepath.Ext(path))
	}
	base, err := models.LoadConfig(s.Model, s.Config, nil)
	if err != nil {
		line := seen["model"]
		if s.Config != "" {
			line = seen["config"]
		}
		return nil, fmt.Errorf("%s: line %d: %w", path, line, err)
	}
	// Each value on its own, so that a bad one is reported at its line.
	for _, v := range s.Set {
		if err := config.ApplySet(base.Clone(), v.Key+"="+v.Value); err != nil {
			fail(v.Line, "set: %v", err)
		}
	}
	for _, ax := range s.Grid {
		for _, val := range ax.Values {
			if err := config.ApplySet(base.Clone(), ax.Key+"="+val); err != nil {
				fail(ax.Line, "grid: %v", err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := s.expand(base, seedsLine); err != nil {
		return nil, err
	}
	return s, nil
}

// expand builds the points: the cartesian product of the grid, seeds
// fastest, each with its config, name and folder.
func (s *Sweep) expand(base *config.Config, seedsLine int) error {
	n := 1
	for _, ax := range s.Grid {
		n *= len(ax.Values)
		if n > MaxPoints {
			return fmt.Errorf("%s: line %d: the grid has more than %d points", s.Path, ax.Line, MaxPoints)
		}
	}
	nSeeds := max(1, len(s.Seeds))
	if n*nSeeds > MaxPoints {
		return fmt.Errorf("%s: line %d: %d grid points × %d seeds is more than %d points", s.Path, seedsLine, n, nSeeds, MaxPoints)
	}
	byName := map[string]int{}
	byConfig := map[string]int{}
	for k := 0; k < n*nSeeds; k++ {
		p := Point{Index: k, Values: make([]string, len(s.Grid))}
		rest := k / nSeeds
		for i := len(s.Grid) - 1; i >= 0; i-- {
			ax := s.Grid[i]
			p.Values[i] = ax.Values[rest%len(ax.Values)]
			rest /= len(ax.Values)
		}
		for _, v := range s.Set {
			p.Sets = append(p.Sets, v.Key+"="+v.Value)
		}
		parts := p.pairs(s.Grid)
		p.Sets = append(p.Sets, parts...)
		p.Group = strings.Join(parts, ",")
		if len(s.Seeds) > 0 {
			p.Seed, p.HasSeed = s.Seeds[k%nSeeds], true
			p.Sets = append(p.Sets, "train.seed="+strconv.FormatUint(p.Seed, 10))
			parts = append(parts, "seed="+strconv.FormatUint(p.Seed, 10))
		}
		p.Name = FolderName(strings.Join(parts, ","))
		p.Dir = filepath.Join(s.Out, p.Name)
		cfg := base.Clone()
		for _, set := range p.Sets {
			if err := config.ApplySet(cfg, set); err != nil { // checked one by one above
				return fmt.Errorf("%s: point %d (%s): %w", s.Path, k, p.Name, err)
			}
		}
		if err := cfg.Validate(); err != nil {
			return fmt.Errorf("%s: point %d (%s): invalid config:\n%w", s.Path, k, p.Name, err)
		}
		p.Config = cfg
		if j, dup := byName[p.Name]; dup {
			return fmt.Errorf("%s: points %d and %d have the same folder name %q: make the values differ in more than their punctuation", s.Path, j, k, p.Name)
		}
		byName[p.Name] = k
		y := string(cfg.YAML())
		if j, dup := byConfig[y]; dup {
			return fmt.Errorf("%s: points %d (%s) and %d (%s) have the same config: a value is listed twice in two spellings",
				s.Path, j, s.Points[j].Name, k, p.Name)
		}
		byConfig[y] = k
		s.Points = append(s.Points, p)
	}
	return nil
}

// Select returns the points that shard spec of a job runs: points I,
// I+N, I+2N, … (none when the job has more tasks than the sweep has
// points). Striding, unlike the contiguous blocks of sharded sampling,
// gives each task points of every part of the grid, whose training times
// can differ (a wider network, more steps).
func (s *Sweep) Select(spec shard.Spec) []Point {
	var out []Point
	for k := spec.Index; k < len(s.Points); k += spec.Count {
		out = append(out, s.Points[k])
	}
	return out
}

// maxName bounds a folder name below the 255 bytes file systems allow,
// with room for the temporary files written beside it.
const maxName = 200

// FolderName makes a point's "key=value,…" text a file-system-safe folder
// name: letters, digits and . _ + - = , stay, every other byte becomes _
// (a path separator in a string value, a space, a quote). A name longer
// than 200 bytes keeps its first 183 and ends with ~ and 16 hex digits of
// the SHA-256 of the whole text, so it stays unique.
func FolderName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._+-=,", c) >= 0
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > maxName {
		h := sha256.Sum256([]byte(s))
		b = append(b[:maxName-17], '~')
		b = append(b, hex.EncodeToString(h[:8])...)
	}
	return string(b)
}

// parseSeeds reads seeds: a list of seeds, or one scalar in the --seeds
// form of sharded sampling ("1-3", "0,5,10-19", "7").
func parseSeeds(n *yaml.Node) ([]uint64, error) {
	var text string
	switch n.Kind {
	case yaml.ScalarNode:
		text = n.Value
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, e := range n.Content {
			e = deref(e)
			if e.Kind != yaml.ScalarNode || e.ShortTag() != "!!int" || strings.HasPrefix(e.Value, "-") {
				return nil, fmt.Errorf("line %d: want whole numbers >= 0, got %s", e.Line, describe(e))
			}
			parts[i] = e.Value
		}
		text = strings.Join(parts, ",")
	default:
		return nil, fmt.Errorf("want a range A-B or a list of seeds, got %s", describe(n))
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("want a range A-B or a list of seeds, got nothing")
	}
	seeds, err := shard.ParseSeeds(text)
	if err != nil {
		return nil, errors.New(strings.Replace(err.Error(), "--seeds ", "", 1))
	}
	return seeds, nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.ShortTag() == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}
