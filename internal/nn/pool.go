package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AvgPool2x is 2×2 average pooling with stride 2 of NCHW x with even H and
// W, PyTorch's F.avg_pool2d(x, 2):
//
//	y[n,c,i,j] = ¼ Σ_{a,b∈{0,1}} x[n,c,2i+a,2j+b],   dx[n,c,i,j] = ¼ dy[n,c,⌊i/2⌋,⌊j/2⌋].
//
// Gorgonia's AveragePool2D has a wrong backward pass (a 2×2, stride-2
// pool's gradient reaches only the first window). Both directions are
// linear, each the other's adjoint, so the op can be differentiated any
// number of times (GradPenalty).
func AvgPool2x(x *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, fmt.Errorf("avgpool2x: input %v is not NCHW with even height and width", s)
	}
	y, err := G.ApplyOp(avgPoolOp{newOp("AvgPool2x")}, x)
	if err != nil {
		return nil, fmt.Errorf("avgpool2x: %w", err)
	}
	return y, nil
}

// avgPoolOp: input x (N,C,H,W), H and W even; output (N,C,H/2,W/2).
type avgPoolOp struct{ opBase }

func (avgPoolOp) Arity() int   { return 1 }
func (avgPoolOp) Type() hmType { return fnType(tensorType(4), tensorType(4)) }
func (avgPoolOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 4 || s[2]%2 != 0 || s[3]%2 != 0 {
		return nil, fmt.Errorf("avgpool2x: input %v is not NCHW with even height and width", s)
	}
	return tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2}, nil
}
func (o avgPoolOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o avgPoolOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	s := x.Shape()
	y := o.output(p, x, tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2})
	switch x.Dtype() {
	case tensor.Float32:
		avgPool2x(data[float32](x), data[float32](y), s[0]*s[1]*s[2]/2, s[3]/2)
	default:
		avgPool2x(data[float64](x), data[float64](y), s[0]*s[1]*s[2]/2, s[3]/2)
	}
	return y, nil
}

// avgPool2x averages the 2×2 windows of rows output rows of width w.
func avgPool2x[T float](x, y []T, rows, w int) {
	parallelRange(rows, max(1, (1<<14)/(4*w)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			top, bot, dst := x[4*r*w:(4*r+2)*w], x[(4*r+2)*w:(4*r+4)*w], y[r*w:(r+1)*w]
			for j := range dst {
				dst[j] = (top[2*j] + top[2*j+1] + bot[2*j] + bot[2*j+1]) * 0.25
			}
		}
	})
}

func (avgPoolOp) DiffWRT(int) []bool { return []bool{true} }
func (avgPoolOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(avgPoolGradOp{newOp("AvgPool2xGrad")}, grad)
	return G.Nodes{d}, err
}

// avgPoolGradOp spreads each dy[n,c,i,j] as ¼·dy over its 2×2 window:
// (N,C,H,W) → (N,C,2H,2W), the adjoint of avgPoolOp.
type avgPoolGradOp struct{ opBase }

func (avgPoolGradOp) Arity() int   { return 1 }
func (avgPoolGradOp) Type() hmType { return fnType(tensorType(4), tensorType(4)) }
func (avgPoolGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 4 {
		return nil, fmt.Errorf("avgpool2x grad: input %v is not NCHW", s)
	}
	return tensor.Shape{s[0], s[1], 2 * s[2], 2 * s[3]}, nil
}
func (o avgPoolGradOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o avgPoolGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	dy := denseOf(v[0])
	s := dy.Shape()
	dx := o.output(p, dy, tensor.Shape{s[0], s[1], 2 * s[2], 2 * s[3]})
	switch dy.Dtype() {
	case tensor.Float32:
		avgPool2xGrad(data[float32](dy), data[float32](dx), s[0]*s[1]*s[2], s[3])
	default:
		avgPool2xGrad(data[float64](dy), data[float64](dx), s[0]*s[1]*s[2], s[3])
	}
	return dx, nil
}

// avgPool2xGrad writes ¼ of each of rows input rows of width w twice, each
// element twice.
func avgPool2xGrad[T float](dy, dx []T, rows, w int) {
	parallelRange(rows, max(1, (1<<14)/(4*w)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src, dst := dy[r*w:(r+1)*w], dx[4*r*w:(4*r+2)*w]
			for j, v := range src {
				v *= 0.25
				dst[2*j], dst[2*j+1] = v, v
			}
			copy(dx[(4*r+2)*w:(4*r+4)*w], dst)
		}
	})
}

func (avgPoolGradOp) DiffWRT(int) []bool { return []bool{true} }
func (avgPoolGradOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(avgPoolOp{newOp("AvgPool2x")}, grad)
	return G.Nodes{d}, err
}
