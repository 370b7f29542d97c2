package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Kind is what the config layer knows of one model kind: its name, its
// shipped default YAML and its own typed section. The models package declares
// one per kind in its registry and hands them to NewSchema; this package
// never names a kind itself, so adding a kind touches no file here.
type Kind struct {
	Name string
	// Default is the kind's shipped YAML (configs/<name>.yaml).
	Default []byte
	// Section returns a new, zero typed section of the kind's own keys.
	Section func() Section
	// Points marks the kinds that model the 2-D points of a mixture
	// (data.dataset ring8 or grid25) instead of 28x28 images.
	Points bool
}

// Section is a kind's own part of the config: a pointer to a struct whose
// fields carry a `key:"section.key"` tag each (embedded structs are
// flattened, so kinds can share a group of keys). A key a kind's section
// does not declare is an error for that kind, and the resolved YAML shows
// each section's common keys followed by the kind's own, in field order.
type Section interface {
	// Validate checks the section's ranges and enums; it may read the
	// common keys of c (e.g. sample.steps is bounded by train.timesteps).
	Validate(c *Config, v *Checker)
}

// Schema is the closed set of kinds a Config may be.
type Schema struct {
	order  []*Kind // as given to NewSchema
	kinds  map[string]*Kind
	owners map[string][]string // key -> the kinds that own it
}

// NewSchema collects the kinds. Two kinds of one name, a section that is not
// a pointer to a struct, or a section key that is a common key or has no
// section are programming errors and panic (the registry's tests build it).
func NewSchema(kinds ...*Kind) *Schema {
	s := &Schema{kinds: map[string]*Kind{}, owners: map[string][]string{}}
	common := map[string]bool{}
	for _, k := range commonKeys() {
		common[k] = true
	}
	for _, k := range kinds {
		if _, dup := s.kinds[k.Name]; dup || k.Name == "" || strings.Contains(k.Name, "-") {
			panic(fmt.Sprintf("config: bad or duplicate kind name %q", k.Name))
		}
		s.kinds[k.Name] = k
		s.order = append(s.order, k)
		for _, f := range ownFields(k.Section()) {
			sec, _, _ := strings.Cut(f.key, ".")
			if common[f.key] || !slices.Contains(sectionNames(), sec) {
				panic(fmt.Sprintf("config: kind %s: key %q clashes with a common key or names no section", k.Name, f.key))
			}
			s.owners[f.key] = append(s.owners[f.key], k.Name)
		}
	}
	return s
}

// Names lists the kinds in alphabetical order.
func (s *Schema) Names() []string {
	out := make([]string, 0, len(s.kinds))
	for n := range s.kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Kind returns the kind of that name.
func (s *Schema) Kind(name string) (*Kind, bool) {
	k, ok := s.kinds[name]
	return k, ok
}

// PointKinds lists the kinds that model 2-D points, in the schema's order,
// for error messages.
func (s *Schema) PointKinds() []string {
	var out []string
	for _, k := range s.order {
		if k.Points {
			out = append(out, k.Name)
		}
	}
	return out
}

// ownedKeys lists the keys some kind owns, sorted.
func (s *Schema) ownedKeys() []string {
	out := make([]string, 0, len(s.owners))
	for k := range s.owners {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Default returns the kind's shipped defaults, parsed but not validated.
func (s *Schema) Default(kind string) (*Config, error) {
	k, ok := s.kinds[kind]
	if !ok {
		return nil, fmt.Errorf("unknown model kind %q (known: %s)", kind, strings.Join(s.Names(), ", "))
	}
	c := &Config{Model: Model{Kind: kind}, Own: k.Section(), kind: k, schema: s}
	if err := Parse(c, k.Default, "built-in configs/"+kind+".yaml"); err != nil {
		return nil, err
	}
	return c, nil
}

// Checker gathers validation errors, each naming its key and value.
type Checker struct{ errs []error }

// Check records "key: must be want, got got" unless ok.
func (v *Checker) Check(key string, ok bool, want string, got any) {
	if s, isStr := got.(string); isStr {
		got = fmt.Sprintf("%q", s)
	}
	if !ok {
		v.errs = append(v.errs, fmt.Errorf("%s: must be %s, got %v", key, want, got))
	}
}

// Add records an error worded by the caller.
func (v *Checker) Add(err error) { v.errs = append(v.errs, err) }

// In reports whether lo <= x <= hi.
func In(x, lo, hi int) bool { return x >= lo && x <= hi }

// ownField is one key of a kind's section and the field that holds it.
type ownField struct {
	key string
	v   reflect.Value
}

// ownFields lists the keys of a section in field order, embedded structs
// flattened.
func ownFields(sec Section) []ownField {
	if sec == nil {
		return nil
	}
	v := reflect.ValueOf(sec)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("config: section %T is not a pointer to a struct", sec))
	}
	var out []ownField
	var rec func(v reflect.Value)
	rec = func(v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			switch key := f.Tag.Get("key"); {
			case f.Anonymous && f.Type.Kind() == reflect.Struct:
				rec(v.Field(i))
			case key != "":
				out = append(out, ownField{key, v.Field(i)})
			}
		}
	}
	rec(v.Elem())
	return out
}

// cloneSection returns a deep copy of a section (its fields are scalars).
func cloneSection(sec Section) Section {
	if sec == nil {
		return nil
	}
	v := reflect.ValueOf(sec)
	p := reflect.New(v.Elem().Type())
	p.Elem().Set(v.Elem())
	return p.Interface().(Section)
}
