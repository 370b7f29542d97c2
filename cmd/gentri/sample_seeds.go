package main

import (
	"encoding/json"
	"fmt"
	"image"
	_ "image/png" // DecodeConfig of the files a rerun keeps
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/sample"
	"github.com/gentri/gentri/internal/shard"
	"github.com/gentri/gentri/internal/train"
)

// seedsBatch is how many samples `sample --seeds` draws per call of the
// model, and so how much work an interruption loses at most: every file
// is written as soon as its batch is drawn.
const seedsBatch = 100

// runSampleSeeds draws one PNG per seed of --seeds into --each, or with
// --shard only the shard's contiguous block of the list. Each sample
// depends on its seed (and class) alone, so the union of any number of
// shards is byte for byte the unsharded folder. Files are written
// atomically (a temporary file renamed), so a file under its final name is
// complete: a rerun keeps those, after checking each is a 28x28 PNG, and
// draws the rest.
func runSampleSeeds(o sampleOptions, s streams, m models.Model, cfg *config.Config) error {
	shape := models.ShapeOf(cfg)
	switch {
	case o.Seeds == "":
		return usagef("--shard divides a list of seeds: give it with --seeds, e.g. --seeds 0-49999")
	case o.Each == "":
		return usagef("--seeds writes one PNG per seed: give their folder with --each")
	case o.SeedSet || o.NSet:
		return usagef("--seeds lists the samples' seeds; --seed and --n choose them another way: give one or the other")
	case o.OutSet || o.Cols != 0:
		return usagef("--out and --cols lay out a grid; --seeds writes only the --each files (draw a grid with --seed and --n)")
	case o.Recon || o.Trajectory != "" || o.Forward != "":
		return usagef("--seeds draws samples; --recon, --trajectory and --forward draw other pictures")
	}
	if _, points := data.MixtureByName(cfg.Data.Dataset); points {
		return usagef("--seeds writes images; a %s model's samples are points (gentri eval measures them)", cfg.Model.Kind)
	}
	seeds, err := shard.ParseSeeds(o.Seeds)
	if err != nil {
		return usageError{err}
	}
	spec := shard.Whole
	if o.Shard != "" {
		if spec, err = shard.Parse(o.Shard, os.Getenv); err != nil {
			return usageError{err}
		}
	}
	if spec.Count > len(seeds) {
		return usagef("--shard %s: %d seeds cannot be split into %d shards", spec, len(seeds), spec.Count)
	}
	labels, err := seedLabels(m, len(seeds), o.Class, o.Unconditional)
	if err != nil {
		return err
	}
	lo, hi := spec.Block(len(seeds))
	if err := removeStaleTemps(o.Each, seeds[lo:hi]); err != nil {
		return err
	}
	var todo []int // positions in seeds still to draw
	for i := lo; i < hi; i++ {
		done, err := completeSample(eachPath(o.Each, seeds[i]), shape)
		if err != nil {
			return err
		}
		if !done {
			todo = append(todo, i)
		}
	}
	kept := hi - lo - len(todo)
	nfe := 1
	if smp, ok := m.(models.Sampler); ok {
		nfe = smp.NFE()
	}
	what := fmt.Sprintf("shard %s: sampling", spec)
	if !o.Quiet {
		fmt.Fprintf(s.Err, "shard %s: seeds %s (%d of %d), %d already in %s, %d to draw at %d network evaluations each\n",
			spec, seedSpan(seeds[lo:hi]), hi-lo, len(seeds), kept, o.Each, len(todo), nfe)
	}
	bar := progress(s, o.Quiet, hi-lo, what)
	bar.Set(kept)
	for start := 0; start < len(todo); start += seedsBatch {
		if o.ctx != nil && o.ctx.Err() != nil {
			bar.Finish()
			return fmt.Errorf("shard %s: stopped after %d of %d files, each complete (rerun to draw the rest): %w", spec, kept+start, hi-lo, train.ErrInterrupted)
		}
		idx := todo[start:min(start+seedsBatch, len(todo))]
		bs, bl := make([]uint64, len(idx)), make([]int, len(idx))
		for j, i := range idx {
			bs[j], bl[j] = seeds[i], labels[i]
		}
		imgs, err := m.Generate(bs, bl)
		if err != nil {
			return fmt.Errorf("shard %s: %w", spec, err)
		}
		for j, img := range imgs {
			if err := sample.WritePNG(eachPath(o.Each, bs[j]), sample.Picture(img, shape.C, shape.H, shape.W)); err != nil {
				return err
			}
		}
		bar.Set(kept + start + len(idx))
	}
	bar.Finish()
	if !o.Quiet {
		fmt.Fprintf(s.Err, "shard %s: wrote %d files, kept %d, in %s (%s)\n", spec, len(todo), kept, o.Each, o.Checkpoint)
	}
	if o.JSON {
		rec := map[string]any{"checkpoint": o.Checkpoint, "model": cfg.Model.Kind, "each": o.Each, "seeds": o.Seeds,
			"shard": spec.String(), "shard_index": spec.Index, "shard_count": spec.Count, "n": hi - lo,
			"written": len(todo), "kept": kept, "class": o.Class, "unconditional": o.Unconditional, "nfe_per_sample": nfe}
		if hi > lo {
			rec["first_seed"], rec["last_seed"] = seeds[lo], seeds[hi-1]
		}
		return json.NewEncoder(s.Out).Encode(rec)
	}
	return nil
}

