// Package nn is gentri's layer library over Gorgonia: parameters with
// deterministic initialisation, fused custom ops where Gorgonia is slow or
// missing, an in-place Adam, and a finite-difference gradient checker.
//
// Every op here works on float32 (training) and float64 (gradient checks).
package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// float is the element type of every kernel.
type float interface{ float32 | float64 }

// opBase carries the Op methods that are the same for every plain,
// side-effect-free op here; an op embeds it and names itself. out keeps the
// op's output tensor from one run of the graph to the next (newOp makes it):
// Gorgonia's tape machine drops every register on Reset, and reallocating
// them was about 500 MB per DDPM step, half of its memory and a tenth of its
// time in page faults.
type opBase struct {
	name string
	out  *outBuf
}

// outBuf holds one op node's output tensor. Every op builds its op value
// afresh for each node (so no two nodes share one), and every kernel writes
// all of its output, so a value from the previous run is simply overwritten.
// A caller that keeps a node's value past the next run must copy it.
type outBuf struct{ t *tensor.Dense }

func newOp(name string) opBase { return opBase{name, &outBuf{}} }

func (o opBase) ReturnsPtr() bool       { return false }
func (o opBase) CallsExtern() bool      { return false }
func (o opBase) OverwritesInput() int   { return -1 }
func (o opBase) String() string         { return o.name }
func (o opBase) WriteHash(h hash.Hash)  { fmt.Fprint(h, o.name) }
func (o opBase) Hashcode() uint32       { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }
func tensorType(dims int) G.TensorType  { return G.TensorType{Dims: dims, Of: hm.TypeVariable('a')} }
func fnType(ts ...hm.Type) hm.Type      { return hm.NewFnType(ts...) }
func shapeOf(d G.DimSizer) tensor.Shape { s, _ := d.(tensor.Shape); return s.Clone() }
func denseOf(v G.Value) *tensor.Dense   { d, _ := v.(*tensor.Dense); return d }

// output returns prealloc when it is a dense tensor of the wanted shape and
// dtype (the tape machine hands over a register that may hold another node's
// stale value, so callers overwrite every element); else the op's kept
// output when it fits; else a new tensor, which the op keeps.
func (o opBase) output(prealloc G.Value, like *tensor.Dense, shape tensor.Shape) *tensor.Dense {
	fits := func(d *tensor.Dense) bool { return d != nil && d.Dtype() == like.Dtype() && d.Shape().Eq(shape) }
	if p, ok := prealloc.(*tensor.Dense); ok && fits(p) {
		return p
	}
	if o.out != nil && fits(o.out.t) {
		return o.out.t
	}
	t := tensor.New(tensor.Of(like.Dtype()), tensor.WithShape(shape...))
	if o.out != nil {
		o.out.t = t
	}
	return t
}

// data returns the backing slice of a dense tensor as []T.
func data[T float](d *tensor.Dense) []T { return d.Data().([]T) }

// gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, through
// whatever BLAS G.Use selected (gonum by default, OpenBLAS in the openblas build).
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		G.WhichBLAS().Sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		G.WhichBLAS().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// hmType shortens the op signatures.
type hmType = hm.Type
