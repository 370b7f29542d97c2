package eval

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/procstat"
	"github.com/gentri/gentri/internal/rng"
	"github.com/gentri/gentri/internal/version"
)

// Metrics are the quality and diversity figures of one set of images
// against the test set of the reference data, MNIST's unless the model was
// trained on other data (§2–§5).
type Metrics struct {
	N         int     `json:"n"`
	FID       float64 `json:"fid"`
	KID       float64 `json:"kid"`
	KIDStd    float64 `json:"kid_std"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Density   float64 `json:"density"`
	Coverage  float64 `json:"coverage"`
	// IS is the Inception Score with the reference data's classifier. JSON
	// names it for the data: "mnist_is" for MNIST (IS >= 1, so never
	// omitted there), "is" beside the record's data name otherwise
	// (JSONSafe moves it into DataIS).
	IS             float64   `json:"mnist_is,omitempty"`
	DataIS         *float64  `json:"is,omitempty"`
	ClassKL        float64   `json:"class_kl"`
	ClassesCovered int       `json:"classes_covered"`
	ClassAccuracy  *float64  `json:"class_accuracy,omitempty"`
	PerClassFID    []float64 `json:"per_class_fid,omitempty"`
}

// Speed is the sampling cost (§8).
type Speed struct {
	NFE              int     `json:"nfe"`
	SecondsPer100    float64 `json:"seconds_per_100"`
	SamplesPerSecond float64 `json:"samples_per_s"`
	MsPerNFE         float64 `json:"ms_per_nfe_per_sample"`
	PeakRSSMB        float64 `json:"peak_rss_mb"`
}

// Record is one evaluation: every figure plus what it depends on.
type Record struct {
	Model      string   `json:"model"`
	Checkpoint string   `json:"checkpoint,omitempty"`
	SamplesDir string   `json:"samples_dir,omitempty"`
	Step       int      `json:"step,omitempty"`
	Sampler    *Sampler `json:"sampler,omitempty"`
	// Unconditional: a conditional model sampled without a class.
	Unconditional bool   `json:"unconditional,omitempty"`
	Seed          uint64 `json:"seed"`
	ExtractorHash string `json:"extractor_sha256,omitempty"`
	// Data is the reference data (the real side of every image figure) and
	// FeatureNetwork the classifier whose features they use; nil for 2-D
	// models.
	Data           *DataRef    `json:"data,omitempty"`
	FeatureNetwork *FeatureNet `json:"feature_network,omitempty"`
	// Unavailable says which image figures are missing and why (data
	// without labels has no feature network).
	Unavailable string `json:"unavailable,omitempty"`
	// The image metrics; nil for a 2-D model, which has Modes instead.
	*Metrics
	Modes *ModeFigures `json:"modes,omitempty"`
	// Stacked are the mode figures of a Stacked MNIST model, and
	// StackedFloor those of as many of its training images.
	Stacked      *StackedFigures `json:"stacked_modes,omitempty"`
	StackedFloor *StackedFigures `json:"stacked_modes_floor,omitempty"`
	Plot         string          `json:"plot,omitempty"` // 2-D: the scatter plot written

	TestNELBO  *float64 `json:"test_nelbo,omitempty"`
	IWAENLL    *float64 `json:"iwae_nll,omitempty"`
	IWAEK      int      `json:"iwae_k,omitempty"`
	IWAEImages int      `json:"iwae_images,omitempty"`
	Speed      *Speed   `json:"speed,omitempty"`
	Floor      *Metrics `json:"real_floor,omitempty"`
	Hardware   Hardware `json:"hardware"`
	Version    string   `json:"gentri_version"`
	Warnings   []string `json:"warnings,omitempty"`

	// Source is where ReadRecords found the record ("file:line"), for
	// messages about it; never written.
	Source string `json:"-"`
}

// DataRef names the reference data of an image evaluation.
type DataRef struct {
	Name   string `json:"name"` // "mnist", "fashion-mnist", a folder's name
	Kind   string `json:"kind"` // data.KindIDX, KindImages, KindCIFAR
	SHA256 string `json:"sha256"`
	// Split is "test" (the data's own test split) or "held-out tenth"
	// (data.SplitTenth, for data without one).
	Split   string `json:"split"`
	Images  int    `json:"images"`
	Classes int    `json:"classes,omitempty"`
}

// NewDataRef describes the reference data of info.
func NewDataRef(info data.Info) *DataRef {
	split := "test"
	if info.HeldOut {
		split = "held-out tenth"
	}
	return &DataRef{Name: info.Name, Kind: info.Kind, SHA256: info.SHA256, Split: split, Images: info.Test, Classes: len(info.Classes)}
}

// ISName is the Inception Score's name for the record's data:
// "MNIST-IS", "fashion-mnist-IS", ...
func (r *Record) ISName() string {
	if r.Data == nil || r.Data.SHA256 == data.MNISTSHA256 {
		return "MNIST-IS"
	}
	return r.Data.Name + "-IS"
}

// FeatureNet names the feature network by the data it was trained on.
type FeatureNet struct {
	Path string `json:"path"`
	// TrainedOn is the name of that data ("" = not recorded, a classifier
	// passed with --extractor that predates the record) and TrainedOnSHA256
	// its content hash.
	TrainedOn       string `json:"trained_on,omitempty"`
	TrainedOnSHA256 string `json:"trained_on_sha256,omitempty"`
}

// Sampler records the sampling settings of a diffusion model. Records
// written before spacings and the solvers existed have no spacing (it was
// leading), no churn and no nfe (speed.nfe has it).
type Sampler struct {
	Name     string  `json:"name"`
	Steps    int     `json:"steps"`
	Eta      float64 `json:"eta"`
	Variance string  `json:"variance,omitempty"`
	Guidance float64 `json:"guidance"`
	Spacing  string  `json:"spacing,omitempty"` // "" = leading
	// NFE is the network evaluations per sample (Heun: 2·steps − 1, twice
	// under guidance); 0 in older records.
	NFE int `json:"nfe,omitempty"`
	// Heun's stochastic churn: S_churn, S_noise, S_tmin, S_tmax (0 = no bound).
	Churn  float64 `json:"churn,omitempty"`
	SNoise float64 `json:"s_noise,omitempty"`
	STmin  float64 `json:"s_tmin,omitempty"`
	STmax  float64 `json:"s_tmax,omitempty"`
}

// settings names, for plot labels and legends, the settings beyond the
// sampler and its steps: " η=1", " churn 40", " karras" (a spacing other
// than leading), ", guidance 2", in that order; "" when none.
func (s *Sampler) settings() string {
	var out string
	if s.Eta != 0 {
		out += fmt.Sprintf(" η=%g", s.Eta)
	}
	if s.Churn != 0 {
		out += fmt.Sprintf(" churn %g", s.Churn)
	}
	if s.Spacing != "" && s.Spacing != models.SpacingLeading {
		out += " " + s.Spacing
	}
	if s.Guidance != 0 {
		out += fmt.Sprintf(", guidance %g", s.Guidance)
	}
	return out
}

// Extras names the settings beyond the sampler, its steps and η that a
// record of the leading spacing without churn lacks: ", spacing karras",
// ", churn 40 (S_noise 1.003, S_tmin 0.05, S_tmax 50)"; "" when none.
func (s *Sampler) Extras() string {
	var out string
	if s.Spacing != "" && s.Spacing != models.SpacingLeading {
		out += ", spacing " + s.Spacing
	}
	if s.Churn != 0 {
		out += fmt.Sprintf(", churn %g (S_noise %g, S_tmin %g, S_tmax %g)", s.Churn, s.SNoise, s.STmin, s.STmax)
	}
	return out
}

// Hardware names what the speed figures depend on.
type Hardware struct {
	CPU        string `json:"cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	BLAS       string `json:"blas"`
	Kernels    string `json:"kernels,omitempty"`
	Go         string `json:"go"`
}

