package data

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// imageExts are the file name endings an image folder's images have (case
// ignored); other files are not images and are passed over.
var imageExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// maxClasses is the most classes a data set may have: labels are bytes.
const maxClasses = 256

// maxImagePixels caps the size of one image file (a 64-megapixel photo
// decodes to a few hundred MB).
const maxImagePixels = 1 << 26

// loadImageSet reads a folder of images the way torchvision's ImageFolder
// does: when dir has sub-folders, each is a class (classes sorted by name,
// label i for the i-th) holding its images at any depth; when it has none,
// its images carry no labels. Files are read in sorted order; the data has
// no test split, so the test split is the held-out tenth (SplitTenth).
func loadImageSet(dir string, o LoadOptions) (*Set, error) {
	if o.Height <= 0 || o.Width <= 0 {
		return nil, fmt.Errorf("data %s: a folder of images needs the models' image size to be resized to", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var classes, topImages []string
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasPrefix(name, "."):
		case e.IsDir():
			classes = append(classes, name)
		case isImageName(name):
			topImages = append(topImages, filepath.Join(dir, name))
		}
	}
	if len(classes) > 0 && len(topImages) > 0 {
		return nil, fmt.Errorf("data %s: holds both images (%s, ...) and class folders (%s, ...): put every image in a class folder, or use no folders for unlabelled data",
			dir, filepath.Base(topImages[0]), classes[0])
	}
	if len(classes) > maxClasses {
		return nil, fmt.Errorf("data %s: %d class folders, at most %d are supported", dir, len(classes), maxClasses)
	}
	sort.Strings(classes)
	type file struct {
		path  string
		label uint8
	}
	var files []file
	for _, p := range topImages {
		files = append(files, file{path: p})
	}
	var empty []string
	for c, name := range classes {
		paths, err := imageFiles(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			empty = append(empty, name)
		}
		for _, p := range paths {
			files = append(files, file{path: p, label: uint8(c)})
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("data %s: no data found: no IDX files (train-images-idx3-ubyte[.gz]), no CIFAR-10 batches (data_batch_*.bin) and no PNG or JPEG images", dir)
	}
	if len(empty) > 0 {
		return nil, fmt.Errorf("data %s: class folder %q holds no PNG or JPEG images", dir, empty[0])
	}
	all := &Dataset{C: o.channels(), H: o.Height, W: o.Width}
	skipped := 0
	for _, f := range files {
		pix, err := readImageFile(f.path, o.channels(), o.Height, o.Width)
		if err != nil {
			if o.SkipBad {
				skipped++
				continue
			}
			return nil, fmt.Errorf("%w (--skip-bad leaves such files out)", err)
		}
		all.Pixels = append(all.Pixels, pix...)
		all.Labels = append(all.Labels, f.label)
		all.N++
	}
	train, test := SplitTenth(all)
	if train.N == 0 || test.N == 0 {
		return nil, fmt.Errorf("data %s: %d readable images (%d skipped); at least 10 are needed to hold out a tenth for testing", dir, all.N, skipped)
	}
	return &Set{Train: train, Test: test, Info: Info{Kind: KindImages, Classes: classes, HeldOut: true, Skipped: skipped}}, nil
}

// imageFiles lists the PNG and JPEG files under dir at any depth, sorted,
// passing over hidden files and folders.
func imageFiles(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && isImageName(d.Name()) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	sort.Strings(paths)
	return paths, nil
}

func isImageName(name string) bool {
	return imageExts[strings.ToLower(filepath.Ext(name))]
}

// readImageFile decodes one PNG or JPEG file into c planes of h*w
// intensities in [0,1] (Resize); errors name the file.
func readImageFile(path string, c, h, w int) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image %w", err)
	}
	defer f.Close()
	// The header first: a file that announces a gigantic image is refused
	// before the decoder allocates for it.
	if cfg, _, err := image.DecodeConfig(f); err == nil && cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("image %s: %dx%d pixels, more than the %d this reader takes", path, cfg.Width, cfg.Height, maxImagePixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("image %w", err)
	}
	img, format, err := image.Decode(f)
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, fmt.Errorf("image %s: not a PNG or JPEG file", path)
		}
		return nil, fmt.Errorf("image %s: corrupt %s: %w", path, strings.ToUpper(filepath.Ext(path)[1:]), err)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return nil, fmt.Errorf("image %s: empty %s image (%dx%d)", path, format, b.Dx(), b.Dy())
	}
	return Resize(img, c, h, w), nil
}

