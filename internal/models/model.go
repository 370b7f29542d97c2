package models

import (
	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/rng"
)

// Model is what the training loop, the sampler and the evaluator drive; each
// model kind implements it in its own file.
type Model interface {
	Kind() string
	// TrainStep does one optimisation step on a batch and returns its losses.
	// All randomness (noise, dropped labels) is drawn from r.
	TrainStep(b Batch, r *rng.RNG) ([]Metric, error)
	// Generate returns one image per seed, pixels in [0,1]. Sample i depends
	// only on seeds[i] (and labels[i] for conditional models; -1 = none),
	// never on which batch it was drawn in.
	Generate(seeds []uint64, labels []int) ([][]float32, error)
	// Evaluate returns held-out metrics on a prepared test set, drawing any
	// noise from a fixed stream so the figures are comparable across steps.
	Evaluate(test *data.Dataset) ([]Metric, error)
	// State returns the weights under PyTorch state_dict names and, when
	// train is true, the optimizer state under "optim." names.
	State(train bool) []checkpoint.Tensor
	// Load restores what State wrote; train also restores the optimizer.
	Load(f *checkpoint.File, train bool) error
	// NumParams counts the learnable scalars.
	NumParams() int
}

// Batch is a minibatch of images in [0,1], N rows of H*W pixels (for the
// 2-D models of toy2d.go, N points: rows of x, y).
type Batch struct {
	N      int
	X      []float32
	Labels []uint8
}

// Metric is one named figure (a loss term, a held-out score).
type Metric struct {
	Name  string
	Value float64
}

// Reconstructor is implemented by models that can encode and decode an image.
type Reconstructor interface {
	Reconstruct(x [][]float32) ([][]float32, error)
}

// Autoencoder is implemented by models that map an image to a point of a
// latent space and a point back to an image: the VAE (the code of an image
// is its posterior mean μ) and the plain autoencoder (its deterministic
// code). `gentri latent` compares their latent spaces on the test set.
type Autoencoder interface {
	// LatentDim is the dimension of the codes.
	LatentDim() int
	// Encode returns the code of each image (pixels in [0,1]).
	Encode(x [][]float32) ([][]float32, error)
	// Decode returns the image of each code: the decoder's pixel means in [0,1].
	Decode(z [][]float32) ([][]float32, error)
}

// RNG streams: each purpose draws from its own stream of the run's seed, so
// adding a draw in one place never shifts the numbers of another.
const (
	StreamInit   uint64 = 1 // initial weights
	StreamTrain  uint64 = 2 // data order, binarisation, training noise
	StreamSample uint64 = 3 // per-sample noise at generation (seed = sample seed)
	StreamEval   uint64 = 4 // held-out evaluation noise and test binarisation
	// The points of a 2-D mixture data set: training points from the run's
	// seed, test points from seed 0, the same for every run.
	StreamData     uint64 = 5
	StreamDataTest uint64 = 6
	// The choices of an analysis of a trained model (the test images whose
	// codes `gentri latent` interpolates between), from its --seed.
	StreamAnalysis uint64 = 7
)

// Conditional is implemented by models that generate a requested class.
type Conditional interface {
	NumClasses() int
}

// LabelUser is implemented by conditional models that can do without
// labels: a DDPM that trains every image as "no class" (cond_drop 1), a
// ddgan of one class. Such a model trains on unlabelled data (Stacked
// MNIST) and samples without a class by default.
type LabelUser interface {
	UsesLabels() bool
}

// UsesLabels reports whether m learns from labels and samples by class: a
// Conditional model, unless it says otherwise (LabelUser).
func UsesLabels(m Model) bool {
	if _, ok := m.(Conditional); !ok {
		return false
	}
	if lu, ok := m.(LabelUser); ok {
		return lu.UsesLabels()
	}
	return true
}

// SamplerOptions choose how a diffusion model samples; they are chosen at
// sample time, never fixed by training.
type SamplerOptions struct {
	Sampler  string  // "ddpm" (ancestral), "ddim", "dpmpp2m" (DPM-Solver++(2M)), "dpmpp2m-sde" or "heun" (EDM)
	Steps    int     // denoising steps; 0 = the model's default (T for ddpm)
	Eta      float64 // DDIM: 0 deterministic, 1 the stochastic variant
	Variance string  // ddpm: "beta_tilde" (default) or "beta"
	// Spacing chooses the training steps visited: "leading" (the default),
	// "trailing", "logsnr" or "karras" (see Timesteps).
	Spacing string
	// Churn is Heun's S_churn (Karras et al. 2022, Algorithm 2): 0 is the
	// deterministic sampler. SNoise (0 = 1), STmin and STmax (0 = no upper
	// bound) are its S_noise, S_tmin and S_tmax, on the σ = √((1−ᾱ)/ᾱ) scale.
	Churn, SNoise, STmin, STmax float64
	// Guidance is the classifier-free guidance scale w:
	// ε = ε(x, y) + w·(ε(x, y) − ε(x, ∅)); w = 0 is the plain conditional
	// prediction. Samples with label < 0 are unconditional (y = ∅).
	Guidance float64
	// Clip clamps the predicted x̂_0 to the data range [−1, 1] at every
	// step, as the DDPM reference implementation does (clip_denoised).
	Clip bool
	// Progress, if set, is called after each denoising step.
	Progress func(done, total int)
}

// Sampler is implemented by models whose sampling has options (diffusion).
type Sampler interface {
	SetSampler(SamplerOptions) error
	// Options returns the current sampler options (initially the config's).
	Options() SamplerOptions
	// NFE is the number of network evaluations per sample under the
	// current options (SamplerNFE: Heun's are 2·steps − 1; twice as many
	// under guidance).
	NFE() int
}

// Likelihood is implemented by models that bound the log-likelihood of
// images (the VAE): `gentri eval` reports both figures for them.
type Likelihood interface {
	// NELBO is the mean negative ELBO, in nats per image, of a prepared
	// (binarised, where the model is Bernoulli) test set.
	NELBO(test *data.Dataset) (float64, error)
	// IWAE is the importance-weighted estimate of the NLL with k samples.
	IWAE(images [][]float32, k int, r *rng.RNG, progress func(done, total int)) (float64, error)
}
