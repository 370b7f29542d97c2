package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gentri/gentri/configs"
)

// The tests build their own schema (the real kinds live in the models
// registry, which imports this package): "vae" with the shipped vae defaults
// and a section like the registry's, "other" owning keys vae does not use,
// and "pts", a kind of 2-D points.
type latent struct {
	Hidden int `key:"model.hidden"`
	Latent int `key:"model.latent"`
}

func (s *latent) Validate(_ *Config, v *Checker) {
	v.Check("model.hidden", In(s.Hidden, 1, 65536), "in [1, 65536]", s.Hidden)
	v.Check("model.latent", In(s.Latent, 1, 4096), "in [1, 4096]", s.Latent)
}

type other struct {
	Channels int  `key:"model.channels"`
	Steps    int  `key:"sample.steps"`
	Clip     bool `key:"sample.clip"`
}

func (s *other) Validate(*Config, *Checker) {}

func mustDefault(kind string) []byte {
	b, err := configs.Default(kind)
	if err != nil {
		panic(err)
	}
	return b
}

var testSchema = NewSchema(
	&Kind{Name: "vae", Default: mustDefault("vae"), Section: func() Section { return &latent{} }},
	&Kind{Name: "other", Default: []byte("model: {kind: other}\ndata: {channels: 1, size: 28}\nsample: {steps: 3}\n"), Section: func() Section { return &other{} }},
	&Kind{Name: "pts", Default: []byte("model: {kind: pts, hidden: 8, latent: 2}\ndata: {dataset: ring8}\n"), Section: func() Section { return &latent{} }, Points: true},
)

// vaeDefault mirrors configs/vae.yaml.
func vaeDefault() *Config {
	return &Config{
		Model: Model{Kind: "vae"},
		Data:  Data{Dataset: "mnist", Dir: "", Channels: 1, Size: 28, Binarize: "dynamic", Subset: 0},
		Train: Train{Seed: 1, Steps: 20000, BatchSize: 128, LR: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
			LogEvery: 100, SampleEvery: 2000, CheckpointEvery: 2000, KeepCheckpoints: 3},
		Sample: Sample{N: 64, Seed: 0},
		Own:    &latent{Hidden: 512, Latent: 20},
		kind:   testSchema.kinds["vae"], schema: testSchema,
	}
}

func own(c *Config) *latent { return c.Own.(*latent) }

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "run.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantErr(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error containing %q, got nil", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q\n  lacks %q", err, s)
		}
	}
}

