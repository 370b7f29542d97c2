package models

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"

	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
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
	evalN   int // eval's batch: vaeEvalBatch, or a test set's size when smaller
	decoder *vaeDecoder
	recon   *vaeRecon
}

// Inference batch sizes: fixed, so a sample's bytes never depend on how many
// were asked for (the GEMM sees the same shapes every time). Sampling runs
// the reference's batch of 1000: 1000 samples took 9.0–9.2 ms against
// 10.5 ms in batches of 128 (go test -bench VAESample, 3 runs each), as
// each product packs its weights once rather than eight times.
const (
	vaeEvalBatch   = 500
	vaeSampleBatch = 1000
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
// A test set smaller than one batch (a small image folder's held-out
// tenth) is evaluated whole, in one batch of its size.
func (m *VAEModel) Evaluate(test *data.Dataset) ([]Metric, error) {
	batch := min(vaeEvalBatch, test.N)
	if batch > 0 && (m.eval == nil || m.evalN != batch) {
		var err error
		if m.eval, err = m.newNELBO(batch, false); err != nil {
			return nil, err
		}
		m.evalN = batch
	}
	r := rng.New(0, StreamEval)
	var rec, kl float64
	used := 0
	for start := 0; batch > 0 && start+batch <= test.N; start += batch {
		copy(m.eval.x.Data().([]float32), test.Pixels[start*m.Pixels:(start+batch)*m.Pixels])
		rng.Normal(r, m.eval.eps.Data().([]float32))
		br, bk, err := m.eval.run()
		if err != nil {
			return nil, err
		}
		rec, kl, used = rec+br, kl+bk, used+batch
	}
	if used == 0 {
		return nil, fmt.Errorf("vae evaluate: the test set is empty")
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
	return m.decodePrior(m.decoder, seeds)
}

// decodePrior decodes one z ~ N(0, I) per seed, drawn from stream
// StreamSample of the seed, in d's fixed batches.
func (m *VAE) decodePrior(d *vaeDecoder, seeds []uint64) ([][]float32, error) {
	return m.decodeRows(d, len(seeds), func(i int, z []float32) error {
		rng.Normal(rng.New(seeds[i], StreamSample), z)
		return nil
	})
}

// decodeRows runs the decoder d on n codes, fill(i, z) writing code i, in
// d's fixed batch (the last one padded with zeros), so an image never
// depends on how many were asked for.
func (m *VAE) decodeRows(d *vaeDecoder, n int, fill func(i int, z []float32) error) ([][]float32, error) {
	out := make([][]float32, 0, n)
	z := d.z.Data().([]float32)
	for start := 0; start < n; start += d.batch {
		clear(z)
		end := min(start+d.batch, n)
		for i := start; i < end; i++ {
			if err := fill(i, z[(i-start)*m.Latent:(i-start+1)*m.Latent]); err != nil {
				return nil, err
			}
		}
		if err := runVM(d.vm); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
		out = appendRows(out, d.out, end-start, m.Pixels)
	}
	return out, nil
}

// decodeCodes decodes the given codes with d.
func (m *VAE) decodeCodes(d *vaeDecoder, zs [][]float32) ([][]float32, error) {
	return m.decodeRows(d, len(zs), func(i int, z []float32) error {
		if len(zs[i]) != m.Latent {
			return fmt.Errorf("decode: code %d has %d values, want %d (the latent size)", i, len(zs[i]), m.Latent)
		}
		copy(z, zs[i])
		return nil
	})
}

// LatentDim is the dimension of z.
func (m *VAEModel) LatentDim() int { return m.Latent }

// Encode returns the posterior mean μ(x) of each image: the point of the
// latent space the VAE puts an image at (its reconstruction decodes it).
func (m *VAEModel) Encode(xs [][]float32) ([][]float32, error) {
	mus, _, err := m.encodeAll(xs)
	return mus, err
}

// Decode returns sigmoid(decoder(z)) for each code.
func (m *VAEModel) Decode(zs [][]float32) ([][]float32, error) {
	if m.decoder == nil {
		var err error
		if m.decoder, err = m.newDecoder(vaeSampleBatch); err != nil {
			return nil, err
		}
	}
	return m.decodeCodes(m.decoder, zs)
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
	block := append([]float32(nil), v.Data().([]float32)[:n*w]...) // one allocation, not one a row
	for i := 0; i < n; i++ {
		out = append(out, block[i*w:(i+1)*w:(i+1)*w])
	}
	return out
}

func (m *VAEModel) State(train bool) []checkpoint.Tensor {
	return netState(m.Params.List, m.Opt, train)
}

func (m *VAEModel) Load(f *checkpoint.File, train bool) error {
	return loadNetState(f, m.Params.List, m.Opt, train)
}

// IWAE estimates each image's log-likelihood with k importance samples
// from q(z|x) (Burda et al. 2016; docs/metrics.md §7), in nats, and returns the
// mean negative log-likelihood over the images:
//
//	log p(x) ≈ logsumexp_k [log p(x|z_k) + log p(z_k) − log q(z_k|x)] − log k.
//
// Noise comes from r; the images should be binary for a true likelihood.
func (m *VAEModel) IWAE(images [][]float32, k int, r *rng.RNG, progress func(done, total int)) (float64, error) {
	if k < 1 {
		return 0, fmt.Errorf("iwae: k must be >= 1, got %d", k)
	}
	mus, logvars, err := m.encodeAll(images)
	if err != nil {
		return 0, err
	}
	dec, err := m.newDecoderLogits(vaeEvalBatch)
	if err != nil {
		return 0, err
	}
	z := dec.z.Data().([]float32)
	L, P := m.Latent, m.Pixels
	total := 0.0
	logw := make([]float64, k)
	for n, x := range images {
		mu, lv := mus[n], logvars[n]
		for start := 0; start < k; start += vaeEvalBatch {
			rows := min(vaeEvalBatch, k-start)
			clear(z)
			// log p(z) − log q(z|x) for each draw, with z = μ + σ·ε
			// (the 2π terms of the two Gaussians cancel).
			for i := 0; i < rows; i++ {
				s := 0.0
				for j := 0; j < L; j++ {
					eps := r.NormFloat64()
					sd := math.Exp(0.5 * float64(lv[j]))
					zj := float64(mu[j]) + sd*eps
					z[i*L+j] = float32(zj)
					s += -0.5*zj*zj + 0.5*eps*eps + 0.5*float64(lv[j])
				}
				logw[start+i] = s
			}
			if err := runVM(dec.vm); err != nil {
				return 0, fmt.Errorf("iwae decoder: %w", err)
			}
			logits := dec.out.Data().([]float32)
			for i := 0; i < rows; i++ {
				logw[start+i] += bernoulliLogLik(logits[i*P:(i+1)*P], x)
			}
		}
		total += logSumExp64(logw) - math.Log(float64(k))
		if progress != nil {
			progress(n+1, len(images))
		}
	}
	return -total / float64(len(images)), nil
}

// bernoulliLogLik is Σ x·l − softplus(l) over the pixels.
func bernoulliLogLik(logits, x []float32) float64 {
	s := 0.0
	for j, l := range logits {
		v := float64(l)
		sp := math.Log1p(math.Exp(-math.Abs(v))) + math.Max(v, 0)
		s += float64(x[j])*v - sp
	}
	return s
}

func logSumExp64(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// encodeAll returns μ and log σ² of every image.
func (m *VAEModel) encodeAll(images [][]float32) (mus, logvars [][]float32, err error) {
	g := G.NewGraph()
	xT := tensor.New(tensor.Of(m.Params.Dtype), tensor.WithShape(vaeEvalBatch, m.Pixels))
	mu, lv, err := m.encode(g, G.NodeFromAny(g, xT, G.WithName("x")))
	if err != nil {
		return nil, nil, err
	}
	var muV, lvV G.Value
	G.Read(mu, &muV)
	G.Read(lv, &lvV)
	vm, err := newMachine(g, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("vae encoder: %w", err)
	}
	x := xT.Data().([]float32)
	for start := 0; start < len(images); start += vaeEvalBatch {
		end := min(start+vaeEvalBatch, len(images))
		clear(x)
		for i, img := range images[start:end] {
			if len(img) != m.Pixels {
				return nil, nil, fmt.Errorf("vae encoder: image %d has %d pixels, want %d", start+i, len(img), m.Pixels)
			}
			copy(x[i*m.Pixels:], img)
		}
		if err := runVM(vm); err != nil {
			return nil, nil, fmt.Errorf("vae encoder: %w", err)
		}
		mus = appendRows(mus, muV, end-start, m.Latent)
		logvars = appendRows(logvars, lvV, end-start, m.Latent)
	}
	return mus, logvars, nil
}

// newDecoderLogits is the decoder graph returning logits instead of means.
func (m *VAE) newDecoderLogits(batch int) (*vaeDecoder, error) {
	g := G.NewGraph()
	d := &vaeDecoder{z: tensor.New(tensor.Of(m.Params.Dtype), tensor.WithShape(batch, m.Latent)), batch: batch}
	logits, err := mlp(g, G.NodeFromAny(g, d.z, G.WithName("z")), m.dec)
	if err != nil {
		return nil, fmt.Errorf("vae decoder: %w", err)
	}
	G.Read(logits, &d.out)
	if d.vm, err = newMachine(g, nil); err != nil {
		return nil, fmt.Errorf("vae decoder: %w", err)
	}
	return d, nil
}

// NELBO is the test_nelbo figure of Evaluate: the mean negative ELBO.
func (m *VAEModel) NELBO(test *data.Dataset) (float64, error) {
	ev, err := m.Evaluate(test)
	if err != nil {
		return 0, err
	}
	for _, e := range ev {
		if e.Name == "test_nelbo" {
			return e.Value, nil
		}
	}
	return 0, fmt.Errorf("vae: Evaluate gave no test_nelbo")
}

// LatentConfig is the section of the MLP kinds with a latent space (vae,
// ae, gan2d, vae2d): model.hidden and model.latent.
type LatentConfig struct {
	Hidden int `key:"model.hidden"` // hidden width
	Latent int `key:"model.latent"` // latent (vae, ae, vae2d) or noise (gan2d) dimension
}

// Validate checks the widths.
func (s *LatentConfig) Validate(_ *config.Config, v *config.Checker) {
	v.Check("model.hidden", config.In(s.Hidden, 1, 65536), "in [1, 65536]", s.Hidden)
	v.Check("model.latent", config.In(s.Latent, 1, 4096), "in [1, 4096]", s.Latent)
}

var vaeKind = &Kind{
	Kind:    config.Kind{Name: "vae", Section: func() config.Section { return &LatentConfig{} }},
	Summary: "variational autoencoder, MLP (Kingma & Welling 2014)",
	Caps:    CapLikelihood | CapReconstruct | CapLatent,
	New: func(cfg *config.Config) (Model, error) {
		s, t := cfg.Own.(*LatentConfig), cfg.Train
		return NewVAEModel(ShapeOf(cfg).Pixels(), s.Hidden, s.Latent, t.Seed, t.LR, t.Beta1, t.Beta2, t.Eps), nil
	},
}
