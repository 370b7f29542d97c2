// Package config holds gentri's typed run configuration: the shipped default
// of a model kind, overlaid by a user's YAML file and by --set overrides, then
// validated. Every error names where the bad value came from (file and line,
// or the --set argument) and the full "section.key", so a typo never silently
// falls back to a default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gentri/gentri/configs"
)

// Config is the whole resolved configuration of one run.
type Config struct {
	Model  Model  `yaml:"model"`
	Data   Data   `yaml:"data"`
	Train  Train  `yaml:"train"`
	Sample Sample `yaml:"sample"`
}

// Model selects the architecture and its sizes.
// Keys that only some kinds use are listed in kindKeys.
type Model struct {
	Kind     string `yaml:"kind"`     // "vae", "cgan", "ddpm", "classifier"
	Hidden   int    `yaml:"hidden"`   // vae, classifier and the 2-D kinds: hidden width
	Latent   int    `yaml:"latent"`   // vae, vae2d: latent dimension; cgan, gan2d: noise dimension
	Channels int    `yaml:"channels"` // cgan: base channel count of G and D; ddpm: the U-Net's base width
	Classes  int    `yaml:"classes"`  // cgan, ddpm: number of labels
}

// Data says which images to train on and how to present them.
type Data struct {
	Dataset  string `yaml:"dataset"`  // "mnist", or the 2-D mixtures "ring8" | "grid25"
	Dir      string `yaml:"dir"`      // folder of IDX files; "" = locate MNIST
	Binarize string `yaml:"binarize"` // "dynamic" | "none"
	Subset   int    `yaml:"subset"`   // first N training images, 0 = all
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
	LRD             float64 `yaml:"lr_d"`            // cgan: the discriminator's learning rate (lr is G's)
	Loss            string  `yaml:"loss"`            // cgan: "ns" (non-saturating softplus) | "hinge"
	LabelSmoothing  float64 `yaml:"label_smoothing"` // cgan: one-sided; D's target for real images is 1-s
	EMA             float64 `yaml:"ema"`             // cgan, ddpm: decay of the sampling network's weight average (0 = off)
	Timesteps       int     `yaml:"timesteps"`       // ddpm: diffusion steps T
	Schedule        string  `yaml:"schedule"`        // ddpm: "linear" | "cosine" noise schedule
	BetaStart       float64 `yaml:"beta_start"`      // ddpm: first beta of the linear schedule
	BetaEnd         float64 `yaml:"beta_end"`        // ddpm: last beta of the linear schedule
	CondDrop        float64 `yaml:"cond_drop"`       // ddpm: probability of training a label as "no class"
	Warmup          int     `yaml:"warmup"`          // ddpm: linear learning-rate warm-up steps (0 = off)
}

// kindKeys lists, per model kind, the keys only some kinds use. Such a key
// set for a kind that does not use it is an error, and the resolved YAML of
// a run shows only its kind's keys.
var kindKeys = map[string][]string{
	"vae":  {"model.hidden", "model.latent"},
	"cgan": {"model.latent", "model.channels", "model.classes", "train.lr_d", "train.loss", "train.label_smoothing", "train.ema"},
	// classifier: the feature network of `gentri eval`.
	"classifier": {"model.channels", "model.hidden", "model.classes"},
	"ddpm": {"model.channels", "model.classes", "train.ema", "train.timesteps", "train.schedule", "train.beta_start",
		"train.beta_end", "train.cond_drop", "train.warmup",
		"sample.sampler", "sample.steps", "sample.eta", "sample.variance", "sample.guidance", "sample.clip"},
	// The 2-D models of the mixture benchmarks (data.dataset ring8, grid25).
	"gan2d": {"model.hidden", "model.latent"},
	"vae2d": {"model.hidden", "model.latent"},
	"ddpm2d": {"model.hidden", "train.ema", "train.timesteps", "train.schedule", "train.beta_start", "train.beta_end",
		"sample.sampler", "sample.steps", "sample.eta", "sample.variance"},
}

// foreignKeys returns the kind-specific keys the given kind does not use.
func foreignKeys(kind string) map[string]bool {
	own := map[string]bool{}
	for _, k := range kindKeys[kind] {
		own[k] = true
	}
	out := map[string]bool{}
	for _, ks := range kindKeys {
		for _, k := range ks {
			if !own[k] {
				out[k] = true
			}
		}
	}
	return out
}

