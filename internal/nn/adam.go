package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// Adam is PyTorch's Adam (no weight decay), updating every parameter in
// place. Gorgonia's AdamSolver clones four tensors per parameter per step
// (gorgonia v0.9.18); this keeps its moments for the life of the run, which
// is also what a checkpoint must store for an exact resume.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	Step                  int64       // number of updates done (PyTorch's "step")
	M, V                  [][]float32 // first and second moments, one slice per parameter
	params                []*Param
}

// NewAdam returns an optimizer for params with zeroed moments.
func NewAdam(params []*Param, lr, beta1, beta2, eps float64) *Adam {
	a := &Adam{LR: lr, Beta1: beta1, Beta2: beta2, Eps: eps, params: params}
	for _, p := range params {
		n := p.Value.Shape().TotalSize()
		a.M = append(a.M, make([]float32, n))
		a.V = append(a.V, make([]float32, n))
	}
	return a
}

// Params returns the parameters in the order the moments are kept.
func (a *Adam) Params() []*Param { return a.params }

// Update applies one step with gradients grads[i] for params[i]:
//
//	m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
//	w ← w − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε).
//
// Moments are stored in float32 as PyTorch does, and float32 parameters are
// updated in float32 arithmetic as PyTorch does (adamKernel32); float64
// parameters in float64.
func (a *Adam) Update(grads []G.Value) error {
	if len(grads) != len(a.params) {
		return fmt.Errorf("adam: %d gradients for %d parameters", len(grads), len(a.params))
	}
	a.Step++
	t := float64(a.Step)
	bc1 := 1 - math.Pow(a.Beta1, t)
	bc2 := math.Sqrt(1 - math.Pow(a.Beta2, t))
	stepSize := a.LR / bc1
	for i, p := range a.params {
		switch w := p.Value.Data().(type) {
		case []float32:
			g, ok := grads[i].Data().([]float32)
			if !ok || len(g) != len(w) {
				return fmt.Errorf("adam: gradient of %s does not match its parameter", p.Name)
			}
			// 1−β in float64 first, as PyTorch does in Python: 1−float32(0.999)
			// is off by 1.3e-5 relative.
			f1, f2, c1, c2 := float32(a.Beta1), float32(a.Beta2), float32(1-a.Beta1), float32(1-a.Beta2)
			e, st, bc := float32(a.Eps), float32(stepSize), float32(bc2)
			m, v := a.M[i], a.V[i]
			parallelChunks(len(w), func(lo, hi int) {
				adam32(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], f1, f2, c1, c2, e, st, bc)
			})
		case []float64:
			g, ok := grads[i].Data().([]float64)
			if !ok || len(g) != len(w) {
				return fmt.Errorf("adam: gradient of %s does not match its parameter", p.Name)
			}
			adamKernel(w, g, a.M[i], a.V[i], a.Beta1, a.Beta2, a.Eps, stepSize, bc2)
		}
	}
	return nil
}

func adamKernel[T float](w, g []T, m, v []float32, b1, b2, eps, stepSize, bc2 float64) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)] // one bounds check, not four per element
	for j := range w {
		gj := float64(g[j])
		mj := b1*float64(m[j]) + (1-b1)*gj
		vj := b2*float64(v[j]) + (1-b2)*gj*gj
		m[j], v[j] = float32(mj), float32(vj)
		w[j] -= T(stepSize * mj / (math.Sqrt(vj)/bc2 + eps))
	}
}

// adamKernel32 is PyTorch's float32 Adam arithmetic (float32 throughout,
// sqrt and division in single precision): a quarter of the VAE's step in
// float64. The float64 kernel above stays for float64 parameters.
// The native build runs its C twin, gentri_adam32.
func adamKernel32(w, g, m, v []float32, f1, f2, c1, c2, e, st, bc float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for j := range w {
		gj := g[j]
		mj := f1*m[j] + c1*gj
		vj := f2*v[j] + c2*gj*gj
		m[j], v[j] = mj, vj
		w[j] -= st * mj / (float32(math.Sqrt(float64(vj)))/bc + e)
	}
}
