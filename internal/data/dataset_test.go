package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFile writes an IDX file (gzipped when name ends in ".gz") into dir.
func writeFile(t *testing.T, dir, name string, dims []uint32, data []byte) string {
	t.Helper()
	b := idxBytes(dims, data)
	if strings.HasSuffix(name, ".gz") {
		b = gzipBytes(t, b)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tinyPixels are three 2x2 images.
var tinyPixels = []byte{0, 255, 51, 102, 1, 2, 3, 4, 254, 253, 252, 251}

func TestLoadIDXDirScalesPixelsAndKeepsLabels(t *testing.T) {
	dir := t.TempDir()
	// train is plain, test is gzipped: both spellings must load.
	writeFile(t, dir, "train-images-idx3-ubyte", []uint32{3, 2, 2}, tinyPixels)
	writeFile(t, dir, "train-labels-idx1-ubyte", []uint32{3}, []byte{7, 0, 9})
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", []uint32{3, 2, 2}, tinyPixels)
	writeFile(t, dir, "t10k-labels-idx1-ubyte.gz", []uint32{3}, []byte{7, 0, 9})
	for _, split := range []string{"train", "test"} {
		t.Run(split, func(t *testing.T) {
			d, err := LoadIDXDir(dir, split)
			if err != nil {
				t.Fatal(err)
			}
			if d.N != 3 || d.H != 2 || d.W != 2 {
				t.Fatalf("N,H,W = %d,%d,%d, want 3,2,2", d.N, d.H, d.W)
			}
			for i, b := range tinyPixels {
				if want := float32(b) / 255; d.Pixels[i] != want {
					t.Errorf("Pixels[%d] = %v, want %v", i, d.Pixels[i], want)
				}
			}
			if d.Pixels[0] != 0 || d.Pixels[1] != 1 {
				t.Errorf("0 and 255 must map to exactly 0 and 1, got %v %v", d.Pixels[0], d.Pixels[1])
			}
			if !slices.Equal(d.Labels, []uint8{7, 0, 9}) {
				t.Errorf("Labels = %v, want [7 0 9]", d.Labels)
			}
		})
	}
}

func TestLoadIDXDirPrefersPlainFileOverGzip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte", []uint32{1, 1, 1}, []byte{255})
	writeFile(t, dir, "train-images-idx3-ubyte.gz", []uint32{1, 1, 1}, []byte{0})
	writeFile(t, dir, "train-labels-idx1-ubyte.gz", []uint32{1}, []byte{3})
	d, err := LoadIDXDir(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if d.Pixels[0] != 1 || d.Labels[0] != 3 {
		t.Errorf("got pixel %v label %d, want 1 (plain file) and 3", d.Pixels[0], d.Labels[0])
	}
}

func TestLoadIDXDirRejectsInconsistentFiles(t *testing.T) {
	const img, lbl = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
	tests := []struct {
		name      string
		imgDims   []uint32
		imgData   []byte
		lblDims   []uint32
		lblData   []byte
		wantFiles []string // files the error must name
		want      string
	}{
		{"label count differs", []uint32{3, 2, 2}, tinyPixels, []uint32{2}, []byte{1, 2}, []string{img, lbl}, "mismatch"},
		{"images are 1-D", []uint32{12}, tinyPixels, []uint32{3}, []byte{1, 2, 3}, []string{img}, "3 dimensions"},
		{"images are 4-D", []uint32{3, 1, 2, 2}, tinyPixels, []uint32{3}, []byte{1, 2, 3}, []string{img}, "3 dimensions"},
		{"labels are 2-D", []uint32{3, 2, 2}, tinyPixels, []uint32{3, 1}, []byte{1, 2, 3}, []string{lbl}, "1 dimension"},
		{"labels file corrupt", []uint32{3, 2, 2}, tinyPixels, []uint32{3}, []byte{1, 2}, []string{lbl}, "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, img, tt.imgDims, tt.imgData)
			writeFile(t, dir, lbl, tt.lblDims, tt.lblData)
			_, err := LoadIDXDir(dir, "train")
			if err == nil {
				t.Fatalf("LoadIDXDir succeeded, want error containing %q", tt.want)
			}
			for _, f := range tt.wantFiles {
				if !strings.Contains(err.Error(), filepath.Join(dir, f)) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadIDXDirMissingFileNamesBothTriedPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "t10k-images-idx3-ubyte", []uint32{3, 2, 2}, tinyPixels)
	_, err := LoadIDXDir(dir, "test")
	if err == nil {
		t.Fatal("LoadIDXDir succeeded without a labels file")
	}
	want := filepath.Join(dir, "t10k-labels-idx1-ubyte")
	if !strings.Contains(err.Error(), want+" nor "+want+".gz") {
		t.Errorf("error %q should name %s and its .gz", err, want)
	}
}

func TestLoadIDXDirRejectsUnknownSplit(t *testing.T) {
	if _, err := LoadIDXDir(t.TempDir(), "validation"); err == nil || !strings.Contains(err.Error(), "validation") {
		t.Errorf("err = %v, want unknown split error", err)
	}
}

func TestDatasetImageAndSubsetShareStorage(t *testing.T) {
	d := &Dataset{N: 3, H: 1, W: 2, Pixels: []float32{0, 1, 2, 3, 4, 5}, Labels: []uint8{7, 8, 9}}
	img := d.Image(1)
	if !slices.Equal(img, []float32{2, 3}) {
		t.Fatalf("Image(1) = %v, want [2 3]", img)
	}
	img[0] = 42
	if d.Pixels[2] != 42 {
		t.Error("Image must return a view, not a copy")
	}
	_ = append(img, -1) // must not overwrite image 2
	if d.Pixels[4] != 4 {
		t.Error("appending to Image(1) overwrote Image(2)")
	}
	for _, n := range []int{-1, 0, 3, 4} {
		if got := d.Subset(n); got != d {
			t.Errorf("Subset(%d) must return d itself", n)
		}
	}
	s := d.Subset(2)
	if s.N != 2 || s.H != 1 || s.W != 2 || len(s.Pixels) != 4 || !slices.Equal(s.Labels, []uint8{7, 8}) {
		t.Errorf("Subset(2) = %+v", s)
	}
	if &s.Pixels[0] != &d.Pixels[0] {
		t.Error("Subset must share storage with d")
	}
}
