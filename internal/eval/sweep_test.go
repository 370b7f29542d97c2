package eval

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/models"
)

// An NFE budget buys each sampler the most steps it affords: one
// evaluation a step, Heun's 2·steps − 1, all doubled under guidance.
func TestStepsForNFEFitTheBudget(t *testing.T) {
	tests := []struct {
		o           models.SamplerOptions
		budget, max int
		want        int
	}{
		{models.SamplerOptions{Sampler: "ddim"}, 10, 1000, 10},
		{models.SamplerOptions{Sampler: "dpmpp2m"}, 5, 1000, 5},
		{models.SamplerOptions{Sampler: "heun"}, 10, 1000, 5},
		{models.SamplerOptions{Sampler: "heun"}, 5, 1000, 3},
		{models.SamplerOptions{Sampler: "heun"}, 1, 1000, 1},
		{models.SamplerOptions{Sampler: "ddim", Guidance: 2}, 10, 1000, 5},
		{models.SamplerOptions{Sampler: "heun", Guidance: 2}, 20, 1000, 5},
		{models.SamplerOptions{Sampler: "ddim", Guidance: 2}, 1, 1000, 0},
		{models.SamplerOptions{Sampler: "ddpm"}, 2000, 1000, 1000},
	}
	for _, tt := range tests {
		if got := stepsForNFE(tt.o, tt.budget, tt.max); got != tt.want {
			t.Errorf("%s (guidance %g), %d NFE: %d steps, want %d", tt.o.Sampler, tt.o.Guidance, tt.budget, got, tt.want)
		}
	}
}

func TestParseSweepSamplers(t *testing.T) {
	got, err := ParseSweepSamplers("ddim, dpmpp2m:karras,heun:trailing")
	if err != nil || strings.Join(got, "|") != "ddim|dpmpp2m:karras|heun:trailing" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, bad := range []string{"euler", "ddim:cosine", "ddim,", "heun:karras:x"} {
		if _, err := ParseSweepSamplers(bad); err == nil || !strings.Contains(err.Error(), "is not a sampler") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// The sweep plot draws one curve per sampler, whatever order the records
// come in, and refuses records it cannot draw.
func TestSweepPlotDrawsOneCurvePerSampler(t *testing.T) {
	rec := func(name, spacing string, steps, nfe int, secs, fid float64) *Record {
		return &Record{Model: "ddpm", Sampler: &Sampler{Name: name, Steps: steps, Spacing: spacing, NFE: nfe},
			Metrics: &Metrics{FID: fid}, Speed: &Speed{NFE: nfe, SecondsPer100: secs}}
	}
	recs := []*Record{
		rec("ddim", "leading", 5, 5, 1, 80), rec("ddim", "leading", 10, 10, 2, 50),
		rec("heun", "karras", 3, 5, 1, 90), rec("heun", "karras", 5, 9, 1.8, 40),
		rec("dpmpp2m", "", 5, 5, 1, 60),
	}
	names := map[string]bool{}
	for _, r := range recs {
		names[sweepCurveName(r.Sampler)] = true
	}
	if len(names) != 3 || !names["DDIM"] || !names["Heun karras"] || !names["DPM-Solver++(2M)"] {
		t.Errorf("curve names %v, want DDIM, Heun karras, DPM-Solver++(2M)", names)
	}
	path := filepath.Join(t.TempDir(), "sweep.png")
	if err := SweepPlot(recs, "ddpm, N=500", path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.DecodeConfig(f); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if err := SweepPlot([]*Record{{Model: "ddpm"}}, "x", path); err == nil {
		t.Error("a record without FID or speed was drawn")
	}
}
