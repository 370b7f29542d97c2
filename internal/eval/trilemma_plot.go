package eval

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/gentri/gentri/internal/models"
)

// The trilemma figure (`gentri report --plot`) puts every image model and
// sampler on one page: sample quality (FID, lower is better) against
// sampling time (seconds per 100 samples), with recall, the coverage side
// of the trilemma, as the marker's colour. The three corners of the
// trilemma (Xiao, Kreis & Vahdat, ICLR 2022) are then three regions of the
// page: fast and sharp but narrower (a GAN: left, low, darker), slow and
// covering (a DDPM: right, bright), fast but blurry (a VAE: left, high).
//
// Both axes are logarithmic. Sampling times span five decades (a VAE's
// millisecond against a 1000-step DDPM's five minutes), and FIDs from the
// real-data floor (about 4) to a poor model's hundreds: on a linear FID
// axis every good model would share the bottom tenth of the page.
//
// FID depends on the number of samples N (docs/metrics.md §2.3), so points of
// different N are not on one scale. The figure's N is the N of most
// points (the larger on a tie); the others are drawn with another marker
// and their N in the label, and each N present gets its real-data floor as
// a dashed line, the FID that N real images score (§2.4), so every point
// can be read against the floor of its own N.

// TrilemmaPoint is one evaluation record's place in the figure.
type TrilemmaPoint struct {
	Label string // model and sampler, e.g. "DDPM DDIM-50, guidance 2"
	// SamplerLabel is Label without the model ("DDIM-20"): the later points
	// of a sweep, whose first point names the model, are labelled with it.
	SamplerLabel string
	Source       string  // the record's file and line
	N            int     // samples behind FID and recall
	Seconds      float64 // speed.seconds_per_100
	FID          float64
	Recall       float64
	Floor        float64 // FID of N real images; 0 when the record has none
	// Extractor is the feature network's hash: FIDs of different feature
	// networks do not compare.
	Extractor string
	Machine   string // the CPU and threads the time was taken on
	// Sweep is the same for the points of one model and sampler that differ
	// only in their step count (a `--sweep-steps` run): the figure joins
	// them with a line. Empty for models without a sampler.
	Sweep string
}

// TrilemmaPoints turns records into points. Records that cannot be drawn
// (2-D models, which have mode figures instead of FID; records without a
// speed or with a non-positive one) are left out, each with a line saying
// which and why.
func TrilemmaPoints(recs []*Record) (pts []TrilemmaPoint, skipped []string) {
	for _, r := range recs {
		src := r.Source
		if src == "" {
			src = "a record"
		}
		skip := func(why string) { skipped = append(skipped, fmt.Sprintf("%s (%s): %s", src, r.Model, why)) }
		switch {
		case r.Modes != nil:
			skip("a 2-D model: mode figures, no FID")
		case r.Metrics == nil:
			skip("no image metrics (FID, recall)")
		case r.Speed == nil:
			skip("no speed figure")
		case !(r.Speed.SecondsPer100 > 0) || math.IsInf(r.Speed.SecondsPer100, 0):
			skip(fmt.Sprintf("seconds per 100 samples is %g: a log axis needs a positive number", r.Speed.SecondsPer100))
		case !(r.FID > 0) || math.IsInf(r.FID, 0):
			skip(fmt.Sprintf("FID is %g: a log axis needs a positive number", r.FID))
		case math.IsNaN(r.Recall) || r.Recall < 0 || r.Recall > 1:
			skip(fmt.Sprintf("recall %g is not in [0, 1]", r.Recall))
		default:
			label, sampler := trilemmaLabel(r)
			p := TrilemmaPoint{Label: label, SamplerLabel: sampler, Source: src, N: r.N, Seconds: r.Speed.SecondsPer100,
				FID: r.FID, Recall: r.Recall, Extractor: r.ExtractorHash}
			if s := r.Sampler; s != nil {
				p.Sweep = fmt.Sprintf("%s|%s|%d|%s|%g|%s|%g|%t|%d", r.Model, r.Checkpoint, r.Step, s.Name, s.Eta,
					s.Variance, s.Guidance, r.Unconditional, r.N)
				if x := s.Extras(); x != "" { // older records' keys stay as they were
					p.Sweep += "|" + x
				}
			}
			if hw := r.Hardware; hw.CPU != "" {
				p.Machine = fmt.Sprintf("%s, %d threads", hw.CPU, hw.GOMAXPROCS)
			}
			if r.Floor != nil && r.Floor.N == r.N && r.Floor.FID > 0 {
				p.Floor = r.Floor.FID
			}
			pts = append(pts, p)
		}
	}
	return pts, skipped
}

