package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2d is a 2-D convolution with bias on NCHW input,
//
//	y[n,o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v] · x[n, c, i·s−p+u, j·s−p+v]
//
// (zero outside the image), with W stored as (out, in, k, k) as in PyTorch.
// The output is (N, out, (H+2p−k)/s+1, (W+2p−k)/s+1). One fused op replaces
// Gorgonia's im2col → matmul → Transpose → BroadcastAdd chain, whose
// Transpose alone is about 30 % of a conv step.
type Conv2d struct {
	W, B                    *Param
	In, Out, K, Stride, Pad int
}

// NewConv2d creates the layer's parameters, named prefix+".weight" and
// prefix+".bias", initialised as PyTorch does: U(−1/√fan_in, 1/√fan_in) for
// both, fan_in = in·k·k.
func NewConv2d(ps *Params, prefix string, in, out, k, stride, pad int) *Conv2d {
	bound := 1 / sqrt(float64(in*k*k))
	return &Conv2d{
		W:  ps.Uniform(prefix+".weight", []int{out, in, k, k}, -bound, bound),
		B:  ps.Uniform(prefix+".bias", []int{out}, -bound, bound),
		In: in, Out: out, K: k, Stride: stride, Pad: pad,
	}
}

// NewConv2dNoBias is NewConv2d without the bias (PyTorch's bias=False): only
// prefix+".weight" is a parameter.
func NewConv2dNoBias(ps *Params, prefix string, in, out, k, stride, pad int) *Conv2d {
	bound := 1 / sqrt(float64(in*k*k))
	return &Conv2d{
		W:  ps.Uniform(prefix+".weight", []int{out, in, k, k}, -bound, bound),
		In: in, Out: out, K: k, Stride: stride, Pad: pad,
	}
}

// Apply adds the layer to graph g on input x of shape (N, in, H, W).
func (c *Conv2d) Apply(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
	var b *G.Node
	if c.B != nil {
		b = c.B.Node(g)
	} else { // a constant zero bias: the fused op always adds one
		b = G.NewVector(g, x.Dtype(), G.WithShape(c.Out), G.WithInit(G.Zeroes()),
			G.WithName(fmt.Sprintf("%s_zero_bias%d", c.W.Name, uniq.Add(1))))
	}
	y, err := conv2d(x, c.W.Node(g), b, c.Stride, c.Pad)
	if err != nil {
		return nil, fmt.Errorf("conv2d %s: %w", c.W.Name, err)
	}
	return y, nil
}

// conv2d applies the fused op to nodes x (N,C,H,W), w (O,C,k,k), b (O).
func conv2d(x, w, b *G.Node, stride, pad int) (*G.Node, error) {
	ws := w.Shape()
	if len(ws) != 4 || ws[2] != ws[3] {
		return nil, fmt.Errorf("weight shape %v is not (out, in, k, k)", ws)
	}
	if stride < 1 || pad < 0 {
		return nil, fmt.Errorf("stride %d, padding %d", stride, pad)
	}
	return G.ApplyOp(newConvOp(ws[2], stride, pad), x, w, b)
}

// convOp: inputs x (N,C,H,W), W (O,C,k,k), b (O); output (N,O,OH,OW).
// k, stride and pad are in the name, hence in the hash: convolutions of one
// input with different geometry must not be hash-consed into one node.
type convOp struct {
	opBase
	k, stride, pad int
}

func newConvOp(k, stride, pad int) convOp {
	return convOp{newOp(fmt.Sprintf("Conv2d(k=%d,s=%d,p=%d)", k, stride, pad)), k, stride, pad}
}

