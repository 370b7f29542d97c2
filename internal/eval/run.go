package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
	"github.com/gentri/gentri/internal/sample"
	"github.com/gentri/gentri/internal/shard"
)

// Options say what Run evaluates and how: a checkpoint's model (Model,
// Config) or a folder of PNGs (Samples).
type Options struct {
	Model      models.Model
	Config     *config.Config
	Checkpoint string // where Model came from, for the record and the plots
	Step       int
	Samples    string // a folder of 28x28 PNGs instead of a model

	N          int
	NSet       bool // N was chosen: 2-D models otherwise draw MixtureSamples
	Seed       uint64
	NoFloor    bool // skip the real-data floor
	IWAEK      int  // likelihood models: importance samples per image (0 = skip the IWAE)
	IWAEImages int
	// Unconditional samples a conditional model without a class.
	Unconditional bool
	// Plot is the scatter plot of a 2-D model's samples ("" = beside the
	// checkpoint).
	Plot string

	// Extractor is a classifier checkpoint to use as the feature network;
	// "" = the cached one, trained with TrainClassifier on first use.
	Extractor string
	// Data is the folder of MNIST's IDX files ("" = found as for training).
	Data string
	// TrainClassifier trains the feature network from cfg in runDir and
	// returns its checkpoint and held-out figures (train.Run, which
	// imports this package, so the command supplies it).
	TrainClassifier func(ctx context.Context, cfg *config.Config, runDir string) (checkpoint string, eval []models.Metric, err error)

	Log      io.Writer                        // messages; nil = none
	Progress func(total int, what string) Bar // progress bars; nil = none
}

// Bar is a progress bar.
type Bar interface {
	Set(n int) error
	Finish() error
}

type noBar struct{}

func (noBar) Set(int) error { return nil }
func (noBar) Finish() error { return nil }

func (o *Options) bar(total int, what string) Bar {
	if o.Progress == nil {
		return noBar{}
	}
	return o.Progress(total, what)
}

func (o *Options) log() io.Writer {
	if o.Log == nil {
		return io.Discard
	}
	return o.Log
}

// UsageError marks an error in the options (a flag that does not fit the
// model), as opposed to a failure while evaluating.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error { return UsageError{fmt.Errorf(format, a...)} }

// IsMixture reports whether the options evaluate a 2-D model on its mixture.
func (o *Options) mixture() (data.Mixture, bool) {
	if o.Config == nil {
		return data.Mixture{}, false
	}
	return data.MixtureByName(o.Config.Data.Dataset)
}

// describe names what is evaluated, for messages.
func (o *Options) describe() string {
	if o.Model == nil {
		return "--samples " + o.Samples
	}
	return fmt.Sprintf("%s (a %s model)", o.Checkpoint, o.Config.Model.Kind)
}

// Run evaluates one model or folder of samples: a 2-D model on the modes of
// its mixture; anything else on quality, diversity, likelihood (models with
// the Likelihood capability) and speed against MNIST's test set in the
// feature network's space, with the real-data floor.
func Run(ctx context.Context, o Options) (*Record, error) {
	if mix, ok := o.mixture(); ok {
		return runMixture(o, mix)
	}
	if o.Plot != "" {
		return nil, usagef("--plot draws the samples of a 2-D model (%s); %s is not one", strings.Join(models.Schema.PointKinds(), ", "), o.describe())
	}
	return runImages(ctx, o)
}

