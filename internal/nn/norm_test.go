package nn

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/rng"
)

// bnCase checks BatchNorm wrt x, γ, β. Stats updates are off: GradCheck
// reruns the forward pass twice per input element.
func bnCase(name string, x []int, training bool) gradCase {
	c := x[1]
	return gradCase{name, [][]int{x, {c}, {c}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		bn := NewBatchNorm(NewParams(tensor.Float64, rng.New(1, 0)), "bn", c)
		for i := 0; i < c; i++ { // non-trivial running statistics for eval mode
			bn.RunningMean.Data().([]float64)[i] = 0.3 * float64(i-1)
			bn.RunningVar.Data().([]float64)[i] = 0.5 + float64(i)
		}
		return bn.apply(in[0], in[1], in[2], training, false)
	}}
}

func TestBatchNormGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		bnCase("TrainingNCHW", []int{3, 2, 3, 4}, true),
		bnCase("TrainingMatrix", []int{5, 3}, true),
		bnCase("EvalNCHW", []int{2, 3, 3, 2}, false),
		bnCase("EvalMatrix", []int{4, 3}, false),
	})
}

func gnCase(name string, x []int, groups int) gradCase {
	c := x[1]
	return gradCase{name, [][]int{x, {c}, {c}}, func(_ *G.ExprGraph, in []*G.Node) (*G.Node, error) {
		return groupNorm(in[0], in[1], in[2], groups, 1e-5)
	}}
}

func TestGroupNormGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		gnCase("TwoGroups", []int{2, 4, 3, 3}, 2),
		gnCase("OneGroupIsLayerNorm", []int{2, 3, 2, 3}, 1),
		gnCase("GroupPerChannelIsInstanceNorm", []int{2, 3, 3, 2}, 3),
		gnCase("Matrix", []int{3, 6}, 3),
	})
}

func TestGroupNormMatchesDefinition(t *testing.T) {
	const n, c, s, groups = 2, 6, 5, 3
	x := randDense(rng.New(4, 0), n, c, 1, s)
	ps := NewParams(tensor.Float64, rng.New(1, 0))
	gn := NewGroupNorm(ps, "gn", groups, c)
	rng.Normal(rng.New(5, 0), data[float64](gn.Gamma.Value))
	rng.Normal(rng.New(6, 0), data[float64](gn.Beta.Value))
	g := G.NewGraph()
	y, err := gn.Apply(g, G.NodeFromAny(g, x, G.WithName("x")))
	if err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	xs, ys := data[float64](x), y.Value().Data().([]float64)
	gamma, beta := data[float64](gn.Gamma.Value), data[float64](gn.Beta.Value)
	per := c / groups * s
	for i := 0; i < n*groups; i++ {
		grp := xs[i*per : (i+1)*per]
		mu, v := 0.0, 0.0
		for _, e := range grp {
			mu += e / float64(per)
		}
		for _, e := range grp {
			v += (e - mu) * (e - mu) / float64(per)
		}
		for j, e := range grp {
			ch := (i*per + j) / s % c
			want := gamma[ch]*(e-mu)/math.Sqrt(v+1e-5) + beta[ch]
			if got := ys[i*per+j]; math.Abs(got-want) > 1e-12 {
				t.Fatalf("y[%d] = %v, want %v", i*per+j, got, want)
			}
		}
	}
}

// channelMoments is the reference: per-channel mean and biased variance of x (B,C,S).
func channelMoments(x []float64, b, c, s int) (mean, variance []float64) {
	mean, variance = make([]float64, c), make([]float64, c)
	m := float64(b * s)
	for i, v := range x {
		mean[i/s%c] += v / m
	}
	for i, v := range x {
		d := v - mean[i/s%c]
		variance[i/s%c] += d * d / m
	}
	return mean, variance
}

func runGraph(t *testing.T, g *G.ExprGraph) {
	t.Helper()
	m := G.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
}

