package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AddChannelBias adds a per-sample, per-channel vector e (N, C) to every
// pixel of x (N, C, H, W), PyTorch's x + e[:, :, None, None]:
//
//	y[n,c,i,j] = x[n,c,i,j] + e[n,c],   dx = dy,   de[n,c] = Σ_{i,j} dy[n,c,i,j].
//
// Gorgonia's BroadcastAdd does the same through a repeat op that first
// materialises e at the full size of x, forward and backward.
func AddChannelBias(x, e *G.Node) (*G.Node, error) {
	y, err := G.ApplyOp(channelBiasOp{newOp("AddChannelBias")}, x, e)
	if err != nil {
		return nil, fmt.Errorf("add channel bias: %w", err)
	}
	return y, nil
}

// channelBiasOp: inputs x (N,C,H,W), e (N,C); output like x.
type channelBiasOp struct{ opBase }

func (channelBiasOp) Arity() int { return 2 }
func (channelBiasOp) Type() hmType {
	return fnType(tensorType(4), tensorType(2), tensorType(4))
}
func (channelBiasOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, e := shapeOf(in[0]), shapeOf(in[1])
	if len(x) != 4 || len(e) != 2 || x[0] != e[0] || x[1] != e[1] {
		return nil, fmt.Errorf("add channel bias: input %v and bias %v are not (N,C,H,W) and (N,C)", x, e)
	}
	return x, nil
}
func (o channelBiasOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o channelBiasOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, e := denseOf(v[0]), denseOf(v[1])
	y := o.output(p, x, x.Shape().Clone())
	s := x.Shape()
	switch x.Dtype() {
	case tensor.Float32:
		addChannelBias(data[float32](x), data[float32](e), data[float32](y), s[2]*s[3])
	default:
		addChannelBias(data[float64](x), data[float64](e), data[float64](y), s[2]*s[3])
	}
	return y, nil
}

// addChannelBias adds e[k] to the k-th plane of s pixels.
func addChannelBias[T float](x, e, y []T, s int) {
	for k, b := range e {
		dst := y[k*s : (k+1)*s]
		for i, v := range x[k*s : (k+1)*s] {
			dst[i] = v + b
		}
	}
}

func (channelBiasOp) DiffWRT(int) []bool { return []bool{true, true} }
func (channelBiasOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	de, err := G.ApplyOp(planeSumOp{newOp("PlaneSum")}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{grad, de}, nil
}

// planeSumOp sums each (H, W) plane: (N,C,H,W) → (N,C). It avoids
// Gorgonia's Sum over axes 2 and 3, which is wrong for such tensors (tensor
// v0.9.24's reduction over a middle axis steps by the wrong stride).
type planeSumOp struct{ opBase }

func (planeSumOp) Arity() int   { return 1 }
func (planeSumOp) Type() hmType { return fnType(tensorType(4), tensorType(2)) }
func (planeSumOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 4 {
		return nil, fmt.Errorf("plane sum: input %v is not NCHW", s)
	}
	return tensor.Shape{s[0], s[1]}, nil
}
func (o planeSumOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o planeSumOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	dy := denseOf(v[0])
	s := dy.Shape()
	r := o.output(p, dy, tensor.Shape{s[0], s[1]})
	switch dy.Dtype() {
	case tensor.Float32:
		planeSum(data[float32](dy), data[float32](r), s[2]*s[3])
	default:
		planeSum(data[float64](dy), data[float64](r), s[2]*s[3])
	}
	return r, nil
}

func planeSum[T float](dy, r []T, s int) {
	for k := range r {
		sum := T(0)
		for _, v := range dy[k*s : (k+1)*s] {
			sum += v
		}
		r[k] = sum
	}
}
