package eval

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// imageRecord is a small image-model record: what the figure reads.
func imageRecord(model string, n int, seconds, fid, recall float64) *Record {
	return &Record{Model: model, Metrics: &Metrics{N: n, FID: fid, Recall: recall},
		Speed: &Speed{SecondsPer100: seconds}, ExtractorHash: "abc", Hardware: Hardware{CPU: "Test CPU", GOMAXPROCS: 2}}
}

func TestTrilemmaPointsSkipsWhatCannotBeDrawn(t *testing.T) {
	twoD := &Record{Model: "gan2d", Modes: &ModeFigures{Dataset: "ring8"}, Speed: &Speed{SecondsPer100: 0.1}}
	noSpeed := imageRecord("vae", 100, 1, 50, 0.5)
	noSpeed.Speed = nil
	cases := []struct {
		name string
		rec  *Record
		why  string // "" means drawn
	}{
		{"image record", imageRecord("cgan", 100, 0.05, 17, 0.75), ""},
		{"2-D model", twoD, "2-D model"},
		{"likelihood only", &Record{Model: "vae", Speed: &Speed{SecondsPer100: 1}}, "no image metrics"},
		{"no speed", noSpeed, "no speed"},
		{"zero seconds", imageRecord("vae", 100, 0, 50, 0.5), "log axis"},
		{"NaN FID", imageRecord("vae", 100, 1, math.NaN(), 0.5), "FID is NaN"},
		{"negative FID", imageRecord("vae", 100, 1, -3, 0.5), "FID is -3"},
		{"recall above 1", imageRecord("vae", 100, 1, 50, 1.5), "recall 1.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.rec.Source = "x.json:1"
			pts, skipped := TrilemmaPoints([]*Record{c.rec})
			if c.why == "" {
				if len(pts) != 1 || len(skipped) != 0 {
					t.Fatalf("got %d points, skipped %q; want the record drawn", len(pts), skipped)
				}
				return
			}
			if len(pts) != 0 || len(skipped) != 1 {
				t.Fatalf("got %d points, skipped %q; want the record left out", len(pts), skipped)
			}
			if !strings.Contains(skipped[0], c.why) || !strings.Contains(skipped[0], "x.json:1") {
				t.Fatalf("skip note %q does not name the file and %q", skipped[0], c.why)
			}
		})
	}
}

func TestTrilemmaLabelNamesModelAndSampler(t *testing.T) {
	cases := []struct {
		rec           Record
		want, sampler string
	}{
		{Record{Model: "vae"}, "VAE", ""},
		{Record{Model: "cgan"}, "cGAN", ""},
		{Record{Model: "cgan", Unconditional: true}, "cGAN, no class", "no class"},
		{Record{Model: "ddpm", Sampler: &Sampler{Name: "ddim", Steps: 50}}, "DDPM DDIM-50", "DDIM-50"},
		{Record{Model: "ddpm", Sampler: &Sampler{Name: "ddim", Steps: 50, Guidance: 2}}, "DDPM DDIM-50, guidance 2", "DDIM-50, guidance 2"},
		{Record{Model: "ddpm", Sampler: &Sampler{Name: "ddim", Steps: 20, Eta: 1}}, "DDPM DDIM-20 η=1", "DDIM-20 η=1"},
		{Record{Model: "ddpm", Sampler: &Sampler{Name: "ddpm", Steps: 1000}}, "DDPM 1000 steps", "1000 steps"},
		{Record{Model: "ddpm", Sampler: &Sampler{Name: "ddim", Steps: 50}, Unconditional: true}, "DDPM DDIM-50, no class", "DDIM-50, no class"},
		{Record{Model: "ddgan", Sampler: &Sampler{Name: "ddgan", Steps: 4}}, "ddgan T=4", "T=4"},
		{Record{Model: "flow", Sampler: &Sampler{Name: "euler", Steps: 8}}, "flow euler-8", "euler-8"},
	}
	for _, c := range cases {
		got, sampler := trilemmaLabel(&c.rec)
		if got != c.want || sampler != c.sampler {
			t.Errorf("label of %+v = %q, %q; want %q, %q", c.rec, got, sampler, c.want, c.sampler)
		}
	}
}

func TestMainNIsTheMostCommonNLargerOnATie(t *testing.T) {
	cases := []struct {
		ns   []int
		want int
	}{
		{[]int{2000, 2000, 400}, 2000},
		{[]int{400, 400, 2000}, 400},
		{[]int{400, 1000}, 1000},
		{[]int{1000, 400, 400, 1000}, 1000},
		{[]int{500}, 500},
	}
	for _, c := range cases {
		var pts []TrilemmaPoint
		for _, n := range c.ns {
			pts = append(pts, TrilemmaPoint{N: n})
		}
		if got := MainN(pts); got != c.want {
			t.Errorf("MainN(%v) = %d, want %d", c.ns, got, c.want)
		}
	}
}

