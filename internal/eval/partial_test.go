package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/shard"
)

// partialFixture is an evaluation of n samples with d-dimensional features
// (random, so the figures are not trivial) against a random reference,
// with classes asked for, cut into shards by partials.
type partialFixture struct {
	ext          *Extractor
	ref          *Reference
	feats, probs [][]float64
	labels       []int
	runs         []time.Duration // the timed batches of the unsharded run
}

const fixtureClasses = 10

func newPartialFixture(t *testing.T, n, d int) *partialFixture {
	t.Helper()
	r := newRand(3)
	real := correlatedSet(r, 400, d, 0)
	g, err := FitGaussian(real)
	if err != nil {
		t.Fatal(err)
	}
	ref := &Reference{Features: real, Gaussian: g}
	for c := 0; c < fixtureClasses; c++ {
		ref.ClassGaussians = append(ref.ClassGaussians, g)
	}
	f := &partialFixture{ext: &Extractor{Model: &models.ClassifierModel{Classifier: &models.Classifier{Classes: fixtureClasses}}, Hash: "feature-net-hash"}, ref: ref,
		feats: correlatedSet(r, n, d, 0.3)}
	for i := 0; i < n; i++ {
		p := make([]float64, fixtureClasses)
		for k := range p {
			p[k] = r.Float64() + 0.01
		}
		f.probs = append(f.probs, p)
		f.labels = append(f.labels, i%fixtureClasses)
	}
	for i := 0; i < 2*n/SpeedBatchSize+3; i++ {
		f.runs = append(f.runs, time.Duration(1000+r.IntN(1000))*time.Millisecond)
	}
	return f
}

// part cuts shard spec's block out of the fixture, as samplePartial would.
func (f *partialFixture) part(spec shard.Spec) *Partial {
	n := len(f.feats)
	lo, hi := spec.Block(n)
	p := &Partial{PartialMeta: PartialMeta{Format: partialFormat, Model: "cgan", Checkpoint: "c.safetensors", CheckpointHash: "ckpt-hash",
		Sampler: &Sampler{Name: "ddim", Steps: 10}, Conditional: true, ExtractorHash: f.ext.Hash, Classes: fixtureClasses,
		Seed: 7, N: n, Shard: spec.Index, Shards: spec.Count, Lo: lo, Hi: hi, NFE: 10, Hardware: CurrentHardware()},
		Features: f.feats[lo:hi], Probs: f.probs[lo:hi], Labels: f.labels[lo:hi],
		Path: filepath.Join("parts", spec.String())}
	// Each shard times its own batches: hand them out in order.
	rlo, rhi := spec.Block(len(f.runs))
	p.Runs = f.runs[rlo:rhi]
	p.SumF, p.SumFF = featureSums(p.Features)
	return p
}

