package eval

import (
	"fmt"
	"math"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
)

// ModeFigures are the 2-D mixture figures of §6.2 for one set of samples,
// the "modes" section of a Record (gates: "modes.captured<8").
type ModeFigures struct {
	Dataset     string  `json:"dataset"`
	N           int     `json:"n"`
	Components  int     `json:"components"`   // K, the mixture's modes
	Captured    int     `json:"captured"`     // modes nearest to ≥ 1 HQ sample
	HighQuality float64 `json:"high_quality"` // share of samples within 3σ of their nearest mode
	// ReverseKL is Σ p̂_i log(p̂_i K) over the HQ histogram, in nats; absent
	// (nil) when no sample is HQ and the histogram is undefined.
	ReverseKL   *float64 `json:"reverse_kl,omitempty"`
	WellCovered int      `json:"well_covered"` // modes with ≥ 25 % of the N/K expected samples
	PerMode     []int    `json:"per_mode"`     // HQ samples per mode, in the mixture's order
}

// NewModeFigures counts the modes of points under mix (CountModes, §6.2).
func NewModeFigures(mix data.Mixture, points [][2]float64) *ModeFigures {
	rep := CountModes(mix, points)
	f := &ModeFigures{
		Dataset: mix.Name, N: len(points), Components: len(mix.Means), Captured: rep.ModesCaptured,
		HighQuality: rep.HighQualityFraction, WellCovered: rep.WellCovered, PerMode: rep.PerMode,
	}
	if !math.IsNaN(rep.ReverseKL) {
		kl := rep.ReverseKL
		f.ReverseKL = &kl
	}
	return f
}

// Metrics returns the figures as named values for a training run's
// stats.jsonl: modes_captured, high_quality, well_covered and, when
// defined, reverse_kl (JSON cannot carry NaN).
func (f *ModeFigures) Metrics() []models.Metric {
	ms := []models.Metric{
		{Name: "modes_captured", Value: float64(f.Captured)},
		{Name: "high_quality", Value: f.HighQuality},
		{Name: "well_covered", Value: float64(f.WellCovered)},
	}
	if f.ReverseKL != nil {
		ms = append(ms, models.Metric{Name: "reverse_kl", Value: *f.ReverseKL})
	}
	return ms
}

// GeneratePoints draws n points of a 2-D model, point i from seed seed+i,
// in calls of SpeedBatchSize seeds and without timing them.
func GeneratePoints(m models.Model, n int, seed uint64) ([][2]float64, error) {
	points := make([][2]float64, 0, n)
	for start := 0; start < n; start += SpeedBatchSize {
		seeds := make([]uint64, min(SpeedBatchSize, n-start))
		for i := range seeds {
			seeds[i] = seed + uint64(start+i)
		}
		rows, err := m.Generate(seeds, nil)
		if err != nil {
			return nil, err
		}
		p, err := data.PointsOf(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Kind(), err)
		}
		points = append(points, p...)
	}
	return points, nil
}
