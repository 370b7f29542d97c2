package eval

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/gentri/gentri/internal/shard"
	"github.com/gentri/gentri/internal/version"
)

// SeedFileName is the file of the sample of one seed in a folder of saved
// samples: seed00000042.png, the name `gentri sample --each` gives it.
func SeedFileName(seed uint64) string { return fmt.Sprintf("seed%08d.png", seed) }

// runSamplesPartial reads shard spec's block of a folder of saved samples
// (o.Samples: seeds o.Seed … o.Seed+N−1 named by SeedFileName, as a
// sharded `gentri sample --seeds --each` writes them) and writes the
// partial of their features to path. Saved samples carry no timings, so
// such partials merge into a record without speed figures; a shard can
// score the files another machine drew. The merge of all shards is the
// record of `gentri eval --samples` on a folder of exactly those files.
func runSamplesPartial(ctx context.Context, o Options, spec shard.Spec, path string) (*Partial, error) {
	if spec.Count > o.N {
		return nil, usagef("--shard %s: %d samples cannot be split into %d shards", spec, o.N, spec.Count)
	}
	set, ext, err := o.scoredData(ctx, "--partial")
	if err != nil {
		return nil, err
	}
	lo, hi := spec.Block(o.N)
	p := &Partial{PartialMeta: PartialMeta{Format: partialFormat, Model: "samples", SamplesDir: o.Samples, ExtractorHash: ext.Hash,
		Classes: ext.Model.Classes, DataSHA256: set.Info.SHA256, Seed: o.Seed, N: o.N, Shard: spec.Index, Shards: spec.Count,
		Lo: lo, Hi: hi, Hardware: CurrentHardware(), Version: version.Version}}
	what := "reading samples"
	if spec != shard.Whole {
		what = fmt.Sprintf("shard %s: reading samples", spec)
	}
	bar := o.bar(hi-lo, what)
	imgs := make([][]float32, 0, hi-lo)
	img := o.shape()
	for i := lo; i < hi; i++ {
		px, err := loadPlanes(filepath.Join(o.Samples, SeedFileName(o.Seed+uint64(i))), img.C, img.H, img.W)
		if err != nil {
			return nil, UsageError{fmt.Errorf("%w (a shard reads seeds %d-%d of --samples, named as gentri sample --each names them)",
				err, o.Seed+uint64(lo), o.Seed+uint64(hi-1))}
		}
		imgs = append(imgs, px)
		bar.Set(len(imgs))
	}
	bar.Finish()
	if p.Features, p.Probs, err = ext.Model.Features(imgs); err != nil {
		return nil, err
	}
	p.SumF, p.SumFF = featureSums(p.Features)
	if err := WritePartial(path, p); err != nil {
		return nil, err
	}
	p.Path = path
	return p, nil
}