// modelDisplayNames are the names papers give the default kinds; other
// kinds are shown by their registry name.
var modelDisplayNames = map[string]string{"vae": "VAE", "cgan": "cGAN", "ddpm": "DDPM"}

// trilemmaLabel names a record's model and sampler: "cGAN", "DDPM DDIM-50",
// "DDPM 1000 steps" (ancestral), "ddgan T=4" (a model's own sampler),
// then its guidance and "no class" where they apply. sampler is the same
// without the model's name, for the later points of a sweep.
func trilemmaLabel(r *Record) (label, sampler string) {
	name := r.Model
	if d, ok := modelDisplayNames[name]; ok {
		name = d
	}
	if r.Sampler != nil {
		sampler = samplerLabel(r.Model, r.Sampler)
	}
	if r.Unconditional {
		sampler += ", no class"
	}
	label = name
	if sampler != "" && !strings.HasPrefix(sampler, ",") {
		label += " "
	}
	label += sampler
	return label, strings.TrimPrefix(sampler, ", ")
}

// samplerLabel names a record's sampler as the figures and tables show it:
// "DDIM-50", "1000 steps" (ancestral), "SDE-DPM++2M-20 logsnr", "T=4" (a
// model's own sampler, the ddgan's), then its settings (η, churn, spacing,
// guidance).
func samplerLabel(model string, s *Sampler) string {
	label := models.SamplerLabel(s.Name, s.Steps)
	if s.Name == model && !slices.Contains(models.Samplers, s.Name) {
		label = fmt.Sprintf("T=%d", s.Steps)
	}
	return label + s.settings()
}

// MainN is the figure's N: the N of most points, the larger on a tie.
func MainN(pts []TrilemmaPoint) int {
	count := map[int]int{}
	best := 0
	for _, p := range pts {
		count[p.N]++
		if c, b := count[p.N], count[best]; c > b || (c == b && p.N > best) {
			best = p.N
		}
	}
	return best
}

// TrilemmaPlotOptions shape the figure.
type TrilemmaPlotOptions struct {
	Title string // "" gives DefaultTrilemmaTitle
	// Width and Height of the whole picture; 0 gives 10 x 6 inches.
	Width, Height vg.Length
	DPI           int // 0 gives 150
}

// DefaultTrilemmaTitle heads the figure when no title is given.
const DefaultTrilemmaTitle = "The generative learning trilemma on MNIST"

func (o TrilemmaPlotOptions) withDefaults() TrilemmaPlotOptions {
	if o.Title == "" {
		o.Title = DefaultTrilemmaTitle
	}
	if o.Width == 0 {
		o.Width = 10 * vg.Inch
	}
	if o.Height == 0 {
		o.Height = 6 * vg.Inch
	}
	if o.DPI == 0 {
		o.DPI = 150
	}
	return o
}

// TrilemmaLayout says where DrawTrilemma put things, in pixels of the PNG
// (origin at the top left): for tests, which check the picture against the
// data without reading text out of it.
type TrilemmaLayout struct {
	Width, Height int
	Points        []image.Point     // the centre of each point's marker, in the order given
	Labels        []image.Rectangle // each point's label
	Colors        []color.Color     // each point's marker fill
	Plot          image.Rectangle   // the data area
}

