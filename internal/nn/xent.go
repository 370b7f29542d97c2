package nn

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SoftmaxCrossEntropy is the mean cross-entropy of logits (B, K) against
// target distributions y (B, K) (one-hot for labels):
//
//	L = −(1/B) Σ_b Σ_k y_bk · log softmax(l_b)_k,   dL/dl = (softmax(l) − y)/B.
//
// One fused, numerically stable op (log-sum-exp with the row maximum
// subtracted). y is data: it gets no gradient.
func SoftmaxCrossEntropy(logits, y *G.Node) (*G.Node, error) {
	n, err := G.ApplyOp(xentOp{newOp("SoftmaxCrossEntropy")}, logits, y)
	if err != nil {
		return nil, fmt.Errorf("softmax cross-entropy: %w", err)
	}
	return n, nil
}

type xentOp struct{ opBase }

func (xentOp) Arity() int { return 2 }
func (xentOp) Type() hmType {
	return fnType(tensorType(2), tensorType(2), hm.TypeVariable('a'))
}
func (xentOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	if a, b := shapeOf(in[0]), shapeOf(in[1]); !a.Eq(b) || len(a) != 2 {
		return nil, fmt.Errorf("cross-entropy: logits %v and targets %v differ", a, b)
	}
	return tensor.ScalarShape(), nil
}
func (xentOp) Do(v ...G.Value) (G.Value, error) {
	l, y := denseOf(v[0]), denseOf(v[1])
	rows, k := l.Shape()[0], l.Shape()[1]
	if l.Dtype() == tensor.Float32 {
		return G.NewF32(float32(xentSum(data[float32](l), data[float32](y), rows, k) / float64(rows))), nil
	}
	return G.NewF64(xentSum(data[float64](l), data[float64](y), rows, k) / float64(rows)), nil
}

// logSumExp of one row, stable.
func logSumExp[T float](row []T) float64 {
	m := math.Inf(-1)
	for _, v := range row {
		m = math.Max(m, float64(v))
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m + math.Log(s)
}

func xentSum[T float](l, y []T, rows, k int) float64 {
	s := 0.0
	for b := 0; b < rows; b++ {
		row, tgt := l[b*k:(b+1)*k], y[b*k:(b+1)*k]
		lse := logSumExp(row)
		for j, t := range tgt {
			if t != 0 {
				s -= float64(t) * (float64(row[j]) - lse)
			}
		}
	}
	return s
}

func (xentOp) DiffWRT(int) []bool { return []bool{true, false} }
func (xentOp) SymDiff(in G.Nodes, _, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(xentGradOp{newOp("SoftmaxCrossEntropyGrad")}, in[0], in[1], grad)
	return G.Nodes{d, nil}, err
}

type xentGradOp struct{ opBase }

func (xentGradOp) Arity() int { return 3 }
func (xentGradOp) Type() hmType {
	return fnType(tensorType(2), tensorType(2), hm.TypeVariable('a'), tensorType(2))
}
func (xentGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) { return shapeOf(in[0]), nil }
func (o xentGradOp) Do(v ...G.Value) (G.Value, error)                { return o.UsePreallocDo(nil, v...) }
func (o xentGradOp) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	l, y := denseOf(v[0]), denseOf(v[1])
	r := o.output(p, l, l.Shape().Clone())
	rows, k := l.Shape()[0], l.Shape()[1]
	switch g := v[2].Data().(type) {
	case float32:
		xentGrad(data[float32](l), data[float32](y), data[float32](r), rows, k, float64(g))
	case float64:
		xentGrad(data[float64](l), data[float64](y), data[float64](r), rows, k, g)
	default:
		return nil, fmt.Errorf("cross-entropy grad: unexpected upstream gradient %T", g)
	}
	return r, nil
}

func xentGrad[T float](l, y, r []T, rows, k int, g float64) {
	scale := g / float64(rows)
	for b := 0; b < rows; b++ {
		row := l[b*k : (b+1)*k]
		lse := logSumExp(row)
		for j, v := range row {
			r[b*k+j] = T(scale * (math.Exp(float64(v)-lse) - float64(y[b*k+j])))
		}
	}
}

// Softmax returns softmax(row) for each row of logits (B, K), in Go: the
// class probabilities evaluation needs from an inference graph's logits.
func Softmax(logits []float32, k int) []float64 {
	out := make([]float64, len(logits))
	for b := 0; b < len(logits)/k; b++ {
		row := logits[b*k : (b+1)*k]
		lse := logSumExp(row)
		for j, v := range row {
			out[b*k+j] = math.Exp(float64(v) - lse)
		}
	}
	return out
}
