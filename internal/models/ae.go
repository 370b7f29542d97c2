package models

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// AEModel is a plain autoencoder (Hinton & Salakhutdinov 2006) built from the
// VAE's networks (vae.go), so the two differ only in what the VAE adds:
//
//	encoder  x(784) → 512 → ReLU → 512 → ReLU → z of size L (the code itself, not μ and log σ²)
//	decoder  z(L) → 512 → ReLU → 512 → ReLU → 784 logits, p(x|z) = Bernoulli(sigmoid(logits))
//
// and its loss is the VAE's reconstruction term alone, in nats per image:
//
//	L = Σ_pixels BCE(logits, x).
//
// With no KL term nothing draws the codes towards N(0, I): they spread
// wherever reconstruction puts them, so decoding a draw of N(0, I) need not
// give a digit. It exists to be compared with the VAE (`gentri latent`,
// docs/models.md). Parameter names are the VAE's (enc.0, enc.2, enc.4,
// dec.0, dec.2, dec.4).
type AEModel struct {
	*VAE // the VAE's two MLPs; enc.4 has L outputs
	Opt  *nn.Adam

	train   *aeGraph    // the objective at the training batch
	eval    *aeGraph    // codes, reconstruction loss and reconstructions at vaeEvalBatch
	encoder *aeGraph    // codes only, at vaeEvalBatch
	decoder *vaeDecoder // codes → pixel means at vaeSampleBatch
}

var (
	_ Model         = (*AEModel)(nil)
	_ Reconstructor = (*AEModel)(nil)
	_ Autoencoder   = (*AEModel)(nil)
)

// NewAEModel returns an untrained autoencoder with Adam(lr, β1, β2, ε).
func NewAEModel(pixels, hidden, latent int, seed uint64, lr, beta1, beta2, eps float64) *AEModel {
	v := newMLPCoder(pixels, hidden, latent, latent, tensor.Float32, rng.New(seed, StreamInit))
	return &AEModel{VAE: v, Opt: nn.NewAdam(v.Params.List, lr, beta1, beta2, eps)}
}

func (m *AEModel) Kind() string   { return "ae" }
func (m *AEModel) NumParams() int { return m.Params.Count() }

// LatentDim is the dimension of the code.
func (m *AEModel) LatentDim() int { return m.Latent }

// aeGraph is one graph of the autoencoder at a fixed batch: x in, the code
// out; with decode also the summed reconstruction loss and the
// reconstructions sigmoid(logits); with grads also the loss's gradients.
type aeGraph struct {
	batch      int
	x          *tensor.Dense // input, bound by pointer: fill it, then run
	code       G.Value
	rec, recon G.Value
	grads      G.Nodes
	vm         G.VM
}

func (m *AEModel) newGraph(batch int, decode, withGrad bool) (*aeGraph, error) {
	dt := m.Params.Dtype
	o := &aeGraph{batch: batch, x: tensor.New(tensor.Of(dt), tensor.WithShape(batch, m.Pixels))}
	g := G.NewGraph()
	x := G.NodeFromAny(g, o.x, G.WithName("x"))
	code, err := mlp(g, x, m.enc)
	if err != nil {
		return nil, fmt.Errorf("ae encoder: %w", err)
	}
	G.Read(code, &o.code)
	if decode {
		logits, err := mlp(g, code, m.dec)
		if err != nil {
			return nil, fmt.Errorf("ae decoder: %w", err)
		}
		rec, err := nn.BernoulliNLL(logits, x)
		if err != nil {
			return nil, err
		}
		G.Read(rec, &o.rec)
		G.Read(G.Must(nn.Sigmoid(logits)), &o.recon)
		if withGrad {
			// The objective is the mean over the batch.
			loss := G.Must(G.Mul(rec, scalar(g, dt, 1/float64(batch))))
			if o.grads, err = G.Grad(loss, paramNodes(g, m.Params.List)...); err != nil {
				return nil, fmt.Errorf("ae gradients: %w", err)
			}
		}
	}
	if o.vm, err = newMachine(g, o.grads); err != nil {
		return nil, fmt.Errorf("ae: %w", err)
	}
	return o, nil
}

// TrainStep takes one Adam step on the batch's mean reconstruction loss.
// The autoencoder draws no noise: r is unused (the batch's binarisation
// is drawn by the training loop).
func (m *AEModel) TrainStep(b Batch, _ *rng.RNG) ([]Metric, error) {
	if len(b.X) < b.N*m.Pixels {
		return nil, fmt.Errorf("ae: batch of %d holds %d pixels, want %d×%d", b.N, len(b.X), b.N, m.Pixels)
	}
	if m.train == nil || m.train.batch != b.N {
		var err error
		if m.train, err = m.newGraph(b.N, true, true); err != nil {
			return nil, err
		}
	}
	copy(m.train.x.Data().([]float32), b.X[:b.N*m.Pixels])
	if err := runVM(m.train.vm); err != nil {
		return nil, fmt.Errorf("ae train step: %w", err)
	}
	if err := m.Opt.Update(gradValues(m.train.grads)); err != nil {
		return nil, err
	}
	return []Metric{{"loss", scalarValue(m.train.rec) / float64(b.N)}}, nil
}

