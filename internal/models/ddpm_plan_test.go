package models

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// The DDPM's graphs run with their op outputs sharing buffers by lifetime
// (nn.PlanBuffers). Against the same graph on Gorgonia's plain tape
// machine, where every output has a buffer of its own, the planned one must
// give the same bits: the prediction, the loss and every gradient, on a
// first run and on a second (whose buffers hold the first run's values).
func TestUNetBufferPlanChangesNoBit(t *testing.T) {
	net, err := NewUNet(nn.NewParams(tensor.Float32, rng.New(3, StreamInit)), "net.", UNetOptions{Channels: 8, Groups: 4, Size: 8, Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, train := range []bool{true, false} {
		const batch = 4
		planned, err := newUNetGraph(net, batch, train)
		if err != nil {
			t.Fatal(err)
		}
		plain, g, err := buildUNetGraph(net, batch, train)
		if err != nil {
			t.Fatal(err)
		}
		plain.vm = G.NewTapeMachine(g)
		p := planned.plan
		t.Logf("train %v: %v", train, p)
		if p.Outputs == 0 || !(p.SharedBytes < p.Bytes) || p.SharedBytes < p.LiveBytes {
			t.Fatalf("train %v: plan %+v shares nothing, or less than is live at once", train, p)
		}
		r := rng.New(5, 0)
		for run := range 2 {
			for _, in := range [][2]*tensor.Dense{{planned.x, plain.x}, {planned.tfeat, plain.tfeat}, {planned.y, plain.y}, {planned.eps, plain.eps}} {
				if in[0] == nil {
					continue
				}
				v := in[0].Data().([]float32)
				rng.Normal(r, v)
				copy(in[1].Data().([]float32), v)
			}
			for _, s := range []*unetGraph{planned, plain} {
				if err := runVM(s.vm); err != nil {
					t.Fatal(err)
				}
			}
			same := func(what string, a, b G.Value) {
				t.Helper()
				x, y := a.Data(), b.Data()
				if xs, ok := x.(float32); ok {
					x, y = []float32{xs}, []float32{y.(float32)}
				}
				xv, yv := x.([]float32), y.([]float32)
				for i := range xv {
					if math.Float32bits(xv[i]) != math.Float32bits(yv[i]) {
						t.Fatalf("train %v, run %d: %s[%d] = %v planned, %v plain", train, run, what, i, xv[i], yv[i])
					}
				}
			}
			same("ε_θ", planned.out, plain.out)
			if train {
				same("loss", planned.loss, plain.loss)
				for i := range planned.grads {
					same(net.Params.List[i].Name+" gradient", planned.grads[i].Value(), plain.grads[i].Value())
				}
			}
		}
	}
}