func (convOp) Arity() int { return 3 }
func (convOp) Type() hmType {
	return fnType(tensorType(4), tensorType(4), tensorType(1), tensorType(4))
}
func (o convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, w, b := shapeOf(in[0]), shapeOf(in[1]), shapeOf(in[2])
	if len(x) != 4 || len(w) != 4 || x[1] != w[1] || w[2] != o.k || w[3] != o.k || len(b) != 1 || b[0] != w[0] {
		return nil, fmt.Errorf("conv2d: input %v, weight %v and bias %v do not fit k=%d", x, w, b, o.k)
	}
	oh, ow := convOut(x[2], o.k, o.stride, o.pad), convOut(x[3], o.k, o.stride, o.pad)
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("conv2d: input %v too small for k=%d, s=%d, p=%d", x, o.k, o.stride, o.pad)
	}
	return tensor.Shape{x[0], w[0], oh, ow}, nil
}

// convOut is the output size (n+2p−k)/s+1 along one axis.
func convOut(n, k, s, p int) int { return (n+2*p-k)/s + 1 }

func (o convOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o convOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, w, b := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	cg := newConvGeom(x.Shape(), w.Shape(), o.stride, o.pad)
	y := o.output(p, x, tensor.Shape{cg.n, cg.o, cg.oh, cg.ow})
	switch x.Dtype() {
	case tensor.Float32:
		convForward(&cg, data[float32](x), data[float32](w), data[float32](b), data[float32](y))
	default:
		convForward(&cg, data[float64](x), data[float64](w), data[float64](b), data[float64](y))
	}
	return y, nil
}

// convForward computes, per image, y_n = b·1ᵀ + W(O, CKK) · im2col(x_n)(CKK, OH·OW),
// written straight into the NCHW output. Images are independent, so they
// are split over goroutines, each with its own column buffer. The native
// build runs its direct kernels instead where they apply (native.go).
func convForward[T float](cg *convGeom, x, w, b, y []T) {
	if x32, ok := any(x).([]float32); ok && directForward(cg, x32, any(w).([]float32), any(b).([]float32), any(y).([]float32)) {
		return // the native build's direct kernels
	}
	p, ckk := cg.oh*cg.ow, cg.c*cg.k*cg.k
	parallelRange(cg.n, 1, func(lo, hi int) {
		var col []T
		for n := lo; n < hi; n++ {
			col = imageCols(cg, x, n, col)
			yn := y[n*cg.o*p : (n+1)*cg.o*p]
			for o := 0; o < cg.o; o++ {
				row := yn[o*p : (o+1)*p]
				for i := range row {
					row[i] = b[o]
				}
			}
			gemm(false, false, cg.o, p, ckk, 1, w, ckk, col, p, 1, yn, p)
		}
	})
}

func (convOp) DiffWRT(int) []bool { return []bool{true, true, true} }
func (o convOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return o.symDiffSome(in, grad, []bool{true, true, true})
}

