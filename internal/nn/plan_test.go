package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

func TestPlaceBySizeSharesOnlyDisjointLifetimes(t *testing.T) {
	type item struct{ start, end, size int }
	cases := []struct {
		name    string
		items   []item
		offsets []int
		arena   int
	}{
		{"disjoint lifetimes share", []item{{0, 1, 10}, {2, 3, 10}}, []int{0, 0}, 10},
		{"a read at the writer's position still overlaps", []item{{0, 2, 10}, {2, 3, 10}}, []int{0, 16}, 26},
		{"largest first, smaller ones share what is left", []item{{0, 5, 32}, {0, 1, 16}, {2, 3, 16}}, []int{0, 32, 32}, 48},
		{"a freed hole takes a later output", []item{{0, 9, 16}, {0, 1, 32}, {0, 9, 16}, {2, 3, 16}}, []int{32, 0, 48, 0}, 64},
		{"nothing placed", nil, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items := make([]*planItem, len(c.items))
			for i, it := range c.items {
				items[i] = &planItem{start: it.start, end: it.end, size: it.size}
			}
			if got := placeBySize(items); got != c.arena {
				t.Errorf("arena %d elements, want %d", got, c.arena)
			}
			for i, it := range items {
				if it.offset != c.offsets[i] {
					t.Errorf("item %d (%v) at offset %d, want %d", i, c.items[i], it.offset, c.offsets[i])
				}
			}
		})
	}
}

// planGraph is a small residual network in float32 with a loss and its
// gradients: x → conv → GroupNorm → SiLU → conv = h; h + x (Gorgonia's Add,
// which may write over h) reshaped (a view) → SiLU → mean square.
type planGraph struct {
	x     *tensor.Dense
	h     *G.Node // an intermediate value the caller reads after a run
	loss  G.Value
	read  *G.Node // the statement that copies the loss out
	grads G.Nodes
	g     *G.ExprGraph
}

func newPlanGraph(t *testing.T) *planGraph {
	t.Helper()
	g := G.NewGraph()
	r := rng.New(9, 0)
	f32 := func(name string, shape ...int) *G.Node {
		d := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
		rng.Normal(r, d.Data().([]float32))
		return G.NodeFromAny(g, d, G.WithName(name))
	}
	p := &planGraph{g: g, x: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2, 4, 5, 5))}
	x := G.NodeFromAny(g, p.x, G.WithName("x"))
	w1, b1, w2, b2 := f32("w1", 4, 4, 3, 3), f32("b1", 4), f32("w2", 4, 4, 3, 3), f32("b2", 4)
	gamma, beta := f32("gamma", 4), f32("beta", 4)
	h := G.Must(conv2d(x, w1, b1, 1, 1))
	h = G.Must(groupNorm(h, gamma, beta, 2, 1e-5))
	h = G.Must(SiLU(h))
	p.h = G.Must(conv2d(h, w2, b2, 1, 1))
	s := G.Must(G.Reshape(G.Must(G.Add(p.h, x)), tensor.Shape{2, 100}))
	loss := G.Must(G.Mean(G.Must(G.Square(G.Must(SiLU(s))))))
	p.read = G.Read(loss, &p.loss)
	var err error
	if p.grads, err = G.Grad(loss, w1, b1, w2, b2, gamma, beta); err != nil {
		t.Fatal(err)
	}
	return p
}

