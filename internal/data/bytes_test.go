package data

import (
	"crypto/sha256"
	"math"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// everyByte is 64 images of 2x2 pixels holding each intensity 0..255 once,
// labelled 0..3 in turn.
func everyByte() (px, labels []byte) {
	px = make([]byte, 256)
	for i := range px {
		px[i] = byte(i)
	}
	labels = make([]byte, 64)
	for i := range labels {
		labels[i] = byte(i % 4)
	}
	return px, labels
}

// A data set held as bytes (Load's IDX training split) gives the float32
// values of the same set held as float32, bit for bit, through every way
// in: Gather, Image, Subset, Binarized, SplitTenth and the content hash.
func TestBytesHeldSetGivesTheFloatValues(t *testing.T) {
	px, labels := everyByte()
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte", []uint32{64, 2, 2}, px)
	writeFile(t, dir, "train-labels-idx1-ubyte", []uint32{64}, labels)
	held, err := loadIDXBytes(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	float, err := LoadIDXDir(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	if held.bytes == nil || held.Pixels != nil || float.bytes != nil || len(float.Pixels) != 256 {
		t.Fatalf("held as bytes: %d bytes, %d floats; as float32: %d bytes, %d floats", len(held.bytes), len(held.Pixels), len(float.bytes), len(float.Pixels))
	}
	same := func(what string, a, b []float32) {
		t.Helper()
		if len(a) != len(b) {
			t.Fatalf("%s: %d values held as bytes, %d as float32", what, len(a), len(b))
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d] = %v held as bytes, %v as float32", what, i, a[i], b[i])
			}
		}
	}
	idx := []int{63, 0, 17, 17, 40}
	xa, xb := make([]float32, len(idx)*4), make([]float32, len(idx)*4)
	la, lb := make([]uint8, len(idx)), make([]uint8, len(idx))
	held.Gather(idx, xa, la)
	float.Gather(idx, xb, lb)
	same("Gather", xa, xb)
	if string(la) != string(lb) {
		t.Errorf("Gather's labels %v held as bytes, %v as float32", la, lb)
	}
	for i := range held.N {
		same("Image", held.Image(i), float.Image(i))
	}
	sub := held.Subset(10)
	if sub.N != 10 || len(sub.bytes) != 40 {
		t.Fatalf("Subset(10) of a set held as bytes: N %d, %d bytes", sub.N, len(sub.bytes))
	}
	same("Subset's Image", sub.Image(9), float.Image(9))
	same("Binarized", held.Binarized(rng.New(3, 0)).Pixels, float.Binarized(rng.New(3, 0)).Pixels)
	trainA, testA := SplitTenth(held)
	trainB, testB := SplitTenth(float)
	if trainA.bytes == nil || testA.bytes != nil || trainA.N != trainB.N || testA.N != testB.N {
		t.Fatalf("SplitTenth of a set held as bytes: train %d (bytes %v), test %d (bytes %v)", trainA.N, trainA.bytes != nil, testA.N, testA.bytes != nil)
	}
	same("SplitTenth's test part", testA.Pixels, testB.Pixels)
	for i := range trainA.N {
		same("SplitTenth's training part", trainA.Image(i), trainB.Image(i))
	}
	ha, hb := sha256.New(), sha256.New()
	hashDataset(ha, held)
	hashDataset(hb, float)
	if string(ha.Sum(nil)) != string(hb.Sum(nil)) {
		t.Error("the content hash of a set held as bytes differs from that of its float32 values")
	}
}

// Load holds an IDX training split as bytes and its test split as float32
// (the models read test sets' Pixels directly).
func TestLoadHoldsTheIDXTrainingSplitAsBytes(t *testing.T) {
	px, labels := everyByte()
	dir := t.TempDir()
	for _, split := range []string{"train", "t10k"} {
		writeFile(t, dir, split+"-images-idx3-ubyte", []uint32{64, 2, 2}, px)
		writeFile(t, dir, split+"-labels-idx1-ubyte", []uint32{64}, labels)
	}
	s, err := Load(dir, LoadOptions{Height: 2, Width: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Train.bytes) != 256 || s.Train.Pixels != nil || s.Test.bytes != nil || len(s.Test.Pixels) != 256 {
		t.Errorf("train: %d bytes, %d floats; test: %d bytes, %d floats", len(s.Train.bytes), len(s.Train.Pixels), len(s.Test.bytes), len(s.Test.Pixels))
	}
}
