package models

import (
	"errors"
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/nn"
	"github.com/gentri/gentri/internal/rng"
)

// ErrNotGenerative is returned by Generate of a model that only classifies.
var ErrNotGenerative = errors.New("this model does not generate images")

// Classifier is the LeNet-style MNIST classifier whose penultimate features
// and class probabilities `gentri eval` uses in place of Inception
// (docs/metrics.md §1), for images of shape (channels, S, S):
//
//	Conv3×3 channels→C, ReLU, MaxPool 2 → Conv3×3 C→2C, ReLU, MaxPool 2
//	→ Linear(2C·(S/4)², H), ReLU  (the features) → Linear(H, classes)  (the logits)
//
// (S/4 is 7 for MNIST's 28 pixels, 8 for 32.)
type Classifier struct {
	Channels, Hidden, Classes int
	Image                     Shape // the images it classifies
	Params                    *nn.Params
	c1, c2                    *nn.Conv2d
	fc1, fc2                  *nn.Linear
}

// NewClassifier creates the network's parameters for images of shape img.
func NewClassifier(ps *nn.Params, img Shape, channels, hidden, classes int) *Classifier {
	c := channels
	return &Classifier{
		Channels: c, Hidden: hidden, Classes: classes, Image: img, Params: ps,
		c1:  nn.NewConv2d(ps, "c1", img.C, c, 3, 1, 1),
		c2:  nn.NewConv2d(ps, "c2", c, 2*c, 3, 1, 1),
		fc1: nn.NewLinear(ps, "fc1", 2*c*(img.H/4)*(img.W/4), hidden),
		fc2: nn.NewLinear(ps, "fc2", hidden, classes),
	}
}

// Apply returns the features (B, hidden) and logits (B, classes) of x (B, C, H, W).
func (m *Classifier) Apply(g *G.ExprGraph, x *G.Node) (features, logits *G.Node, err error) {
	batch := x.Shape()[0]
	h := x
	for _, c := range []*nn.Conv2d{m.c1, m.c2} {
		if h, err = c.Apply(g, h); err != nil {
			return nil, nil, err
		}
		if h, err = nn.ReLU(h); err != nil {
			return nil, nil, err
		}
		if h, err = G.MaxPool2D(h, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}); err != nil {
			return nil, nil, fmt.Errorf("classifier max pool: %w", err)
		}
	}
	h = G.Must(G.Reshape(h, tensor.Shape{batch, 2 * m.Channels * (m.Image.H / 4) * (m.Image.W / 4)}))
	if h, err = m.fc1.Apply(g, h); err != nil {
		return nil, nil, err
	}
	if features, err = nn.ReLU(h); err != nil {
		return nil, nil, err
	}
	logits, err = m.fc2.Apply(g, features)
	return features, logits, err
}

// ClassifierModel trains the classifier with Adam on the cross-entropy.
type ClassifierModel struct {
	*Classifier
	Opt   *nn.Adam
	train *classifierStep
	infer *classifierInfer
}

// classifierEvalBatch is the fixed batch of the inference graph.
const classifierEvalBatch = 500

// NewClassifierModel returns an untrained classifier of images of shape img
// (zero: DefaultShape).
func NewClassifierModel(img Shape, channels, hidden, classes int, seed uint64, lr, beta1, beta2, eps float64) *ClassifierModel {
	c := NewClassifier(nn.NewParams(tensor.Float32, rng.New(seed, StreamInit)), img.orDefault(), channels, hidden, classes)
	return &ClassifierModel{Classifier: c, Opt: nn.NewAdam(c.Params.List, lr, beta1, beta2, eps)}
}

func (m *ClassifierModel) Kind() string   { return "classifier" }
func (m *ClassifierModel) NumParams() int { return m.Params.Count() }

type classifierStep struct {
	x, y  *tensor.Dense
	loss  G.Value
	grads G.Nodes
	vm    G.VM
}

func (m *ClassifierModel) newStep(batch int) (*classifierStep, error) {
	g := G.NewGraph()
	s := &classifierStep{
		x: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, m.Image.C, m.Image.H, m.Image.W)),
		y: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, m.Classes)),
	}
	_, logits, err := m.Apply(g, G.NodeFromAny(g, s.x, G.WithName("x")))
	if err != nil {
		return nil, err
	}
	loss, err := nn.SoftmaxCrossEntropy(logits, G.NodeFromAny(g, s.y, G.WithName("y")))
	if err != nil {
		return nil, err
	}
	G.Read(loss, &s.loss)
	if s.grads, err = G.Grad(loss, paramNodes(g, m.Params.List)...); err != nil {
		return nil, fmt.Errorf("classifier gradients: %w", err)
	}
	if s.vm, err = newMachine(g, s.grads); err != nil {
		return nil, fmt.Errorf("classifier step: %w", err)
	}
	return s, nil
}

