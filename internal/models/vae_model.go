package models

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// VAEModel is the trainable VAE: the network, its optimizer and the graphs
// built on the shared weights (one objective graph, inference graphs for
// evaluation and sampling at their own batch sizes).
type VAEModel struct {
	*VAE
	Opt     *nn.Adam
	train   *vaeNELBO
	eval    *vaeNELBO
	decoder *vaeDecoder
	recon   *vaeRecon
}

// Inference batch sizes: fixed, so a sample's bytes never depend on how many
// were asked for (the GEMM sees the same shapes every time).
const (
	vaeEvalBatch   = 500
	vaeSampleBatch = 128
)

// NewVAEModel returns an untrained VAE with Adam(lr, β1, β2, ε).
func NewVAEModel(pixels, hidden, latent int, seed uint64, lr, beta1, beta2, eps float64) *VAEModel {
	v := NewVAE(pixels, hidden, latent, tensor.Float32, rng.New(seed, StreamInit))
	return &VAEModel{VAE: v, Opt: nn.NewAdam(v.Params.List, lr, beta1, beta2, eps)}
}

func (m *VAEModel) Kind() string   { return "vae" }
func (m *VAEModel) NumParams() int { return m.Params.Count() }

// TrainStep draws ε ~ N(0, I) from r and takes one Adam step on the mean
// negative ELBO of the batch.
func (m *VAEModel) TrainStep(b Batch, r *rng.RNG) ([]Metric, error) {
	if m.train == nil || m.train.x.Shape()[0] != b.N {
		var err error
		if m.train, err = m.newNELBO(b.N, true); err != nil {
			return nil, err
		}
	}
	o := m.train
	copy(o.x.Data().([]float32), b.X)
	rng.Normal(r, o.eps.Data().([]float32))
	rec, kl, err := o.run()
	if err != nil {
		return nil, err
	}
	if err := m.Opt.Update(o.gradValues); err != nil {
		return nil, err
	}
	n := float64(b.N)
	return []Metric{{"loss", (rec + kl) / n}, {"rec", rec / n}, {"kl", kl / n}}, nil
}

// Evaluate returns the test-set negative ELBO in nats per image (one ε per
// image from the fixed evaluation stream); images beyond a whole number of
// evaluation batches are left out and the count says how many were used.
func (m *VAEModel) Evaluate(test *data.Dataset) ([]Metric, error) {
	if m.eval == nil {
		var err error
		if m.eval, err = m.newNELBO(vaeEvalBatch, false); err != nil {
			return nil, err
		}
	}
	r := rng.New(0, StreamEval)
	var rec, kl float64
	used := 0
	for start := 0; start+vaeEvalBatch <= test.N; start += vaeEvalBatch {
		copy(m.eval.x.Data().([]float32), test.Pixels[start*m.Pixels:(start+vaeEvalBatch)*m.Pixels])
		rng.Normal(r, m.eval.eps.Data().([]float32))
		br, bk, err := m.eval.run()
		if err != nil {
			return nil, err
		}
		rec, kl, used = rec+br, kl+bk, used+vaeEvalBatch
	}
	if used == 0 {
		return nil, fmt.Errorf("vae evaluate: test set of %d images is smaller than one batch of %d", test.N, vaeEvalBatch)
	}
	n := float64(used)
	return []Metric{{"test_nelbo", (rec + kl) / n}, {"test_rec", rec / n}, {"test_kl", kl / n}, {"test_images", n}}, nil
}

// Generate decodes z ~ N(0, I), drawn from stream StreamSample of each seed.
func (m *VAEModel) Generate(seeds []uint64, _ []int) ([][]float32, error) {
	if m.decoder == nil {
		var err error
		if m.decoder, err = m.newDecoder(vaeSampleBatch); err != nil {
			return nil, err
		}
	}
	d := m.decoder
	out := make([][]float32, 0, len(seeds))
	z := d.z.Data().([]float32)
	for start := 0; start < len(seeds); start += d.batch {
		clear(z)
		end := min(start+d.batch, len(seeds))
		for i, s := range seeds[start:end] {
			rng.Normal(rng.New(s, StreamSample), z[i*m.Latent:(i+1)*m.Latent])
		}
		if err := runVM(d.vm); err != nil {
			return nil, fmt.Errorf("vae decoder: %w", err)
		}
		out = appendRows(out, d.out, end-start, m.Pixels)
	}
	return out, nil
}

// Reconstruct returns sigmoid(decoder(μ(x))) for each image.
func (m *VAEModel) Reconstruct(xs [][]float32) ([][]float32, error) {
	if m.recon == nil {
		var err error
		if m.recon, err = m.newRecon(vaeSampleBatch); err != nil {
			return nil, err
		}
	}
	x := m.recon.x.Data().([]float32)
	var out [][]float32
	for start := 0; start < len(xs); start += vaeSampleBatch {
		clear(x)
		end := min(start+vaeSampleBatch, len(xs))
		for i, img := range xs[start:end] {
			if len(img) != m.Pixels {
				return nil, fmt.Errorf("vae reconstruct: image %d has %d pixels, want %d", start+i, len(img), m.Pixels)
			}
			copy(x[i*m.Pixels:], img)
		}
		if err := runVM(m.recon.vm); err != nil {
			return nil, fmt.Errorf("vae reconstruct: %w", err)
		}
		out = appendRows(out, m.recon.out, end-start, m.Pixels)
	}
	return out, nil
}

// appendRows copies the first n rows of width w out of a graph output.
func appendRows(out [][]float32, v interface{ Data() interface{} }, n, w int) [][]float32 {
	src := v.Data().([]float32)
	for i := 0; i < n; i++ {
		out = append(out, append([]float32(nil), src[i*w:(i+1)*w]...))
	}
	return out
}

func (m *VAEModel) State(train bool) []checkpoint.Tensor {
	ts := paramTensors(m.Params.List)
	if train {
		ts = append(ts, adamTensors("optim", m.Opt)...)
	}
	return ts
}

func (m *VAEModel) Load(f *checkpoint.File, train bool) error {
	if err := loadParams(f, m.Params.List); err != nil {
		return err
	}
	if train {
		return loadAdam(f, "optim", m.Opt)
	}
	return nil
}
