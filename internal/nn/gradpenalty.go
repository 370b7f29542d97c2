package nn

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// GradPenalty adds to out's graph the gradient penalty
//
//	mean_n ‖∂(Σ out)/∂x_n‖²  =  (1/N) Σ_{n,…} (∂(Σ out)/∂x)[n,…]²,
//
// with N = x's first (batch) axis. With out the discriminator's logits on
// real data this is the R1 regulariser of Mescheder, Geiger and Nowozin,
// "Which Training Methods for GANs do actually Converge?" (ICML 2018),
// before its factor γ/2. Each sample's logit depends on that sample's input
// only, so the gradient of the summed logits is every sample's own.
//
// The gradient is a subgraph built from the ops' SymDiff methods, so the
// penalty is an ordinary node: G.Grad of a loss that contains it
// differentiates through that subgraph (double backpropagation), which
// every op between x and out, and every op its gradient is made of, must
// support (each op here says whether it does; SiLU and Sigmoid do not).
//
// Take one G.Grad of the whole loss, e.g. softplus(−D(real)) summed plus
// γ/2 times the penalty: the penalty alone does not depend on the biases
// (with LeakyReLU they reach ∂D/∂x only through the piecewise-constant
// slopes), and G.Grad reports such a parameter as non-differentiable.
func GradPenalty(out, x *G.Node) (*G.Node, error) {
	g := out.Graph()
	if g == nil || x.Graph() != g {
		return nil, fmt.Errorf("grad penalty: out and x are not in one graph")
	}
	if x.Dims() < 1 || x.Shape()[0] < 1 {
		return nil, fmt.Errorf("grad penalty: x of shape %v has no batch axis", x.Shape())
	}
	if out.Dtype() != x.Dtype() {
		return nil, fmt.Errorf("grad penalty: out is %v, x is %v", out.Dtype(), x.Dtype())
	}
	seed := G.NewTensor(g, out.Dtype(), out.Dims(), G.WithShape(out.Shape()...), G.WithInit(G.Ones()),
		G.WithName(fmt.Sprintf("gradpenalty_ones%d", uniq.Add(1))))
	if out.IsScalar() {
		seed = G.NewScalar(g, out.Dtype(), G.WithInit(G.Ones()), G.WithName(fmt.Sprintf("gradpenalty_one%d", uniq.Add(1))))
	}
	dx, err := vjp(out, seed, x)
	if err != nil {
		return nil, fmt.Errorf("grad penalty: %w", err)
	}
	sq, err := G.Square(dx)
	if err != nil {
		return nil, fmt.Errorf("grad penalty: %w", err)
	}
	sum, err := G.Sum(sq)
	if err != nil {
		return nil, fmt.Errorf("grad penalty: %w", err)
	}
	p, err := Scale(sum, 1/float64(x.Shape()[0]))
	if err != nil {
		return nil, fmt.Errorf("grad penalty: %w", err)
	}
	return p, nil
}

// vjp builds into out's graph the vector–Jacobian product seed·∂out/∂wrt,
// the gradient of Σ seed⊙out with respect to wrt, by a reverse sweep over
// the ops' SymDiff methods, the same sweep G.Grad makes.
//
// G.Grad itself cannot be used here: it records on every node it
// differentiates that the node's derivative is known (Node.Deriv), and a
// later G.Grad on the same graph takes that recorded derivative for the
// node's gradient instead of differentiating it again (Gorgonia v0.9.18,
// Backpropagate: "skipping - previously differentiated"). The loss's G.Grad
// would then take ∂(Σ out)/∂h for ∂loss/∂h at every node h between x and
// out, silently. vjp records nothing on the graph's nodes.
func vjp(out, seed, wrt *G.Node) (*G.Node, error) {
	g := out.Graph()
	sorted, err := G.Sort(g) // every node before its children
	if err != nil {
		return nil, err
	}
	children := func(n *G.Node) G.Nodes {
		var cs G.Nodes
		for it := g.From(n.ID()); it.Next(); {
			cs = append(cs, it.Node().(*G.Node))
		}
		return cs
	}
	diffWRT := func(n *G.Node, cs G.Nodes) ([]bool, G.SDOp) {
		if len(cs) == 0 {
			return nil, nil
		}
		op, ok := n.Op().(G.SDOp)
		if !ok {
			return nil, nil
		}
		return op.DiffWRT(len(cs)), op
	}
	// reaches: out depends on the node through differentiable inputs;
	// depends: the node depends on wrt through differentiable inputs.
	reaches := map[*G.Node]bool{out: true}
	for _, n := range sorted {
		if !reaches[n] {
			continue
		}
		cs := children(n)
		diffs, _ := diffWRT(n, cs)
		for j, c := range cs {
			if j < len(diffs) && diffs[j] {
				reaches[c] = true
			}
		}
	}
	if !reaches[wrt] {
		return nil, fmt.Errorf("%v does not depend differentiably on %v", out, wrt)
	}
	depends := map[*G.Node]bool{wrt: true}
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		cs := children(n)
		diffs, _ := diffWRT(n, cs)
		for j, c := range cs {
			if j < len(diffs) && diffs[j] && depends[c] {
				depends[n] = true
				break
			}
		}
	}
	grads := map[*G.Node]G.Nodes{out: {seed}}
	for _, n := range sorted {
		if !reaches[n] || !depends[n] {
			continue
		}
		sum, err := G.ReduceAdd(grads[n])
		if err != nil {
			return nil, fmt.Errorf("summing the gradients of %v: %w", n, err)
		}
		if sum == nil {
			return nil, fmt.Errorf("no gradient reached %v", n)
		}
		if n == wrt {
			return sum, nil
		}
		cs := children(n)
		diffs, op := diffWRT(n, cs)
		if op == nil {
			return nil, fmt.Errorf("op %v of %v has no symbolic derivative", n.Op(), n)
		}
		need := make([]bool, len(cs))
		for j, c := range cs {
			need[j] = diffs[j] && reaches[c] && depends[c]
		}
		var d G.Nodes
		if p, ok := op.(partialDiffer); ok {
			d, err = p.symDiffSome(cs, sum, need)
		} else {
			d, err = op.SymDiff(cs, n, sum)
		}
		if err != nil {
			return nil, fmt.Errorf("differentiating %v: %w", n, err)
		}
		for j, c := range cs {
			if need[j] {
				grads[c] = append(grads[c], d[j])
			}
		}
	}
	return nil, fmt.Errorf("no gradient reached %v", wrt)
}

// partialDiffer is an op that can build the gradients of some of its inputs
// only. vjp asks it for those on the path from wrt, so that the gradient
// subgraph computes no weight gradients that nothing reads: SymDiff builds
// all of them, and the tape machine runs every node of the graph (a
// convolution's dW costs about as much as its forward pass).
type partialDiffer interface {
	symDiffSome(in G.Nodes, grad *G.Node, need []bool) (G.Nodes, error)
}