// value returns the field at "section.key".
func (c *Config) value(key string) reflect.Value {
	sec, k, _ := strings.Cut(key, ".")
	s, _ := field(reflect.ValueOf(c).Elem(), sec)
	v, _ := field(s, k)
	return v
}

// Sample configures `gentri sample`.
type Sample struct {
	N    int    `yaml:"n"`
	Seed uint64 `yaml:"seed"`
	// Diffusion sampling (ddpm); `gentri sample` and `eval` flags override them.
	Sampler  string  `yaml:"sampler"`  // "ddpm" (ancestral) | "ddim"; also the training grids' sampler
	Steps    int     `yaml:"steps"`    // denoising steps, <= train.timesteps; 0 = T for ddpm, 50 for ddim
	Eta      float64 `yaml:"eta"`      // ddim: 0 deterministic .. 1 stochastic
	Variance string  `yaml:"variance"` // ddpm: "beta_tilde" | "beta"
	Guidance float64 `yaml:"guidance"` // classifier-free guidance scale (0 = plain conditional)
	Clip     bool    `yaml:"clip"`     // ddpm: clip the predicted x_0 to [-1, 1] at each step
}

// Load builds the resolved config: start from the shipped default of the kind
// (configs.Default(kind)), overlay the user's file (if path != ""), then apply
// the --set overrides, then Validate. kind may be "" when path is given: then
// the kind comes from the file's model.kind.
func Load(kind, path string, sets []string) (*Config, error) {
	var user []byte
	if path != "" {
		var err error
		if user, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		// Parse once on its own just to learn the file's model.kind.
		var peek Config
		if err := Parse(&peek, user, path); err != nil {
			return nil, err
		}
		switch fk := peek.Model.Kind; {
		case kind == "":
			kind = fk
		case fk != "" && fk != kind:
			return nil, fmt.Errorf("%s: model.kind is %q but the requested model kind is %q", path, fk, kind)
		}
	}
	if kind == "" {
		return nil, fmt.Errorf("no model kind: name one (known: %s) or set model.kind in a config file", strings.Join(configs.Kinds(), ", "))
	}
	def, err := configs.Default(kind)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	if err := Parse(c, def, "built-in configs/"+kind+".yaml"); err != nil {
		return nil, err
	}
	if err := Parse(c, user, path); err != nil {
		return nil, err
	}
	for _, s := range sets {
		if err := ApplySet(c, s); err != nil {
			return nil, err
		}
		// The defaults were chosen for kind; switching it here would mix kinds.
		if c.Model.Kind != kind {
			return nil, fmt.Errorf("--set %s: cannot change the model kind from %q; choose the kind instead of overriding it", s, kind)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config:\n%w", err)
	}
	return c, nil
}

// Parse overlays YAML bytes onto c strictly: unknown keys, wrong types, nested
// values where a scalar belongs and second documents are errors, all of them
// reported at once. An empty file changes nothing. On error c is unchanged.
func Parse(c *Config, data []byte, name string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil
	} else if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return fmt.Errorf("%s: line %d: a second YAML document; put all settings in one document", name, extra.Line)
	}
	tmp := *c
	var errs []error
	for _, n := range doc.Content {
		walk(reflect.ValueOf(&tmp).Elem(), n, "", name, &errs)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*c = tmp
	return nil
}

