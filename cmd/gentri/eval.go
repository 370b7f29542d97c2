package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
	"github.com/gentri/gentri/internal/sample"
	"github.com/gentri/gentri/internal/train"
)

// exitGate is the exit code when a --fail-if gate holds.
const exitGate = 4

// gateError reports failed gates (exit 4).
type gateError struct{ failed []eval.Gate }

func (e gateError) Error() string {
	var s []string
	for _, g := range e.failed {
		s = append(s, g.Text)
	}
	return "gate failed: " + strings.Join(s, ", ")
}

// evalOptions are the flags of `gentri eval`.
type evalOptions struct {
	Checkpoint, Model, Samples, Extractor, Data, RunsRoot string
	N, IWAEK, IWAEImages                                  int
	Seed                                                  uint64
	Gates                                                 []string
	NoFloor, Quiet, JSON, Unconditional                   bool
	sampler                                               *samplerFlags
	Plot                                                  string // 2-D models: the scatter plot to write
	Sweep, SweepPlot                                      string // diffusion: step counts, and the FID-vs-time plot
	NSet                                                  bool   // --n was given
}

func newEvalCmd(s streams) *cobra.Command {
	o := evalOptions{RunsRoot: "runs"}
	c := &cobra.Command{
		Use:   "eval",
		Short: "Measure a model (or a folder of PNGs) on quality, diversity and speed against MNIST's test set",
		Example: `  gentri eval --checkpoint runs/0002-cgan/ckpt-00006000.safetensors
  gentri eval --model vae --json
  gentri eval --model cgan --fail-if 'fid>30' --fail-if 'class_accuracy<0.95'
  gentri eval --samples other-tool-samples/
  gentri eval --model ddpm2d --fail-if 'modes.captured<8'    # a 2-D model: modes, % high quality, reverse KL`,
		RunE: func(c *cobra.Command, _ []string) error {
			o.NSet = c.Flags().Changed("n")
			return runEval(c.Context(), o, s)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint to evaluate (default: the newest under runs/)")
	f.StringVar(&o.Model, "model", "", "with no --checkpoint: the newest checkpoint of this kind")
	f.StringVar(&o.Samples, "samples", "", "evaluate a folder of 28x28 PNGs instead of a checkpoint")
	f.IntVar(&o.N, "n", 2000, "number of samples (and of real images for the floor and precision/recall); 2-D models: 2500 unless given")
	f.Uint64Var(&o.Seed, "seed", 0, "first sample seed; sample i uses seed+i")
	f.StringArrayVar(&o.Gates, "fail-if", nil, "exit 4 if a figure passes a bound, e.g. 'fid>30', 'recall<0.5', 'speed.samples_per_s<100' (repeatable)")
	f.BoolVar(&o.Unconditional, "unconditional", false, "conditional models: sample without a class (the DDPM's \"no class\" label; a uniform class for the cGAN), so no class accuracy")
	f.BoolVar(&o.NoFloor, "no-floor", false, "skip the real-data floor (N training images scored the same way)")
	f.IntVar(&o.IWAEK, "iwae-k", 5000, "VAE: importance samples per image for the IWAE likelihood (0 = skip)")
	f.IntVar(&o.IWAEImages, "iwae-images", 1000, "VAE: test images (a fixed subset) for the IWAE likelihood")
	f.StringVar(&o.Extractor, "extractor", "", "classifier checkpoint to use as the feature network (default: the cached one, trained on first use)")
	f.StringVar(&o.Data, "data", "", "folder of MNIST IDX files (default: found as for training)")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress bars or messages on stderr")
	f.BoolVar(&o.JSON, "json", false, "print one JSON record on stdout instead of the table")
	f.StringVar(&o.Sweep, "sweep-steps", "", "diffusion models: evaluate at each of these step counts, e.g. 10,20,50,100,1000 (one record each)")
	f.StringVar(&o.SweepPlot, "sweep-plot", "", "with --sweep-steps: the FID-vs-seconds PNG (default: <checkpoint>-sweep.png)")
	f.StringVar(&o.Plot, "plot", "", "2-D models: scatter plot PNG of the samples over the true modes (default: beside the checkpoint, <checkpoint>-modes.png)")
	o.sampler = addSamplerFlags(f)
	return c
}

func runEval(ctx context.Context, o evalOptions, s streams) error {
	if o.N < 2 {
		return usagef("--n must be at least 2, got %d", o.N)
	}
	gates := make([]eval.Gate, len(o.Gates))
	for i, g := range o.Gates {
		var err error
		if gates[i], err = eval.ParseGate(g); err != nil {
			return usageError{err}
		}
	}
	logw := io.Discard
	if !o.Quiet {
		logw = s.Err
	}
	var ck *opened
	if o.Samples == "" {
		var err error
		if ck, err = openForEval(&o, logw); err != nil {
			return err
		}
	}
	if o.Sweep != "" {
		return runSweep(ctx, o, s, ck, gates, logw)
	}
	var rec *eval.Record
	var err error
	if mix, ok := data.MixtureByName(ck.dataset()); ok {
		rec, err = evalMixture(o, s, ck, mix, logw)
	} else if o.Plot != "" {
		return usagef("--plot draws the samples of a 2-D model (gan2d, vae2d, ddpm2d); %s is not one", ck.describe(o))
	} else {
		rec, err = evalImages(ctx, o, s, ck, logw)
	}
	if err != nil {
		return err
	}
	failed, err := eval.CheckGates(rec, gates)
	if err != nil {
		return usageError{err}
	}
	if err := output(o, s, rec); err != nil {
		return err
	}
	if len(failed) > 0 {
		return gateError{failed}
	}
	return nil
}

// output prints one record: JSON with --json, else a table.
func output(o evalOptions, s streams, rec *eval.Record) error {
	switch {
	case o.JSON:
		return json.NewEncoder(s.Out).Encode(jsonSafe(rec))
	case rec.Modes != nil:
		printModes(s.Out, rec)
	default:
		printRecord(s.Out, rec)
	}
	return nil
}

// runSweep evaluates a diffusion model at each --sweep-steps count (one
// record each, JSON lines with --json) and draws FID against seconds per
// 100 samples. The real-data floor is computed once, with the first count.
func runSweep(ctx context.Context, o evalOptions, s streams, ck *opened, gates []eval.Gate, logw io.Writer) error {
	steps, err := eval.ParseSteps(o.Sweep)
	if err != nil {
		return usageError{err}
	}
	smp, ok := ck.m.(models.Sampler)
	if !ok {
		return usagef("--sweep-steps: %s has no step count to sweep", ck.describe(o))
	}
	if _, mixture := data.MixtureByName(ck.dataset()); mixture {
		return usagef("--sweep-steps plots FID, which 2-D models do not have")
	}
	var recs []*eval.Record
	var failed []eval.Gate
	for i, n := range steps {
		opts := smp.Options()
		opts.Steps = n
		if err := smp.SetSampler(opts); err != nil {
			return usageError{fmt.Errorf("--sweep-steps %d: %w", n, err)}
		}
		fmt.Fprintf(logw, "sweep: %s sampler, %d steps\n", opts.Sampler, n)
		oi := o
		oi.NoFloor = o.NoFloor || i > 0
		rec, err := evalImages(ctx, oi, s, ck, logw)
		if err != nil {
			return err
		}
		f, err := eval.CheckGates(rec, gates)
		if err != nil {
			return usageError{err}
		}
		failed = append(failed, f...)
		if err := output(o, s, rec); err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	path := o.SweepPlot
	if path == "" {
		path = strings.TrimSuffix(o.Checkpoint, ".safetensors") + "-sweep.png"
	}
	title := fmt.Sprintf("%s %s, N=%d", ck.cfg.Model.Kind, smp.Options().Sampler, o.N)
	if err := eval.SweepPlot(recs, title, path); err != nil {
		return err
	}
	fmt.Fprintf(logw, "wrote %s\n", path)
	if len(failed) > 0 {
		return gateError{failed}
	}
	return nil
}

// opened is the checkpoint under evaluation; nil with --samples.
type opened struct {
	m    models.Model
	cfg  *config.Config
	step int
}

func (ck *opened) dataset() string {
	if ck == nil {
		return ""
	}
	return ck.cfg.Data.Dataset
}

func (ck *opened) describe(o evalOptions) string {
	if ck == nil {
		return "--samples " + o.Samples
	}
	return fmt.Sprintf("%s (a %s model)", o.Checkpoint, ck.cfg.Model.Kind)
}

// openForEval opens --checkpoint (default: the newest under runs/, of
// --model's kind), checks --model and applies the sampler flags.
func openForEval(o *evalOptions, logw io.Writer) (*opened, error) {
	if o.Checkpoint == "" {
		p, err := train.LatestCheckpoint(o.RunsRoot, o.Model)
		if err != nil {
			return nil, usageError{err}
		}
		o.Checkpoint = p
		fmt.Fprintf(logw, "using the newest checkpoint: %s\n", p)
	}
	m, cfg, f, err := models.Open(o.Checkpoint, false)
	if err != nil {
		return nil, err
	}
	if o.Model != "" && o.Model != cfg.Model.Kind {
		return nil, usagef("--model %s, but %s is a %s checkpoint", o.Model, o.Checkpoint, cfg.Model.Kind)
	}
	if err := o.sampler.apply(m); err != nil {
		return nil, err
	}
	_, step, _ := models.Describe(f, o.Checkpoint)
	return &opened{m: m, cfg: cfg, step: step}, nil
}

// evalImages measures an image model, or a folder of PNGs, against MNIST's
// test set in the feature network's space, with the real-data floor.
func evalImages(ctx context.Context, o evalOptions, s streams, ck *opened, logw io.Writer) (*eval.Record, error) {
	ext, err := extractor(ctx, o, s, logw)
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
	ref, err := eval.NewReference(ext, test)
	if err != nil {
		return nil, err
	}
	var rec *eval.Record
	if o.Samples != "" {
		if rec, err = evalSamples(o, ext, ref); err != nil {
			return nil, err
		}
	} else if rec, err = evalModel(o, s, ck, ext, ref, test, logw); err != nil {
		return nil, err
	}
	if !o.NoFloor {
		trainSet, err := data.LoadIDXDir(dir, "train")
		if err != nil {
			return nil, err
		}
		fl, warns, err := eval.Floor(ext, ref, trainSet, rec.N, o.Seed)
		if err != nil {
			return nil, fmt.Errorf("real-data floor: %w", err)
		}
		rec.Floor = &fl
		rec.Warnings = append(rec.Warnings, prefixAll("real floor: ", warns)...)
	}
	return rec, nil
}

func evalSamples(o evalOptions, ext *eval.Extractor, ref *eval.Reference) (*eval.Record, error) {
	imgs, err := eval.LoadPNGDir(o.Samples, models.Height, models.Width)
	if err != nil {
		return nil, usageError{err}
	}
	rec := eval.NewRecord("samples", ext, o.Seed)
	rec.SamplesDir = o.Samples
	m, warns, err := eval.Score(ext, ref, imgs, nil, o.Seed)
	if err != nil {
		return nil, err
	}
	rec.Metrics, rec.Warnings = &m, warns
	return rec, nil
}

func evalModel(o evalOptions, s streams, ck *opened, ext *eval.Extractor, ref *eval.Reference, test *data.Dataset, logw io.Writer) (*eval.Record, error) {
	m, cfg := ck.m, ck.cfg
	rec := eval.NewRecord(cfg.Model.Kind, ext, o.Seed)
	if o.Unconditional {
		if _, ok := m.(models.Conditional); !ok {
			return nil, usagef("--unconditional: a %s model has no classes to leave out", cfg.Model.Kind)
		}
		if guidanceOf(m) != 0 {
			return nil, usagef("--guidance needs a class: classifier-free guidance pushes each sample towards its label")
		}
	}
	rec.Checkpoint, rec.Step, rec.Sampler = o.Checkpoint, ck.step, samplerRecord(m)
	rec.Unconditional = o.Unconditional
	bar := progress(s, o.Quiet, o.N, "sampling")
	imgs, labels, speed, err := eval.Generate(m, eval.GenerateOptions{N: o.N, Seed: o.Seed, Log: logw,
		Progress: func(done, _ int) { bar.Set(done) }, Unconditional: o.Unconditional})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	rec.Speed = speed
	metrics, warns, err := eval.Score(ext, ref, imgs, labels, o.Seed)
	if err != nil {
		return nil, err
	}
	rec.Metrics, rec.Warnings = &metrics, warns
	if vae, ok := m.(*models.VAEModel); ok {
		if err := evalVAE(o, s, vae, cfg, test, rec); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// samplerRecord states a diffusion model's sampler settings; nil for others.
func samplerRecord(m models.Model) *eval.Sampler {
	smp, ok := m.(models.Sampler)
	if !ok {
		return nil
	}
	so := smp.Options()
	return &eval.Sampler{Name: so.Sampler, Steps: so.Steps, Eta: so.Eta, Variance: so.Variance, Guidance: so.Guidance}
}

// evalMixture measures a 2-D model on its mixture (docs/metrics.md §6.2):
// N points (2500 unless --n) from seeds seed..seed+N−1 give the modes
// captured, the share of high-quality samples, the reverse KL of the HQ
// mode histogram and the well-covered modes, plus the sampling speed (§8)
// and a scatter plot over the true modes. No feature network, no MNIST.
func evalMixture(o evalOptions, s streams, ck *opened, mix data.Mixture, logw io.Writer) (*eval.Record, error) {
	if o.Unconditional {
		return nil, usagef("--unconditional: a %s model has no classes to leave out", ck.cfg.Model.Kind)
	}
	n := eval.MixtureSamples
	if o.NSet {
		n = o.N
	}
	rec := eval.NewRecord(ck.cfg.Model.Kind, nil, o.Seed)
	rec.Checkpoint, rec.Step, rec.Sampler = o.Checkpoint, ck.step, samplerRecord(ck.m)
	bar := progress(s, o.Quiet, n, "sampling")
	rows, _, speed, err := eval.Generate(ck.m, eval.GenerateOptions{N: n, Seed: o.Seed, Log: logw,
		Progress: func(done, _ int) { bar.Set(done) }})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	points, err := data.PointsOf(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Checkpoint, err)
	}
	rec.Speed, rec.Modes = speed, eval.NewModeFigures(mix, points)
	rec.Plot = o.Plot
	if rec.Plot == "" {
		rec.Plot = strings.TrimSuffix(o.Checkpoint, filepath.Ext(o.Checkpoint)) + "-modes.png"
	}
	if err := sample.WritePNG(rec.Plot, sample.Scatter(points, mix.Means, eval.HighQualityStds*mix.Std)); err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "wrote %s\n", rec.Plot)
	return rec, nil
}

// evalVAE adds the likelihood figures (docs/metrics.md §7): the test-set
// negative ELBO and the importance-weighted NLL on a fixed subset.
func evalVAE(o evalOptions, s streams, m *models.VAEModel, cfg *config.Config, test *data.Dataset, rec *eval.Record) error {
	if cfg.Data.Binarize == "dynamic" {
		test = test.Binarized(rng.New(0, models.StreamEval))
	} else {
		rec.Warnings = append(rec.Warnings, "vae trained on grey values: its ELBO and IWAE figures are losses, not likelihoods (docs/metrics.md §7)")
	}
	ev, err := m.Evaluate(test)
	if err != nil {
		return err
	}
	for _, e := range ev {
		if e.Name == "test_nelbo" {
			v := e.Value
			rec.TestNELBO = &v
		}
	}
	if o.IWAEK <= 0 {
		return nil
	}
	n := min(o.IWAEImages, test.N)
	imgs := make([][]float32, n)
	for i := range imgs {
		imgs[i] = test.Image(i)
	}
	bar := progress(s, o.Quiet, n, fmt.Sprintf("iwae k=%d", o.IWAEK))
	nll, err := m.IWAE(imgs, o.IWAEK, rng.New(o.Seed, models.StreamEval), func(done, _ int) { bar.Set(done) })
	bar.Finish()
	if err != nil {
		return err
	}
	rec.IWAENLL, rec.IWAEK, rec.IWAEImages = &nll, o.IWAEK, n
	return nil
}

// extractor returns the feature network: --extractor, the cached one, or
// (first use) gentri's classifier trained now and cached by weight hash.
func extractor(ctx context.Context, o evalOptions, s streams, logw io.Writer) (*eval.Extractor, error) {
	if o.Extractor != "" {
		return eval.OpenExtractor(o.Extractor)
	}
	dir := eval.CacheDir()
	ext, err := eval.LoadCachedExtractor(dir)
	if !errors.Is(err, eval.ErrNoExtractor) {
		return ext, err
	}
	fmt.Fprintf(logw, "no feature network in %s: training gentri's MNIST classifier once (configs/classifier.yaml)\n", dir)
	cfg, err := config.Load("classifier", "", nil)
	if err != nil {
		return nil, err
	}
	if o.Data != "" {
		cfg.Data.Dir = o.Data
	}
	topts := train.Options{Config: cfg, RunDir: filepath.Join(dir, "classifier-training")}
	if !o.Quiet {
		topts.Log = s.Err
		if s.ErrTTY {
			topts.Progress = s.Err
		}
	}
	res, err := train.Run(ctx, topts)
	if err != nil {
		return nil, fmt.Errorf("training the feature network: %w", err)
	}
	for _, e := range res.Eval {
		if e.Name == "test_accuracy" && e.Value < 0.99 {
			fmt.Fprintf(logw, "warning: the feature network's test accuracy is %.4f, below 0.99\n", e.Value)
		}
	}
	return eval.InstallExtractor(res.Checkpoint, dir)
}

func progress(s streams, quiet bool, total int, what string) *progressbar.ProgressBar {
	if quiet || !s.ErrTTY {
		return progressbar.DefaultSilent(int64(total))
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(s.Err), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// jsonSafe replaces NaN figures (a per-class FID that could not be
// computed) by nothing JSON can't carry: it marshals through the figures.
func jsonSafe(r *eval.Record) *eval.Record {
	c := *r
	if c.Metrics != nil && c.PerClassFID != nil {
		m := *c.Metrics
		m.PerClassFID = append([]float64(nil), m.PerClassFID...)
		for i, v := range m.PerClassFID {
			if math.IsNaN(v) {
				m.PerClassFID[i] = -1
			}
		}
		c.Metrics = &m
	}
	return &c
}

func printRecord(w io.Writer, r *eval.Record) {
	src := r.Checkpoint
	if src == "" {
		src = r.SamplesDir
	}
	fmt.Fprintf(w, "%s  %s  (N=%d, seed %d, feature network %s)\n", r.Model, src, r.N, r.Seed, r.ExtractorHash[:12])
	if r.Sampler != nil {
		fmt.Fprintf(w, "sampler %s, %d steps, eta %g, guidance %g\n", r.Sampler.Name, r.Sampler.Steps, r.Sampler.Eta, r.Sampler.Guidance)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tmetric\tmodel\treal floor")
	row := func(side, name string, v func(m *eval.Metrics) float64, format string) {
		floor := "-"
		if r.Floor != nil {
			floor = fmt.Sprintf(format, v(r.Floor))
		}
		fmt.Fprintf(tw, "%s\t%s\t"+format+"\t%s\n", side, name, v(r.Metrics), floor)
	}
	row("quality", "FID", func(m *eval.Metrics) float64 { return m.FID }, "%.3f")
	row("", "KID", func(m *eval.Metrics) float64 { return m.KID }, "%.5f")
	row("", "precision", func(m *eval.Metrics) float64 { return m.Precision }, "%.3f")
	row("", "density", func(m *eval.Metrics) float64 { return m.Density }, "%.3f")
	row("", "MNIST-IS", func(m *eval.Metrics) float64 { return m.IS }, "%.3f")
	row("diversity", "recall", func(m *eval.Metrics) float64 { return m.Recall }, "%.3f")
	row("", "coverage", func(m *eval.Metrics) float64 { return m.Coverage }, "%.3f")
	row("", "class KL to uniform", func(m *eval.Metrics) float64 { return m.ClassKL }, "%.4f")
	row("", "classes covered", func(m *eval.Metrics) float64 { return float64(m.ClassesCovered) }, "%.0f")
	if r.ClassAccuracy != nil {
		row("", "class accuracy", func(m *eval.Metrics) float64 {
			if m.ClassAccuracy == nil {
				return math.NaN()
			}
			return *m.ClassAccuracy
		}, "%.4f")
	}
	if r.TestNELBO != nil {
		fmt.Fprintf(tw, "likelihood\ttest -ELBO (nats)\t%.2f\t-\n", *r.TestNELBO)
	}
	if r.IWAENLL != nil {
		fmt.Fprintf(tw, "\tIWAE NLL (k=%d, %d images)\t%.2f\t-\n", r.IWAEK, r.IWAEImages, *r.IWAENLL)
	}
	if sp := r.Speed; sp != nil {
		fmt.Fprintf(tw, "speed\tNFE per sample\t%d\t\n", sp.NFE)
		fmt.Fprintf(tw, "\ts per 100 samples\t%.4f\t\n", sp.SecondsPer100)
		fmt.Fprintf(tw, "\tsamples/s\t%.1f\t\n", sp.SamplesPerSecond)
		fmt.Fprintf(tw, "\tpeak RSS (MiB)\t%.0f\t\n", sp.PeakRSSMB)
	}
	tw.Flush()
	fmt.Fprintf(w, "%s, GOMAXPROCS %d, %s, %s\n", r.Hardware.CPU, r.Hardware.GOMAXPROCS, r.Hardware.BLAS, r.Hardware.Go)
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
}

// printModes prints the figures of a 2-D model (docs/metrics.md §6.2) and its speed.
func printModes(w io.Writer, r *eval.Record) {
	md := r.Modes
	fmt.Fprintf(w, "%s  %s  (%s, N=%d, seed %d)\n", r.Model, r.Checkpoint, md.Dataset, md.N, r.Seed)
	if r.Sampler != nil {
		fmt.Fprintf(w, "sampler %s, %d steps, eta %g\n", r.Sampler.Name, r.Sampler.Steps, r.Sampler.Eta)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "diversity\tmodes captured\t%d / %d\n", md.Captured, md.Components)
	fmt.Fprintf(tw, "\twell-covered modes (>= 25%% of N/K)\t%d\n", md.WellCovered)
	kl := "- (no high-quality sample)"
	if md.ReverseKL != nil {
		kl = fmt.Sprintf("%.4f", *md.ReverseKL)
	}
	fmt.Fprintf(tw, "\treverse KL of the HQ histogram (nats)\t%s\n", kl)
	fmt.Fprintf(tw, "quality\thigh-quality samples (< 3 std)\t%.1f %%\n", 100*md.HighQuality)
	if sp := r.Speed; sp != nil {
		fmt.Fprintf(tw, "speed\tNFE per sample\t%d\n", sp.NFE)
		fmt.Fprintf(tw, "\ts per 100 samples\t%.4f\n", sp.SecondsPer100)
		fmt.Fprintf(tw, "\tsamples/s\t%.1f\n", sp.SamplesPerSecond)
	}
	tw.Flush()
	fmt.Fprintf(w, "per mode: %v\n", md.PerMode)
	fmt.Fprintf(w, "plot: %s\n", r.Plot)
	fmt.Fprintf(w, "%s, GOMAXPROCS %d, %s, %s\n", r.Hardware.CPU, r.Hardware.GOMAXPROCS, r.Hardware.BLAS, r.Hardware.Go)
}
