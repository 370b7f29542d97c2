package nn

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ReLU is max(x, 0) as one fused op of any rank (Gorgonia's Rectify builds a
// comparison tensor first).
func ReLU(x *G.Node) (*G.Node, error) { return applyAct(actOp{opBase{"ReLU"}, actReLU, 0}, x) }

// LeakyReLU is x for x > 0 and alpha·x otherwise, as one fused op
// (Gorgonia's LeakyRelu is two compares, three products and an add).
func LeakyReLU(x *G.Node, alpha float64) (*G.Node, error) {
	return applyAct(actOp{opBase{fmt.Sprintf("LeakyReLU(%g)", alpha)}, actLeakyReLU, alpha}, x)
}

// SiLU is x·σ(x) with σ(x) = 1/(1+e^−x), as one fused op.
func SiLU(x *G.Node) (*G.Node, error) { return applyAct(actOp{opBase{"SiLU"}, actSiLU, 0}, x) }

func applyAct(op actOp, x *G.Node) (*G.Node, error) {
	y, err := G.ApplyOp(op, x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op.name, err)
	}
	return y, nil
}

type actKind int

const (
	actReLU actKind = iota
	actLeakyReLU
	actSiLU
)

// actOp is an elementwise activation; its name carries kind and alpha, so
// the hash does too.
type actOp struct {
	opBase
	kind  actKind
	alpha float64
}

func (actOp) Arity() int { return 1 }
func (actOp) Type() hmType {
	a := hm.TypeVariable('a')
	return fnType(a, a)
}
func (actOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }
func (o actOp) Do(v ...G.Value) (G.Value, error)                { return o.UsePreallocDo(nil, v...) }
func (o actOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	if x == nil {
		return nil, fmt.Errorf("%s: input %T is not a dense tensor", o.name, v[0])
	}
	y := output(p, x, x.Shape().Clone())
	switch x.Dtype() {
	case tensor.Float32:
		actForward(o.kind, float32(o.alpha), data[float32](x), data[float32](y))
	default:
		actForward(o.kind, o.alpha, data[float64](x), data[float64](y))
	}
	return y, nil
}

// actForward and actBackward are element-wise, so they split the tensor
// over goroutines.
func actForward[T float](kind actKind, alpha T, x, y []T) {
	parallelChunks(len(x), func(lo, hi int) { actForwardRange(kind, alpha, x[lo:hi], y[lo:hi]) })
}

func actForwardRange[T float](kind actKind, alpha T, x, y []T) {
	switch kind {
	case actReLU:
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case actLeakyReLU:
		for i, v := range x {
			if v > 0 {
				y[i] = v
			} else {
				y[i] = alpha * v
			}
		}
	case actSiLU:
		for i, v := range x {
			y[i] = T(float64(v) / (1 + math.Exp(-float64(v))))
		}
	}
}

func (actOp) DiffWRT(int) []bool { return []bool{true} }
func (o actOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(actGradOp{opBase{o.name + "Grad"}, o.kind, o.alpha}, in[0], grad)
	return G.Nodes{d}, err
}

// actGradOp computes dx from (x, dy):
// ReLU dy·[x>0], LeakyReLU dy·(x>0 ? 1 : alpha), SiLU dy·σ(x)·(1 + x·(1−σ(x))).
type actGradOp struct {
	opBase
	kind  actKind
	alpha float64
}

func (actGradOp) Arity() int { return 2 }
func (actGradOp) Type() hmType {
	a := hm.TypeVariable('a')
	return fnType(a, a, a)
}
func (actGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }
func (o actGradOp) Do(v ...G.Value) (G.Value, error)                { return o.UsePreallocDo(nil, v...) }
func (o actGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, dy := denseOf(v[0]), denseOf(v[1])
	if x == nil || dy == nil {
		return nil, fmt.Errorf("%s: inputs %T, %T are not dense tensors", o.name, v[0], v[1])
	}
	dx := output(p, x, x.Shape().Clone())
	switch x.Dtype() {
	case tensor.Float32:
		actBackward(o.kind, float32(o.alpha), data[float32](x), data[float32](dy), data[float32](dx))
	default:
		actBackward(o.kind, o.alpha, data[float64](x), data[float64](dy), data[float64](dx))
	}
	return dx, nil
}

func actBackward[T float](kind actKind, alpha T, x, dy, dx []T) {
	parallelChunks(len(x), func(lo, hi int) { actBackwardRange(kind, alpha, x[lo:hi], dy[lo:hi], dx[lo:hi]) })
}

func actBackwardRange[T float](kind actKind, alpha T, x, dy, dx []T) {
	switch kind {
	case actReLU:
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = 0
			}
		}
	case actLeakyReLU:
		for i, v := range x {
			if v > 0 {
				dx[i] = dy[i]
			} else {
				dx[i] = alpha * dy[i]
			}
		}
	case actSiLU:
		for i, v := range x {
			xv := float64(v)
			s := 1 / (1 + math.Exp(-xv))
			dx[i] = T(float64(dy[i]) * s * (1 + xv*(1-s)))
		}
	}
}
