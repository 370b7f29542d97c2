package models

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/configs"
	"github.com/gentri/gentri/internal/config"
)

func wantErrSubs(t *testing.T, err error, subs ...string) {
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

// Every entry ships its defaults, builds a model of its own name from them,
// and declares exactly the optional interfaces that model implements.
func TestRegistryEntriesBuildWhatTheyDeclare(t *testing.T) {
	if got, want := KindNames(), configs.Kinds(); !reflect.DeepEqual(sorted(got), sorted(want)) {
		t.Errorf("registry kinds %v, shipped defaults %v: every configs/<kind>.yaml needs an entry and vice versa", got, want)
	}
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			cfg, err := LoadConfig(k.Name, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if k.Name == "ddpm" { // the default U-Net is slow to build: a small one has the same interfaces
				if err := config.ApplySet(cfg, "model.channels=8"); err != nil {
					t.Fatal(err)
				}
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind() != k.Name {
				t.Errorf("model.Kind() = %q", m.Kind())
			}
			_, cond := m.(Conditional)
			_, smp := m.(Sampler)
			_, lik := m.(Likelihood)
			_, rec := m.(Reconstructor)
			_, lat := m.(Autoencoder)
			for _, c := range []struct {
				cap Capability
				has bool
			}{{CapConditional, cond}, {CapSampler, smp}, {CapLikelihood, lik}, {CapReconstruct, rec}, {CapLatent, lat}} {
				if k.Caps.Has(c.cap) != c.has {
					t.Errorf("Caps %q: declares %q %v, the model implements it %v", k.Caps, c.cap, k.Caps.Has(c.cap), c.has)
				}
			}
			if k.Summary == "" {
				t.Error("no summary for the help texts")
			}
		})
	}
	if _, ok := Lookup("gan2"); ok {
		t.Error(`Lookup("gan2") found a kind`)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

// Nothing outside the registry and the kinds' own files dispatches on a
// kind's name (issue 13: adding a kind touches its own files and one line).
func TestNoKindSwitchOutsideTheRegistry(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	out, err := exec.Command(git, "-C", filepath.Join("..", ".."), "grep", "-n", `switch.*Kind\|case "vae"`, "--", "internal", "cmd").Output()
	if err != nil && len(out) == 0 {
		return // no match (git grep exits 1)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "internal/models/registry") && !strings.Contains(line, "v.Kind()") && !strings.Contains(line, "n.Kind") {
			t.Errorf("a kind switch outside the registry: %s", line)
		}
	}
}

// ddpmConfig mirrors configs/ddpm.yaml's own section.
var ddpmConfig = DDPMConfig{
	Channels: 16, Classes: 10,
	DiffusionConfig: DiffusionConfig{EMA: 0.999, Timesteps: 1000, Schedule: "linear", BetaStart: 1e-4, BetaEnd: 0.02,
		SamplerName: "ddim", Steps: 50, Spacing: "leading", Eta: 0, Variance: "beta_tilde"},
	CondDrop: 0.1, Warmup: 0, Guidance: 0, Clip: true,
}

func TestDDPMDefaultLoadsValidatesAndRoundTrips(t *testing.T) {
	c, err := LoadConfig("ddpm", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Train{Seed: 1, Steps: 8000, BatchSize: 64, LR: 2e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8,
		LogEvery: 50, SampleEvery: 1000, CheckpointEvery: 1000, KeepCheckpoints: 3}
	if *c.Own.(*DDPMConfig) != ddpmConfig || c.Train != want || c.Sample != (config.Sample{N: 100}) {
		t.Fatalf("got  %+v %+v\nwant %+v", *c, c.Own, ddpmConfig)
	}
	back, err := LoadConfig("ddpm", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	back.Own.(*DDPMConfig).Steps = 3
	if err := config.Parse(back, c.YAML(), "yaml"); err != nil || !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: %v\n%+v\n%s", err, back, c.YAML())
	}
	y := string(c.YAML())
	for _, k := range []string{"timesteps: 1000", "cond_drop: 0.1", "sampler: ddim", "variance: beta_tilde", "ema: 0.999",
		"  lr: 0.0002\n  beta1: 0.9", "  keep_checkpoints: 3\n  ema: 0.999\n  timesteps: 1000\n", "  seed: 0\n  sampler: ddim\n  steps: 50\n  spacing: leading\n"} {
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
		c, err := LoadConfig(kind, "", nil)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if y := string(c.YAML()); strings.Contains(y, "timesteps") || strings.Contains(y, "sampler") {
			t.Errorf("%s YAML shows ddpm keys:\n%s", kind, y)
		}
	}
}

func TestKindValidationNamesKeyAndValue(t *testing.T) {
	tests := []struct {
		kind string
		set  string
		sub  string
	}{
		{"vae", "model.hidden=0", "model.hidden: must be in [1, 65536], got 0"},
		{"vae", "model.latent=4097", "model.latent: must be in [1, 4096], got 4097"},
		{"vae", "model.channels=32", `model.channels: not used by model kind "vae"`},
		{"vae", "sample.steps=10", `sample.steps: not used by model kind "vae"`},
		{"cgan", "train.loss=wgan", `train.loss: must be one of ns, hinge, got "wgan"`},
		{"cgan", "train.lr_d=0", "train.lr_d: must be > 0 and <= 1, got 0"},
		{"cgan", "train.replay_size=-1", "train.replay_size: must be in [0, 1000000] (0 = off), got -1"},
		{"cgan", "train.replay_share=0", "train.replay_share: must be > 0 and <= 1, got 0"},
		{"gan", "train.replay_share=1.5", "train.replay_share: must be > 0 and <= 1, got 1.5"},
		{"gan", "model.classes=10", `model.classes: not used by model kind "gan"`},
		{"gan2d", "train.label_smoothing=0.5", "train.label_smoothing: must be >= 0 and < 0.5, got 0.5"},
		// A full buffer gives round(0.5 × 100) = 50 fakes a step, so it must hold 50.
		{"gan2d", "train.replay_size=49", "train.replay_size: must be 0 (off) or at least train.replay_share × train.batch_size = 50, the fakes it gives a step, got 49"},
		{"gan2d", "train.replay_size=100 train.replay_share=0.001", "train.replay_share: must be large enough that share × train.batch_size (100) rounds to at least 1 fake, got 0.001"},
		{"classifier", "model.classes=257", "model.classes: must be in [2, 256] (labels are bytes), got 257"},
		{"ddpm", "model.channels=12", "model.channels: must be a multiple of 8 in [8, 1024] (GroupNorm with 8 groups), got 12"},
		{"ddpm", "model.classes=1", "model.classes: must be in [2, 10]"},
		{"ddpm", "train.ema=1", "train.ema: must be >= 0 and < 1, got 1"},
		{"ddpm", "train.timesteps=0", "train.timesteps: must be in [1, 100000], got 0"},
		{"ddpm", "train.schedule=quadratic", `train.schedule: must be one of linear, cosine, got "quadratic"`},
		{"ddpm", "train.beta_start=0", "train.beta_start: must be > 0 and < 1, got 0"},
		{"ddpm", "train.beta_end=1e-5", "train.beta_end: must be >= train.beta_start and < 1, got 1e-05"},
		{"ddpm", "train.cond_drop=1.5", "train.cond_drop: must be >= 0 and <= 1, got 1.5"},
		{"ddpm", "train.warmup=-1", "train.warmup: must be >= 0, got -1"},
		{"ddpm", "sample.sampler=euler", `sample.sampler: must be one of ddpm, ddim, dpmpp2m, dpmpp2m-sde, heun, got "euler"`},
		{"ddpm", "sample.steps=1001", "sample.steps: must be in [0, 1000] (train.timesteps; 0 = the sampler's default), got 1001"},
		{"ddpm", "sample.spacing=uniform", `sample.spacing: must be one of leading, trailing, logsnr, karras, got "uniform"`},
		{"ddpm", "sample.eta=2", "sample.eta: must be >= 0 and <= 1, got 2"},
		{"ddpm", "sample.variance=large", `sample.variance: must be one of beta_tilde, beta, got "large"`},
		{"ddpm", "sample.guidance=-1", "sample.guidance: must be >= 0 and finite, got -1"},
		{"ddpm", "sample.guidance=.inf", "sample.guidance: must be >= 0 and finite, got +Inf"},
		{"ddgan", "model.d_head=mean", `model.d_head: must be one of sum, flatten, got "mean"`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.set, func(t *testing.T) {
			_, err := LoadConfig(tt.kind, "", strings.Fields(tt.set))
			wantErrSubs(t, err, tt.sub)
		})
	}
	_, err := LoadConfig("ddpm", "", []string{"sample.sampler=ddpm", "sample.steps=0", "sample.eta=0.5"})
	wantErrSubs(t, err, "sample.eta: must be 0 unless sample.sampler is ddim")
	_, err = LoadConfig("wgan", "", nil)
	wantErrSubs(t, err, `unknown model kind "wgan"`, strings.Join(Schema.Names(), ", "))
}

// The 2-D kinds train on a mixture and only on one; every other kind trains
// on images and never on a mixture. The error names both keys.
func TestMixtureDatasetsAndTwoDKindsGoTogether(t *testing.T) {
	tests := []struct {
		name string
		kind string
		sets []string
		want []string // substrings of the error; nil = valid
	}{
		{"gan2d on ring8", "gan2d", nil, nil},
		{"vae2d on grid25", "vae2d", []string{"data.dataset=grid25"}, nil},
		{"ddpm2d on grid25 with ddim", "ddpm2d", []string{"data.dataset=grid25", "sample.sampler=ddim", "sample.steps=20"}, nil},
		{"image vae on ring8", "vae", []string{"data.dataset=ring8"}, []string{"data.dataset", `"ring8"`, `model.kind "vae"`, "gan2d, vae2d, ddpm2d"}},
		{"cgan on grid25", "cgan", []string{"data.dataset=grid25"}, []string{"data.dataset", `model.kind "cgan"`}},
		{"classifier on ring8", "classifier", []string{"data.dataset=ring8"}, []string{"data.dataset", `model.kind "classifier"`}},
		{"gan2d on mnist", "gan2d", []string{"data.dataset=mnist"}, []string{"data.dataset", `model.kind "gan2d"`, `"mnist"`}},
		{"unknown dataset", "ddpm2d", []string{"data.dataset=ring"}, []string{`data.dataset: must be one of mnist, stacked_mnist, ring8, grid25, got "ring"`}},
		{"binarised points", "vae2d", []string{"data.binarize=dynamic"}, []string{"data.binarize: must be none for a 2-D mixture"}},
		{"a data folder for drawn points", "gan2d", []string{"data.dir=/tmp"}, []string{"data.dir"}},
		{"gan2d takes no channels", "gan2d", []string{"model.channels=4"}, []string{`model.channels: not used by model kind "gan2d"`}},
		{"ddpm2d is unconditional", "ddpm2d", []string{"sample.guidance=1"}, []string{`sample.guidance: not used by model kind "ddpm2d"`}},
		{"ddpm2d steps above T", "ddpm2d", []string{"train.timesteps=100", "sample.steps=101"}, []string{"sample.steps: must be in [0, 100]"}},
		{"vae2d needs a latent", "vae2d", []string{"model.latent=0"}, []string{"model.latent: must be in [1, 4096], got 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(tc.kind, "", tc.sets)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.Model.Kind != tc.kind {
					t.Fatalf("kind %q, want %q", c.Model.Kind, tc.kind)
				}
				return
			}
			wantErrSubs(t, err, tc.want...)
		})
	}
}

