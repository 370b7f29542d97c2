package eval

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeGray(t *testing.T, path string, w, h int, v uint8) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	img.SetGray(0, 0, color.Gray{Y: 255})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestLoadPNGDir(t *testing.T) {
	dir := t.TempDir()
	writeGray(t, filepath.Join(dir, "b.png"), 28, 28, 51)
	writeGray(t, filepath.Join(dir, "a.png"), 28, 28, 0)
	imgs, err := LoadPNGDir(dir, 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 2 || imgs[0][1] != 0 || imgs[1][1] != 0.2 || imgs[0][0] != 1 {
		t.Fatalf("pixels: a[0]=%v a[1]=%v b[1]=%v, want 1, 0, 0.2 (files in name order)", imgs[0][0], imgs[0][1], imgs[1][1])
	}
	cases := []struct {
		name, file, want string
		size             int
	}{
		{"lossy", "x.jpg", "lossy", 28},
		{"wrong size", "x.png", "is 32x32, want 28x28", 32},
		{"not an image", "notes.txt", "not a PNG", 28},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			if strings.HasSuffix(c.file, ".png") {
				writeGray(t, filepath.Join(d, c.file), c.size, c.size, 0)
			} else {
				os.WriteFile(filepath.Join(d, c.file), []byte("x"), 0o644)
			}
			if _, err := LoadPNGDir(d, 1, 28, 28); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
