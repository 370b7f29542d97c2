package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gentri/gentri/internal/eval"
)

// A sweep's report has one row per grid point: its values, and each figure
// of its points' evaluation records (their eval.json), as the mean and the
// sample standard deviation over the seeds that have a record. Points
// without a record are listed, never dropped in silence: a mean over two
// seeds of three is another figure than over three.

// Metric is one column of a report: a figure of an evaluation record.
type Metric struct {
	Name string // as in the record's JSON, e.g. "fid", "modes.captured"
	Get  func(*eval.Record) (float64, bool)
}

// Metrics are the figures a report can show, in column order; a report
// shows those that at least one of its records has (an image model's FID
// and class coverage, a 2-D model's modes), then the sampling cost.
var Metrics = []Metric{
	{"fid", image(func(m *eval.Metrics) float64 { return m.FID })},
	{"kid", image(func(m *eval.Metrics) float64 { return m.KID })},
	{"precision", image(func(m *eval.Metrics) float64 { return m.Precision })},
	{"recall", image(func(m *eval.Metrics) float64 { return m.Recall })},
	{"coverage", image(func(m *eval.Metrics) float64 { return m.Coverage })},
	{"classes_covered", image(func(m *eval.Metrics) float64 { return float64(m.ClassesCovered) })},
	{"class_accuracy", func(r *eval.Record) (float64, bool) {
		if r.Metrics == nil || r.ClassAccuracy == nil {
			return 0, false
		}
		return *r.ClassAccuracy, true
	}},
	{"modes.captured", modes(func(m *eval.ModeFigures) (float64, bool) { return float64(m.Captured), true })},
	{"modes.high_quality", modes(func(m *eval.ModeFigures) (float64, bool) { return m.HighQuality, true })},
	{"modes.reverse_kl", modes(func(m *eval.ModeFigures) (float64, bool) {
		if m.ReverseKL == nil {
			return 0, false
		}
		return *m.ReverseKL, true
	})},
	{"modes.well_covered", modes(func(m *eval.ModeFigures) (float64, bool) { return float64(m.WellCovered), true })},
	{"test_nelbo", func(r *eval.Record) (float64, bool) {
		if r.TestNELBO == nil {
			return 0, false
		}
		return *r.TestNELBO, true
	}},
	{"nfe", speed(func(s *eval.Speed) float64 { return float64(s.NFE) })},
	{"s_per_100", speed(func(s *eval.Speed) float64 { return s.SecondsPer100 })},
}

func image(f func(*eval.Metrics) float64) func(*eval.Record) (float64, bool) {
	return func(r *eval.Record) (float64, bool) {
		if r.Metrics == nil {
			return 0, false
		}
		return f(r.Metrics), true
	}
}

func modes(f func(*eval.ModeFigures) (float64, bool)) func(*eval.Record) (float64, bool) {
	return func(r *eval.Record) (float64, bool) {
		if r.Modes == nil {
			return 0, false
		}
		return f(r.Modes)
	}
}

func speed(f func(*eval.Speed) float64) func(*eval.Record) (float64, bool) {
	return func(r *eval.Record) (float64, bool) {
		if r.Speed == nil {
			return 0, false
		}
		return f(r.Speed), true
	}
}

// Stat is one figure of a row over its seeds: the mean and the sample
// standard deviation (n−1 in the denominator; NaN for one value) of N
// values.
type Stat struct {
	Mean, SD float64
	N        int
}

// NewStat returns the mean and sample standard deviation of xs, summed in
// their order.
func NewStat(xs []float64) Stat {
	s := Stat{Mean: math.NaN(), SD: math.NaN(), N: len(xs)}
	if len(xs) == 0 {
		return s
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	s.Mean = sum / float64(len(xs))
	if len(xs) > 1 {
		ss := 0.0
		for _, x := range xs {
			ss += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(ss / float64(len(xs)-1))
	}
	return s
}

// String writes the figure as "mean ± sd" (4 and 2 significant digits),
// the mean alone for one value, "–" for none.
func (s Stat) String() string {
	switch {
	case s.N == 0:
		return "–"
	case s.N == 1:
		return strconv.FormatFloat(s.Mean, 'g', 4, 64)
	}
	return strconv.FormatFloat(s.Mean, 'g', 4, 64) + " ± " + strconv.FormatFloat(s.SD, 'g', 2, 64)
}

// Row is one grid point of a report.
type Row struct {
	Values  []string // the grid's values, one per axis
	Points  []int    // the sweep's points of this grid point (one per seed)
	Seeds   []uint64 // the seeds whose record the figures use
	Steps   []int    // the training step of each record
	Figures []Stat   // one per Report.Metrics
}

// Missing is a point whose record a report could not use.
type Missing struct {
	Index  int    `json:"index"`
	Dir    string `json:"dir"`
	Reason string `json:"reason"`
}

// Report is a sweep's table.
type Report struct {
	Sweep   *Sweep
	Metrics []Metric // the columns shown
	Rows    []Row
	Missing []Missing
}

// NewReport reads the record of each point of s (the last line of its
// eval.json) and aggregates them by grid point.
func NewReport(s *Sweep) *Report {
	r := &Report{Sweep: s}
	recs := make([]*eval.Record, len(s.Points))
	for i, p := range s.Points {
		path := filepath.Join(p.Dir, RecordFile)
		got, err := eval.ReadRecords([]string{path})
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.Missing = append(r.Missing, Missing{p.Index, p.Dir, "no " + RecordFile + " (evaluate it: gentri eval --sweep " + s.Path + " --index " + strconv.Itoa(p.Index) + ")"})
		case err != nil:
			r.Missing = append(r.Missing, Missing{p.Index, p.Dir, err.Error()})
		case len(got) == 0:
			r.Missing = append(r.Missing, Missing{p.Index, p.Dir, path + " holds no record"})
		default:
			recs[i] = got[len(got)-1]
		}
	}
	for _, m := range Metrics {
		for _, rec := range recs {
			if rec == nil {
				continue
			}
			if _, ok := m.Get(rec); ok {
				r.Metrics = append(r.Metrics, m)
				break
			}
		}
	}
	byGroup := map[string]int{}
	var values [][][]float64 // row, metric, seed
	for i, p := range s.Points {
		g, ok := byGroup[p.Group]
		if !ok {
			g = len(r.Rows)
			byGroup[p.Group] = g
			r.Rows = append(r.Rows, Row{Values: p.Values})
			values = append(values, make([][]float64, len(r.Metrics)))
		}
		row := &r.Rows[g]
		row.Points = append(row.Points, p.Index)
		rec := recs[i]
		if rec == nil {
			continue
		}
		if p.HasSeed {
			row.Seeds = append(row.Seeds, p.Seed)
		}
		row.Steps = append(row.Steps, rec.Step)
		for j, m := range r.Metrics {
			if v, ok := m.Get(rec); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				values[g][j] = append(values[g][j], v)
			}
		}
	}
	for g := range r.Rows {
		for _, xs := range values[g] {
			r.Rows[g].Figures = append(r.Rows[g].Figures, NewStat(xs))
		}
	}
	return r
}