// TrilemmaFigure reads evaluation records from files and returns the
// points of their figure and the records it left out, one line each (see
// TrilemmaPoints). It fails, naming the files, if none is given, one cannot
// be read or parsed, no record can be drawn, or the records were scored by
// different feature networks.
func TrilemmaFigure(paths []string) (pts []TrilemmaPoint, skipped []string, err error) {
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("trilemma plot: no record files given")
	}
	recs, err := ReadRecords(paths)
	if err != nil {
		return nil, nil, fmt.Errorf("trilemma plot: %w", err)
	}
	pts, skipped = TrilemmaPoints(recs)
	if len(pts) == 0 {
		return nil, skipped, fmt.Errorf("trilemma plot: no record with FID, recall and speed in %s", strings.Join(paths, ", "))
	}
	if err := sameExtractor(pts); err != nil {
		return nil, skipped, fmt.Errorf("trilemma plot: %w", err)
	}
	return pts, skipped, nil
}

// WriteTrilemmaPNG draws the figure of pts into the PNG file path.
func WriteTrilemmaPNG(path string, pts []TrilemmaPoint, o TrilemmaPlotOptions) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trilemma plot: %w", err)
	}
	if _, err := DrawTrilemma(f, pts, o); err != nil {
		f.Close()
		return fmt.Errorf("trilemma plot %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("trilemma plot: %w", err)
	}
	return nil
}

// sameExtractor refuses points scored by different feature networks: an
// FID is a distance in one network's feature space, so two networks' FIDs
// are on different scales. Points without a hash (older records) pass.
func sameExtractor(pts []TrilemmaPoint) error {
	var hashes []string
	by := map[string][]string{}
	for _, p := range pts {
		if p.Extractor == "" {
			continue
		}
		if by[p.Extractor] == nil {
			hashes = append(hashes, p.Extractor)
		}
		by[p.Extractor] = append(by[p.Extractor], p.Source)
	}
	if len(hashes) < 2 {
		return nil
	}
	var parts []string
	for _, h := range hashes {
		parts = append(parts, fmt.Sprintf("%.12s… in %s", h, strings.Join(by[h], ", ")))
	}
	return fmt.Errorf("the records were scored by %d different feature networks (extractor_sha256 %s): their FIDs do not compare; plot each network's records on their own",
		len(hashes), strings.Join(parts, "; "))
}

// trilemmaColorMap maps recall to colour: the control colours of
// matplotlib's viridis, whose lightness rises steadily from dark purple to
// yellow, so the order survives greyscale printing and colour blindness.
func trilemmaColorMap(lo, hi float64) palette.ColorMap {
	cm, err := moreland.NewLuminance([]color.Color{
		color.NRGBA{R: 68, G: 1, B: 84, A: 255},
		color.NRGBA{R: 59, G: 82, B: 139, A: 255},
		color.NRGBA{R: 33, G: 145, B: 140, A: 255},
		color.NRGBA{R: 94, G: 201, B: 98, A: 255},
		color.NRGBA{R: 253, G: 231, B: 37, A: 255},
	})
	if err != nil {
		panic(err) // the controls above are fixed and their lightness rises
	}
	cm.SetMin(lo)
	cm.SetMax(hi)
	return cm
}

// recallRange is the colour bar's range: the points' recalls widened to
// tenths, within [0, 1].
func recallRange(pts []TrilemmaPoint) (lo, hi float64) {
	lo, hi = 1, 0
	for _, p := range pts {
		lo, hi = math.Min(lo, p.Recall), math.Max(hi, p.Recall)
	}
	lo = math.Floor(lo*10+1e-9) / 10
	hi = math.Ceil(hi*10-1e-9) / 10
	if hi <= lo {
		hi = lo + 0.1
	}
	if hi > 1 {
		lo, hi = math.Max(0, lo-(hi-1)), 1
	}
	return lo, hi
}