// Evaluate returns the test set's reconstruction loss in nats per image
// (test_rec, the VAE's term of the same name); images beyond a whole
// number of evaluation batches are left out and the count says how many
// were used.
func (m *AEModel) Evaluate(test *data.Dataset) ([]Metric, error) {
	if err := m.ensureEval(); err != nil {
		return nil, err
	}
	rec, used := 0.0, 0
	for start := 0; start+vaeEvalBatch <= test.N; start += vaeEvalBatch {
		copy(m.eval.x.Data().([]float32), test.Pixels[start*m.Pixels:(start+vaeEvalBatch)*m.Pixels])
		if err := runVM(m.eval.vm); err != nil {
			return nil, fmt.Errorf("ae evaluate: %w", err)
		}
		rec, used = rec+scalarValue(m.eval.rec), used+vaeEvalBatch
	}
	if used == 0 {
		return nil, fmt.Errorf("ae evaluate: test set of %d images is smaller than one batch of %d", test.N, vaeEvalBatch)
	}
	return []Metric{{"test_rec", rec / float64(used)}, {"test_images", float64(used)}}, nil
}

func (m *AEModel) ensureEval() error {
	if m.eval != nil {
		return nil
	}
	var err error
	m.eval, err = m.newGraph(vaeEvalBatch, true, false)
	return err
}

// Generate decodes z ~ N(0, I), drawn from stream StreamSample of each
// seed, as the VAE does: the draws a VAE is trained to decode, which the
// autoencoder never was.
func (m *AEModel) Generate(seeds []uint64, _ []int) ([][]float32, error) {
	if err := m.ensureDecoder(); err != nil {
		return nil, err
	}
	return m.decodePrior(m.decoder, seeds)
}

// Decode returns sigmoid(decoder(z)) for each code.
func (m *AEModel) Decode(zs [][]float32) ([][]float32, error) {
	if err := m.ensureDecoder(); err != nil {
		return nil, err
	}
	return m.decodeCodes(m.decoder, zs)
}

func (m *AEModel) ensureDecoder() error {
	if m.decoder != nil {
		return nil
	}
	var err error
	m.decoder, err = m.newDecoder(vaeSampleBatch)
	return err
}

// Encode returns the code of each image.
func (m *AEModel) Encode(xs [][]float32) ([][]float32, error) {
	if m.encoder == nil {
		var err error
		if m.encoder, err = m.newGraph(vaeEvalBatch, false, false); err != nil {
			return nil, err
		}
	}
	return m.runRows(m.encoder, xs, func(o *aeGraph) G.Value { return o.code }, m.Latent)
}

// Reconstruct returns sigmoid(decoder(encoder(x))) for each image.
func (m *AEModel) Reconstruct(xs [][]float32) ([][]float32, error) {
	if err := m.ensureEval(); err != nil {
		return nil, err
	}
	return m.runRows(m.eval, xs, func(o *aeGraph) G.Value { return o.recon }, m.Pixels)
}

// runRows runs graph o on the images in its fixed batches (the last one
// padded with zeros) and collects the rows of width w of the output out picks.
func (m *AEModel) runRows(o *aeGraph, xs [][]float32, out func(*aeGraph) G.Value, w int) ([][]float32, error) {
	x := o.x.Data().([]float32)
	res := make([][]float32, 0, len(xs))
	for start := 0; start < len(xs); start += o.batch {
		end := min(start+o.batch, len(xs))
		clear(x)
		for i, img := range xs[start:end] {
			if len(img) != m.Pixels {
				return nil, fmt.Errorf("ae: image %d has %d pixels, want %d", start+i, len(img), m.Pixels)
			}
			copy(x[i*m.Pixels:], img)
		}
		if err := runVM(o.vm); err != nil {
			return nil, fmt.Errorf("ae: %w", err)
		}
		res = appendRows(res, out(o), end-start, w)
	}
	return res, nil
}

// State is the weights under the VAE's names and, with train, Adam's state.
func (m *AEModel) State(train bool) []checkpoint.Tensor {
	return netState(m.Params.List, m.Opt, train)
}

func (m *AEModel) Load(f *checkpoint.File, train bool) error {
	return loadNetState(f, m.Params.List, m.Opt, train)
}

var aeKind = &Kind{
	Kind:    config.Kind{Name: "ae", Section: func() config.Section { return &LatentConfig{} }},
	Summary: "autoencoder: the VAE's networks, a deterministic code, the reconstruction loss alone",
	Caps:    CapReconstruct | CapLatent,
	New: func(cfg *config.Config) (Model, error) {
		s, t := cfg.Own.(*LatentConfig), cfg.Train
		return NewAEModel(ShapeOf(cfg).Pixels(), s.Hidden, s.Latent, t.Seed, t.LR, t.Beta1, t.Beta2, t.Eps), nil
	},
}