// steps writes a row's training steps: one number, a range, or "–".
func (row Row) steps() string {
	if len(row.Steps) == 0 {
		return "–"
	}
	lo, hi := row.Steps[0], row.Steps[0]
	for _, s := range row.Steps {
		lo, hi = min(lo, s), max(hi, s)
	}
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// Markdown writes the report as a Markdown table, one row per grid point,
// then the points without a record.
func (r *Report) Markdown(w io.Writer) {
	s := r.Sweep
	fmt.Fprintf(w, "Sweep %s: %d points in %s", s.Path, len(s.Points), s.Out)
	if len(s.Seeds) > 1 {
		fmt.Fprintf(w, "; figures are the mean ± sample standard deviation over the seeds")
	}
	fmt.Fprintf(w, ".\n\n")
	head := []string{}
	for _, ax := range s.Grid {
		head = append(head, ax.Key)
	}
	if len(s.Seeds) > 0 {
		head = append(head, "seeds")
	}
	head = append(head, "step")
	for _, m := range r.Metrics {
		head = append(head, m.Name)
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, row := range r.Rows {
		cells := append([]string(nil), row.Values...)
		if len(s.Seeds) > 0 {
			seeds := make([]string, len(row.Seeds))
			for i, sd := range row.Seeds {
				seeds[i] = strconv.FormatUint(sd, 10)
			}
			c := strings.Join(seeds, ", ")
			if len(row.Seeds) < len(row.Points) {
				c += fmt.Sprintf(" (%d of %d)", len(row.Seeds), len(row.Points))
			}
			if c == "" {
				c = "none"
			}
			cells = append(cells, c)
		}
		cells = append(cells, row.steps())
		for _, f := range row.Figures {
			cells = append(cells, f.String())
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(w, "\nMissing records (%d of %d points):\n\n", len(r.Missing), len(s.Points))
		for _, m := range r.Missing {
			fmt.Fprintf(w, "- point %d, %s: %s\n", m.Index, m.Dir, m.Reason)
		}
	}
}

// jsonStat is a Stat in JSON: sd is null for one value, the figure
// absent for none.
type jsonStat struct {
	Mean float64  `json:"mean"`
	SD   *float64 `json:"sd"`
	N    int      `json:"n"`
}

// JSON writes the report as one JSON object: the sweep, its rows (values,
// points, seeds, steps, and each figure's mean, sd and n) and the points
// without a record.
func (r *Report) JSON(w io.Writer) error {
	type row struct {
		Values  map[string]string   `json:"values"`
		Points  []int               `json:"points"`
		Seeds   []uint64            `json:"seeds,omitempty"`
		Steps   []int               `json:"steps"`
		Figures map[string]jsonStat `json:"figures"`
	}
	out := struct {
		Sweep   string    `json:"sweep"`
		Out     string    `json:"out"`
		Points  int       `json:"points"`
		Axes    []string  `json:"axes"`
		Metrics []string  `json:"metrics"`
		Rows    []row     `json:"rows"`
		Missing []Missing `json:"missing"`
	}{Sweep: r.Sweep.Path, Out: r.Sweep.Out, Points: len(r.Sweep.Points), Axes: []string{}, Metrics: []string{}, Rows: []row{}, Missing: r.Missing}
	if out.Missing == nil {
		out.Missing = []Missing{}
	}
	for _, ax := range r.Sweep.Grid {
		out.Axes = append(out.Axes, ax.Key)
	}
	for _, m := range r.Metrics {
		out.Metrics = append(out.Metrics, m.Name)
	}
	for _, rw := range r.Rows {
		o := row{Values: map[string]string{}, Points: rw.Points, Seeds: rw.Seeds, Steps: rw.Steps, Figures: map[string]jsonStat{}}
		if o.Steps == nil {
			o.Steps = []int{}
		}
		for i, v := range rw.Values {
			o.Values[r.Sweep.Grid[i].Key] = v
		}
		for i, f := range rw.Figures {
			if f.N == 0 {
				continue
			}
			js := jsonStat{Mean: f.Mean, N: f.N}
			if f.N > 1 {
				sd := f.SD
				js.SD = &sd
			}
			o.Figures[r.Metrics[i].Name] = js
		}
		out.Rows = append(out.Rows, o)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