// symDiffSome builds the gradients with respect to the inputs in need only
// (nil for the others); see vjp.
func (o convOp) symDiffSome(in G.Nodes, grad *G.Node, need []bool) (G.Nodes, error) {
	d := make(G.Nodes, 3)
	for wrt := range d {
		if !need[wrt] {
			continue
		}
		n, err := G.ApplyOp(newConvGradOp(o.k, o.stride, o.pad, wrt), in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		d[wrt] = n
	}
	return d, nil
}

func newConvGradOp(k, stride, pad, wrt int) convGradOp {
	name := []string{"X", "W", "B"}[wrt]
	return convGradOp{newOp(fmt.Sprintf("Conv2dGrad%s(k=%d,s=%d,p=%d)", name, k, stride, pad)), k, stride, pad, wrt}
}

// convGradOp computes one of the three gradients from (x, W, dy):
// dx = Σ col2im(Wᵀ·dy_n), dW = Σ_n dy_n·im2col(x_n)ᵀ, db = Σ_{n,i,j} dy.
type convGradOp struct {
	opBase
	k, stride, pad, wrt int
}

func (convGradOp) Arity() int { return 3 }
func (o convGradOp) Type() hmType {
	if o.wrt == 2 {
		return fnType(tensorType(4), tensorType(4), tensorType(4), tensorType(1))
	}
	return fnType(tensorType(4), tensorType(4), tensorType(4), tensorType(4))
}
func (o convGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return o.shape(shapeOf(in[0]), shapeOf(in[1])), nil
}
func (o convGradOp) shape(x, w tensor.Shape) tensor.Shape {
	switch o.wrt {
	case 0:
		return x.Clone()
	case 1:
		return w.Clone()
	}
	return tensor.Shape{w[0]}
}
func (o convGradOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o convGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, w, dy := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	cg := newConvGeom(x.Shape(), w.Shape(), o.stride, o.pad)
	r := o.output(p, x, o.shape(x.Shape(), w.Shape()))
	switch x.Dtype() {
	case tensor.Float32:
		convBackward(&cg, o.wrt, data[float32](x), data[float32](w), data[float32](dy), data[float32](r))
	default:
		convBackward(&cg, o.wrt, data[float64](x), data[float64](w), data[float64](dy), data[float64](r))
	}
	return r, nil
}

func convBackward[T float](cg *convGeom, wrt int, x, w, dy, r []T) {
	p, ckk := cg.oh*cg.ow, cg.c*cg.k*cg.k
	switch wrt {
	case 0:
		if dy32, ok := any(dy).([]float32); ok && directDx(cg, any(w).([]float32), dy32, any(r).([]float32)) {
			return // the native build's direct kernels
		}
		convDxIm2col(cg, w, dy, r)
	case 1: // dW = Σ_n dy_n · col_nᵀ, as fixedParts partial sums added in order
		if x32, ok := any(x).([]float32); ok && convDW(cg, x32, any(dy).([]float32), any(r).([]float32), false) {
			return // the native build's direct kernel
		}
		parts := min(cg.n, fixedParts)
		partial := make([][]T, parts)
		partial[0] = r
		for i := 1; i < parts; i++ {
			partial[i] = make([]T, len(r))
		}
		parallelRange(parts, 1, func(plo, phi int) {
			var col []T
			for part := plo; part < phi; part++ {
				acc := partial[part]
				clear(acc)
				lo, hi := partBounds(cg.n, parts, part)
				for n := lo; n < hi; n++ {
					col = imageCols(cg, x, n, col)
					gemm(false, true, cg.o, ckk, p, 1, dy[n*cg.o*p:(n+1)*cg.o*p], p, col, p, 1, acc, ckk)
				}
			}
		})
		for _, acc := range partial[1:] {
			for i, v := range acc {
				r[i] += v
			}
		}
	default: // db = Σ_{n,i,j} dy, channel by channel
		parallelRange(cg.o, max(1, (1<<15)/(cg.n*p)), func(lo, hi int) {
			for o := lo; o < hi; o++ {
				s := T(0)
				for n := 0; n < cg.n; n++ {
					for _, v := range dy[(n*cg.o+o)*p : (n*cg.o+o+1)*p] {
						s += v
					}
				}
				r[o] = s
			}
		})
	}
}

// Second order (double backpropagation, GradPenalty). dx = Aᵀ_W·dy and
// dW = Σ_n dy_n·im2col(x_n)ᵀ are bilinear, so with g the incoming gradient:
//
//	d⟨g, dx⟩/d dy = conv(g; W) without bias,  d⟨g, dx⟩/dW = dW-op(g, dy);
//	d⟨g, dW⟩/d dy = conv(x; g) without bias,  d⟨g, dW⟩/dx = dx-op(g, dy).
//
// dx does not depend on x's values (only its shape), nor dW on W's.
// db = Σ dy is not differentiated (nothing on a penalty's path needs it).
func (o convGradOp) DiffWRT(int) []bool {
	switch o.wrt {
	case 0:
		return []bool{false, true, true}
	case 1:
		return []bool{true, false, true}
	}
	return []bool{false, false, true}
}
func (o convGradOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	x, w, dy := in[0], in[1], in[2]
	switch o.wrt {
	case 0:
		dw, err := G.ApplyOp(newConvGradOp(o.k, o.stride, o.pad, 1), grad, w, dy)
		if err != nil {
			return nil, err
		}
		ddy, err := ConvNoBias(grad, w, o.stride, o.pad)
		return G.Nodes{nil, dw, ddy}, err
	case 1:
		dx, err := G.ApplyOp(newConvGradOp(o.k, o.stride, o.pad, 0), x, grad, dy)
		if err != nil {
			return nil, err
		}
		ddy, err := ConvNoBias(x, grad, o.stride, o.pad)
		return G.Nodes{dx, nil, ddy}, err
	}
	return nil, fmt.Errorf("%s: the second derivative through the bias gradient is not implemented", o.name)
}

// ConvNoBias is the convolution of x (N,C,H,W) with w (O,C,k,k) and no
// bias: the fused op with a zero bias, so it runs the same kernels as
// Conv2d (a skip path's 1×1 convolution; the second derivative of a
// convolution's dx).
func ConvNoBias(x, w *G.Node, stride, pad int) (*G.Node, error) {
	ws := w.Shape()
	if len(ws) != 4 {
		return nil, fmt.Errorf("conv without bias: weight shape %v is not (out, in, k, k)", ws)
	}
	zero := G.NewVector(x.Graph(), x.Dtype(), G.WithShape(ws[0]), G.WithInit(G.Zeroes()),
		G.WithName(fmt.Sprintf("conv_zero_bias%d", uniq.Add(1))))
	y, err := conv2d(x, w, zero, stride, pad)
	if err != nil {
		return nil, fmt.Errorf("conv without bias: %w", err)
	}
	return y, nil
}

// convDxIm2col computes dx_n = col2im(Wᵀ · dy_n), image by image.
func convDxIm2col[T float](cg *convGeom, w, dy, r []T) {
	p, ckk := cg.oh*cg.ow, cg.c*cg.k*cg.k
	img := cg.c * cg.h * cg.w
	parallelRange(cg.n, 1, func(lo, hi int) {
		var dcol []T
		if !cg.identity() {
			dcol = make([]T, ckk*p)
		}
		for n := lo; n < hi; n++ {
			dyn, dxn := dy[n*cg.o*p:(n+1)*cg.o*p], r[n*img:(n+1)*img]
			if cg.identity() {
				gemm(true, false, ckk, p, cg.o, 1, w, ckk, dyn, p, 0, dxn, p)
				continue
			}
			gemm(true, false, ckk, p, cg.o, 1, w, ckk, dyn, p, 0, dcol, p)
			fold(cg, dcol, dxn)
		}
	})
}

// convGeom is the geometry of one convolution. lo[j], hi[j] bound the output
// columns whose input column ow·s−p+j lies inside the image, for kernel
// column j, so im2col and col2im need no per-element bounds test.
type convGeom struct {
	n, c, h, w, o, k, stride, pad, oh, ow int
	lo, hi                                []int
}

func newConvGeom(x, w tensor.Shape, stride, pad int) convGeom {
	k := w[2]
	cg := convGeom{n: x[0], c: x[1], h: x[2], w: x[3], o: w[0], k: k, stride: stride, pad: pad,
		oh: convOut(x[2], k, stride, pad), ow: convOut(x[3], k, stride, pad)}
	cg.lo, cg.hi = make([]int, k), make([]int, k)
	for j := 0; j < k; j++ {
		lo, hi := 0, 0 // ow·s−p+j ≥ 0  ⇔ ow ≥ ⌈(p−j)/s⌉;  ow·s−p+j ≤ W−1 ⇔ ow ≤ ⌊(W−1+p−j)/s⌋
		if pj := pad - j; pj > 0 {
			lo = (pj + stride - 1) / stride
		}
		if last := cg.w - 1 + pad - j; last >= 0 {
			hi = min(cg.ow, last/stride+1)
		}
		cg.lo[j], cg.hi[j] = min(lo, hi), hi
	}
	return cg
}

// identity reports a 1×1, stride-1, unpadded convolution, whose column
// matrix is the image itself.
func (cg *convGeom) identity() bool { return cg.k == 1 && cg.stride == 1 && cg.pad == 0 }

// imageCols returns im2col of image n, written into buf (allocated as
// C·k·k × OH·OW on first use and reused after), or, for the 1×1 identity
// geometry, the image's own data.
func imageCols[T float](cg *convGeom, x []T, n int, buf []T) []T {
	img := cg.c * cg.h * cg.w
	if cg.identity() {
		return x[n*img : (n+1)*img]
	}
	if buf == nil {
		buf = make([]T, cg.c*cg.k*cg.k*cg.oh*cg.ow)
	}
	unfold(cg, x[n*img:(n+1)*img], buf)
	return buf
}

// unfold is im2col, run by the native kernel for float32.
func unfold[T float](cg *convGeom, x, col []T) {
	if x32, ok := any(x).([]float32); ok {
		im2col32(cg, x32, any(col).([]float32))
		return
	}
	im2col(cg, x, col)
}

// fold is col2im, run by the native kernel for float32.
func fold[T float](cg *convGeom, dcol, dx []T) {
	if d32, ok := any(dcol).([]float32); ok {
		col2im32(cg, d32, any(dx).([]float32))
		return
	}
	col2im(cg, dcol, dx)
}

// im2col unfolds one image x (C,H,W) into col (C·k·k, OH·OW):
//
//	col[(c·k+u)·k+v, i·OW+j] = x[c, i·s−p+u, j·s−p+v], 0 outside the image.
//
// Every element of col is written, so the buffer can be reused.
func im2col[T float](cg *convGeom, x, col []T) {
	p, hw, s := cg.oh*cg.ow, cg.h*cg.w, cg.stride
	r := 0
	for c := 0; c < cg.c; c++ {
		xc := x[c*hw : (c+1)*hw]
		for u := 0; u < cg.k; u++ {
			for v := 0; v < cg.k; v++ {
				dst, lo, hi, off := col[r*p:(r+1)*p], cg.lo[v], cg.hi[v], v-cg.pad
				r++
				for i := 0; i < cg.oh; i++ {
					row := dst[i*cg.ow : (i+1)*cg.ow]
					ih := i*s - cg.pad + u
					if ih < 0 || ih >= cg.h {
						clear(row)
						continue
					}
					src := xc[ih*cg.w : (ih+1)*cg.w]
					clear(row[:lo])
					clear(row[hi:])
					if s == 1 {
						copy(row[lo:hi], src[lo+off:hi+off])
						continue
					}
					for j := lo; j < hi; j++ {
						row[j] = src[j*s+off]
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it overwrites dx (C,H,W) with
//
//	dx[c, h, w] = Σ dcol[(c·k+u)·k+v, i·OW+j] over h = i·s−p+u, w = j·s−p+v.
func col2im[T float](cg *convGeom, dcol, dx []T) {
	p, hw, s := cg.oh*cg.ow, cg.h*cg.w, cg.stride
	clear(dx)
	r := 0
	for c := 0; c < cg.c; c++ {
		xc := dx[c*hw : (c+1)*hw]
		for u := 0; u < cg.k; u++ {
			for v := 0; v < cg.k; v++ {
				src, lo, hi, off := dcol[r*p:(r+1)*p], cg.lo[v], cg.hi[v], v-cg.pad
				r++
				for i := 0; i < cg.oh; i++ {
					ih := i*s - cg.pad + u
					if ih < 0 || ih >= cg.h {
						continue
					}
					row, dst := src[i*cg.ow:(i+1)*cg.ow], xc[ih*cg.w:(ih+1)*cg.w]
					for j := lo; j < hi; j++ {
						dst[j*s+off] += row[j]
					}
				}
			}
		}
	}
}