// Reference holds the MNIST test set's features: the real side of every metric.
type Reference struct {
	Features, Probs [][]float64
	Labels          []int
	Gaussian        Gaussian
	ClassGaussians  []Gaussian
}

// NewReference extracts the features of the test set once.
func NewReference(e *Extractor, test *data.Dataset) (*Reference, error) {
	imgs := make([][]float32, test.N)
	labels := make([]int, test.N)
	for i := range imgs {
		imgs[i], labels[i] = test.Image(i), int(test.Labels[i])
	}
	f, p, err := e.Model.Features(imgs)
	if err != nil {
		return nil, err
	}
	ref := &Reference{Features: f, Probs: p, Labels: labels}
	if ref.Gaussian, err = FitGaussian(f); err != nil && !IsWarning(err) {
		return nil, err
	}
	for c := 0; c < e.Model.Classes; c++ {
		var fc [][]float64
		for i, l := range labels {
			if l == c {
				fc = append(fc, f[i])
			}
		}
		g, err := FitGaussian(fc)
		if err != nil && !IsWarning(err) {
			return nil, fmt.Errorf("test images of class %d: %w", c, err)
		}
		ref.ClassGaussians = append(ref.ClassGaussians, g)
	}
	return ref, nil
}

// prdcSubset is a fixed random subset of n reference rows (§4: PRDC uses
// N real images for N fake ones).
func (r *Reference) prdcSubset(n int) [][]float64 {
	perm := rand.New(rand.NewPCG(0, 0x5eed)).Perm(len(r.Features))
	out := make([][]float64, min(n, len(perm)))
	for i := range out {
		out[i] = r.Features[perm[i]]
	}
	return out
}

