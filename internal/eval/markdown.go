package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
)

// ReadRecords reads evaluation records from JSON files (one record per
// line, as `gentri eval --json` and `--sweep-steps --json` write them).
func ReadRecords(paths []string) ([]*Record, error) {
	var recs []*Record
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("records: %w", err)
		}
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var r Record
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return nil, fmt.Errorf("records %s: line %d: %w", p, i+1, err)
			}
			fromJSON(&r)
			r.Source = fmt.Sprintf("%s:%d", p, i+1)
			recs = append(recs, &r)
		}
	}
	return recs, nil
}

// TrainSeconds, if set, gives the training wall time behind a checkpoint.
type TrainSeconds func(checkpoint string, step int) float64

// MarkdownTables writes the trilemma tables of a set of records: one row
// per image model and sampler (quality, diversity, speed, training time),
// the real-data floor, then one row per Stacked-MNIST model (its modes) and
// per 2-D model and mixture.
func MarkdownTables(w io.Writer, recs []*Record, trainSeconds TrainSeconds) {
	var images, modes, stacked []*Record
	for _, r := range recs {
		switch {
		case r.Modes != nil:
			modes = append(modes, r)
		case r.Stacked != nil:
			stacked = append(stacked, r)
		case r.Metrics != nil:
			images = append(images, r)
		}
	}
	if len(images) > 0 {
		fmt.Fprintln(w, "| model | sampler | N | FID ↓ | precision ↑ | recall ↑ | density ↑ | coverage ↑ | classes covered | class acc. | NFE | s / 100 samples | training wall time |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
		floors := map[int]*Metrics{} // one real-data floor per N: FID and PRDC depend on N
		for _, r := range images {
			if r.Floor != nil && floors[r.Floor.N] == nil {
				floors[r.Floor.N] = r.Floor
			}
			acc, train := "–", "–"
			nfe, secs := speedCells(r)
			if r.ClassAccuracy != nil {
				acc = fmt.Sprintf("%.3f", *r.ClassAccuracy)
			}
			if trainSeconds != nil && r.Checkpoint != "" {
				if s := trainSeconds(r.Checkpoint, r.Step); s > 0 {
					train = fmt.Sprintf("%.0f min (%d steps)", s/60, r.Step)
				}
			}
			fmt.Fprintf(w, "| %s | %s | %d | %.2f | %.3f | %.3f | %.3f | %.3f | %d | %s | %s | %s | %s |\n",
				modelName(r), samplerName(r), r.N, r.FID, r.Precision, r.Recall, r.Density, r.Coverage,
				r.ClassesCovered, acc, nfe, secs, train)
		}
		for _, n := range slices.Sorted(maps.Keys(floors)) {
			floor, acc := floors[n], "–"
			if floor.ClassAccuracy != nil {
				acc = fmt.Sprintf("%.3f", *floor.ClassAccuracy)
			}
			fmt.Fprintf(w, "| real data (floor) | – | %d | %.2f | %.3f | %.3f | %.3f | %.3f | %d | %s | – | – | – |\n",
				floor.N, floor.FID, floor.Precision, floor.Recall, floor.Density, floor.Coverage, floor.ClassesCovered, acc)
		}
		fmt.Fprintln(w)
	}
	if len(stacked) > 0 {
		stackedTable(w, stacked)
	}
	if len(modes) > 0 {
		sort.SliceStable(modes, func(i, j int) bool { return modes[i].Modes.Dataset < modes[j].Modes.Dataset })
		fmt.Fprintln(w, "| mixture | model | modes captured | % high quality | reverse KL (nats) | well covered | NFE | s / 100 samples |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		for _, r := range modes {
			m := r.Modes
			kl := "–"
			if m.ReverseKL != nil {
				kl = fmt.Sprintf("%.3f", *m.ReverseKL)
			}
			nfe, secs := speedCells(r)
			fmt.Fprintf(w, "| %s | %s | %d / %d | %.1f | %s | %d | %s | %s |\n",
				m.Dataset, r.Model, m.Captured, m.Components, 100*m.HighQuality, kl, m.WellCovered, nfe, secs)
		}
		fmt.Fprintln(w)
	}
}

// stackedTable writes the Stacked-MNIST rows: modes covered out of 1000
// and the KL of the mode histogram to uniform (StackedKLNote), then the
// real-data floor of each N (as many training images, counted the same way).
func stackedTable(w io.Writer, recs []*Record) {
	fmt.Fprintln(w, "| Stacked MNIST | training steps | sampler | N | modes covered ↑ | KL to uniform (nats) ↓ | NFE | s / 100 samples |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	floors := map[int]*StackedFigures{}
	for _, r := range recs {
		st := r.Stacked
		if f := r.StackedFloor; f != nil && floors[f.N] == nil {
			floors[f.N] = f
		}
		steps := "–"
		if r.Step > 0 {
			steps = fmt.Sprint(r.Step)
		}
		nfe, secs := speedCells(r)
		fmt.Fprintf(w, "| %s | %s | %s | %d | %d / %d | %.3f | %s | %s |\n",
			modelName(r), steps, samplerName(r), st.N, st.Modes, st.Of, st.KL, nfe, secs)
	}
	for _, n := range slices.Sorted(maps.Keys(floors)) {
		f := floors[n]
		fmt.Fprintf(w, "| real data (floor) | – | – | %d | %d / %d | %.3f | – | – |\n", f.N, f.Modes, f.Of, f.KL)
	}
	fmt.Fprintln(w)
}

// speedCells are a record's NFE and seconds per 100 samples, "–" without
// a speed measurement.
func speedCells(r *Record) (nfe, secs string) {
	if r.Speed == nil {
		return "–", "–"
	}
	return fmt.Sprint(r.Speed.NFE), fmt.Sprintf("%.4g", r.Speed.SecondsPer100)
}

func modelName(r *Record) string {
	if r.Unconditional {
		return r.Model + " (no class)"
	}
	return r.Model
}

func samplerName(r *Record) string {
	if r.Sampler == nil {
		return "one pass"
	}
	return samplerLabel(r.Model, r.Sampler)
}
