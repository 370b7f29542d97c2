// Package sample turns a model's images into files: PNG grids, one PNG per
// sample, side-by-side reconstructions.
package sample

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
)

// pad is the grey gap between grid cells, in pixels.
const pad = 2

// Gray converts pixels in [0,1] (row-major h×w) to an 8-bit image,
// rounding to the nearest level and clamping out-of-range values.
func Gray(px []float32, h, w int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range px[:h*w] {
		img.Pix[i] = level(v)
	}
	return img
}

// Picture converts an image of c planes (CHW, pixels in [0,1]) to an 8-bit
// image: Gray's grey image for c = 1, an opaque RGB image (PNG writes it as
// 8-bit RGB) for c = 3, its planes red, green and blue.
func Picture(px []float32, c, h, w int) image.Image {
	if c == 1 {
		return Gray(px, h, w)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	drawRGB(img, px, 0, 0, h, w)
	return img
}

// drawRGB paints the three planes of px (h×w each) into img at (x0, y0).
func drawRGB(img *image.RGBA, px []float32, x0, y0, h, w int) {
	plane := h * w
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			img.SetRGBA(x0+x, y0+y, color.RGBA{R: level(px[i]), G: level(px[plane+i]), B: level(px[2*plane+i]), A: 255})
		}
	}
}

func level(v float32) uint8 {
	f := math.Round(float64(v) * 255)
	if !(f > 0) { // also NaN
		return 0
	}
	if f > 255 {
		return 255
	}
	return uint8(f)
}

// Grid lays images out in rows of cols cells, left to right, top to bottom;
// a nil image leaves its cell grey, so rows of different lengths can share
// a grid.
func Grid(imgs [][]float32, h, w, cols int) *image.Gray {
	if cols < 1 {
		cols = 1
	}
	rows := (len(imgs) + cols - 1) / cols
	g := image.NewGray(image.Rect(0, 0, cols*(w+pad)+pad, rows*(h+pad)+pad))
	for i := range g.Pix {
		g.Pix[i] = 128
	}
	for k, px := range imgs {
		if px == nil {
			continue
		}
		x0, y0 := pad+(k%cols)*(w+pad), pad+(k/cols)*(h+pad)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g.SetGray(x0+x, y0+y, color.Gray{Y: level(px[y*w+x])})
			}
		}
	}
	return g
}

// GridOf is Grid for images of c planes: Grid itself for c = 1, an RGB
// grid with the same layout and grey gaps for c = 3.
func GridOf(imgs [][]float32, c, h, w, cols int) image.Image {
	if c == 1 {
		return Grid(imgs, h, w, cols)
	}
	if cols < 1 {
		cols = 1
	}
	rows := (len(imgs) + cols - 1) / cols
	g := image.NewRGBA(image.Rect(0, 0, cols*(w+pad)+pad, rows*(h+pad)+pad))
	for i := range g.Pix {
		g.Pix[i] = 128
		if i%4 == 3 {
			g.Pix[i] = 255
		}
	}
	for k, px := range imgs {
		if px != nil {
			drawRGB(g, px, pad+(k%cols)*(w+pad), pad+(k/cols)*(h+pad), h, w)
		}
	}
	return g
}

// SquareCols is the column count of the squarest grid for n images.
func SquareCols(n int) int {
	c := int(math.Ceil(math.Sqrt(float64(n))))
	return max(c, 1)
}

// WritePNG encodes img to path atomically (temp file, then rename), so a
// crash never leaves a half-written image behind.
func WritePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("png %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("png %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("png %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("png %s: %w", path, err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("png %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("png %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("png %s: %w", path, err)
	}
	return nil
}

// ClassRows returns labels for a grid with one row per class, rows of
// ceil(n/classes) samples (class r fills row r), and that row length.
func ClassRows(n, classes int) (labels []int, cols int) {
	cols = (n + classes - 1) / classes
	labels = make([]int, n)
	for i := range labels {
		labels[i] = i / cols
	}
	return labels, cols
}

// besideGap is the white gap between the pictures Beside joins, in pixels.
const besideGap = 12

// Beside joins pictures left to right, top-aligned, with a white gap
// between them (and white below the shorter ones): two grids in one figure.
// Grey pictures give a grey figure, any other an RGB one.
func Beside(imgs ...image.Image) image.Image {
	w, h, grey := 0, 0, true
	for i, im := range imgs {
		if i > 0 {
			w += besideGap
		}
		w += im.Bounds().Dx()
		h = max(h, im.Bounds().Dy())
		_, ok := im.(*image.Gray)
		grey = grey && ok
	}
	var out draw.Image
	if grey {
		out = image.NewGray(image.Rect(0, 0, w, h))
	} else {
		out = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	x := 0
	for _, im := range imgs {
		b := im.Bounds()
		draw.Draw(out, image.Rect(x, 0, x+b.Dx(), b.Dy()), im, b.Min, draw.Src)
		x += b.Dx() + besideGap
	}
	return out
}
