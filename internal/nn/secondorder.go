package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file gives the gradient ops of the linear layers' plumbing (channel
// bias, plane sums, channel concatenation, upsampling) the derivatives that
// double backpropagation (GradPenalty) needs. Each of these ops is linear in
// its input, so its derivative is its adjoint, another op of the same kind:
// plane sum ↔ plane broadcast, channel slice ↔ channel pad, 2×2 sum-pool ↔
// nearest ×2 upsample.

// SumSpatial sums each (H, W) plane of x (N, C, H, W) into (N, C), the
// global sum pooling of a discriminator's head:
//
//	y[n,c] = Σ_{i,j} x[n,c,i,j],   dx[n,c,i,j] = dy[n,c].
//
// Gorgonia's Sum over axes 2 and 3 is wrong for such tensors (its strided
// reduction skips rows when H > 2 and C > 1).
func SumSpatial(x *G.Node) (*G.Node, error) {
	y, err := G.ApplyOp(planeSumOp{newOp("PlaneSum")}, x)
	if err != nil {
		return nil, fmt.Errorf("sum over space: %w", err)
	}
	return y, nil
}

func (planeSumOp) DiffWRT(int) []bool { return []bool{true} }
func (planeSumOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	s := in[0].Shape()
	d, err := G.ApplyOp(newPlaneBroadcastOp(s[2], s[3]), grad)
	return G.Nodes{d}, err
}

// planeBroadcastOp repeats each value of dy (N,C) over an (h, w) plane:
// (N,C) → (N,C,h,w), the adjoint of planeSumOp.
type planeBroadcastOp struct {
	opBase
	h, w int
}

func newPlaneBroadcastOp(h, w int) planeBroadcastOp {
	return planeBroadcastOp{newOp(fmt.Sprintf("PlaneBroadcast(%d,%d)", h, w)), h, w}
}

func (planeBroadcastOp) Arity() int   { return 1 }
func (planeBroadcastOp) Type() hmType { return fnType(tensorType(2), tensorType(4)) }
func (o planeBroadcastOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 2 {
		return nil, fmt.Errorf("plane broadcast: input %v is not (N, C)", s)
	}
	return tensor.Shape{s[0], s[1], o.h, o.w}, nil
}
func (o planeBroadcastOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o planeBroadcastOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	dy := denseOf(v[0])
	s := dy.Shape()
	r := o.output(p, dy, tensor.Shape{s[0], s[1], o.h, o.w})
	switch dy.Dtype() {
	case tensor.Float32:
		planeBroadcast(data[float32](dy), data[float32](r), o.h*o.w)
	default:
		planeBroadcast(data[float64](dy), data[float64](r), o.h*o.w)
	}
	return r, nil
}

func planeBroadcast[T float](dy, r []T, s int) {
	for k, v := range dy {
		plane := r[k*s : (k+1)*s]
		for i := range plane {
			plane[i] = v
		}
	}
}

func (planeBroadcastOp) DiffWRT(int) []bool { return []bool{true} }
func (planeBroadcastOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(planeSumOp{newOp("PlaneSum")}, grad)
	return G.Nodes{d}, err
}

func (channelSliceOp) DiffWRT(int) []bool { return []bool{true} }
func (o channelSliceOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(newChannelPadOp(o.lo, o.hi, in[0].Shape()[1]), grad)
	return G.Nodes{d}, err
}

// channelPadOp places x (N, hi−lo, H, W) at channels [lo, hi) of a zero
// (N, c, H, W) tensor, the adjoint of channelSliceOp.
type channelPadOp struct {
	opBase
	lo, hi, c int
}

func newChannelPadOp(lo, hi, c int) channelPadOp {
	return channelPadOp{newOp(fmt.Sprintf("ChannelPad(%d:%d of %d)", lo, hi, c)), lo, hi, c}
}

func (channelPadOp) Arity() int   { return 1 }
func (channelPadOp) Type() hmType { return fnType(tensorType(4), tensorType(4)) }
func (o channelPadOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 4 || s[1] != o.hi-o.lo || o.hi > o.c {
		return nil, fmt.Errorf("channel pad %d:%d of %d: input %v", o.lo, o.hi, o.c, s)
	}
	return tensor.Shape{s[0], o.c, s[2], s[3]}, nil
}
func (o channelPadOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o channelPadOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	s := x.Shape()
	y := o.output(p, x, tensor.Shape{s[0], o.c, s[2], s[3]})
	hw := s[2] * s[3]
	switch x.Dtype() {
	case tensor.Float32:
		padRows(data[float32](y), data[float32](x), s[0], o.c*hw, o.lo*hw, o.hi*hw)
	default:
		padRows(data[float64](y), data[float64](x), s[0], o.c*hw, o.lo*hw, o.hi*hw)
	}
	return y, nil
}

// padRows writes each of n rows of x into elements [lo, hi) of a row of
// width w of y, and zeros around it.
func padRows[T float](y, x []T, n, w, lo, hi int) {
	for i := 0; i < n; i++ {
		row := y[i*w : (i+1)*w]
		clear(row[:lo])
		copy(row[lo:hi], x[i*(hi-lo):(i+1)*(hi-lo)])
		clear(row[hi:])
	}
}

func (channelPadOp) DiffWRT(int) []bool { return []bool{true} }
func (o channelPadOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(channelSliceOp{newOp(fmt.Sprintf("ChannelSlice(%d:%d)", o.lo, o.hi)), o.lo, o.hi}, grad)
	return G.Nodes{d}, err
}

func (upsampleGradOp) DiffWRT(int) []bool { return []bool{true} }
func (upsampleGradOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(upsampleOp{newOp("Upsample2x")}, grad)
	return G.Nodes{d}, err
}
