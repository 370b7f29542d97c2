// Package train runs the training loop every model shares: batches, the
// model's step, stats.jsonl, fixed-noise sample grids, evaluation,
// checkpoints with the full training state, exact resume, the NaN guard and
// the interrupt checkpoint.
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/eval"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/procstat"
	"github.com/gentri/gentri/internal/rng"
	"github.com/gentri/gentri/internal/sample"
)

// Options is everything one training run needs.
type Options struct {
	Config *config.Config
	RunDir string // run folder: config.yaml, stats.jsonl, samples/, checkpoints
	Resume string // checkpoint to continue from ("" = start afresh)
	// Progress receives the progress bar; nil shows none.
	Progress io.Writer
	// Log receives one-line messages for people (checkpoints written, ...).
	Log io.Writer
	// StopAfter ends the run after this step as an interrupt would (checkpoint
	// written, ErrInterrupted returned); 0 never. Tests use it to cut a run.
	StopAfter int

	newModel func(*config.Config) (models.Model, error) // tests swap in a fake model
}

// Result says where a run ended.
type Result struct {
	Step       int
	Checkpoint string          // the last checkpoint written
	Eval       []models.Metric // held-out metrics at the last checkpoint
	Losses     []models.Metric // losses of the last step
	Params     int
	Elapsed    time.Duration
}

// ErrInterrupted is returned after a checkpoint was written because the run
// was cancelled (Ctrl-C, SIGTERM) or StopAfter was reached.
var ErrInterrupted = errors.New("training interrupted")

// NaNError reports a non-finite loss; the last good checkpoint is left as is.
type NaNError struct {
	Step int
	Term string
}

func (e *NaNError) Error() string {
	return fmt.Sprintf("loss %q is not finite at step %d; stopped without writing a checkpoint (the last good one is kept)", e.Term, e.Step)
}

// CheckpointPattern matches the checkpoints a run writes, newest last by name.
const CheckpointPattern = "ckpt-*.safetensors"

// The grids written during training: 10×10 samples from seeds 0..99, row r
// asking conditional models for class r; for a 2-D model, a scatter plot
// of the points of seeds 0..999.
const (
	gridRows      = 10
	scatterPoints = 1000
)

