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

// GroupNorm normalises x (N, C, *) over each group of C/groups channels of
// each sample, as PyTorch's GroupNorm:
//
//	y = γ_c · (x − μ_{n,g}) / √(σ²_{n,g} + ε) + β_c
//
// with μ, σ² the mean and biased variance of the group. Gorgonia's
// GroupNorm logs its whole gradient on every backward run through the
// standard logger, which cmd/gentri discards.
type GroupNorm struct {
	Gamma, Beta *Param // prefix.weight (ones), prefix.bias (zeros)
	Groups, C   int
	Eps         float64
}

// NewGroupNorm creates a layer of groups groups over c channels
// (c divisible by groups) with γ = 1, β = 0, ε = 1e-5 (PyTorch's defaults).
func NewGroupNorm(ps *Params, prefix string, groups, c int) *GroupNorm {
	return &GroupNorm{
		Gamma:  ps.Constant(prefix+".weight", []int{c}, 1),
		Beta:   ps.Constant(prefix+".bias", []int{c}, 0),
		Groups: groups, C: c, Eps: 1e-5,
	}
}

// Apply adds the layer to graph g on x (N, C, *).
func (l *GroupNorm) Apply(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
	y, err := groupNorm(x, l.Gamma.Node(g), l.Beta.Node(g), l.Groups, l.Eps)
	if err != nil {
		return nil, fmt.Errorf("groupnorm %s: %w", l.Gamma.Name, err)
	}
	return y, nil
}

func groupNorm(x, gamma, beta *G.Node, groups int, eps float64) (*G.Node, error) {
	s := x.Shape()
	if len(s) < 2 || len(s) > 4 || groups < 1 || s[1]%groups != 0 {
		return nil, fmt.Errorf("input %v does not split into %d groups of channels", s, groups)
	}
	op := gnOp{newOp(fmt.Sprintf("GroupNorm(groups=%d,eps=%g)", groups, eps)), groups, x.Dims(), eps, &gnStats{}}
	return G.ApplyOp(op, x, gamma, beta)
}

// gnStats hands a GroupNorm's per-(sample, group) mean and 1/√(σ²+ε) from
// its forward pass to its gradient ops, which would otherwise run the
// moments over x again, twice a step. In a run of the graph the forward op
// always comes first: every gradient op reads dy, which depends on its
// output.
type gnStats struct{ mean, invStd []float64 }

// gnOp: inputs x (N,C,*), γ (C), β (C); output like x.
type gnOp struct {
	opBase
	groups, dims int
	eps          float64
	stats        *gnStats
}

func (gnOp) Arity() int { return 3 }
func (o gnOp) Type() hmType {
	return fnType(tensorType(o.dims), tensorType(1), tensorType(1), tensorType(o.dims))
}
func (o gnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x := shapeOf(in[0])
	if len(x) < 2 || !shapeOf(in[1]).Eq(tensor.Shape{x[1]}) || !shapeOf(in[2]).Eq(tensor.Shape{x[1]}) {
		return nil, fmt.Errorf("groupnorm: input %v, γ %v, β %v", x, in[1], in[2])
	}
	return x, nil
}
func (o gnOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o gnOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, gamma, beta := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	y := o.output(p, x, x.Shape().Clone())
	n, c, s := channelView(x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		o.stats.mean, o.stats.invStd = groupStats(data[float32](x), n, c, s, o.groups, o.eps)
		normAffine(data[float32](x), data[float32](gamma), data[float32](beta), data[float32](y), o.stats.mean, o.stats.invStd, n, c, s, o.groups, c/o.groups)
	default:
		o.stats.mean, o.stats.invStd = groupStats(data[float64](x), n, c, s, o.groups, o.eps)
		normAffine(data[float64](x), data[float64](gamma), data[float64](beta), data[float64](y), o.stats.mean, o.stats.invStd, n, c, s, o.groups, c/o.groups)
	}
	return y, nil
}