// RunSweep evaluates a diffusion model at each step count, handing each
// record to each as it is made, and draws FID against seconds per 100
// samples into plot. The real-data floor is computed once, with the first count.
func RunSweep(ctx context.Context, o Options, steps []int, plot string, each func(*Record) error) error {
	smp, ok := o.Model.(models.Sampler)
	if !ok {
		return usagef("--sweep-steps: %s has no step count to sweep", o.describe())
	}
	if _, mixture := o.mixture(); mixture {
		return usagef("--sweep-steps plots FID, which 2-D models do not have")
	}
	var recs []*Record
	noFloor := o.NoFloor
	for i, n := range steps {
		opts := smp.Options()
		opts.Steps = n
		if err := smp.SetSampler(opts); err != nil {
			return UsageError{fmt.Errorf("--sweep-steps %d: %w", n, err)}
		}
		fmt.Fprintf(o.log(), "sweep: %s sampler, %d steps\n", opts.Sampler, n)
		o.NoFloor = noFloor || i > 0
		rec, err := runImages(ctx, o)
		if err != nil {
			return err
		}
		if err := each(rec); err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	title := fmt.Sprintf("%s %s, N=%d", o.Config.Model.Kind, smp.Options().Sampler, o.N)
	if err := SweepPlot(recs, title, plot); err != nil {
		return err
	}
	fmt.Fprintf(o.log(), "wrote %s\n", plot)
	return nil
}

// runImages measures an image model, or a folder of PNGs, against MNIST's
// test set in the feature network's space, with the real-data floor.
func runImages(ctx context.Context, o Options) (*Record, error) {
	ext, err := o.extractor(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := data.MNISTDir(o.Data)
	if err != nil {
		return nil, err
	}
	test, err := data.LoadIDXDir(dir, "test")
	if err != nil {
		return nil, err
	}
	ref, err := NewReference(ext, test)
	if err != nil {
		return nil, err
	}
	var rec *Record
	if o.Samples != "" {
		if rec, err = runSamples(o, ext, ref); err != nil {
			return nil, err
		}
	} else {
		// One partial of all the samples, merged: the path of a sharded
		// evaluation (partial.go) with a single shard.
		p, err := samplePartial(o, ext, test, shard.Whole)
		if err != nil {
			return nil, err
		}
		if rec, err = mergePartials(ext, ref, []*Partial{p}); err != nil {
			return nil, err
		}
	}
	return rec, addFloor(o, ext, ref, dir, rec)
}

// addFloor adds the real-data floor to rec unless o.NoFloor: rec.N
// training images scored the same way.
func addFloor(o Options, ext *Extractor, ref *Reference, dir string, rec *Record) error {
	if o.NoFloor {
		return nil
	}
	trainSet, err := data.LoadIDXDir(dir, "train")
	if err != nil {
		return err
	}
	fl, warns, err := Floor(ext, ref, trainSet, rec.N, rec.Seed)
	if err != nil {
		return fmt.Errorf("real-data floor: %w", err)
	}
	rec.Floor = &fl
	rec.Warnings = append(rec.Warnings, prefixAll("real floor: ", warns)...)
	return nil
}

func runSamples(o Options, ext *Extractor, ref *Reference) (*Record, error) {
	imgs, err := LoadPNGDir(o.Samples, models.Height, models.Width)
	if err != nil {
		return nil, UsageError{err}
	}
	rec := NewRecord("samples", ext, o.Seed)
	rec.SamplesDir = o.Samples
	m, warns, err := Score(ext, ref, imgs, nil, o.Seed)
	if err != nil {
		return nil, err
	}
	rec.Metrics, rec.Warnings = &m, warns
	return rec, nil
}

// SamplerOf states a diffusion model's sampler settings; nil for others.
func SamplerOf(m models.Model) *Sampler {
	smp, ok := m.(models.Sampler)
	if !ok {
		return nil
	}
	so := smp.Options()
	return &Sampler{Name: so.Sampler, Steps: so.Steps, Eta: so.Eta, Variance: so.Variance, Guidance: so.Guidance}
}

// runMixture measures a 2-D model on its mixture (docs/metrics.md §6.2):
// N points (MixtureSamples unless NSet) from seeds seed..seed+N−1 give the
// modes captured, the share of high-quality samples, the reverse KL of the
// HQ mode histogram and the well-covered modes, plus the sampling speed
// (§8) and a scatter plot over the true modes. No feature network, no MNIST.
func runMixture(o Options, mix data.Mixture) (*Record, error) {
	if o.Unconditional {
		return nil, usagef("--unconditional: a %s model has no classes to leave out", o.Config.Model.Kind)
	}
	n := MixtureSamples
	if o.NSet {
		n = o.N
	}
	rec := NewRecord(o.Config.Model.Kind, nil, o.Seed)
	rec.Checkpoint, rec.Step, rec.Sampler = o.Checkpoint, o.Step, SamplerOf(o.Model)
	bar := o.bar(n, "sampling")
	rows, _, speed, err := Generate(o.Model, GenerateOptions{N: n, Seed: o.Seed, Log: o.log(),
		Progress: func(done, _ int) { bar.Set(done) }})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	points, err := data.PointsOf(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Checkpoint, err)
	}
	rec.Speed, rec.Modes = speed, NewModeFigures(mix, points)
	rec.Plot = o.Plot
	if rec.Plot == "" {
		rec.Plot = strings.TrimSuffix(o.Checkpoint, filepath.Ext(o.Checkpoint)) + "-modes.png"
	}
	if err := sample.WritePNG(rec.Plot, sample.Scatter(points, mix.Means, HighQualityStds*mix.Std)); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.log(), "wrote %s\n", rec.Plot)
	return rec, nil
}

