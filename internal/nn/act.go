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
func ReLU(x *G.Node) (*G.Node, error) { return applyAct(actOp{newOp("ReLU"), actReLU, 0}, x) }

// LeakyReLU is x for x > 0 and alpha·x otherwise, as one fused op
// (Gorgonia's LeakyRelu is two compares, three products and an add).
func LeakyReLU(x *G.Node, alpha float64) (*G.Node, error) {
	return applyAct(actOp{newOp(fmt.Sprintf("LeakyReLU(%g)", alpha)), actLeakyReLU, alpha}, x)
}

// SiLU is x·σ(x) with σ(x) = 1/(1+e^−x), as one fused op.
func SiLU(x *G.Node) (*G.Node, error) { return applyAct(actOp{newOp("SiLU"), actSiLU, 0}, x) }

// Sigmoid is 1/(1+e^−x) as one fused, parallel op (Gorgonia's runs on one
// core and was a seventh of the VAE's sampling time).
func Sigmoid(x *G.Node) (*G.Node, error) {
	return applyAct(actOp{newOp("Sigmoid"), actSigmoid, 0}, x)
}

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
	actSigmoid
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
	y := o.output(p, x, x.Shape().Clone())
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
	if x32, ok := any(x).([]float32); ok {
		y32, a32 := any(y).([]float32), float32(alpha)
		parallelChunks(len(x), func(lo, hi int) { actForward32(kind, a32, x32[lo:hi], y32[lo:hi]) })
		return
	}
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
		if x32, ok := any(x).([]float32); ok {
			y32 := any(y).([]float32)
			for i, v := range x32 {
				y32[i] = v / (1 + exp32(-v))
			}
			return
		}
		for i, v := range x {
			y[i] = T(float64(v) / (1 + math.Exp(-float64(v))))
		}
	case actSigmoid:
		if x32, ok := any(x).([]float32); ok {
			y32 := any(y).([]float32)
			for i, v := range x32 {
				y32[i] = 1 / (1 + exp32(-v))
			}
			return
		}
		for i, v := range x {
			y[i] = T(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

func (actOp) DiffWRT(int) []bool { return []bool{true} }
func (o actOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(actGradOp{newOp(o.name + "Grad"), o.kind, o.alpha}, in[0], grad)
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
	dx := o.output(p, x, x.Shape().Clone())
	switch x.Dtype() {
	case tensor.Float32:
		actBackward(o.kind, float32(o.alpha), data[float32](x), data[float32](dy), data[float32](dx))
	default:
		actBackward(o.kind, o.alpha, data[float64](x), data[float64](dy), data[float64](dx))
	}
	return dx, nil
}

// dx = dy·f'(x) is linear in dy, so its derivative along dy is the same op
// on the incoming gradient: what double backpropagation (GradPenalty) needs.
// ReLU's and LeakyReLU's f' is piecewise constant, so the derivative in x is
// zero wherever it exists, and x is marked not differentiable. SiLU's and
// Sigmoid's second derivative is not implemented: differentiating their dx
// is an error.
func (o actGradOp) DiffWRT(int) []bool { return []bool{o.curved(), true} }
func (o actGradOp) curved() bool       { return o.kind == actSiLU || o.kind == actSigmoid }
func (o actGradOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if o.curved() {
		return nil, fmt.Errorf("%s: the second derivative is not implemented", o.name)
	}
	d, err := G.ApplyOp(actGradOp{newOp(o.name), o.kind, o.alpha}, in[0], grad)
	return G.Nodes{nil, d}, err
}

func actBackward[T float](kind actKind, alpha T, x, dy, dx []T) {
	if x32, ok := any(x).([]float32); ok {
		dy32, dx32, a32 := any(dy).([]float32), any(dx).([]float32), float32(alpha)
		parallelChunks(len(x), func(lo, hi int) { actBackward32(kind, a32, x32[lo:hi], dy32[lo:hi], dx32[lo:hi]) })
		return
	}
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
		if x32, ok := any(x).([]float32); ok {
			dy32, dx32 := any(dy).([]float32), any(dx).([]float32)
			for i, v := range x32 {
				s := 1 / (1 + exp32(-v))
				dx32[i] = dy32[i] * s * (1 + v*(1-s))
			}
			return
		}
		for i, v := range x {
			xv := float64(v)
			s := 1 / (1 + math.Exp(-xv))
			dx[i] = T(float64(dy[i]) * s * (1 + xv*(1-s)))
		}
	case actSigmoid:
		if x32, ok := any(x).([]float32); ok {
			dy32, dx32 := any(dy).([]float32), any(dx).([]float32)
			for i, v := range x32 {
				s := 1 / (1 + exp32(-v))
				dx32[i] = dy32[i] * s * (1 - s)
			}
			return
		}
		for i, v := range x {
			s := 1 / (1 + math.Exp(-float64(v)))
			dx[i] = T(float64(dy[i]) * s * (1 - s))
		}
	}
}

// exp32 is e^x in float32 to within 3e-7 relative error (a few float32
// ulps), at about 0.6x the cost of converting to float64 for math.Exp:
// SiLU was a third of a DDPM network evaluation. x = k·ln2 + r with
// |r| ≤ ln2/2 (ln2 split in two for an exact reduction), e^r by its degree-6
// Taylor polynomial, 2^k written into the exponent bits. The float64 kernels
// keep math.Exp, which the gradient checks need.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
		round = 12582912.0 // 1.5·2^23: adding and subtracting it rounds to an integer
	)
	x = min(max(x, -87), 87) // e^±87 stays a normal float32
	t := x*log2e + round     // k in the low mantissa bits
	k := t - round
	r := (x - k*ln2hi) - k*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits((math.Float32bits(t)-0x4B400000+127)<<23)
}
