package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/shard"
	"github.com/gentri/gentri/internal/sweep"
	"github.com/gentri/gentri/internal/train"
)

// sweepFlags are the flags of `gentri train --sweep`.
type sweepFlags struct {
	File, Shard string
	Index       int
	List        bool
	fs          *pflag.FlagSet
}

func (f *sweepFlags) add(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.File, "sweep", "", "train the points of this sweep file (docs/scale.md, \"Sweeps\"): all of them, or --index's or --shard's")
	fs.IntVar(&f.Index, "index", 0, "with --sweep: train point K only (counted from 0; --list shows them)")
	fs.StringVar(&f.Shard, "shard", "", "with --sweep: train points I, I+N, I+2N, … (I/N), or auto (a Kubernetes Indexed Job's or Slurm job array's task)")
	fs.BoolVar(&f.List, "list", false, "with --sweep: print each point's index, folder and state, and train nothing")
}

// used reports whether any sweep flag was given.
func (f *sweepFlags) used(fs *pflag.FlagSet) bool {
	return fs.Changed("sweep") || fs.Changed("index") || fs.Changed("shard") || fs.Changed("list")
}

// sweepRefuses are the flags of a single training that a sweep file says
// for each of its points.
var sweepRefuses = []string{"model", "config", "set", "seed", "resume", "data", "skip-bad", "out"}

// runTrainSweep trains the selected points of a sweep, one after another,
// each in its own folder: started, resumed from its newest checkpoint, or
// left alone when it is finished.
func runTrainSweep(c *cobra.Command, o trainOptions, s streams) error {
	f := o.sweep
	if f.File == "" {
		return usagef("--index, --shard and --list choose points of a sweep: give --sweep FILE")
	}
	for _, name := range sweepRefuses {
		if f.fs.Changed(name) {
			return usagef("--sweep: each point's config and folder come from the sweep file: --%s does not apply (put it in the file's set:, grid: or out:)", name)
		}
	}
	sw, points, err := selectPoints(f.File, f.Index, f.fs.Changed("index"), f.Shard)
	if err != nil {
		return err
	}
	if f.List {
		if f.fs.Changed("index") || f.Shard != "" {
			return usagef("--list prints every point; --index and --shard choose points to train")
		}
		return listPoints(s, sw, o.JSON)
	}
	if len(points) == 0 {
		fmt.Fprintf(s.Err, "sweep %s: this task has no point (the sweep has %d): nothing to do\n", sw.Path, len(sw.Points))
		return nil
	}
	if !o.Quiet {
		printBuild(s.Err)
	}
	var diverged error
	for _, p := range points {
		err := trainPoint(c.Context(), o, s, sw, p)
		var nan *train.NaNError
		switch {
		case errors.As(err, &nan):
			// The sweep's other points go on: a learning rate that diverges
			// is one of the results a sweep looks for.
			fmt.Fprintf(s.Err, "point %d (%s): %v\n", p.Index, p.Name, err)
			if diverged == nil {
				diverged = fmt.Errorf("point %d (%s): %w", p.Index, p.Name, err)
			}
		case err != nil:
			return fmt.Errorf("point %d (%s): %w", p.Index, p.Name, err)
		}
	}
	return diverged
}

// selectPoints loads a sweep file and returns the points --index or
// --shard select: all of them where neither is given.
func selectPoints(file string, index int, indexSet bool, shardArg string) (*sweep.Sweep, []sweep.Point, error) {
	sw, err := sweep.Load(file)
	if err != nil {
		return nil, nil, usageError{err}
	}
	switch {
	case indexSet && shardArg != "":
		return nil, nil, usagef("--index names one point, --shard a task's points: give one or the other")
	case indexSet:
		if index < 0 || index >= len(sw.Points) {
			return nil, nil, usagef("--index %d: %s has %d points, 0 to %d", index, file, len(sw.Points), len(sw.Points)-1)
		}
		return sw, sw.Points[index : index+1], nil
	case shardArg != "":
		spec, err := shard.Parse(shardArg, os.Getenv)
		if err != nil {
			return nil, nil, usageError{err}
		}
		return sw, sw.Select(spec), nil
	}
	return sw, sw.Points, nil
}