// runLikelihood adds the likelihood figures (docs/metrics.md §7): the
// test-set negative ELBO and the importance-weighted NLL on a fixed subset.
func runLikelihood(o Options, m models.Likelihood, test *data.Dataset, rec *Record) error {
	if o.Config.Data.Binarize == "dynamic" {
		test = test.Binarized(rng.New(0, models.StreamEval))
	} else {
		rec.Warnings = append(rec.Warnings, o.Config.Model.Kind+" trained on grey values: its ELBO and IWAE figures are losses, not likelihoods (docs/metrics.md §7)")
	}
	nelbo, err := m.NELBO(test)
	if err != nil {
		return err
	}
	rec.TestNELBO = &nelbo
	if o.IWAEK <= 0 {
		return nil
	}
	n := min(o.IWAEImages, test.N)
	imgs := make([][]float32, n)
	for i := range imgs {
		imgs[i] = test.Image(i)
	}
	bar := o.bar(n, fmt.Sprintf("iwae k=%d", o.IWAEK))
	nll, err := m.IWAE(imgs, o.IWAEK, rng.New(o.Seed, models.StreamEval), func(done, _ int) { bar.Set(done) })
	bar.Finish()
	if err != nil {
		return err
	}
	rec.IWAENLL, rec.IWAEK, rec.IWAEImages = &nll, o.IWAEK, n
	return nil
}

// extractor returns the feature network: o.Extractor, the cached one, or
// (first use) gentri's classifier trained now and cached by weight hash.
func (o *Options) extractor(ctx context.Context) (*Extractor, error) {
	if o.Extractor != "" {
		return OpenExtractor(o.Extractor)
	}
	dir := CacheDir()
	ext, err := LoadCachedExtractor(dir)
	if !errors.Is(err, ErrNoExtractor) {
		return ext, err
	}
	if o.TrainClassifier == nil {
		return nil, fmt.Errorf("no feature network in %s, and no way to train one here", dir)
	}
	fmt.Fprintf(o.log(), "no feature network in %s: training gentri's MNIST classifier once (configs/classifier.yaml)\n", dir)
	cfg, err := models.LoadConfig("classifier", "", nil)
	if err != nil {
		return nil, err
	}
	if o.Data != "" {
		cfg.Data.Dir = o.Data
	}
	ckpt, ev, err := o.TrainClassifier(ctx, cfg, filepath.Join(dir, "classifier-training"))
	if err != nil {
		return nil, fmt.Errorf("training the feature network: %w", err)
	}
	for _, e := range ev {
		if e.Name == "test_accuracy" && e.Value < 0.99 {
			fmt.Fprintf(o.log(), "warning: the feature network's test accuracy is %.4f, below 0.99\n", e.Value)
		}
	}
	return InstallExtractor(ckpt, dir)
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}
