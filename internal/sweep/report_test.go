package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeRecord writes a 2-D model's eval.json for a point: its modes and
// speed figures.
func writeRecord(t *testing.T, p Point, captured int, hq, s100 float64) {
	t.Helper()
	if err := os.MkdirAll(p.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := fmt.Sprintf(`{"model":"gan2d","checkpoint":"%s/ckpt-00000040.safetensors","step":40,"seed":0,`+
		`"modes":{"dataset":"ring8","n":2500,"components":8,"captured":%d,"high_quality":%g,"well_covered":0,"per_mode":[]},`+
		`"speed":{"nfe":1,"seconds_per_100":%g},"hardware":{},"gentri_version":"test"}`, p.Dir, captured, hq, s100)
	// An earlier record first: the report reads the last line.
	old := `{"model":"gan2d","step":20,"modes":{"captured":0,"high_quality":0},"hardware":{}}`
	if err := os.WriteFile(filepath.Join(p.Dir, RecordFile), []byte(old+"\n"+rec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReportAggregatesSeedsAndListsMissingRecords builds a 2x1 grid of 3
// seeds whose records are known, one missing and one malformed, and
// checks the means and standard deviations, the seeds behind each row,
// and that the two points without a usable record are listed.
func TestReportAggregatesSeedsAndListsMissingRecords(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lr.yaml")
	file := "model: gan2d\ngrid:\n  train.lr: [0.0001, 0.001]\n  model.hidden: [16]\nseeds: 1-3\n"
	if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Points
	writeRecord(t, p[0], 8, 0.5, 0.1)
	writeRecord(t, p[1], 6, 0.25, 0.3)
	writeRecord(t, p[2], 7, 0.75, 0.2)
	writeRecord(t, p[3], 4, 0.1, 0.1)
	// p[4]: no record at all; p[5]: a broken one.
	if err := os.MkdirAll(p[5].Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p[5].Dir, RecordFile), []byte("{half a rec"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := NewReport(s)
	var cols []string
	for _, m := range r.Metrics {
		cols = append(cols, m.Name)
	}
	if want := []string{"modes.captured", "modes.high_quality", "modes.well_covered", "nfe", "s_per_100"}; !slices.Equal(cols, want) {
		t.Fatalf("columns %q, want %q", cols, want)
	}
	if len(r.Rows) != 2 {
		t.Fatalf("%d rows, want one per grid point (2)", len(r.Rows))
	}
	row0, row1 := r.Rows[0], r.Rows[1]
	if !slices.Equal(row0.Values, []string{"0.0001", "16"}) || !slices.Equal(row0.Points, []int{0, 1, 2}) || !slices.Equal(row0.Seeds, []uint64{1, 2, 3}) {
		t.Errorf("row 0: %+v", row0)
	}
	if !slices.Equal(row1.Points, []int{3, 4, 5}) || !slices.Equal(row1.Seeds, []uint64{1}) {
		t.Errorf("row 1: %+v", row1)
	}
	want0 := []Stat{{7, 1, 3}, {0.5, 0.25, 3}, {0, 0, 3}, {1, 0, 3}, {0.2, math.Sqrt(0.01), 3}}
	for i, w := range want0 {
		g := row0.Figures[i]
		if g.N != w.N || math.Abs(g.Mean-w.Mean) > 1e-12 || math.Abs(g.SD-w.SD) > 1e-12 {
			t.Errorf("row 0 %s: %+v, want %+v", cols[i], g, w)
		}
	}
	if g := row1.Figures[0]; g.N != 1 || g.Mean != 4 || !math.IsNaN(g.SD) {
		t.Errorf("row 1 modes.captured: %+v, want 4 from one seed", g)
	}
	if len(r.Missing) != 2 || r.Missing[0].Index != 4 || !strings.Contains(r.Missing[0].Reason, "no eval.json") ||
		r.Missing[1].Index != 5 || !strings.Contains(r.Missing[1].Reason, "line 1") {
		t.Errorf("missing: %+v", r.Missing)
	}

	var md bytes.Buffer
	r.Markdown(&md)
	for _, w := range []string{
		"| train.lr | model.hidden | seeds | step | modes.captured |",
		"| 0.0001 | 16 | 1, 2, 3 | 40 | 7 ± 1 | 0.5 ± 0.25 |",
		"| 0.001 | 16 | 1 (1 of 3) | 40 | 4 | 0.1 |",
		"Missing records (2 of 6 points):",
		"- point 4, " + p[4].Dir + ": no eval.json",
	} {
		if !strings.Contains(md.String(), w) {
			t.Errorf("markdown lacks %q:\n%s", w, md.String())
		}
	}

	var js bytes.Buffer
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Rows []struct {
			Values  map[string]string `json:"values"`
			Figures map[string]struct {
				Mean float64  `json:"mean"`
				SD   *float64 `json:"sd"`
				N    int      `json:"n"`
			} `json:"figures"`
		} `json:"rows"`
		Missing []Missing `json:"missing"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("%v:\n%s", err, js.String())
	}
	f0, f1 := got.Rows[0].Figures["modes.captured"], got.Rows[1].Figures["modes.captured"]
	if got.Rows[0].Values["train.lr"] != "0.0001" || f0.Mean != 7 || f0.SD == nil || *f0.SD != 1 || f0.N != 3 || f1.SD != nil || len(got.Missing) != 2 {
		t.Errorf("JSON:\n%s", js.String())
	}

	png := filepath.Join(dir, "fig.png")
	if err := r.WritePlot(png, "modes.high_quality", "train.lr", ""); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("plot: %v", err)
	}
	for _, c := range []struct{ metric, x, want string }{
		{"fid", "train.lr", "--metric fid: the records have modes.captured"},
		{"", "", "several numeric keys (train.lr, model.hidden): choose the horizontal one with --x"},
		{"", "seeds", "--x seeds: not a key"},
	} {
		if err := r.WritePlot(png, c.metric, c.x, ""); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WritePlot(%q, %q): %v, want %q", c.metric, c.x, err, c.want)
		}
	}
}
