package sample

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestClassRowsPutsOneClassPerRow(t *testing.T) {
	labels, cols := ClassRows(100, 10)
	if cols != 10 {
		t.Fatalf("cols = %d, want 10", cols)
	}
	for i, l := range labels {
		if l != i/10 {
			t.Fatalf("sample %d (row %d) has class %d", i, i/10, l)
		}
	}
	if labels, cols := ClassRows(25, 10); cols != 3 || labels[24] != 8 {
		t.Fatalf("25 samples: cols %d, last class %d; want 3 and 8", cols, labels[24])
	}
}

func TestGridLayoutAndLevels(t *testing.T) {
	// Two 1x2 images side by side: black-white and white-black, with padding.
	imgs := [][]float32{{0, 1}, {1, -0.5}}
	g := Grid(imgs, 1, 2, 2)
	if b := g.Bounds(); b.Dx() != 2*(2+pad)+pad || b.Dy() != 1+2*pad {
		t.Fatalf("grid is %v", b)
	}
	want := map[[2]int]uint8{{pad, pad}: 0, {pad + 1, pad}: 255, {2*pad + 2, pad}: 255, {2*pad + 3, pad}: 0, {0, 0}: 128}
	for xy, v := range want {
		if got := g.GrayAt(xy[0], xy[1]).Y; got != v {
			t.Errorf("pixel %v = %d, want %d", xy, got, v)
		}
	}
	path := filepath.Join(t.TempDir(), "g.png")
	if err := WritePNG(path, g); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("written PNG does not decode: %v", err)
	}
}