func TestRecallRangeCoversThePointsInTenths(t *testing.T) {
	cases := []struct {
		recalls []float64
		lo, hi  float64
	}{
		{[]float64{0.6, 0.897}, 0.6, 0.9},
		{[]float64{0.144, 0.9}, 0.1, 0.9},
		{[]float64{0.75, 0.75}, 0.7, 0.8},
		{[]float64{1, 1}, 0.9, 1},
		{[]float64{0, 0.05}, 0, 0.1},
	}
	for _, c := range cases {
		var pts []TrilemmaPoint
		for _, r := range c.recalls {
			pts = append(pts, TrilemmaPoint{Recall: r})
		}
		lo, hi := recallRange(pts)
		if math.Abs(lo-c.lo) > 1e-12 || math.Abs(hi-c.hi) > 1e-12 {
			t.Errorf("recallRange(%v) = [%g, %g], want [%g, %g]", c.recalls, lo, hi, c.lo, c.hi)
		}
	}
}

func TestLogTicksLabelPlainDecimals(t *testing.T) {
	cases := []struct {
		min, max float64
		labels   string
	}{
		{0.001, 1000, "0.001 0.01 0.1 1 10 100 1000"},
		{2, 200, "2 5 10 20 50 100 200"},
		{10, 1000, "10 20 50 100 200 500 1000"},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range (logTicks{}).Ticks(c.min, c.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if strings.Join(got, " ") != c.labels {
			t.Errorf("ticks of [%g, %g] labelled %q, want %q", c.min, c.max, strings.Join(got, " "), c.labels)
		}
	}
}

// drawn draws pts and returns the layout and the decoded picture.
func drawn(t *testing.T, pts []TrilemmaPoint) (*TrilemmaLayout, image.Image, []byte) {
	t.Helper()
	var buf bytes.Buffer
	lay, err := DrawTrilemma(&buf, pts, TrilemmaPlotOptions{Width: 500, Height: 300, DPI: 100})
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != lay.Width || b.Dy() != lay.Height {
		t.Fatalf("picture is %v, layout says %dx%d", b, lay.Width, lay.Height)
	}
	return lay, img, buf.Bytes()
}

func point(label string, n int, seconds, fid, recall float64) TrilemmaPoint {
	return TrilemmaPoint{Label: label, N: n, Seconds: seconds, FID: fid, Recall: recall}
}

// TestTrilemmaPointsLandWhereTheDataSay checks the picture against the
// data: faster is further left, lower FID further down, both axes
// logarithmic (equal ratios, equal distances), every point inside the data
// area, and the pixel under each point's centre has its recall colour.
func TestTrilemmaPointsLandWhereTheDataSay(t *testing.T) {
	cases := []struct {
		name string
		pts  []TrilemmaPoint
	}{
		{"one point", []TrilemmaPoint{point("VAE", 100, 0.002, 130, 0.7)}},
		{"two corners", []TrilemmaPoint{point("GAN", 100, 0.04, 17, 0.75), point("DDPM", 100, 300, 19, 0.89)}},
		{"decades", []TrilemmaPoint{point("a", 100, 0.01, 10, 0.2), point("b", 100, 0.1, 100, 0.5), point("c", 100, 1, 1000, 0.8)}},
		{"mixed N", []TrilemmaPoint{point("a", 400, 0.002, 130, 0.7), point("b", 2000, 16, 35, 0.9), point("c", 2000, 0.05, 17, 0.75)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lay, img, _ := drawn(t, c.pts)
			for i, p := range c.pts {
				at := lay.Points[i]
				if !at.In(lay.Plot) {
					t.Errorf("%s at %v lies outside the data area %v", p.Label, at, lay.Plot)
				}
				if got, want := img.At(at.X, at.Y), lay.Colors[i]; !colorsNear(got, want, 12) {
					t.Errorf("%s: pixel %v is %v, want its recall colour %v", p.Label, at, got, want)
				}
				for j, q := range c.pts {
					if p.Seconds < q.Seconds && !(lay.Points[i].X < lay.Points[j].X) {
						t.Errorf("%s (%g s) is not left of %s (%g s)", p.Label, p.Seconds, q.Label, q.Seconds)
					}
					if p.FID < q.FID && !(lay.Points[i].Y > lay.Points[j].Y) {
						t.Errorf("%s (FID %g) is not below %s (FID %g)", p.Label, p.FID, q.Label, q.FID)
					}
					if p.Recall < q.Recall && !(luminance(lay.Colors[i]) < luminance(lay.Colors[j])) {
						t.Errorf("%s (recall %g) is not darker than %s (recall %g)", p.Label, p.Recall, q.Label, q.Recall)
					}
				}
			}
			if c.name == "decades" { // equal ratios, equal distances: both axes are logarithmic
				dx1, dx2 := lay.Points[1].X-lay.Points[0].X, lay.Points[2].X-lay.Points[1].X
				dy1, dy2 := lay.Points[0].Y-lay.Points[1].Y, lay.Points[1].Y-lay.Points[2].Y
				if iabs(dx1-dx2) > 1 || iabs(dy1-dy2) > 1 || dx1 < 10 || dy1 < 10 {
					t.Errorf("a decade spans %d then %d pixels across and %d then %d up; want equal steps", dx1, dx2, dy1, dy2)
				}
			}
		})
	}
}

// TestTrilemmaLabelsDoNotOverlap crowds points together and checks that the
// labels stay inside the picture and off each other and off the markers.
func TestTrilemmaLabelsDoNotOverlap(t *testing.T) {
	pts := []TrilemmaPoint{
		point("DDPM DDIM-10", 1000, 3, 49, 0.83), point("DDPM DDIM-20", 1000, 6.5, 41, 0.87),
		point("DDPM DDIM-50", 1000, 15.5, 38, 0.89), point("DDPM DDIM-100", 1000, 31, 37, 0.89),
		point("cGAN", 1000, 0.04, 17, 0.75), point("VAE", 1000, 0.002, 133, 0.73),
	}
	lay, _, _ := drawn(t, pts)
	full := image.Rect(0, 0, lay.Width, lay.Height)
	for i, a := range lay.Labels {
		if !a.In(full) || a.Empty() {
			t.Errorf("label %q at %v is empty or outside the picture %v", pts[i].Label, a, full)
		}
		for j, b := range lay.Labels[i+1:] {
			if a.Overlaps(b) {
				t.Errorf("labels %q %v and %q %v overlap", pts[i].Label, a, pts[i+1+j].Label, b)
			}
		}
		for j, p := range lay.Points {
			if p.In(a) {
				t.Errorf("label %q %v covers the centre of %q", pts[i].Label, a, pts[j].Label)
			}
		}
	}
}

func TestTrilemmaFigureIsReproducible(t *testing.T) {
	pts := []TrilemmaPoint{point("a", 400, 0.01, 20, 0.5), point("b", 2000, 3, 40, 0.8), point("c", 1000, 30, 30, 0.9)}
	pts[0].Floor, pts[1].Floor = 21, 4
	pts[1].Sweep, pts[2].Sweep = "s", "s"
	_, _, first := drawn(t, pts)
	_, _, second := drawn(t, pts)
	if !bytes.Equal(first, second) {
		t.Fatal("the same points gave different PNG bytes")
	}
}

func TestTrilemmaFigureRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := `{"model":"cgan","n":100,"fid":17,"recall":0.75,"extractor_sha256":"aaa","speed":{"seconds_per_100":0.04},"hardware":{}}`
	good2 := `{"model":"vae","n":100,"fid":130,"recall":0.7,"extractor_sha256":"bbb","speed":{"seconds_per_100":0.002},"hardware":{}}`
	mode := `{"model":"gan2d","modes":{"dataset":"ring8","components":8},"speed":{"seconds_per_100":0.1},"hardware":{}}`
	cases := []struct {
		name  string
		paths []string
		want  []string // in the error
	}{
		{"no files", nil, []string{"no record files"}},
		{"missing file", []string{filepath.Join(dir, "nope.json")}, []string{"nope.json"}},
		{"malformed JSON", []string{write("bad.json", good+"\n{\"model\": \n")}, []string{"bad.json", "line 2"}},
		{"empty file", []string{write("empty.json", "")}, []string{"no record with FID", "empty.json"}},
		{"only 2-D records", []string{write("mode.json", mode)}, []string{"no record with FID", "mode.json"}},
		{"two feature networks", []string{write("a.json", good), write("b.json", good2)}, []string{"feature networks", "a.json:1", "b.json:1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pts, _, err := TrilemmaFigure(c.paths)
			if err == nil {
				t.Fatalf("accepted, %d points", len(pts))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	pts, skipped, err := TrilemmaFigure([]string{write("ok.json", good+"\n"+mode+"\n")})
	if err != nil || len(pts) != 1 || len(skipped) != 1 || !strings.Contains(skipped[0], "ok.json:2") {
		t.Fatalf("a GAN and a 2-D record: %d points, skipped %q, %v; want 1 point and the 2-D record noted", len(pts), skipped, err)
	}
	out := filepath.Join(dir, "fig.png")
	if err := WriteTrilemmaPNG(out, pts, TrilemmaPlotOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteTrilemmaPNG(filepath.Join(dir, "no", "such", "dir.png"), pts, TrilemmaPlotOptions{}); err == nil {
		t.Fatal("a PNG in a missing folder was reported written")
	}
}

func colorsNear(a, b color.Color, tol int) bool {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	d := func(x, y uint32) int { return iabs(int(x>>8) - int(y>>8)) }
	return d(ar, br) <= tol && d(ag, bg) <= tol && d(ab, bb) <= tol
}

func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	return 0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)
}

func iabs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
