package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/shard"
)

// runEvalShard runs the sharded forms of `gentri eval`: --seeds (a seed
// range), --partial (one shard's samples and features, with --shard) and
// --merge (partials into the record of the whole evaluation).
func runEvalShard(ctx context.Context, o evalOptions, s streams) error {
	if o.Merge {
		return runEvalMerge(ctx, o, s)
	}
	if o.Seeds != "" {
		if o.changed("seed") || o.changed("n") {
			return usagef("--seeds lists the samples' seeds; --seed and --n choose them another way: give one or the other")
		}
		first, n, err := shard.SeedRange(o.Seeds)
		if err != nil {
			return usageError{err}
		}
		o.Seed, o.N, o.NSet = first, n, true
	}
	switch {
	case o.Partial == "" && o.Samples != "" && o.Seeds != "":
		return usagef("--seeds with --samples names the files a --partial reads; without --partial every PNG of the folder is scored: drop --seeds")
	case o.Partial == "" && o.Shard != "":
		return usagef("--shard %s: one shard's figures are not the model's: write the shard's partial with --partial FILE, then merge them with --merge", o.Shard)
	case o.Partial == "":
		return runEval(ctx, o, s)
	case len(o.Gates) > 0:
		return usagef("--fail-if judges the whole evaluation: give it to --merge")
	case o.Sweep != "":
		return usagef("--sweep-steps runs whole evaluations; --partial draws one shard")
	case o.Samples != "" && o.Seeds == "":
		return usagef("--samples with --partial: give the folder's seeds with --seeds A-B (files seed%%08d.png, as gentri sample --each names them)")
	case o.N < 2:
		return usagef("--n must be at least 2, got %d", o.N)
	}
	spec := shard.Whole
	if o.Shard != "" {
		var err error
		if spec, err = shard.Parse(o.Shard, os.Getenv); err != nil {
			return usageError{err}
		}
	}
	eo, logw := evalOptionsOf(o, s)
	if o.Samples == "" {
		if err := openForEval(&o, &eo, logw); err != nil {
			return err
		}
	}
	p, err := eval.RunPartial(ctx, eo, spec, o.Partial)
	if err != nil {
		return evalResult(err, nil)
	}
	fmt.Fprintf(logw, "wrote %s (%s)\n", o.Partial, p)
	if o.JSON {
		return json.NewEncoder(s.Out).Encode(map[string]any{"partial": o.Partial, "checkpoint": o.Checkpoint, "samples": o.Samples, "model": p.Model,
			"shard": spec.String(), "shard_index": spec.Index, "shard_count": spec.Count, "n": p.Hi - p.Lo, "n_total": p.N,
			"first_seed": p.Seed + uint64(p.Lo), "last_seed": p.Seed + uint64(p.Hi-1)})
	}
	return nil
}

// mergeRefuses are the flags that choose what to sample: --merge takes
// all of that from the partials.
var mergeRefuses = []string{"checkpoint", "model", "samples", "n", "seed", "seeds", "shard", "partial", "unconditional",
	"iwae-k", "iwae-images", "sweep-steps", "sweep-plot", "plot", "sampler", "steps", "eta", "variance", "guidance", "clip"}

// runEvalMerge merges partials into one record, judged by --fail-if and
// printed as an unsharded run prints it.
func runEvalMerge(ctx context.Context, o evalOptions, s streams) error {
	for _, name := range mergeRefuses {
		if o.changed(name) {
			return usagef("--merge takes the checkpoint, sampler and samples from the partials: --%s does not apply", name)
		}
	}
	if len(o.MergeFiles) == 0 {
		return usagef("--merge: give the partial files to merge, e.g. gentri eval --merge part-*.safetensors")
	}
	gates, err := parseGates(o.Gates)
	if err != nil {
		return err
	}
	eo, _ := evalOptionsOf(o, s)
	eo.TrainClassifier = nil // the partials name their feature network: it must be there, not trained anew
	rec, err := eval.Merge(ctx, eo, o.MergeFiles)
	if err != nil {
		return evalResult(err, nil)
	}
	failed, err := eval.CheckGates(rec, gates)
	if err != nil {
		return usageError{err}
	}
	if err := output(o, s, rec); err != nil {
		return err
	}
	return evalResult(nil, failed)
}
