package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
)

// The 2-D models of the mixture benchmarks (docs/metrics.md §6): a GAN, a
// VAE and a DDPM (gan2d.go, vae2d.go, ddpm2d.go; this file holds what they
// share), each a few small MLPs on points of the plane. A "sample"
// is one point, returned by Generate as []float32{x, y}; a batch holds N
// rows of 2 values (data.FromPoints). Every network sees points divided by
// the mixture's coordinate RMS (data.Mixture.Scale: ring8 0.71, grid25
// 2.83), so one set of hyperparameters suits both mixtures; samples are
// scaled back. The mode counts themselves are eval's (CountModes): the
// training loop and `gentri eval` apply them to Generate's points.

// Toy2DOptions are the hyperparameters of the three 2-D models.
type Toy2DOptions struct {
	Mixture               data.Mixture
	Hidden                int // width of every hidden layer
	Latent                int // gan2d: noise dimension; vae2d: latent dimension
	Seed                  uint64
	LR, Beta1, Beta2, Eps float64
	// gan2d only: one-sided label smoothing and experience replay (replay.go).
	LabelSmoothing float64
	ReplaySize     int
	ReplayShare    float64
	// ddpm2d only.
	EMA                float64
	Timesteps          int
	Schedule           string // "linear" or "cosine"
	BetaStart, BetaEnd float64
}

// toyBatch is the fixed batch of every inference graph of the 2-D models
// (shorter requests are padded), so a point's bytes never depend on how
// many were asked for; 100 is also the timing batch of docs/metrics.md §8.2.
const toyBatch = 100

// toyMLP is Linear layers with an activation between them (none after the
// last), named like a PyTorch nn.Sequential: prefix.0, prefix.2, …
type toyMLP struct {
	layers []*nn.Linear
	act    func(*G.Node) (*G.Node, error)
}

// newToyMLP builds layers of sizes[0] → sizes[1] → … → sizes[len−1].
func newToyMLP(ps *nn.Params, prefix string, act func(*G.Node) (*G.Node, error), sizes ...int) *toyMLP {
	m := &toyMLP{act: act}
	for i := 0; i+1 < len(sizes); i++ {
		m.layers = append(m.layers, nn.NewLinear(ps, fmt.Sprintf("%s.%d", prefix, 2*i), sizes[i], sizes[i+1]))
	}
	return m
}

func (m *toyMLP) apply(g *G.ExprGraph, x *G.Node) (*G.Node, error) {
	h := x
	for i, l := range m.layers {
		var err error
		if h, err = l.Apply(g, h); err != nil {
			return nil, err
		}
		if i+1 < len(m.layers) {
			if h, err = m.act(h); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}

func leakyReLU02(x *G.Node) (*G.Node, error) { return nn.LeakyReLU(x, 0.2) }

// f32 is a float32 tensor of the given shape, an input bound by pointer.
func f32(shape ...int) *tensor.Dense {
	return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
}

// scaledPoints writes a batch's first n points divided by scale into dst.
func scaledPoints(dst, x []float32, n int, scale float64) error {
	if len(x) < 2*n {
		return fmt.Errorf("batch of %d points holds %d values, want %d", n, len(x), 2*n)
	}
	for i, v := range x[:2*n] {
		dst[i] = float32(float64(v) / scale)
	}
	return nil
}

// pointsFrom returns n rows {x, y} of a (toyBatch, 2) output, times scale.
func pointsFrom(out []float32, n int, scale float64) [][]float32 {
	rows := make([][]float32, n)
	for i := range rows {
		rows[i] = []float32{float32(float64(out[2*i]) * scale), float32(float64(out[2*i+1]) * scale)}
	}
	return rows
}

// checkPoints says whether a test set holds 2-D points.
func checkPoints(kind string, test *data.Dataset) error {
	if test.H*test.W != 2 || test.N == 0 {
		return fmt.Errorf("%s evaluate: %d test examples of %dx%d, want 2-D points", kind, test.N, test.H, test.W)
	}
	return nil
}

// toyForward is an inference graph at toyBatch: in → net → out.
type toyForward struct {
	in  *tensor.Dense
	out G.Value
	vm  G.VM
}

func newToyForward(net *toyMLP, inDim int) (*toyForward, error) {
	g := G.NewGraph()
	f := &toyForward{in: f32(toyBatch, inDim)}
	out, err := net.apply(g, G.NodeFromAny(g, f.in, G.WithName("in")))
	if err != nil {
		return nil, err
	}
	G.Read(out, &f.out)
	f.vm = G.NewTapeMachine(g)
	return f, nil
}

// mixtureOptions gathers the common keys and the mixture of a 2-D kind's config.
func mixtureOptions(cfg *config.Config) (Toy2DOptions, error) {
	mix, ok := data.MixtureByName(cfg.Data.Dataset)
	if !ok {
		return Toy2DOptions{}, fmt.Errorf("model kind %s needs a 2-D mixture, data.dataset is %q", cfg.Model.Kind, cfg.Data.Dataset)
	}
	t := cfg.Train
	return Toy2DOptions{Mixture: mix, Seed: t.Seed, LR: t.LR, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps}, nil
}
