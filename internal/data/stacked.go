package data

import (
	"fmt"

	"github.com/gentri/gentri/internal/rng"
)

// Stacked MNIST (Metz et al. 2017; the mode-coverage benchmark of PacGAN,
// Lin et al. 2018, VEEGAN, Srivastava et al. 2017, and the denoising
// diffusion GAN, Xiao et al. 2022): each image is three MNIST digits, drawn
// independently, as its red, green and blue planes, so the data has
// 10 x 10 x 10 = 1000 modes, the digit triples.
const (
	// DatasetStacked is the config's data.dataset of Stacked MNIST.
	DatasetStacked = "stacked_mnist"
	// KindStacked is its Info.Kind.
	KindStacked = "stacked_mnist"
	// StackedModes is the number of its modes.
	StackedModes = 1000
)

// The RNG streams of the digits' draws: fixed, not the run's, so every run
// trains and is evaluated on the same data (seed = the image's index).
const (
	stackedTrainStream uint64 = 0x57ac4ed0
	stackedTestStream  uint64 = 0x57ac4ed1
)

// StackedSources returns the indices, in the source split of n images, of
// the digits that make the red, green and blue planes of stacked image i:
// three independent uniform draws from the stream of seed i, so image i is
// the same whatever the size of the set around it.
func StackedSources(i, n int, test bool) [3]int {
	stream := stackedTrainStream
	if test {
		stream = stackedTestStream
	}
	r := rng.New(uint64(i), stream)
	return [3]int{r.IntN(n), r.IntN(n), r.IntN(n)}
}

// LoadStacked builds Stacked MNIST from the grey 28x28 data in dir (MNIST,
// found as FindMNIST finds it, when ""): as many training images as the
// source's training split, each of three of its training digits
// (StackedSources), and as many test images, each of three test digits.
// The shape asked for must be 3x28x28. The images carry no labels (their
// modes come from a classifier at evaluation); Info.Source is the identity
// of the source data.
func LoadStacked(dir string, o LoadOptions) (*Set, error) {
	if o.channels() != 3 || o.Height != 28 || o.Width != 28 {
		return nil, fmt.Errorf("data %s: Stacked MNIST is 3x28x28 (three 28x28 digits), not %dx%dx%d: set data.channels 3 and data.size 28",
			DatasetStacked, o.channels(), o.Height, o.Width)
	}
	src, err := Load(dir, LoadOptions{Channels: 1, Height: 28, Width: 28, SkipBad: o.SkipBad})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DatasetStacked, err)
	}
	s := &Set{
		Train: stack(src.Train, false),
		Test:  stack(src.Test, true),
		Info:  Info{Kind: KindStacked, HeldOut: src.Info.HeldOut, Skipped: src.Info.Skipped},
	}
	s.fillInfo()
	s.Info.Dir = src.Info.Dir
	s.Info.Name = "stacked-" + src.Info.Name
	source := src.Info
	s.Info.Source = &source
	return s, nil
}

// stack draws a stacked image for each image of the grey split d. A split
// held as bytes (MNIST's training images) stacks as bytes: 141 MB instead
// of 564 MB for the 60,000 images, and the same values (b/255) when drawn.
func stack(d *Dataset, test bool) *Dataset {
	p := d.ImageLen()
	out := &Dataset{N: d.N, C: 3, H: d.H, W: d.W, Labels: make([]uint8, d.N)}
	if d.bytes != nil {
		out.bytes = make([]uint8, 0, 3*d.N*p)
	} else {
		out.Pixels = make([]float32, 0, 3*d.N*p)
	}
	for i := 0; i < d.N; i++ {
		for _, j := range StackedSources(i, d.N, test) {
			if d.bytes != nil {
				out.bytes = append(out.bytes, d.bytes[j*p:(j+1)*p]...)
			} else {
				out.Pixels = append(out.Pixels, d.Image(j)...)
			}
		}
	}
	return out
}

// LoadDataset loads data.dataset's images: Stacked MNIST built from the
// folder dir, or what dir holds (Load).
func LoadDataset(dataset, dir string, o LoadOptions) (*Set, error) {
	if dataset == DatasetStacked {
		return LoadStacked(dir, o)
	}
	return Load(dir, o)
}
