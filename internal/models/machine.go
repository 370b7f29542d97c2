package models

import (
	G "gorgonia.org/gorgonia"

	"github.com/gentri/gentri/internal/nn"
)

// The image models' graphs run on tape machines whose op outputs share
// buffers by lifetime (nn.PlanBuffers): a training step then holds the
// activations and gradients live at one time, not all of them at once.
// keep names the nodes whose Value a caller reads after a run (the
// parameters' gradients, R1's gradient wrt the pairs); values copied out
// with G.Read need no entry. A plan changes no bit of any result: see
// TestBufferPlansChangeNoBit.

// plainMachines makes newMachine and newPrunedMachine build Gorgonia's
// plain tape machine, every op output in a buffer of its own: the
// reference the buffer-plan tests compare the planned machines with.
var plainMachines bool

// newMachine compiles all of g into a tape machine with planned buffers.
func newMachine(g *G.ExprGraph, keep G.Nodes) (G.VM, error) {
	if plainMachines {
		return G.NewTapeMachine(g), nil
	}
	vm, _, err := nn.NewTapeMachine(g, keep)
	return vm, err
}

// newPrunedMachine compiles only the part of g that outputs need, with
// planned buffers (nn.NewPrunedTapeMachine): Gorgonia's Grad builds every
// gradient of an op on the path (a convolution's dW and db as well as its
// dx), and a whole-graph program runs all of them; in the DDGAN's
// generator step that is D's whole weight gradient, a tenth of the step,
// for nothing.
func newPrunedMachine(g *G.ExprGraph, outputs, keep G.Nodes) (G.VM, error) {
	if plainMachines {
		sub := g.ExactSubgraphRoots(outputs...)
		prog, locs, err := G.CompileFunction(g, sub.Inputs(), outputs)
		if err != nil {
			return nil, err
		}
		return G.NewTapeMachine(g, G.WithPrecompiled(prog, locs)), nil
	}
	vm, _, err := nn.NewPrunedTapeMachine(g, outputs, keep)
	return vm, err
}