func TestBatchNormRunningStatsFollowPyTorchAndSurviveNewMachines(t *testing.T) {
	const b, c, s = 4, 3, 10
	x := randDense(rng.New(3, 0), b, c, 2, 5)
	for i := range data[float64](x) {
		data[float64](x)[i] += float64(i / s % c) // channel means near 0, 1, 2
	}
	bn := NewBatchNorm(NewParams(tensor.Float64, rng.New(1, 0)), "gen.bn0", c)
	mean, variance := channelMoments(data[float64](x), b, c, s)
	wantMean, wantVar := make([]float64, c), make([]float64, c)
	for i := range wantMean { // running starts at (0, 1); unbiased var = var·m/(m−1)
		wantMean[i] = 0.1 * mean[i]
		wantVar[i] = 0.9 + 0.1*variance[i]*b*s/(b*s-1)
	}
	equal := func(what string, got, want []float64) {
		t.Helper()
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("%s = %v, want %v", what, got, want)
			}
		}
	}

	gTrain := G.NewGraph()
	yTrain := G.Must(bn.Apply(gTrain, G.NodeFromAny(gTrain, x, G.WithName("x")), true, true))
	gFrozen := G.NewGraph() // a graph that runs G in training mode without moving the stats
	G.Must(bn.Apply(gFrozen, G.NodeFromAny(gFrozen, x, G.WithName("x")), true, false))
	runGraph(t, gTrain)
	equal("running_mean", data[float64](bn.RunningMean), wantMean)
	equal("running_var", data[float64](bn.RunningVar), wantVar)
	// Training mode normalises with the batch statistics, biased variance.
	yMean, yVar := channelMoments(yTrain.Value().Data().([]float64), b, c, s)
	for i := range yMean {
		if want := variance[i] / (variance[i] + 1e-5); math.Abs(yMean[i]) > 1e-12 || math.Abs(yVar[i]-want) > 1e-12 {
			t.Fatalf("training output channel %d has mean %v, variance %v; want 0, %v", i, yMean[i], yVar[i], want)
		}
	}
	runGraph(t, gFrozen)
	equal("running_mean after a frozen training run", data[float64](bn.RunningMean), wantMean)

	// Eval on another graph and machine uses the stats, and building it resets nothing.
	gEval := G.NewGraph()
	yEval := G.Must(bn.Apply(gEval, G.NodeFromAny(gEval, x, G.WithName("x")), false, true))
	runGraph(t, gEval)
	equal("running_var after eval", data[float64](bn.RunningVar), wantVar)
	for i, v := range yEval.Value().Data().([]float64) {
		ch := i / s % c
		want := (data[float64](x)[i] - wantMean[ch]) / math.Sqrt(wantVar[ch]+1e-5)
		if math.Abs(v-want) > 1e-12 {
			t.Fatalf("eval y[%d] = %v, want %v", i, v, want)
		}
	}

	// A second training run moves the stats again: once per forward run.
	runGraph(t, gTrain)
	for i := range wantMean {
		wantMean[i] = 0.9*wantMean[i] + 0.1*mean[i]
		wantVar[i] = 0.9*wantVar[i] + 0.1*variance[i]*b*s/(b*s-1)
	}
	equal("running_mean after two runs", data[float64](bn.RunningMean), wantMean)
	equal("running_var after two runs", data[float64](bn.RunningVar), wantVar)
}

func TestBatchNormBuffersHavePyTorchNames(t *testing.T) {
	bn := NewBatchNorm(NewParams(tensor.Float32, rng.New(1, 0)), "g.bn1", 4)
	buf := bn.Buffers()
	if bn.Gamma.Name != "g.bn1.weight" || bn.Beta.Name != "g.bn1.bias" ||
		buf[0].Name != "g.bn1.running_mean" || buf[1].Name != "g.bn1.running_var" ||
		buf[0].Value != bn.RunningMean || buf[1].Value != bn.RunningVar {
		t.Fatalf("names %s %s %s %s", bn.Gamma.Name, bn.Beta.Name, buf[0].Name, buf[1].Name)
	}
	for i, v := range bn.RunningVar.Data().([]float32) {
		if v != 1 || bn.RunningMean.Data().([]float32)[i] != 0 || bn.Gamma.Value.Data().([]float32)[i] != 1 || bn.Beta.Value.Data().([]float32)[i] != 0 {
			t.Fatalf("channel %d does not start at γ=1, β=0, mean 0, var 1", i)
		}
	}
}

func TestBatchNormTrainingRejectsOneValuePerChannel(t *testing.T) {
	bn := NewBatchNorm(NewParams(tensor.Float64, rng.New(1, 0)), "bn", 3)
	g := G.NewGraph()
	x := G.NodeFromAny(g, randDense(rng.New(1, 0), 1, 3), G.WithName("x"))
	if _, err := bn.Apply(g, x, true, false); err == nil {
		t.Fatal("training on a batch of one (B,C) input was accepted")
	}
	if _, err := bn.Apply(g, x, false, false); err != nil {
		t.Fatalf("eval on a batch of one: %v", err)
	}
}