// seedLabels returns the class of the sample at each position of a seed
// list: --class, none (-1) for an unconditional model or --unconditional,
// and otherwise position mod classes (as gentri eval draws them), so that
// every shard holds every class and a sample's class does not depend on
// the sharding.
func seedLabels(m models.Model, n, class int, uncond bool) ([]int, error) {
	var ignoredCols int
	labels, err := sampleLabels(m, n, class, uncond, &ignoredCols)
	if err != nil {
		return nil, err
	}
	if c, ok := m.(models.Conditional); ok && class < 0 && !uncond {
		for i := range labels {
			labels[i] = i % c.NumClasses()
		}
	}
	return labels, nil
}

// eachPath is the file of one sample: seed%08d.png, as sample --each names it.
func eachPath(dir string, seed uint64) string {
	return filepath.Join(dir, fmt.Sprintf("seed%08d.png", seed))
}

// completeSample reports whether a sample's file is already there. The
// files are renamed into place whole, so one that exists is complete; one
// that is not a 28x28 PNG was not written by gentri, and is refused rather
// than overwritten.
func completeSample(path string, shape models.Shape) (bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	c, format, err := image.DecodeConfig(f)
	if err != nil || format != "png" || c.Width != shape.W || c.Height != shape.H {
		return false, fmt.Errorf("%s exists but is not a %dx%d PNG (%v): move it away and rerun to draw it again", path, shape.W, shape.H, err)
	}
	return true, nil
}

// removeStaleTemps deletes the temporary files an interrupted run left
// for this shard's seeds (sample.WritePNG names them .seed00000042.png.*.tmp);
// those of other shards, which may be writing beside it, are left alone.
func removeStaleTemps(dir string, seeds []uint64) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	mine := make(map[uint64]bool, len(seeds))
	for _, v := range seeds {
		mine[v] = true
	}
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, ".seed")
		if !ok || !strings.HasSuffix(name, ".tmp") {
			continue
		}
		digits, _, _ := strings.Cut(rest, ".png.")
		v, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || !mine[v] {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// seedSpan writes a shard's seeds as "A-B" when they are a range.
func seedSpan(seeds []uint64) string {
	if len(seeds) == 0 {
		return "(none)"
	}
	for i, v := range seeds {
		if v != seeds[0]+uint64(i) {
			return fmt.Sprintf("%d, …, %d", seeds[0], seeds[len(seeds)-1])
		}
	}
	return fmt.Sprintf("%d-%d", seeds[0], seeds[len(seeds)-1])
}
