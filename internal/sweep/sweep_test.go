package sweep

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/shard"
)

func names(s *Sweep) []string {
	out := make([]string, len(s.Points))
	for i, p := range s.Points {
		out[i] = p.Name
	}
	return out
}

// TestPointsAreTheGridInFileOrderSeedsFastest pins the documented order of
// the points: the grid's keys in file order, the last varying fastest, and
// the seeds fastest of all; and the point's config carries its values.
func TestPointsAreTheGridInFileOrderSeedsFastest(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string
	}{
		{"two keys and seeds", `
model: gan2d
grid:
  train.lr: [0.0001, 2e-4]
  model.hidden: [16, 32]
seeds: 1-2
`, []string{
			"train.lr=0.0001,model.hidden=16,seed=1", "train.lr=0.0001,model.hidden=16,seed=2",
			"train.lr=0.0001,model.hidden=32,seed=1", "train.lr=0.0001,model.hidden=32,seed=2",
			"train.lr=2e-4,model.hidden=16,seed=1", "train.lr=2e-4,model.hidden=16,seed=2",
			"train.lr=2e-4,model.hidden=32,seed=1", "train.lr=2e-4,model.hidden=32,seed=2",
		}},
		{"keys in the other order", `
model: gan2d
grid:
  model.hidden: [16, 32]
  train.lr: [0.0001, 2e-4]
`, []string{
			"model.hidden=16,train.lr=0.0001", "model.hidden=16,train.lr=2e-4",
			"model.hidden=32,train.lr=0.0001", "model.hidden=32,train.lr=2e-4",
		}},
		{"seeds alone, as a list", "model: vae2d\nseeds: [7, 3, 5]\n", []string{"seed=7", "seed=3", "seed=5"}},
		{"seeds as EDM's list of ranges", "model: vae2d\nseeds: 0,4-5\n", []string{"seed=0", "seed=4", "seed=5"}},
		{"one seed", "model: vae2d\nseeds: 9\n", []string{"seed=9"}},
		{"a string value made safe", "model: vae2d\ngrid:\n  data.dataset: [ring8, grid25]\n", []string{"data.dataset=ring8", "data.dataset=grid25"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse([]byte(c.file), filepath.Join("sweeps", "x.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if got := names(s); !slices.Equal(got, c.want) {
				t.Fatalf("points\n%q\nwant\n%q", got, c.want)
			}
			for i, p := range s.Points {
				if p.Index != i || p.Dir != filepath.Join("sweeps", "x", p.Name) {
					t.Errorf("point %d: index %d, dir %s", i, p.Index, p.Dir)
				}
			}
		})
	}
	s, err := Parse([]byte("model: gan2d\nset:\n  train.steps: 30\ngrid:\n  train.lr: [0.0001, 2e-4]\n  model.hidden: [16, 32]\nseeds: 1-2\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Points[6] // lr 2e-4, hidden 32, seed 1
	if p.Config.Train.LR != 2e-4 || p.Config.Train.Seed != 1 || p.Config.Train.Steps != 30 || !strings.Contains(string(p.Config.YAML()), "hidden: 32") {
		t.Errorf("point 6's config: lr %g seed %d steps %d\n%s", p.Config.Train.LR, p.Config.Train.Seed, p.Config.Train.Steps, p.Config.YAML())
	}
	if p.Group != "train.lr=2e-4,model.hidden=32" || !slices.Equal(p.Sets, []string{"train.steps=30", "train.lr=2e-4", "model.hidden=32", "train.seed=1"}) {
		t.Errorf("point 6: group %q, sets %q", p.Group, p.Sets)
	}
	if s.Out != "x" {
		t.Errorf("out %q, want the file's path without .yaml", s.Out)
	}
}

// TestSweepPathsAreRelativeToTheFile checks out: and config: against the
// sweep file's folder.
func TestSweepPathsAreRelativeToTheFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("model:\n  kind: vae2d\n  hidden: 24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte("config: base.yaml\nout: runs/a\nseeds: 1-2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Out != filepath.Join(dir, "runs", "a") || s.Points[1].Dir != filepath.Join(dir, "runs", "a", "seed=2") {
		t.Errorf("out %s, point 1 in %s", s.Out, s.Points[1].Dir)
	}
	if !strings.Contains(string(s.Points[0].Config.YAML()), "hidden: 24") {
		t.Errorf("the base config was not read:\n%s", s.Points[0].Config.YAML())
	}
}

// TestBadSweepFilesNameTheFileFieldAndLine feeds broken sweep files and
// checks each error names the file, the line and the problem, the way
// --set words it where a value is at fault.
func TestBadSweepFilesNameTheFileFieldAndLine(t *testing.T) {
	cases := []struct {
		name, file string
		want       []string
	}{
		{"empty", "", []string{"s.yaml: empty sweep file"}},
		{"not a mapping", "- a\n", []string{"s.yaml: line 1: want a mapping"}},
		{"yaml syntax", "model: [vae2d\n", []string{"s.yaml: yaml: line"}},
		{"second document", "model: vae2d\nseeds: 1\n---\nmodel: gan2d\n", []string{"s.yaml: line 3: a second YAML document"}},
		{"unknown field", "model: vae2d\nseeds: 1\ngird:\n  train.lr: [1]\n", []string{`s.yaml: line 3: unknown field "gird"`}},
		{"no model", "seeds: 1-2\n", []string{"s.yaml: no model"}},
		{"unknown kind", "model: vea\nseeds: 1-2\n", []string{"s.yaml: line 1:", "vea"}},
		{"nothing to sweep", "model: vae2d\nset:\n  train.steps: 10\n", []string{"s.yaml: nothing to sweep"}},
		{"unknown key, as --set says it", "model: vae2d\nseeds: 1\ngrid:\n  train.lrr: [0.1]\n",
			[]string{`s.yaml: line 4: grid: --set train.lrr=0.1: unknown key "train.lrr" (did you mean "train.lr"?)`}},
		{"unknown key in set", "model: vae2d\nseeds: 1\nset:\n  modle.hidden: 3\n",
			[]string{`s.yaml: line 4: set: --set modle.hidden=3: unknown key "modle.hidden"`}},
		{"key of another kind", "model: vae2d\nseeds: 1\nset:\n  train.replay_size: 3\n", []string{"s.yaml: line 4: set: --set train.replay_size=3:"}},
		{"wrong type", "model: vae2d\ngrid:\n  model.hidden: [16, wide]\n", []string{`s.yaml: line 3: grid: --set model.hidden=wide: model.hidden: cannot use "wide" as int`}},
		{"grid value not a list", "model: vae2d\ngrid:\n  train.lr: 0.1\n", []string{"s.yaml: line 3: grid: train.lr: want a list of values"}},
		{"empty list", "model: vae2d\ngrid:\n  train.lr: []\n", []string{"s.yaml: line 3: grid: train.lr: want a list of values"}},
		{"set value a list", "model: vae2d\nseeds: 1\nset:\n  train.lr: [0.1]\n", []string{"s.yaml: line 4: set: train.lr: want one value, got a list"}},
		{"value listed twice", "model: vae2d\ngrid:\n  train.lr: [0.1,\n    0.1]\n", []string{"s.yaml: line 4: grid: train.lr: value 0.1 is listed twice (first at line 3)"}},
		{"key in set and grid", "model: vae2d\nset:\n  train.lr: 0.1\ngrid:\n  train.lr: [0.2]\n", []string{"s.yaml: line 5: grid: train.lr is given twice (first at line 3)"}},
		{"seed in the grid", "model: vae2d\ngrid:\n  train.seed: [1, 2]\n", []string{"s.yaml: line 3: grid: train.seed: list the seeds under seeds:"}},
		{"kind in set", "model: vae2d\nseeds: 1\nset:\n  model.kind: gan2d\n", []string{"s.yaml: line 4: set: model.kind: a sweep trains one kind"}},
		{"seeds backwards", "model: vae2d\nseeds: 3-1\n", []string{`s.yaml: line 2: seeds: "3-1": the range "3-1" runs backwards`}},
		{"seed twice", "model: vae2d\nseeds: [1, 2, 1]\n", []string{"s.yaml: line 2: seeds:", "seed 1 is given twice"}},
		{"negative seed", "model: vae2d\nseeds: [1, -2]\n", []string{"s.yaml: line 2: seeds: line 2: want whole numbers >= 0"}},
		{"seeds a mapping", "model: vae2d\nseeds:\n  a: 1\n", []string{"s.yaml: line 3: seeds: want a range A-B or a list of seeds, got a mapping"}},
		{"field twice", "model: vae2d\nseeds: 1\nmodel: gan2d\n", []string{"s.yaml: line 3: model given twice (first at line 1)"}},
		{"invalid combination", "model: vae2d\ngrid:\n  train.lr: [0.001, 2]\n", []string{"s.yaml: point 1 (train.lr=2): invalid config:", "train.lr"}},
		{"one value in two spellings", "model: vae2d\ngrid:\n  train.lr: [0.001, 1e-3]\n", []string{"s.yaml: points 0 (train.lr=0.001) and 1 (train.lr=1e-3) have the same config"}},
		{"names that collide", "model: vae\ngrid:\n  data.dir: ['a b', 'a/b']\n", []string{"s.yaml: points 0 and 1 have the same folder name"}},
		{"too many points", "model: vae2d\nseeds: 0-20000\n", []string{"s.yaml: line 2:", "more than 10000 points"}},
		{"several problems at once", "model: vae2d\nbogus: 1\ngrid:\n  train.lr: 3\n", []string{`line 2: unknown field "bogus"`, "line 4: grid: train.lr: want a list"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.file), "s.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.Contains(err.Error(), "none.yaml") {
		t.Errorf("a missing file: %v", err)
	}
}

// TestFolderNames checks that names keep the safe characters, replace the
// rest, and stay short and distinct.
func TestFolderNames(t *testing.T) {
	long := strings.Repeat("data.dir=x", 30)
	cases := []struct{ in, want string }{
		{"train.lr=0.0002,seed=3", "train.lr=0.0002,seed=3"},
		{"train.lr=+1e-4,model.hidden=64", "train.lr=+1e-4,model.hidden=64"},
		{"data.dir=/data/my set", "data.dir=_data_my_set"},
		{`x="a"\b:c*`, "x=_a__b_c_"},
		{"ü", "__"},
	}
	for _, c := range cases {
		if got := FolderName(c.in); got != c.want {
			t.Errorf("FolderName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	a, b := FolderName(long+"1"), FolderName(long+"2")
	if len(a) != maxName || a == b || !strings.HasPrefix(a, long[:maxName-17]+"~") {
		t.Errorf("long names: %q (%d bytes), %q", a, len(a), b)
	}
}

// TestSelectStridesOverThePoints checks the points of each task: I, I+N, …
func TestSelectStridesOverThePoints(t *testing.T) {
	s, err := Parse([]byte("model: vae2d\nseeds: 0-4\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		spec shard.Spec
		want []int
	}{
		{shard.Whole, []int{0, 1, 2, 3, 4}},
		{shard.Spec{Index: 0, Count: 2}, []int{0, 2, 4}},
		{shard.Spec{Index: 1, Count: 2}, []int{1, 3}},
		{shard.Spec{Index: 4, Count: 5}, []int{4}},
		{shard.Spec{Index: 6, Count: 8}, nil},
	}
	for _, c := range cases {
		var got []int
		for _, p := range s.Select(c.spec) {
			got = append(got, p.Index)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("shard %s: points %v, want %v", c.spec, got, c.want)
		}
	}
}

// TestConfigDiffNamesTheChangedKeys ignores train.steps and names others.
func TestConfigDiffNamesTheChangedKeys(t *testing.T) {
	s, err := Parse([]byte("model: vae2d\ngrid:\n  train.steps: [10, 20]\n  model.hidden: [8, 16]\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := s.Points
	if d := ConfigDiff(p[0].Config, p[2].Config); len(d) != 0 {
		t.Errorf("steps alone differ, got %q", d)
	}
	if d := ConfigDiff(p[0].Config, p[1].Config); !slices.Equal(d, []string{"model.hidden: 8 in the run, 16 in the sweep"}) {
		t.Errorf("diff %q", d)
	}
}

// TestNewStat checks the mean and the sample standard deviation.
func TestNewStat(t *testing.T) {
	cases := []struct {
		xs       []float64
		mean, sd float64
		text     string
	}{
		{nil, math.NaN(), math.NaN(), "–"},
		{[]float64{2}, 2, math.NaN(), "2"},
		{[]float64{1, 2, 3, 4}, 2.5, math.Sqrt(5.0 / 3), "2.5 ± 1.3"},
		{[]float64{10, 10}, 10, 0, "10 ± 0"},
	}
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for _, c := range cases {
		s := NewStat(c.xs)
		if !same(s.Mean, c.mean) || !same(s.SD, c.sd) || s.N != len(c.xs) || s.String() != c.text {
			t.Errorf("NewStat(%v) = %+v %q, want mean %g sd %g %q", c.xs, s, s.String(), c.mean, c.sd, c.text)
		}
	}
}