// walk overlays node n onto v, whose full key is prefix, appending errors.
func walk(v reflect.Value, n *yaml.Node, prefix, name string, errs *[]error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	fail := func(n *yaml.Node, format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: line %d: "+format, append([]any{name, n.Line}, args...)...))
	}
	if v.Kind() != reflect.Struct {
		if err := setLeaf(v, n); err != nil {
			fail(n, "%s: %v", prefix, err)
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "model:" with nothing under it overrides nothing
	}
	if n.Kind != yaml.MappingNode {
		fail(n, "%s: want a mapping of keys (%s), got %s", where(prefix), strings.Join(names(v.Type(), prefix), ", "), describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		key := join(prefix, k.Value)
		if k.Kind != yaml.ScalarNode {
			fail(k, "%s: a key must be a plain name, got %s", where(prefix), describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			fail(k, "duplicate key %q (first at line %d)", key, first)
			continue
		}
		seen[k.Value] = k.Line
		f, ok := field(v, k.Value)
		if !ok {
			fail(k, "%s", unknown(key, prefix == ""))
			continue
		}
		walk(f, n.Content[i+1], key, name, errs)
	}
}

// setLeaf decodes one scalar into v, accepting only the YAML types that fit
// exactly: an int field refuses 1e4 or 2.5 rather than truncating them.
func setLeaf(v reflect.Value, n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a single %s value, got %s", v.Type(), describe(n))
	}
	tag, ok := n.ShortTag(), false
	switch v.Kind() {
	case reflect.String:
		ok = true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		ok = tag == "!!int"
	case reflect.Float32, reflect.Float64:
		ok = tag == "!!int" || tag == "!!float"
	case reflect.Bool:
		ok = tag == "!!bool"
	}
	if ok {
		p := reflect.New(v.Type())
		if n.Decode(p.Interface()) == nil {
			v.Set(p.Elem())
			return nil
		}
	}
	if tag == "!!null" {
		return fmt.Errorf("missing value, want %s", v.Type())
	}
	err := fmt.Errorf("cannot use %q as %s", n.Value, v.Type())
	if tag == "!!float" && (v.CanInt() || v.CanUint()) {
		err = fmt.Errorf("%w (want a whole number written as digits, e.g. 10000 not 1e4)", err)
	}
	return err
}

// ApplySet applies one "section.key=value" override, e.g. "train.lr=3e-4".
// The value is read as a YAML scalar of the field's type; strings are taken
// as-is, so "data.dir=/a b#c" needs no quoting.
func ApplySet(c *Config, set string) error {
	key, val, ok := strings.Cut(set, "=")
	path := strings.Split(key, ".")
	if !ok || len(path) < 2 || strings.Contains("."+key+".", "..") {
		return fmt.Errorf("--set %s: want section.key=value, e.g. train.lr=3e-4 (keys: %s)", set, strings.Join(Keys(), ", "))
	}
	v := reflect.ValueOf(c).Elem()
	for _, p := range path {
		f, ok := field(v, p)
		if !ok {
			return fmt.Errorf("--set %s: %s", set, unknown(key, false))
		}
		v = f
	}
	if v.Kind() == reflect.Struct {
		return fmt.Errorf("--set %s: %q is a section; set one of its keys (%s)", set, key, strings.Join(names(v.Type(), key), ", "))
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: val}
	var doc yaml.Node
	if v.Kind() != reflect.String && yaml.Unmarshal([]byte(val), &doc) == nil &&
		len(doc.Content) == 1 && doc.Content[0].Kind == yaml.ScalarNode {
		n = doc.Content[0]
	}
	if err := setLeaf(v, n); err != nil {
		return fmt.Errorf("--set %s: %s: %w", set, key, err)
	}
	return nil
}

// Validate checks ranges and enums, reporting every problem, one per line.
func (c *Config) Validate() error {
	var errs []error
	check := func(key string, ok bool, want string, got any) {
		if s, isStr := got.(string); isStr {
			got = fmt.Sprintf("%q", s)
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%s: must be %s, got %v", key, want, got))
		}
	}
	// The negated-range form below also rejects NaN; finite() rejects ±Inf.
	in := func(x, lo, hi int) bool { return x >= lo && x <= hi }
	finite := func(x float64) bool { return !math.IsInf(x, 0) && !math.IsNaN(x) }
	m, d, t, s := c.Model, c.Data, c.Train, c.Sample
	diffusion := func() { // the schedule and sampler settings of ddpm and ddpm2d
		check("train.ema", t.EMA >= 0 && t.EMA < 1, ">= 0 and < 1", t.EMA)
		check("train.timesteps", in(t.Timesteps, 1, 100000), "in [1, 100000]", t.Timesteps)
		check("train.schedule", t.Schedule == "linear" || t.Schedule == "cosine", "one of linear, cosine", t.Schedule)
		check("train.beta_start", t.BetaStart > 0 && t.BetaStart < 1, "> 0 and < 1", t.BetaStart)
		check("train.beta_end", t.BetaEnd >= t.BetaStart && t.BetaEnd < 1, ">= train.beta_start and < 1", t.BetaEnd)
		check("sample.sampler", s.Sampler == "ddpm" || s.Sampler == "ddim", "one of ddpm, ddim", s.Sampler)
		check("sample.steps", s.Steps >= 0 && s.Steps <= t.Timesteps, fmt.Sprintf("in [0, %d] (train.timesteps; 0 = the sampler's default)", t.Timesteps), s.Steps)
		check("sample.eta", s.Eta >= 0 && s.Eta <= 1, ">= 0 and <= 1", s.Eta)
		check("sample.eta", s.Sampler != "ddpm" || s.Eta == 0, "0 with sample.sampler ddpm (eta is a DDIM option)", s.Eta)
		check("sample.variance", s.Variance == "beta_tilde" || s.Variance == "beta", "one of beta_tilde, beta", s.Variance)
	}
	switch m.Kind {
	case "vae":
		check("model.hidden", in(m.Hidden, 1, 65536), "in [1, 65536]", m.Hidden)
		check("model.latent", in(m.Latent, 1, 4096), "in [1, 4096]", m.Latent)
	case "cgan":
		check("model.latent", in(m.Latent, 1, 4096), "in [1, 4096]", m.Latent)
		check("model.channels", in(m.Channels, 1, 1024), "in [1, 1024]", m.Channels)
		check("model.classes", in(m.Classes, 2, 10), "in [2, 10] (MNIST labels)", m.Classes)
		check("train.lr_d", t.LRD > 0 && t.LRD <= 1, "> 0 and <= 1", t.LRD)
		check("train.loss", t.Loss == "ns" || t.Loss == "hinge", "one of ns, hinge", t.Loss)
		check("train.label_smoothing", t.LabelSmoothing >= 0 && t.LabelSmoothing < 0.5, ">= 0 and < 0.5", t.LabelSmoothing)
		check("train.ema", t.EMA >= 0 && t.EMA < 1, ">= 0 and < 1", t.EMA)
		check("train.label_smoothing", t.Loss != "hinge" || t.LabelSmoothing == 0, "0 with train.loss hinge", t.LabelSmoothing)
	case "classifier":
		check("model.channels", in(m.Channels, 1, 1024), "in [1, 1024]", m.Channels)
		check("model.hidden", in(m.Hidden, 1, 65536), "in [1, 65536]", m.Hidden)
		check("model.classes", in(m.Classes, 2, 10), "in [2, 10] (MNIST labels)", m.Classes)
	case "ddpm":
		check("model.channels", in(m.Channels, 8, 1024) && m.Channels%8 == 0, "a multiple of 8 in [8, 1024] (GroupNorm with 8 groups)", m.Channels)
		check("model.classes", in(m.Classes, 2, 10), "in [2, 10] (MNIST labels)", m.Classes)
		diffusion()
		check("train.cond_drop", t.CondDrop >= 0 && t.CondDrop <= 1, ">= 0 and <= 1", t.CondDrop)
		check("train.warmup", t.Warmup >= 0, ">= 0", t.Warmup)
		check("sample.guidance", s.Guidance >= 0 && finite(s.Guidance), ">= 0 and finite", s.Guidance)
	case "gan2d", "vae2d":
		check("model.hidden", in(m.Hidden, 1, 65536), "in [1, 65536]", m.Hidden)
		check("model.latent", in(m.Latent, 1, 4096), "in [1, 4096]", m.Latent)
	case "ddpm2d": // the diffusion checks of ddpm, less the labels
		check("model.hidden", in(m.Hidden, 1, 65536), "in [1, 65536]", m.Hidden)
		diffusion()
	default:
		check("model.kind", false, "one of "+strings.Join(sortedKinds(), ", "), m.Kind)
	}
	for _, k := range Keys() {
		if kindKeys[m.Kind] != nil && foreignKeys(m.Kind)[k] && !c.value(k).IsZero() {
			errs = append(errs, fmt.Errorf("%s: not used by model kind %q (remove it)", k, m.Kind))
		}
	}
	// The 2-D kinds model the points of a mixture, every other kind 28x28 images.
	mixture := d.Dataset == "ring8" || d.Dataset == "grid25"
	switch points := m.Kind == "gan2d" || m.Kind == "vae2d" || m.Kind == "ddpm2d"; {
	case d.Dataset != "mnist" && !mixture:
		check("data.dataset", false, "one of mnist, ring8, grid25", d.Dataset)
	case points && !mixture:
		errs = append(errs, fmt.Errorf("data.dataset: model.kind %q models 2-D points: want ring8 or grid25, got %q", m.Kind, d.Dataset))
	case mixture && !points && kindKeys[m.Kind] != nil:
		errs = append(errs, fmt.Errorf("data.dataset: %q is a set of 2-D points, but model.kind %q models 28x28 images (the 2-D kinds are gan2d, vae2d, ddpm2d)", d.Dataset, m.Kind))
	}
	if mixture {
		check("data.binarize", d.Binarize == "none", `none for a 2-D mixture`, d.Binarize)
		check("data.dir", d.Dir == "", `"" for a 2-D mixture (its points are drawn, not read)`, d.Dir)
	}
	check("data.binarize", d.Binarize == "dynamic" || d.Binarize == "none", "one of dynamic, none", d.Binarize)
	check("data.subset", d.Subset >= 0, ">= 0", d.Subset)
	check("train.steps", t.Steps >= 1, ">= 1", t.Steps)
	check("train.batch_size", in(t.BatchSize, 1, 65536), "in [1, 65536]", t.BatchSize)
	check("train.lr", t.LR > 0 && t.LR <= 1, "> 0 and <= 1", t.LR)
	check("train.beta1", t.Beta1 >= 0 && t.Beta1 < 1, ">= 0 and < 1", t.Beta1)
	check("train.beta2", t.Beta2 >= 0 && t.Beta2 < 1, ">= 0 and < 1", t.Beta2)
	check("train.eps", t.Eps > 0 && finite(t.Eps), "> 0 and finite", t.Eps)
	check("train.log_every", t.LogEvery >= 1, ">= 1", t.LogEvery)
	check("train.sample_every", t.SampleEvery >= 1, ">= 1", t.SampleEvery)
	check("train.checkpoint_every", t.CheckpointEvery >= 1, ">= 1", t.CheckpointEvery)
	check("train.keep_checkpoints", t.KeepCheckpoints >= 1, ">= 1", t.KeepCheckpoints)
	check("sample.n", in(s.N, 1, 100000), "in [1, 100000]", s.N)
	return errors.Join(errs...)
}

// YAML returns the resolved config as YAML in struct field order, for run
// folders and checkpoint metadata; Parse reads it back to an equal Config.
func (c *Config) YAML() []byte {
	var doc yaml.Node
	if err := doc.Encode(c); err != nil {
		panic(err) // plain structs of scalars always encode
	}
	// Leave out the keys of other model kinds.
	foreign := foreignKeys(c.Model.Kind)
	for i := 0; i+1 < len(doc.Content); i += 2 {
		sec := doc.Content[i+1]
		var kept []*yaml.Node
		for j := 0; j+1 < len(sec.Content); j += 2 {
			if !foreign[doc.Content[i].Value+"."+sec.Content[j].Value] {
				kept = append(kept, sec.Content[j], sec.Content[j+1])
			}
		}
		sec.Content = kept
		// yaml.v3's Node.Encode turns a string of line breaks ("\n") into an
		// empty literal block; restore string values from the struct and
		// double-quote any with control characters, so YAML() round-trips.
		for j := 0; j+1 < len(sec.Content); j += 2 {
			f := c.value(doc.Content[i].Value + "." + sec.Content[j].Value)
			if v := sec.Content[j+1]; f.Kind() == reflect.String {
				v.Value = f.String()
				if strings.IndexFunc(v.Value, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
					v.Style = yaml.DoubleQuotedStyle
				}
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		panic(err)
	}
	enc.Close()
	return b.Bytes()
}

// sortedKinds lists the kinds Validate knows.
func sortedKinds() []string {
	ks := make([]string, 0, len(kindKeys))
	for k := range kindKeys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Keys lists every "section.key" the schema knows, from the yaml tags.
func Keys() []string {
	var keys []string
	var rec func(t reflect.Type, prefix string)
	rec = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			k := join(prefix, tagName(t.Field(i)))
			if t.Field(i).Type.Kind() == reflect.Struct {
				rec(t.Field(i).Type, k)
			} else {
				keys = append(keys, k)
			}
		}
	}
	rec(reflect.TypeOf(Config{}), "")
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

// names lists the full keys of t's fields, for "want one of" messages.
func names(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		out = append(out, join(prefix, tagName(t.Field(i))))
	}
	return out
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func where(prefix string) string {
	if prefix == "" {
		return "top level"
	}
	return prefix
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// unknown words the error for an unknown key, with a "did you mean" hint
// taken from the closest known key or section.
func unknown(key string, section bool) string {
	what, cands := "key", Keys()
	if section {
		what, cands = "section", names(reflect.TypeOf(Config{}), "")
	}
	msg := fmt.Sprintf("unknown %s %q", what, key)
	best, bestD := "", 3
	_, last, _ := strings.Cut(key, ".")
	for _, c := range cands {
		d := distance(key, c)
		if _, cl, _ := strings.Cut(c, "."); last != "" && cl == last {
			d = min(d, 1) // right key, wrong section
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	}
	return msg
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
