package main

import (
	"encoding/json"
	"fmt"
	"image"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
	"github.com/gentri/gentri/internal/sample"
	"github.com/gentri/gentri/internal/train"
)

// sampleOptions are the flags of `gentri sample`.
type sampleOptions struct {
	Checkpoint, Model, Out, Each, RunsRoot string
	N, Cols, Class                         int
	Seed                                   uint64
	SeedSet, NSet, Recon, Quiet, JSON      bool
	Unconditional                          bool
	sampler                                *samplerFlags
}

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
  gentri sample --model cgan --class 7 --n 64`,
		RunE: func(c *cobra.Command, _ []string) error {
			o.SeedSet, o.NSet = c.Flags().Changed("seed"), c.Flags().Changed("n")
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
	f.BoolVar(&o.Recon, "recon", false, "VAE: write test images beside their reconstructions instead of samples")
	f.BoolVar(&o.Quiet, "quiet", false, "no messages on stderr")
	f.BoolVar(&o.JSON, "json", false, "print the result as one JSON object on stdout")
	o.sampler = addSamplerFlags(f)
	return c
}

func runSample(o sampleOptions, s streams) error {
	if o.Checkpoint == "" {
		p, err := train.LatestCheckpoint(o.RunsRoot, o.Model)
		if err != nil {
			return usageError{err}
		}
		o.Checkpoint = p
		if !o.Quiet {
			fmt.Fprintf(s.Err, "using the newest checkpoint: %s\n", p)
		}
	}
	m, cfg, _, err := models.Open(o.Checkpoint, false)
	if err != nil {
		return err
	}
	if o.Model != "" && o.Model != cfg.Model.Kind {
		return usagef("--model %s, but %s is a %s checkpoint", o.Model, o.Checkpoint, cfg.Model.Kind)
	}
	if err := o.sampler.apply(m); err != nil {
		return err
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
	if !o.NSet {
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
	if points && (o.Each != "" || o.Cols != 0) {
		return usagef("--each and --cols lay out images; a %s model's samples are points, drawn in one scatter plot", cfg.Model.Kind)
	}
	var imgs [][]float32
	cols := o.Cols
	if o.Recon {
		imgs, err = reconstructions(m, cfg.Data.Dir, cfg.Data.Binarize == "dynamic", o.N)
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
				if err := sample.WritePNG(p, sample.Gray(img, models.Height, models.Width)); err != nil {
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
		img = sample.Grid(imgs, models.Height, models.Width, cols)
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
	case !ok || uncond:
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
// reconstruction; a model trained on binarised data sees (and shows) the
// same fixed binarisation its held-out ELBO is measured on.
func reconstructions(m models.Model, dir string, binarized bool, n int) ([][]float32, error) {
	rc, ok := m.(models.Reconstructor)
	if !ok {
		return nil, usagef("--recon: a %s cannot reconstruct images", m.Kind())
	}
	dir, err := data.MNISTDir(dir)
	if err != nil {
		return nil, err
	}
	test, err := data.LoadIDXDir(dir, "test")
	if err != nil {
		return nil, err
	}
	if binarized {
		test = test.Binarized(rng.New(0, models.StreamEval))
	}
	n = min(n, test.N)
	xs := make([][]float32, n)
	for i := range xs {
		xs[i] = test.Image(i)
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