// logRange is an axis range around [min, max] with room for markers:
// whole decades for the time axis, 1-2-5 steps for FID.
func logRange(min, max float64, decades bool) (lo, hi float64) {
	lo, hi = min/1.25, max*1.25
	if decades {
		return math.Pow10(int(math.Floor(math.Log10(lo)))), math.Pow10(int(math.Ceil(math.Log10(hi))))
	}
	below := func(v float64) float64 {
		e := math.Pow10(int(math.Floor(math.Log10(v))))
		for _, m := range []float64{5, 2, 1} {
			if m*e <= v {
				return m * e
			}
		}
		return e
	}
	above := func(v float64) float64 {
		e := math.Pow10(int(math.Floor(math.Log10(v))))
		for _, m := range []float64{1, 2, 5, 10} {
			if m*e >= v {
				return m * e
			}
		}
		return 10 * e
	}
	return below(lo), above(hi)
}

// logTicks labels 1, 2 and 5 times each power of ten when the axis spans
// at most three decades, else only the powers of ten, with unlabelled minor
// ticks between; labels are plain decimals ("0.001", "200"), which read
// faster than plot.LogTicks' exponents.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	fine := math.Log10(max/min) <= 3.01
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(min)); math.Pow10(int(e)) <= max*1.0001; e++ {
		for m := 1; m < 10; m++ {
			v := float64(m) * math.Pow10(int(e))
			if v < min*0.9999 || v > max*1.0001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (fine && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// markerShapes are the fill and outline glyphs of the main N's points and
// of each other N, in order.
var markerShapes = []struct{ fill, outline draw.GlyphDrawer }{
	{draw.CircleGlyph{}, draw.RingGlyph{}},
	{draw.PyramidGlyph{}, draw.TriangleGlyph{}},
	{draw.BoxGlyph{}, draw.SquareGlyph{}},
}

var (
	markerOutline = color.Gray{Y: 40}
	floorColor    = color.Gray{Y: 110}
)

// DrawTrilemma draws the figure of pts and writes it as PNG to w.
func DrawTrilemma(w io.Writer, pts []TrilemmaPoint, o TrilemmaPlotOptions) (*TrilemmaLayout, error) {
	if len(pts) == 0 {
		return nil, fmt.Errorf("no points to draw")
	}
	o = o.withDefaults()
	mainN := MainN(pts)

	// Other Ns by decreasing count, then decreasing N: their marker shapes.
	count := map[int]int{}
	for _, p := range pts {
		count[p.N]++
	}
	var ns []int
	for n := range count {
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool {
		if ns[i] == mainN || ns[j] == mainN {
			return ns[i] == mainN
		}
		if count[ns[i]] != count[ns[j]] {
			return count[ns[i]] > count[ns[j]]
		}
		return ns[i] > ns[j]
	})
	shapeOf := map[int]int{}
	for i, n := range ns {
		shapeOf[n] = min(i, len(markerShapes)-1)
	}
	floors := map[int]float64{}
	for _, p := range pts {
		if p.Floor > 0 && floors[p.N] == 0 {
			floors[p.N] = p.Floor
		}
	}

	lo, hi := recallRange(pts)
	cm := trilemmaColorMap(lo, hi)
	tp := &trilemmaPlotter{labelStyle: textStyle(10), floorStyle: textStyle(9), sweeps: map[string]plotter.XYs{}}
	minS, maxS, minF, maxF := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	// A sweep's fastest point carries the full label, the others only their
	// sampler; sweepFirst holds the fastest point of each sweep of two or more.
	sweepFirst := map[string]int{}
	sweepSize := map[string]int{}
	for i, p := range pts {
		if p.Sweep == "" {
			continue
		}
		sweepSize[p.Sweep]++
		if f, ok := sweepFirst[p.Sweep]; !ok || p.Seconds < pts[f].Seconds {
			sweepFirst[p.Sweep] = i
		}
	}
	for k, n := range sweepSize {
		if n < 2 {
			delete(sweepFirst, k)
		}
	}
	for i, p := range pts {
		c, err := cm.At(math.Min(hi, math.Max(lo, p.Recall)))
		if err != nil {
			return nil, fmt.Errorf("recall %g: %w", p.Recall, err)
		}
		label := p.Label
		if p.N != mainN {
			label += fmt.Sprintf(", N=%d", p.N)
		}
		if first, ok := sweepFirst[p.Sweep]; ok && first != i && p.SamplerLabel != "" {
			label = p.SamplerLabel // the sweep's first point and its line say the rest
		}
		if p.Sweep != "" {
			tp.sweeps[p.Sweep] = append(tp.sweeps[p.Sweep], plotter.XY{X: p.Seconds, Y: p.FID})
		}
		tp.points = append(tp.points, trilemmaMarker{x: p.Seconds, y: p.FID, recall: p.Recall, label: label, fill: c, shape: shapeOf[p.N]})
		minS, maxS = math.Min(minS, p.Seconds), math.Max(maxS, p.Seconds)
		minF, maxF = math.Min(minF, p.FID), math.Max(maxF, p.FID)
	}
	for _, n := range ns {
		if f, ok := floors[n]; ok {
			tp.floors = append(tp.floors, trilemmaFloor{y: f, label: fmt.Sprintf("real data, N=%d", n)})
			minF = math.Min(minF, f)
		}
	}

	p := plot.New()
	p.Title.Text = o.Title
	p.Title.TextStyle.Font.Size = 15
	p.Title.Padding = 0.1 * vg.Inch
	// The axis labels are drawn by hand: gonum/plot v0.10.1 pads the data
	// area for an axis label centred at the arithmetic middle of the range,
	// which on a log axis lies near its far end, and would leave a wide
	// empty margin on the right and at the top.
	xLabel := "seconds per 100 samples" + machineNote(pts) + ", log scale  (faster ←)"
	yLabel := "FID, log scale  (better ↓)"
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Scale = plot.LogScale{}
		a.Tick.Marker = logTicks{}
		a.Label.TextStyle = textStyle(12)
		a.Tick.Label.Font.Size = 11
	}
	p.X.Min, p.X.Max = logRange(minS, maxS, true)
	p.Y.Min, p.Y.Max = logRange(minF, maxF, false)
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = color.Gray{Y: 225}, color.Gray{Y: 225}
	grid.Vertical.Width, grid.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	p.Add(grid, tp)

	img := vgimg.NewWith(vgimg.UseWH(o.Width, o.Height), vgimg.UseDPI(o.DPI))
	dc := draw.New(img)
	side := 1.9 * vg.Inch // the recall colour bar and the marker legend
	mainC := draw.Crop(dc, 0, -side, 0, 0)
	xl := textStyle(12)
	xl.XAlign, xl.YAlign = draw.XCenter, draw.YBottom
	yl := xl
	yl.Rotation = math.Pi / 2
	yl.YAlign = draw.YTop
	labelH := xl.Height(xLabel) + xl.FontExtents().Descent + vg.Points(4)
	plotC := draw.Crop(mainC, labelH, 0, labelH, 0)
	p.Draw(plotC)
	data := p.DataCanvas(plotC)
	mainC.FillText(xl, vg.Point{X: (data.Min.X + data.Max.X) / 2, Y: mainC.Min.Y + xl.FontExtents().Descent}, xLabel)
	mainC.FillText(yl, vg.Point{X: mainC.Min.X, Y: (data.Min.Y + data.Max.Y) / 2}, yLabel)

	// The colour bar fills the upper part of the side column, level with the
	// data area; the legend of marker shapes and floors sits below it.
	sideC := draw.Crop(dc, o.Width-side+0.15*vg.Inch, 0, 0, 0)
	sideC.Min.Y, sideC.Max.Y = data.Min.Y, data.Max.Y
	h := sideC.Max.Y - sideC.Min.Y
	barC := sideC
	barC.Min.Y = sideC.Max.Y - 0.6*h
	barC.Max.X = barC.Min.X + 0.95*vg.Inch
	bar := plot.New()
	bar.Title.Text = "recall ↑"
	bar.Title.TextStyle.Font.Size = 12
	bar.HideX()
	bar.Y.Tick.Label.Font.Size = 11
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.Y.Min, bar.Y.Max = lo, hi
	bar.Draw(barC)

	leg := plot.NewLegend()
	leg.Left, leg.Top = true, true
	leg.TextStyle = textStyle(10)
	leg.ThumbnailWidth = 0.3 * vg.Inch
	leg.Padding = 0.06 * vg.Inch
	for _, n := range ns {
		s := markerShapes[shapeOf[n]]
		leg.Add(fmt.Sprintf("N = %d", n), glyphThumb{fill: s.fill, outline: s.outline})
	}
	if len(floors) > 0 {
		leg.Add("real-data FID\nat that N", lineThumb{floorLineStyle()})
	}
	legC := sideC
	legC.Max.Y = barC.Min.Y - 0.3*vg.Inch
	leg.Draw(legC)

	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return nil, err
	}

	scale := float64(o.DPI) / vg.Inch.Points()
	W, H := img.Image().Bounds().Dx(), img.Image().Bounds().Dy()
	px := func(pt vg.Point) image.Point {
		return image.Pt(int(math.Round(float64(pt.X)*scale)), H-int(math.Round(float64(pt.Y)*scale)))
	}
	rect := func(r vg.Rectangle) image.Rectangle {
		return image.Rectangle{Min: px(vg.Point{X: r.Min.X, Y: r.Max.Y}), Max: px(vg.Point{X: r.Max.X, Y: r.Min.Y})}
	}
	lay := &TrilemmaLayout{Width: W, Height: H, Plot: rect(data.Rectangle)}
	for _, m := range tp.points {
		lay.Points = append(lay.Points, px(m.at))
		lay.Labels = append(lay.Labels, rect(m.box))
		lay.Colors = append(lay.Colors, m.fill)
	}
	return lay, nil
}

// machineNote names the machine the times were taken on, for the time
// axis: times from different machines do not compare either.
func machineNote(pts []TrilemmaPoint) string {
	for _, p := range pts {
		if p.Machine != pts[0].Machine {
			return " (on different machines)"
		}
	}
	if pts[0].Machine == "" {
		return ""
	}
	return " on " + pts[0].Machine
}

func textStyle(size vg.Length) draw.TextStyle {
	return draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler}
}

