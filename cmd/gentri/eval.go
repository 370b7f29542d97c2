package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/models"
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
	NoFloor, Quiet, JSON, Unconditional, SkipBad          bool
	sampler                                               *samplerFlags
	Plot                                                  string // 2-D models: the scatter plot to write
	Sweep, SweepPlot                                      string // diffusion: step counts, and the FID-vs-time plot
	SweepSamplers                                         string // diffusion: the samplers of the sweep, name[:spacing], comma-separated
	SweepNFE                                              bool   // the sweep's counts are NFE budgets
	NSet                                                  bool   // --n was given
	Seeds, Shard, Partial                                 string // sharded evaluation (eval_shard.go)
	Merge                                                 bool
	MergeFiles                                            []string
	SweepFile                                             string // a sweep's points (eval_sweep.go), with Index or Shard
	Index                                                 int
	changed                                               func(name string) bool // the flag was given
}

func newEvalCmd(s streams) *cobra.Command {
	o := evalOptions{RunsRoot: "runs"}
	c := &cobra.Command{
		Use:   "eval",
		Short: "Measure a model (or a folder of PNGs) on quality, diversity and speed against its data's test set",
		Long: "Measure a model on quality, diversity and speed against the test set of the data it was trained on\n" +
			"(MNIST's by default; a folder of PNGs against MNIST's or --data's), or a 2-D model on the modes of its mixture.\n\n" + kindsHelp(),
		Example: `  gentri eval --checkpoint runs/0002-cgan/ckpt-00006000.safetensors
  gentri eval --model vae --json
  gentri eval --model cgan --fail-if 'fid>30' --fail-if 'class_accuracy<0.95'
  gentri eval --samples other-tool-samples/
  gentri eval --model ddpm2d --fail-if 'modes.captured<8'    # a 2-D model: modes, % high quality, reverse KL
  gentri eval --model ddpm --seeds 0-9999 --shard 2/4 --partial part-2.safetensors   # shard 2 of 4's samples and features
  gentri eval --merge part-*.safetensors --json                                      # the record of the unsharded run
  gentri eval --sweep sweep.yaml --n 500                 # each point's newest checkpoint, its record in the point's eval.json`,
		Args: func(c *cobra.Command, args []string) error {
			if merge, _ := c.Flags().GetBool("merge"); merge {
				return nil
			}
			return noArgs(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			o.NSet, o.MergeFiles, o.changed = c.Flags().Changed("n"), args, c.Flags().Changed
			if o.SweepFile != "" || o.changed("index") {
				return runEvalSweep(c.Context(), o, s)
			}
			if o.Merge || o.Partial != "" || o.Shard != "" || o.Seeds != "" {
				return runEvalShard(c.Context(), o, s)
			}
			return runEval(c.Context(), o, s)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "checkpoint to evaluate (default: the newest under runs/)")
	f.StringVar(&o.Model, "model", "", "with no --checkpoint: the newest checkpoint of this kind")
	f.StringVar(&o.Samples, "samples", "", "evaluate a folder of 28x28 PNGs instead of a checkpoint")
	f.IntVar(&o.N, "n", 2000, "number of samples (and of real images for the floor and precision/recall); 2-D models: 2500 unless given; Stacked MNIST: 10000 unless given")
	f.Uint64Var(&o.Seed, "seed", 0, "first sample seed; sample i uses seed+i")
	f.StringArrayVar(&o.Gates, "fail-if", nil, "exit 4 if a figure passes a bound, e.g. 'fid>30', 'recall<0.5', 'speed.samples_per_s<100' (repeatable)")
	f.BoolVar(&o.Unconditional, "unconditional", false, "conditional models: sample without a class (the DDPM's \"no class\" label; a uniform class for the cGAN), so no class accuracy")
	f.BoolVar(&o.NoFloor, "no-floor", false, "skip the real-data floor (N training images scored the same way)")
	f.IntVar(&o.IWAEK, "iwae-k", 5000, "VAE: importance samples per image for the IWAE likelihood (0 = skip)")
	f.IntVar(&o.IWAEImages, "iwae-images", 1000, "VAE: test images (a fixed subset) for the IWAE likelihood")
	f.StringVar(&o.Extractor, "extractor", "", "classifier checkpoint to use as the feature network (default: the cached one, trained on first use)")
	f.StringVar(&o.Data, "data", "", "the reference data's folder: IDX files, CIFAR-10 batches or images (default: the checkpoint's data.dir; MNIST, found as for training)")
	f.BoolVar(&o.SkipBad, "skip-bad", false, "leave out unreadable image files of the reference data instead of failing")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress bars or messages on stderr")
	f.BoolVar(&o.JSON, "json", false, "print one JSON record on stdout instead of the table")
	f.StringVar(&o.Sweep, "sweep-steps", "", "diffusion models: evaluate at each of these step counts, e.g. 10,20,50,100,1000 (one record each)")
	f.StringVar(&o.SweepSamplers, "sweep-samplers", "", "with --sweep-steps: sweep each of these samplers, e.g. ddim,dpmpp2m,heun:karras (name[:spacing]; default: the current sampler), one curve each")
	f.BoolVar(&o.SweepNFE, "sweep-nfe", false, "with --sweep-steps: the counts are network evaluations per sample, each sampler taking the most steps that fit (Heun: 2 per step but the last)")
	f.StringVar(&o.SweepPlot, "sweep-plot", "", "with --sweep-steps: the FID-vs-seconds PNG (default: <checkpoint>-sweep.png)")
	f.StringVar(&o.Plot, "plot", "", "2-D models: scatter plot PNG of the samples over the true modes (default: beside the checkpoint, <checkpoint>-modes.png)")
	f.StringVar(&o.Seeds, "seeds", "", "the samples' seeds as one range A-B (the same as --seed A --n B-A+1)")
	f.StringVar(&o.Shard, "shard", "", "with --partial: draw only shard I of N of the samples (I/N, a contiguous block), or auto\n"+
		"(Kubernetes' JOB_COMPLETION_INDEX with GENTRI_SHARD_COUNT, or Slurm's SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT)")
	f.StringVar(&o.Partial, "partial", "", "write what the metrics need of the samples (of --shard's block) to this file, for --merge")
	f.BoolVar(&o.Merge, "merge", false, "merge the partial files given as arguments into the record of the whole evaluation")
	f.StringVar(&o.SweepFile, "sweep", "", "evaluate the newest checkpoint of each point of this sweep file (or --index's, or --shard's: I, I+N, …),\n"+
		"writing each record to the point's folder as eval.json, which gentri report --sweep reads")
	f.IntVar(&o.Index, "index", 0, "with --sweep: evaluate point K only")
	o.sampler = addSamplerFlags(f)
	return c
}

func runEval(ctx context.Context, o evalOptions, s streams) error {
	if o.N < 2 {
		return usagef("--n must be at least 2, got %d", o.N)
	}
	if o.Sweep == "" && (o.SweepSamplers != "" || o.SweepNFE) {
		return usagef("--sweep-samplers and --sweep-nfe choose what --sweep-steps sweeps; give --sweep-steps too")
	}
	gates, err := parseGates(o.Gates)
	if err != nil {
		return err
	}
	eo, logw := evalOptionsOf(o, s)
	if o.Samples == "" {
		if err := openForEval(&o, &eo, logw); err != nil {
			return err
		}
	}
	var failed []eval.Gate
	judge := func(rec *eval.Record) error {
		f, err := eval.CheckGates(rec, gates)
		if err != nil {
			return usageError{err}
		}
		failed = append(failed, f...)
		return output(o, s, rec)
	}
	if o.Sweep != "" {
		steps, perr := eval.ParseSteps(o.Sweep)
		if perr != nil {
			return usageError{perr}
		}
		sw := eval.Sweep{Counts: steps, ByNFE: o.SweepNFE}
		if o.SweepSamplers != "" {
			if sw.Samplers, perr = eval.ParseSweepSamplers(o.SweepSamplers); perr != nil {
				return usageError{perr}
			}
		}
		plot := o.SweepPlot
		if plot == "" {
			plot = strings.TrimSuffix(o.Checkpoint, ".safetensors") + "-sweep.png"
		}
		err = eval.RunSweep(ctx, eo, sw, plot, judge)
	} else {
		var rec *eval.Record
		if rec, err = eval.Run(ctx, eo); err == nil {
			err = judge(rec)
		}
	}
	return evalResult(err, failed)
}

// parseGates reads the --fail-if bounds.
func parseGates(specs []string) ([]eval.Gate, error) {
	gates := make([]eval.Gate, len(specs))
	for i, g := range specs {
		var err error
		if gates[i], err = eval.ParseGate(g); err != nil {
			return nil, usageError{err}
		}
	}
	return gates, nil
}

// evalOptionsOf turns the flags into eval.Options (the checkpoint is
// opened by openForEval), and returns where messages go.
func evalOptionsOf(o evalOptions, s streams) (eval.Options, io.Writer) {
	logw := io.Discard
	if !o.Quiet {
		logw = s.Err
	}
	return eval.Options{
		Samples: o.Samples, N: o.N, NSet: o.NSet, Seed: o.Seed, NoFloor: o.NoFloor,
		IWAEK: o.IWAEK, IWAEImages: o.IWAEImages, Unconditional: o.Unconditional, Plot: o.Plot,
		Extractor: o.Extractor, Data: o.Data, SkipBad: o.SkipBad, TrainClassifier: trainClassifier(o, s),
		Log: logw, Progress: func(total int, what string) eval.Bar { return progress(s, o.Quiet, total, what) },
	}, logw
}

// evalResult is the command's error: the evaluation's (a usage error where
// eval says so), else the gates that failed.
func evalResult(err error, failed []eval.Gate) error {
	var ue eval.UsageError
	switch {
	case errors.As(err, &ue):
		return usageError{err}
	case err != nil:
		return err
	case len(failed) > 0:
		return gateError{failed}
	}
	return nil
}

// output prints one record: JSON with --json, else a table.
func output(o evalOptions, s streams, rec *eval.Record) error {
	if o.JSON {
		return json.NewEncoder(s.Out).Encode(eval.JSONSafe(rec))
	}
	eval.WriteText(s.Out, rec)
	return nil
}

// openForEval opens --checkpoint (default: the newest under runs/, of
// --model's kind), checks --model and applies the sampler flags.
func openForEval(o *evalOptions, eo *eval.Options, logw io.Writer) error {
	m, cfg, f, err := openCheckpoint(&o.Checkpoint, o.Model, o.RunsRoot, logw)
	if err != nil {
		return err
	}
	if err := o.sampler.apply(m); err != nil {
		return err
	}
	_, step, _ := models.Describe(f, o.Checkpoint)
	eo.Model, eo.Config, eo.Checkpoint, eo.Step = m, cfg, o.Checkpoint, step
	info, ok, err := models.DataInfo(f, o.Checkpoint)
	if err != nil {
		return err
	}
	if ok {
		eo.DataInfo = &info
	}
	return nil
}

// trainClassifier trains the feature network on first use, with the
// progress and messages of `gentri train`.
func trainClassifier(o evalOptions, s streams) func(context.Context, *config.Config, string) (string, []models.Metric, error) {
	return func(ctx context.Context, cfg *config.Config, runDir string) (string, []models.Metric, error) {
		topts := train.Options{Config: cfg, RunDir: runDir}
		if !o.Quiet {
			topts.Log = s.Err
			if s.ErrTTY {
				topts.Progress = s.Err
			}
		}
		res, err := train.Run(ctx, topts)
		if err != nil {
			return "", nil, err
		}
		return res.Checkpoint, res.Eval, nil
	}
}

func progress(s streams, quiet bool, total int, what string) *progressbar.ProgressBar {
	if quiet || !s.ErrTTY {
		return progressbar.DefaultSilent(int64(total))
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(s.Err), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
}
