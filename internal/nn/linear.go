package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear is y = x·Wᵀ + b with W stored as (out, in), PyTorch's layout, so a
// checkpoint needs no transposes and the bias add is fused into the GEMM
// instead of a materialised BroadcastAdd.
type Linear struct {
	W, B *Param
	In   int
	Out  int
}

// NewLinear creates the layer's parameters, named prefix+".weight" and
// prefix+".bias", initialised as PyTorch does: U(-1/√in, 1/√in) for both.
func NewLinear(ps *Params, prefix string, in, out int) *Linear {
	bound := 1 / sqrt(float64(in))
	return &Linear{
		W:  ps.Uniform(prefix+".weight", []int{out, in}, -bound, bound),
		B:  ps.Uniform(prefix+".bias", []int{out}, -bound, bound),
		In: in, Out: out,
	}
}

// Apply adds the layer to graph g on input x of shape (batch, in).
func (l *Linear) Apply(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
	y, err := G.ApplyOp(linearOp{newOp("Linear")}, x, l.W.Node(g), l.B.Node(g))
	if err != nil {
		return nil, fmt.Errorf("linear %s: %w", l.W.Name, err)
	}
	return y, nil
}

// MatMulT is x·Wᵀ for x (batch, in) and W (out, in), by Linear's kernels
// with a zero bias. Unlike G.Mul with a Transpose node, it reads W only when
// the product runs, so the product depends on x (see Tap).
func MatMulT(g *G.ExprGraph, x, w *G.Node) (*G.Node, error) {
	zero := G.NewVector(g, x.Dtype(), G.WithShape(w.Shape()[0]), G.WithInit(G.Zeroes()),
		G.WithName(fmt.Sprintf("matmult_zero_bias%d", uniq.Add(1))))
	y, err := G.ApplyOp(linearOp{newOp("Linear")}, x, w, zero)
	if err != nil {
		return nil, fmt.Errorf("x·Wᵀ: %w", err)
	}
	return y, nil
}

// linearOp: inputs x (B,in), W (out,in), b (out); output (B,out).
type linearOp struct{ opBase }

func (linearOp) Arity() int { return 3 }
func (linearOp) Type() hmType {
	return fnType(tensorType(2), tensorType(2), tensorType(1), tensorType(2))
}
func (linearOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, w := shapeOf(in[0]), shapeOf(in[1])
	if len(x) != 2 || len(w) != 2 || x[1] != w[1] {
		return nil, fmt.Errorf("linear: input %v does not fit weight %v", x, w)
	}
	return tensor.Shape{x[0], w[0]}, nil
}
func (o linearOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o linearOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, w, b := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	n, in, out := x.Shape()[0], x.Shape()[1], w.Shape()[0]
	y := o.output(p, x, tensor.Shape{n, out})
	switch x.Dtype() {
	case tensor.Float32:
		linearForward(data[float32](x), data[float32](w), data[float32](b), data[float32](y), n, in, out)
	default:
		linearForward(data[float64](x), data[float64](w), data[float64](b), data[float64](y), n, in, out)
	}
	return y, nil
}

// linearForward splits y = x·Wᵀ + b over its columns (the rows of W).
func linearForward[T float](x, w, b, y []T, n, in, out int) {
	rowParts(out, n*in*out, func(lo, hi int) {
		for i := 0; i < n; i++ {
			copy(y[i*out+lo:i*out+hi], b[lo:hi])
		}
		gemm(false, true, n, hi-lo, in, 1, x, in, w[lo*in:], in, 1, y[lo:], out)
	})
}

// linearParts is 2, not more: each BLAS call packs its whole other operand
// again, and on 2 cores the VAE's step took 20.5 ms with 2 blocks against
// 21.5–24.8 ms with 4 and 22.5–26.3 ms with 8 (sampling 1000: 16.6–17.5 ms
// against 17.7–18.0 and 21.4–25.8), when the blocks were of batch rows.
// The forward and dx products are now split over output columns instead, so
// each block packs only its half of the weights (VAE step 14.9–17.3 →
// 13.5–15.2 ms).
const linearParts = 2

// rowParts splits the rows (or columns) [0, rows) of a product of work
// multiply-adds into linearParts blocks run on parallel goroutines, or one
// block when the product is too small to pay for them. The blocks depend
// only on the shapes, so every BLAS call, and so the result, is the same on
// any machine.
func rowParts(rows, work int, f func(lo, hi int)) {
	parts := min(rows, linearParts)
	if work < 1<<18 || parts < 2 {
		f(0, rows)
		return
	}
	parallelRange(parts, 1, func(plo, phi int) {
		for part := plo; part < phi; part++ {
			f(partBounds(rows, parts, part))
		}
	})
}