// GreyResize turns img into h*w grey intensities in [0,1]: the largest
// centred region of the target's aspect ratio is cut out, converted to grey
// (ITU-R BT.601 luma, 0.299 R + 0.587 G + 0.114 B, the weights of PIL's "L"
// mode and Go's color.Gray; transparent pixels count as black) and resized
// by area averaging (each output pixel is the mean of the source area it
// covers, fractional pixels weighted by their overlap); the result is
// rounded to 8 bits, as an 8-bit image file would hold it.
func GreyResize(img image.Image, h, w int) []float32 {
	return Resize(img, 1, h, w)
}

// Resize turns img into c planes (CHW) of h*w intensities in [0,1], cut
// and resized as GreyResize does: c 1 is GreyResize's grey, c 3 the red,
// green and blue planes, each resized on its own (transparent pixels count
// as black). A grey source gives three equal planes.
func Resize(img image.Image, c, h, w int) []float32 {
	b := img.Bounds()
	cw, ch := b.Dx(), b.Dy()
	if cw*h > ch*w { // too wide: crop the width
		cw = ch * w / h
	} else {
		ch = cw * h / w
	}
	x0 := b.Min.X + (b.Dx()-cw)/2
	y0 := b.Min.Y + (b.Dy()-ch)/2
	planes := make([][]float64, c)
	for k := range planes {
		planes[k] = make([]float64, cw*ch)
	}
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			r, g, bl, _ := img.At(x0+x, y0+y).RGBA() // 16-bit, alpha premultiplied
			if c == 1 {
				planes[0][y*cw+x] = (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 0xffff
				continue
			}
			planes[0][y*cw+x] = float64(r) / 0xffff
			planes[1][y*cw+x] = float64(g) / 0xffff
			planes[2][y*cw+x] = float64(bl) / 0xffff
		}
	}
	rows := areaWeights(ch, h)
	cols := areaWeights(cw, w)
	out := make([]float32, c*h*w)
	for k, plane := range planes {
		areaResize(out[k*h*w:(k+1)*h*w], plane, cw, ch, rows, cols)
	}
	return out
}

// areaResize writes the area mean of the cw x ch plane src, at the weights
// rows and cols, into dst (len(rows) x len(cols)), rounded to 8 bits.
func areaResize(dst []float32, src []float64, cw, ch int, rows, cols [][]tap) {
	w := len(cols)
	// Resize along x, then along y: the area mean is separable.
	tmp := make([]float64, ch*w)
	for y := 0; y < ch; y++ {
		for x, ws := range cols {
			var s float64
			for _, t := range ws {
				s += t.w * src[y*cw+t.i]
			}
			tmp[y*w+x] = s
		}
	}
	for y, ws := range rows {
		for x := 0; x < w; x++ {
			var s float64
			for _, t := range ws {
				s += t.w * tmp[t.i*w+x]
			}
			dst[y*w+x] = float32(quantise(s)) / 255
		}
	}
}

// quantise rounds an intensity in [0,1] to a byte.
func quantise(v float64) byte {
	v = v*255 + 0.5
	switch {
	case v < 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v)
}

type tap struct {
	i int
	w float64
}

// areaWeights gives, for each of m output pixels along an axis of n source
// pixels, the source pixels it covers and their weights: output pixel o
// covers [o*n/m, (o+1)*n/m) and source pixel i counts by the length of its
// overlap with that interval, divided by the interval's length n/m.
func areaWeights(n, m int) [][]tap {
	out := make([][]tap, m)
	scale := float64(n) / float64(m)
	for o := range out {
		lo, hi := float64(o)*scale, float64(o+1)*scale
		for i := int(lo); i < n && float64(i) < hi; i++ {
			overlap := min(hi, float64(i+1)) - max(lo, float64(i))
			if overlap > 0 {
				out[o] = append(out[o], tap{i, overlap / scale})
			}
		}
	}
	return out
}
