package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LeakyReLUAt is the leaky ReLU of x with the slopes of another input ref
// of the same shape:
//
//	y = x        where ref > 0,
//	y = alpha·x  elsewhere,         dy/dx likewise; ref gets no gradient.
//
// With ref = x it is LeakyReLU. With ref fixed it is linear in x, so a
// network of such layers, its activation pattern frozen at ref, is affine
// in its input and its weight gradient is too: the DDGAN's R1 penalty
// uses this to get the exact second derivative of D from a difference of
// two first derivatives (internal/models/ddgan_model.go, r1Grads).
func LeakyReLUAt(x, ref *G.Node, alpha float64) (*G.Node, error) {
	if !x.Shape().Eq(ref.Shape()) {
		return nil, fmt.Errorf("leaky relu at: input %v and reference %v differ in shape", x.Shape(), ref.Shape())
	}
	y, err := G.ApplyOp(lreluAtOp{newOp(fmt.Sprintf("LeakyReLUAt(%g)", alpha)), alpha}, x, ref)
	if err != nil {
		return nil, fmt.Errorf("leaky relu at: %w", err)
	}
	return y, nil
}

// lreluAtOp: inputs x and ref of one shape, output like x. Its gradient
// wrt x is the same op applied to dy (with the same ref).
type lreluAtOp struct {
	opBase
	alpha float64
}

func (lreluAtOp) Arity() int { return 2 }
func (lreluAtOp) Type() hmType {
	a := hm.TypeVariable('a')
	return fnType(a, a, a)
}
func (lreluAtOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }
func (o lreluAtOp) Do(v ...G.Value) (G.Value, error)                { return o.UsePreallocDo(nil, v...) }
func (o lreluAtOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, ref := denseOf(v[0]), denseOf(v[1])
	y := o.output(p, x, x.Shape().Clone())
	switch x.Dtype() {
	case tensor.Float32:
		lreluAt(data[float32](x), data[float32](ref), data[float32](y), float32(o.alpha))
	default:
		lreluAt(data[float64](x), data[float64](ref), data[float64](y), o.alpha)
	}
	return y, nil
}

func lreluAt[T float](x, ref, y []T, alpha T) {
	parallelChunks(len(x), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if ref[i] > 0 {
				y[i] = x[i]
			} else {
				y[i] = alpha * x[i]
			}
		}
	})
}

func (lreluAtOp) DiffWRT(int) []bool { return []bool{true, false} }
func (o lreluAtOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(lreluAtOp{newOp(o.name + "Grad"), o.alpha}, grad, in[1])
	return G.Nodes{d, nil}, err
}