// A graph whose op outputs share buffers gives the bits of the same graph
// on Gorgonia's plain tape machine, run after run, for the loss, the
// gradients and an intermediate value the caller asked to keep.
func TestPlannedMachineMatchesThePlainOne(t *testing.T) {
	planned, plain := newPlanGraph(t), newPlanGraph(t)
	vm, plan, err := NewTapeMachine(planned.g, append(G.Nodes{planned.h}, planned.grads...))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(plan)
	if plan.Outputs == 0 || !(plan.SharedBytes < plan.Bytes) || plan.SharedBytes < plan.LiveBytes {
		t.Fatalf("plan %+v shares nothing, or less than is live at once", plan)
	}
	plainVM := G.NewTapeMachine(plain.g)
	r := rng.New(4, 0)
	for run := range 3 {
		rng.Normal(r, planned.x.Data().([]float32))
		copy(plain.x.Data().([]float32), planned.x.Data().([]float32))
		for _, m := range []G.VM{vm, plainVM} {
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
		}
		values := []struct {
			name string
			a, b G.Value
		}{{"loss", planned.loss, plain.loss}, {"h", planned.h.Value(), plain.h.Value()}}
		for i := range planned.grads {
			values = append(values, struct {
				name string
				a, b G.Value
			}{"gradient " + planned.grads[i].Name(), planned.grads[i].Value(), plain.grads[i].Value()})
		}
		for _, v := range values {
			a, b := v.a.Data(), v.b.Data()
			if s, ok := a.(float32); ok {
				a, b = []float32{s}, []float32{b.(float32)}
			}
			as, bs := a.([]float32), b.([]float32)
			for i := range as {
				if math.Float32bits(as[i]) != math.Float32bits(bs[i]) {
					t.Fatalf("run %d: %s[%d] = %v planned, %v plain", run, v.name, i, as[i], bs[i])
				}
			}
		}
	}
}

// A pruned program (the loss and the second convolution's gradients only)
// plans only what it runs, and gives the bits of the same program on
// Gorgonia's plain tape machine.
func TestPrunedPlannedMachineMatchesThePlainOne(t *testing.T) {
	planned, plain := newPlanGraph(t), newPlanGraph(t)
	_, full, err := NewTapeMachine(newPlanGraph(t).g, nil)
	if err != nil {
		t.Fatal(err)
	}
	wanted := func(p *planGraph) G.Nodes { return p.grads[2:4] } // w2, b2
	vm, plan, err := NewPrunedTapeMachine(planned.g, append(G.Nodes{planned.read}, wanted(planned)...), wanted(planned))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pruned: %v; whole graph: %v", plan, full)
	if plan.Outputs == 0 || plan.Outputs >= full.Outputs || !(plan.SharedBytes < plan.Bytes) {
		t.Fatalf("pruned plan %+v against the whole graph's %+v: it should plan fewer outputs and share some", plan, full)
	}
	prog, locs, err := G.CompileFunction(plain.g, plain.g.ExactSubgraphRoots(append(G.Nodes{plain.read}, wanted(plain)...)...).Inputs(), append(G.Nodes{plain.read}, wanted(plain)...))
	if err != nil {
		t.Fatal(err)
	}
	plainVM := G.NewTapeMachine(plain.g, G.WithPrecompiled(prog, locs))
	r := rng.New(6, 0)
	for run := range 3 {
		rng.Normal(r, planned.x.Data().([]float32))
		copy(plain.x.Data().([]float32), planned.x.Data().([]float32))
		for _, m := range []G.VM{vm, plainVM} {
			m.Reset()
			if err := m.RunAll(); err != nil {
				t.Fatal(err)
			}
		}
		if a, b := planned.loss.Data().(float32), plain.loss.Data().(float32); math.Float32bits(a) != math.Float32bits(b) {
			t.Fatalf("run %d: loss %v planned, %v plain", run, a, b)
		}
		for k, n := range wanted(planned) {
			as, bs := n.Value().Data().([]float32), wanted(plain)[k].Value().Data().([]float32)
			for i := range as {
				if math.Float32bits(as[i]) != math.Float32bits(bs[i]) {
					t.Fatalf("run %d: gradient %s[%d] = %v planned, %v plain", run, n.Name(), i, as[i], bs[i])
				}
			}
		}
	}
}

func TestNewTapeMachineReturnsCompileErrors(t *testing.T) {
	if _, _, err := NewTapeMachine(G.NewGraph(), nil); err == nil {
		t.Error("an empty graph compiled")
	}
}