func floorLineStyle() draw.LineStyle {
	return draw.LineStyle{Color: floorColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
}

const markerRadius = 5.5 // points

type trilemmaMarker struct {
	x, y   float64
	recall float64
	label  string
	fill   color.Color
	shape  int
	// Set while drawing: the marker's centre and its label's box, in
	// canvas coordinates.
	at  vg.Point
	box vg.Rectangle
}

type trilemmaFloor struct {
	y     float64
	label string
}

// trilemmaPlotter draws the floors, the markers and their labels, placing
// each label where it overlaps nothing drawn or placed before it (see
// placeLabel).
type trilemmaPlotter struct {
	points                 []trilemmaMarker
	floors                 []trilemmaFloor
	sweeps                 map[string]plotter.XYs // by TrilemmaPoint.Sweep
	labelStyle, floorStyle draw.TextStyle
}

func (tp *trilemmaPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	r := vg.Points(markerRadius)
	var obstacles []obstacle
	for _, f := range tp.floors {
		y := trY(f.y)
		c.StrokeLine2(floorLineStyle(), c.Min.X, y, c.Max.X, y)
		// A label struck through by the line reads badly: the line is an
		// obstacle a few points high.
		obstacles = append(obstacles, obstacle{vg.Rectangle{Min: vg.Point{X: c.Min.X, Y: y - 3}, Max: vg.Point{X: c.Max.X, Y: y + 3}}, 0.5})
	}
	keys := make([]string, 0, len(tp.sweeps))
	for k, xys := range tp.sweeps {
		if len(xys) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		xys := append(plotter.XYs(nil), tp.sweeps[k]...)
		sort.Slice(xys, func(i, j int) bool { return xys[i].X < xys[j].X })
		line := make([]vg.Point, len(xys))
		for i, xy := range xys {
			line[i] = vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
		}
		c.StrokeLines(draw.LineStyle{Color: color.Gray{Y: 150}, Width: vg.Points(1)}, line)
		// Labels keep off the line too: small boxes every few points along it.
		for i := 1; i < len(line); i++ {
			a, b := line[i-1], line[i]
			steps := int(math.Hypot(float64(b.X-a.X), float64(b.Y-a.Y))/3) + 1
			for j := 0; j <= steps; j++ {
				t := vg.Length(float64(j) / float64(steps))
				at := vg.Point{X: a.X + t*(b.X-a.X), Y: a.Y + t*(b.Y-a.Y)}
				obstacles = append(obstacles, obstacle{vg.Rectangle{Min: vg.Point{X: at.X - 1.5, Y: at.Y - 1.5}, Max: vg.Point{X: at.X + 1.5, Y: at.Y + 1.5}}, 1})
			}
		}
	}
	for i := range tp.points {
		m := &tp.points[i]
		m.at = vg.Point{X: trX(m.x), Y: trY(m.y)}
		obstacles = append(obstacles, obstacle{vg.Rectangle{Min: vg.Point{X: m.at.X - r, Y: m.at.Y - r}, Max: vg.Point{X: m.at.X + r, Y: m.at.Y + r}}, 1})
	}
	// Markers in order of decreasing recall, so a dark (low-recall) marker
	// that overlaps a bright one stays visible on top of it.
	order := make([]int, len(tp.points))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return tp.points[order[a]].recall > tp.points[order[b]].recall })
	for _, i := range order {
		m := tp.points[i]
		s := markerShapes[m.shape]
		c.DrawGlyph(draw.GlyphStyle{Color: m.fill, Radius: r, Shape: s.fill}, m.at)
		c.DrawGlyph(draw.GlyphStyle{Color: markerOutline, Radius: r, Shape: s.outline}, m.at)
	}
	for i := range tp.points {
		m := &tp.points[i]
		var which int
		m.box, which = placeLabel(c, tp.labelStyle, m.label, pointCandidates(m.at, r+vg.Points(3)), &obstacles)
		if which >= 8 { // beyond the first ring: a leader line says whose label it is
			to := vg.Point{X: max(m.box.Min.X, min(m.at.X, m.box.Max.X)), Y: max(m.box.Min.Y, min(m.at.Y, m.box.Max.Y))}
			c.StrokeLine2(draw.LineStyle{Color: color.Gray{Y: 120}, Width: vg.Points(0.5)}, m.at.X, m.at.Y, to.X, to.Y)
		}
	}
	for _, f := range tp.floors {
		y := trY(f.y)
		sty := tp.floorStyle
		sty.Color = floorColor
		pad := vg.Points(4)
		cands := []candidate{
			{vg.Point{X: c.Max.X - pad, Y: y + 2}, draw.XRight, draw.YBottom, 0},
			{vg.Point{X: c.Max.X - pad, Y: y - 2}, draw.XRight, draw.YTop, 0},
			{vg.Point{X: c.Min.X + pad, Y: y + 2}, draw.XLeft, draw.YBottom, 0},
			{vg.Point{X: c.Min.X + pad, Y: y - 2}, draw.XLeft, draw.YTop, 0},
		}
		placeLabel(c, sty, f.label, cands, &obstacles)
	}
}

