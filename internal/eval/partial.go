package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/shard"
	"github.com/gentri/gentri/internal/version"
)

// A partial evaluation is what the metrics need from one shard of an
// evaluation's samples (docs/scale.md): the features and class
// probabilities of each sample (precision/recall/density/coverage and KID
// compare individual samples, so no summary will do), the classes asked
// for, the count and the float64 sums Σf and Σffᵀ of the features, the
// duration of each timed batch, and the identity of what was measured.
// Merging partials scores the rows of all of them in sample order with the
// code an unsharded run uses; an unsharded run is one partial, merged.
//
// The figures come from the features, not from adding the shards' Σf and
// Σffᵀ: float64 addition is not associative, so sums added shard by shard
// differ in the last bits from the sums over all samples, and the record
// would depend on the number of shards. The sums are written for tools that
// want a Fréchet distance without the features; the merge checks them.

// partialFormat names the file format, in the metadata of each partial.
const partialFormat = "gentri-eval-partial/1"

// partialKey is the safetensors metadata key that holds a partial's identity.
const partialKey = "gentri.eval_partial"

// PartialMeta says what a partial measured: partials merge only where all
// of this agrees (but the block and the speed figures), and their blocks
// tile [0, N).
type PartialMeta struct {
	Format         string   `json:"format"`
	Model          string   `json:"model"`
	Checkpoint     string   `json:"checkpoint"`
	CheckpointHash string   `json:"checkpoint_sha256"` // of the file's bytes
	Step           int      `json:"step,omitempty"`
	Sampler        *Sampler `json:"sampler,omitempty"`
	Unconditional  bool     `json:"unconditional,omitempty"`
	Conditional    bool     `json:"conditional,omitempty"` // samples were drawn with classes (labels stored)
	ExtractorHash  string   `json:"extractor_sha256"`
	Classes        int      `json:"classes"`     // of the feature network
	DataSHA256     string   `json:"data_sha256"` // content hash of the reference data
	// Seed and N are the whole evaluation's: samples Lo..Hi−1 of it, with
	// seeds Seed+Lo … Seed+Hi−1, are this partial's.
	Seed   uint64 `json:"seed"`
	N      int    `json:"n"`
	Shard  int    `json:"shard"`
	Shards int    `json:"shards"`
	Lo     int    `json:"lo"`
	Hi     int    `json:"hi"`

	NFE       int      `json:"nfe"`
	PeakRSSMB *float64 `json:"peak_rss_mb,omitempty"` // nil where /proc is unavailable
	Hardware  Hardware `json:"hardware"`
	Version   string   `json:"gentri_version"`

	// The likelihood figures are not divided: shard 0 computes them (they
	// score the test set, not the samples).
	TestNELBO  *float64 `json:"test_nelbo,omitempty"`
	IWAENLL    *float64 `json:"iwae_nll,omitempty"`
	IWAEK      int      `json:"iwae_k,omitempty"`
	IWAEImages int      `json:"iwae_images,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	// SamplesDir is the folder a partial of saved samples read them from
	// (Model "samples"; partial_samples.go).
	SamplesDir string `json:"samples_dir,omitempty"`
}

// Partial is one shard's partial evaluation.
type Partial struct {
	PartialMeta
	Features, Probs [][]float64 // one row per sample, in sample order
	Labels          []int       // the class each sample was asked for; nil unless Conditional
	SumF            []float64   // Σ_i f_i, summed in sample order
	SumFF           []float64   // Σ_i f_i f_iᵀ (d×d, row-major), summed in sample order
	Runs            []time.Duration
	Path            string // the file it was read from, for messages
}

// featureSums returns Σf and Σffᵀ of rows, each summed in row order.
func featureSums(rows [][]float64) (sum, outer []float64) {
	if len(rows) == 0 {
		return nil, nil
	}
	d := len(rows[0])
	sum, outer = make([]float64, d), make([]float64, d*d)
	for _, f := range rows {
		for a, fa := range f {
			sum[a] += fa
			r := outer[a*d : (a+1)*d]
			for b, fb := range f {
				r[b] += fa * fb
			}
		}
	}
	return sum, outer
}

// FileSHA256 is the hex SHA-256 of a file's bytes: a checkpoint's identity
// in a partial, whatever path each machine reads it from.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// samplePartial draws shard spec's block of o's samples and keeps what
// the metrics need of them; shard 0 also measures the likelihood.
func samplePartial(o Options, ext *Extractor, set *data.Set, spec shard.Spec) (*Partial, error) {
	m, cfg := o.Model, o.Config
	if o.Unconditional {
		if _, ok := m.(models.Conditional); !ok {
			return nil, usagef("--unconditional: a %s model has no classes to leave out", cfg.Model.Kind)
		}
		if smp, ok := m.(models.Sampler); ok && smp.Options().Guidance != 0 {
			return nil, usagef("--guidance needs a class: classifier-free guidance pushes each sample towards its label")
		}
	}
	if spec.Count > o.N {
		return nil, usagef("--shard %s: %d samples cannot be split into %d shards", spec, o.N, spec.Count)
	}
	lo, hi := spec.Block(o.N)
	p := &Partial{PartialMeta: PartialMeta{Format: partialFormat, Model: cfg.Model.Kind, Checkpoint: o.Checkpoint,
		Step: o.Step, Sampler: SamplerOf(m), Unconditional: o.Unconditional, ExtractorHash: ext.Hash,
		Classes: ext.Model.Classes, DataSHA256: set.Info.SHA256, Seed: o.Seed, N: o.N, Shard: spec.Index, Shards: spec.Count, Lo: lo, Hi: hi,
		Hardware: CurrentHardware(), Version: version.Version}}
	if o.Checkpoint != "" {
		h, err := FileSHA256(o.Checkpoint)
		if err != nil {
			return nil, err
		}
		p.CheckpointHash = h
	}
	what := "sampling"
	if spec != shard.Whole {
		what = fmt.Sprintf("shard %s: sampling", spec)
	}
	bar := o.bar(hi-lo, what)
	imgs, labels, nfe, runs, err := generate(m, GenerateOptions{N: hi - lo, Seed: o.Seed, Offset: lo, Log: o.log(),
		Progress: func(done, _ int) { bar.Set(done) }, Unconditional: o.Unconditional})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	p.NFE, p.Runs, p.Labels, p.Conditional = nfe, runs, labels, labels != nil
	if peak := PeakRSSMB(); !math.IsNaN(peak) {
		p.PeakRSSMB = &peak
	}
	if p.Features, p.Probs, err = ext.Model.Features(imgs); err != nil {
		return nil, err
	}
	p.SumF, p.SumFF = featureSums(p.Features)
	if lik, ok := m.(models.Likelihood); ok && spec.Index == 0 {
		var r Record
		if err := runLikelihood(o, lik, set.Test, &r); err != nil {
			return nil, err
		}
		p.TestNELBO, p.IWAENLL, p.IWAEK, p.IWAEImages, p.Warnings = r.TestNELBO, r.IWAENLL, r.IWAEK, r.IWAEImages, r.Warnings
	}
	return p, nil
}

// mergePartials checks that parts are shards of one evaluation that
// together hold each of its samples once, and scores their rows in sample
// order (by block, within a block by sample) as one set.
func mergePartials(ext *Extractor, ref *Reference, parts []*Partial) (*Record, error) {
	if len(parts) == 0 {
		return nil, usagef("--merge: no partials given")
	}
	parts = slices.Clone(parts)
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].Lo < parts[j].Lo })
	first := parts[0]
	if first.ExtractorHash != ext.Hash {
		return nil, fmt.Errorf("%s was scored with feature network %.16s, this one is %.16s (%s): give the partials' one with --extractor",
			first.Path, first.ExtractorHash, ext.Hash, ext.Path)
	}
	next := 0
	var prev *Partial
	for _, p := range parts {
		if err := sameEvaluation(first, p); err != nil {
			return nil, err
		}
		switch {
		case p.Lo < next:
			return nil, fmt.Errorf("%s holds samples %d..%d (seeds %d-%d), which overlap those of %s (up to sample %d)",
				p.Path, p.Lo, p.Hi-1, p.Seed+uint64(p.Lo), p.Seed+uint64(p.Hi-1), prev.Path, next-1)
		case p.Lo > next:
			return nil, fmt.Errorf("seeds %d-%d (samples %d..%d of %d) are in none of the partials: the shard before %s is missing",
				p.Seed+uint64(next), p.Seed+uint64(p.Lo-1), next, p.Lo-1, p.N, p.Path)
		}
		next, prev = p.Hi, p
	}
	if next != first.N {
		return nil, fmt.Errorf("seeds %d-%d (samples %d..%d of %d) are in none of the partials: the shard after %s is missing",
			first.Seed+uint64(next), first.Seed+uint64(first.N-1), next, first.N-1, first.N, prev.Path)
	}

	var feats, probs [][]float64
	var labels []int
	var runs []time.Duration
	peak := math.NaN()
	for _, p := range parts {
		feats, probs = append(feats, p.Features...), append(probs, p.Probs...)
		if first.Conditional {
			labels = append(labels, p.Labels...)
		}
		runs = append(runs, p.Runs...)
		if p.PeakRSSMB != nil && !(*p.PeakRSSMB <= peak) {
			peak = *p.PeakRSSMB
		}
	}
	rec := NewRecord(first.Model, ext, first.Seed)
	rec.Checkpoint, rec.Step, rec.Sampler, rec.Unconditional = first.Checkpoint, first.Step, first.Sampler, first.Unconditional
	rec.SamplesDir, rec.Hardware = first.SamplesDir, first.Hardware
	metrics, warns, err := scoreFeatures(ref, ext.Model.Classes, feats, probs, labels, first.Seed)
	if err != nil {
		return nil, err
	}
	rec.Metrics, rec.Warnings = &metrics, warns
	if len(runs) > 0 || first.SamplesDir == "" { // saved samples were not timed
		if rec.Speed, err = summarizeRuns(first.NFE, runs, peak); err != nil {
			return nil, err
		}
	}
	for _, p := range parts {
		if p.Shard == 0 {
			rec.TestNELBO, rec.IWAENLL, rec.IWAEK, rec.IWAEImages = p.TestNELBO, p.IWAENLL, p.IWAEK, p.IWAEImages
			rec.Warnings = append(rec.Warnings, p.Warnings...)
		}
		if p.Hardware != first.Hardware {
			rec.Warnings = append(rec.Warnings, fmt.Sprintf("speed: the shards ran on different machines (%s: %s, %d threads; %s: %s, %d threads): the median mixes them",
				first.Path, first.Hardware.CPU, first.Hardware.GOMAXPROCS, p.Path, p.Hardware.CPU, p.Hardware.GOMAXPROCS))
			first = p // name each different machine once
		}
	}
	return rec, nil
}

// sameEvaluation refuses a partial b that measured something else than a:
// another checkpoint, feature network, sampler or set of samples.
func sameEvaluation(a, b *Partial) error {
	differ := func(what string, x, y any) error {
		return fmt.Errorf("%s and %s are not shards of one evaluation: %s %v vs %v", a.Path, b.Path, what, x, y)
	}
	switch {
	case a.Format != b.Format:
		return differ("format", a.Format, b.Format)
	case a.CheckpointHash != b.CheckpointHash:
		return differ("checkpoint (SHA-256 of the file)", a.Checkpoint+" "+short(a.CheckpointHash), b.Checkpoint+" "+short(b.CheckpointHash))
	case a.Model != b.Model:
		return differ("model", a.Model, b.Model)
	case a.ExtractorHash != b.ExtractorHash:
		return differ("feature network", short(a.ExtractorHash), short(b.ExtractorHash))
	case a.DataSHA256 != b.DataSHA256:
		return differ("reference data (content hash)", short(a.DataSHA256), short(b.DataSHA256))
	case !sameSampler(a.Sampler, b.Sampler):
		return differ("sampler", describeSampler(a.Sampler), describeSampler(b.Sampler))
	case a.Unconditional != b.Unconditional || a.Conditional != b.Conditional:
		return differ("conditioning (--unconditional)", a.Unconditional, b.Unconditional)
	case a.Seed != b.Seed || a.N != b.N:
		return differ("samples (--seed, --n)", fmt.Sprintf("seeds %d-%d", a.Seed, a.Seed+uint64(a.N-1)), fmt.Sprintf("seeds %d-%d", b.Seed, b.Seed+uint64(b.N-1)))
	case a.NFE != b.NFE || a.Classes != b.Classes:
		return differ("network evaluations per sample", a.NFE, b.NFE)
	}
	return nil
}

func short(h string) string { return h[:min(16, len(h))] }

func sameSampler(a, b *Sampler) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func describeSampler(s *Sampler) string {
	if s == nil {
		return "(none)"
	}
	return fmt.Sprintf("%s %d steps eta %g variance %q guidance %g%s", s.Name, s.Steps, s.Eta, s.Variance, s.Guidance, s.Extras())
}

// WritePartial writes p atomically as a safetensors file: the identity in
// the metadata, the rows and sums as float64 tensors, the classes and
// timings as int64 tensors.
func WritePartial(path string, p *Partial) error {
	meta, err := json.Marshal(p.PartialMeta)
	if err != nil {
		return fmt.Errorf("partial %s: %w", path, err)
	}
	n, d := len(p.Features), 0
	if n > 0 {
		d = len(p.Features[0])
	}
	labels := make([]int64, len(p.Labels))
	for i, l := range p.Labels {
		labels[i] = int64(l)
	}
	runs := make([]int64, len(p.Runs))
	for i, r := range p.Runs {
		runs[i] = int64(r)
	}
	f := &checkpoint.File{Metadata: map[string]string{partialKey: string(meta)}, Tensors: []checkpoint.Tensor{
		checkpoint.Float64s("features", []int{n, d}, slices.Concat(p.Features...)),
		checkpoint.Float64s("probs", []int{n, p.Classes}, slices.Concat(p.Probs...)),
		checkpoint.Int64s("labels", []int{len(labels)}, labels),
		checkpoint.Float64s("sum_f", []int{len(p.SumF)}, p.SumF),
		checkpoint.Float64s("sum_ff", []int{d, d}, p.SumFF),
		checkpoint.Int64s("timed_batches_ns", []int{len(runs)}, runs),
	}}
	return checkpoint.WriteAtomic(path, f)
}

// ReadPartial reads a partial written by WritePartial, checking that its
// tensors have the shapes its identity says and that the sums are those
// of its features. Errors name the file.
func ReadPartial(path string) (*Partial, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	raw, ok := f.Metadata[partialKey]
	if !ok {
		return nil, fmt.Errorf("%s is not a partial evaluation (gentri eval --partial writes them)", path)
	}
	p := &Partial{Path: path}
	if err := json.Unmarshal([]byte(raw), &p.PartialMeta); err != nil {
		return nil, fmt.Errorf("%s: partial metadata: %w", path, err)
	}
	if p.Format != partialFormat {
		return nil, fmt.Errorf("%s: partial format %q, this gentri reads %q", path, p.Format, partialFormat)
	}
	n := p.Hi - p.Lo
	if p.N < 1 || p.Lo < 0 || n < 0 || p.Hi > p.N || p.Classes < 1 {
		return nil, fmt.Errorf("%s: samples %d..%d of %d (%d classes) make no sense", path, p.Lo, p.Hi-1, p.N, p.Classes)
	}
	get := func(name string, want ...int) ([]float64, []int64, error) {
		t, ok := f.Get(name)
		if !ok {
			return nil, nil, fmt.Errorf("%s: tensor %q missing", path, name)
		}
		if want != nil && !slices.Equal(t.Shape, want) {
			return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, want %v", path, name, t.Shape, want)
		}
		if t.DType == checkpoint.I64 {
			v, err := t.AsInt64s()
			return nil, v, err
		}
		v, err := t.AsFloat64s()
		return v, nil, err
	}
	ft, _ := f.Get("features")
	if len(ft.Shape) != 2 || ft.Shape[0] != n || (n > 0 && ft.Shape[1] < 1) {
		return nil, fmt.Errorf("%s: tensor \"features\" has shape %v, want [%d d]", path, ft.Shape, n)
	}
	d := ft.Shape[1]
	feats, _, err := get("features", n, d)
	if err != nil {
		return nil, err
	}
	probs, _, err := get("probs", n, p.Classes)
	if err != nil {
		return nil, err
	}
	nl := 0
	if p.Conditional {
		nl = n
	}
	_, labels, err := get("labels", nl)
	if err != nil {
		return nil, err
	}
	if p.SumF, _, err = get("sum_f", d); err != nil {
		return nil, err
	}
	if p.SumFF, _, err = get("sum_ff", d, d); err != nil {
		return nil, err
	}
	_, runs, err := get("timed_batches_ns")
	if err != nil {
		return nil, err
	}
	p.Features, p.Probs = rows(feats, n, d), rows(probs, n, p.Classes)
	for _, l := range labels {
		if l < 0 || l >= int64(p.Classes) {
			return nil, fmt.Errorf("%s: class %d outside [0, %d)", path, l, p.Classes)
		}
		p.Labels = append(p.Labels, int(l))
	}
	for _, r := range runs {
		p.Runs = append(p.Runs, time.Duration(r))
	}
	if sum, outer := featureSums(p.Features); !slices.Equal(sum, p.SumF) || !slices.Equal(outer, p.SumFF) {
		return nil, fmt.Errorf("%s: the sums Σf, Σffᵀ are not those of its features", path)
	}
	return p, nil
}

func rows(flat []float64, n, d int) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = flat[i*d : (i+1)*d : (i+1)*d]
	}
	return out
}

// RunPartial draws shard spec of the evaluation o describes (a checkpoint's
// model, not a 2-D one; or reads the shard's files of a folder of saved
// samples) and writes its partial to path.
func RunPartial(ctx context.Context, o Options, spec shard.Spec, path string) (*Partial, error) {
	if o.Samples != "" {
		return runSamplesPartial(ctx, o, spec, path)
	}
	switch {
	case o.Model == nil:
		return nil, usagef("--partial: give a checkpoint or a --samples folder")
	case o.Plot != "":
		return nil, usagef("--plot draws the samples of a 2-D model; --partial is for image models")
	}
	if _, ok := o.mixture(); ok {
		return nil, usagef("--partial: a 2-D model (%s) is measured on its mixture in one run, not in shards", o.Config.Model.Kind)
	}
	set, ext, err := o.scoredData(ctx, "--partial")
	if err != nil {
		return nil, err
	}
	p, err := samplePartial(o, ext, set, spec)
	if err != nil {
		return nil, err
	}
	if err := WritePartial(path, p); err != nil {
		return nil, err
	}
	p.Path = path
	return p, nil
}

// Merge reads the partials at paths and returns the record of the whole
// evaluation, with the real-data floor unless o.NoFloor: the record an
// unsharded run gives, figure for figure (only the speed, measured in
// each shard, differs as timings do).
func Merge(ctx context.Context, o Options, paths []string) (*Record, error) {
	parts := make([]*Partial, len(paths))
	for i, path := range paths {
		p, err := ReadPartial(path)
		if err != nil {
			return nil, err
		}
		parts[i] = p
	}
	if len(parts) == 0 {
		return nil, usagef("--merge: give the partial files to merge")
	}
	set, ext, err := o.scoredData(ctx, "--merge")
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if p.DataSHA256 != set.Info.SHA256 {
			return nil, fmt.Errorf("%s was scored against data of content hash %.16s, but the reference data here is %s (%s, %s): give its data with --data",
				p.Path, p.DataSHA256, set.Info.Name, set.Info.Short(), set.Info.Dir)
		}
	}
	ref, err := NewReference(ext, set.Test)
	if err != nil {
		return nil, err
	}
	rec, err := mergePartials(ext, ref, parts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.log(), "merged %d partials: samples 0..%d, seeds %d-%d\n", len(parts), rec.N-1, rec.Seed, rec.Seed+uint64(rec.N-1))
	rec.Data = NewDataRef(set.Info)
	return rec, addFloor(o, ext, ref, set, rec)
}

// scoredData loads the reference data and its feature network for a
// sharded evaluation, which needs both: data without labels has no
// feature network, and its evaluation is not divided.
func (o *Options) scoredData(ctx context.Context, flag string) (*data.Set, *Extractor, error) {
	set, err := o.referenceData()
	if err != nil {
		return nil, nil, err
	}
	ext, unavailable, err := o.extractor(ctx, set.Info)
	if err != nil {
		return nil, nil, err
	}
	if ext == nil {
		return nil, nil, usagef("%s: %s", flag, unavailable)
	}
	return set, ext, nil
}

// String names a partial's block for messages.
func (p *Partial) String() string {
	return fmt.Sprintf("shard %d/%d: samples %d..%d of %d (seeds %d-%d)", p.Shard, p.Shards, p.Lo, p.Hi-1, p.N,
		p.Seed+uint64(p.Lo), p.Seed+uint64(p.Hi-1))
}
