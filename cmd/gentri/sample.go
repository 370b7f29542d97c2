package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
	"github.com/gentri/gentri/internal/sample"
)

// sampleOptions are the flags of `gentri sample`.
type sampleOptions struct {
	Checkpoint, Model, Out, Each, RunsRoot string
	N, Cols, Class                         int
	Seed                                   uint64
	SeedSet, NSet, Recon, Quiet, JSON      bool
	Unconditional                          bool
	Trajectory, Forward                    string // diffusion: the steps of the chain pictures ("" = none)
	Seeds, Shard                           string // --seeds and --shard: one file per seed, resumable (sample_seeds.go)
	OutSet                                 bool   // --out was given
	sampler                                *samplerFlags
	ctx                                    context.Context // Ctrl-C and SIGTERM stop --seeds between batches
}

// chainSamples is the default --n of --trajectory and --forward: a picture
// of a few rows.
const chainSamples = 4

func newSampleCmd(s streams) *cobra.Command {
	o := sampleOptions{RunsRoot: "runs"}
	c := &cobra.Command{
		Use:   "sample",
		Short: "Draw samples from a checkpoint into a PNG grid (or one PNG per sample)",
		Long:  "Draw samples from a checkpoint into a PNG grid (or one PNG per sample; a scatter plot for the 2-D kinds).\n\n" + kindsHelp(),
		Example: `  gentri sample --checkpoint runs/0001-vae/ckpt-00020000.safetensors --n 64 --out grid.png
  gentri sample --model vae --each samples/ --seed 100
  gentri sample --model vae --recon --out recon.png
  gentri sample --model cgan                  # 10x10 grid, one row per class
  gentri sample --model cgan --class 7 --n 64
  gentri sample --model ddpm --trajectory 980,800,600,400,200,0 --out chain.png   # x_t and x0_hat along the reverse chain
  gentri sample --model ddpm --forward 0,100,250,500,999 --out forward.png        # test images under q(x_t | x_0)
  gentri sample --model ddgan --trajectory all --out chain.png
  gentri sample --model ddpm --seeds 0-49999 --shard 3/8 --each samples/        # shard 3 of 8: seeds 18750-24999, resumable
  gentri sample --model ddpm --seeds 0-49999 --shard auto --each samples/       # the shard of a Kubernetes Indexed Job or Slurm array task`,
		RunE: func(c *cobra.Command, _ []string) error {
			o.SeedSet, o.NSet, o.OutSet, o.ctx = c.Flags().Changed("seed"), c.Flags().Changed("n"), c.Flags().Changed("out"), c.Context()
			if !c.Flags().Changed("class") {
				o.Class = -1 // no class asked for: a grid with one row per class
			}
			return runSample(o, s)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint to sample (default: the newest under runs/)")
	f.StringVar(&o.Model, "model", "", "with no --checkpoint: the newest checkpoint of this kind")
	f.IntVar(&o.N, "n", 0, "number of samples (default: the config's sample.n)")
	f.StringVar(&o.Out, "out", "samples.png", "PNG grid to write")
	f.StringVar(&o.Each, "each", "", "also write one PNG per sample into this folder, named by its seed")
	f.IntVar(&o.Cols, "cols", 0, "grid columns (default: a square grid)")
	f.Uint64Var(&o.Seed, "seed", 0, "first sample seed; sample i uses seed+i (default: the config's sample.seed)")
	f.IntVar(&o.Class, "class", 0, "conditional models: sample this class only (default: a grid with one row per class)")
	f.BoolVar(&o.Unconditional, "unconditional", false, "conditional models: sample without a class (the DDPM's \"no class\" label; a uniformly drawn class for the cGAN)")
	f.BoolVar(&o.Recon, "recon", false, "VAE, AE: write test images beside their reconstructions instead of samples")
	f.StringVar(&o.Trajectory, "trajectory", "", "diffusion: draw each sample's reverse chain at these steps t (comma-separated, or all: every step the sampler visits):\n"+
		"a row of the inputs x_t ending with the sample, and below it the x0_hat each step predicts (default --n 4)")
	f.StringVar(&o.Forward, "forward", "", "diffusion: draw the first --n test images (default 4) under the forward process q(x_t | x_0)\n"+
		"at these steps t (comma-separated, or all: the sampler's steps), each row starting with the clean image")
	f.StringVar(&o.Seeds, "seeds", "", "with --each: one PNG per seed of this list (e.g. 0-49999 or 0,5,10-19), no grid; files already there are kept")
	f.StringVar(&o.Shard, "shard", "", "with --seeds: draw only shard I of N of the list (I/N, a contiguous block), or auto (Kubernetes' JOB_COMPLETION_INDEX\n"+
		"with GENTRI_SHARD_COUNT, or Slurm's SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT)")
	f.BoolVar(&o.Quiet, "quiet", false, "no messages on stderr")
	f.BoolVar(&o.JSON, "json", false, "print the result as one JSON object on stdout")
	o.sampler = addSamplerFlags(f)
	return c
}

func runSample(o sampleOptions, s streams) error {
	logw := s.Err
	if o.Quiet {
		logw = io.Discard
	}
	m, cfg, _, err := openCheckpoint(&o.Checkpoint, o.Model, o.RunsRoot, logw)
	if err != nil {
		return err
	}
	shape := models.ShapeOf(cfg)
	if err := o.sampler.apply(m); err != nil {
		return err
	}
	if o.Seeds != "" || o.Shard != "" {
		return runSampleSeeds(o, s, m, cfg)
	}
	nfe := 1
	if smp, ok := m.(models.Sampler); ok {
		nfe = smp.NFE()
		opts := smp.Options()
		bar := progress(s, o.Quiet, 0, fmt.Sprintf("%s %d steps", opts.Sampler, opts.Steps))
		opts.Progress = func(done, total int) {
			bar.ChangeMax(total)
			bar.Set(done)
		}
		if err := smp.SetSampler(opts); err != nil {
			return usageError{err}
		}
		defer bar.Finish()
	}
	chain := o.Trajectory != "" || o.Forward != ""
	switch {
	case !o.NSet && chain:
		o.N = chainSamples
	case !o.NSet:
		o.N = cfg.Sample.N
	}
	if !o.SeedSet {
		o.Seed = cfg.Sample.Seed
	}
	if o.N < 1 || o.N > 100000 {
		return usagef("--n must be in [1, 100000], got %d", o.N)
	}
	if o.Cols < 0 {
		return usagef("--cols must be >= 0, got %d", o.Cols)
	}
	mix, points := data.MixtureByName(cfg.Data.Dataset)
	if points && (o.Each != "" || o.Cols != 0 || chain) {
		return usagef("--each, --cols, --trajectory and --forward lay out images; a %s model's samples are points, drawn in one scatter plot", cfg.Model.Kind)
	}
	if chain {
		return runChain(o, s, m, cfg)
	}
	var imgs [][]float32
	cols := o.Cols
	if o.Recon {
		imgs, err = reconstructions(m, cfg, o.N)
		if err != nil {
			return err
		}
		if cols == 0 {
			cols = 2 * sample.SquareCols(o.N) // pairs side by side
		}
	} else {
		labels, err := sampleLabels(m, o.N, o.Class, o.Unconditional, &cols)
		if err != nil {
			return err
		}
		seeds := make([]uint64, o.N)
		for i := range seeds {
			seeds[i] = o.Seed + uint64(i)
		}
		if imgs, err = m.Generate(seeds, labels); err != nil {
			return err
		}
		if o.Each != "" {
			for i, img := range imgs {
				p := filepath.Join(o.Each, fmt.Sprintf("seed%08d.png", seeds[i]))
				if err := sample.WritePNG(p, sample.Picture(img, shape.C, shape.H, shape.W)); err != nil {
					return err
				}
			}
		}
	}
	if cols == 0 {
		cols = sample.SquareCols(len(imgs))
	}
	var img image.Image
	what := "images"
	if points { // a 2-D model: its points over the true modes, each ringed at 3σ (the HQ radius of docs/metrics.md §6.2)
		pts, err := data.PointsOf(imgs)
		if err != nil {
			return fmt.Errorf("%s: %w", o.Checkpoint, err)
		}
		img, what = sample.Scatter(pts, mix.Means, eval.HighQualityStds*mix.Std), "points"
	} else {
		img = sample.GridOf(imgs, shape.C, shape.H, shape.W, cols)
	}
	if err := sample.WritePNG(o.Out, img); err != nil {
		return err
	}
	if !o.Quiet {
		fmt.Fprintf(s.Err, "wrote %s (%d %s from %s, %d network evaluations each)\n", o.Out, len(imgs), what, o.Checkpoint, nfe)
	}
	if o.JSON {
		return json.NewEncoder(s.Out).Encode(map[string]any{
			"checkpoint": o.Checkpoint, "model": cfg.Model.Kind, "out": o.Out, "each": o.Each,
			"n": o.N, "seed": o.Seed, "recon": o.Recon, "class": o.Class, "unconditional": o.Unconditional, "nfe_per_sample": nfe,
		})
	}
	return nil
}

// sampleLabels returns the class of each sample: for a conditional model
// --class, or one row per class (setting the grid's columns); -1 (none)
// for an unconditional model or with --unconditional.
func sampleLabels(m models.Model, n, class int, uncond bool, cols *int) ([]int, error) {
	labels := make([]int, n)
	c, ok := m.(models.Conditional)
	switch {
	case uncond && !ok:
		return nil, usagef("--unconditional: a %s model has no classes to leave out", m.Kind())
	case uncond && class >= 0:
		return nil, usagef("--class and --unconditional exclude each other")
	case uncond && guidanceOf(m) != 0:
		return nil, usagef("--guidance needs a class: classifier-free guidance pushes each sample towards its label")
	case !ok && class >= 0:
		return nil, usagef("--class: a %s model is not conditional", m.Kind())
	case !ok || uncond || class < 0 && !models.UsesLabels(m):
		// No class: an unconditional model, --unconditional, or a model
		// trained without labels (a DDPM with cond_drop 1).
		for i := range labels {
			labels[i] = -1
		}
	case class >= c.NumClasses():
		return nil, usagef("--class %d: the model has classes 0..%d", class, c.NumClasses()-1)
	case class >= 0:
		for i := range labels {
			labels[i] = class
		}
	default:
		var rowLen int
		labels, rowLen = sample.ClassRows(n, c.NumClasses())
		if *cols == 0 {
			*cols = rowLen
		}
	}
	return labels, nil
}

// guidanceOf is the classifier-free guidance scale a diffusion model will
// sample with (0 for other models).
func guidanceOf(m models.Model) float64 {
	if s, ok := m.(models.Sampler); ok {
		return s.Options().Guidance
	}
	return 0
}

// reconstructions returns the first n test images, each followed by its
// reconstruction.
func reconstructions(m models.Model, cfg *config.Config, n int) ([][]float32, error) {
	rc, ok := m.(models.Reconstructor)
	if !ok {
		return nil, usagef("--recon: a %s cannot reconstruct images", m.Kind())
	}
	xs, err := testImages(cfg, n)
	if err != nil {
		return nil, err
	}
	rs, err := rc.Reconstruct(xs)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, 2*n)
	for i := range xs {
		out = append(out, xs[i], rs[i])
	}
	return out, nil
}

// testImages returns the first n test images of cfg's data (MNIST when
// data.dir is ""; fewer if the test set is smaller), at its shape; a model
// trained on binarised data sees (and shows) the same fixed binarisation
// its held-out figures are measured on.
func testImages(cfg *config.Config, n int) ([][]float32, error) {
	img := models.ShapeOf(cfg)
	test, err := data.TestSet(cfg.Data.Dataset, cfg.Data.Dir, img.C, img.H, img.W)
	if err != nil {
		return nil, err
	}
	if cfg.Data.Binarize == "dynamic" {
		test = test.Binarized(rng.New(0, models.StreamEval))
	}
	xs := make([][]float32, min(n, test.N))
	for i := range xs {
		xs[i] = test.Image(i)
	}
	return xs, nil
}

// runChain draws the pictures of a diffusion model's chains: with
// --trajectory, for each sample a row of the reverse chain's inputs x_t
// (then the sample) above a row of the x0_hat each step predicts; with
// --forward, for each of the first test images a row of it under
// q(x_t | x_0), starting with the clean image.
func runChain(o sampleOptions, s streams, m models.Model, cfg *config.Config) error {
	shape := models.ShapeOf(cfg)
	flag, spec := "--trajectory", o.Trajectory
	if o.Trajectory == "" {
		flag, spec = "--forward", o.Forward
	}
	ch, ok := m.(models.Chain)
	switch {
	case o.Trajectory != "" && o.Forward != "":
		return usagef("--trajectory and --forward draw one picture each: give one of them")
	case o.Recon:
		return usagef("--recon and %s exclude each other", flag)
	case o.Cols != 0:
		return usagef("--cols: %s draws one column per step", flag)
	case !ok:
		return usagef("%s: a %s model has no diffusion chain to draw (the diffusion models of images have one)", flag, m.Kind())
	}
	steps, err := parseChainSteps(flag, spec, ch)
	if err != nil {
		return err
	}
	seeds := make([]uint64, o.N)
	for i := range seeds {
		seeds[i] = o.Seed + uint64(i)
	}
	var cells, finals [][]float32
	if o.Forward != "" {
		if o.Class >= 0 || o.Unconditional || o.Each != "" {
			return usagef("--class, --unconditional and --each choose or write samples; --forward draws test images")
		}
		xs, err := testImages(cfg, o.N)
		if err != nil {
			return err
		}
		strips, err := ch.Forward(xs, seeds[:len(xs)], steps)
		if err != nil {
			return err
		}
		for i, x := range xs {
			cells = append(append(cells, x), strips[i]...)
		}
	} else {
		var ignoredCols int
		labels, err := sampleLabels(m, o.N, o.Class, o.Unconditional, &ignoredCols)
		if err != nil {
			return err
		}
		frames, final, err := ch.Trajectory(seeds, labels, steps)
		if err != nil {
			return err
		}
		for i := range seeds {
			for _, f := range frames {
				cells = append(cells, f.X[i])
			}
			cells = append(cells, final[i])
			for _, f := range frames {
				cells = append(cells, f.X0[i])
			}
			cells = append(cells, nil) // no prediction beside the sample
		}
		finals = final
	}
	for i, img := range finals {
		if o.Each != "" {
			p := filepath.Join(o.Each, fmt.Sprintf("seed%08d.png", seeds[i]))
			if err := sample.WritePNG(p, sample.Picture(img, shape.C, shape.H, shape.W)); err != nil {
				return err
			}
		}
	}
	if err := sample.WritePNG(o.Out, sample.GridOf(cells, shape.C, shape.H, shape.W, len(steps)+1)); err != nil {
		return err
	}
	if !o.Quiet {
		what := fmt.Sprintf("%d samples: rows of x_t at t = %s then the sample, each above its x0_hat", o.N, joinInts(steps))
		if o.Forward != "" {
			what = fmt.Sprintf("%d test images: the clean image, then x_t ~ q(x_t | x_0) at t = %s", len(cells)/(len(steps)+1), joinInts(steps))
		}
		fmt.Fprintf(s.Err, "wrote %s (%s; %s)\n", o.Out, what, o.Checkpoint)
	}
	if o.JSON {
		rec := map[string]any{"checkpoint": o.Checkpoint, "model": cfg.Model.Kind, "out": o.Out, "n": o.N, "seed": o.Seed}
		if o.Forward != "" {
			rec["forward"] = steps
		} else {
			rec["trajectory"], rec["each"], rec["class"], rec["unconditional"] = steps, o.Each, o.Class, o.Unconditional
		}
		return json.NewEncoder(s.Out).Encode(rec)
	}
	return nil
}

// parseChainSteps reads the steps of --trajectory or --forward: "all"
// (every step the sampler visits) or a comma-separated list of t, each
// once. The reverse chain's steps must be ones its sampler visits, in any
// order (drawn noisiest first); the forward process takes any t in [0, T)
// (drawn from the cleanest).
func parseChainSteps(flag, spec string, ch models.Chain) ([]int, error) {
	visited := ch.ChainSteps()
	if strings.TrimSpace(spec) == "all" {
		steps := slices.Clone(visited)
		if flag == "--forward" {
			slices.Reverse(steps)
		}
		return steps, nil
	}
	T := ch.DiffusionSteps()
	var steps []int
	for _, f := range strings.Split(spec, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		switch {
		case err != nil:
			return nil, usagef("%s %q: %q is not a step (want steps t in [0, %d], comma-separated, or all)", flag, spec, f, T-1)
		case slices.Contains(steps, t):
			return nil, usagef("%s %q: step %d given twice", flag, spec, t)
		case t < 0 || t >= T:
			return nil, usagef("%s %q: step %d is outside [0, %d] (the model has T = %d steps)", flag, spec, t, T-1, T)
		case flag == "--trajectory" && !slices.Contains(visited, t):
			return nil, usagef("%s %q: the sampler does not visit step %d; its %d steps are %s (--sampler and --steps choose others)",
				flag, spec, t, len(visited), joinInts(visited))
		}
		steps = append(steps, t)
	}
	slices.Sort(steps)
	if flag == "--trajectory" {
		slices.Reverse(steps)
	}
	return steps, nil
}

// joinInts writes a list of steps as "980, 960, …", eliding the middle of a
// long one.
func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	if len(s) > 12 {
		s = append(append(s[:6:6], "…"), s[len(s)-3:]...)
	}
	return strings.Join(s, ", ")
}