func TestLoadResolvesDefaultsFileAndSets(t *testing.T) {
	file := "model:\n  hidden: 256\ntrain:\n  lr: 3e-4\n  steps: 50\n"
	tests := []struct {
		name       string
		kind, body string
		sets       []string
		edit       func(c *Config)
	}{
		{"default vae matches configs/vae.yaml", "vae", "", nil, func(*Config) {}},
		{"file overrides some keys keeps others", "vae", file, nil, func(c *Config) {
			own(c).Hidden, c.Train.LR, c.Train.Steps = 256, 3e-4, 50
		}},
		{"kind comes from the file", "", "model: {kind: vae}\n", nil, func(*Config) {}},
		{"set wins over file", "vae", file, []string{"train.lr=1.0e-3", "model.hidden=64", "data.dir=/x y#z"}, func(c *Config) {
			own(c).Hidden, c.Train.LR, c.Train.Steps, c.Data.Dir = 64, 1e-3, 50, "/x y#z"
		}},
		{"later set wins over earlier", "vae", "", []string{"train.steps=5", "train.steps=7"}, func(c *Config) { c.Train.Steps = 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.body != "" {
				path = writeFile(t, tt.body)
			}
			got, err := testSchema.Load(tt.kind, path, tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			want := vaeDefault()
			tt.edit(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", *got, *want)
			}
		})
	}
}

func TestLoadKindErrorsNameFileAndKinds(t *testing.T) {
	cgan := writeFile(t, "model:\n  kind: cgan\n")
	plain := writeFile(t, "train:\n  steps: 3\n")
	tests := []struct {
		name, kind, path string
		sets             []string
		subs             []string
	}{
		{"file and argument differ", "vae", cgan, nil, []string{cgan, `"cgan"`, `"vae"`}},
		{"neither gives a kind", "", "", nil, []string{"no model kind", "vae"}},
		{"file without kind and no argument", "", plain, nil, []string{"no model kind"}},
		{"unknown kind lists known kinds", "gan", "", nil, []string{`"gan"`, "other, pts, vae"}},
		{"missing file", "vae", filepath.Join(t.TempDir(), "nope.yaml"), nil, []string{"nope.yaml"}},
		{"set cannot switch kind", "vae", "", []string{"model.kind=cgan"}, []string{"--set model.kind=cgan", `"vae"`}},
		{"invalid result names key", "vae", "", []string{"train.lr=0"}, []string{"train.lr: must be > 0 and <= 1, got 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testSchema.Load(tt.kind, tt.path, tt.sets)
			wantErr(t, err, tt.subs...)
		})
	}
}

func TestParseErrorsNameFileLineKeyAndValue(t *testing.T) {
	tests := []struct {
		name, body string
		subs       []string
	}{
		{"unknown key", "model:\n  hiden: 3\n", []string{`f.yaml: line 2: unknown key "model.hiden"`, `did you mean "model.hidden"`}},
		{"key in wrong section", "model:\n  lr: 3\n", []string{`line 2: unknown key "model.lr"`, `"train.lr"`}},
		{"unknown section", "\nmodle:\n  hidden: 3\n", []string{`f.yaml: line 2: unknown section "modle"`, `did you mean "model"`}},
		{"string as int", "model:\n  hidden: abc\n", []string{`f.yaml: line 2: model.hidden: cannot use "abc" as int`}},
		{"float notation as int", "train:\n  steps: 1e4\n", []string{`line 2: train.steps: cannot use "1e4" as int`, "whole number"}},
		{"fraction as int", "train:\n  batch_size: 2.5\n", []string{`train.batch_size: cannot use "2.5" as int`}},
		{"negative uint", "train:\n  seed: -1\n", []string{`train.seed: cannot use "-1" as uint64`}},
		{"string as float", "train:\n  lr: fast\n", []string{`train.lr: cannot use "fast" as float64`}},
		{"bool as float", "train:\n  lr: true\n", []string{`train.lr: cannot use "true" as float64`}},
		{"null leaf", "train:\n  lr:\n", []string{"line 2: train.lr: missing value"}},
		{"mapping as leaf", "model:\n  hidden:\n    a: 1\n", []string{"line 3: model.hidden: want a single int value, got a mapping"}},
		{"list as leaf", "model:\n  hidden: [1, 2]\n", []string{"line 2: model.hidden: want a single int value, got a list"}},
		{"scalar as section", "model: vae\n", []string{`line 1: model: want a mapping of keys (model.kind, model.hidden, model.latent), got "vae"`}},
		{"list as top level", "- 1\n- 2\n", []string{"line 1: top level: want a mapping", "got a list"}},
		{"scalar as top level", "hello\n", []string{`line 1: top level: want a mapping`, `"hello"`}},
		{"non-scalar key", "? [a]\n: 1\n", []string{"line 1: top level: a key must be a plain name"}},
		{"duplicate key", "train:\n  lr: 1\n  lr: 2\n", []string{`line 3: duplicate key "train.lr" (first at line 2)`}},
		{"second document", "train:\n  lr: 1\n---\ntrain:\n  lr: 2\n", []string{"f.yaml: line 3: a second YAML document"}},
		{"syntax error", "train:\n  lr: [1\n", []string{"f.yaml: yaml: line"}},
		{"all errors reported", "model:\n  hiden: 1\ntrain:\n  steps: x\n", []string{`"model.hiden"`, `"x"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vaeDefault()
			wantErr(t, Parse(c, []byte(tt.body), "f.yaml"), tt.subs...)
			if !reflect.DeepEqual(c, vaeDefault()) {
				t.Errorf("failed Parse changed the config: %+v", c)
			}
		})
	}
}

func TestParseAcceptsNumbersAndEmptyInputs(t *testing.T) {
	tests := []struct {
		name, body string
		edit       func(c *Config)
	}{
		{"empty file", "", func(*Config) {}},
		{"comments only", "# nothing\n", func(*Config) {}},
		{"lone document marker", "---\n", func(*Config) {}},
		{"empty section", "model:\n", func(*Config) {}},
		{"exponent float", "train:\n  lr: 1e-3\n", func(c *Config) { c.Train.LR = 1e-3 }},
		{"yaml 1.1 style float", "train:\n  eps: 1.0e-8\n", func(c *Config) { c.Train.Eps = 1e-8 }},
		{"int as float", "train:\n  lr: 1\n", func(c *Config) { c.Train.LR = 1 }},
		{"leading dot float", "train:\n  beta1: .5\n", func(c *Config) { c.Train.Beta1 = 0.5 }},
		{"big uint", "train:\n  seed: 18446744073709551615\n", func(c *Config) { c.Train.Seed = 1<<64 - 1 }},
		{"number as string", "data:\n  dir: 123\n", func(c *Config) { c.Data.Dir = "123" }},
		{"null string", "data:\n  dir: ~\n", func(c *Config) { c.Data.Dir = "" }},
		{"anchor and alias", "model:\n  hidden: &w 64\n  latent: *w\n", func(c *Config) { own(c).Hidden, own(c).Latent = 64, 64 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vaeDefault()
			if err := Parse(c, []byte(tt.body), "f.yaml"); err != nil {
				t.Fatal(err)
			}
			want := vaeDefault()
			tt.edit(want)
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
		})
	}
}

func TestApplySetParsesValueAsFieldType(t *testing.T) {
	tests := []struct {
		set  string
		edit func(c *Config)
	}{
		{"train.lr=3e-4", func(c *Config) { c.Train.LR = 3e-4 }},
		{"train.lr=1.0e-3", func(c *Config) { c.Train.LR = 1e-3 }},
		{"train.steps=100", func(c *Config) { c.Train.Steps = 100 }},
		{"train.seed=42", func(c *Config) { c.Train.Seed = 42 }},
		{"data.dir=/x", func(c *Config) { c.Data.Dir = "/x" }},
		{"data.dir=", func(c *Config) { c.Data.Dir = "" }},
		{"data.dir=a=b: [c]", func(c *Config) { c.Data.Dir = "a=b: [c]" }},
		{"data.binarize=none", func(c *Config) { c.Data.Binarize = "none" }},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			c := vaeDefault()
			if err := ApplySet(c, tt.set); err != nil {
				t.Fatal(err)
			}
			want := vaeDefault()
			tt.edit(want)
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
		})
	}
}

func TestApplySetErrorsNameArgumentAndKey(t *testing.T) {
	tests := []struct {
		set  string
		subs []string
	}{
		{"train.lr=abc", []string{`--set train.lr=abc: train.lr: cannot use "abc" as float64`}},
		{"train.steps=1e4", []string{`--set train.steps=1e4: train.steps: cannot use "1e4" as int`}},
		{"train.steps=", []string{`--set train.steps=: train.steps: cannot use "" as int`}},
		{"train.steps=[1]", []string{`train.steps: cannot use "[1]" as int`}},
		{"train.foo=1", []string{`--set train.foo=1: unknown key "train.foo"`}},
		{"trian.lr=1", []string{`--set trian.lr=1: unknown key "trian.lr"`, `did you mean "train.lr"`}},
		{"train.lr.x=1", []string{`unknown key "train.lr.x"`}},
		{"train.lr", []string{"--set train.lr: want section.key=value"}},
		{"lr=1", []string{"--set lr=1: want section.key=value"}},
		{".lr=1", []string{"--set .lr=1: want section.key=value"}},
		{"train.=1", []string{"want section.key=value"}},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			c := vaeDefault()
			wantErr(t, ApplySet(c, tt.set), tt.subs...)
			if !reflect.DeepEqual(c, vaeDefault()) {
				t.Errorf("failed ApplySet changed the config: %+v", c)
			}
		})
	}
}

func TestValidateNamesKeyAndValue(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		sub  string
	}{
		{"kind", func(c *Config) { c.Model.Kind = "gan" }, `model.kind: must be "vae", the kind whose defaults this config was built on, got "gan"`},
		{"hidden", func(c *Config) { own(c).Hidden = 0 }, "model.hidden: must be in [1, 65536], got 0"},
		{"latent", func(c *Config) { own(c).Latent = 4097 }, "model.latent: must be in [1, 4096], got 4097"},
		{"dataset", func(c *Config) { c.Data.Dataset = "cifar" }, `data.dataset: must be one of mnist, stacked_mnist, ring8, grid25, got "cifar"`},
		{"channels", func(c *Config) { c.Data.Channels = 2 }, "data.channels: must be 1 (grey) or 3 (RGB), got 2"},
		{"size", func(c *Config) { c.Data.Size = 64 }, "data.size: must be 28 or 32 (pixels a side), got 64"},
		{"stacked shape", func(c *Config) { c.Data.Dataset = "stacked_mnist" }, "data.channels: must be 3 for stacked_mnist"},
		{"shape of points", func(c *Config) { c.Data.Dataset, c.Data.Binarize, c.Data.Size = "ring8", "none", 28 }, "data.size: must be 0 for a 2-D mixture"},
		{"binarize", func(c *Config) { c.Data.Binarize = "static" }, `data.binarize: must be one of dynamic, none, got "static"`},
		{"subset", func(c *Config) { c.Data.Subset = -1 }, "data.subset: must be >= 0, got -1"},
		{"steps", func(c *Config) { c.Train.Steps = 0 }, "train.steps: must be >= 1, got 0"},
		{"batch", func(c *Config) { c.Train.BatchSize = 65537 }, "train.batch_size: must be in [1, 65536], got 65537"},
		{"lr zero", func(c *Config) { c.Train.LR = 0 }, "train.lr: must be > 0 and <= 1, got 0"},
		{"lr big", func(c *Config) { c.Train.LR = 1.5 }, "train.lr: must be > 0 and <= 1, got 1.5"},
		{"beta1", func(c *Config) { c.Train.Beta1 = 1 }, "train.beta1: must be >= 0 and < 1, got 1"},
		{"beta2", func(c *Config) { c.Train.Beta2 = -0.1 }, "train.beta2: must be >= 0 and < 1, got -0.1"},
		{"eps", func(c *Config) { c.Train.Eps = 0 }, "train.eps: must be > 0 and finite, got 0"},
		{"log_every", func(c *Config) { c.Train.LogEvery = 0 }, "train.log_every: must be >= 1, got 0"},
		{"sample_every", func(c *Config) { c.Train.SampleEvery = 0 }, "train.sample_every: must be >= 1, got 0"},
		{"checkpoint_every", func(c *Config) { c.Train.CheckpointEvery = 0 }, "train.checkpoint_every: must be >= 1, got 0"},
		{"keep", func(c *Config) { c.Train.KeepCheckpoints = 0 }, "train.keep_checkpoints: must be >= 1, got 0"},
		{"sample.n", func(c *Config) { c.Sample.N = 100001 }, "sample.n: must be in [1, 100000], got 100001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vaeDefault()
			tt.edit(c)
			wantErr(t, c.Validate(), tt.sub)
		})
	}
	t.Run("NaN and Inf are rejected", func(t *testing.T) {
		c := vaeDefault()
		if err := Parse(c, []byte("train: {lr: .nan, eps: .inf}"), "f.yaml"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, c.Validate(), "train.lr: must be", "NaN", "train.eps: must be", "+Inf")
	})
	t.Run("every error is reported, one per line", func(t *testing.T) {
		c := Config{schema: testSchema}
		err := c.Validate()
		wantErr(t, err, "model.kind", "one of other, pts, vae", "data.dataset", "train.steps", "sample.n")
		if n := strings.Count(err.Error(), "\n") + 1; n != 14 {
			t.Errorf("want 14 lines, got %d:\n%v", n, err)
		}
	})
	if err := vaeDefault().Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}

func TestYAMLRoundTripsThroughParse(t *testing.T) {
	odd := vaeDefault()
	odd.Data.Dir = "C:\\mnist: #1 \"x\"\n"
	odd.Train.LR, odd.Train.Seed = 1.0/3, 1<<64-1
	oth, err := testSchema.Default("other")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Config{vaeDefault(), odd, oth} {
		got, err := testSchema.Default(c.Model.Kind)
		if err != nil {
			t.Fatal(err)
		}
		if err := Parse(got, c.YAML(), "yaml"); err != nil {
			t.Fatalf("%v\n%s", err, c.YAML())
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("got  %+v\nwant %+v\n%s", got, c, c.YAML())
		}
	}
	if y := string(vaeDefault().YAML()); !strings.HasPrefix(y, "model:\n  kind: vae\n  hidden: 512\n") {
		t.Errorf("want struct order and 2-space indent:\n%s", y)
	}
	// A section's common keys come first, then the kind's own.
	if y := string(oth.YAML()); !strings.HasSuffix(y, "sample:\n  \"n\": 0\n  seed: 0\n  steps: 3\n  clip: false\n") {
		t.Errorf("want the kind's keys after the common ones:\n%s", y)
	}
}

func TestKeysComeFromTags(t *testing.T) {
	keys := vaeDefault().Keys()
	if len(keys) != 23 || keys[0] != "model.kind" || keys[1] != "model.hidden" || keys[len(keys)-1] != "sample.seed" {
		t.Errorf("Keys() = %v", keys)
	}
	for _, k := range keys {
		c := vaeDefault()
		if err := ApplySet(c, k+"=1"); err != nil && strings.Contains(err.Error(), "unknown") {
			t.Errorf("key %s not settable: %v", k, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	def, _ := configs.Default("vae")
	for _, s := range []string{string(def), "", "model:\n  hidden: 64\n", "train: {lr: 3e-4, steps: 1e4}", "- a\n", "a: &x [*x]", "data:\n  dir: \"\\t\"\n---\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := vaeDefault()
		if Parse(c, data, "fuzz") != nil || c.Validate() != nil {
			return
		}
		back, err := testSchema.Default("vae")
		if err != nil {
			t.Fatal(err)
		}
		if err := Parse(back, c.YAML(), "yaml"); err != nil {
			t.Fatalf("re-parse: %v\n%s", err, c.YAML())
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip: got %+v want %+v", back, c)
		}
	})
}

// A key of another kind is an error naming the key, the kind and the owner,
// wherever it comes from; it never reaches the YAML of the run.
func TestKeyOfAnotherKindIsRejected(t *testing.T) {
	file := writeFile(t, "model:\n  kind: vae\n  channels: 0\n")
	tests := []struct {
		name, path string
		sets       []string
		subs       []string
	}{
		{"set", "", []string{"model.channels=32"}, []string{`--set model.channels=32: model.channels: not used by model kind "vae"`, "belongs to other"}},
		{"set of a sample key", "", []string{"sample.steps=10"}, []string{`sample.steps: not used by model kind "vae"`}},
		{"file, even at zero", file, nil, []string{file + `: line 3: model.channels: not used by model kind "vae"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testSchema.Load("vae", tt.path, tt.sets)
			wantErr(t, err, tt.subs...)
		})
	}
	c, err := testSchema.Load("vae", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if y := string(c.YAML()); strings.Contains(strings.Split(y, "data:")[0], "channels") || strings.Contains(y, "steps: 3") {
		t.Fatalf("vae YAML shows keys of other:\n%s", y)
	}
}

// The kind of a file without --model comes from its model.kind; a first look
// at the file accepts any kind's keys.
func TestLoadTakesTheKindFromTheFile(t *testing.T) {
	path := writeFile(t, "model:\n  kind: other\n  channels: 4\nsample:\n  n: 2\n")
	c, err := testSchema.Load("", path, []string{"train.steps=1", "train.batch_size=1", "train.lr=0.1", "train.eps=1",
		"train.log_every=1", "train.sample_every=1", "train.checkpoint_every=1", "train.keep_checkpoints=1", "data.dataset=mnist", "data.binarize=none"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Model.Kind != "other" || c.Own.(*other).Channels != 4 || c.Own.(*other).Steps != 3 {
		t.Errorf("got %+v %+v", c, c.Own)
	}
	bad := writeFile(t, "model:\n  kind: other\n  chanels: 4\n")
	_, err = testSchema.Load("", bad, nil)
	wantErr(t, err, bad+`: line 3: unknown key "model.chanels" (did you mean "model.channels"?)`)
}

// Kinds of 2-D points train on a mixture and only on one; every other kind
// trains on images. The error names the point kinds.
func TestPointKindsAndMixturesGoTogether(t *testing.T) {
	pts := []string{"train.steps=1", "train.batch_size=1", "train.lr=0.1", "train.eps=1", "train.log_every=1",
		"train.sample_every=1", "train.checkpoint_every=1", "train.keep_checkpoints=1", "sample.n=1", "data.binarize=none"}
	tests := []struct {
		name string
		kind string
		sets []string
		want []string // substrings of the error; nil = valid
	}{
		{"points on ring8", "pts", pts, nil},
		{"points on mnist", "pts", append(pts[:len(pts):len(pts)], "data.dataset=mnist"), []string{`data.dataset: model.kind "pts" models 2-D points`, `"mnist"`}},
		{"images on ring8", "vae", []string{"data.dataset=ring8"}, []string{`data.dataset: "ring8" is a set of 2-D points`, `model.kind "vae"`, "(the 2-D kinds are pts)"}},
		{"binarised points", "pts", append(pts[:len(pts):len(pts)], "data.binarize=dynamic"), []string{"data.binarize: must be none for a 2-D mixture"}},
		{"a data folder for drawn points", "pts", append(pts[:len(pts):len(pts)], "data.dir=/tmp"), []string{"data.dir"}},
		{"unknown dataset", "vae", []string{"data.dataset=ring"}, []string{`data.dataset: must be one of mnist, stacked_mnist, ring8, grid25, got "ring"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testSchema.Load(tc.kind, "", tc.sets)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tc.want...)
		})
	}
}

func TestCloneCopiesTheSection(t *testing.T) {
	c := vaeDefault()
	d := c.Clone()
	own(d).Hidden = 7
	if own(c).Hidden != 512 {
		t.Error("Clone shares the kind's section")
	}
}
