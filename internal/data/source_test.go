package data

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writePNG writes a grey w x h PNG whose pixel (x, y) is v(x, y).
func writePNG(t *testing.T, path string, w, h int, v func(x, y int) uint8) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetGray(x, y, color.Gray{Y: v(x, y)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func flat(c uint8) func(x, y int) uint8 { return func(int, int) uint8 { return c } }

// bytesOf turns intensities back into bytes, for exact comparisons.
func bytesOf(p []float32) []byte {
	out := make([]byte, len(p))
	for i, v := range p {
		out[i] = toByte(v)
	}
	return out
}

func TestGreyResize(t *testing.T) {
	rgba := func(w, h int, c []color.RGBA) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i, px := range c {
			img.SetRGBA(i%w, i/w, px)
		}
		return img
	}
	grey := func(w, h int, v []uint8) image.Image {
		return &image.Gray{Pix: v, Stride: w, Rect: image.Rect(0, 0, w, h)}
	}
	for _, tc := range []struct {
		name string
		img  image.Image
		h, w int
		want []byte
	}{
		{"same size is the identity", grey(2, 2, []uint8{0, 255, 7, 130}), 2, 2, []byte{0, 255, 7, 130}},
		{"2x2 blocks average", grey(4, 2, []uint8{0, 100, 10, 10, 100, 200, 20, 40}), 1, 2, []byte{100, 20}},
		// 3 -> 2 pixels: output 0 covers source [0, 1.5): 1 of pixel 0 and 0.5 of pixel 1.
		{"fractional overlap is weighted", grey(3, 3, []uint8{0, 90, 180, 0, 90, 180, 0, 90, 180}), 2, 2, []byte{30, 150, 30, 150}},
		// A wide image keeps its centred square: columns 1-2 of 4.
		{"wide images are centre-cropped", grey(4, 2, []uint8{9, 1, 2, 9, 9, 3, 4, 9}), 2, 2, []byte{1, 2, 3, 4}},
		{"tall images are centre-cropped", grey(1, 3, []uint8{9, 5, 9}), 1, 1, []byte{5}},
		// BT.601 luma: 0.299*255 = 76.2, 0.587*255 = 149.7, 0.114*255 = 29.1.
		{"RGB becomes luma", rgba(3, 1, []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}}), 1, 3, []byte{76, 150, 29}},
		{"upscaling repeats pixels", grey(1, 1, []uint8{42}), 2, 2, []byte{42, 42, 42, 42}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bytesOf(GreyResize(tc.img, tc.h, tc.w))
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResizeKeepsColourPlanes(t *testing.T) {
	// 4x2 RGB: the centred 2x2 square, area-averaged to 1x1, one value a plane.
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	for i, px := range []color.RGBA{{9, 9, 9, 255}, {200, 0, 10, 255}, {100, 50, 20, 255}, {9, 9, 9, 255},
		{9, 9, 9, 255}, {0, 100, 30, 255}, {100, 250, 40, 255}, {9, 9, 9, 255}} {
		img.SetRGBA(i%4, i/4, px)
	}
	for _, tc := range []struct {
		name string
		c    int
		want []byte
	}{
		{"RGB: red, green, blue planes (CHW)", 3, []byte{100, 100, 25}},
		{"grey: the luma of the mean, 0.299·100 + 0.587·100 + 0.114·25 = 91.45", 1, []byte{91}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bytesOf(Resize(img, tc.c, 1, 1)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// A grey source gives three equal planes.
	g := &image.Gray{Pix: []uint8{10, 20, 30, 40}, Stride: 2, Rect: image.Rect(0, 0, 2, 2)}
	if got := bytesOf(Resize(g, 3, 2, 2)); !slices.Equal(got, []byte{10, 20, 30, 40, 10, 20, 30, 40, 10, 20, 30, 40}) {
		t.Errorf("grey to RGB: %v", got)
	}
}

// Every loader produces the shape asked for: CIFAR-10 kept RGB at 3x32x32
// (byte for byte) or turned grey and resized, an image folder of grey PNGs
// replicated into three planes; only grey data hashes as it did before
// data had channels.
func TestLoadGivesTheModelsShape(t *testing.T) {
	cifar := t.TempDir()
	os.WriteFile(filepath.Join(cifar, "data_batch_1.bin"), cifarBatch(100, 255, 128, 0), 0o644)
	rgb, err := Load(cifar, LoadOptions{Channels: 3, Height: 32, Width: 32})
	if err != nil {
		t.Fatal(err)
	}
	if d := rgb.Train; d.Channels() != 3 || d.H != 32 || len(d.Image(0)) != 3*32*32 || rgb.Info.Channels != 3 {
		t.Fatalf("CIFAR-10 at 3x32x32: %dx%dx%d, %d values an image", d.Channels(), d.H, d.W, len(d.Image(0)))
	}
	if px := bytesOf(rgb.Train.Image(0)); px[0] != 255 || px[1024] != 128 || px[2048] != 0 || px[3071] != 0 {
		t.Errorf("CIFAR-10 planes: red %d, green %d, blue %d: want the record's 255, 128, 0", px[0], px[1024], px[2048])
	}
	grey, err := Load(cifar, LoadOptions{Channels: 1, Height: 32, Width: 32})
	if err != nil {
		t.Fatal(err)
	}
	if grey.Info.SHA256 == rgb.Info.SHA256 || grey.Info.Channels != 1 {
		t.Errorf("grey and RGB versions of one folder share the hash %s", grey.Info.Short())
	}
	folder := imageFolder(t)
	g1, err := Load(folder, LoadOptions{Height: 28, Width: 28})
	if err != nil {
		t.Fatal(err)
	}
	g3, err := Load(folder, LoadOptions{Channels: 3, Height: 32, Width: 32})
	if err != nil {
		t.Fatal(err)
	}
	px := g3.Train.Image(5)
	if len(px) != 3*32*32 || px[0] != px[1024] || px[0] != px[2048] || px[0] != g1.Train.Image(5)[0] {
		t.Errorf("grey PNGs at 3x32x32: %d values, planes start %v %v %v (grey %v)", len(px), px[0], px[1024], px[2048], g1.Train.Image(5)[0])
	}
	if g1.Train.Channels() != 1 || g1.Info.Channels != 1 || len(g1.Train.Image(0)) != 28*28 {
		t.Errorf("grey PNGs at 1x28x28: %d channels", g1.Train.Channels())
	}
}

// imageFolder writes classes "b" (12 images) and "a" (11 images), each
// image a flat 8x8 grey of its index, plus a stray text file.
func imageFolder(t *testing.T) string {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		n    int
	}{{"b", 12}, {"a", 11}} {
		for i := 0; i < c.n; i++ {
			writePNG(t, filepath.Join(dir, c.name, "img"+string(rune('A'+i))+".png"), 8, 8, flat(uint8(10*i)))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a", "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadImageFolderLabelsBySortedSubfolder(t *testing.T) {
	dir := imageFolder(t)
	s, err := Load(dir, LoadOptions{Height: 4, Width: 4})
	if err != nil {
		t.Fatal(err)
	}
	in := s.Info
	if in.Kind != KindImages || !slices.Equal(in.Classes, []string{"a", "b"}) || in.Name != filepath.Base(dir) || !in.HeldOut {
		t.Errorf("info = %+v, want kind images, classes [a b], held out, named after the folder", in)
	}
	// Every tenth image of each class is held out: a's 10th and b's 10th.
	if s.Train.N != 21 || s.Test.N != 2 || in.Train != 21 || in.Test != 2 || in.Height != 4 || in.Width != 4 {
		t.Fatalf("train %d, test %d images (info %+v), want 21 and 2 of 4x4", s.Train.N, s.Test.N, in)
	}
	if !slices.Equal(s.Test.Labels, []uint8{0, 1}) || bytesOf(s.Test.Image(0))[0] != 90 || bytesOf(s.Test.Image(1))[0] != 90 {
		t.Errorf("test labels %v, first pixels %v %v: want [0 1], each class's 10th image (grey 90)",
			s.Test.Labels, s.Test.Image(0)[0], s.Test.Image(1)[0])
	}
	if s.Train.Labels[0] != 0 || s.Train.Labels[9] != 0 || s.Train.Labels[10] != 1 || bytesOf(s.Train.Image(10))[0] != 0 {
		t.Errorf("training images must come in class order, each class's files sorted: labels %v", s.Train.Labels)
	}
}

func TestLoadImageFolderWithoutSubfoldersIsUnlabelled(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 10; i++ {
		writePNG(t, filepath.Join(dir, string(rune('a'+i))+".png"), 3, 3, flat(uint8(i)))
	}
	s, err := Load(dir, LoadOptions{Height: 2, Width: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.Info.Labelled() || s.Train.N != 9 || s.Test.N != 1 {
		t.Errorf("info %+v: want no classes, 9 training images and 1 held out", s.Info)
	}
}

func TestLoadImageFolderBadFiles(t *testing.T) {
	dir := imageFolder(t)
	bad := filepath.Join(dir, "b", "imgZ.png")
	if err := os.WriteFile(bad, []byte("\x89PNG\r\n\x1a\ngarbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, LoadOptions{Height: 4, Width: 4})
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "--skip-bad") {
		t.Fatalf("error %v: want one naming %s and --skip-bad", err, bad)
	}
	s, err := Load(dir, LoadOptions{Height: 4, Width: 4, SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Info.Skipped != 1 || s.Train.N+s.Test.N != 23 {
		t.Errorf("skipped %d, kept %d: want 1 and 23", s.Info.Skipped, s.Train.N+s.Test.N)
	}
}

func TestLoadImageFolderRejectsUnusableFolders(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		build      func(t *testing.T, dir string)
	}{
		{"empty", "no IDX files (train-images-idx3-ubyte[.gz]), no CIFAR-10 batches (data_batch_*.bin) and no PNG or JPEG images", func(*testing.T, string) {}},
		{"only empty folders", "no data found", func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "run"), 0o755) }},
		{"images beside class folders", "both images", func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "a", "x.png"), 2, 2, flat(1))
			writePNG(t, filepath.Join(dir, "y.png"), 2, 2, flat(1))
		}},
		{"an empty class", `class folder "b" holds no PNG`, func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "a", "x.png"), 2, 2, flat(1))
			os.Mkdir(filepath.Join(dir, "b"), 0o755)
		}},
		{"too few to hold out", "at least 10", func(t *testing.T, dir string) {
			writePNG(t, filepath.Join(dir, "x.png"), 2, 2, flat(1))
		}},
		{"a text file named .jpg", "not a PNG or JPEG", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "x.jpg"), []byte("hello"), 0o644)
		}},
		{"a PNG header announcing 1e10 pixels", "100000x100000 pixels", func(t *testing.T, dir string) {
			var b bytes.Buffer
			png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
			raw := b.Bytes()
			// IHDR's width and height (big-endian) follow the 8-byte signature, length and type.
			copy(raw[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
			binary.BigEndian.PutUint32(raw[29:33], crc32.ChecksumIEEE(raw[12:29]))
			os.WriteFile(filepath.Join(dir, "huge.png"), raw, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.build(t, dir)
			_, err := Load(dir, LoadOptions{Height: 2, Width: 2})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadImageFolderDecodesJPEG(t *testing.T) {
	dir := t.TempDir()
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".JPEG"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Load(dir, LoadOptions{Height: 4, Width: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := bytesOf(s.Test.Image(0)); got[0] < 198 || got[0] > 202 {
		t.Errorf("a flat grey-200 JPEG decodes to %v", got)
	}
	b.Truncate(b.Len() / 2)
	bad := filepath.Join(dir, "k.jpg")
	os.WriteFile(bad, b.Bytes(), 0o644)
	if _, err := Load(dir, LoadOptions{Height: 4, Width: 4}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a truncated JPEG: error %v, want one naming %s", err, bad)
	}
}

// cifarBatch is n CIFAR-10 records: record i has label i%10 and every red
// byte r, green g, blue b.
func cifarBatch(n int, r, g, b byte) []byte {
	var out []byte
	for i := 0; i < n; i++ {
		out = append(out, byte(i%10))
		for _, c := range []byte{r, g, b} {
			out = append(out, bytes.Repeat([]byte{c}, 1024)...)
		}
	}
	return out
}

func TestLoadCIFAR10(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data_batch_2.bin"), cifarBatch(3, 0, 0, 0), 0o644)
	os.WriteFile(filepath.Join(dir, "data_batch_1.bin"), cifarBatch(4, 255, 255, 255), 0o644)
	os.WriteFile(filepath.Join(dir, "test_batch.bin"), cifarBatch(2, 255, 0, 0), 0o644)
	s, err := Load(dir, LoadOptions{Height: 28, Width: 28})
	if err != nil {
		t.Fatal(err)
	}
	if s.Info.Kind != KindCIFAR || s.Info.HeldOut || len(s.Info.Classes) != 10 || s.Info.Classes[3] != "cat" {
		t.Errorf("info %+v: want cifar10, its own test split, the ten class names", s.Info)
	}
	if s.Train.N != 7 || s.Test.N != 2 || s.Train.H != 28 || s.Train.W != 28 {
		t.Fatalf("train %d, test %d (%dx%d): want 7 and 2 of 28x28", s.Train.N, s.Test.N, s.Train.H, s.Train.W)
	}
	// Batches in name order: data_batch_1 (white) first; the labels follow the records.
	if got := bytesOf(s.Train.Image(0)); got[0] != 255 || bytesOf(s.Train.Image(4))[0] != 0 {
		t.Errorf("first pixels %d, %d: want 255 (data_batch_1) then 0 (data_batch_2)", got[0], bytesOf(s.Train.Image(4))[0])
	}
	if !slices.Equal(s.Train.Labels, []uint8{0, 1, 2, 3, 0, 1, 2}) {
		t.Errorf("labels %v", s.Train.Labels)
	}
	if got := bytesOf(s.Test.Image(1))[0]; got != 76 {
		t.Errorf("pure red is grey %d, want 76 (BT.601 luma)", got)
	}
}

func TestLoadCIFAR10BadBatches(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		batch      []byte
	}{
		{"truncated", "not a whole number of 3073-byte records", cifarBatch(2, 1, 2, 3)[:5000]},
		{"label out of range", "label 10", append([]byte{10}, cifarBatch(1, 1, 2, 3)[1:]...)},
		{"empty", "0 bytes", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			good := cifarBatch(100, 9, 9, 9)
			os.WriteFile(filepath.Join(dir, "data_batch_1.bin"), good, 0o644)
			bad := filepath.Join(dir, "data_batch_2.bin")
			os.WriteFile(bad, tc.batch, 0o644)
			_, err := Load(dir, LoadOptions{Height: 28, Width: 28})
			if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want one naming %s and saying %q", err, bad, tc.want)
			}
			s, err := Load(dir, LoadOptions{Height: 28, Width: 28, SkipBad: true})
			if err != nil {
				t.Fatal(err)
			}
			// No test_batch.bin: the held-out tenth of the 100 good records.
			if s.Info.Skipped != 1 || !s.Info.HeldOut || s.Train.N != 90 || s.Test.N != 10 {
				t.Errorf("info %+v: want 1 skipped, 90 training and 10 held-out images", s.Info)
			}
		})
	}
}

func TestLoadIDXFolderRecordsItsIdentity(t *testing.T) {
	dir := t.TempDir()
	px := bytes.Repeat([]byte{7}, 30*4)
	labels := make([]byte, 30)
	for i := range labels {
		labels[i] = byte(i % 3)
	}
	writeFile(t, dir, "train-images-idx3-ubyte", []uint32{30, 2, 2}, px)
	writeFile(t, dir, "train-labels-idx1-ubyte", []uint32{30}, labels)
	s, err := Load(dir, LoadOptions{Height: 2, Width: 2})
	if err != nil {
		t.Fatal(err)
	}
	// No t10k files: every tenth image of each class is held out.
	if s.Info.Kind != KindIDX || !slices.Equal(s.Info.Classes, []string{"0", "1", "2"}) || !s.Info.HeldOut || s.Test.N != 3 || s.Train.N != 27 {
		t.Errorf("info %+v: want kind idx, classes 0-2, 27 training images and 3 held out", s.Info)
	}
	// At another shape the images are resized and replicated; the hash
	// and the name follow the shape.
	big, err := Load(dir, LoadOptions{Channels: 3, Height: 28, Width: 28})
	if err != nil {
		t.Fatal(err)
	}
	if big.Train.Channels() != 3 || big.Train.H != 28 || big.Info.Channels != 3 || big.Info.SHA256 == s.Info.SHA256 ||
		len(big.Train.Image(0)) != 3*28*28 || big.Train.Image(0)[3*28*28-1] != float32(7)/255 {
		t.Errorf("IDX data at 3x28x28: info %+v, %d values an image", big.Info, len(big.Train.Image(0)))
	}
	// The hash follows the content, not the path; a changed pixel changes it.
	other := t.TempDir()
	writeFile(t, other, "train-images-idx3-ubyte.gz", []uint32{30, 2, 2}, px)
	writeFile(t, other, "train-labels-idx1-ubyte", []uint32{30}, labels)
	s2, err := Load(other, LoadOptions{Height: 2, Width: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Info.SHA256 != s.Info.SHA256 || len(s.Info.SHA256) != 64 {
		t.Errorf("same data in two folders: hashes %s and %s", s.Info.SHA256, s2.Info.SHA256)
	}
	px[5] = 8
	writeFile(t, other, "train-images-idx3-ubyte.gz", []uint32{30, 2, 2}, px)
	if s3, err := Load(other, LoadOptions{Height: 2, Width: 2}); err != nil || s3.Info.SHA256 == s.Info.SHA256 {
		t.Errorf("a changed pixel must change the hash (err %v)", err)
	}
}

func TestSplitTenthHoldsOutEveryTenthOfEachClass(t *testing.T) {
	d := &Dataset{N: 25, H: 1, W: 1}
	for i := 0; i < d.N; i++ {
		d.Pixels = append(d.Pixels, float32(i))
		d.Labels = append(d.Labels, uint8(i%2))
	}
	train, test := SplitTenth(d)
	// Class 0 is examples 0, 2, ..., 24 (13), class 1 is 1, 3, ..., 23 (12);
	// the 10th of each is held out: examples 18 and 19.
	if !slices.Equal(test.Pixels, []float32{18, 19}) || train.N != 23 || test.N != 2 || len(train.Labels) != 23 {
		t.Errorf("held out %v (train %d): want [18 19] and 23 left", test.Pixels, train.N)
	}
}

func TestLoadNamesKnownDataByContent(t *testing.T) {
	dir, err := FindMNIST()
	if err != nil {
		t.Skip("MNIST not found:", err)
	}
	if testing.Short() {
		t.Skip("reads all of MNIST")
	}
	s, err := Load(dir, LoadOptions{Height: 28, Width: 28})
	if err != nil {
		t.Fatal(err)
	}
	if s.Info.Name != "mnist" || s.Info.SHA256 != MNISTSHA256 || s.Info.Train != 60000 || s.Info.Test != 10000 {
		t.Errorf("MNIST loads as %+v", s.Info)
	}
}
