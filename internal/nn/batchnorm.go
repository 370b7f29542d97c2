package nn

import (
	"fmt"
	"math"
	"sync/atomic"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BatchNorm normalises each channel of x (B, C, *) — (B,C) or NCHW — as
// PyTorch's BatchNorm1d/2d:
//
//	y = γ_c · (x − μ_c) / √(σ²_c + ε) + β_c
//
// with μ, σ² the batch mean and biased batch variance over (B, *) in
// training mode, and the running statistics in eval mode. Gorgonia's
// BatchNorm is not used: its SetTraining resets the running statistics,
// and every NewTapeMachine calls it (gorgonia v0.9.18).
type BatchNorm struct {
	Gamma, Beta *Param // prefix.weight (ones), prefix.bias (zeros)
	// RunningMean and RunningVar (C) hold the statistics used in eval mode,
	// in the parameters' dtype: running ← (1−m)·running + m·batch, with the
	// unbiased batch variance for RunningVar, as PyTorch.
	RunningMean, RunningVar *tensor.Dense
	C                       int
	Momentum, Eps           float64
	prefix                  string
	id                      uint64
}

// batchNormInstances numbers BatchNorm layers; the number is in each op's
// hash, since the op carries state.
var batchNormInstances atomic.Uint64

// NewBatchNorm creates a layer over c channels with PyTorch's defaults:
// γ = 1, β = 0, running mean 0 and variance 1, momentum 0.1, ε = 1e-5.
func NewBatchNorm(ps *Params, prefix string, c int) *BatchNorm {
	b := &BatchNorm{
		Gamma:       ps.Constant(prefix+".weight", []int{c}, 1),
		Beta:        ps.Constant(prefix+".bias", []int{c}, 0),
		RunningMean: tensor.New(tensor.Of(ps.Dtype), tensor.WithShape(c)),
		RunningVar:  tensor.New(tensor.Of(ps.Dtype), tensor.WithShape(c)),
		C:           c, Momentum: 0.1, Eps: 1e-5,
		prefix: prefix, id: batchNormInstances.Add(1),
	}
	ones := make([]float64, c)
	for i := range ones {
		ones[i] = 1
	}
	setFloats(b.RunningVar, ones)
	return b
}

// Buffers returns the running statistics as named tensors,
// prefix.running_mean and prefix.running_var (PyTorch's state_dict names),
// for checkpoints. They are not learnable: keep them out of any optimizer.
func (b *BatchNorm) Buffers() []*Param {
	return []*Param{
		{Name: b.prefix + ".running_mean", Value: b.RunningMean},
		{Name: b.prefix + ".running_var", Value: b.RunningVar},
	}
}

// Apply adds the layer to graph g on x (B, C, *). training selects batch
// statistics; updateStats (training only) makes every forward run of this
// node move the running statistics, so when several graphs run the layer
// on one step exactly one of them should set it.
func (b *BatchNorm) Apply(g *G.ExprGraph, x *G.Node, training, updateStats bool) (*G.Node, error) {
	y, err := b.apply(x, b.Gamma.Node(g), b.Beta.Node(g), training, updateStats)
	if err != nil {
		return nil, fmt.Errorf("batchnorm %s: %w", b.prefix, err)
	}
	return y, nil
}

func (b *BatchNorm) apply(x, gamma, beta *G.Node, training, updateStats bool) (*G.Node, error) {
	if s := x.Shape(); len(s) < 2 || len(s) > 4 || s[1] != b.C {
		return nil, fmt.Errorf("input %v is not (B, %d, *)", s, b.C)
	}
	op := bnOp{newOp(fmt.Sprintf("BatchNorm#%d(training=%t,update=%t)", b.id, training, updateStats && training)),
		b, x.Dims(), training, updateStats && training}
	return G.ApplyOp(op, x, gamma, beta)
}

// bnOp: inputs x (B,C,*), γ (C), β (C); output like x. Its forward run
// updates b's running statistics when updateStats is set.
type bnOp struct {
	opBase
	bn          *BatchNorm
	dims        int
	training    bool
	updateStats bool
}

func (bnOp) Arity() int { return 3 }
func (o bnOp) Type() hmType {
	return fnType(tensorType(o.dims), tensorType(1), tensorType(1), tensorType(o.dims))
}
func (o bnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x := shapeOf(in[0])
	if len(x) < 2 || !shapeOf(in[1]).Eq(tensor.Shape{x[1]}) || !shapeOf(in[2]).Eq(tensor.Shape{x[1]}) {
		return nil, fmt.Errorf("batchnorm: input %v, γ %v, β %v", x, in[1], in[2])
	}
	if o.training && x.TotalSize()/x[1] < 2 {
		return nil, fmt.Errorf("batchnorm: training needs more than one value per channel, input %v", x)
	}
	return x, nil
}
func (o bnOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o bnOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, gamma, beta := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	y := o.output(p, x, x.Shape().Clone())
	b, c, s := channelView(x.Shape())
	mean, variance, invStd := bnStats(o.bn, o.training, x.Data(), b, c, s)
	switch x.Dtype() {
	case tensor.Float32:
		normAffine(data[float32](x), data[float32](gamma), data[float32](beta), data[float32](y), mean, invStd, b, c, s, 0, 1)
	default:
		normAffine(data[float64](x), data[float64](gamma), data[float64](beta), data[float64](y), mean, invStd, b, c, s, 0, 1)
	}
	if o.updateStats {
		o.bn.update(mean, variance, b*s)
	}
	return y, nil
}

// bnStats returns, per channel, the mean, variance and 1/√(σ²+ε) that
// normalise x: the batch's (biased variance) in training mode, the running
// ones in eval mode.
func bnStats(bn *BatchNorm, training bool, x any, b, c, s int) (mean, variance, invStd []float64) {
	if training {
		switch x := x.(type) {
		case []float32:
			mean, variance = moments(x, b, c, s)
		case []float64:
			mean, variance = moments(x, b, c, s)
		}
	} else {
		mean, variance = floats(bn.RunningMean), floats(bn.RunningVar)
	}
	invStd = make([]float64, c)
	for i, v := range variance {
		invStd[i] = 1 / math.Sqrt(v+bn.Eps)
	}
	return mean, variance, invStd
}

// update moves the running statistics towards the batch's mean and
// biased variance σ² over m values, storing the unbiased σ²·m/(m−1) as PyTorch.
func (bn *BatchNorm) update(mean, variance []float64, m int) {
	rm, rv := floats(bn.RunningMean), floats(bn.RunningVar)
	mo, unbias := bn.Momentum, float64(m)/float64(m-1)
	for c := range rm {
		rm[c] = (1-mo)*rm[c] + mo*mean[c]
		rv[c] = (1-mo)*rv[c] + mo*variance[c]*unbias
	}
	setFloats(bn.RunningMean, rm)
	setFloats(bn.RunningVar, rv)
}

func (bnOp) DiffWRT(int) []bool { return []bool{true, true, true} }
func (o bnOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	var d G.Nodes
	for wrt, name := range []string{"X", "Gamma", "Beta"} {
		op := bnGradOp{newOp(fmt.Sprintf("BatchNormGrad%s#%d(training=%t)", name, o.bn.id, o.training)), o.bn, o.dims, o.training, wrt}
		n, err := G.ApplyOp(op, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		d = append(d, n)
	}
	return d, nil
}

// bnGradOp computes one gradient from (x, γ, dy), with x̂ = (x−μ)/σ, sums
// over (B, *) per channel and m their count:
//
//	training: dx = γ/σ · (dy − Σdy/m − x̂·Σ(dy·x̂)/m)
//	eval:     dx = γ/σ · dy
//	dγ = Σ dy·x̂,  dβ = Σ dy.
//
// The batch statistics are recomputed from x rather than kept from the
// forward run, so the op holds no per-step state.
type bnGradOp struct {
	opBase
	bn       *BatchNorm
	dims     int
	training bool
	wrt      int
}

func (bnGradOp) Arity() int { return 3 }
func (o bnGradOp) Type() hmType {
	if o.wrt == 0 {
		return fnType(tensorType(o.dims), tensorType(1), tensorType(o.dims), tensorType(o.dims))
	}
	return fnType(tensorType(o.dims), tensorType(1), tensorType(o.dims), tensorType(1))
}
func (o bnGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if o.wrt == 0 {
		return shapeOf(in[0]), nil
	}
	return shapeOf(in[1]), nil
}
func (o bnGradOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o bnGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, gamma, dy := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	shape := gamma.Shape()
	if o.wrt == 0 {
		shape = x.Shape()
	}
	r := o.output(p, x, shape.Clone())
	b, c, s := channelView(x.Shape())
	var mean, invStd []float64
	if o.wrt != 2 {
		mean, _, invStd = bnStats(o.bn, o.training, x.Data(), b, c, s)
	}
	switch x.Dtype() {
	case tensor.Float32:
		bnBackward(o.wrt, o.training, data[float32](x), data[float32](gamma), data[float32](dy), data[float32](r), mean, invStd, b, c, s)
	default:
		bnBackward(o.wrt, o.training, data[float64](x), data[float64](gamma), data[float64](dy), data[float64](r), mean, invStd, b, c, s)
	}
	return r, nil
}

func bnBackward[T float](wrt int, training bool, x, gamma, dy, r []T, mean, invStd []float64, b, c, s int) {
	if wrt == 0 && !training {
		for n := 0; n < b; n++ {
			for ch := 0; ch < c; ch++ {
				k := T(float64(gamma[ch]) * invStd[ch])
				off := (n*c + ch) * s
				for i, d := range dy[off : off+s] {
					r[off+i] = k * d
				}
			}
		}
		return
	}
	sumDy, sumDyXhat := make([]float64, c), make([]float64, c)
	for n := 0; n < b; n++ {
		for ch := 0; ch < c; ch++ {
			off := (n*c + ch) * s
			sd, sdx := 0.0, 0.0
			for i, d := range dy[off : off+s] {
				sd += float64(d)
				if wrt != 2 {
					sdx += float64(d) * (float64(x[off+i]) - mean[ch])
				}
			}
			sumDy[ch] += sd
			if wrt != 2 {
				sumDyXhat[ch] += sdx * invStd[ch]
			}
		}
	}
	switch wrt {
	case 1:
		for ch := range r {
			r[ch] = T(sumDyXhat[ch])
		}
	case 2:
		for ch := range r {
			r[ch] = T(sumDy[ch])
		}
	default:
		m := float64(b * s)
		for n := 0; n < b; n++ {
			for ch := 0; ch < c; ch++ {
				k, mu, is := float64(gamma[ch])*invStd[ch], mean[ch], invStd[ch]
				md, mdx := sumDy[ch]/m, sumDyXhat[ch]/m
				off := (n*c + ch) * s
				for i, d := range dy[off : off+s] {
					xhat := (float64(x[off+i]) - mu) * is
					r[off+i] = T(k * (float64(d) - md - xhat*mdx))
				}
			}
		}
	}
}
