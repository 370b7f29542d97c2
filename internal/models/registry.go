package models

// The registry: every model kind is one *Kind value, declared in the kind's
// own file beside its model, and listed once in kinds below. Nothing outside
// this file switches on a kind's name.
//
// To add a kind "foo":
//
//  1. Write configs/foo.yaml, the kind's shipped defaults (model.kind: foo).
//  2. In internal/models/foo*.go declare its section, a struct of the keys only
//     foo uses, each tagged `key:"section.key"` (model.hidden, train.ema, ...;
//     embed DiffusionConfig or another kind's group to share keys), with a
//     Validate(*config.Config, *config.Checker) method; then
//
//     var fooKind = &Kind{
//         Kind:    config.Kind{Name: "foo", Section: func() config.Section { return &FooConfig{} }},
//         Summary: "one line for the help texts",
//         Caps:    CapConditional | CapSampler, // the optional interfaces its model implements
//         New:     newFoo,                    // func(*config.Config) (Model, error)
//     }
//
//  3. Add fooKind to kinds below. Its model implements Model (Kind() returns
//     "foo") and the interfaces its Caps name; TestRegistry checks both.
//
// The commands' help texts, config validation, `gentri eval` and checkpoint
// loading all read the registry, so nothing else changes.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gentri/gentri/configs"
	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/version"
)

// kinds is the registry, in the order help texts list them.
var kinds = []*Kind{
	vaeKind, aeKind, cganKind, ganKind, ddpmKind,
	gan2dKind, vae2dKind, ddpm2dKind,
	ddganKind, ddgan2dKind,
	classifierKind,
}

// Kind is one registry entry: the config layer's view of the kind (name,
// shipped defaults, typed section), what it can do and how to build it.
type Kind struct {
	config.Kind
	// Summary describes the kind in one line for help texts.
	Summary string
	// Caps lists the optional interfaces its models implement.
	Caps Capability
	// New builds an untrained model from a validated config of this kind,
	// with weights drawn from the run's seed.
	New func(cfg *config.Config) (Model, error)
}

// Capability is a set of the optional interfaces a kind's models implement,
// so commands can say what a kind offers before building one.
type Capability uint

const (
	CapConditional Capability = 1 << iota // Conditional: generates a requested class
	CapSampler                            // Sampler: sampling has options (diffusion)
	CapLikelihood                         // Likelihood: bounds the test log-likelihood
	CapReconstruct                        // Reconstructor: encodes and decodes an image
	CapLatent                             // Autoencoder: codes of images, images of codes
)

// Has reports whether every capability of o is in c.
func (c Capability) Has(o Capability) bool { return c&o == o }

// String names the capabilities, e.g. "conditional, sampler options".
func (c Capability) String() string {
	var out []string
	for _, x := range []struct {
		c    Capability
		name string
	}{{CapConditional, "conditional"}, {CapSampler, "sampler options"}, {CapLikelihood, "likelihood"}, {CapReconstruct, "reconstruction"}, {CapLatent, "latent codes"}} {
		if c.Has(x.c) {
			out = append(out, x.name)
		}
	}
	return strings.Join(out, ", ")
}

// Schema is the registry as the config package sees it.
var Schema = newSchema()

func newSchema() *config.Schema {
	cks := make([]*config.Kind, len(kinds))
	for i, k := range kinds {
		b, err := configs.Default(k.Name)
		if err != nil {
			panic(fmt.Sprintf("models: kind %s: %v", k.Name, err)) // a kind ships its defaults
		}
		k.Default = b
		cks[i] = &k.Kind
	}
	return config.NewSchema(cks...)
}

// Kinds returns the registry in help-text order.
func Kinds() []*Kind { return slices.Clone(kinds) }

// KindNames lists the kinds' names in help-text order.
func KindNames() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Name
	}
	return out
}

// Lookup returns the kind of that name.
func Lookup(name string) (*Kind, bool) {
	for _, k := range kinds {
		if k.Name == name {
			return k, true
		}
	}
	return nil, false
}

// LoadConfig resolves a config of the registry's kinds (see config.Schema.Load).
func LoadConfig(kind, path string, sets []string) (*config.Config, error) {
	return Schema.Load(kind, path, sets)
}

// Checkpoint metadata keys: a checkpoint describes itself, so sampling from
// it needs nothing else.
const (
	MetaFormat  = "gentri.format"
	MetaKind    = "gentri.kind"
	MetaConfig  = "gentri.config"
	MetaStep    = "gentri.step"
	MetaVersion = "gentri.version"
	// MetaData is the JSON of the data set's identity (data.Info), so that
	// evaluation finds the run's own data again; absent for 2-D models and
	// for checkpoints written before it existed.
	MetaData = "gentri.data"
	// MetaShape is an image model's Shape ("3x32x32"); absent for 2-D
	// models, and for checkpoints written before models had a shape, which
	// are all 1x28x28.
	MetaShape = "gentri.shape"
	formatV1  = "1"
)

// SetDataInfo records the identity of the data a checkpoint was trained on.
func SetDataInfo(meta map[string]string, info data.Info) {
	b, err := json.Marshal(info)
	if err != nil {
		panic(err) // a struct of strings and ints always marshals
	}
	meta[MetaData] = string(b)
}

// DataInfo reads the identity of the data a checkpoint was trained on;
// ok is false when it records none.
func DataInfo(f *checkpoint.File, name string) (info data.Info, ok bool, err error) {
	raw, ok := f.Metadata[MetaData]
	if !ok {
		return data.Info{}, false, nil
	}
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return data.Info{}, false, fmt.Errorf("%s: metadata %s: %w", name, MetaData, err)
	}
	return info, true, nil
}

