package eval

import (
	"strings"
	"testing"
)

func TestTrilemmaTargets(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	img := func(model string, n int, s *Sampler, fid, recall float64) *Record {
		return &Record{Model: model, Step: 100, Sampler: s, Metrics: &Metrics{N: n, FID: fid, Recall: recall}}
	}
	cgan := img("cgan", 300, nil, 20, 0.70)
	cgan.ClassAccuracy = f(0.97)
	cgan2000 := img("cgan", 2000, nil, 15, 0.75)
	cgan2000.ClassAccuracy = f(0.93)
	vae := img("vae", 300, nil, 130, 0.72)
	vae.TestNELBO = f(95)
	ddpm1000 := img("ddpm", 300, &Sampler{Name: "ddpm", Steps: 1000}, 30, 0.80)
	guided := img("ddpm", 2000, &Sampler{Name: "ddim", Steps: 50, Guidance: 2}, 14, 0.6)
	guidedWorse := img("ddpm", 2000, &Sampler{Name: "ddim", Steps: 50, Guidance: 0.5}, 18, 0.7)
	guidedSmallN := img("ddpm", 300, &Sampler{Name: "ddim", Steps: 50, Guidance: 1}, 10, 0.7)
	ring := &Record{Model: "ddpm2d", Modes: &ModeFigures{Dataset: "ring8", N: 2500, Captured: 8, Components: 8}}
	grid := &Record{Model: "ddpm2d", Modes: &ModeFigures{Dataset: "grid25", N: 2500, Captured: 23, Components: 25}}
	gan := &Record{Model: "gan2d", Modes: &ModeFigures{Dataset: "grid25", N: 2500, Captured: 25, Components: 25}}

	checks := TrilemmaTargets([]*Record{cgan, cgan2000, vae, ddpm1000, guidedWorse, guided, guidedSmallN, ring, grid, gan})
	want := []struct {
		target string
		met    string // yes, no, or none (not measured)
		in     string
	}{
		{"cGAN class accuracy", "no", "0.930 (N 2000)"}, // the largest N wins
		{"VAE test −ELBO", "yes", "95.00"},
		{"best recall", "yes", "DDPM 0.800, cGAN 0.700, VAE 0.720 (N 300)"},  // compared at the DDPM's N
		{"guided DDPM FID", "yes", "guidance 2) 14.00, cGAN 15.00 (N 2000)"}, // the best scale at the cGAN's N
		{"modes of ring8", "yes", "8 / 8"},
		{"modes of grid25", "no", "23 / 25"}, // the GAN's 25 do not count
	}
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d", len(checks), len(want))
	}
	for i, w := range want {
		c := checks[i]
		met := "none"
		if c.Met != nil {
			met = map[bool]string{true: "yes", false: "no"}[*c.Met]
		}
		if !strings.Contains(c.Target, w.target) || met != w.met || !strings.Contains(c.Measured, w.in) {
			t.Errorf("check %d = %+v (met %s), want %q met %s measuring %q", i, c, met, w.target, w.met, w.in)
		}
	}

	// Without VAE and cGAN records at the DDPM's N, the recall is not compared across N.
	checks = TrilemmaTargets([]*Record{cgan2000, ddpm1000})
	if c := checks[2]; c.Met != nil || !strings.Contains(c.Measured, "N 300") {
		t.Errorf("recall across different N: %+v", c)
	}
	var b strings.Builder
	MarkdownTargets(&b, checks)
	if !strings.Contains(b.String(), "| cGAN class accuracy ≥ 0.95 | 0.930 (N 2000) | **no** |") {
		t.Errorf("targets table:\n%s", b.String())
	}
}
