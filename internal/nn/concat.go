package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConcatChannels joins a (N, Ca, H, W) and b (N, Cb, H, W) along the
// channel axis, torch.cat([a, b], 1):
//
//	y[n, :Ca] = a[n],  y[n, Ca:] = b[n],   da = dy[:, :Ca],  db = dy[:, Ca:].
//
// Each sample is two contiguous copies. Gorgonia's Concat does the same
// through element iterators, and its gradient through Slice views that are
// copied element by element again.
func ConcatChannels(a, b *G.Node) (*G.Node, error) {
	y, err := G.ApplyOp(concatChannelsOp{newOp("ConcatChannels")}, a, b)
	if err != nil {
		return nil, fmt.Errorf("concat channels: %w", err)
	}
	return y, nil
}

// concatChannelsOp: inputs a (N,Ca,H,W), b (N,Cb,H,W); output (N,Ca+Cb,H,W).
type concatChannelsOp struct{ opBase }

func (concatChannelsOp) Arity() int { return 2 }
func (concatChannelsOp) Type() hmType {
	return fnType(tensorType(4), tensorType(4), tensorType(4))
}
func (concatChannelsOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	a, b := shapeOf(in[0]), shapeOf(in[1])
	if len(a) != 4 || len(b) != 4 || a[0] != b[0] || a[2] != b[2] || a[3] != b[3] {
		return nil, fmt.Errorf("concat channels: %v and %v are not NCHW of one batch and size", a, b)
	}
	return tensor.Shape{a[0], a[1] + b[1], a[2], a[3]}, nil
}
func (o concatChannelsOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o concatChannelsOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	a, b := denseOf(v[0]), denseOf(v[1])
	sa, sb := a.Shape(), b.Shape()
	y := o.output(p, a, tensor.Shape{sa[0], sa[1] + sb[1], sa[2], sa[3]})
	n := sa[0]
	switch a.Dtype() {
	case tensor.Float32:
		concatRows(data[float32](y), data[float32](a), data[float32](b), n)
	default:
		concatRows(data[float64](y), data[float64](a), data[float64](b), n)
	}
	return y, nil
}

// concatRows writes, for each of n samples, a's row then b's row into y.
func concatRows[T float](y, a, b []T, n int) {
	ra, rb := len(a)/n, len(b)/n
	for i := 0; i < n; i++ {
		copy(y[i*(ra+rb):], a[i*ra:(i+1)*ra])
		copy(y[i*(ra+rb)+ra:], b[i*rb:(i+1)*rb])
	}
}

func (concatChannelsOp) DiffWRT(int) []bool { return []bool{true, true} }
func (concatChannelsOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	ca, cb := in[0].Shape()[1], in[1].Shape()[1]
	da, err := G.ApplyOp(channelSliceOp{newOp(fmt.Sprintf("ChannelSlice(%d:%d)", 0, ca)), 0, ca}, grad)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(channelSliceOp{newOp(fmt.Sprintf("ChannelSlice(%d:%d)", ca, ca+cb)), ca, ca + cb}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{da, db}, nil
}

// channelSliceOp copies channels [lo, hi) of x (N,C,H,W): (N, hi−lo, H, W).
type channelSliceOp struct {
	opBase
	lo, hi int
}

func (channelSliceOp) Arity() int   { return 1 }
func (channelSliceOp) Type() hmType { return fnType(tensorType(4), tensorType(4)) }
func (o channelSliceOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 4 || o.hi > s[1] {
		return nil, fmt.Errorf("channel slice %d:%d of %v", o.lo, o.hi, s)
	}
	return tensor.Shape{s[0], o.hi - o.lo, s[2], s[3]}, nil
}
func (o channelSliceOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o channelSliceOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	s := x.Shape()
	y := o.output(p, x, tensor.Shape{s[0], o.hi - o.lo, s[2], s[3]})
	hw := s[2] * s[3]
	switch x.Dtype() {
	case tensor.Float32:
		sliceRows(data[float32](y), data[float32](x), s[0], s[1]*hw, o.lo*hw, o.hi*hw)
	default:
		sliceRows(data[float64](y), data[float64](x), s[0], s[1]*hw, o.lo*hw, o.hi*hw)
	}
	return y, nil
}

// sliceRows copies elements [lo, hi) of each of n rows of width w.
func sliceRows[T float](y, x []T, n, w, lo, hi int) {
	for i := 0; i < n; i++ {
		copy(y[i*(hi-lo):(i+1)*(hi-lo)], x[i*w+lo:i*w+hi])
	}
}