// groupStats returns the mean and 1/√(σ²+ε) of each (sample, group), index
// n·groups+g; a group's channels are contiguous in memory.
func groupStats[T float](x []T, n, c, s, groups int, eps float64) (mean, invStd []float64) {
	mean, invStd = moments(x, 1, n*groups, c/groups*s)
	for i, v := range invStd {
		invStd[i] = 1 / math.Sqrt(v+eps)
	}
	return mean, invStd
}

func (gnOp) DiffWRT(int) []bool { return []bool{true, true, true} }
func (o gnOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	var d G.Nodes
	for wrt, name := range []string{"X", "Gamma", "Beta"} {
		op := gnGradOp{newOp(fmt.Sprintf("GroupNormGrad%s(groups=%d,eps=%g)", name, o.groups, o.eps)), o.groups, o.dims, o.eps, wrt, o.stats}
		n, err := G.ApplyOp(op, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		d = append(d, n)
	}
	return d, nil
}

// gnGradOp computes one gradient from (x, γ, dy), with x̂ = (x−μ)/σ per
// (sample, group), ĝ = γ_c·dy, and m the group's size:
//
//	dx = 1/σ · (ĝ − Σ_group ĝ/m − x̂·Σ_group(ĝ·x̂)/m)
//	dγ_c = Σ_{n,*} dy·x̂,  dβ_c = Σ_{n,*} dy.
type gnGradOp struct {
	opBase
	groups, dims int
	eps          float64
	wrt          int
	stats        *gnStats // the forward pass's, or nil
}

func (gnGradOp) Arity() int { return 3 }
func (o gnGradOp) Type() hmType {
	if o.wrt == 0 {
		return fnType(tensorType(o.dims), tensorType(1), tensorType(o.dims), tensorType(o.dims))
	}
	return fnType(tensorType(o.dims), tensorType(1), tensorType(o.dims), tensorType(1))
}
func (o gnGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if o.wrt == 0 {
		return shapeOf(in[0]), nil
	}
	return shapeOf(in[1]), nil
}
func (o gnGradOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o gnGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, gamma, dy := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	shape := gamma.Shape()
	if o.wrt == 0 {
		shape = x.Shape()
	}
	r := o.output(p, x, shape.Clone())
	n, c, s := channelView(x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		gnBackward(o.wrt, data[float32](x), data[float32](gamma), data[float32](dy), data[float32](r), n, c, s, o.groups, o.eps, o.stats)
	default:
		gnBackward(o.wrt, data[float64](x), data[float64](gamma), data[float64](dy), data[float64](r), n, c, s, o.groups, o.eps, o.stats)
	}
	return r, nil
}

// gnBackward computes gradient wrt of GroupNorm into r, with the forward
// pass's statistics st when it has them for this shape (nil: computed here).
func gnBackward[T float](wrt int, x, gamma, dy, r []T, n, c, s, groups int, eps float64, st *gnStats) {
	perChan := max(1, (1<<15)/(n*s)) // channels per goroutine for the reductions over the batch
	var mean, invStd []float64
	if wrt != 2 {
		if st != nil && len(st.mean) == n*groups {
			mean, invStd = st.mean, st.invStd
		} else {
			mean, invStd = groupStats(x, n, c, s, groups, eps)
		}
	}
	x32, native := any(x).([]float32)
	if wrt == 0 {
		parallelRange(n*groups, max(1, (1<<15)/(c/groups*s)), func(lo, hi int) {
			if native {
				gnDx32(x32, any(gamma).([]float32), any(dy).([]float32), any(r).([]float32), mean, invStd, c, s, groups, lo, hi)
				return
			}
			gnDxRange(x, gamma, dy, r, mean, invStd, c, s, groups, lo, hi)
		})
		return
	}
	parallelRange(c, perChan, func(lo, hi int) {
		if native {
			gnParamGrads32(wrt, x32, any(dy).([]float32), any(r).([]float32), mean, invStd, n, c, s, groups, lo, hi)
			return
		}
		gnParamGradsRange(wrt, x, dy, r, mean, invStd, n, c, s, groups, lo, hi)
	})
}

// gnParamGradsRange writes dβ_ch = Σ dy (wrt 2) or dγ_ch = Σ dy·x̂ (wrt 1)
// for channels [lo, hi); native.c has its float32 twin.
func gnParamGradsRange[T float](wrt int, x, dy, r []T, mean, invStd []float64, n, c, s, groups, lo, hi int) {
	cpg := c / groups
	for ch := lo; ch < hi; ch++ {
		sum := 0.0
		for i := 0; i < n; i++ {
			off := (i*c + ch) * s
			if wrt == 2 {
				sum += laneSum(dy[off : off+s])
				continue
			}
			st := i*groups + ch/cpg
			sum += laneDot(dy[off:off+s], x[off:off+s], mean[st]) * invStd[st]
		}
		r[ch] = T(sum)
	}
}

// gnDxRange writes dx for the (sample, group) blocks [lo, hi), each cpg·s
// contiguous values; native.c has its float32 twin.
func gnDxRange[T float](x, gamma, dy, r []T, mean, invStd []float64, c, s, groups, lo, hi int) {
	cpg := c / groups
	m := float64(cpg * s)
	for st := lo; st < hi; st++ {
		base, mu, is := st*cpg*s, mean[st], invStd[st]
		sg, sgx := 0.0, 0.0
		for k := 0; k < cpg; k++ {
			gk, off := float64(gamma[(st%groups)*cpg+k]), base+k*s
			sg += gk * laneSum(dy[off:off+s])
			sgx += gk * laneDot(dy[off:off+s], x[off:off+s], mu)
		}
		sg, sgx = sg/m, sgx*is/m
		for k := 0; k < cpg; k++ {
			gk, off := float64(gamma[(st%groups)*cpg+k]), base+k*s
			xs, rs := x[off:off+s], r[off:off+s]
			for j, d := range dy[off : off+s] {
				xhat := (float64(xs[j]) - mu) * is
				rs[j] = T(is * (gk*float64(d) - sg - xhat*sgx))
			}
		}
	}
}

// channelView reads a (B, C, *) shape as (B, C, S), S the product of the
// trailing dims (1 for a matrix).
func channelView(s tensor.Shape) (b, c, sp int) {
	sp = 1
	for _, d := range s[2:] {
		sp *= d
	}
	return s[0], s[1], sp
}

// moments returns, for x viewed as (outer, k, s), the mean and biased
// variance of each of the k slices over (outer, s), accumulated in float64
// in two passes (no cancellation of E[x²] − E[x]²).
func moments[T float](x []T, outer, k, s int) (mean, variance []float64) {
	mean, variance = make([]float64, k), make([]float64, k)
	// Each slice j is independent, so the slices are split over goroutines.
	parallelRange(k, max(1, (1<<15)/(outer*s)), func(lo, hi int) {
		if x32, ok := any(x).([]float32); ok {
			moments32(x32, outer, k, s, lo, hi, mean, variance)
			return
		}
		momentsRange(x, outer, k, s, lo, hi, mean, variance)
	})
	return mean, variance
}

// momentsRange computes the moments of slices [lo, hi); native.c has its
// float32 twin.
func momentsRange[T float](x []T, outer, k, s, lo, hi int, mean, variance []float64) {
	m := float64(outer * s)
	for j := lo; j < hi; j++ {
		sum := 0.0
		for o := 0; o < outer; o++ {
			sum += laneSum(x[(o*k+j)*s : (o*k+j+1)*s])
		}
		mu := sum / m
		sq := 0.0
		for o := 0; o < outer; o++ {
			sq += laneSumSq(x[(o*k+j)*s:(o*k+j+1)*s], mu)
		}
		mean[j], variance[j] = mu, sq/m
	}
}

// The float64 reductions run as lanes interleaved partial sums, added in a
// fixed order at the end: native.c's twins vectorise the same arithmetic,
// so both builds give the same bits.
const lanes = 8

// laneFold adds the lanes pairwise in a fixed order.
func laneFold(a *[lanes]float64) float64 {
	return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
}

// laneSum is Σ x.
func laneSum[T float](x []T) float64 {
	var a [lanes]float64
	i := 0
	for ; i+lanes <= len(x); i += lanes {
		for l, v := range x[i : i+lanes] {
			a[l] += float64(v)
		}
	}
	for l, v := range x[i:] {
		a[l] += float64(v)
	}
	return laneFold(&a)
}

// laneSumSq is Σ (x − mu)².
func laneSumSq[T float](x []T, mu float64) float64 {
	var a [lanes]float64
	i := 0
	for ; i+lanes <= len(x); i += lanes {
		for l, v := range x[i : i+lanes] {
			d := float64(v) - mu
			a[l] += d * d
		}
	}
	for l, v := range x[i:] {
		d := float64(v) - mu
		a[l] += d * d
	}
	return laneFold(&a)
}

// laneDot is Σ dy·(x − mu).
func laneDot[T float](dy, x []T, mu float64) float64 {
	var a [lanes]float64
	x = x[:len(dy)]
	i := 0
	for ; i+lanes <= len(dy); i += lanes {
		xs := x[i : i+lanes]
		for l, d := range dy[i : i+lanes] {
			a[l] += float64(d) * (float64(xs[l]) - mu)
		}
	}
	for l, d := range dy[i:] {
		a[l] += float64(d) * (float64(x[i+l]) - mu)
	}
	return laneFold(&a)
}

// normAffine writes y = γ_c·(x − μ)·invStd + β_c for x (b, c, s), with the
// statistics of channel ch in sample n at index n·perSample + ch/perStat:
// (0, 1) for BatchNorm, (groups, c/groups) for GroupNorm.
func normAffine[T float](x, gamma, beta, y []T, mean, invStd []float64, b, c, s, perSample, perStat int) {
	parallelRange(b*c, max(1, (1<<15)/s), func(lo, hi int) {
		if x32, ok := any(x).([]float32); ok {
			normAffine32(x32, any(gamma).([]float32), any(beta).([]float32), any(y).([]float32), mean, invStd, c, s, perSample, perStat, lo, hi)
			return
		}
		normAffineRange(x, gamma, beta, y, mean, invStd, c, s, perSample, perStat, lo, hi)
	})
}

// normAffineRange normalises rows [lo, hi) of x viewed as (b·c, s);
// native.c has its float32 twin.
func normAffineRange[T float](x, gamma, beta, y []T, mean, invStd []float64, c, s, perSample, perStat, lo, hi int) {
	for r := lo; r < hi; r++ {
		n, ch := r/c, r%c
		st := n*perSample + ch/perStat
		scale := float64(gamma[ch]) * invStd[st]
		a, sh := T(scale), T(float64(beta[ch])-mean[st]*scale)
		off := r * s
		for i, v := range x[off : off+s] {
			y[off+i] = a*v + sh
		}
	}
}

// floats copies a float32 or float64 tensor into a []float64.
func floats(d *tensor.Dense) []float64 {
	switch v := d.Data().(type) {
	case []float32:
		r := make([]float64, len(v))
		for i, x := range v {
			r[i] = float64(x)
		}
		return r
	case []float64:
		return append([]float64(nil), v...)
	}
	return nil
}

// setFloats stores vals into a float32 or float64 tensor.
func setFloats(d *tensor.Dense, vals []float64) {
	switch v := d.Data().(type) {
	case []float32:
		for i, x := range vals {
			v[i] = float32(x)
		}
	case []float64:
		copy(v, vals)
	}
}