// Run trains until cfg.Train.Steps, ctx is cancelled or StopAfter is reached.
func Run(ctx context.Context, o Options) (*Result, error) {
	cfg := o.Config
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	trainSet, testSet, info, err := loadData(cfg)
	if err != nil {
		return nil, err
	}
	newModel := models.New
	if o.newModel != nil {
		newModel = o.newModel
	}
	m, err := newModel(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkLabels(m, info); err != nil {
		return nil, err
	}
	if info != nil {
		logf("data %s: %s, %d training and %d test images%s", info.Name, info.Kind, info.Train, info.Test, describeData(info))
	}
	batcher, err := data.NewBatcher(trainSet.N, cfg.Train.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("train.batch_size: %w", err)
	}
	r := rng.New(cfg.Train.Seed, models.StreamTrain)
	step, priorSeconds := 0, 0.0
	if o.Resume != "" {
		if step, err = resume(o.Resume, cfg, m, r, batcher, info); err != nil {
			return nil, err
		}
		priorSeconds = ElapsedAt(o.RunDir, step)
		logf("resumed %s at step %d", o.Resume, step)
	}
	if err := os.MkdirAll(filepath.Join(o.RunDir, "samples"), 0o755); err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.RunDir, "config.yaml"), cfg.YAML(), 0o644); err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	statsFile, err := os.OpenFile(filepath.Join(o.RunDir, "stats.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run folder: %w", err)
	}
	defer statsFile.Close()
	stats := json.NewEncoder(statsFile)

	start := time.Now()
	res := &Result{Step: step, Params: m.NumParams()}
	bar := newBar(o.Progress, cfg.Train.Steps, step)
	save := func(step int) error {
		ev, err := m.Evaluate(testSet)
		if err != nil {
			return err
		}
		if mix, ok := data.MixtureByName(cfg.Data.Dataset); ok {
			// A 2-D model's mode counts (docs/metrics.md §6.2) on fixed seeds, so stats.jsonl
			// shows its mode coverage over training.
			pts, err := eval.GeneratePoints(m, eval.MixtureSamples, 0)
			if err != nil {
				return fmt.Errorf("mode counts: %w", err)
			}
			ev = append(ev, eval.NewModeFigures(mix, pts).Metrics()...)
		}
		path := filepath.Join(o.RunDir, fmt.Sprintf("ckpt-%08d.safetensors", step))
		if err := writeCheckpoint(path, m, cfg, step, r, batcher, info); err != nil {
			return err
		}
		if _, err := checkpoint.Prune(o.RunDir, CheckpointPattern, cfg.Train.KeepCheckpoints); err != nil {
			return err
		}
		rec := map[string]any{"step": step, "checkpoint": filepath.Base(path)}
		for _, e := range ev {
			rec[e.Name] = e.Value
		}
		if err := stats.Encode(rec); err != nil {
			return fmt.Errorf("stats.jsonl: %w", err)
		}
		res.Checkpoint, res.Eval = path, ev
		logf("step %d: wrote %s (%s)", step, path, formatMetrics(ev))
		return nil
	}

	x := make([]float32, cfg.Train.BatchSize*trainSet.ImageLen())
	labels := make([]uint8, cfg.Train.BatchSize)
	window, windowStart := 0, time.Now()
	for step < cfg.Train.Steps {
		if ctx.Err() != nil {
			bar.Clear()
			if err := save(step); err != nil {
				return res, fmt.Errorf("interrupted at step %d, and the checkpoint failed: %w", step, err)
			}
			return res, ErrInterrupted
		}
		step++
		trainSet.Gather(batcher.Next(r), x, labels)
		if cfg.Data.Binarize == "dynamic" {
			data.Binarize(x, r)
		}
		losses, err := m.TrainStep(models.Batch{N: cfg.Train.BatchSize, X: x, Labels: labels}, r)
		if err != nil {
			return res, fmt.Errorf("step %d: %w", step, err)
		}
		for _, l := range losses {
			if math.IsNaN(l.Value) || math.IsInf(l.Value, 0) {
				bar.Clear()
				return res, &NaNError{Step: step, Term: l.Name}
			}
		}
		res.Step, res.Losses = step, losses
		window++
		if step%cfg.Train.LogEvery == 0 || step == cfg.Train.Steps {
			elapsed := time.Since(windowStart).Seconds()
			rate := float64(window*cfg.Train.BatchSize) / elapsed
			rec := map[string]any{"step": step, "examples_per_s": round(rate, 1), "elapsed_s": round(priorSeconds+time.Since(start).Seconds(), 2)}
			for _, l := range losses {
				rec[l.Name] = l.Value
			}
			if rss, peak, ok := procstat.Memory(); ok { // memory must stay flat over a long run
				rec["rss_mb"], rec["peak_rss_mb"] = round(rss, 1), round(peak, 1)
			}
			if err := stats.Encode(rec); err != nil {
				return res, fmt.Errorf("stats.jsonl: %w", err)
			}
			bar.Describe(fmt.Sprintf("%s %.0f ex/s", formatMetrics(losses), rate))
			window, windowStart = 0, time.Now()
		}
		bar.Set(step)
		if step%cfg.Train.SampleEvery == 0 || step == cfg.Train.Steps {
			if err := writeGrid(filepath.Join(o.RunDir, "samples", fmt.Sprintf("step-%08d.png", step)), m, cfg); err != nil {
				return res, err
			}
		}
		if step%cfg.Train.CheckpointEvery == 0 || step == cfg.Train.Steps || step == o.StopAfter {
			bar.Clear()
			if err := save(step); err != nil {
				return res, err
			}
		}
		if step == o.StopAfter {
			return res, ErrInterrupted
		}
	}
	bar.Finish()
	res.Elapsed = time.Duration((priorSeconds + time.Since(start).Seconds()) * float64(time.Second))
	return res, nil
}

// writeGrid draws the fixed-seed samples, so grids of successive steps show
// the same noise and a user sees the model change, not the noise. A 2-D
// model's grid is a scatter plot of its points over the true modes.
func writeGrid(path string, m models.Model, cfg *config.Config) error {
	if mix, ok := data.MixtureByName(cfg.Data.Dataset); ok {
		pts, err := eval.GeneratePoints(m, scatterPoints, 0)
		if err != nil {
			return fmt.Errorf("scatter plot: %w", err)
		}
		return sample.WritePNG(path, sample.Scatter(pts, mix.Means, eval.HighQualityStds*mix.Std))
	}
	seeds := make([]uint64, gridRows*gridRows)
	labels := make([]int, len(seeds))
	classes := gridRows
	if c, ok := m.(models.Conditional); ok {
		classes = min(classes, c.NumClasses()) // a model of fewer classes repeats them
	}
	for i := range seeds {
		seeds[i] = uint64(i)
		labels[i] = i / gridRows % classes
		if _, cond := m.(models.Conditional); cond && !models.UsesLabels(m) {
			labels[i] = -1 // no class: a model trained without labels
		}
	}
	imgs, err := m.Generate(seeds, labels)
	if errors.Is(err, models.ErrNotGenerative) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sample grid: %w", err)
	}
	shape := models.ShapeOf(cfg)
	return sample.WritePNG(path, sample.GridOf(imgs, shape.C, shape.H, shape.W, gridRows))
}

