package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// FourierFeatures maps each row x of its input (N, C) to the sines and
// cosines of its projections on the m frequency vectors a_j (the rows of
// freqs, C values each), (N, C) → (N, 2m):
//
//	y[n, j]     = sin(a_j · x_n),
//	y[n, m + j] = cos(a_j · x_n),   j < m,
//
// Fourier features of a low-dimensional input (Tancik et al., "Fourier
// Features Let Networks Learn High Frequency Functions in Low Dimensional
// Domains", NeurIPS 2020): an MLP on a raw 2-D point learns structure much
// finer than its input's range (a grid of tight modes) only slowly, one on
// these features quickly. Its gradient is
//
//	dx_n = Σ_j a_j · (cos(a_j · x_n) · dy[n, j] − sin(a_j · x_n) · dy[n, m + j]).
//
// The values are computed in float64 and rounded, by FourierRow, so
// features written outside a graph have the same bits. The gradient op has
// no derivative of its own, so the op cannot stand on the input path of
// GradPenalty; its caller gets the penalty's gradient another way (the 2-D
// diffusion GAN moves R1's perturbation into feature space with
// FourierJVP).
func FourierFeatures(x *G.Node, freqs [][]float64) (*G.Node, error) {
	if x.Dims() != 2 {
		return nil, fmt.Errorf("fourier features: input %v is not (N, C)", x.Shape())
	}
	if err := checkFreqs(freqs, x.Shape()[1]); err != nil {
		return nil, fmt.Errorf("fourier features: %w", err)
	}
	y, err := G.ApplyOp(fourierOp{opBase: newOp("FourierFeatures"), freqs: freqs}, x)
	if err != nil {
		return nil, fmt.Errorf("fourier features: %w", err)
	}
	return y, nil
}

func checkFreqs(freqs [][]float64, c int) error {
	if len(freqs) == 0 {
		return fmt.Errorf("no frequency vectors")
	}
	for j, a := range freqs {
		if len(a) != c {
			return fmt.Errorf("frequency vector %d has %d values, the input's rows %d", j, len(a), c)
		}
	}
	return nil
}

// FourierRow writes the 2m features of one point x into dst:
// [sin(a_0·x) … sin(a_{m−1}·x), cos(a_0·x) … cos(a_{m−1}·x)].
func FourierRow[T float](dst []T, x []T, freqs [][]float64) {
	m := len(freqs)
	for j, a := range freqs {
		s, c := math.Sincos(dot(a, x))
		dst[j], dst[m+j] = T(s), T(c)
	}
}

// FourierJVP adds to dst (2m values) the derivative of x's features along
// u, the Jacobian–vector product that carries a move u of the point into
// feature space: cos(a_j·x)·(a_j·u) to the sines, −sin(a_j·x)·(a_j·u) to
// the cosines.
func FourierJVP[T float](dst []T, x []T, u []float64, freqs [][]float64) {
	m := len(freqs)
	for j, a := range freqs {
		s, c := math.Sincos(dot(a, x))
		au := 0.0
		for k, v := range u {
			au += a[k] * v
		}
		dst[j] += T(c * au)
		dst[m+j] += T(-s * au)
	}
}

// FourierVJP adds to dx (C values) the vector–Jacobian product of dy (2m
// values) at x: the gradient with respect to x of a function of x's
// features, given its gradient dy with respect to them.
func FourierVJP[T float](dx []float64, dy, x []T, freqs [][]float64) {
	m := len(freqs)
	for j, a := range freqs {
		s, c := math.Sincos(dot(a, x))
		w := c*float64(dy[j]) - s*float64(dy[m+j])
		for k, v := range a {
			dx[k] += v * w
		}
	}
}

// dot is a·x in float64.
func dot[T float](a []float64, x []T) float64 {
	d := 0.0
	for k, v := range a {
		d += v * float64(x[k])
	}
	return d
}

// fourierOp is the forward op (input x) or, with grad set, its gradient
// op (inputs x and dy); the frequencies are hashed with the name.
type fourierOp struct {
	opBase
	freqs [][]float64
	grad  bool
}

func (o fourierOp) WriteHash(h hash.Hash) { fmt.Fprint(h, o.name, o.freqs) }
func (o fourierOp) Hashcode() uint32      { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }

func (o fourierOp) Arity() int {
	if o.grad {
		return 2
	}
	return 1
}
func (o fourierOp) Type() hmType {
	if o.grad {
		return fnType(tensorType(2), tensorType(2), tensorType(2))
	}
	return fnType(tensorType(2), tensorType(2))
}
func (o fourierOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	if len(s) != 2 {
		return nil, fmt.Errorf("%s: input %v is not (N, C)", o.name, s)
	}
	if o.grad {
		return s, nil
	}
	return tensor.Shape{s[0], 2 * len(o.freqs)}, nil
}
func (o fourierOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o fourierOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	if x == nil {
		return nil, fmt.Errorf("%s: input %T is not a dense tensor", o.name, v[0])
	}
	s := x.Shape()
	if o.grad {
		dx := o.output(p, x, s.Clone())
		switch x.Dtype() {
		case tensor.Float32:
			fourierBackward(data[float32](x), data[float32](v[1].(*tensor.Dense)), data[float32](dx), s[1], o.freqs)
		default:
			fourierBackward(data[float64](x), data[float64](v[1].(*tensor.Dense)), data[float64](dx), s[1], o.freqs)
		}
		return dx, nil
	}
	y := o.output(p, x, tensor.Shape{s[0], 2 * len(o.freqs)})
	switch x.Dtype() {
	case tensor.Float32:
		fourierForward(data[float32](x), data[float32](y), s[1], o.freqs)
	default:
		fourierForward(data[float64](x), data[float64](y), s[1], o.freqs)
	}
	return y, nil
}

func fourierForward[T float](x, y []T, c int, freqs [][]float64) {
	w := 2 * len(freqs)
	for n := range len(x) / c {
		FourierRow(y[n*w:(n+1)*w], x[n*c:(n+1)*c], freqs)
	}
}

func fourierBackward[T float](x, dy, dx []T, c int, freqs [][]float64) {
	w := 2 * len(freqs)
	g := make([]float64, c)
	for n := range len(x) / c {
		clear(g)
		FourierVJP(g, dy[n*w:(n+1)*w], x[n*c:(n+1)*c], freqs)
		for k, v := range g {
			dx[n*c+k] = T(v)
		}
	}
}

func (o fourierOp) DiffWRT(int) []bool {
	if o.grad {
		return []bool{false, false}
	}
	return []bool{true}
}
func (o fourierOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	if o.grad {
		return nil, fmt.Errorf("%s has no second derivative", o.name)
	}
	d, err := G.ApplyOp(fourierOp{opBase: newOp(o.name + "Grad"), freqs: o.freqs, grad: true}, in[0], grad)
	return G.Nodes{d}, err
}
