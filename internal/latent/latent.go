// Package latent measures and draws the latent space of a model that maps
// images to codes and back (models.Autoencoder: the VAE, whose code of an
// image is its posterior mean, and the plain autoencoder), on MNIST's test
// set: where the codes lie (a scatter plot coloured by digit, each
// dimension's spread) and what the decoder makes of points of the space (a
// draw of N(0, I), a straight line between two images' codes).
//
// A VAE's KL term pulls its codes towards N(0, I): they stay in a small
// region around the origin where every digit has a place, so a draw of
// N(0, I) decodes to a digit. An autoencoder's codes lie wherever its
// reconstructions put them, so the same draw need not (docs/models.md).
package latent

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
	"github.com/gentri/gentri/internal/sample"
)

// The files Run writes into its folder.
const (
	ScatterFile   = "scatter.png"   // the test codes, coloured by digit
	DecodingsFile = "decodings.png" // N(0, I) draws beside straight lines between codes
	TableFile     = "spread.md"     // the per-dimension spread, as printed
)

// Options say what Run draws and where.
type Options struct {
	Model models.Model // a models.Autoencoder
	Name  string       // what the pictures and the table call it (its kind, checkpoint)
	// Test is the test set as the model sees it (binarised where it was
	// trained on binarised images).
	Test *data.Dataset
	Out  string // folder of the files
	// Seed: the N(0, I) draws are samples Seed, Seed+1, … (what
	// `gentri sample --seed` draws); the interpolated pairs come from
	// stream StreamAnalysis of Seed.
	Seed uint64
	// Prior is the number of N(0, I) draws, Pairs the number of lines
	// between two test images' codes, Steps the points along each.
	Prior, Pairs, Steps int
	// Extent, if > 0, fixes the scatter plot's axes to [−Extent, Extent],
	// so the plots of two models compare at a glance; 0 fits the codes.
	Extent float64
}