// loadData returns the training and test sets, and the identity of image
// data (nil for a 2-D mixture).
func loadData(cfg *config.Config) (train, test *data.Dataset, info *data.Info, err error) {
	if mix, ok := data.MixtureByName(cfg.Data.Dataset); ok {
		// Points of a 2-D mixture (docs/metrics.md §6.1), drawn once: the training set from
		// the run's seed, the test set from a stream every run shares.
		train = mix.Dataset(data.MixtureTrainPoints, rng.New(cfg.Train.Seed, models.StreamData).Rand)
		test = mix.Dataset(data.MixtureTestPoints, rng.New(0, models.StreamDataTest).Rand)
		return train.Subset(cfg.Data.Subset), test, nil, nil
	}
	shape := models.ShapeOf(cfg)
	set, err := data.LoadDataset(cfg.Data.Dataset, cfg.Data.Dir, data.LoadOptions{Channels: shape.C, Height: shape.H, Width: shape.W, SkipBad: cfg.Data.SkipBad})
	if err != nil {
		return nil, nil, nil, err
	}
	train, test = set.Train.Subset(cfg.Data.Subset), set.Test
	if cfg.Data.Binarize == "dynamic" {
		// The test set is binarised once, from a fixed stream, so the held-out
		// ELBO of every checkpoint is measured on the same binary images.
		test = test.Binarized(rng.New(0, models.StreamEval))
	}
	return train, test, &set.Info, nil
}

// checkLabels refuses data whose labels a model cannot use: a conditional
// model (or the classifier) needs labels, each below its number of classes.
func checkLabels(m models.Model, info *data.Info) error {
	var classes int
	switch c := m.(type) {
	case models.Conditional:
		classes = c.NumClasses()
	case *models.ClassifierModel:
		classes = c.Classes
	default:
		return nil
	}
	switch {
	case info == nil:
		return nil
	case !info.Labelled() && !models.UsesLabels(m) && classes > 0:
		// A DDPM with cond_drop 1, a ddgan of one class: every label is 0,
		// unused or the one class.
		return nil
	case !info.Labelled():
		return fmt.Errorf("data %s (%s) has no labels (a folder of images without class sub-folders, or Stacked MNIST), but a %s model learns from labels%s",
			info.Dir, info.Name, m.Kind(), labelFreeHint(m))
	case len(info.Classes) > classes:
		return fmt.Errorf("data %s has %d classes (%s), the %s model %d (set model.classes)", info.Dir, len(info.Classes), info.ClassList(), m.Kind(), classes)
	}
	return nil
}

// labelFreeHint says how a conditional kind trains without labels.
func labelFreeHint(m models.Model) string {
	if _, ok := m.(models.LabelUser); ok {
		return " (set train.cond_drop=1 for a DDPM that trains every image as \"no class\", model.classes=1 for a ddgan of one class)"
	}
	if _, ok := m.(models.Conditional); ok {
		return " (the gan kind is this model without labels)"
	}
	return ""
}

// describeData words the notes on a data set's split and skipped files.
func describeData(info *data.Info) string {
	var s string
	if info.HeldOut {
		s += " (test: the held-out tenth)"
	}
	if info.Skipped > 0 {
		s += fmt.Sprintf(", %d unreadable files skipped", info.Skipped)
	}
	return s
}

func newBar(w io.Writer, total, done int) *progressbar.ProgressBar {
	if w == nil {
		return progressbar.DefaultSilent(int64(total))
	}
	bar := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	bar.Set(done)
	return bar
}

func formatMetrics(ms []models.Metric) string {
	s := ""
	for i, m := range ms {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s=%.4g", m.Name, m.Value)
	}
	return s
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// ElapsedAt is the training wall time of a run folder up to step, read
// from its stats.jsonl, so a resumed run's elapsed_s (and its reported
// training time) continue from where the interrupted part stopped.
// Checkpoints hold no wall time: their bytes depend on the config and seed
// alone.
func ElapsedAt(runDir string, step int) float64 {
	b, err := os.ReadFile(filepath.Join(runDir, "stats.jsonl"))
	if err != nil {
		return 0
	}
	best := 0.0
	for _, line := range strings.Split(string(b), "\n") {
		var rec struct {
			Step    int     `json:"step"`
			Elapsed float64 `json:"elapsed_s"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Step <= step && rec.Elapsed > best {
			best = rec.Elapsed
		}
	}
	return best
}
