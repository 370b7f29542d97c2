package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/latent"
	"github.com/gentri/gentri/internal/models"
)

// latentOptions are the flags of `gentri latent`.
type latentOptions struct {
	Checkpoint, Model, Out, Data, RunsRoot string
	Seed                                   uint64
	Prior, Pairs, Steps                    int
	Extent                                 float64
	Quiet, JSON                            bool
}

func newLatentCmd(s streams) *cobra.Command {
	o := latentOptions{RunsRoot: "runs"}
	c := &cobra.Command{
		Use:   "latent",
		Short: "Draw and measure the latent space of a VAE or autoencoder on MNIST's test set",
		Long: `Draw and measure the latent space of a model with codes (` + strings.Join(latentKinds(), ", ") + `) on MNIST's test set.
It writes into --out:
  ` + latent.ScatterFile + `    the test images' codes coloured by digit: the two coordinates of a 2-D latent,
                 else the codes' first two principal components
  ` + latent.DecodingsFile + `  decodings of N(0, I) draws (left; the samples of 'gentri sample --seed'), beside
                 decodings along straight lines between two test images' codes (right; each row
                 starts and ends with the two test images)
  ` + latent.TableFile + `      each dimension's mean, standard deviation, minimum and maximum over the test set,
                 also printed on stdout (--json: the whole record instead)`,
		Example: `  gentri latent --checkpoint runs/0001-vae/ckpt-00020000.safetensors --out latent-vae
  gentri latent --model ae --out latent-ae --extent 40     # the newest ae checkpoint, axes fixed to [-40, 40]
  gentri latent --model vae --json`,
		RunE: func(*cobra.Command, []string) error { return runLatent(o, s) },
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint of a model with codes (default: the newest under runs/)")
	f.StringVar(&o.Model, "model", "", "with no --checkpoint: the newest checkpoint of this kind")
	f.StringVar(&o.Out, "out", "", "folder of the pictures and the table (default: beside the checkpoint, <checkpoint>-latent/)")
	f.StringVar(&o.Data, "data", "", "the data's folder: IDX files, CIFAR-10 batches or images (default: the checkpoint's data.dir, else MNIST, found as for training)")
	f.Uint64Var(&o.Seed, "seed", 0, "first seed of the N(0, I) draws; also chooses the test images the lines join")
	f.IntVar(&o.Prior, "n", 64, "N(0, I) draws to decode")
	f.IntVar(&o.Pairs, "pairs", 8, "lines between two test images' codes (rows of the right grid)")
	f.IntVar(&o.Steps, "steps", 8, "points decoded along each line, both ends included")
	f.Float64Var(&o.Extent, "extent", 0, "scatter plot axes [-extent, extent] on both axes, so two models compare at a glance (default: fit the codes)")
	f.BoolVar(&o.Quiet, "quiet", false, "no messages on stderr")
	f.BoolVar(&o.JSON, "json", false, "print the record as one JSON object on stdout instead of the table")
	return c
}

func runLatent(o latentOptions, s streams) error {
	switch {
	case o.Prior < 1 || o.Prior > 10000:
		return usagef("--n must be in [1, 10000], got %d", o.Prior)
	case o.Pairs < 1 || o.Pairs > 100:
		return usagef("--pairs must be in [1, 100], got %d", o.Pairs)
	case o.Steps < 2 || o.Steps > 100:
		return usagef("--steps must be in [2, 100] (both ends of a line), got %d", o.Steps)
	case !(o.Extent >= 0) || math.IsInf(o.Extent, 0):
		return usagef("--extent must be a finite number >= 0 (0 = fit the codes), got %g", o.Extent)
	}
	logw := s.Err
	if o.Quiet {
		logw = io.Discard
	}
	m, cfg, _, err := openCheckpoint(&o.Checkpoint, o.Model, o.RunsRoot, logw)
	if err != nil {
		return err
	}
	if _, ok := m.(models.Autoencoder); !ok {
		return usagef("%s is a %s checkpoint, which has no latent codes: gentri latent takes a checkpoint of %s",
			o.Checkpoint, cfg.Model.Kind, strings.Join(latentKinds(), " or "))
	}
	if o.Out == "" {
		o.Out = strings.TrimSuffix(o.Checkpoint, ".safetensors") + "-latent"
	}
	dir := o.Data
	if dir == "" {
		dir = cfg.Data.Dir
	}
	test, err := latent.TestSet(cfg.Data.Dataset, dir, models.ShapeOf(cfg), cfg.Data.Binarize == "dynamic")
	if err != nil {
		return err
	}
	rec, err := latent.Run(latent.Options{
		Model: m, Name: fmt.Sprintf("%s, %s", cfg.Model.Kind, shortName(o.Checkpoint)), Test: test, Out: o.Out, Seed: o.Seed,
		Prior: o.Prior, Pairs: o.Pairs, Steps: o.Steps, Extent: o.Extent,
	})
	if err != nil {
		return err
	}
	if !o.Quiet {
		fmt.Fprintf(s.Err, "wrote %s, %s and %s\n", rec.Files["scatter"], rec.Files["decodings"], rec.Files["table"])
	}
	if o.JSON {
		return json.NewEncoder(s.Out).Encode(rec)
	}
	latent.WriteTable(s.Out, rec)
	return nil
}

// latentKinds lists the registry's kinds whose models have codes.
func latentKinds() []string {
	var out []string
	for _, k := range models.Kinds() {
		if k.Caps.Has(models.CapLatent) {
			out = append(out, k.Name)
		}
	}
	return out
}

// shortName names a checkpoint by its folder and file, without the
// extension: "latent2-vae/ckpt-00005000".
func shortName(path string) string {
	path = strings.TrimSuffix(path, ".safetensors")
	return filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path))
}