// Score computes the metrics of images (pixels in [0,1]); wantLabels, if not
// nil, are the classes the images were asked to show (conditional models).
func Score(e *Extractor, ref *Reference, imgs [][]float32, wantLabels []int, seed uint64) (Metrics, []string, error) {
	feats, probs, err := e.Model.Features(imgs)
	if err != nil {
		return Metrics{}, nil, err
	}
	return scoreFeatures(ref, e.Model.Classes, feats, probs, wantLabels, seed)
}

// scoreFeatures computes the metrics of a set of images from their
// features and class probabilities: the one implementation behind Score
// and the merge of partial evaluations (partial.go), which hands it the
// rows of all shards in sample order.
func scoreFeatures(ref *Reference, classes int, feats, probs [][]float64, wantLabels []int, seed uint64) (Metrics, []string, error) {
	var warns []string
	warn := func(err error) error {
		if err != nil && IsWarning(err) {
			warns = append(warns, err.Error())
			return nil
		}
		return err
	}
	n := len(feats)
	m := Metrics{N: n}
	g, err := FitGaussian(feats)
	if err = warn(err); err != nil {
		return m, nil, fmt.Errorf("fid: %w", err)
	}
	if m.FID, err = FID(ref.Gaussian, g); err != nil {
		return m, nil, fmt.Errorf("fid: %w", err)
	}
	// A small data set's held-out tenth may hold fewer images than N.
	subset := min(KIDSubsetSize, n, len(ref.Features))
	switch {
	case subset == KIDSubsetSize:
	case subset < n:
		warns = append(warns, fmt.Sprintf("kid: subsets of %d samples (N=%d, %d reference images), not %d (docs/metrics.md §3)", subset, n, len(ref.Features), KIDSubsetSize))
	default:
		warns = append(warns, fmt.Sprintf("kid: subsets of %d samples (N=%d), not %d (docs/metrics.md §3)", subset, n, KIDSubsetSize))
	}
	if m.KID, m.KIDStd, err = KID(ref.Features, feats, KIDSubsets, subset, seed); err != nil {
		return m, nil, fmt.Errorf("kid: %w", err)
	}
	p, err := ComputePRDC(ref.prdcSubset(n), feats, PRDCKPrecisionRecall, PRDCKDensityCoverage)
	if err != nil {
		return m, nil, fmt.Errorf("precision/recall: %w", err)
	}
	m.Precision, m.Recall, m.Density, m.Coverage = p.Precision, p.Recall, p.Density, p.Coverage
	m.IS = InceptionScore(probs)
	pred := Argmax(probs)
	hist := ClassHistogram(pred, classes)
	m.ClassKL, m.ClassesCovered = KLToUniform(hist), ClassesCovered(hist, ClassCoverageThreshold)
	if wantLabels != nil {
		acc := ClassAccuracy(pred, wantLabels)
		m.ClassAccuracy = &acc
		for c := range ref.ClassGaussians {
			var fc [][]float64
			for i, l := range wantLabels {
				if l == c {
					fc = append(fc, feats[i])
				}
			}
			gc, err := FitGaussian(fc)
			if err = warn(err); err != nil {
				warns = append(warns, fmt.Sprintf("per-class fid of class %d: %v", c, err))
				m.PerClassFID = append(m.PerClassFID, math.NaN())
				continue
			}
			f, err := FID(ref.ClassGaussians[c], gc)
			if err != nil {
				return m, nil, fmt.Errorf("per-class fid of class %d: %w", c, err)
			}
			m.PerClassFID = append(m.PerClassFID, f)
		}
	}
	return m, warns, nil
}

// GenerateOptions drive a model's sampling for evaluation.
type GenerateOptions struct {
	N    int
	Seed uint64
	// Log receives the duration estimate after the warm-up batch.
	Log io.Writer
	// Progress is called after each batch of 100 samples.
	Progress func(done, total int)
	// Unconditional draws a conditional model's samples without a class
	// (label −1), so no class accuracy can be scored.
	Unconditional bool
	// Offset is the index of the first sample in the whole evaluation, for
	// a shard of it (partial.go): sample i is the evaluation's sample
	// Offset+i, with its seed and class.
	Offset int
}

// Generate draws N samples in batches of 100 (§8.2's batch): sample i uses
// seed Seed+i and, for a conditional model, class i mod classes (balanced
// labels, §5.3). The first batch is the warm-up; the others are timed and
// their median is the speed figure (extra batches are drawn when N gives
// fewer than three).
func Generate(m models.Model, o GenerateOptions) (imgs [][]float32, labels []int, speed *Speed, err error) {
	imgs, labels, nfe, runs, err := generate(m, o)
	if err != nil {
		return nil, nil, nil, err
	}
	if speed, err = summarizeRuns(nfe, runs, PeakRSSMB()); err != nil {
		return nil, nil, nil, err
	}
	return imgs, labels, speed, nil
}

