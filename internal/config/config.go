// Package config holds gentri's typed run configuration: the shipped default
// of a model kind, overlaid by a user's YAML file and by --set overrides, then
// validated. Every error names where the bad value came from (file and line,
// or the --set argument) and the full "section.key", so a typo never silently
// falls back to a default.
//
// A Config has the keys every kind shares (the structs below) and the typed
// Section of its own kind (model.hidden, train.ema, ...), which the kind's
// entry in the models registry declares; see kind.go.
package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
)

// Config is the whole resolved configuration of one run.
type Config struct {
	Model  Model  `yaml:"model"`
	Data   Data   `yaml:"data"`
	Train  Train  `yaml:"train"`
	Sample Sample `yaml:"sample"`
	// Own holds the keys only this config's kind uses; its concrete type is
	// the kind's (e.g. *models.VAEConfig).
	Own Section `yaml:"-"`

	kind   *Kind   // the kind Own belongs to
	schema *Schema // the kinds a key may belong to, for error messages
}

// Model selects the architecture; its sizes are in the kind's section.
type Model struct {
	Kind string `yaml:"kind"` // a name in the models registry
}

// Data says which images to train on and how to present them.
type Data struct {
	Dataset string `yaml:"dataset"` // "mnist" (images: MNIST, or what data.dir holds), "stacked_mnist", or the 2-D mixtures "ring8" | "grid25"
	Dir     string `yaml:"dir"`     // folder of IDX files, CIFAR-10 batches or images; "" = locate MNIST
	// Channels (1 grey, 3 RGB) and Size (the side in pixels, 28 or 32) are
	// the shape every image is converted to and the models are built for;
	// 0 for the 2-D mixtures, whose points have no shape.
	Channels int    `yaml:"channels"`
	Size     int    `yaml:"size"`
	Binarize string `yaml:"binarize"` // "dynamic" | "none"
	Subset   int    `yaml:"subset"`   // first N training images, 0 = all
	// SkipBad leaves out undecodable image files (counted in the checkpoint's
	// data identity) instead of failing; it is part of the config so that
	// evaluation reads the data the same way.
	SkipBad bool `yaml:"skip_bad"`
}

// Train holds the optimiser and the schedule of logs, samples and checkpoints.
type Train struct {
	Seed            uint64  `yaml:"seed"`
	Steps           int     `yaml:"steps"`
	BatchSize       int     `yaml:"batch_size"`
	LR              float64 `yaml:"lr"`
	Beta1           float64 `yaml:"beta1"`
	Beta2           float64 `yaml:"beta2"`
	Eps             float64 `yaml:"eps"`
	LogEvery        int     `yaml:"log_every"`
	SampleEvery     int     `yaml:"sample_every"`
	CheckpointEvery int     `yaml:"checkpoint_every"`
	KeepCheckpoints int     `yaml:"keep_checkpoints"`
}

// Sample configures `gentri sample`.
type Sample struct {
	N    int    `yaml:"n"`
	Seed uint64 `yaml:"seed"`
}

// Load builds the resolved config: start from the shipped default of the kind,
// overlay the user's file (if path != ""), then apply the --set overrides,
// then Validate. kind may be "" when path is given: then the kind comes from
// the file's model.kind.
func (s *Schema) Load(kind, path string, sets []string) (*Config, error) {
	var user []byte
	if path != "" {
		var err error
		if user, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		// Parse once on its own just to learn the file's model.kind.
		peek := &Config{schema: s}
		if err := Parse(peek, user, path); err != nil {
			return nil, err
		}
		if fk := peek.Model.Kind; kind == "" {
			kind = fk
		} else if fk != "" && fk != kind {
			return nil, fmt.Errorf("%s: model.kind is %q but the requested model kind is %q", path, fk, kind)
		}
	}
	if kind == "" {
		return nil, fmt.Errorf("no model kind: name one (known: %s) or set model.kind in a config file", strings.Join(s.Names(), ", "))
	}
	c, err := s.Default(kind)
	if err != nil {
		return nil, err
	}
	if err := Parse(c, user, path); err != nil {
		return nil, err
	}
	for _, set := range sets {
		if err := ApplySet(c, set); err != nil {
			return nil, err
		}
		// The defaults were chosen for kind; switching it here would mix kinds.
		if c.Model.Kind != kind {
			return nil, fmt.Errorf("--set %s: cannot change the model kind from %q; choose the kind instead of overriding it", set, kind)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config:\n%w", err)
	}
	return c, nil
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	d.Own = cloneSection(c.Own)
	return &d
}

// Keys lists every "section.key" of c: each section's common keys, then its
// kind's own, in the order YAML writes them.
func (c *Config) Keys() []string {
	var keys []string
	for _, sec := range sectionNames() {
		keys = append(keys, c.sectionKeys(sec)...)
	}
	return keys
}

// sectionKeys lists the full keys of one section of c.
func (c *Config) sectionKeys(sec string) []string {
	var keys []string
	for _, k := range commonKeys() {
		if strings.HasPrefix(k, sec+".") {
			keys = append(keys, k)
		}
	}
	for _, f := range ownFields(c.Own) {
		if strings.HasPrefix(f.key, sec+".") {
			keys = append(keys, f.key)
		}
	}
	return keys
}

// lookup returns the field that holds "section.key": a common field, or one
// of the kind's section.
func (c *Config) lookup(key string) (reflect.Value, bool) {
	sec, k, _ := strings.Cut(key, ".")
	if s, ok := field(reflect.ValueOf(c).Elem(), sec); ok {
		if v, ok := field(s, k); ok && v.Kind() != reflect.Struct {
			return v, true
		}
	}
	for _, f := range ownFields(c.Own) {
		if f.key == key {
			return f.v, true
		}
	}
	return reflect.Value{}, false
}

// foreign words the error for a key that another kind owns, or returns "".
func (c *Config) foreign(key string) string {
	if c.schema == nil || len(c.schema.owners[key]) == 0 {
		return ""
	}
	return fmt.Sprintf("%s: not used by model kind %q (remove it; it belongs to %s)", key, c.Model.Kind, strings.Join(c.schema.owners[key], ", "))
}

// sectionNames lists the sections, from the yaml tags of Config.
func sectionNames() []string {
	var out []string
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		if n := tagName(t.Field(i)); n != "" && n != "-" && t.Field(i).IsExported() {
			out = append(out, n)
		}
	}
	return out
}

// commonKeys lists the "section.key" of the fields every kind has.
func commonKeys() []string {
	var keys []string
	t := reflect.TypeOf(Config{})
	for _, sec := range sectionNames() {
		f, _ := t.FieldByNameFunc(func(n string) bool { sf, _ := t.FieldByName(n); return tagName(sf) == sec })
		for i := 0; i < f.Type.NumField(); i++ {
			keys = append(keys, sec+"."+tagName(f.Type.Field(i)))
		}
	}
	return keys
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}

// field finds the struct field of v whose yaml tag is name.
func field(v reflect.Value, name string) (reflect.Value, bool) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	for i := 0; i < v.NumField(); i++ {
		if tagName(v.Type().Field(i)) == name && name != "" && name != "-" {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}
