package nn

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

// Param is one learnable tensor. Its value is a single *tensor.Dense that
// every graph of a model binds by pointer (one graph per objective, one for
// inference), so an in-place optimizer update is seen by all of them.
type Param struct {
	Name  string // PyTorch-style state_dict name, e.g. "enc.0.weight"
	Value *tensor.Dense
	nodes map[*G.ExprGraph]*G.Node
}

// Shape returns the parameter's shape as ints.
func (p *Param) Shape() []int { return []int(p.Value.Shape().Clone()) }

// Node returns the parameter's node in graph g, creating it on first use.
func (p *Param) Node(g *G.ExprGraph) *G.Node {
	if n, ok := p.nodes[g]; ok {
		return n
	}
	n := G.NodeFromAny(g, p.Value, G.WithName(p.Name))
	if p.nodes == nil {
		p.nodes = map[*G.ExprGraph]*G.Node{}
	}
	p.nodes[g] = n
	return n
}

// Params creates parameters in a fixed order from one seeded stream, so the
// same seed always gives the same initial weights.
type Params struct {
	Dtype tensor.Dtype
	RNG   *rng.RNG
	List  []*Param
}

// NewParams returns an empty parameter set of the given dtype whose
// initial values are drawn from r.
func NewParams(dt tensor.Dtype, r *rng.RNG) *Params { return &Params{Dtype: dt, RNG: r} }

func (ps *Params) add(name string, shape []int) *Param {
	p := &Param{Name: name, Value: tensor.New(tensor.Of(ps.Dtype), tensor.WithShape(shape...))}
	ps.List = append(ps.List, p)
	return p
}

// Uniform adds a parameter drawn from U(lo, hi).
func (ps *Params) Uniform(name string, shape []int, lo, hi float64) *Param {
	p := ps.add(name, shape)
	switch d := p.Value.Data().(type) {
	case []float32:
		rng.Uniform(ps.RNG, d, lo, hi)
	case []float64:
		rng.Uniform(ps.RNG, d, lo, hi)
	}
	return p
}

// Normal adds a parameter drawn from N(0, std²) (PyTorch's Embedding init with std 1).
func (ps *Params) Normal(name string, shape []int, std float64) *Param {
	p := ps.add(name, shape)
	switch d := p.Value.Data().(type) {
	case []float32:
		rng.Normal(ps.RNG, d)
		for i := range d {
			d[i] *= float32(std)
		}
	case []float64:
		rng.Normal(ps.RNG, d)
		for i := range d {
			d[i] *= std
		}
	}
	return p
}

// Constant adds a parameter filled with c (e.g. a norm's scale of ones).
func (ps *Params) Constant(name string, shape []int, c float64) *Param {
	p := ps.add(name, shape)
	switch d := p.Value.Data().(type) {
	case []float32:
		for i := range d {
			d[i] = float32(c)
		}
	case []float64:
		for i := range d {
			d[i] = c
		}
	}
	return p
}

// Count returns the number of scalars in all parameters.
func (ps *Params) Count() int {
	n := 0
	for _, p := range ps.List {
		n += p.Value.Shape().TotalSize()
	}
	return n
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
