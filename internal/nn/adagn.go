package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AdaGroupNorm is the adaptive group normalisation of the denoising
// diffusion GAN's generator (Xiao, Kreis & Vahdat 2022, after StyleGAN's
// AdaIN): a GroupNorm without its own affine parameters whose per-sample
// scale and shift come from a style vector,
//
//	y[n,c,·] = x̂[n,c,·] · (1 + a[n,c]) + b[n,c],   [a; b] = ab[n, :] (2C values),
//
// x̂ the group-normalised x (mean 0, variance 1 over each (sample, group)).
// One fused op: no ones/zeros affine tensors, no materialised broadcast.
type AdaGroupNorm struct {
	Groups, C int
	Eps       float64
}

// NewAdaGroupNorm returns the layer over c channels in groups groups, with
// PyTorch's ε = 1e-5. It has no parameters: the style Linear that makes ab
// belongs to the caller.
func NewAdaGroupNorm(groups, c int) *AdaGroupNorm {
	return &AdaGroupNorm{Groups: groups, C: c, Eps: 1e-5}
}

// Apply normalises x (N, C, *) and modulates it by ab (N, 2C).
func (l *AdaGroupNorm) Apply(x, ab *G.Node) (*G.Node, error) {
	s := x.Shape()
	if len(s) < 2 || len(s) > 4 || s[1] != l.C || l.Groups < 1 || l.C%l.Groups != 0 {
		return nil, fmt.Errorf("adagroupnorm: input %v does not split %d channels into %d groups", s, l.C, l.Groups)
	}
	op := adaGNOp{newOp(fmt.Sprintf("AdaGroupNorm(groups=%d,eps=%g)", l.Groups, l.Eps)), l.Groups, x.Dims(), l.Eps, &gnStats{}}
	y, err := G.ApplyOp(op, x, ab)
	if err != nil {
		return nil, fmt.Errorf("adagroupnorm: %w", err)
	}
	return y, nil
}

// adaGNOp: inputs x (N,C,*), ab (N,2C); output like x.
type adaGNOp struct {
	opBase
	groups, dims int
	eps          float64
	stats        *gnStats
}

func (adaGNOp) Arity() int { return 2 }
func (o adaGNOp) Type() hmType {
	return fnType(tensorType(o.dims), tensorType(2), tensorType(o.dims))
}
func (o adaGNOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, ab := shapeOf(in[0]), shapeOf(in[1])
	if len(x) < 2 || !ab.Eq(tensor.Shape{x[0], 2 * x[1]}) {
		return nil, fmt.Errorf("adagroupnorm: input %v and style %v are not (N,C,*) and (N,2C)", x, ab)
	}
	return x, nil
}
func (o adaGNOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o adaGNOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, ab := denseOf(v[0]), denseOf(v[1])
	y := o.output(p, x, x.Shape().Clone())
	n, c, s := channelView(x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		o.stats.mean, o.stats.invStd = groupStats(data[float32](x), n, c, s, o.groups, o.eps)
		adaGNForward(data[float32](x), data[float32](ab), data[float32](y), o.stats.mean, o.stats.invStd, n, c, s, o.groups)
	default:
		o.stats.mean, o.stats.invStd = groupStats(data[float64](x), n, c, s, o.groups, o.eps)
		adaGNForward(data[float64](x), data[float64](ab), data[float64](y), o.stats.mean, o.stats.invStd, n, c, s, o.groups)
	}
	return y, nil
}

// adaGNForward writes y = x̂·(1+a) + b plane by plane.
func adaGNForward[T float](x, ab, y []T, mean, invStd []float64, n, c, s, groups int) {
	cpg := c / groups
	parallelRange(n*c, max(1, (1<<15)/s), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			i, ch := k/c, k%c
			st := i*groups + ch/cpg
			mu, is := mean[st], invStd[st]
			scale, shift := (1+float64(ab[i*2*c+ch]))*is, float64(ab[i*2*c+c+ch])
			dst := y[k*s : (k+1)*s]
			for j, v := range x[k*s : (k+1)*s] {
				dst[j] = T((float64(v)-mu)*scale + shift)
			}
		}
	})
}

