package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Scale is c·x for a constant c, of any rank (a residual block's 1/√2, a
// penalty's 1/N), as one op whose gradient is c·dy: it needs no constant
// node of x's dtype, and it is its own derivative's op, so it can be
// differentiated any number of times.
func Scale(x *G.Node, c float64) (*G.Node, error) {
	y, err := G.ApplyOp(scaleOp{newOp(fmt.Sprintf("Scale(%g)", c)), c}, x)
	if err != nil {
		return nil, fmt.Errorf("scale by %g: %w", c, err)
	}
	return y, nil
}

// scaleOp: y = c·x; c is in the name, hence in the hash.
type scaleOp struct {
	opBase
	c float64
}

func (scaleOp) Arity() int { return 1 }
func (scaleOp) Type() hmType {
	a := hm.TypeVariable('a')
	return fnType(a, a)
}
func (scaleOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }
func (o scaleOp) Do(v ...G.Value) (G.Value, error)                { return o.UsePreallocDo(nil, v...) }
func (o scaleOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	var scalar any // a scalar node's value, such as a summed loss
	if s, ok := v[0].(G.Scalar); ok {
		scalar = s.Data()
	} else if d := denseOf(v[0]); d != nil && d.IsScalar() {
		scalar = d.Data()
	}
	if scalar != nil {
		switch x := scalar.(type) {
		case float32:
			return G.NewF32(float32(o.c) * x), nil
		case float64:
			return G.NewF64(o.c * x), nil
		}
		return nil, fmt.Errorf("%s: scalar %T is not float32 or float64", o.name, scalar)
	}
	x := denseOf(v[0])
	if x == nil {
		return nil, fmt.Errorf("%s: input %T is not a dense tensor", o.name, v[0])
	}
	y := o.output(p, x, x.Shape().Clone())
	switch x.Dtype() {
	case tensor.Float32:
		scaleBy(float32(o.c), data[float32](x), data[float32](y))
	default:
		scaleBy(o.c, data[float64](x), data[float64](y))
	}
	return y, nil
}

func scaleBy[T float](c T, x, y []T) {
	for i, v := range x {
		y[i] = c * v
	}
}

func (scaleOp) DiffWRT(int) []bool { return []bool{true} }
func (o scaleOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := Scale(grad, o.c)
	return G.Nodes{d}, err
}