// listPoints prints one line per point: its index, folder and state
// (tab-separated, for scripts), or with --json one object per line.
func listPoints(s streams, sw *sweep.Sweep, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(s.Out)
		for _, p := range sw.Points {
			rec := map[string]any{"index": p.Index, "name": p.Name, "dir": p.Dir, "sets": p.Sets, "status": p.Status()}
			if err := enc.Encode(rec); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	for _, p := range sw.Points {
		fmt.Fprintf(w, "%d\t%s\t%s\n", p.Index, p.Dir, p.Status())
	}
	return w.Flush()
}

// trainPoint trains one point in its folder. The folder's lock makes a
// point one task's at a time; a checkpoint there is resumed (if the run
// has the point's config: a changed sweep file is refused, not mixed
// into the run); a run that stopped before its first checkpoint is
// started again.
func trainPoint(ctx context.Context, o trainOptions, s streams, sw *sweep.Sweep, p sweep.Point) (err error) {
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		return fmt.Errorf("run folder: %w", err)
	}
	lock, err := train.LockRunDir(p.Dir)
	if err != nil {
		return err
	}
	defer func() {
		if uerr := lock.Release(); uerr != nil && err == nil {
			err = uerr
		}
	}()
	newest, step, err := p.Newest()
	if err != nil {
		return err
	}
	topts := train.Options{Config: p.Config, RunDir: p.Dir, StopAfter: o.stopAfter}
	if !o.Quiet {
		topts.Log = s.Err
		if s.ErrTTY {
			topts.Progress = s.Err
		}
	}
	what := fmt.Sprintf("point %d of %d (%s)", p.Index, len(sw.Points), p.Dir)
	switch {
	case newest == "":
		if err := restartUnsaved(p); err != nil {
			return err
		}
		if !o.Quiet {
			fmt.Fprintf(s.Err, "%s: training %s (%d steps, seed %d)\n", what, p.Config.Model.Kind, p.Config.Train.Steps, p.Config.Train.Seed)
		}
	default:
		f, err := checkpoint.Read(newest)
		if err != nil {
			return err
		}
		stored, _, err := models.Describe(f, newest)
		if err != nil {
			return err
		}
		if diff := sweep.ConfigDiff(stored, p.Config); len(diff) > 0 {
			return usagef("%s holds a run of another config than the sweep file's point %d (%s): %s; the file changed since it was trained: restore it, or move the folder away",
				p.Dir, p.Index, sw.Path, strings.Join(diff, "; "))
		}
		if step >= p.Config.Train.Steps {
			if !o.Quiet {
				fmt.Fprintf(s.Err, "%s: finished at step %d (train.steps=%d): nothing to do\n", what, step, p.Config.Train.Steps)
			}
			if o.JSON {
				return json.NewEncoder(s.Out).Encode(map[string]any{"index": p.Index, "run_dir": p.Dir, "step": step, "checkpoint": newest, "finished": true, "trained": false})
			}
			return nil
		}
		topts.Resume = newest
		if !o.Quiet {
			fmt.Fprintf(s.Err, "%s: resuming at step %d of %d\n", what, step, p.Config.Train.Steps)
		}
	}
	res, err := train.Run(ctx, topts)
	if res != nil && o.JSON && (err == nil || errors.Is(err, train.ErrInterrupted)) {
		if jerr := printTrainResult(s, p.Dir, res, err != nil); jerr != nil {
			return jerr
		}
	}
	return err
}

// restartUnsaved clears a point's folder for a fresh start where a run
// began there but wrote no checkpoint (a task stopped in its first
// steps): its config.yaml and stats.jsonl, if the config is the point's.
// Anything else in a folder without a checkpoint is left alone.
func restartUnsaved(p sweep.Point) error {
	err := train.CheckNoRun(p.Dir)
	var exists *train.RunExistsError
	if !errors.As(err, &exists) {
		return err
	}
	cfgPath := filepath.Join(p.Dir, "config.yaml")
	b, rerr := os.ReadFile(cfgPath)
	if rerr != nil || string(b) != string(p.Config.YAML()) {
		return usagef("%s holds a run without a checkpoint whose config.yaml is not point %d's: move the folder away", p.Dir, p.Index)
	}
	for _, name := range []string{"stats.jsonl", "config.yaml"} {
		if err := os.Remove(filepath.Join(p.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("run folder: %w", err)
		}
	}
	return nil
}
