// Package models holds one file per generative model, each readable top to
// bottom: shapes, forward pass, losses. Models know tensors and graphs, not
// the command line.
package models

import (
	"gorgonia.org/tensor"

	G "gorgonia.org/gorgonia"
)

// scalar is a constant of the graph's dtype (mixing a float64 constant into a
// float32 graph is a type error in Gorgonia).
func scalar(g *G.ExprGraph, dt tensor.Dtype, v float64) *G.Node {
	if dt == tensor.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}

// scalarValue reads a scalar Value as float64.
func scalarValue(v G.Value) float64 {
	switch x := v.Data().(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return 0
}
