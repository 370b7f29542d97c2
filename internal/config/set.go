package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// ApplySet applies one "section.key=value" override, e.g. "train.lr=3e-4".
// The value is read as a YAML scalar of the field's type; strings are taken
// as-is, so "data.dir=/a b#c" needs no quoting.
func ApplySet(c *Config, set string) error {
	key, val, ok := strings.Cut(set, "=")
	path := strings.Split(key, ".")
	if !ok || len(path) < 2 || strings.Contains("."+key+".", "..") {
		return fmt.Errorf("--set %s: want section.key=value, e.g. train.lr=3e-4 (keys: %s)", set, strings.Join(c.Keys(), ", "))
	}
	v, ok := c.lookup(key)
	if !ok {
		if msg := c.foreign(key); msg != "" {
			return fmt.Errorf("--set %s: %s", set, msg)
		}
		return fmt.Errorf("--set %s: %s", set, c.unknown(key, false))
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