// Shape is the shape of the images an image model is built for: C planes
// (1 grey, 3 RGB) of H rows of W pixels, stored CHW. It comes from the
// config (data.channels, data.size), and the checkpoint records it.
type Shape struct{ C, H, W int }

// DefaultShape is MNIST's, 1x28x28: the shape of every checkpoint written
// before models had another.
var DefaultShape = Shape{C: 1, H: 28, W: 28}

// Pixels is the number of values of one image, C*H*W.
func (s Shape) Pixels() int { return s.C * s.H * s.W }

// String writes the shape as C x H x W, e.g. "3x32x32".
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.C, s.H, s.W) }

// orDefault is s, or DefaultShape when s is the zero Shape (options built
// without one).
func (s Shape) orDefault() Shape {
	if s == (Shape{}) {
		return DefaultShape
	}
	return s
}

// ParseShape reads a shape written by String.
func ParseShape(v string) (Shape, error) {
	var s Shape
	if n, err := fmt.Sscanf(v, "%dx%dx%d", &s.C, &s.H, &s.W); err != nil || n != 3 || s.C < 1 || s.H < 1 || s.W < 1 || s.String() != v {
		return Shape{}, fmt.Errorf("image shape %q: want CxHxW, e.g. 1x28x28", v)
	}
	return s, nil
}

// ShapeOf is the image shape of a config: data.channels planes of
// data.size x data.size pixels. The 2-D kinds' configs have no shape:
// theirs is the zero Shape.
func ShapeOf(cfg *config.Config) Shape {
	if cfg.Data.Channels == 0 && cfg.Data.Size == 0 {
		return Shape{}
	}
	return Shape{C: cfg.Data.Channels, H: cfg.Data.Size, W: cfg.Data.Size}
}

// New builds an untrained model of cfg.Model.Kind, with weights drawn from
// the run's seed.
func New(cfg *config.Config) (Model, error) {
	k, ok := Lookup(cfg.Model.Kind)
	if !ok {
		return nil, fmt.Errorf("model kind %q is not implemented", cfg.Model.Kind)
	}
	return k.New(cfg)
}

// Metadata returns the self-description stored with a model's weights.
func Metadata(m Model, cfg *config.Config, step int) map[string]string {
	meta := map[string]string{
		MetaFormat:  formatV1,
		MetaKind:    m.Kind(),
		MetaConfig:  string(cfg.YAML()),
		MetaStep:    strconv.Itoa(step),
		MetaVersion: version.Version,
	}
	if s := ShapeOf(cfg); s != (Shape{}) {
		meta[MetaShape] = s.String()
	}
	return meta
}

// Describe reads a checkpoint's self-description: its config and step.
func Describe(f *checkpoint.File, name string) (*config.Config, int, error) {
	if f.Metadata[MetaFormat] != formatV1 {
		return nil, 0, fmt.Errorf("%s: not a gentri checkpoint (metadata %q is %q, want %q)", name, MetaFormat, f.Metadata[MetaFormat], formatV1)
	}
	kind := f.Metadata[MetaKind]
	cfg, err := LoadConfig(kind, "", nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", name, err)
	}
	if err := config.Parse(cfg, []byte(f.Metadata[MetaConfig]), name+" (metadata "+MetaConfig+")"); err != nil {
		return nil, 0, err
	}
	if cfg.Model.Kind != kind {
		return nil, 0, fmt.Errorf("%s: metadata says kind %q but its config says %q", name, kind, cfg.Model.Kind)
	}
	if err := cfg.Validate(); err != nil {
		return nil, 0, fmt.Errorf("%s: stored config: %w", name, err)
	}
	step, err := strconv.Atoi(f.Metadata[MetaStep])
	if err != nil || step < 0 {
		return nil, 0, fmt.Errorf("%s: bad step %q in metadata", name, f.Metadata[MetaStep])
	}
	if err := checkShape(f, cfg, name); err != nil {
		return nil, 0, err
	}
	return cfg, step, nil
}

// checkShape checks the image shape a checkpoint records against its
// config's. A checkpoint of an image model without one predates shapes: it
// is 1x28x28, as its config (read over the defaults) says too.
func checkShape(f *checkpoint.File, cfg *config.Config, name string) error {
	want := ShapeOf(cfg)
	raw, ok := f.Metadata[MetaShape]
	if !ok {
		if want != (Shape{}) && want != DefaultShape {
			return fmt.Errorf("%s: records no image shape (so 1x28x28), but its config says %s", name, want)
		}
		return nil
	}
	got, err := ParseShape(raw)
	if err != nil {
		return fmt.Errorf("%s: metadata %s: %w", name, MetaShape, err)
	}
	if got != want {
		return fmt.Errorf("%s: metadata %s is %s, but its config (data.channels, data.size) says %s", name, MetaShape, got, want)
	}
	return nil
}

// Open reads a checkpoint and rebuilds its model with the stored weights
// (and, with train, the optimizer state).
func Open(path string, train bool) (Model, *config.Config, *checkpoint.File, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, _, err := Describe(f, path)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := New(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.Load(f, train); err != nil {
		return nil, nil, nil, fmt.Errorf("checkpoint %s does not fit a %s model of its own config: %w", path, cfg.Model.Kind, err)
	}
	return m, cfg, f, nil
}