type obstacle struct {
	vg.Rectangle
	weight float64
}

// candidate is one place a label may go: the anchor point and how the text
// aligns to it.
type candidate struct {
	at     vg.Point
	xAlign draw.XAlignment
	yAlign draw.YAlignment
	// penalty is added to the candidate's overlap (in square points): a
	// label far from its point is worth a little overlap with a line.
	penalty float64
}

// ringPenalty is what each step farther from the point costs a label, in
// square points of overlap: about a label's height times its own
// height's worth of a line crossing it.
const ringPenalty = 60

// pointCandidates are the places tried for a point's label, most natural
// first: right, left, above, below, the four diagonals, then the same
// farther out for crowded neighbourhoods.
func pointCandidates(at vg.Point, gap vg.Length) []candidate {
	var cs []candidate
	for ring, g := range []vg.Length{gap, 2.5 * gap, 4 * gap} {
		d := g * 0.7
		pen := float64(ring) * ringPenalty
		cs = append(cs,
			candidate{vg.Point{X: at.X + g, Y: at.Y}, draw.XLeft, draw.YCenter, pen},
			candidate{vg.Point{X: at.X - g, Y: at.Y}, draw.XRight, draw.YCenter, pen},
			candidate{vg.Point{X: at.X, Y: at.Y + g}, draw.XCenter, draw.YBottom, pen},
			candidate{vg.Point{X: at.X, Y: at.Y - g}, draw.XCenter, draw.YTop, pen},
			candidate{vg.Point{X: at.X + d, Y: at.Y + d}, draw.XLeft, draw.YBottom, pen},
			candidate{vg.Point{X: at.X + d, Y: at.Y - d}, draw.XLeft, draw.YTop, pen},
			candidate{vg.Point{X: at.X - d, Y: at.Y + d}, draw.XRight, draw.YBottom, pen},
			candidate{vg.Point{X: at.X - d, Y: at.Y - d}, draw.XRight, draw.YTop, pen},
		)
	}
	return cs
}

