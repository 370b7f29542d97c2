package nn

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GradCheck compares the symbolic gradient of a scalar loss with central
// finite differences, (f(x+h) − f(x−h)) / 2h, for every element of every
// input, and returns the worst relative error |a−n| / max(|a|, |n|, 1e-3).
// Inputs must be float64; build receives one node per input.
func GradCheck(inputs []*tensor.Dense, h float64, build func(g *G.ExprGraph, in []*G.Node) (*G.Node, error)) (float64, error) {
	params := make([]*Param, len(inputs))
	for i, v := range inputs {
		params[i] = &Param{Name: fmt.Sprintf("in%d", i), Value: v}
	}
	return GradCheckParams(params, h, func(g *G.ExprGraph) (*G.Node, error) {
		nodes := make([]*G.Node, len(params))
		for i, p := range params {
			nodes[i] = p.Node(g)
		}
		return build(g, nodes)
	})
}

// GradCheckParams is GradCheck for a model's parameters: build adds a
// scalar loss to g using the parameters' nodes (p.Node(g)); every element
// of every parameter in params (float64) is perturbed in place.
func GradCheckParams(params []*Param, h float64, build func(g *G.ExprGraph) (*G.Node, error)) (float64, error) {
	for _, p := range params {
		if p.Value.Dtype() != tensor.Float64 {
			return 0, fmt.Errorf("gradcheck: %s is %v, want float64", p.Name, p.Value.Dtype())
		}
	}
	g := G.NewGraph()
	loss, err := build(g)
	if err != nil {
		return 0, err
	}
	var lossV G.Value
	G.Read(loss, &lossV)
	nodes := make(G.Nodes, len(params))
	for i, p := range params {
		nodes[i] = p.Node(g)
	}
	grads, err := G.Grad(loss, nodes...)
	if err != nil {
		return 0, fmt.Errorf("gradcheck: grad: %w", err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	run := func() (float64, error) {
		m.Reset()
		if err := m.RunAll(); err != nil {
			return 0, err
		}
		return lossV.Data().(float64), nil
	}
	if _, err := run(); err != nil {
		return 0, err
	}
	// Snapshot every gradient before any perturbation: the grad nodes are
	// recomputed by each run below.
	analytic := make([][]float64, len(grads))
	for i, gn := range grads {
		analytic[i] = append([]float64(nil), gn.Value().Data().([]float64)...)
	}
	worst := 0.0
	for i, p := range params {
		x := p.Value.Data().([]float64)
		for j := range x {
			orig := x[j]
			x[j] = orig + h
			fp, err := run()
			if err != nil {
				return 0, err
			}
			x[j] = orig - h
			fm, err := run()
			if err != nil {
				return 0, err
			}
			x[j] = orig
			num := (fp - fm) / (2 * h)
			a := analytic[i][j]
			rel := math.Abs(a-num) / math.Max(math.Max(math.Abs(a), math.Abs(num)), 1e-3)
			if rel > worst || math.IsNaN(rel) {
				worst = rel
			}
		}
	}
	return worst, nil
}
