package eval

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteTextSharedRows checks that every kind of record (image figures,
// image figures unavailable, 2-D modes) prints the likelihood and speed
// rows it has, once each, and none it lacks.
func TestWriteTextSharedRows(t *testing.T) {
	nelbo, iwae := 101.25, 97.5
	speed := &Speed{NFE: 20, SecondsPer100: 1.5, SamplesPerSecond: 66.7, PeakRSSMB: 512}
	full := func() *Record {
		return &Record{Model: "vae", Checkpoint: "c", ExtractorHash: "0123456789abcdef",
			Metrics: &Metrics{FID: 3}, TestNELBO: &nelbo, IWAENLL: &iwae, IWAEK: 50, IWAEImages: 100, Speed: speed}
	}
	unavailable := full()
	unavailable.Metrics, unavailable.Unavailable = nil, "the data has no labels"
	modes := &Record{Model: "gan2d", Checkpoint: "c", Modes: &ModeFigures{Dataset: "ring8"}, Speed: speed}
	stacked := full()
	stacked.Metrics, stacked.Unavailable = nil, "FID needs features of RGB images"
	stacked.Stacked, stacked.StackedFloor = NewStackedFigures([]int{0, 1, 1, 999}), NewStackedFigures([]int{5, 6})
	noSpeed := full()
	noSpeed.Speed = nil
	for _, tc := range []struct {
		name      string
		r         *Record
		want, not []string
	}{
		{"image figures", full(), []string{"test -ELBO (nats) 101.25 -", "IWAE NLL (k=50, 100 images) 97.50 -",
			"NFE per sample", "s per 100 samples", "1.5000", "samples/s", "66.7", "peak RSS (MiB)", "512"}, nil},
		{"unavailable", unavailable, []string{"not measured: the data has no labels", "test -ELBO (nats) 101.25\n",
			"IWAE NLL", "NFE per sample", "peak RSS (MiB)"}, []string{"real floor"}},
		{"modes", modes, []string{"modes captured", "NFE per sample", "s per 100 samples"}, []string{"ELBO", "IWAE"}},
		{"stacked mnist", stacked, []string{"stacked mnist (N=4)", "modes covered 3 / 1000 2 / 1000", "KL(p || uniform), nats",
			"not measured: FID needs", "test -ELBO (nats) 101.25\n", "peak RSS (MiB)"}, []string{"metric model"}},
		{"no speed", noSpeed, []string{"test -ELBO"}, []string{"NFE per sample", "samples/s", "peak RSS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			WriteText(&b, tc.r)
			// one space between columns, whatever the tabwriter's padding
			var lines []string
			for _, l := range strings.Split(b.String(), "\n") {
				lines = append(lines, strings.Join(strings.Fields(l), " "))
			}
			out := strings.Join(lines, "\n")
			for _, w := range tc.want {
				if strings.Count(out, w) != 1 {
					t.Errorf("%q appears %d times, want once in:\n%s", w, strings.Count(out, w), out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("%q should not appear in:\n%s", n, out)
				}
			}
		})
	}
}
