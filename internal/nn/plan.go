package nn

import (
	"cmp"
	"fmt"
	"slices"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A buffer plan by lifetime for the outputs of gentri's ops.
//
// Gorgonia's tape machine (v0.9.18) gives every node of a compiled graph a
// register of its own and drops them all on Reset, and gentri's ops keep
// their output from one run to the next (opBase.output) so as not to
// allocate it again each step. Either way the memory of a run is the sum
// over all nodes: for the DDPM's training step, every activation of the
// forward pass and every gradient of the backward pass at once, about half
// a gigabyte, although a gradient is dead as soon as the next op has read
// it.
//
// PlanBuffers walks the graph in the order the tape machine runs it, finds
// where each op's output is read for the last time, and lets outputs whose
// lifetimes do not overlap share one backing array: before the first run,
// each op's kept output (outBuf) becomes a tensor of its own shape over a
// shared array. The kernels already overwrite every element of their output
// (they find the previous run's values there today), so sharing changes no
// bit of any result.
//
// The rules that keep it safe:
//   - only the outputs of gentri's ops (those with an outBuf) are planned;
//     Gorgonia's own ops allocate their values as before;
//   - a Gorgonia op's value may be a view of an input (Reshape, Slice) or
//     written over it (the tape's "unsafe" in-place Add), so its value and
//     its inputs are one storage whose lifetime lasts until the last read of
//     any of them;
//   - a value that is read after the run (the keep nodes, such as the
//     parameters' gradients) or that no node reads (a root, which a caller
//     may look at) is never shared.
//
// After a run, a node's Value is valid only for keep nodes, roots, and the
// copies G.Read makes; any other node's buffer may hold a later node's
// value. A graph gets one plan: two machines over the same graph (each its
// own order) must not both plan it.

// Plan reports what PlanBuffers did: how many op outputs it planned, the
// bytes they would hold each on its own, and the bytes of the shared
// arrays that hold them instead.
type Plan struct {
	Outputs     int
	Bytes       int64 // Σ of the planned outputs' sizes
	SharedBytes int64 // Σ of the backing arrays' sizes
	LiveBytes   int64 // the most bytes of planned outputs live at one time: the least any sharing needs
}

func (p Plan) String() string {
	return fmt.Sprintf("%d op outputs: %.1f MB in %.1f MB of shared buffers (at most %.1f MB live at once)", p.Outputs, float64(p.Bytes)/1e6, float64(p.SharedBytes)/1e6, float64(p.LiveBytes)/1e6)
}

// NewTapeMachine compiles g, plans its op outputs with PlanBuffers (keep
// are the nodes whose values the caller reads after a run, beyond what
// G.Read copies out), and returns Gorgonia's tape machine for the compiled
// program. Unlike G.NewTapeMachine it returns a compile error instead of
// panicking.
func NewTapeMachine(g *G.ExprGraph, keep G.Nodes, opts ...G.VMOpt) (G.VM, Plan, error) {
	prog, locs, err := G.Compile(g)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("compiling the graph: %w", err)
	}
	plan, err := PlanBuffers(g, keep)
	if err != nil {
		return nil, Plan{}, err
	}
	return G.NewTapeMachine(g, append(opts, G.WithPrecompiled(prog, locs))...), plan, nil
}

// NewPrunedTapeMachine is NewTapeMachine for the part of g that outputs
// need (Gorgonia's G.CompileFunction over g.ExactSubgraphRoots(outputs)):
// Gorgonia's Grad builds every gradient of an op on the path (a
// convolution's dW and db as well as its dx), and a whole-graph program
// runs all of them, needed or not. The plan covers the nodes of that
// program only, in its order; the rest of g never runs.
func NewPrunedTapeMachine(g *G.ExprGraph, outputs, keep G.Nodes, opts ...G.VMOpt) (G.VM, Plan, error) {
	sub := g.ExactSubgraphRoots(outputs...)
	prog, locs, err := G.CompileFunction(g, sub.Inputs(), outputs)
	if err != nil {
		return nil, Plan{}, fmt.Errorf("compiling the graph: %w", err)
	}
	plan, err := PlanBuffers(sub, keep)
	if err != nil {
		return nil, Plan{}, err
	}
	return G.NewTapeMachine(g, append(opts, G.WithPrecompiled(prog, locs))...), plan, nil
}

// outBuffer exposes an op's kept output to the planner.
func (o opBase) outBuffer() *outBuf { return o.out }

type planned interface{ outBuffer() *outBuf }

