package eval

import (
	"context"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
)

// StackedSamples is the default N of a Stacked MNIST evaluation: the
// 10,000 samples of VEEGAN (Srivastava et al. 2017) and of the denoising
// diffusion GAN's table (Xiao et al. 2022). PacGAN's protocol (Lin et al.
// 2018) takes 26,000: --n 26000.
const StackedSamples = 10000

// StackedFigures are the mode figures of Stacked MNIST for one set of
// images: each image's three planes are classified by the MNIST
// classifier, the digit triple (red, green, blue) is its mode, one of 1000.
type StackedFigures struct {
	N     int `json:"n"`
	Modes int `json:"modes"` // modes with at least one image, out of Of
	Of    int `json:"of"`    // 1000
	// KL is KL(p || uniform) = Σ_m p_m ln(p_m · 1000) of the mode
	// histogram p, in nats (natural log): 0 when every mode is equally
	// frequent, ln 1000 ≈ 6.91 when one mode takes every image.
	KL float64 `json:"kl"`
	// Note says what KL is (StackedKLNote), so a record read alone does.
	Note string `json:"note"`
	// PerMode counts the images of each mode, 100·red + 10·green + blue.
	PerMode []int `json:"per_mode"`
}

// StackedKLNote says what StackedFigures.KL is, for records and tables.
const StackedKLNote = "KL(p_model || uniform) of the 1000-mode histogram, natural log (nats)"

// NewStackedFigures counts the modes of the digit triples of images (mode
// 100·d_R + 10·d_G + d_B).
func NewStackedFigures(modes []int) *StackedFigures {
	f := &StackedFigures{N: len(modes), Of: data.StackedModes, Note: StackedKLNote, PerMode: make([]int, data.StackedModes)}
	for _, m := range modes {
		f.PerMode[m]++
	}
	f.Modes, f.KL = histogramCoverage(f.PerMode)
	return f
}

// histogramCoverage returns the bins of counts holding anything and
// KL(p || uniform) of their normalised histogram, in nats.
func histogramCoverage(counts []int) (covered int, kl float64) {
	total := 0
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0, math.NaN()
	}
	k := float64(len(counts))
	for _, c := range counts {
		if c == 0 {
			continue
		}
		covered++
		p := float64(c) / float64(total)
		kl += p * math.Log(p*k)
	}
	return covered, kl
}

// StackedModesOf classifies each plane of each 3x28x28 image with the MNIST
// classifier and returns the image's mode, 100·d_R + 10·d_G + d_B.
func StackedModesOf(ext *Extractor, imgs [][]float32) ([]int, error) {
	const plane = 28 * 28
	planes := make([][]float32, 0, 3*len(imgs))
	for i, img := range imgs {
		if len(img) != 3*plane {
			return nil, fmt.Errorf("stacked mnist: image %d has %d values, want 3x28x28 = %d", i, len(img), 3*plane)
		}
		for c := range 3 {
			planes = append(planes, img[c*plane:(c+1)*plane])
		}
	}
	_, probs, err := ext.Model.Features(planes)
	if err != nil {
		return nil, err
	}
	modes := make([]int, len(imgs))
	for i := range imgs {
		m := 0
		for c := range 3 {
			m = 10*m + argmax(probs[3*i+c])
		}
		modes[i] = m
	}
	return modes, nil
}

func argmax(p []float64) int {
	best := 0
	for k := range p {
		if p[k] > p[best] {
			best = k
		}
	}
	return best
}

// stackedUnavailable says why a Stacked MNIST record has no FID and kin.
const stackedUnavailable = "FID, KID, precision, recall, density, coverage and IS: they need a feature network of the 3x28x28 images, " +
	"and gentri's are single-channel classifiers (concatenating the three planes' MNIST features would be a figure no paper reports); " +
	"Stacked MNIST is measured by its modes, the protocol of PacGAN, VEEGAN and the denoising diffusion GAN"

