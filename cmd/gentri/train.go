package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/train"
)

// trainOptions are the flags of `gentri train`.
type trainOptions struct {
	Model, Config, Out, Resume, Data, RunsRoot string
	Sets                                       []string
	Seed                                       uint64
	SeedSet, Quiet, JSON, SkipBad              bool
	sweep                                      sweepFlags // train_sweep.go
	stopAfter                                  int        // tests only
}

func newTrainCmd(s streams) *cobra.Command {
	o := trainOptions{RunsRoot: "runs"}
	c := &cobra.Command{
		Use:   "train",
		Short: "Train a model from its kind's YAML config",
		Long:  "Train a model from its kind's YAML config (configs/<kind>.yaml), overlaid by --config and --set.\n\n" + kindsHelp(),
		Example: `  gentri train --model vae
  gentri train --config configs/vae.yaml --set train.steps=2000 --seed 3
  gentri train --resume latest --model vae
  gentri train --resume latest --out runs/lr3e-4
  gentri train --sweep sweep.yaml --list               # the sweep's points, their folders and where each stands
  gentri train --sweep sweep.yaml --shard auto         # a job array's task: its points, each resumed or started`,
		RunE: func(c *cobra.Command, _ []string) error {
			o.SeedSet = c.Flags().Changed("seed")
			if o.sweep.used(c.Flags()) {
				return runTrainSweep(c, o, s)
			}
			return runTrain(c, o, s)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Model, "model", "", "model kind: "+strings.Join(models.KindNames(), ", ")+" (default config configs/<kind>.yaml)")
	f.StringVar(&o.Config, "config", "", "YAML config file (overlaid on the kind's defaults)")
	f.StringArrayVar(&o.Sets, "set", nil, "override a config value, section.key=value (repeatable; wins over the file)")
	f.Uint64Var(&o.Seed, "seed", 0, "random seed (overrides train.seed)")
	f.StringVar(&o.Out, "out", "", "run folder, holding no other run (default: a new numbered folder under runs/)")
	f.StringVar(&o.Resume, "resume", "", "continue from a checkpoint PATH, or 'latest' (the newest in --out, else of the newest run under runs/)")
	f.StringVar(&o.Data, "data", "", "folder to train on: IDX files, CIFAR-10 batches or PNG/JPEG images, in class sub-folders or not (overrides data.dir)")
	f.BoolVar(&o.SkipBad, "skip-bad", false, "leave out image files that cannot be decoded, and count them, instead of failing (sets data.skip_bad)")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress bar or messages on stderr")
	f.BoolVar(&o.JSON, "json", false, "print the result as one JSON object on stdout")
	o.sweep.add(f)
	return c
}

func runTrain(c *cobra.Command, o trainOptions, s streams) (err error) {
	sets := o.Sets
	if o.SeedSet {
		sets = append(sets, "train.seed="+strconv.FormatUint(o.Seed, 10))
	}
	if o.Data != "" {
		sets = append(sets, "data.dir="+o.Data)
	}
	if o.SkipBad {
		sets = append(sets, "data.skip_bad=true")
	}
	cfg, runDir, lock, err := claimRun(&o, sets)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := lock.Release(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	topts := train.Options{Config: cfg, RunDir: runDir, Resume: o.Resume, StopAfter: o.stopAfter}
	if !o.Quiet {
		topts.Log = s.Err
		if s.ErrTTY {
			topts.Progress = s.Err
		}
		printBuild(s.Err)
		fmt.Fprintf(s.Err, "training %s in %s (%d steps, batch %d, seed %d)\n", cfg.Model.Kind, runDir, cfg.Train.Steps, cfg.Train.BatchSize, cfg.Train.Seed)
	}
	res, err := train.Run(c.Context(), topts)
	if res != nil && o.JSON && (err == nil || errors.Is(err, train.ErrInterrupted)) {
		if jerr := printTrainResult(s, runDir, res, err != nil); jerr != nil {
			return jerr
		}
	}
	return err
}

// claimRun resolves the run's config and folder and takes the folder's
// lock, so that a folder belongs to one run: a second training in a folder
// in use fails at once, and a new run never starts in a folder that holds
// one. `--resume latest` resumes the newest checkpoint of --out, or of the
// newest run under runs/; o.Resume is set to the checkpoint it chose.
func claimRun(o *trainOptions, sets []string) (cfg *config.Config, runDir string, lock *train.RunLock, err error) {
	var held *train.RunLock
	defer func() {
		if err != nil && held != nil {
			held.Release() // the error that brought us here is the one to report
		}
	}()
	runDir = o.Out
	switch {
	case o.Resume == "":
		if o.Model == "" && o.Config == "" {
			return nil, "", nil, usagef("say which model to train: --model KIND (%s), or --config FILE", strings.Join(models.KindNames(), ", "))
		}
		if cfg, err = models.LoadConfig(o.Model, o.Config, sets); err != nil {
			return nil, "", nil, usageError{err}
		}
		if runDir == "" {
			if runDir, err = train.NewRunDir(o.RunsRoot, cfg.Model.Kind); err != nil {
				return nil, "", nil, err
			}
		} else if err = os.MkdirAll(runDir, 0o755); err != nil {
			return nil, "", nil, fmt.Errorf("run folder: %w", err)
		}
		if held, err = train.LockRunDir(runDir); err != nil {
			return nil, "", nil, err
		}
		return cfg, runDir, held, noRunIn(runDir)
	case o.Config != "":
		return nil, "", nil, usagef("--resume takes its config from the checkpoint; use --set to change train.* values, not --config")
	case o.Resume == "latest":
		if runDir == "" {
			latest, err := train.LatestCheckpoint(o.RunsRoot, o.Model)
			if err != nil {
				return nil, "", nil, usageError{err}
			}
			runDir = filepath.Dir(latest)
		} else if _, err := os.Stat(runDir); errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil, usagef("no checkpoint in %s to resume: there is no such folder", runDir)
		}
		if held, err = train.LockRunDir(runDir); err != nil {
			return nil, "", nil, err
		}
		// Chosen once the lock is held, so no other training writes a newer one.
		if o.Resume, err = train.LatestCheckpointIn(runDir); err != nil {
			return nil, "", nil, usageError{err}
		}
		cfg, err = resumeConfig(o.Resume, o.Model, sets)
		return cfg, runDir, held, err
	default:
		if cfg, err = resumeConfig(o.Resume, o.Model, sets); err != nil {
			return nil, "", nil, err
		}
		own := filepath.Dir(o.Resume)
		if runDir == "" {
			runDir = own
		} else if err = os.MkdirAll(runDir, 0o755); err != nil {
			return nil, "", nil, fmt.Errorf("run folder: %w", err)
		}
		if held, err = train.LockRunDir(runDir); err != nil {
			return nil, "", nil, err
		}
		if !sameDir(runDir, own) { // the run continues in a new folder, which must not hold another
			err = noRunIn(runDir)
		}
		return cfg, runDir, held, err
	}
}

// noRunIn is train.CheckNoRun with a folder that holds a run as a usage error.
func noRunIn(dir string) error {
	err := train.CheckNoRun(dir)
	var exists *train.RunExistsError
	if errors.As(err, &exists) {
		return usageError{err}
	}
	return err
}

// sameDir reports whether a and b name the same folder.
func sameDir(a, b string) bool {
	ai, aerr := os.Stat(a)
	bi, berr := os.Stat(b)
	return aerr == nil && berr == nil && os.SameFile(ai, bi)
}

// resumeConfig is the checkpoint's own config with the --set overrides.
func resumeConfig(path, kind string, sets []string) (*config.Config, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	cfg, step, err := models.Describe(f, path)
	if err != nil {
		return nil, err
	}
	if kind != "" && kind != cfg.Model.Kind {
		return nil, usagef("--model %s, but %s is a %s checkpoint", kind, path, cfg.Model.Kind)
	}
	for _, set := range sets {
		if err := config.ApplySet(cfg, set); err != nil {
			return nil, usageError{err}
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	if step >= cfg.Train.Steps { // nothing to do: the user asked for steps the run already has
		return nil, usagef("%s is at step %d, already at train.steps=%d (raise it with --set train.steps=N to train on)", path, step, cfg.Train.Steps)
	}
	return cfg, nil
}

func printTrainResult(s streams, runDir string, res *train.Result, interrupted bool) error {
	metrics := func(ms []models.Metric) map[string]float64 {
		out := map[string]float64{}
		for _, m := range ms {
			out[m.Name] = m.Value
		}
		return out
	}
	return json.NewEncoder(s.Out).Encode(map[string]any{
		"run_dir":     runDir,
		"step":        res.Step,
		"checkpoint":  res.Checkpoint,
		"interrupted": interrupted,
		"params":      res.Params,
		"elapsed_s":   res.Elapsed.Seconds(),
		"losses":      metrics(res.Losses),
		"eval":        metrics(res.Eval),
	})
}
