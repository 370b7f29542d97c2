package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gentri/gentri/configs"
)

// vaeDefault mirrors configs/vae.yaml.
var vaeDefault = Config{
	Model: Model{Kind: "vae", Hidden: 512, Latent: 20},
	Data:  Data{Dataset: "mnist", Dir: "", Binarize: "dynamic", Subset: 0},
	Train: Train{Seed: 1, Steps: 20000, BatchSize: 128, LR: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		LogEvery: 100, SampleEvery: 2000, CheckpointEvery: 2000, KeepCheckpoints: 3},
	Sample: Sample{N: 64, Seed: 0},
}

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
			c.Model.Hidden, c.Train.LR, c.Train.Steps = 256, 3e-4, 50
		}},
		{"kind comes from the file", "", "model: {kind: vae}\n", nil, func(*Config) {}},
		{"set wins over file", "vae", file, []string{"train.lr=1.0e-3", "model.hidden=64", "data.dir=/x y#z"}, func(c *Config) {
			c.Model.Hidden, c.Train.LR, c.Train.Steps, c.Data.Dir = 64, 1e-3, 50, "/x y#z"
		}},
		{"later set wins over earlier", "vae", "", []string{"train.steps=5", "train.steps=7"}, func(c *Config) { c.Train.Steps = 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.body != "" {
				path = writeFile(t, tt.body)
			}
			got, err := Load(tt.kind, path, tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			want := vaeDefault
			tt.edit(&want)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got  %+v\nwant %+v", *got, want)
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
		{"unknown kind lists known kinds", "gan", "", nil, []string{`"gan"`, strings.Join(configs.Kinds(), " ")}},
		{"missing file", "vae", filepath.Join(t.TempDir(), "nope.yaml"), nil, []string{"nope.yaml"}},
		{"set cannot switch kind", "vae", "", []string{"model.kind=cgan"}, []string{"--set model.kind=cgan", `"vae"`}},
		{"invalid result names key", "vae", "", []string{"train.lr=0"}, []string{"train.lr: must be > 0 and <= 1, got 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.kind, tt.path, tt.sets)
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
		{"scalar as section", "model: vae\n", []string{`line 1: model: want a mapping of keys (model.kind, model.hidden, model.latent, model.channels, model.classes), got "vae"`}},
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
			c := vaeDefault
			wantErr(t, Parse(&c, []byte(tt.body), "f.yaml"), tt.subs...)
			if c != vaeDefault {
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
		{"anchor and alias", "model:\n  hidden: &w 64\n  latent: *w\n", func(c *Config) { c.Model.Hidden, c.Model.Latent = 64, 64 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vaeDefault
			if err := Parse(&c, []byte(tt.body), "f.yaml"); err != nil {
				t.Fatal(err)
			}
			want := vaeDefault
			tt.edit(&want)
			if c != want {
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
			c := vaeDefault
			if err := ApplySet(&c, tt.set); err != nil {
				t.Fatal(err)
			}
			want := vaeDefault
			tt.edit(&want)
			if c != want {
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
			c := vaeDefault
			wantErr(t, ApplySet(&c, tt.set), tt.subs...)
			if c != vaeDefault {
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
		{"kind", func(c *Config) { c.Model.Kind = "gan" }, `model.kind: must be one of cgan, classifier, ddpm, ddpm2d, gan2d, vae, vae2d, got "gan"`},
		{"hidden", func(c *Config) { c.Model.Hidden = 0 }, "model.hidden: must be in [1, 65536], got 0"},
		{"latent", func(c *Config) { c.Model.Latent = 4097 }, "model.latent: must be in [1, 4096], got 4097"},
		{"dataset", func(c *Config) { c.Data.Dataset = "cifar" }, `data.dataset: must be one of mnist, ring8, grid25, got "cifar"`},
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
			c := vaeDefault
			tt.edit(&c)
			wantErr(t, c.Validate(), tt.sub)
		})
	}
	t.Run("NaN and Inf are rejected", func(t *testing.T) {
		c := vaeDefault
		if err := Parse(&c, []byte("train: {lr: .nan, eps: .inf}"), "f.yaml"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, c.Validate(), "train.lr: must be", "NaN", "train.eps: must be", "+Inf")
	})
	t.Run("every error is reported, one per line", func(t *testing.T) {
		var c Config
		err := c.Validate()
		wantErr(t, err, "model.kind", "data.dataset", "train.steps", "sample.n")
		if n := strings.Count(err.Error(), "\n") + 1; n != 12 {
			t.Errorf("want 12 lines, got %d:\n%v", n, err)
		}
	})
	if err := vaeDefault.Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}

func TestYAMLRoundTripsThroughParse(t *testing.T) {
	odd := vaeDefault
	odd.Data.Dir = "C:\\mnist: #1 \"x\"\n"
	odd.Train.LR, odd.Train.Seed = 1.0/3, 1<<64-1
	for _, c := range []Config{vaeDefault, odd, {}} {
		var got Config
		if err := Parse(&got, c.YAML(), "yaml"); err != nil {
			t.Fatalf("%v\n%s", err, c.YAML())
		}
		if got != c {
			t.Errorf("got  %+v\nwant %+v\n%s", got, c, c.YAML())
		}
	}
	if y := string(vaeDefault.YAML()); !strings.HasPrefix(y, "model:\n  kind: vae\n  hidden: 512\n") {
		t.Errorf("want struct order and 2-space indent:\n%s", y)
	}
}

func TestKeysComeFromYAMLTags(t *testing.T) {
	keys := Keys()
	if len(keys) != 38 || keys[0] != "model.kind" || keys[len(keys)-1] != "sample.clip" {
		t.Errorf("Keys() = %v", keys)
	}
	for _, k := range keys {
		c := vaeDefault
		err := Parse(&c, vaeDefault.YAML(), "yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := ApplySet(&c, k+"=1"); err != nil && strings.Contains(err.Error(), "unknown") {
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
		c := vaeDefault
		if Parse(&c, data, "fuzz") != nil || c.Validate() != nil {
			return
		}
		var back Config
		if err := Parse(&back, c.YAML(), "yaml"); err != nil {
			t.Fatalf("re-parse: %v\n%s", err, c.YAML())
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip: got %+v want %+v", back, c)
		}
	})
}

func TestKeyOfAnotherKindIsRejected(t *testing.T) {
	_, err := Load("vae", "", []string{"model.channels=32"})
	if err == nil || !strings.Contains(err.Error(), `model.channels: not used by model kind "vae"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestYAMLShowsOnlyTheKindsKeys(t *testing.T) {
	c, err := Load("vae", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if y := string(c.YAML()); strings.Contains(y, "channels") || strings.Contains(y, "lr_d") {
		t.Fatalf("vae YAML shows cgan keys:\n%s", y)
	}
}

// ddpmDefault mirrors configs/ddpm.yaml.
var ddpmDefault = Config{
	Model: Model{Kind: "ddpm", Channels: 16, Classes: 10},
	Data:  Data{Dataset: "mnist", Dir: "", Binarize: "none", Subset: 0},
	Train: Train{Seed: 1, Steps: 6000, BatchSize: 64, LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		LogEvery: 50, SampleEvery: 1000, CheckpointEvery: 1000, KeepCheckpoints: 3, EMA: 0.999,
		Timesteps: 1000, Schedule: "linear", BetaStart: 1e-4, BetaEnd: 0.02, CondDrop: 0.1, Warmup: 0},
	Sample: Sample{N: 100, Seed: 0, Sampler: "ddim", Steps: 50, Eta: 0, Variance: "beta_tilde", Guidance: 0, Clip: true},
}

func TestDDPMDefaultLoadsValidatesAndRoundTrips(t *testing.T) {
	c, err := Load("ddpm", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *c != ddpmDefault {
		t.Fatalf("got  %+v\nwant %+v", *c, ddpmDefault)
	}
	var back Config
	if err := Parse(&back, c.YAML(), "yaml"); err != nil || back != *c {
		t.Fatalf("round trip: %v\n%+v\n%s", err, back, c.YAML())
	}
	y := string(c.YAML())
	for _, k := range []string{"timesteps: 1000", "cond_drop: 0.1", "sampler: ddim", "variance: beta_tilde", "ema: 0.999"} {
		if !strings.Contains(y, k) {
			t.Errorf("ddpm YAML lacks %q:\n%s", k, y)
		}
	}
	for _, k := range []string{"lr_d", "hidden", "latent", "label_smoothing"} {
		if strings.Contains(y, k) {
			t.Errorf("ddpm YAML shows %q of another kind:\n%s", k, y)
		}
	}
	for _, kind := range []string{"vae", "cgan", "classifier"} {
		c, err := Load(kind, "", nil)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if y := string(c.YAML()); strings.Contains(y, "timesteps") || strings.Contains(y, "sampler") {
			t.Errorf("%s YAML shows ddpm keys:\n%s", kind, y)
		}
	}
	if _, err := Load("vae", "", []string{"sample.steps=10"}); err == nil || !strings.Contains(err.Error(), `sample.steps: not used by model kind "vae"`) {
		t.Errorf("ddpm key on a vae: err = %v", err)
	}
}

func TestDDPMValidateNamesKeyAndValue(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		sub  string
	}{
		{"channels not a multiple of 8", func(c *Config) { c.Model.Channels = 12 }, "model.channels: must be a multiple of 8 in [8, 1024] (GroupNorm with 8 groups), got 12"},
		{"one class", func(c *Config) { c.Model.Classes = 1 }, "model.classes: must be in [2, 10]"},
		{"ema", func(c *Config) { c.Train.EMA = 1 }, "train.ema: must be >= 0 and < 1, got 1"},
		{"timesteps", func(c *Config) { c.Train.Timesteps = 0 }, "train.timesteps: must be in [1, 100000], got 0"},
		{"schedule", func(c *Config) { c.Train.Schedule = "quadratic" }, `train.schedule: must be one of linear, cosine, got "quadratic"`},
		{"beta start", func(c *Config) { c.Train.BetaStart = 0 }, "train.beta_start: must be > 0 and < 1, got 0"},
		{"beta end below start", func(c *Config) { c.Train.BetaEnd = 1e-5 }, "train.beta_end: must be >= train.beta_start and < 1, got 1e-05"},
		{"cond drop", func(c *Config) { c.Train.CondDrop = 1.5 }, "train.cond_drop: must be >= 0 and <= 1, got 1.5"},
		{"warmup", func(c *Config) { c.Train.Warmup = -1 }, "train.warmup: must be >= 0, got -1"},
		{"sampler", func(c *Config) { c.Sample.Sampler = "euler" }, `sample.sampler: must be one of ddpm, ddim, got "euler"`},
		{"steps beyond T", func(c *Config) { c.Sample.Steps = 1001 }, "sample.steps: must be in [0, 1000] (train.timesteps; 0 = the sampler's default), got 1001"},
		{"eta", func(c *Config) { c.Sample.Eta = 2 }, "sample.eta: must be >= 0 and <= 1, got 2"},
		{"eta with ancestral", func(c *Config) { c.Sample.Sampler, c.Sample.Steps, c.Sample.Eta = "ddpm", 0, 0.5 }, "sample.eta: must be 0 with sample.sampler ddpm"},
		{"variance", func(c *Config) { c.Sample.Variance = "large" }, `sample.variance: must be one of beta_tilde, beta, got "large"`},
		{"guidance", func(c *Config) { c.Sample.Guidance = -1 }, "sample.guidance: must be >= 0 and finite, got -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ddpmDefault
			tt.edit(&c)
			wantErr(t, c.Validate(), tt.sub)
		})
	}
	if err := ddpmDefault.Validate(); err != nil {
		t.Errorf("default: %v", err)
	}
}
