package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SinusoidFeatures maps every value of x (N, C) to its sines and cosines at
// the angular frequencies f (F of them), (N, C) → (N, 2F·C):
//
//	y[n, 2F·c + i]     = sin(f_i · x[n,c]),
//	y[n, 2F·c + F + i] = cos(f_i · x[n,c]),   i < F,
//
// Fourier features of a low-dimensional input (Tancik et al., "Fourier
// Features Let Networks Learn High Frequency Functions in Low Dimensional
// Domains", NeurIPS 2020; axis-aligned frequencies, as the positional
// encoding of NeRF): an MLP on a raw 2-D point learns structure much finer
// than its input's range (a grid of tight modes) only slowly, one on these
// features quickly. Its gradient is
//
//	dx[n,c] = Σ_i f_i · (cos(f_i x) · dy_sin_i − sin(f_i x) · dy_cos_i).
//
// The values are computed in float64 and rounded, by SinusoidRow, so
// features written outside a graph have the same bits. The gradient op has
// no derivative of its own: the op cannot stand on the input path of
// GradPenalty (its caller gets the penalty's gradient another way, through
// SinusoidJVP).
func SinusoidFeatures(x *G.Node, freqs []float64) (*G.Node, error) {
	if x.Dims() != 2 {
		return nil, fmt.Errorf("sinusoid features: input %v is not (N, C)", x.Shape())
	}
	if len(freqs) == 0 {
		return nil, fmt.Errorf("sinusoid features: no frequencies")
	}
	y, err := G.ApplyOp(newSinusoidOp("SinusoidFeatures", freqs), x)
	if err != nil {
		return nil, fmt.Errorf("sinusoid features: %w", err)
	}
	return y, nil
}

// SinusoidRow writes the 2F features of one value v into dst:
// [sin(f_0 v) … sin(f_{F−1} v), cos(f_0 v) … cos(f_{F−1} v)].
func SinusoidRow[T float](dst []T, v float64, freqs []float64) {
	F := len(freqs)
	for i, f := range freqs {
		s, c := math.Sincos(f * v)
		dst[i], dst[F+i] = T(s), T(c)
	}
}

// SinusoidJVP adds to dst (2F values) the derivative of v's features along
// u, the Jacobian–vector product that carries a move u of the point into
// feature space: f_i·cos(f_i v)·u to the sines, −f_i·sin(f_i v)·u to the
// cosines.
func SinusoidJVP[T float](dst []T, v, u float64, freqs []float64) {
	F := len(freqs)
	for i, f := range freqs {
		s, c := math.Sincos(f * v)
		dst[i] += T(f * c * u)
		dst[F+i] += T(-f * s * u)
	}
}

// SinusoidVJP is the vector–Jacobian product ⟨dy, ∂row/∂v⟩ of the 2F
// features of v: the derivative of a function of the features with respect
// to v, given its gradient dy with respect to them.
func SinusoidVJP[T float](dy []T, v float64, freqs []float64) float64 {
	F := len(freqs)
	d := 0.0
	for i, f := range freqs {
		s, c := math.Sincos(f * v)
		d += f * (c*float64(dy[i]) - s*float64(dy[F+i]))
	}
	return d
}

// sinusoidOp is the forward op (input x) or, with grad set, its gradient
// op (inputs x and dy); the frequencies are hashed with the name.
type sinusoidOp struct {
	opBase
	freqs []float64
	grad  bool
}

func newSinusoidOp(name string, freqs []float64) sinusoidOp {
	return sinusoidOp{opBase: newOp(name), freqs: freqs}
}

func (o sinusoidOp) WriteHash(h hash.Hash) { fmt.Fprint(h, o.name, o.freqs) }
func (o sinusoidOp) Hashcode() uint32      { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }

func (o sinusoidOp) Arity() int {
	if o.grad {
		return 2
	}
	return 1
}
func (o sinusoidOp) Type() hmType {
	if o.grad {
		return fnType(tensorType(2), tensorType(2), tensorType(2))
	}
	return fnType(tensorType(2), tensorType(2))
}
func (o sinusoidOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 2 {
		return nil, fmt.Errorf("%s: input %v is not (N, C)", o.name, s)
	}
	if o.grad {
		return s, nil
	}
	return tensor.Shape{s[0], 2 * len(o.freqs) * s[1]}, nil
}
func (o sinusoidOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o sinusoidOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	if x == nil {
		return nil, fmt.Errorf("%s: input %T is not a dense tensor", o.name, v[0])
	}
	s := x.Shape()
	if o.grad {
		dy := denseOf(v[1])
		dx := o.output(p, x, s.Clone())
		switch x.Dtype() {
		case tensor.Float32:
			sinusoidBackward(data[float32](x), data[float32](dy), data[float32](dx), o.freqs)
		default:
			sinusoidBackward(data[float64](x), data[float64](dy), data[float64](dx), o.freqs)
		}
		return dx, nil
	}
	y := o.output(p, x, tensor.Shape{s[0], 2 * len(o.freqs) * s[1]})
	switch x.Dtype() {
	case tensor.Float32:
		sinusoidForward(data[float32](x), data[float32](y), o.freqs)
	default:
		sinusoidForward(data[float64](x), data[float64](y), o.freqs)
	}
	return y, nil
}

func sinusoidForward[T float](x, y []T, freqs []float64) {
	w := 2 * len(freqs)
	for k, v := range x {
		SinusoidRow(y[k*w:(k+1)*w], float64(v), freqs)
	}
}

func sinusoidBackward[T float](x, dy, dx []T, freqs []float64) {
	w := 2 * len(freqs)
	for k, v := range x {
		dx[k] = T(SinusoidVJP(dy[k*w:(k+1)*w], float64(v), freqs))
	}
}

func (o sinusoidOp) DiffWRT(int) []bool {
	if o.grad {
		return []bool{false, false}
	}
	return []bool{true}
}
func (o sinusoidOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, fmt.Errorf("%s has no second derivative", o.name)
	}
	op := newSinusoidOp(o.name+"Grad", o.freqs)
	op.grad = true
	d, err := G.ApplyOp(op, in[0], grad)
	return G.Nodes{d}, err
}