func (adaGNOp) DiffWRT(int) []bool { return []bool{true, true} }
func (o adaGNOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	var d G.Nodes
	for wrt, name := range []string{"X", "Style"} {
		op := adaGNGradOp{newOp(fmt.Sprintf("AdaGroupNormGrad%s(groups=%d,eps=%g)", name, o.groups, o.eps)), o.groups, o.dims, o.eps, wrt, o.stats}
		n, err := G.ApplyOp(op, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		d = append(d, n)
	}
	return d, nil
}

// adaGNGradOp computes one gradient from (x, ab, dy), with ĝ = (1+a)·dy and
// m the size of a (sample, group):
//
//	dx = 1/σ · (ĝ − Σ_group ĝ/m − x̂·Σ_group(ĝ·x̂)/m)
//	da[n,c] = Σ_plane dy·x̂,   db[n,c] = Σ_plane dy.
type adaGNGradOp struct {
	opBase
	groups, dims int
	eps          float64
	wrt          int
	stats        *gnStats
}

func (adaGNGradOp) Arity() int { return 3 }
func (o adaGNGradOp) Type() hmType {
	if o.wrt == 0 {
		return fnType(tensorType(o.dims), tensorType(2), tensorType(o.dims), tensorType(o.dims))
	}
	return fnType(tensorType(o.dims), tensorType(2), tensorType(o.dims), tensorType(2))
}
func (o adaGNGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[o.wrt]), nil
}
func (o adaGNGradOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o adaGNGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, ab, dy := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	r := o.output(p, x, denseOf(v[o.wrt]).Shape().Clone())
	n, c, s := channelView(x.Shape())
	switch x.Dtype() {
	case tensor.Float32:
		adaGNBackward(o.wrt, data[float32](x), data[float32](ab), data[float32](dy), data[float32](r), n, c, s, o.groups, o.eps, o.stats)
	default:
		adaGNBackward(o.wrt, data[float64](x), data[float64](ab), data[float64](dy), data[float64](r), n, c, s, o.groups, o.eps, o.stats)
	}
	return r, nil
}

func adaGNBackward[T float](wrt int, x, ab, dy, r []T, n, c, s, groups int, eps float64, st *gnStats) {
	mean, invStd := st.mean, st.invStd
	if len(mean) != n*groups {
		mean, invStd = groupStats(x, n, c, s, groups, eps)
	}
	cpg := c / groups
	if wrt == 1 {
		parallelRange(n*c, max(1, (1<<15)/s), func(lo, hi int) {
			for k := lo; k < hi; k++ {
				i, ch := k/c, k%c
				stat := i*groups + ch/cpg
				off := k * s
				r[i*2*c+ch] = T(laneDot(dy[off:off+s], x[off:off+s], mean[stat]) * invStd[stat])
				r[i*2*c+c+ch] = T(laneSum(dy[off : off+s]))
			}
		})
		return
	}
	m := float64(cpg * s)
	parallelRange(n*groups, max(1, (1<<15)/(cpg*s)), func(lo, hi int) {
		for stat := lo; stat < hi; stat++ {
			i := stat / groups
			base, mu, is := stat*cpg*s, mean[stat], invStd[stat]
			gain := func(k int) float64 { return 1 + float64(ab[i*2*c+(stat%groups)*cpg+k]) }
			sg, sgx := 0.0, 0.0
			for k := 0; k < cpg; k++ {
				gk, off := gain(k), base+k*s
				sg += gk * laneSum(dy[off:off+s])
				sgx += gk * laneDot(dy[off:off+s], x[off:off+s], mu)
			}
			sg, sgx = sg/m, sgx*is/m
			for k := 0; k < cpg; k++ {
				gk, off := gain(k), base+k*s
				xs, rs := x[off:off+s], r[off:off+s]
				for j, d := range dy[off : off+s] {
					xhat := (float64(xs[j]) - mu) * is
					rs[j] = T(is * (gk*float64(d) - sg - xhat*sgx))
				}
			}
		}
	})
}