// placeLabel draws txt at the candidate of least cost: its penalty plus
// its weighted overlap with the obstacles (outside the data area counts as
// heavy overlap), the first of equals. The label's box becomes an obstacle
// for the labels after it. A greedy rule, not an optimal layout, but it
// keeps a handful of labels apart.
func placeLabel(c draw.Canvas, sty draw.TextStyle, txt string, cands []candidate, obstacles *[]obstacle) (vg.Rectangle, int) {
	best, bestCost := -1, math.Inf(1)
	var bestBox vg.Rectangle
	for i, cd := range cands {
		s := sty
		s.XAlign, s.YAlign = cd.xAlign, cd.yAlign
		rr := s.Rectangle(txt)
		box := vg.Rectangle{Min: cd.at.Add(rr.Min), Max: cd.at.Add(rr.Max)}
		cost := cd.penalty
		if out := area(box) - area(intersect(box, c.Rectangle)); out > 0 {
			cost += 10 * out
		}
		for _, ob := range *obstacles {
			cost += ob.weight * area(intersect(box, ob.Rectangle))
		}
		if cost < bestCost {
			best, bestCost, bestBox = i, cost, box
		}
	}
	s := sty
	s.XAlign, s.YAlign = cands[best].xAlign, cands[best].yAlign
	c.FillText(s, cands[best].at, txt)
	*obstacles = append(*obstacles, obstacle{bestBox, 1})
	return bestBox, best
}

