package sample

import (
	"image"
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

// A nil image leaves its cell the grey of the padding.
func TestGridLeavesNilCellsGrey(t *testing.T) {
	g := Grid([][]float32{{1, 1}, nil, {0, 0}}, 1, 2, 2)
	if b := g.Bounds(); b.Dy() != 2*(1+pad)+pad {
		t.Fatalf("grid is %v, want two rows", b)
	}
	for xy, v := range map[[2]int]uint8{{pad, pad}: 255, {2*pad + 2, pad}: 128, {2*pad + 3, pad}: 128, {pad, 2*pad + 1}: 0} {
		if got := g.GrayAt(xy[0], xy[1]).Y; got != v {
			t.Errorf("pixel %v = %d, want %d", xy, got, v)
		}
	}
}

// Beside puts pictures side by side, top-aligned, white between and below.
func TestBesideJoinsPicturesWithAWhiteGap(t *testing.T) {
	a, b := Grid([][]float32{{0}}, 1, 1, 1), Grid([][]float32{{0}, {0}}, 1, 1, 1)
	j, ok := Beside(a, b).(*image.Gray)
	if !ok {
		t.Fatal("grey pictures side by side are not a grey picture")
	}
	aw, bh := a.Bounds().Dx(), b.Bounds().Dy()
	if got := j.Bounds(); got.Dx() != aw+besideGap+b.Bounds().Dx() || got.Dy() != bh {
		t.Fatalf("joined picture is %v", got)
	}
	for xy, v := range map[[2]int]uint8{{pad, pad}: 0, {aw, 0}: 255, {pad, bh - 1}: 255, {aw + besideGap + pad, 1 + 2*pad}: 0, {aw + besideGap, 0}: 128} {
		if got := j.GrayAt(xy[0], xy[1]).Y; got != v {
			t.Errorf("pixel %v = %d, want %d", xy, got, v)
		}
	}
}
