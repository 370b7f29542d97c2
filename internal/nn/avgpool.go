package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AvgPool2x is PyTorch's avg_pool2d(x, 2) on NCHW x with even H and W,
//
//	y[n,c,i,j] = ¼ Σ_{a,b∈{0,1}} x[n,c,2i+a,2j+b],   dx = ¼ · nearest×2(dy).
//
// Gorgonia's AveragePool2D has a wrong backward pass (field guide §7.2 —
// only the first window gets a gradient), so it is not used.
func AvgPool2x(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, fmt.Errorf("avgpool2x: input %v is not NCHW with even height and width", s)
	}
	y, err := G.ApplyOp(avgPoolOp{newOp("AvgPool2x"), false}, x)
	if err != nil {
		return nil, fmt.Errorf("avgpool2x: %w", err)
	}
	return y, nil
}

// avgPoolOp is the pool (grad false: (N,C,H,W) → (N,C,H/2,W/2)) or its
// gradient (grad true: ¼ of the nearest ×2 upsample).
type avgPoolOp struct {
	opBase
	grad bool
}

func (avgPoolOp) Arity() int   { return 1 }
func (avgPoolOp) Type() hmType { return fnType(tensorType(4), tensorType(4)) }
func (o avgPoolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 4 {
		return nil, fmt.Errorf("avgpool2x: input %v is not NCHW", s)
	}
	if o.grad {
		return tensor.Shape{s[0], s[1], 2 * s[2], 2 * s[3]}, nil
	}
	return tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2}, nil
}
func (o avgPoolOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o avgPoolOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	shape, err := o.InferShape(x.Shape())
	if err != nil {
		return nil, err
	}
	y := o.output(p, x, shape)
	s := x.Shape()
	switch x.Dtype() {
	case tensor.Float32:
		avgPool(o.grad, data[float32](x), data[float32](y), s)
	default:
		avgPool(o.grad, data[float64](x), data[float64](y), s)
	}
	return y, nil
}

func avgPool[T float](grad bool, x, y []T, s tensor.Shape) {
	if grad {
		upsampleForward(x, y, s[0]*s[1]*s[2], s[3])
	} else {
		sumPool2x(x, y, s[0]*s[1]*s[2]/2, s[3]/2)
	}
	for i := range y {
		y[i] *= 0.25
	}
}

func (avgPoolOp) DiffWRT(int) []bool { return []bool{true} }
func (o avgPoolOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	name := "AvgPool2xGrad"
	if o.grad {
		name = "AvgPool2xGradGrad"
	}
	d, err := G.ApplyOp(avgPoolOp{newOp(name), !o.grad}, grad)
	return G.Nodes{d}, err
}
