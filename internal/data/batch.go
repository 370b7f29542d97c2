package data

import (
	"fmt"

	"github.com/gentri/gentri/internal/rng"
)

// Batcher draws minibatches of a fixed size in a shuffled order, epoch after
// epoch, dropping an epoch's incomplete tail (PyTorch's drop_last). Its whole
// state (Perm, Pos, Epoch) goes into a checkpoint, so a resumed run sees the
// same batches as an uninterrupted one.
type Batcher struct {
	N, Size int
	Perm    []int // this epoch's order; nil until the first batch
	Pos     int   // next position in Perm
	Epoch   int   // epochs started so far
}

// NewBatcher returns a batcher over n examples; size must be in [1, n].
func NewBatcher(n, size int) (*Batcher, error) {
	if size < 1 || size > n {
		return nil, fmt.Errorf("batch size %d does not fit a data set of %d examples", size, n)
	}
	return &Batcher{N: n, Size: size}, nil
}

// Next returns the indices of the next batch, reshuffling with r when an
// epoch starts.
func (b *Batcher) Next(r *rng.RNG) []int {
	if b.Perm == nil || b.Pos+b.Size > b.N {
		b.Perm = r.Perm(b.N)
		b.Pos = 0
		b.Epoch++
	}
	idx := b.Perm[b.Pos : b.Pos+b.Size]
	b.Pos += b.Size
	return idx
}

// Gather copies the images and labels at idx into x (len(idx)*C*H*W) and labels.
func (d *Dataset) Gather(idx []int, x []float32, labels []uint8) {
	hw := d.ImageLen()
	for k, i := range idx {
		if d.bytes != nil {
			toFloats(x[k*hw:(k+1)*hw], d.bytes[i*hw:(i+1)*hw])
		} else {
			copy(x[k*hw:(k+1)*hw], d.Pixels[i*hw:(i+1)*hw])
		}
		labels[k] = d.Labels[i]
	}
}

// Binarize replaces each intensity p by a Bernoulli(p) draw from r: dynamic
// binarisation, which makes a Bernoulli decoder's ELBO a bound on the
// likelihood of binary data (docs/metrics.md §7).
func Binarize(x []float32, r *rng.RNG) {
	for i, p := range x {
		if r.Float32() < p {
			x[i] = 1
		} else {
			x[i] = 0
		}
	}
}

// Binarized returns a copy of d binarised once with r (the fixed test set
// a dynamically binarised model is scored on).
func (d *Dataset) Binarized(r *rng.RNG) *Dataset {
	c := *d
	if d.bytes != nil {
		c.Pixels, c.bytes = make([]float32, len(d.bytes)), nil
		toFloats(c.Pixels, d.bytes)
	} else {
		c.Pixels = append([]float32(nil), d.Pixels...)
	}
	Binarize(c.Pixels, r)
	return &c
}
