package eval

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/data"
)

// The Inception Score is named for the reference data: "mnist_is" against
// MNIST (as records always had it), "is" against other data, and a record
// read back has its IS whichever it was.
func TestISIsNamedForTheReferenceData(t *testing.T) {
	for _, tc := range []struct {
		data           *DataRef
		key, other, is string
	}{
		{nil, `"mnist_is":3.5`, `"is":`, "MNIST-IS"},
		{&DataRef{Name: "mnist", SHA256: data.MNISTSHA256}, `"mnist_is":3.5`, `"is":`, "MNIST-IS"},
		{&DataRef{Name: "fashion-mnist", SHA256: "2e52"}, `"is":3.5`, `"mnist_is"`, "fashion-mnist-IS"},
	} {
		t.Run(tc.is, func(t *testing.T) {
			rec := &Record{Model: "vae", Data: tc.data, Metrics: &Metrics{N: 2, IS: 3.5}, Floor: &Metrics{N: 2, IS: 7}}
			if rec.ISName() != tc.is {
				t.Errorf("ISName() = %q, want %q", rec.ISName(), tc.is)
			}
			b, err := json.Marshal(JSONSafe(rec))
			if err != nil {
				t.Fatal(err)
			}
			if s := string(b); !strings.Contains(s, tc.key) || strings.Contains(s, tc.other) {
				t.Errorf("JSON %s: want %s and no %s", s, tc.key, tc.other)
			}
			if rec.IS != 3.5 || rec.DataIS != nil {
				t.Errorf("JSONSafe changed the record itself: %+v", rec.Metrics)
			}
			if f := Figures(rec); f[strings.Trim(strings.Split(tc.key, ":")[0], `"`)] != 3.5 {
				t.Errorf("gates see %v", f)
			}
			path := filepath.Join(t.TempDir(), "r.jsonl")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			recs, err := ReadRecords([]string{path})
			if err != nil {
				t.Fatal(err)
			}
			if got := recs[0]; got.IS != 3.5 || got.Floor.IS != 7 || got.DataIS != nil {
				t.Errorf("read back: IS %v, floor IS %v", got.IS, got.Floor.IS)
			}
		})
	}
}

// A per-class FID that could not be computed (NaN: a class with fewer than
// two images, as in a small N's real-data floor) is written as -1, in the
// model's figures and the floor's alike, and the record itself keeps its
// NaN. Before the floor's were mapped too, `gentri eval --n 20 --json`
// failed with "json: unsupported value: NaN".
func TestJSONSafeCarriesUncomputedPerClassFIDs(t *testing.T) {
	nan := math.NaN()
	rec := &Record{Model: "ddpm",
		Metrics: &Metrics{N: 20, PerClassFID: []float64{nan, 3}},
		Floor:   &Metrics{N: 20, PerClassFID: []float64{2, nan}}}
	b, err := json.Marshal(JSONSafe(rec))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Count(s, `"per_class_fid":`) != 2 || strings.Count(s, "-1") != 2 {
		t.Errorf("JSON %s: want two per_class_fid lists with one -1 each", s)
	}
	if !math.IsNaN(rec.PerClassFID[0]) || !math.IsNaN(rec.Floor.PerClassFID[1]) {
		t.Errorf("JSONSafe changed the record itself: %v, %v", rec.PerClassFID, rec.Floor.PerClassFID)
	}
}