func intersect(a, b vg.Rectangle) vg.Rectangle {
	r := vg.Rectangle{
		Min: vg.Point{X: max(a.Min.X, b.Min.X), Y: max(a.Min.Y, b.Min.Y)},
		Max: vg.Point{X: min(a.Max.X, b.Max.X), Y: min(a.Max.Y, b.Max.Y)},
	}
	if r.Max.X < r.Min.X || r.Max.Y < r.Min.Y {
		return vg.Rectangle{}
	}
	return r
}

func area(r vg.Rectangle) float64 {
	return float64(r.Max.X-r.Min.X) * float64(r.Max.Y-r.Min.Y)
}

// glyphThumb and lineThumb draw the legend's samples of a marker shape and
// of the floor line.
type glyphThumb struct{ fill, outline draw.GlyphDrawer }

func (g glyphThumb) Thumbnail(c *draw.Canvas) {
	at := c.Center()
	r := vg.Points(markerRadius)
	c.DrawGlyph(draw.GlyphStyle{Color: color.Gray{Y: 190}, Radius: r, Shape: g.fill}, at)
	c.DrawGlyph(draw.GlyphStyle{Color: markerOutline, Radius: r, Shape: g.outline}, at)
}

type lineThumb struct{ sty draw.LineStyle }

func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(l.sty, c.Min.X, y, c.Max.X, y)
}