// configs/<mixture>-<model>.yaml are user configs on the kind defaults; they
// are not kinds themselves.
func TestBenchmarkConfigsLoadOnTheirKindDefaults(t *testing.T) {
	for _, d := range []string{"ring8", "grid25"} {
		for _, k := range []string{"gan", "vae", "ddpm"} {
			path := filepath.Join("..", "..", "configs", d+"-"+k+".yaml")
			c, err := LoadConfig("", path, nil)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			def, err := LoadConfig(k+"2d", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			def.Data.Dataset = d
			if c.Model.Kind != k+"2d" || !reflect.DeepEqual(c, def) {
				t.Errorf("%s resolves to %+v, want the %s2d defaults on %s", path, *c, k, d)
			}
		}
	}
	if slices.Contains(configs.Kinds(), "ring8-gan") || !slices.Contains(configs.Kinds(), "gan2d") {
		t.Errorf("kinds %v: want gan2d, not the benchmark configs", configs.Kinds())
	}
	if _, err := configs.Default("grid25-ddpm"); err == nil {
		t.Error(`configs.Default("grid25-ddpm") is a kind default`)
	}
}

// TestSampleConfigReachesTheSampler: the sample.* keys of the diffusion kinds
// are the sampler a built model uses (training grids, `gentri sample`
// without flags), spacing included.
func TestSampleConfigReachesTheSampler(t *testing.T) {
	tests := []struct {
		kind string
		sets []string
		want SamplerOptions
	}{
		{"ddpm", nil, SamplerOptions{Sampler: SamplerDDIM, Steps: 50, Spacing: SpacingLeading, Clip: true}},
		{"ddpm", []string{"sample.sampler=dpmpp2m-sde", "sample.steps=20", "sample.spacing=logsnr"},
			SamplerOptions{Sampler: SamplerDPMSolverSDE, Steps: 20, Spacing: SpacingLogSNR, Clip: true}},
		{"ddpm", []string{"sample.spacing=trailing", "sample.guidance=2"},
			SamplerOptions{Sampler: SamplerDDIM, Steps: 50, Spacing: SpacingTrailing, Guidance: 2, Clip: true}},
		{"ddpm2d", []string{"sample.sampler=heun", "sample.steps=10", "sample.spacing=karras", "train.timesteps=100"},
			SamplerOptions{Sampler: SamplerHeun, Steps: 10, Spacing: SpacingKarras}},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+strings.Join(tt.sets, " "), func(t *testing.T) {
			cfg, err := LoadConfig(tt.kind, "", tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := m.(Sampler).Options()
			if got.Sampler != tt.want.Sampler || got.Steps != tt.want.Steps || got.Spacing != tt.want.Spacing ||
				got.Guidance != tt.want.Guidance || got.Clip != tt.want.Clip {
				t.Errorf("Options() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