// DimStats is the spread of one dimension of the codes over the test set.
type DimStats struct {
	Dim  int     `json:"dim"` // 1-based, as the table names it (z1, z2, …)
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"` // population standard deviation
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Record is what Run measured and wrote.
type Record struct {
	Name   string `json:"name"`
	Latent int    `json:"latent"` // dimension of the codes
	N      int    `json:"n"`      // test images encoded
	// Axes of the scatter plot: the codes' own (z1, z2) for a 2-D latent,
	// else their first two principal components.
	Axes [2]string `json:"axes"`
	// Explained is the share of the codes' total variance along each axis.
	Explained [2]float64 `json:"explained"`
	Dims      []DimStats `json:"dims"`
	// MeanStd is the mean of the dimensions' standard deviations; MaxAbs
	// the largest |value| of any code.
	MeanStd float64 `json:"mean_std"`
	MaxAbs  float64 `json:"max_abs"`
	// InPrior is the share of the codes inside the ball around the origin
	// that holds 95 % of N(0, I)'s mass, of radius PriorRadius: where the
	// N(0, I) draws a VAE samples from land.
	InPrior     float64 `json:"in_prior_95"`
	PriorRadius float64 `json:"prior_radius_95"`
	// InPriorByDigit is InPrior for the codes of each digit (index: the
	// label): a digit whose codes lie outside the ball is rarely sampled.
	InPriorByDigit []float64 `json:"in_prior_95_by_digit"`
	// Extent is the scatter plot's half-width; Outside counts the codes
	// beyond it (drawn nowhere), 0 unless Options.Extent was set.
	Extent  float64 `json:"extent"`
	Outside int     `json:"outside"`
	// Pairs are the test images (indices) the lines join.
	Pairs [][2]int          `json:"pairs"`
	Files map[string]string `json:"files"`
}

// Run encodes the test set, measures the codes, and writes the scatter plot,
// the decodings and the table into o.Out.
func Run(o Options) (*Record, error) {
	ae, ok := o.Model.(models.Autoencoder)
	if !ok {
		return nil, fmt.Errorf("latent: a %s model has no codes", o.Model.Kind())
	}
	switch {
	case o.Test == nil || o.Test.N < 2:
		return nil, fmt.Errorf("latent: want a test set of at least 2 images")
	case o.Prior < 1 || o.Pairs < 1 || o.Steps < 2:
		return nil, fmt.Errorf("latent: %d prior draws, %d pairs of %d steps: want at least 1, 1 and 2", o.Prior, o.Pairs, o.Steps)
	case !(o.Extent >= 0) || math.IsInf(o.Extent, 0):
		return nil, fmt.Errorf("latent: extent %g: want a finite value >= 0 (0 = fit the codes)", o.Extent)
	}
	xs := make([][]float32, o.Test.N)
	for i := range xs {
		xs[i] = o.Test.Image(i)
	}
	codes, err := ae.Encode(xs)
	if err != nil {
		return nil, fmt.Errorf("latent: encoding the test set: %w", err)
	}
	rec := &Record{Name: o.Name, Latent: ae.LatentDim(), N: len(codes), Dims: Spread(codes)}
	for _, d := range rec.Dims {
		rec.MeanStd += d.Std / float64(len(rec.Dims))
		rec.MaxAbs = math.Max(rec.MaxAbs, math.Max(-d.Min, d.Max))
	}
	rec.InPrior, rec.PriorRadius = PriorShare(codes, 0.95)
	byDigit := map[uint8][][]float32{}
	for i, z := range codes {
		byDigit[o.Test.Labels[i]] = append(byDigit[o.Test.Labels[i]], z)
	}
	for c := range slices.Max(o.Test.Labels) + 1 {
		share, _ := PriorShare(byDigit[c], 0.95)
		rec.InPriorByDigit = append(rec.InPriorByDigit, share)
	}
	pts, axes, explained, err := Project(codes)
	if err != nil {
		return nil, err
	}
	rec.Axes, rec.Explained = axes, explained
	rec.Extent, rec.Outside = o.Extent, 0
	if rec.Extent == 0 {
		rec.Extent = fitExtent(pts)
	}
	for _, p := range pts {
		if math.Abs(p[0]) > rec.Extent || math.Abs(p[1]) > rec.Extent {
			rec.Outside++
		}
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("latent: %w", err)
	}
	rec.Files = map[string]string{
		"scatter": filepath.Join(o.Out, ScatterFile), "decodings": filepath.Join(o.Out, DecodingsFile), "table": filepath.Join(o.Out, TableFile),
	}
	labels := make([]int, len(codes))
	for i := range labels {
		labels[i] = int(o.Test.Labels[i])
	}
	title := fmt.Sprintf("%s: %d-D codes of %d test images", o.Name, rec.Latent, rec.N)
	if err := writeScatter(rec.Files["scatter"], title, pts, labels, rec); err != nil {
		return nil, err
	}
	if rec.Pairs, err = writeDecodings(rec.Files["decodings"], ae, o, codes, xs); err != nil {
		return nil, err
	}
	var table strings.Builder
	WriteTable(&table, rec)
	if err := writeFile(rec.Files["table"], []byte(table.String())); err != nil {
		return nil, err
	}
	return rec, nil
}

// TestSet loads the test set of the data in dir (MNIST, found as for
// training, when empty), binarised as the model's held-out figures are (the
// fixed draw of stream StreamEval of seed 0) when binarized.
func TestSet(dataset, dir string, shape models.Shape, binarized bool) (*data.Dataset, error) {
	test, err := data.TestSet(dataset, dir, shape.C, shape.H, shape.W)
	if err != nil {
		return nil, err
	}
	if binarized {
		test = test.Binarized(rng.New(0, models.StreamEval))
	}
	return test, nil
}

// Spread returns each dimension's mean, population standard deviation,
// minimum and maximum over the codes, in float64:
//
//	mean_j = Σ_i z_ij / N,  std_j = √(Σ_i (z_ij − mean_j)² / N).
func Spread(codes [][]float32) []DimStats {
	if len(codes) == 0 {
		return nil
	}
	L, n := len(codes[0]), float64(len(codes))
	out := make([]DimStats, L)
	for j := range out {
		d := DimStats{Dim: j + 1, Min: math.Inf(1), Max: math.Inf(-1)}
		for _, z := range codes {
			v := float64(z[j])
			d.Mean += v
			d.Min, d.Max = math.Min(d.Min, v), math.Max(d.Max, v)
		}
		d.Mean /= n
		for _, z := range codes {
			e := float64(z[j]) - d.Mean
			d.Std += e * e
		}
		d.Std = math.Sqrt(d.Std / n)
		out[j] = d
	}
	return out
}

// PriorShare returns the share of the codes inside the ball around the
// origin that holds mass p of N(0, I) in their dimension L, and its radius
// r: ‖z‖² ≤ r² = the p-quantile of χ²_L. Codes distributed as the prior
// give about p; codes spread wider, less.
func PriorShare(codes [][]float32, p float64) (share, radius float64) {
	if len(codes) == 0 {
		return 0, 0
	}
	// χ²_L is Gamma(L/2, scale 2): its p-quantile is 2·P⁻¹(L/2, p), P the
	// regularised lower incomplete gamma function.
	r2 := 2 * mathext.GammaIncRegInv(float64(len(codes[0]))/2, p)
	in := 0
	for _, z := range codes {
		s := 0.0
		for _, v := range z {
			s += float64(v) * float64(v)
		}
		if s <= r2 {
			in++
		}
	}
	return float64(in) / float64(len(codes)), math.Sqrt(r2)
}

// Project returns the 2-D points the scatter plot draws, its axes' names and
// the share of the codes' total variance along each: the codes themselves
// for a 2-D latent (z1, z2), the first coordinate and 0 for a 1-D one, and
// otherwise the centred codes' coordinates on their first two principal
// components (the covariance's leading eigenvectors, each signed so its
// largest entry is positive, so the picture does not depend on the
// eigensolver's choice of sign).
func Project(codes [][]float32) (pts [][2]float64, axes [2]string, explained [2]float64, err error) {
	if len(codes) == 0 {
		return nil, axes, explained, fmt.Errorf("latent: no codes to project")
	}
	L, n := len(codes[0]), len(codes)
	stats := Spread(codes)
	total := 0.0
	for _, d := range stats {
		total += d.Std * d.Std
	}
	share := func(v float64) float64 {
		if total == 0 {
			return 0
		}
		return v / total
	}
	pts = make([][2]float64, n)
	switch L {
	case 1, 2:
		axes = [2]string{"z1", "z2"}
		for i, z := range codes {
			pts[i][0] = float64(z[0])
			if L == 2 {
				pts[i][1] = float64(z[1])
			}
		}
		explained[0] = share(stats[0].Std * stats[0].Std)
		if L == 2 {
			explained[1] = share(stats[1].Std * stats[1].Std)
		} else {
			axes[1] = "(none: a 1-D latent)"
		}
		return pts, axes, explained, nil
	}
	cov := mat.NewSymDense(L, nil)
	for _, z := range codes {
		for a := 0; a < L; a++ {
			ea := float64(z[a]) - stats[a].Mean
			for b := a; b < L; b++ {
				cov.SetSym(a, b, cov.At(a, b)+ea*(float64(z[b])-stats[b].Mean)/float64(n))
			}
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, axes, explained, fmt.Errorf("latent: the codes' covariance has no eigendecomposition")
	}
	values := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	for k := range 2 {
		col := L - 1 - k
		v := mat.Col(nil, col, &vecs)
		big := 0
		for j := range v {
			if math.Abs(v[j]) > math.Abs(v[big]) {
				big = j
			}
		}
		if v[big] < 0 {
			for j := range v {
				v[j] = -v[j]
			}
		}
		for i, z := range codes {
			s := 0.0
			for j, w := range v {
				s += (float64(z[j]) - stats[j].Mean) * w
			}
			pts[i][k] = s
		}
		axes[k] = fmt.Sprintf("PC%d", k+1)
		explained[k] = share(math.Max(values[col], 0))
	}
	return pts, axes, explained, nil
}

// fitExtent is the half-width of a square around the origin holding every
// point, with a 5 % margin.
func fitExtent(pts [][2]float64) float64 {
	e := 0.0
	for _, p := range pts {
		e = math.Max(e, math.Max(math.Abs(p[0]), math.Abs(p[1])))
	}
	if e == 0 || math.IsNaN(e) {
		return 1
	}
	return 1.05 * e
}

// writeDecodings draws the decoded N(0, I) draws (a square grid) beside the
// lines between pairs of test images' codes: row r is test image a_r, the
// decodings of (1 − λ)·z_a + λ·z_b for λ = 0, 1/(S−1), …, 1, then test
// image b_r. Each pair joins two images of different digits, drawn from
// stream StreamAnalysis of the seed. It returns the pairs.
func writeDecodings(path string, ae models.Autoencoder, o Options, codes, xs [][]float32) ([][2]int, error) {
	seeds := make([]uint64, o.Prior)
	for i := range seeds {
		seeds[i] = o.Seed + uint64(i)
	}
	prior, err := o.Model.Generate(seeds, nil)
	if err != nil {
		return nil, fmt.Errorf("latent: decoding N(0, I): %w", err)
	}
	r := rng.New(o.Seed, models.StreamAnalysis)
	pairs := make([][2]int, o.Pairs)
	var line [][]float32
	for k := range pairs {
		a := r.IntN(len(xs))
		b := r.IntN(len(xs))
		for tries := 0; o.Test.Labels[b] == o.Test.Labels[a] && tries < 100; tries++ {
			b = r.IntN(len(xs))
		}
		pairs[k] = [2]int{a, b}
		for s := range o.Steps {
			lambda := float64(s) / float64(o.Steps-1)
			z := make([]float32, len(codes[a]))
			for j := range z {
				z[j] = float32((1-lambda)*float64(codes[a][j]) + lambda*float64(codes[b][j]))
			}
			line = append(line, z)
		}
	}
	decoded, err := ae.Decode(line)
	if err != nil {
		return nil, fmt.Errorf("latent: decoding the lines: %w", err)
	}
	var cells [][]float32
	for k, p := range pairs {
		cells = append(append(append(cells, xs[p[0]]), decoded[k*o.Steps:(k+1)*o.Steps]...), xs[p[1]])
	}
	c, h, w := o.Test.Channels(), o.Test.H, o.Test.W
	img := sample.Beside(sample.GridOf(prior, c, h, w, sample.SquareCols(len(prior))), sample.GridOf(cells, c, h, w, o.Steps+2))
	if err := sample.WritePNG(path, img); err != nil {
		return nil, err
	}
	return pairs, nil
}

// WriteTable writes the record as Markdown: a sentence naming the codes, a
// table of each dimension's spread, and the summary figures.
func WriteTable(w io.Writer, rec *Record) {
	fmt.Fprintf(w, "%s: %d-D codes of %d MNIST test images\n\n", rec.Name, rec.Latent, rec.N)
	fmt.Fprintln(w, "| dim | mean | std | min | max |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, d := range rec.Dims {
		fmt.Fprintf(w, "| z%d | %.3f | %.3f | %.3f | %.3f |\n", d.Dim, d.Mean, d.Std, d.Min, d.Max)
	}
	fmt.Fprintf(w, "\nmean std %.3f, largest |z| %.3f; %.1f %% of the codes lie within the radius %.2f that holds 95 %% of N(0, I);\n",
		rec.MeanStd, rec.MaxAbs, 100*rec.InPrior, rec.PriorRadius)
	fmt.Fprint(w, "by digit:")
	for c, share := range rec.InPriorByDigit {
		sep := ","
		if c == 0 {
			sep = ""
		}
		fmt.Fprintf(w, "%s %d: %.0f %%", sep, c, 100*share)
	}
	fmt.Fprintf(w, ";\nscatter plot: %s and %s (%.1f %% and %.1f %% of the variance)", rec.Axes[0], rec.Axes[1], 100*rec.Explained[0], 100*rec.Explained[1])
	if rec.Outside > 0 {
		fmt.Fprintf(w, ", %d codes beyond its extent %g", rec.Outside, rec.Extent)
	}
	fmt.Fprintln(w)
}

// writeFile writes b to path through a temporary file and a rename, so a
// crash never leaves half a file.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("latent: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("latent: %w", err)
	}
	return nil
}

// sortedClasses lists the distinct labels, ascending.
func sortedClasses(labels []int) []int {
	cs := slices.Clone(labels)
	slices.Sort(cs)
	return slices.Compact(cs)
}