// PlanBuffers gives the outputs of g's gentri ops shared backing arrays by
// lifetime, for a tape machine compiled from all of g (G.Compile's order:
// G.Sort reversed).
func PlanBuffers(g *G.ExprGraph, keep G.Nodes) (Plan, error) {
	order, err := G.Sort(g)
	if err != nil {
		return Plan{}, fmt.Errorf("buffer plan: %w", err)
	}
	for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
		order[i], order[j] = order[j], order[i]
	}
	end := len(order) // "after the run"
	pos := make(map[*G.Node]int, len(order))
	for i, n := range order {
		pos[n] = i
	}

	// Storages: a Gorgonia op's value shares storage with its op inputs.
	parent := make(map[*G.Node]*G.Node, len(order))
	var find func(n *G.Node) *G.Node
	find = func(n *G.Node) *G.Node {
		p, ok := parent[n]
		if !ok || p == n {
			return n
		}
		r := find(p)
		parent[n] = r
		return r
	}
	union := func(a, b *G.Node) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if pos[ra] > pos[rb] { // the earliest node names the storage: deterministic
			ra, rb = rb, ra
		}
		parent[rb] = ra
	}
	lastRead := make(map[*G.Node]int, len(order))
	for _, n := range order {
		_, ours := n.Op().(planned)
		for it := g.From(n.ID()); it.Next(); {
			c := it.Node().(*G.Node)
			lastRead[c] = max(lastRead[c], pos[n])
			if n.Op() != nil && !ours && c.Op() != nil {
				union(n, c)
			}
		}
	}
	kept := make(map[*G.Node]bool, len(keep))
	for _, n := range keep {
		kept[n] = true
	}
	storageEnd := make(map[*G.Node]int, len(order))
	for _, n := range order {
		e, ok := lastRead[n]
		if !ok || kept[n] { // a root, or read after the run
			e = end
		}
		r := find(n)
		storageEnd[r] = max(storageEnd[r], e)
	}

	// The planned outputs, each live from its node's run to its storage's
	// last read.
	var items []planItem
	var plan Plan
	for _, n := range order {
		op, ok := n.Op().(planned)
		if !ok || op.outBuffer() == nil || n.Dims() == 0 {
			continue
		}
		if dt := n.Dtype(); dt != tensor.Float32 && dt != tensor.Float64 {
			continue
		}
		it := planItem{node: n, out: op.outBuffer(), start: pos[n], end: storageEnd[find(n)], size: n.Shape().TotalSize()}
		items = append(items, it)
		plan.Outputs++
		plan.Bytes += int64(it.size) * int64(n.Dtype().Size())
	}
	plan.LiveBytes = liveBytes(items)
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		var these []*planItem
		for i := range items {
			if items[i].node.Dtype() == dt {
				these = append(these, &items[i])
			}
		}
		size := placeBySize(these)
		if size == 0 {
			continue
		}
		plan.SharedBytes += int64(size) * int64(dt.Size())
		var arena any
		if dt == tensor.Float32 {
			arena = make([]float32, size)
		} else {
			arena = make([]float64, size)
		}
		for _, it := range these {
			var backing any
			if dt == tensor.Float32 {
				backing = arena.([]float32)[it.offset : it.offset+it.size : it.offset+it.size]
			} else {
				backing = arena.([]float64)[it.offset : it.offset+it.size : it.offset+it.size]
			}
			it.out.t = tensor.New(tensor.WithShape(it.node.Shape()...), tensor.WithBacking(backing))
		}
	}
	return plan, nil
}

// planItem is one planned output: its node, live over the run positions
// start..end (both included), size elements at offset in its dtype's arena.
type planItem struct {
	node         *G.Node
	out          *outBuf
	start, end   int
	size, offset int
}

// planAlign is the offsets' granularity in elements: every output starts
// on a 64-byte boundary (a cache line) at least.
const planAlign = 16

// placeBySize gives each item the lowest offset at which it overlaps no
// item already placed that is live at the same time, largest items first
// (the "greedy by size" planner of TensorFlow Lite's arena; Pisarchyk &
// Lee 2020), and returns the arena's size in elements.
func placeBySize(items []*planItem) int {
	sorted := slices.Clone(items)
	slices.SortStableFunc(sorted, func(a, b *planItem) int {
		if a.size != b.size {
			return cmp.Compare(b.size, a.size)
		}
		return cmp.Compare(a.start, b.start)
	})
	arena := 0
	var placed []*planItem
	for _, it := range sorted {
		var clash []*planItem
		for _, p := range placed {
			if p.start <= it.end && it.start <= p.end {
				clash = append(clash, p)
			}
		}
		slices.SortFunc(clash, func(a, b *planItem) int { return cmp.Compare(a.offset, b.offset) })
		off := 0
		for _, p := range clash {
			if p.offset >= off+it.size {
				break
			}
			off = max(off, alignUp(p.offset+p.size))
		}
		it.offset = off
		arena = max(arena, off+it.size)
		placed = append(placed, it)
	}
	return arena
}

func alignUp(n int) int { return (n + planAlign - 1) / planAlign * planAlign }

// liveBytes is the most bytes of items live at one run position.
func liveBytes(items []planItem) int64 {
	var most int64
	for _, it := range items {
		var at int64
		for _, o := range items {
			if o.start <= it.start && it.start <= o.end {
				at += int64(o.size) * int64(o.node.Dtype().Size())
			}
		}
		most = max(most, at)
	}
	return most
}