// TrainStep takes one Adam step on the batch's cross-entropy (no noise: r is unused).
func (m *ClassifierModel) TrainStep(b Batch, _ *rng.RNG) ([]Metric, error) {
	if m.train == nil || m.train.x.Shape()[0] != b.N {
		var err error
		if m.train, err = m.newStep(b.N); err != nil {
			return nil, err
		}
	}
	s := m.train
	copy(s.x.Data().([]float32), b.X)
	labels := make([]int, b.N)
	for i, l := range b.Labels[:b.N] {
		if int(l) >= m.Classes {
			return nil, fmt.Errorf("classifier: label %d but the model has %d classes", l, m.Classes)
		}
		labels[i] = int(l)
	}
	oneHot(s.y.Data().([]float32), labels, m.Classes)
	if err := runVM(s.vm); err != nil {
		return nil, fmt.Errorf("classifier step: %w", err)
	}
	if err := m.Opt.Update(gradValues(s.grads)); err != nil {
		return nil, err
	}
	return []Metric{{"loss", scalarValue(s.loss)}}, nil
}

type classifierInfer struct {
	x        *tensor.Dense
	features G.Value
	logits   G.Value
	vm       G.VM
}

// Features returns, for each image (pixels in [0,1]), its penultimate
// features and its class probabilities.
func (m *ClassifierModel) Features(imgs [][]float32) (features, probs [][]float64, err error) {
	if m.infer == nil {
		g := G.NewGraph()
		in := &classifierInfer{x: tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(classifierEvalBatch, m.Image.C, m.Image.H, m.Image.W))}
		f, l, err := m.Apply(g, G.NodeFromAny(g, in.x, G.WithName("x")))
		if err != nil {
			return nil, nil, err
		}
		G.Read(f, &in.features)
		G.Read(l, &in.logits)
		if in.vm, err = newMachine(g, nil); err != nil {
			return nil, nil, fmt.Errorf("classifier features: %w", err)
		}
		m.infer = in
	}
	pixels := m.Image.Pixels()
	x := m.infer.x.Data().([]float32)
	for start := 0; start < len(imgs); start += classifierEvalBatch {
		end := min(start+classifierEvalBatch, len(imgs))
		clear(x)
		for i, img := range imgs[start:end] {
			if len(img) != pixels {
				return nil, nil, fmt.Errorf("classifier: image %d has %d pixels, want %d", start+i, len(img), pixels)
			}
			copy(x[i*pixels:], img)
		}
		if err := runVM(m.infer.vm); err != nil {
			return nil, nil, fmt.Errorf("classifier: %w", err)
		}
		fs := m.infer.features.Data().([]float32)
		ps := nn.Softmax(m.infer.logits.Data().([]float32), m.Classes)
		for i := 0; i < end-start; i++ {
			f := make([]float64, m.Hidden)
			for j := range f {
				f[j] = float64(fs[i*m.Hidden+j])
			}
			features = append(features, f)
			probs = append(probs, ps[i*m.Classes:(i+1)*m.Classes])
		}
	}
	return features, probs, nil
}

// Evaluate returns the test-set accuracy.
func (m *ClassifierModel) Evaluate(test *data.Dataset) ([]Metric, error) {
	imgs := make([][]float32, test.N)
	for i := range imgs {
		imgs[i] = test.Image(i)
	}
	_, probs, err := m.Features(imgs)
	if err != nil {
		return nil, err
	}
	correct := 0
	for i, p := range probs {
		best := 0
		for k := range p {
			if p[k] > p[best] {
				best = k
			}
		}
		if best == int(test.Labels[i]) {
			correct++
		}
	}
	return []Metric{{"test_accuracy", float64(correct) / float64(test.N)}}, nil
}

// Generate is not available: a classifier only scores images.
func (m *ClassifierModel) Generate([]uint64, []int) ([][]float32, error) {
	return nil, ErrNotGenerative
}

func (m *ClassifierModel) State(train bool) []checkpoint.Tensor {
	return netState(m.Params.List, m.Opt, train)
}

func (m *ClassifierModel) Load(f *checkpoint.File, train bool) error {
	return loadNetState(f, m.Params.List, m.Opt, train)
}

// ClassifierConfig is the classifier's section.
type ClassifierConfig struct {
	Hidden   int `key:"model.hidden"`   // dimension of the features
	Channels int `key:"model.channels"` // channels of the first convolution
	Classes  int `key:"model.classes"`
}

// Validate checks the sizes.
func (s *ClassifierConfig) Validate(_ *config.Config, v *config.Checker) {
	v.Check("model.channels", config.In(s.Channels, 1, 1024), "in [1, 1024]", s.Channels)
	v.Check("model.hidden", config.In(s.Hidden, 1, 65536), "in [1, 65536]", s.Hidden)
	v.Check("model.classes", config.In(s.Classes, 2, 256), "in [2, 256] (labels are bytes)", s.Classes)
}

// classifierKind is the feature network of `gentri eval`.
var classifierKind = &Kind{
	Kind:    config.Kind{Name: "classifier", Section: func() config.Section { return &ClassifierConfig{} }},
	Summary: "MNIST classifier: the feature network of gentri eval",
	New: func(cfg *config.Config) (Model, error) {
		s, t := cfg.Own.(*ClassifierConfig), cfg.Train
		return NewClassifierModel(ShapeOf(cfg), s.Channels, s.Hidden, s.Classes, t.Seed, t.LR, t.Beta1, t.Beta2, t.Eps), nil
	},
}
