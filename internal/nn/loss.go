package nn

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BernoulliNLL is the summed negative log-likelihood of binary (or [0,1])
// targets x under Bernoulli(sigmoid(logits)):
//
//	Σ softplus(l) − x·l,   d/dl = sigmoid(l) − x.
//
// One fused op instead of Softplus, HadamardProd, Sub and Sum: four fewer
// full-size intermediates per step. x is data: it gets no gradient.
func BernoulliNLL(logits, x *G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(bernoulliOp{newOp("BernoulliNLL")}, logits, x)
	if err != nil {
		return nil, fmt.Errorf("bernoulli nll: %w", err)
	}
	return n, nil
}

type bernoulliOp struct{ opBase }

func (bernoulliOp) Arity() int { return 2 }
func (bernoulliOp) Type() hmType {
	return fnType(tensorType(2), tensorType(2), hm.TypeVariable('a'))
}
func (bernoulliOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if a, b := shapeOf(in[0]), shapeOf(in[1]); !a.Eq(b) {
		return nil, fmt.Errorf("bernoulli nll: logits %v and targets %v differ", a, b)
	}
	return tensor.ScalarShape(), nil
}
func (bernoulliOp) Do(v ...G.Value) (G.Value, error) {
	l, x := denseOf(v[0]), denseOf(v[1])
	if l.Dtype() == tensor.Float32 {
		return G.NewF32(float32(bernoulliSum(data[float32](l), data[float32](x)))), nil
	}
	return G.NewF64(bernoulliSum(data[float64](l), data[float64](x))), nil
}

// bernoulliSum accumulates in float64 so the loss of a 100k-pixel batch does
// not lose digits in float32.
// It is split into fixedParts partial sums, computed in parallel and added in
// order, so the loss is the same on any number of cores.
func bernoulliSum[T float](l, x []T) float64 {
	parts := min(len(l), fixedParts)
	if len(l) < 1<<14 {
		parts = 1
	}
	partial := make([]float64, parts)
	parallelRange(parts, 1, func(plo, phi int) {
		for part := plo; part < phi; part++ {
			lo, hi := partBounds(len(l), parts, part)
			if l32, ok := any(l[lo:hi]).([]float32); ok {
				partial[part] = bernoulliSum32(l32, any(x[lo:hi]).([]float32))
				continue
			}
			s := 0.0
			for i, li := range l[lo:hi] {
				v := float64(li)
				s += softplus(v) - float64(x[lo+i])*v
			}
			partial[part] = s
		}
	})
	s := 0.0
	for _, p := range partial {
		s += p
	}
	return s
}

// softplus(v) = log(1+e^v), computed without overflow.
func softplus(v float64) float64 {
	if v > 0 {
		return v + math.Log1p(math.Exp(-v))
	}
	return math.Log1p(math.Exp(v))
}

// bernoulliSumRange is Σ softplus32(l) − x·l in 8 float64 lanes (element i
// in lane i mod 8) folded in a fixed order; native.c has its twin.
func bernoulliSumRange(l, x []float32) float64 {
	var a [lanes]float64
	x = x[:len(l)]
	i := 0
	for ; i+lanes <= len(l); i += lanes {
		for k, v := range l[i : i+lanes] {
			a[k] += softplus32(v) - float64(x[i+k])*float64(v)
		}
	}
	for k, v := range l[i:] {
		a[k] += softplus32(v) - float64(x[i+k])*float64(v)
	}
	return laneFold(&a)
}

// bernoulliGradRange writes r = g·(σ(l) − x); native.c has its twin.
func bernoulliGradRange(l, x, r []float32, g float32) {
	x, r = x[:len(l)], r[:len(l)]
	for i, li := range l {
		r[i] = g * (1/(1+exp32(-li)) - x[i])
	}
}

// softplus32 is softplus of a float32 logit, to float32 accuracy (within
// 2e-7 of softplus): e = exp32(−|v|), then log1p(e) = 2·atanh(s) =
// 2(s + s³/3 + … + s¹⁷/17) with s = e/(2+e) ≤ 1/3, whose first dropped term
// is below 1e-10. About 5 ns against 27 for math.Log1p(math.Exp(·)): the
// VAE's loss takes 100k of them a step, a tenth of the step before.
func softplus32(v float32) float64 {
	a := v
	if a > 0 {
		a = -a
	}
	e := float64(exp32(a))
	t := e / (2 + e)
	t2 := t * t
	r := 2 * t * (1 + t2*(1.0/3+t2*(1.0/5+t2*(1.0/7+t2*(1.0/9+t2*(1.0/11+t2*(1.0/13+t2*(1.0/15+t2/17))))))))
	if v > 0 {
		r += float64(v)
	}
	return r
}

func (bernoulliOp) DiffWRT(int) []bool { return []bool{true, false} }
func (bernoulliOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(bernoulliGradOp{newOp("BernoulliNLLGrad")}, in[0], in[1], grad)
	return G.Nodes{d, nil}, err
}

type bernoulliGradOp struct{ opBase }

func (bernoulliGradOp) Arity() int { return 3 }
func (bernoulliGradOp) Type() hmType {
	return fnType(tensorType(2), tensorType(2), hm.TypeVariable('a'), tensorType(2))
}
func (bernoulliGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }
func (o bernoulliGradOp) Do(v ...G.Value) (G.Value, error)                { return o.UsePreallocDo(nil, v...) }
func (o bernoulliGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	l, x := denseOf(v[0]), denseOf(v[1])
	r := o.output(p, l, l.Shape().Clone())
	switch g := v[2].Data().(type) {
	case float32:
		bernoulliGrad(data[float32](l), data[float32](x), data[float32](r), g)
	case float64:
		bernoulliGrad(data[float64](l), data[float64](x), data[float64](r), g)
	default:
		return nil, fmt.Errorf("bernoulli nll grad: unexpected upstream gradient %T", g)
	}
	return r, nil
}

func bernoulliGrad[T float](l, x, r []T, g T) {
	parallelChunks(len(l), func(lo, hi int) {
		if l32, ok := any(l[lo:hi]).([]float32); ok {
			bernoulliGrad32(l32, any(x[lo:hi]).([]float32), any(r[lo:hi]).([]float32), any(g).(float32))
			return
		}
		for i, li := range l[lo:hi] {
			r[lo+i] = g * (T(1/(1+math.Exp(-float64(li)))) - x[lo+i])
		}
	})
}