// summarizeRuns turns the timed batches of Generate (of one run, or of
// every shard in order) into the record's speed figures.
func summarizeRuns(nfe int, runs []time.Duration, peakRSSMB float64) (*Speed, error) {
	sr, err := SummarizeSpeed(nfe, SpeedBatchSize, runs)
	if err != nil {
		return nil, err
	}
	return &Speed{NFE: nfe, SecondsPer100: sr.MedianSeconds, SamplesPerSecond: sr.SamplesPerSecond,
		MsPerNFE: sr.MsPerNFEPerSample, PeakRSSMB: peakRSSMB}, nil
}

// generate is Generate without the summary: the samples, the NFE per
// sample and the duration of each timed batch.
func generate(m models.Model, o GenerateOptions) (imgs [][]float32, labels []int, nfe int, runs []time.Duration, err error) {
	classes := 0
	if c, ok := m.(models.Conditional); ok && !o.Unconditional && models.UsesLabels(m) {
		classes = c.NumClasses()
	}
	nfe = 1
	if s, ok := m.(models.Sampler); ok {
		nfe = s.NFE()
	}
	batch := func(start int) ([][]float32, []int, time.Duration, error) {
		seeds, ls := make([]uint64, SpeedBatchSize), make([]int, SpeedBatchSize)
		for i := range seeds {
			seeds[i], ls[i] = o.Seed+uint64(o.Offset+start+i), -1
			if classes > 0 {
				ls[i] = (o.Offset + start + i) % classes
			}
		}
		t0 := time.Now()
		out, err := m.Generate(seeds, ls)
		return out, ls, time.Since(t0), err
	}
	total := (o.N + SpeedBatchSize - 1) / SpeedBatchSize
	for b := 0; b < total || len(runs) < SpeedMinRuns; b++ {
		out, ls, d, err := batch(b * SpeedBatchSize)
		if err != nil {
			return nil, nil, 0, nil, err
		}
		if b == 0 && o.Log != nil {
			est := time.Duration(float64(d) * float64(max(total, SpeedMinRuns+1)))
			fmt.Fprintf(o.Log, "sampling %d images at %d NFE each: about %s (first batch of 100 took %s)\n",
				o.N, nfe, est.Round(time.Second), d.Round(time.Millisecond))
		}
		if b > 0 {
			runs = append(runs, d)
		}
		if b < total {
			keep := min(SpeedBatchSize, o.N-b*SpeedBatchSize)
			imgs = append(imgs, out[:keep]...)
			if classes > 0 {
				labels = append(labels, ls[:keep]...)
			}
			if o.Progress != nil {
				o.Progress(len(imgs), o.N)
			}
		}
	}
	return imgs, labels, nfe, runs, nil
}

// Floor scores N training images: the real-data floor no model can beat
// (§2.4: it is not 0).
func Floor(e *Extractor, ref *Reference, train *data.Dataset, n int, seed uint64) (Metrics, []string, error) {
	perm := rng.New(seed, models.StreamEval).Perm(train.N)
	imgs := make([][]float32, min(n, train.N))
	labels := make([]int, len(imgs))
	for i := range imgs {
		imgs[i], labels[i] = train.Image(perm[i]), int(train.Labels[perm[i]])
	}
	return Score(e, ref, imgs, labels, seed)
}

// PeakRSSMB is the process's peak resident memory (VmHWM), in MiB, or NaN
// where /proc is unavailable.
func PeakRSSMB() float64 {
	if _, peak, ok := procstat.Memory(); ok {
		return peak
	}
	return math.NaN()
}

// CurrentHardware describes this machine for the record.
func CurrentHardware() Hardware {
	cpu := runtime.GOARCH
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	return Hardware{CPU: cpu, GOMAXPROCS: runtime.GOMAXPROCS(0), BLAS: nn.BLASName, Kernels: nn.KernelsName(), Go: runtime.Version()}
}

// NewRecord starts a record with what every evaluation states; e is nil
// where no feature network is used (2-D models).
func NewRecord(kind string, e *Extractor, seed uint64) *Record {
	r := &Record{Model: kind, Seed: seed, Hardware: CurrentHardware(), Version: version.Version}
	if e != nil {
		r.ExtractorHash = e.Hash
		r.FeatureNetwork = &FeatureNet{Path: e.Path}
		if e.TrainedOn != nil {
			r.FeatureNetwork.TrainedOn, r.FeatureNetwork.TrainedOnSHA256 = e.TrainedOn.Name, e.TrainedOn.SHA256
		}
	}
	return r
}
