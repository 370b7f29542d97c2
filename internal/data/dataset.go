package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dataset is a set of images with labels, pixels scaled to [0,1] as float32
// (intensity/255). An image is C planes of H rows of W pixels (CHW, the
// layout of PyTorch's tensors); C 0 means 1, so grey data built without it
// keeps its meaning.
type Dataset struct {
	N, C, H, W int
	Pixels     []float32 // N*C*H*W, image i at Pixels[i*P:(i+1)*P], P = ImageLen(); nil when held as bytes
	Labels     []uint8   // N
	// bytes, when not nil, holds the pixels instead of Pixels, as the 8-bit
	// intensities the files store: a quarter of the memory. Load keeps an
	// IDX training split so (MNIST's: 47 MB instead of 188 MB), which only
	// Gather reads, a batch at a time; Image and Gather give the float32
	// values Pixels would hold, b/255, bit for bit.
	bytes []uint8
}

// Channels is C, 1 when unset.
func (d *Dataset) Channels() int { return max(d.C, 1) }

// ImageLen is the number of values of one image, C*H*W.
func (d *Dataset) ImageLen() int { return d.Channels() * d.H * d.W }

// Image returns image i's pixels: a sub-slice, no copy (its capacity
// clipped so an append by the caller cannot overwrite image i+1), or a
// fresh slice when the set is held as bytes.
func (d *Dataset) Image(i int) []float32 {
	p := d.ImageLen()
	if d.bytes != nil {
		img := make([]float32, p)
		toFloats(img, d.bytes[i*p:(i+1)*p])
		return img
	}
	return d.Pixels[i*p : (i+1)*p : (i+1)*p]
}

// toFloats writes the intensities b/255 of src into dst, as every loader scales them.
func toFloats(dst []float32, src []uint8) {
	for i, b := range src[:len(dst)] {
		dst[i] = float32(b) / 255
	}
}

// Subset returns the first n examples (n <= 0 or n >= N returns d itself).
// The result shares storage with d: quick experiments need no copy.
func (d *Dataset) Subset(n int) *Dataset {
	if n <= 0 || n >= d.N {
		return d
	}
	m := n * d.ImageLen()
	if d.bytes != nil {
		return &Dataset{N: n, C: d.C, H: d.H, W: d.W, bytes: d.bytes[:m:m], Labels: d.Labels[:n:n]}
	}
	return &Dataset{N: n, C: d.C, H: d.H, W: d.W, Pixels: d.Pixels[:m:m], Labels: d.Labels[:n:n]}
}

// splitPrefix maps a split name to the prefix of its standard file names.
var splitPrefix = map[string]string{"train": "train", "test": "t10k"}

// LoadIDXDir loads split "train" or "test" from dir, which holds the four
// standard MNIST file names, each plain or with a ".gz" suffix.
func LoadIDXDir(dir, split string) (*Dataset, error) {
	d, err := loadIDXBytes(dir, split)
	if err != nil {
		return nil, err
	}
	pix := make([]float32, len(d.bytes))
	toFloats(pix, d.bytes)
	d.Pixels, d.bytes = pix, nil
	return d, nil
}

// loadIDXBytes is LoadIDXDir holding the pixels as bytes.
func loadIDXBytes(dir, split string) (*Dataset, error) {
	prefix, ok := splitPrefix[split]
	if !ok {
		return nil, fmt.Errorf("load %s: unknown split %q (want \"train\" or \"test\")", dir, split)
	}
	imgPath, err := findIDX(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := findIDX(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	img, err := ReadIDXFile(imgPath)
	if err != nil {
		return nil, err
	}
	lbl, err := ReadIDXFile(lblPath)
	if err != nil {
		return nil, err
	}
	if len(img.Dims) != 3 {
		return nil, fmt.Errorf("%s: images must have 3 dimensions (N, H, W), file has %d: %v", imgPath, len(img.Dims), img.Dims)
	}
	if len(lbl.Dims) != 1 {
		return nil, fmt.Errorf("%s: labels must have 1 dimension (N), file has %d: %v", lblPath, len(lbl.Dims), lbl.Dims)
	}
	n, h, w := img.Dims[0], img.Dims[1], img.Dims[2]
	if lbl.Dims[0] != n {
		return nil, fmt.Errorf("count mismatch: %s has %d images but %s has %d labels", imgPath, n, lblPath, lbl.Dims[0])
	}
	// ParseIDX rejects zero dimensions, so H, W > 0 already; labels are bytes,
	// so every label is <= 255 and datasets with more than 10 classes load too.
	return &Dataset{N: n, H: h, W: w, bytes: img.Data, Labels: lbl.Data}, nil
}

// findIDX returns dir/base, or dir/base.gz when only that exists.
func findIDX(dir, base string) (string, error) {
	plain := filepath.Join(dir, base)
	for _, p := range []string{plain, plain + ".gz"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("missing IDX file: neither %s nor %s exists", plain, plain+".gz")
}
