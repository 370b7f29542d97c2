package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/shard"
	"github.com/gentri/gentri/internal/sweep"
)

// evalSweepRefuses are the flags that name what to evaluate, or write one
// file for one evaluation: --sweep evaluates each point's newest
// checkpoint and writes its record in the point's folder.
var evalSweepRefuses = []string{"checkpoint", "model", "samples", "partial", "merge", "sweep-steps", "sweep-samplers", "sweep-nfe", "sweep-plot", "plot"}

// runEvalSweep evaluates the newest checkpoint of each selected point of
// a sweep and writes its record (the line `gentri eval --json` prints) to
// the point's eval.json. A point whose eval.json already records its
// newest checkpoint is skipped, so a rerun task redoes only what is
// missing; one without a checkpoint is named, and the command fails once
// the others are done.
func runEvalSweep(ctx context.Context, o evalOptions, s streams) error {
	if o.SweepFile == "" {
		return usagef("--index chooses a point of a sweep: give --sweep FILE")
	}
	for _, name := range evalSweepRefuses {
		if o.changed(name) {
			return usagef("--sweep evaluates each point's newest checkpoint into its folder's %s: --%s does not apply", sweep.RecordFile, name)
		}
	}
	if o.Seeds != "" {
		if o.changed("seed") || o.changed("n") {
			return usagef("--seeds lists the samples' seeds; --seed and --n choose them another way: give one or the other")
		}
		first, n, err := shard.SeedRange(o.Seeds)
		if err != nil {
			return usageError{err}
		}
		o.Seed, o.N, o.NSet, o.Seeds = first, n, true, ""
	}
	sw, points, err := selectPoints(o.SweepFile, o.Index, o.changed("index"), o.Shard)
	if err != nil {
		return err
	}
	o.Shard = ""
	if len(points) == 0 {
		fmt.Fprintf(s.Err, "sweep %s: this task has no point (the sweep has %d): nothing to do\n", sw.Path, len(sw.Points))
		return nil
	}
	var untrained []string
	var gates gateError
	for _, p := range points {
		ckpt, _, err := p.Newest()
		if err != nil {
			return err
		}
		if ckpt == "" {
			untrained = append(untrained, fmt.Sprintf("%d (%s)", p.Index, p.Dir))
			fmt.Fprintf(s.Err, "point %d (%s): no checkpoint to evaluate\n", p.Index, p.Dir)
			continue
		}
		recPath := filepath.Join(p.Dir, sweep.RecordFile)
		if evaluated(recPath, ckpt) {
			if !o.Quiet {
				fmt.Fprintf(s.Err, "point %d: %s already records %s: nothing to do (remove it to evaluate again)\n", p.Index, recPath, filepath.Base(ckpt))
			}
			continue
		}
		if !o.Quiet {
			fmt.Fprintf(s.Err, "point %d of %d: evaluating %s\n", p.Index, len(sw.Points), ckpt)
		}
		po := o
		po.Checkpoint, po.JSON = ckpt, true
		var rec bytes.Buffer
		err = runEval(ctx, po, streams{Out: &rec, Err: s.Err, ErrTTY: s.ErrTTY})
		var gate gateError
		if errors.As(err, &gate) {
			gates.failed = append(gates.failed, gate.failed...)
		} else if err != nil {
			return fmt.Errorf("point %d (%s): %w", p.Index, p.Dir, err)
		}
		if err := writeFileAtomic(recPath, rec.Bytes()); err != nil {
			return err
		}
		if o.JSON {
			s.Out.Write(rec.Bytes())
		}
		if !o.Quiet {
			fmt.Fprintf(s.Err, "wrote %s\n", recPath)
		}
	}
	if len(untrained) > 0 {
		return fmt.Errorf("%d of the %d points have no checkpoint (train them first: gentri train --sweep %s): %s", len(untrained), len(points), sw.Path, strings.Join(untrained, ", "))
	}
	if len(gates.failed) > 0 {
		return gates
	}
	return nil
}

// evaluated reports whether the record file at path is the evaluation of
// checkpoint ckpt (by its file name: the sweep's root may be mounted at
// another path on another machine).
func evaluated(path, ckpt string) bool {
	recs, err := eval.ReadRecords([]string{path})
	return err == nil && len(recs) > 0 && filepath.Base(recs[len(recs)-1].Checkpoint) == filepath.Base(ckpt)
}

// writeFileAtomic writes b to path through a temporary file renamed into
// place, so a reader (gentri report, another task) never sees half a record.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
