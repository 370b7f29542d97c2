package data

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
)

// digitsFolder writes IDX files of n training and m test 28x28 images,
// image i a flat grey of value i+1 (test: 200+i), labelled i%10.
func digitsFolder(t *testing.T, n, m int) string {
	t.Helper()
	dir := t.TempDir()
	for _, split := range []struct {
		prefix string
		n      int
		base   int
	}{{"train", n, 1}, {"t10k", m, 200}} {
		px := make([]byte, 0, split.n*784)
		labels := make([]byte, split.n)
		for i := 0; i < split.n; i++ {
			for range 784 {
				px = append(px, byte(split.base+i))
			}
			labels[i] = byte(i % 10)
		}
		writeFile(t, dir, split.prefix+"-images-idx3-ubyte", []uint32{uint32(split.n), 28, 28}, px)
		writeFile(t, dir, split.prefix+"-labels-idx1-ubyte", []uint32{uint32(split.n)}, labels)
	}
	return dir
}

// Stacked MNIST is 3x28x28, each plane one source digit drawn by
// StackedSources (training digits for the training split, test digits for
// the test split), and the same set on every load.
func TestStackedMNISTIsReproducibleAndThreeDigitsDeep(t *testing.T) {
	dir := digitsFolder(t, 50, 20)
	o := LoadOptions{Channels: 3, Height: 28, Width: 28}
	s, err := LoadStacked(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Train.N != 50 || s.Test.N != 20 || s.Train.Channels() != 3 || s.Train.H != 28 || len(s.Train.Image(0)) != 3*784 {
		t.Fatalf("stacked set: %d+%d images of %dx%dx%d", s.Train.N, s.Test.N, s.Train.Channels(), s.Train.H, s.Train.W)
	}
	if s.Info.Kind != KindStacked || s.Info.Labelled() || s.Info.Source == nil || s.Info.Channels != 3 || !strings.HasPrefix(s.Info.Name, "stacked-") {
		t.Errorf("info %+v: want kind %s, no labels, the source's identity", s.Info, KindStacked)
	}
	for _, split := range []struct {
		d    *Dataset
		test bool
		base int
	}{{s.Train, false, 1}, {s.Test, true, 200}} {
		distinct := map[[3]int]bool{}
		for i := 0; i < split.d.N; i++ {
			src := StackedSources(i, split.d.N, split.test)
			distinct[src] = true
			img := split.d.Image(i)
			for c, j := range src {
				if got, want := toByte(img[c*784]), byte(split.base+j); got != want || toByte(img[c*784+783]) != want {
					t.Fatalf("test %v, image %d, plane %d: value %d, want source digit %d's %d", split.test, i, c, got, j, want)
				}
			}
		}
		if len(distinct) < split.d.N*9/10 {
			t.Errorf("test %v: %d distinct digit triples among %d images: the draws are not independent", split.test, len(distinct), split.d.N)
		}
	}
	if StackedSources(3, 50, false) == StackedSources(3, 50, true) && StackedSources(4, 50, false) == StackedSources(4, 50, true) {
		t.Error("the training and test splits draw the same triples")
	}
	again, err := LoadStacked(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, split := range [][2]*Dataset{{again.Train, s.Train}, {again.Test, s.Test}} {
		for i := 0; i < split[1].N; i++ {
			if !slices.Equal(split[0].Image(i), split[1].Image(i)) {
				t.Fatalf("a second load gives another image %d", i)
			}
		}
	}
	if again.Info.SHA256 != s.Info.SHA256 {
		t.Error("a second load hashes otherwise")
	}
	plain, err := Load(dir, LoadOptions{Channels: 3, Height: 28, Width: 28})
	if err != nil {
		t.Fatal(err)
	}
	if plain.Info.SHA256 == s.Info.SHA256 {
		t.Error("the stack hashes as its source replicated in three planes")
	}
	for _, bad := range []LoadOptions{{Channels: 1, Height: 28, Width: 28}, {Channels: 3, Height: 32, Width: 32}} {
		if _, err := LoadStacked(dir, bad); err == nil || !strings.Contains(err.Error(), "3x28x28") {
			t.Errorf("shape %+v: error %v, want one naming 3x28x28", bad, err)
		}
	}
	if ds, err := LoadDataset(DatasetStacked, dir, o); err != nil || ds.Info.SHA256 != s.Info.SHA256 {
		t.Errorf("LoadDataset(%q): %v", DatasetStacked, err)
	}
}

// The training split is stacked from MNIST's bytes as bytes: the same
// values and the same content hash as stacking the float32 images.
func TestStackedBytesMatchStackedFloats(t *testing.T) {
	dir := digitsFolder(t, 40, 10)
	src, err := Load(dir, LoadOptions{Channels: 1, Height: 28, Width: 28})
	if err != nil {
		t.Fatal(err)
	}
	if src.Train.bytes == nil {
		t.Fatal("the IDX training split is not held as bytes: this test compares nothing")
	}
	floats := &Dataset{N: src.Train.N, H: 28, W: 28, Labels: src.Train.Labels}
	for i := 0; i < src.Train.N; i++ {
		floats.Pixels = append(floats.Pixels, src.Train.Image(i)...)
	}
	b, f := stack(src.Train, false), stack(floats, false)
	if b.bytes == nil || f.bytes != nil {
		t.Fatalf("stacked bytes %v, floats %v: want bytes from bytes and floats from floats", b.bytes != nil, f.bytes != nil)
	}
	for i := 0; i < b.N; i++ {
		if !slices.Equal(b.Image(i), f.Image(i)) {
			t.Fatalf("image %d differs", i)
		}
	}
	hb, hf := sha256.New(), sha256.New()
	hashDataset(hb, b)
	hashDataset(hf, f)
	if !bytes.Equal(hb.Sum(nil), hf.Sum(nil)) {
		t.Error("the bytes-held stack hashes otherwise than the float32 one")
	}
}
