package nn

import (
	"fmt"
	"sync/atomic"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Tap is the identity on x that calls fn with x's value each time the graph
// computes it, before any node that depends on the result runs. Its
// gradient passes through unchanged.
//
// The cGAN uses it as PyTorch's fake.detach(): the generator's graph makes
// the fake images once, and at the tap the discriminator takes its own step
// on them (another graph), so the rest of the generator's graph scores them
// with the updated discriminator without running G a second time. Every
// node that reads the discriminator's weights must then depend on the tap's
// output, or the tape machine may run it before the step.
func Tap(x *G.Node, fn func(G.Value) error) (*G.Node, error) {
	y, err := G.ApplyOp(newTapOp(x.Dims(), fn), x)
	if err != nil {
		return nil, fmt.Errorf("tap: %w", err)
	}
	return y, nil
}

// uniq numbers ops and nodes that must stay distinct: Gorgonia merges nodes
// whose ops hash alike, and two taps of one node with different callbacks
// are not the same node.
var uniq atomic.Int64

func newTapOp(dims int, fn func(G.Value) error) tapOp {
	return tapOp{newOp(fmt.Sprintf("Tap%d", uniq.Add(1))), dims, fn}
}

// tapOp copies its input to its output after calling fn (nil: a plain copy,
// the gradient's op).
type tapOp struct {
	opBase
	dims int
	fn   func(G.Value) error
}

func (tapOp) Arity() int                                        { return 1 }
func (o tapOp) Type() hmType                                    { return fnType(tensorType(o.dims), tensorType(o.dims)) }
func (tapOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }
func (o tapOp) Do(v ...G.Value) (G.Value, error)                { return o.UsePreallocDo(nil, v...) }
func (o tapOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	if o.fn != nil {
		if err := o.fn(x); err != nil {
			return nil, err
		}
	}
	y := o.output(p, x, x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		copy(data[float32](y), data[float32](x))
	default:
		copy(data[float64](y), data[float64](x))
	}
	return y, nil
}

func (tapOp) DiffWRT(int) []bool { return []bool{true} }
func (o tapOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(newTapOp(o.dims, nil), grad)
	return G.Nodes{d}, err
}