func (linearOp) DiffWRT(int) []bool { return []bool{true, true, true} }
func (o linearOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	return o.symDiffSome(in, grad, []bool{true, true, true})
}

// symDiffSome builds the gradients with respect to the inputs in need only
// (nil for the others); see vjp.
func (linearOp) symDiffSome(in G.Nodes, grad *G.Node, need []bool) (G.Nodes, error) {
	d := make(G.Nodes, 3)
	for wrt := range d {
		if !need[wrt] {
			continue
		}
		n, err := G.ApplyOp(newLinearGradOp(wrt), in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
		d[wrt] = n
	}
	return d, nil
}

func newLinearGradOp(wrt int) linearGradOp {
	return linearGradOp{newOp([]string{"LinearGradX", "LinearGradW", "LinearGradB"}[wrt]), wrt}
}

// linearGradOp computes one of the three gradients from (x, W, dy):
// dx = dy·W, dW = dyᵀ·x, db = Σ_rows dy.
type linearGradOp struct {
	opBase
	wrt int
}

func (linearGradOp) Arity() int { return 3 }
func (o linearGradOp) Type() hmType {
	if o.wrt == 2 {
		return fnType(tensorType(2), tensorType(2), tensorType(2), tensorType(1))
	}
	return fnType(tensorType(2), tensorType(2), tensorType(2), tensorType(2))
}
func (o linearGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x, w := shapeOf(in[0]), shapeOf(in[1])
	switch o.wrt {
	case 0:
		return x, nil
	case 1:
		return w, nil
	}
	return tensor.Shape{w[0]}, nil
}
func (o linearGradOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o linearGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x, w, dy := denseOf(v[0]), denseOf(v[1]), denseOf(v[2])
	var shape tensor.Shape
	switch o.wrt {
	case 0:
		shape = x.Shape()
	case 1:
		shape = w.Shape()
	default:
		shape = tensor.Shape{w.Shape()[0]}
	}
	r := o.output(p, x, shape.Clone())
	n, in, out := x.Shape()[0], x.Shape()[1], w.Shape()[0]
	switch x.Dtype() {
	case tensor.Float32:
		linearBackward(o.wrt, data[float32](x), data[float32](w), data[float32](dy), data[float32](r), n, in, out)
	default:
		linearBackward(o.wrt, data[float64](x), data[float64](w), data[float64](dy), data[float64](r), n, in, out)
	}
	return r, nil
}

// Second order (double backpropagation, GradPenalty). dx = dy·W and
// dW = dyᵀ·x are bilinear, so with g the incoming gradient:
//
//	d⟨g, dx⟩/d dy = g·Wᵀ,  d⟨g, dx⟩/dW = dyᵀ·g (the dW op on g);
//	d⟨g, dW⟩/d dy = x·gᵀ,  d⟨g, dW⟩/dx = dy·g (the dx op with g for W).
//
// db = Σ_rows dy is not differentiated (nothing on a penalty's path needs it).
func (o linearGradOp) DiffWRT(int) []bool {
	switch o.wrt {
	case 0:
		return []bool{false, true, true}
	case 1:
		return []bool{true, false, true}
	}
	return []bool{false, false, true}
}
func (o linearGradOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	x, w, dy := in[0], in[1], in[2]
	switch o.wrt {
	case 0:
		dw, err := G.ApplyOp(newLinearGradOp(1), grad, w, dy)
		if err != nil {
			return nil, err
		}
		ddy, err := MatMulT(grad.Graph(), grad, w)
		return G.Nodes{nil, dw, ddy}, err
	case 1:
		dx, err := G.ApplyOp(newLinearGradOp(0), x, grad, dy)
		if err != nil {
			return nil, err
		}
		ddy, err := MatMulT(grad.Graph(), x, grad)
		return G.Nodes{dx, nil, ddy}, err
	}
	return nil, fmt.Errorf("%s: the second derivative through the bias gradient is not implemented", o.name)
}

func linearBackward[T float](wrt int, x, w, dy, r []T, n, in, out int) {
	switch wrt {
	case 0: // dx = dy·W, split over the columns of dx
		rowParts(in, n*in*out, func(lo, hi int) {
			gemm(false, false, n, hi-lo, out, 1, dy, out, w[lo:], in, 0, r[lo:], in)
		})
	case 1: // dW = dyᵀ·x, split over the output rows (each a full sum over the batch)
		rowParts(out, n*in*out, func(lo, hi int) {
			gemm(true, false, hi-lo, in, n, 1, dy[lo:], out, x, in, 0, r[lo*in:], in)
		})
	default:
		clear(r)
		for i := 0; i < n; i++ {
			row := dy[i*out : (i+1)*out]
			for j := range r {
				r[j] += row[j]
			}
		}
	}
}
