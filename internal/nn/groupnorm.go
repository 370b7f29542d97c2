package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

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
