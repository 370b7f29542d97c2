package latent

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
)

func TestSpreadIsMeanStdMinMaxPerDimension(t *testing.T) {
	tests := []struct {
		name  string
		codes [][]float32
		want  []DimStats
	}{
		{"one code", [][]float32{{3, -1}}, []DimStats{{1, 3, 0, 3, 3}, {2, -1, 0, -1, -1}}},
		{"two dims", [][]float32{{1, 10}, {3, 10}, {5, 40}, {7, 40}}, []DimStats{{1, 4, math.Sqrt(5), 1, 7}, {2, 25, 15, 10, 40}}},
		{"no codes", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Spread(tt.codes); !slices.Equal(got, tt.want) {
				t.Fatalf("Spread = %v, want %v", got, tt.want)
			}
		})
	}
}

// Codes drawn from N(0, I) lie in its 95 % ball about 95 % of the time;
// codes ten times wider almost never do.
func TestPriorShareCountsCodesInsideThePriorsBall(t *testing.T) {
	r := rng.New(2, 0)
	prior, wide := make([][]float32, 4000), make([][]float32, 4000)
	for i := range prior {
		prior[i], wide[i] = make([]float32, 5), make([]float32, 5)
		rng.Normal(r, prior[i])
		for j, v := range prior[i] {
			wide[i][j] = 10 * v
		}
	}
	share, radius := PriorShare(prior, 0.95)
	if math.Abs(share-0.95) > 0.015 || math.Abs(radius-math.Sqrt(11.0705)) > 1e-3 {
		t.Errorf("N(0, I) in 5-D: share %.3f in radius %.4f, want about 0.95 in √11.0705 (χ²_5's 95 %% quantile)", share, radius)
	}
	if share, _ := PriorShare(wide, 0.95); share > 0.01 {
		t.Errorf("N(0, 100 I) in 5-D: share %.3f, want about 0", share)
	}
	if share, radius := PriorShare(nil, 0.95); share != 0 || radius != 0 {
		t.Errorf("no codes: %v, %v", share, radius)
	}
}

// A 2-D latent is drawn as it is; a wider one on its first two principal
// components, signed so each has a positive largest entry.
func TestProjectDrawsTheCodesOrTheirPrincipalComponents(t *testing.T) {
	pts, axes, explained, err := Project([][]float32{{1, 2}, {-1, -2}})
	if err != nil || axes != [2]string{"z1", "z2"} || pts[1] != [2]float64{-1, -2} || math.Abs(explained[0]-0.2) > 1e-12 {
		t.Fatalf("2-D: %v %v %v %v", pts, axes, explained, err)
	}
	// Codes a·(−1, −1, 0)/√2 + b·(0, 0, 1), a of std 4 and b of std 0.5:
	// PC1 is (1, 1, 0)/√2 once signed, PC2 (0, 0, 1).
	r := rng.New(1, 0)
	var codes [][]float32
	var along []float64
	for range 100 {
		a := 4 * r.NormFloat64()
		for _, b := range []float64{0.5, -0.5} { // b uncorrelated with a, exactly
			along = append(along, a)
			codes = append(codes, []float32{float32(-a / math.Sqrt2), float32(-a / math.Sqrt2), float32(b)})
		}
	}
	pts, axes, explained, err = Project(codes)
	if err != nil {
		t.Fatal(err)
	}
	if axes != [2]string{"PC1", "PC2"} || !(explained[0] > 0.95 && explained[0]+explained[1] > 0.999) {
		t.Fatalf("axes %v, explained %v: want PC1 near all of the variance, PC1+PC2 all of it", axes, explained)
	}
	mean := 0.0
	for _, a := range along {
		mean += a / float64(len(along))
	}
	for i, p := range pts {
		// PC1 = (1, 1, 0)/√2, so the coordinate is −(a − mean(a)).
		if math.Abs(p[0]+(along[i]-mean)) > 1e-5 || math.Abs(math.Abs(p[1])-0.5) > 1e-5 {
			t.Fatalf("code %d: (PC1, PC2) = %v, want (%v, ±0.5)", i, p, -(along[i] - mean))
		}
	}
	if _, _, _, err := Project(nil); err == nil {
		t.Error("Project of no codes: no error")
	}
}

