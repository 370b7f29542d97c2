package eval

import (
	"fmt"
	"slices"
	"time"
)

// Speed-reporting settings of §8.2.
const (
	SpeedBatchSize = 100 // Xiao et al.: seconds for a batch of 100 samples
	SpeedMinRuns   = 3   // median of at least 3 timed runs, after 1 warm-up
)

// SpeedReport is the sampling-speed summary of §8. NFE is reported
// separately from wall-clock: it does not depend on the machine.
type SpeedReport struct {
	NFE               int       // forward passes of the sampling network per sample
	BatchSize         int       // samples per timed call (100)
	RunSeconds        []float64 // each timed run, in order
	MedianSeconds     float64   // t: median seconds per batch
	SamplesPerSecond  float64   // BatchSize / t
	MsPerNFEPerSample float64   // 1000·t / (BatchSize·NFE)
}

// SummarizeSpeed builds a SpeedReport from already-timed runs (warm-up
// excluded). The median of an even number of runs is the mean of the middle
// two. Errors: fewer than SpeedMinRuns runs, nfe < 1, batch < 1, or a
// non-positive duration.
func SummarizeSpeed(nfe, batch int, runs []time.Duration) (SpeedReport, error) {
	if nfe < 1 || batch < 1 {
		return SpeedReport{}, fmt.Errorf("eval: speed: nfe (%d) and batch (%d) must be >= 1", nfe, batch)
	}
	if len(runs) < SpeedMinRuns {
		return SpeedReport{}, &SampleSizeError{Metric: "speed", N: len(runs), Need: SpeedMinRuns,
			Detail: "docs/metrics.md §8.2 reports the median of at least 3 timed runs"}
	}
	secs := make([]float64, len(runs))
	for i, d := range runs {
		if d <= 0 {
			return SpeedReport{}, fmt.Errorf("eval: speed: run %d has non-positive duration %v", i, d)
		}
		secs[i] = d.Seconds()
	}
	s := slices.Clone(secs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = 0.5 * (s[len(s)/2-1] + s[len(s)/2])
	}
	return SpeedReport{
		NFE:               nfe,
		BatchSize:         batch,
		RunSeconds:        secs,
		MedianSeconds:     med,
		SamplesPerSecond:  float64(batch) / med,
		MsPerNFEPerSample: 1000 * med / (float64(batch) * float64(nfe)),
	}, nil
}

// MeasureSpeed calls sample once untimed (warm-up), then `runs` timed times,
// and summarises (§8.2). sample must generate one batch of `batch` samples,
// including its noise RNG and excluding model loading, I/O and feature
// extraction. The caller sets GOMAXPROCS; the record names it.
func MeasureSpeed(nfe, batch, runs int, sample func() error) (SpeedReport, error) {
	if runs < SpeedMinRuns {
		return SpeedReport{}, &SampleSizeError{Metric: "speed", N: runs, Need: SpeedMinRuns,
			Detail: "docs/metrics.md §8.2 reports the median of at least 3 timed runs"}
	}
	if err := sample(); err != nil {
		return SpeedReport{}, fmt.Errorf("eval: speed: warm-up: %w", err)
	}
	d := make([]time.Duration, runs)
	for i := range d {
		t0 := time.Now()
		if err := sample(); err != nil {
			return SpeedReport{}, fmt.Errorf("eval: speed: run %d: %w", i, err)
		}
		d[i] = max(time.Since(t0), time.Nanosecond)
	}
	return SummarizeSpeed(nfe, batch, d)
}