// runStacked evaluates a model of Stacked MNIST (docs/data.md): N samples
// (StackedSamples unless --n), each plane classified by the MNIST
// classifier, the modes covered out of 1000 and the KL of the mode
// histogram to uniform, beside the same figures of N training images (the
// real-data floor); the likelihood and speed as for any model. FID and
// its kin are not computed (stackedUnavailable).
func runStacked(ctx context.Context, o Options, set *data.Set) (*Record, error) {
	if o.Samples != "" {
		return nil, usagef("--samples: a folder of Stacked MNIST samples is not supported; evaluate the checkpoint")
	}
	src := set.Info.Source
	if src == nil || src.SHA256 != data.MNISTSHA256 {
		return nil, fmt.Errorf("stacked mnist: the stack's digits are not MNIST's (%s): its modes are counted with the MNIST classifier", set.Info.Name)
	}
	ext, _, err := o.findExtractor(ctx, *src)
	if err != nil {
		return nil, err
	}
	if ext.Model.Image != models.DefaultShape || ext.Model.Classes != 10 {
		return nil, usagef("the feature network %s classifies %s images into %d classes; Stacked MNIST's planes need MNIST's classifier (1x28x28, 10 digits)",
			ext.Path, ext.Model.Image, ext.Model.Classes)
	}
	n := StackedSamples
	if o.NSet {
		n = o.N
	}
	if n < 1 {
		return nil, usagef("--n %d: want at least one sample", n)
	}
	m, cfg := o.Model, o.Config
	if _, ok := m.(models.Conditional); o.Unconditional && !ok {
		return nil, usagef("--unconditional: a %s model has no classes to leave out", cfg.Model.Kind)
	}
	rec := NewRecord(cfg.Model.Kind, ext, o.Seed)
	rec.Checkpoint, rec.Step, rec.Sampler = o.Checkpoint, o.Step, SamplerOf(m)
	rec.Unconditional = o.Unconditional
	rec.Data, rec.Unavailable = NewDataRef(set.Info), stackedUnavailable
	bar := o.bar(n, "sampling")
	imgs, _, speed, err := Generate(m, GenerateOptions{N: n, Seed: o.Seed, Log: o.log(),
		Progress: func(done, _ int) { bar.Set(done) }, Unconditional: o.Unconditional})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	rec.Speed = speed
	modes, err := StackedModesOf(ext, imgs)
	if err != nil {
		return nil, err
	}
	rec.Stacked = NewStackedFigures(modes)
	if !o.NoFloor {
		k := min(n, set.Train.N)
		real := make([][]float32, k)
		for i := range real {
			real[i] = set.Train.Image(i) // the stack's images are random draws already
		}
		if modes, err = StackedModesOf(ext, real); err != nil {
			return nil, err
		}
		rec.StackedFloor = NewStackedFigures(modes)
	}
	if lik, ok := m.(models.Likelihood); ok {
		if err := runLikelihood(o, lik, set.Test, rec); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// printStacked prints the mode figures of a Stacked MNIST record beside
// the real-data floor's.
func printStacked(w io.Writer, r *Record) {
	s, fl := r.Stacked, r.StackedFloor
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	floor := func(f func(*StackedFigures) string) string {
		if fl == nil {
			return "-"
		}
		return f(fl)
	}
	fmt.Fprintf(tw, "\tstacked mnist (N=%d)\tmodel\treal floor\n", s.N)
	fmt.Fprintf(tw, "diversity\tmodes covered\t%d / %d\t%s\n", s.Modes, s.Of, floor(func(f *StackedFigures) string { return fmt.Sprintf("%d / %d", f.Modes, f.Of) }))
	fmt.Fprintf(tw, "\tKL(p || uniform), nats\t%.4f\t%s\n", s.KL, floor(func(f *StackedFigures) string { return fmt.Sprintf("%.4f", f.KL) }))
	tw.Flush()
}