// The autoencoder trains on MNIST, and Run measures its codes on the whole
// test set: the record's spread is that of the codes Encode gives for the
// test images, and the three files are written.
func TestAutoencoderTrainsAndItsTestCodesAreMeasured(t *testing.T) {
	test, err := TestSet("mnist", "", models.DefaultShape, true)
	if err != nil {
		t.Skipf("no MNIST: %v", err)
	}
	dir, err := data.MNISTDir("")
	if err != nil {
		t.Fatal(err)
	}
	train, err := data.LoadIDXDir(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	train = train.Subset(60 * 64).Binarized(rng.New(1, models.StreamTrain))
	m := models.NewAEModel(models.DefaultShape.Pixels(), 32, 3, 1, 3e-3, 0.9, 0.999, 1e-8)
	before, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	B, P := 64, models.DefaultShape.Pixels()
	for s := range 60 {
		x := train.Pixels[s*B*P : (s+1)*B*P]
		if _, err := m.TrainStep(models.Batch{N: B, X: x}, nil); err != nil {
			t.Fatal(err)
		}
	}
	after, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	if !(after[0].Value < 0.8*before[0].Value) {
		t.Fatalf("test reconstruction loss %.1f before and %.1f after 60 steps: the autoencoder does not train", before[0].Value, after[0].Value)
	}

	out := t.TempDir()
	rec, err := Run(Options{Model: m, Name: "ae", Test: test, Out: out, Seed: 3, Prior: 9, Pairs: 2, Steps: 4})
	if err != nil {
		t.Fatal(err)
	}
	xs := make([][]float32, test.N)
	for i := range xs {
		xs[i] = test.Image(i)
	}
	codes, err := m.Encode(xs)
	if err != nil {
		t.Fatal(err)
	}
	share, _ := PriorShare(codes, 0.95)
	var sevens [][]float32
	for i, z := range codes {
		if test.Labels[i] == 7 {
			sevens = append(sevens, z)
		}
	}
	sevenShare, _ := PriorShare(sevens, 0.95)
	if rec.InPrior != share || len(rec.InPriorByDigit) != 10 || rec.InPriorByDigit[7] != sevenShare {
		t.Fatalf("in the prior's ball: %v, by digit %v; want %v, and %v for the 7s", rec.InPrior, rec.InPriorByDigit, share, sevenShare)
	}
	if rec.N != 10000 || rec.Latent != 3 || !slices.Equal(rec.Dims, Spread(codes)) {
		t.Fatalf("record of %d codes of %d dims, spread %v; want the 10000 test codes' %v", rec.N, rec.Latent, rec.Dims, Spread(codes))
	}
	if rec.Axes != [2]string{"PC1", "PC2"} || rec.Outside != 0 || !(rec.MaxAbs > 0 && rec.Extent > 0) {
		t.Fatalf("axes %v, %d outside, max |z| %v, extent %v", rec.Axes, rec.Outside, rec.MaxAbs, rec.Extent)
	}
	for _, p := range rec.Pairs {
		if test.Labels[p[0]] == test.Labels[p[1]] {
			t.Errorf("pair %v joins two %ds", p, test.Labels[p[0]])
		}
	}
	for _, f := range rec.Files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	table, _ := os.ReadFile(rec.Files["table"])
	if !strings.Contains(string(table), "| z3 |") || !strings.Contains(string(table), "3-D codes of 10000 MNIST test images") {
		t.Errorf("table:\n%s", table)
	}

	// A fixed extent counts the codes beyond it.
	small, err := Run(Options{Model: m, Name: "ae", Test: test, Out: out, Seed: 3, Prior: 1, Pairs: 1, Steps: 2, Extent: rec.MaxAbs / 10})
	if err != nil {
		t.Fatal(err)
	}
	if small.Outside == 0 || !strings.Contains(readString(t, small.Files["table"]), "codes beyond its extent") {
		t.Errorf("extent %v: %d codes outside", small.Extent, small.Outside)
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	test, err := TestSet("mnist", "", models.DefaultShape, false)
	if err != nil {
		t.Skipf("no MNIST: %v", err)
	}
	ae := models.NewAEModel(models.DefaultShape.Pixels(), 4, 2, 1, 1e-3, 0.9, 0.999, 1e-8)
	ok := Options{Model: ae, Test: test.Subset(10), Out: t.TempDir(), Prior: 1, Pairs: 1, Steps: 2}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no codes", func(o *Options) { o.Model = noCodes{ae} }, "has no codes"},
		{"one step", func(o *Options) { o.Steps = 1 }, "want at least 1, 1 and 2"},
		{"negative extent", func(o *Options) { o.Extent = -1 }, "extent -1"},
		{"one test image", func(o *Options) { o.Test = test.Subset(1) }, "at least 2 images"},
	}
	// The options above, unedited, draw a 2-D latent: its own axes, with the prior's circle.
	if rec, err := Run(ok); err != nil || rec.Axes != [2]string{"z1", "z2"} || rec.PriorRadius == 0 {
		t.Fatalf("Run of a 2-D autoencoder: %v, %+v", err, rec)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			if _, err := Run(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// noCodes hides a model's Autoencoder methods.
type noCodes struct{ models.Model }

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
