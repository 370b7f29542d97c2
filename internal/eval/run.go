package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
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
	Samples    string // a folder of 1x28x28 PNGs instead of a model

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
	// Data is the folder of the reference data; "" = the checkpoint's own
	// (its config's data.dir), and MNIST, found as for training, for
	// --samples.
	Data string
	// DataInfo is the identity of the data the checkpoint was trained on, as
	// it records it (nil: it records none); the data found must match it.
	DataInfo *data.Info
	// SkipBad leaves out unreadable image files of the reference data (as
	// does the checkpoint's data.skip_bad).
	SkipBad bool
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

// Sweep is what `eval --sweep-steps` evaluates: each sampler at each
// count.
type Sweep struct {
	// Counts are step counts, or with ByNFE budgets of network evaluations
	// per sample: each sampler then takes the most steps whose NFE fits
	// (Heun at 10 NFE: 5 steps, 9 NFE), so the curves compare at equal cost.
	Counts []int
	ByNFE  bool
	// Samplers are "name" or "name:spacing" (ddim:trailing); none means
	// the model's current sampler. Each starts from the model's current
	// options (guidance, clipping, η, churn where they apply).
	Samplers []string
}

// ParseSweepSamplers reads a --sweep-samplers list such as
// "ddim,dpmpp2m:karras,heun:karras"; the names are checked when used.
func ParseSweepSamplers(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		name, spacing, _ := strings.Cut(f, ":")
		if !slices.Contains(models.Samplers, name) || (spacing != "" && !slices.Contains(models.Spacings, spacing)) {
			return nil, fmt.Errorf("--sweep-samplers %q: %q is not a sampler (%s), optionally :spacing (%s)", s, f,
				strings.Join(models.Samplers, ", "), strings.Join(models.Spacings, ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

// stepsForNFE is the most steps, at most maxSteps, whose NFE under o fits
// budget; 0 when even one step does not.
func stepsForNFE(o models.SamplerOptions, budget, maxSteps int) int {
	best := 0
	for S := 1; S <= maxSteps; S++ {
		o.Steps = S
		if models.SamplerNFE(o) > budget {
			break
		}
		best = S
	}
	return best
}

// RunSweep evaluates a diffusion model with each sampler at each count,
// handing each record to each as it is made, and draws FID against
// seconds per 100 samples into plot, one curve per sampler. The real-data
// floor is computed once, with the first evaluation.
func RunSweep(ctx context.Context, o Options, sw Sweep, plot string, each func(*Record) error) error {
	smp, ok := o.Model.(models.Sampler)
	if !ok {
		return usagef("--sweep-steps: %s has no step count to sweep", o.describe())
	}
	if _, mixture := o.mixture(); mixture {
		return usagef("--sweep-steps plots FID, which 2-D models do not have")
	}
	base := smp.Options()
	samplers := sw.Samplers
	if len(samplers) == 0 {
		samplers = []string{base.Sampler + ":" + base.Spacing}
	}
	T := math.MaxInt // every step costs at least one evaluation: a budget bounds the steps too
	if c, ok := o.Model.(models.Chain); ok {
		T = c.DiffusionSteps()
	}
	var recs []*Record
	noFloor := o.NoFloor
	for _, spec := range samplers {
		name, spacing, _ := strings.Cut(spec, ":")
		for _, n := range sw.Counts {
			opts := base
			opts.Sampler, opts.Steps = name, n
			if spacing != "" {
				opts.Spacing = spacing
			}
			if sw.ByNFE {
				if opts.Steps = stepsForNFE(opts, n, min(n, T)); opts.Steps == 0 {
					return UsageError{fmt.Errorf("--sweep-steps %d NFE: %s cannot take one step within it", n, spec)}
				}
			}
			if err := smp.SetSampler(opts); err != nil {
				return UsageError{fmt.Errorf("--sweep-steps %d, sampler %s: %w", n, spec, err)}
			}
			fmt.Fprintf(o.log(), "sweep: %s sampler, %s spacing, %d steps, %d NFE\n", name, smp.Options().Spacing, opts.Steps, smp.NFE())
			o.NoFloor = noFloor || len(recs) > 0
			rec, err := runImages(ctx, o)
			if err != nil {
				return err
			}
			if rec.Metrics == nil {
				return usagef("--sweep-steps plots FID, which is not measured here: %s", rec.Unavailable)
			}
			if err := each(rec); err != nil {
				return err
			}
			recs = append(recs, rec)
		}
	}
	title := fmt.Sprintf("%s, N=%d", o.Config.Model.Kind, o.N)
	if err := SweepPlot(recs, title, plot); err != nil {
		return err
	}
	fmt.Fprintf(o.log(), "wrote %s\n", plot)
	return nil
}

// runImages measures an image model, or a folder of PNGs, against the test
// set of its reference data in the feature network's space, with the
// real-data floor: the data the checkpoint was trained on (MNIST for
// --samples unless --data says otherwise), never silently another.
func runImages(ctx context.Context, o Options) (*Record, error) {
	set, err := o.referenceData()
	if err != nil {
		return nil, err
	}
	if set.Info.Kind == data.KindStacked {
		return runStacked(ctx, o, set)
	}
	ext, unavailable, err := o.extractor(ctx, set.Info)
	if err != nil {
		return nil, err
	}
	var ref *Reference
	if ext != nil {
		if ref, err = NewReference(ext, set.Test); err != nil {
			return nil, err
		}
	}
	var rec *Record
	if o.Samples != "" {
		if ext == nil {
			return nil, usagef("--samples: %s", unavailable)
		}
		if rec, err = runSamples(o, ext, ref); err != nil {
			return nil, err
		}
	} else if ext == nil {
		// No feature network for this data: the figures that need none.
		if rec, err = runUnscored(o, set.Test); err != nil {
			return nil, err
		}
	} else {
		// One partial of all the samples, merged: the path of a sharded
		// evaluation (partial.go) with a single shard.
		p, err := samplePartial(o, ext, set, shard.Whole)
		if err != nil {
			return nil, err
		}
		if rec, err = mergePartials(ext, ref, []*Partial{p}); err != nil {
			return nil, err
		}
	}
	rec.Data = NewDataRef(set.Info)
	if ext == nil {
		rec.Unavailable = unavailable
		return rec, nil
	}
	return rec, addFloor(o, ext, ref, set, rec)
}

// addFloor warns when the feature network was trained on other data than
// the reference, and adds the real-data floor to rec unless o.NoFloor:
// rec.N training images scored the same way.
func addFloor(o Options, ext *Extractor, ref *Reference, set *data.Set, rec *Record) error {
	if tr := ext.TrainedOn; tr != nil && tr.SHA256 != set.Info.SHA256 {
		rec.Warnings = append(rec.Warnings, fmt.Sprintf("the feature network %s was trained on %s, not on the reference data %s", ext.Path, tr.Name, set.Info.Name))
	}
	if o.NoFloor {
		return nil
	}
	fl, warns, err := Floor(ext, ref, set.Train, rec.N, rec.Seed)
	if err != nil {
		return fmt.Errorf("real-data floor: %w", err)
	}
	rec.Floor = &fl
	rec.Warnings = append(rec.Warnings, prefixAll("real floor: ", warns)...)
	return nil
}

// shape is the image shape evaluated: the checkpoint's, 1x28x28 for
// --samples.
func (o *Options) shape() models.Shape {
	if o.Config != nil {
		if s := models.ShapeOf(o.Config); s != (models.Shape{}) {
			return s
		}
	}
	return models.DefaultShape
}

// referenceData loads the data to compare with: --data, else the
// checkpoint's data.dir (MNIST when both are empty), checked against the
// identity the checkpoint records.
func (o *Options) referenceData() (*data.Set, error) {
	dir, skipBad := o.Data, o.SkipBad
	if o.Config != nil {
		skipBad = skipBad || o.Config.Data.SkipBad
		if dir == "" {
			dir = o.Config.Data.Dir
		}
	}
	img := o.shape()
	dataset := ""
	if o.Config != nil {
		dataset = o.Config.Data.Dataset
	}
	set, err := data.LoadDataset(dataset, dir, data.LoadOptions{Channels: img.C, Height: img.H, Width: img.W, SkipBad: skipBad})
	if err != nil {
		return nil, fmt.Errorf("reference data: %w", err)
	}
	if want := o.DataInfo; want != nil && want.SHA256 != set.Info.SHA256 {
		return nil, fmt.Errorf("reference data: %s holds %s (content hash %s), but %s was trained on %s (content hash %s, then in %s): pass the original data with --data",
			set.Info.Dir, set.Info.Name, set.Info.Short(), o.Checkpoint, want.Name, want.Short(), want.Dir)
	}
	return set, nil
}

func runSamples(o Options, ext *Extractor, ref *Reference) (*Record, error) {
	img := o.shape()
	imgs, err := LoadPNGDir(o.Samples, img.C, img.H, img.W)
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

// runUnscored draws a model's samples where no feature network exists for
// its data (unlabelled data): their speed and the likelihood, no image
// figures.
func runUnscored(o Options, test *data.Dataset) (*Record, error) {
	m, cfg := o.Model, o.Config
	rec := NewRecord(cfg.Model.Kind, nil, o.Seed) // no image figures (Unavailable)
	if o.Unconditional {
		if _, ok := m.(models.Conditional); !ok {
			return nil, usagef("--unconditional: a %s model has no classes to leave out", cfg.Model.Kind)
		}
		if smp, ok := m.(models.Sampler); ok && smp.Options().Guidance != 0 {
			return nil, usagef("--guidance needs a class: classifier-free guidance pushes each sample towards its label")
		}
	}
	rec.Checkpoint, rec.Step, rec.Sampler = o.Checkpoint, o.Step, SamplerOf(m)
	rec.Unconditional = o.Unconditional
	bar := o.bar(o.N, "sampling")
	_, _, speed, err := Generate(m, GenerateOptions{N: o.N, Seed: o.Seed, Log: o.log(),
		Progress: func(done, _ int) { bar.Set(done) }, Unconditional: o.Unconditional})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	rec.Speed = speed
	if lik, ok := m.(models.Likelihood); ok {
		if err := runLikelihood(o, lik, test, rec); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// SamplerOf states a diffusion model's sampler settings; nil for others.
func SamplerOf(m models.Model) *Sampler {
	smp, ok := m.(models.Sampler)
	if !ok {
		return nil
	}
	so := smp.Options()
	return &Sampler{Name: so.Sampler, Steps: so.Steps, Eta: so.Eta, Variance: so.Variance, Guidance: so.Guidance,
		Spacing: so.Spacing, NFE: smp.NFE(), Churn: so.Churn, SNoise: so.SNoise, STmin: so.STmin, STmax: so.STmax}
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

// mnistTrainImages is the size of MNIST's training split, which the
// feature network's default config (configs/classifier.yaml) is sized for.
const mnistTrainImages = 60000

// extractor returns the feature network for the reference data info:
// o.Extractor when given; else the classifier cached for that data, trained
// on first use. MNIST's is cached in CacheDir() itself; any other data's
// under CacheDir()/data-<first 16 hex of its content hash>. Data without
// labels (or with one class) has none: then ext is nil and unavailable says
// which figures are missing and why.
func (o *Options) extractor(ctx context.Context, info data.Info) (ext *Extractor, unavailable string, err error) {
	ext, unavailable, err = o.findExtractor(ctx, info)
	if err == nil && ext != nil && ext.Model.Image != o.shape() {
		return nil, "", usagef("the feature network %s classifies %s images, but the images here are %s", ext.Path, ext.Model.Image, o.shape())
	}
	return ext, unavailable, err
}

// findExtractor is extractor without the check of the network's shape.
func (o *Options) findExtractor(ctx context.Context, info data.Info) (ext *Extractor, unavailable string, err error) {
	if o.Extractor != "" {
		ext, err := OpenExtractor(o.Extractor)
		return ext, "", err
	}
	mnist := info.SHA256 == data.MNISTSHA256
	dir := CacheDir()
	if !mnist {
		if len(info.Classes) < 2 {
			why := "it has no labels (a folder of images without class sub-folders)"
			if info.Labelled() {
				why = "it has a single class"
			}
			return nil, fmt.Sprintf("FID, KID, precision, recall, density, coverage, IS and the class figures: they use a feature network, "+
				"a classifier trained on the labels of the data %s (%s), and %s; give its images class sub-folders, or pass --extractor with a classifier checkpoint", info.Name, info.Dir, why), nil
		}
		dir = filepath.Join(dir, "data-"+info.Short())
	}
	ext, err = LoadCachedExtractor(dir)
	if err == nil && ext.TrainedOn == nil && mnist {
		// MNIST's cache predates checkpoints that record their data, but it
		// only ever held classifiers trained on MNIST.
		ext.TrainedOn = &info
	}
	if !errors.Is(err, ErrNoExtractor) {
		return ext, "", err
	}
	if o.TrainClassifier == nil {
		return nil, "", fmt.Errorf("no feature network in %s, and no way to train one here", dir)
	}
	cfg, err := models.LoadConfig("classifier", "", nil)
	if err != nil {
		return nil, "", err
	}
	if mnist {
		fmt.Fprintf(o.log(), "no feature network in %s: training gentri's MNIST classifier once (configs/classifier.yaml)\n", dir)
		if o.Data != "" {
			cfg.Data.Dir = o.Data
		}
	} else {
		featureConfig(cfg, info, o.SkipBad || o.Config != nil && o.Config.Data.SkipBad)
		fmt.Fprintf(o.log(), "no feature network for %s in %s: training gentri's classifier on its %d classes once (configs/classifier.yaml, %d steps of %d)\n",
			info.Name, dir, len(info.Classes), cfg.Train.Steps, cfg.Train.BatchSize)
	}
	ckpt, ev, err := o.TrainClassifier(ctx, cfg, filepath.Join(dir, "classifier-training"))
	if err != nil {
		return nil, "", fmt.Errorf("training the feature network: %w", err)
	}
	for _, e := range ev {
		if e.Name != "test_accuracy" {
			continue
		}
		if mnist && e.Value < 0.99 {
			fmt.Fprintf(o.log(), "warning: the feature network's test accuracy is %.4f, below 0.99\n", e.Value)
		} else if !mnist {
			fmt.Fprintf(o.log(), "the feature network's test accuracy on %s: %.4f\n", info.Name, e.Value)
		}
	}
	ext, err = InstallExtractor(ckpt, dir)
	return ext, "", err
}

// featureConfig adapts the MNIST classifier's config to other data: its
// folder and classes, batches no larger than the training split, and as
// many epochs as MNIST's classifier trains for (at most its steps), so a
// small data set trains in proportion.
func featureConfig(cfg *config.Config, info data.Info, skipBad bool) {
	t := &cfg.Train
	epochs := float64(t.Steps*t.BatchSize) / mnistTrainImages
	t.BatchSize = min(t.BatchSize, info.Train)
	t.Steps = min(t.Steps, max(1, int(math.Ceil(epochs*float64(info.Train)/float64(t.BatchSize)))))
	cfg.Data.Dir, cfg.Data.SkipBad = info.Dir, skipBad
	cfg.Data.Channels, cfg.Data.Size = max(info.Channels, 1), info.Height
	cfg.Own.(*models.ClassifierConfig).Classes = len(info.Classes)
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}
