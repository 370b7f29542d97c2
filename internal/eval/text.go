package eval

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// WriteText prints a record as `gentri eval` shows it: the figures of a 2-D
// model, or the image figures beside the real-data floor.
func WriteText(w io.Writer, r *Record) {
	if r.Modes != nil {
		printModes(w, r)
		return
	}
	printRecord(w, r)
}

// JSONSafe replaces NaN figures (a per-class FID that could not be
// computed, the model's or the real-data floor's: a class with fewer than
// two images at a small N) by -1, which JSON can carry. It also names the
// Inception Score for the data: "mnist_is" against MNIST, "is" against
// other data (the record's data.name says which). r itself is unchanged.
func JSONSafe(r *Record) *Record {
	c := *r
	for _, mp := range []**Metrics{&c.Metrics, &c.Floor} {
		if *mp == nil || (*mp).PerClassFID == nil {
			continue
		}
		m := **mp
		m.PerClassFID = append([]float64(nil), m.PerClassFID...)
		for i, v := range m.PerClassFID {
			if math.IsNaN(v) {
				m.PerClassFID[i] = -1
			}
		}
		*mp = &m
	}
	if c.ISName() != "MNIST-IS" {
		for _, mp := range []**Metrics{&c.Metrics, &c.Floor} {
			if *mp == nil || (*mp).DataIS != nil {
				continue
			}
			m := **mp
			is := m.IS
			m.IS, m.DataIS = 0, &is
			*mp = &m
		}
	}
	return &c
}

// fromJSON undoes JSONSafe's renaming after a record is read back.
func fromJSON(r *Record) {
	for _, m := range []*Metrics{r.Metrics, r.Floor} {
		if m != nil && m.DataIS != nil {
			m.IS, m.DataIS = *m.DataIS, nil
		}
	}
}

