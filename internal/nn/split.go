package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Split cuts x into parts equal pieces along axis, torch.chunk(x, parts,
// axis): piece i is x[..., i·n/parts : (i+1)·n/parts, ...] for n the size of
// that axis.
//
// It exists because Gorgonia's own Slice cannot be trusted for this: v0.9.18
// hashes a slice's start and end as single bytes (sliceOp.WriteHash), and a
// graph merges nodes of equal hash. So x[0:B] and x[B:2B] are one node when B
// is a multiple of 256, and a discriminator's loss on [real; fake] logits
// then reads the real half twice and never sees the fakes (and the same
// holds for the gradient's sliceIncr). Split reshapes the axis to
// (parts, n/parts) and takes index i of the new axis, whose bounds (i, i+1)
// stay distinct for any parts below 256.
func Split(x *G.Node, axis, parts int) ([]*G.Node, error) {
	s := x.Shape()
	if axis < 0 || axis >= len(s) {
		return nil, fmt.Errorf("split: axis %d of a %d-D %v", axis, len(s), s)
	}
	if parts < 1 || parts > 255 || s[axis]%parts != 0 {
		return nil, fmt.Errorf("split: %d parts of axis %d of size %d (want 1..255 parts that divide it)", parts, axis, s[axis])
	}
	to := make(tensor.Shape, 0, len(s)+1)
	to = append(to, s[:axis]...)
	to = append(to, parts, s[axis]/parts)
	to = append(to, s[axis+1:]...)
	r, err := G.Reshape(x, to)
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	out := make([]*G.Node, parts)
	for i := range out {
		sl := make([]tensor.Slice, axis+1)
		sl[axis] = G.S(i)
		if out[i], err = G.Slice(r, sl...); err != nil {
			return nil, fmt.Errorf("split: piece %d: %w", i, err)
		}
	}
	return out, nil
}
