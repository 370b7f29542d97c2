package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

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
	SeedSet, Quiet, JSON                       bool
	stopAfter                                  int // tests only
}

func newTrainCmd(s streams) *cobra.Command {
	o := trainOptions{RunsRoot: "runs"}
	c := &cobra.Command{
		Use:   "train",
		Short: "Train a model (vae) from its YAML config",
		Example: `  gentri train --model vae
  gentri train --config configs/vae.yaml --set train.steps=2000 --seed 3
  gentri train --resume latest --model vae`,
		RunE: func(c *cobra.Command, _ []string) error {
			o.SeedSet = c.Flags().Changed("seed")
			return runTrain(c, o, s)
		},
	}
	f := c.Flags()
	f.StringVar(&o.Model, "model", "", "model kind: vae (default config configs/<kind>.yaml)")
	f.StringVar(&o.Config, "config", "", "YAML config file (overlaid on the kind's defaults)")
	f.StringArrayVar(&o.Sets, "set", nil, "override a config value, section.key=value (repeatable; wins over the file)")
	f.Uint64Var(&o.Seed, "seed", 0, "random seed (overrides train.seed)")
	f.StringVar(&o.Out, "out", "", "run folder (default: a new numbered folder under runs/)")
	f.StringVar(&o.Resume, "resume", "", "continue from a checkpoint PATH, or 'latest'")
	f.StringVar(&o.Data, "data", "", "folder of IDX files to train on (overrides data.dir)")
	f.BoolVar(&o.Quiet, "quiet", false, "no progress bar or messages on stderr")
	f.BoolVar(&o.JSON, "json", false, "print the result as one JSON object on stdout")
	return c
}

func runTrain(c *cobra.Command, o trainOptions, s streams) error {
	sets := o.Sets
	if o.SeedSet {
		sets = append(sets, "train.seed="+strconv.FormatUint(o.Seed, 10))
	}
	if o.Data != "" {
		sets = append(sets, "data.dir="+o.Data)
	}
	var cfg *config.Config
	var err error
	runDir := o.Out
	if o.Resume != "" {
		if o.Config != "" {
			return usagef("--resume takes its config from the checkpoint; use --set to change train.* values, not --config")
		}
		if o.Resume == "latest" {
			if o.Resume, err = train.LatestCheckpoint(o.RunsRoot, o.Model); err != nil {
				return usageError{err}
			}
		}
		if cfg, err = resumeConfig(o.Resume, o.Model, sets); err != nil {
			return err
		}
		if runDir == "" {
			runDir = filepath.Dir(o.Resume)
		}
	} else {
		if o.Model == "" && o.Config == "" {
			return usagef("say which model to train: --model vae, or --config FILE")
		}
		if cfg, err = config.Load(o.Model, o.Config, sets); err != nil {
			return usageError{err}
		}
		if runDir == "" {
			if runDir, err = train.NewRunDir(o.RunsRoot, cfg.Model.Kind); err != nil {
				return err
			}
		}
	}
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

// resumeConfig is the checkpoint's own config with the --set overrides.
func resumeConfig(path, kind string, sets []string) (*config.Config, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	cfg, _, err := models.Describe(f, path)
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
