package eval

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LoadPNGDir reads every image of dir (sorted by name) as c planes (CHW)
// of h×w pixels in [0,1] (grey for c = 1, red, green and blue for c = 3),
// so gentri can judge samples made by any tool. Lossy formats are refused
// (JPEG artefacts move FID), as are other sizes: resizing would measure
// the resizer.
func LoadPNGDir(dir string, c, h, w int) ([][]float32, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		switch ext := strings.ToLower(filepath.Ext(e.Name())); ext {
		case ".png":
			names = append(names, e.Name())
		case ".jpg", ".jpeg", ".webp", ".gif":
			return nil, fmt.Errorf("samples %s: %s is a lossy or palette format (%s); write PNG", dir, e.Name(), ext)
		default:
			return nil, fmt.Errorf("samples %s: %s is not a PNG", dir, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("samples %s: no PNG files", dir)
	}
	sort.Strings(names)
	imgs := make([][]float32, 0, len(names))
	for _, n := range names {
		px, err := loadPlanes(filepath.Join(dir, n), c, h, w)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, px)
	}
	return imgs, nil
}

// loadPlanes reads one PNG of h×w pixels as c planes (CHW) in [0,1]: grey
// for c = 1, red, green and blue for c = 3.
func loadPlanes(path string, c, h, w int) ([]float32, error) {
	img, err := readPNG(path)
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return nil, fmt.Errorf("samples: %s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	px := make([]float32, c*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			at := img.At(b.Min.X+x, b.Min.Y+y)
			if c == 1 {
				g := color.Gray16Model.Convert(at).(color.Gray16)
				px[y*w+x] = float32(g.Y) / 65535
				continue
			}
			r, g, bl, _ := at.RGBA()
			px[y*w+x], px[h*w+y*w+x], px[2*h*w+y*w+x] = float32(r)/65535, float32(g)/65535, float32(bl)/65535
		}
	}
	return px, nil
}

func readPNG(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("samples: %w", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("samples: %s: %w", path, err)
	}
	return img, nil
}