// Merging any number of shards gives the figures of scoring all samples
// as one set, bit for bit, and the median of all the shards' timed
// batches; partials survive a round trip through their files unchanged.
func TestMergedPartialsScoreAsOneSet(t *testing.T) {
	f := newPartialFixture(t, 300, 12)
	want, _, err := scoreFeatures(f.ref, fixtureClasses, f.feats, f.probs, f.labels, 7)
	if err != nil {
		t.Fatal(err)
	}
	wantSpeed, err := summarizeRuns(10, f.runs, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, count := range []int{1, 3, 4} {
		var parts []*Partial
		for i := count - 1; i >= 0; i-- { // given in any order
			p := f.part(shard.Spec{Index: i, Count: count})
			path := filepath.Join(dir, fmt.Sprintf("part-%d-of-%d.safetensors", i, count))
			if err := WritePartial(path, p); err != nil {
				t.Fatal(err)
			}
			back, err := ReadPartial(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.PartialMeta, p.PartialMeta) || !reflect.DeepEqual(back.Features, p.Features) ||
				!reflect.DeepEqual(back.Probs, p.Probs) || !reflect.DeepEqual(back.Labels, p.Labels) || !reflect.DeepEqual(back.Runs, p.Runs) {
				t.Fatalf("%d shards: shard %d changed through its file", count, i)
			}
			parts = append(parts, back)
		}
		rec, err := mergePartials(f.ext, f.ref, parts)
		if err != nil {
			t.Fatalf("%d shards: %v", count, err)
		}
		if !reflect.DeepEqual(*rec.Metrics, want) {
			t.Errorf("%d shards: merged %+v\nwant %+v", count, *rec.Metrics, want)
		}
		if rec.Speed.SecondsPer100 != wantSpeed.SecondsPer100 || rec.Seed != 7 || rec.Sampler.Steps != 10 || rec.Checkpoint != "c.safetensors" {
			t.Errorf("%d shards: speed %v (want %v), seed %d, sampler %+v, checkpoint %s", count, rec.Speed, wantSpeed, rec.Seed, rec.Sampler, rec.Checkpoint)
		}
	}
}

// Partials that are not shards of one evaluation, or that leave samples
// out or hold some twice, are refused with an error naming the file.
func TestMergeRefusesPartialsThatDisagree(t *testing.T) {
	f := newPartialFixture(t, 300, 6)
	of3 := func(i int) *Partial { return f.part(shard.Spec{Index: i, Count: 3}) }
	with := func(i int, change func(p *Partial)) *Partial { p := of3(i); change(p); return p }
	cases := []struct {
		name  string
		parts []*Partial
		want  string
	}{
		{"another checkpoint", []*Partial{of3(0), with(1, func(p *Partial) { p.CheckpointHash = "other" }), of3(2)}, "parts/1/3 are not shards of one evaluation: checkpoint"},
		{"another feature network", []*Partial{of3(0), of3(1), with(2, func(p *Partial) { p.ExtractorHash = "other" })}, "parts/2/3 are not shards of one evaluation: feature network"},
		{"another sampler", []*Partial{of3(0), with(1, func(p *Partial) { p.Sampler = &Sampler{Name: "ddim", Steps: 20} }), of3(2)}, "sampler ddim 10 steps"},
		{"other seeds", []*Partial{of3(0), with(1, func(p *Partial) { p.Seed = 8 }), of3(2)}, "samples (--seed, --n)"},
		{"unconditional", []*Partial{of3(0), with(1, func(p *Partial) { p.Unconditional = true }), of3(2)}, "conditioning"},
		{"a shard missing", []*Partial{of3(0), of3(2)}, "seeds 107-206 (samples 100..199 of 300) are in none of the partials: the shard before parts/2/3"},
		{"the last shard missing", []*Partial{of3(0), of3(1)}, "seeds 207-306 (samples 200..299 of 300) are in none of the partials"},
		{"the first shard missing", []*Partial{of3(1), of3(2)}, "seeds 7-106"},
		{"a shard twice", []*Partial{of3(0), of3(1), of3(1), of3(2)}, "parts/1/3 holds samples 100..199 (seeds 107-206), which overlap those of parts/1/3"},
		{"shards of different cuts overlap", []*Partial{of3(0), f.part(shard.Spec{Index: 1, Count: 4}), of3(1), of3(2)}, "overlap"},
		{"this machine's feature network", []*Partial{with(0, func(p *Partial) { p.ExtractorHash = "x" }), with(1, func(p *Partial) { p.ExtractorHash = "x" })}, "give the partials' one with --extractor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := mergePartials(f.ext, f.ref, c.parts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// A file that is not a partial, or whose sums are not those of its
// features, is refused on reading, naming the file.
func TestReadPartialRefusesOtherFiles(t *testing.T) {
	f := newPartialFixture(t, 40, 4)
	dir := t.TempDir()
	other := filepath.Join(dir, "ckpt.safetensors")
	if err := checkpoint.WriteAtomic(other, &checkpoint.File{Tensors: []checkpoint.Tensor{checkpoint.Float64s("w", []int{1}, []float64{1})}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPartial(other); err == nil || !strings.Contains(err.Error(), other+" is not a partial evaluation") {
		t.Errorf("a checkpoint read as a partial: %v", err)
	}
	p := f.part(shard.Whole)
	p.SumF = append([]float64(nil), p.SumF...)
	p.SumF[0]++
	bad := filepath.Join(dir, "bad.safetensors")
	if err := WritePartial(bad, p); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPartial(bad); err == nil || !strings.Contains(err.Error(), bad+": the sums") {
		t.Errorf("sums that are not the features': %v", err)
	}
	if _, err := ReadPartial(filepath.Join(dir, "none")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("a missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