func printRecord(w io.Writer, r *Record) {
	src := r.Checkpoint
	if src == "" {
		src = r.SamplesDir
	}
	if r.Metrics == nil {
		printUnavailable(w, r, src)
		return
	}
	fmt.Fprintf(w, "%s  %s  (N=%d, seed %d, feature network %s)\n", r.Model, src, r.N, r.Seed, r.ExtractorHash[:12])
	if d := r.Data; d != nil {
		fmt.Fprintf(w, "reference %s: %s split, %d images; %s\n", d.Name, d.Split, d.Images, r.FeatureNetwork.describe())
	}
	if r.Sampler != nil {
		fmt.Fprintf(w, "sampler %s, %d steps, eta %g, guidance %g%s\n", r.Sampler.Name, r.Sampler.Steps, r.Sampler.Eta, r.Sampler.Guidance, r.Sampler.Extras())
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tmetric\tmodel\treal floor")
	row := func(side, name string, v func(m *Metrics) float64, format string) {
		floor := "-"
		if r.Floor != nil {
			floor = fmt.Sprintf(format, v(r.Floor))
		}
		fmt.Fprintf(tw, "%s\t%s\t"+format+"\t%s\n", side, name, v(r.Metrics), floor)
	}
	row("quality", "FID", func(m *Metrics) float64 { return m.FID }, "%.3f")
	row("", "KID", func(m *Metrics) float64 { return m.KID }, "%.5f")
	row("", "precision", func(m *Metrics) float64 { return m.Precision }, "%.3f")
	row("", "density", func(m *Metrics) float64 { return m.Density }, "%.3f")
	row("", r.ISName(), func(m *Metrics) float64 { return m.IS }, "%.3f")
	row("diversity", "recall", func(m *Metrics) float64 { return m.Recall }, "%.3f")
	row("", "coverage", func(m *Metrics) float64 { return m.Coverage }, "%.3f")
	row("", "class KL to uniform", func(m *Metrics) float64 { return m.ClassKL }, "%.4f")
	row("", "classes covered", func(m *Metrics) float64 { return float64(m.ClassesCovered) }, "%.0f")
	if r.ClassAccuracy != nil {
		row("", "class accuracy", func(m *Metrics) float64 {
			if m.ClassAccuracy == nil {
				return math.NaN()
			}
			return *m.ClassAccuracy
		}, "%.4f")
	}
	printLikelihoodAndSpeed(tw, r, "\t-")
	tw.Flush()
	fmt.Fprintf(w, "%s, GOMAXPROCS %d, %s, %s\n", r.Hardware.CPU, r.Hardware.GOMAXPROCS, r.Hardware.BLAS, r.Hardware.Go)
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
}

// describe words where a feature network comes from.
func (f *FeatureNet) describe() string {
	switch {
	case f == nil:
		return "no feature network"
	case f.TrainedOn == "":
		return "feature network " + f.Path + " (trained on data it does not record)"
	}
	return "feature network trained on " + f.TrainedOn
}

// printUnavailable prints a record without image figures: why they are
// missing, then what could be measured (likelihood, speed).
func printUnavailable(w io.Writer, r *Record, src string) {
	fmt.Fprintf(w, "%s  %s  (seed %d)\n", r.Model, src, r.Seed)
	if d := r.Data; d != nil {
		fmt.Fprintf(w, "reference %s: %s split, %d images\n", d.Name, d.Split, d.Images)
	}
	if r.Stacked != nil {
		fmt.Fprintf(w, "modes counted by %s\n", r.FeatureNetwork.describe())
		printStacked(w, r)
	}
	fmt.Fprintf(w, "not measured: %s\n", r.Unavailable)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	printLikelihoodAndSpeed(tw, r, "")
	tw.Flush()
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
}

// printLikelihoodAndSpeed adds the rows every kind of record shares: the
// VAE's likelihoods and the sampling speed. floor is what the real-data
// column shows for a likelihood ("\t-" where the table has that column, ""
// where it does not); speed has no floor.
func printLikelihoodAndSpeed(tw io.Writer, r *Record, floor string) {
	if r.TestNELBO != nil {
		fmt.Fprintf(tw, "likelihood\ttest -ELBO (nats)\t%.2f%s\n", *r.TestNELBO, floor)
	}
	if r.IWAENLL != nil {
		fmt.Fprintf(tw, "\tIWAE NLL (k=%d, %d images)\t%.2f%s\n", r.IWAEK, r.IWAEImages, *r.IWAENLL, floor)
	}
	if sp := r.Speed; sp != nil {
		blank := ""
		if floor != "" {
			blank = "\t"
		}
		fmt.Fprintf(tw, "speed\tNFE per sample\t%d%s\n", sp.NFE, blank)
		fmt.Fprintf(tw, "\ts per 100 samples\t%.4f%s\n", sp.SecondsPer100, blank)
		fmt.Fprintf(tw, "\tsamples/s\t%.1f%s\n", sp.SamplesPerSecond, blank)
		if sp.PeakRSSMB > 0 {
			fmt.Fprintf(tw, "\tpeak RSS (MiB)\t%.0f%s\n", sp.PeakRSSMB, blank)
		}
	}
}

// printModes prints the figures of a 2-D model (docs/metrics.md §6.2) and its speed.
func printModes(w io.Writer, r *Record) {
	md := r.Modes
	fmt.Fprintf(w, "%s  %s  (%s, N=%d, seed %d)\n", r.Model, r.Checkpoint, md.Dataset, md.N, r.Seed)
	if r.Sampler != nil {
		fmt.Fprintf(w, "sampler %s, %d steps, eta %g%s\n", r.Sampler.Name, r.Sampler.Steps, r.Sampler.Eta, r.Sampler.Extras())
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "diversity\tmodes captured\t%d / %d\n", md.Captured, md.Components)
	fmt.Fprintf(tw, "\twell-covered modes (>= 25%% of N/K)\t%d\n", md.WellCovered)
	kl := "- (no high-quality sample)"
	if md.ReverseKL != nil {
		kl = fmt.Sprintf("%.4f", *md.ReverseKL)
	}
	fmt.Fprintf(tw, "\treverse KL of the HQ histogram (nats)\t%s\n", kl)
	fmt.Fprintf(tw, "quality\thigh-quality samples (< 3 std)\t%.1f %%\n", 100*md.HighQuality)
	printLikelihoodAndSpeed(tw, r, "")
	tw.Flush()
	fmt.Fprintf(w, "per mode: %v\n", md.PerMode)
	fmt.Fprintf(w, "plot: %s\n", r.Plot)
	fmt.Fprintf(w, "%s, GOMAXPROCS %d, %s, %s\n", r.Hardware.CPU, r.Hardware.GOMAXPROCS, r.Hardware.BLAS, r.Hardware.Go)
}
