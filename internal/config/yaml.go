package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse overlays YAML bytes onto c strictly: unknown keys, keys of another
// model kind, wrong types, nested values where a scalar belongs and second
// documents are errors, all of them reported at once. An empty file changes
// nothing. On error c is unchanged.
//
// A config of no kind yet (Load's first look at a user file) accepts the
// keys of every kind without storing them: only model.kind is wanted then.
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
	tmp := c.Clone()
	var errs []error
	for _, n := range doc.Content {
		tmp.walk(n, "", name, &errs)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*c = *tmp
	return nil
}

// walk overlays node n onto the key prefix ("" for the top level, then a
// section name), appending errors.
func (c *Config) walk(n *yaml.Node, prefix, name string, errs *[]error) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	fail := func(n *yaml.Node, format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("%s: line %d: "+format, append([]any{name, n.Line}, args...)...))
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "model:" with nothing under it overrides nothing
	}
	if n.Kind != yaml.MappingNode {
		fail(n, "%s: want a mapping of keys (%s), got %s", where(prefix), strings.Join(c.children(prefix), ", "), describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
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
		if prefix == "" {
			if _, ok := field(reflect.ValueOf(c).Elem(), k.Value); !ok || k.Value == "-" {
				fail(k, "%s", c.unknown(key, true))
				continue
			}
			c.walk(val, key, name, errs)
			continue
		}
		v, ok := c.lookup(key)
		switch {
		case ok:
			if err := setLeaf(v, deref(val)); err != nil {
				fail(deref(val), "%s: %v", key, err)
			}
		case c.kind == nil && c.schema != nil && len(c.schema.owners[key]) > 0:
			// a first look at a file: some kind owns the key
		case c.foreign(key) != "":
			fail(k, "%s", c.foreign(key))
		default:
			fail(k, "%s", c.unknown(key, false))
		}
	}
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// children lists the full keys under prefix, for "want one of" messages.
func (c *Config) children(prefix string) []string {
	if prefix == "" {
		return sectionNames()
	}
	return c.sectionKeys(prefix)
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

// YAML returns the resolved config as YAML, each section's common keys then
// its kind's own in field order, for run folders and checkpoint metadata;
// Parse reads it back to an equal Config.
func (c *Config) YAML() []byte {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, sec := range sectionNames() {
		var k yaml.Node
		must(k.Encode(sec))
		s := &yaml.Node{Kind: yaml.MappingNode}
		for _, key := range c.sectionKeys(sec) {
			var kn, vn yaml.Node
			_, short, _ := strings.Cut(key, ".")
			must(kn.Encode(short))
			f, _ := c.lookup(key)
			must(vn.Encode(f.Interface()))
			// yaml.v3's Node.Encode turns a string of line breaks ("\n") into
			// an empty literal block; restore string values and double-quote
			// any with control characters, so YAML() round-trips.
			if f.Kind() == reflect.String {
				vn.Value = f.String()
				if strings.IndexFunc(vn.Value, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
					vn.Style = yaml.DoubleQuotedStyle
				}
			}
			s.Content = append(s.Content, &kn, &vn)
		}
		root.Content = append(root.Content, &k, s)
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	must(enc.Encode(root))
	enc.Close()
	return b.Bytes()
}

// must panics on an encoding error: plain scalars always encode.
func must(err error) {
	if err != nil {
		panic(err)
	}
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
// taken from the closest key or section of c.
func (c *Config) unknown(key string, section bool) string {
	what, cands := "key", c.Keys()
	if c.Own == nil && c.schema != nil { // a first look at a file: any kind's key
		cands = append(cands, c.schema.ownedKeys()...)
	}
	if section {
		what, cands = "section", sectionNames()
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
