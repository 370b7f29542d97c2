package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Upsample2x is nearest-neighbour ×2 upsampling of NCHW x,
//
//	y[n,c,i,j] = x[n,c,⌊i/2⌋,⌊j/2⌋],
//
// whose gradient is the 2×2 sum-pool of dy. Gorgonia's Upsample2D is
// correct but reads and writes every element through boxed At/SetAt
// calls, about 10× slower.
func Upsample2x(x *G.Node) (*G.Node, error) {
	y, err := G.ApplyOp(upsampleOp{newOp("Upsample2x")}, x)
	if err != nil {
		return nil, fmt.Errorf("upsample2x: %w", err)
	}
	return y, nil
}

// upsampleOp: input x (N,C,H,W); output (N,C,2H,2W).
type upsampleOp struct{ opBase }

func (upsampleOp) Arity() int   { return 1 }
func (upsampleOp) Type() hmType { return fnType(tensorType(4), tensorType(4)) }
func (upsampleOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	x := shapeOf(in[0])
	if len(x) != 4 {
		return nil, fmt.Errorf("upsample2x: input %v is not NCHW", x)
	}
	return tensor.Shape{x[0], x[1], 2 * x[2], 2 * x[3]}, nil
}
func (o upsampleOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o upsampleOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	x := denseOf(v[0])
	s := x.Shape()
	y := o.output(p, x, tensor.Shape{s[0], s[1], 2 * s[2], 2 * s[3]})
	switch x.Dtype() {
	case tensor.Float32:
		upsampleForward(data[float32](x), data[float32](y), s[0]*s[1]*s[2], s[3])
	default:
		upsampleForward(data[float64](x), data[float64](y), s[0]*s[1]*s[2], s[3])
	}
	return y, nil
}

// upsampleForward writes each of the rows input rows of width w twice,
// each element twice.
func upsampleForward[T float](x, y []T, rows, w int) {
	for r := 0; r < rows; r++ {
		src, dst := x[r*w:(r+1)*w], y[4*r*w:(4*r+2)*w]
		for j, v := range src {
			dst[2*j], dst[2*j+1] = v, v
		}
		copy(y[(4*r+2)*w:(4*r+4)*w], dst)
	}
}

func (upsampleOp) DiffWRT(int) []bool { return []bool{true} }
func (upsampleOp) SymDiff(_ G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(upsampleGradOp{newOp("Upsample2xGrad")}, grad)
	return G.Nodes{d}, err
}

// upsampleGradOp is the 2×2 sum-pool dx[n,c,i,j] = Σ_{a,b∈{0,1}} dy[n,c,2i+a,2j+b].
type upsampleGradOp struct{ opBase }

func (upsampleGradOp) Arity() int   { return 1 }
func (upsampleGradOp) Type() hmType { return fnType(tensorType(4), tensorType(4)) }
func (upsampleGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s := shapeOf(in[0])
	return tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2}, nil
}
func (o upsampleGradOp) Do(v ...G.Value) (G.Value, error) { return o.UsePreallocDo(nil, v...) }
func (o upsampleGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	dy := denseOf(v[0])
	s := dy.Shape()
	dx := o.output(p, dy, tensor.Shape{s[0], s[1], s[2] / 2, s[3] / 2})
	switch dy.Dtype() {
	case tensor.Float32:
		sumPool2x(data[float32](dy), data[float32](dx), s[0]*s[1]*s[2]/2, s[3]/2)
	default:
		sumPool2x(data[float64](dy), data[float64](dx), s[0]*s[1]*s[2]/2, s[3]/2)
	}
	return dx, nil
}

func sumPool2x[T float](dy, dx []T, rows, w int) {
	for r := 0; r < rows; r++ {
		top, bot, dst := dy[4*r*w:(4*r+2)*w], dy[(4*r+2)*w:(4*r+4)*w], dx[r*w:(r+1)*w]
		for j := range dst {
			dst[j] = top[2*j] + top[2*j+1] + bot[2*j] + bot[2*j+1]
		}
	}
}
