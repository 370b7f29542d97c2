// Package configs ships the default YAML configuration of every model kind
// inside the binary, so `gentri train --model vae` works from any directory.
package configs

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Default returns the shipped YAML for a model kind ("vae", "cgan", ...).
// Kind names have no "-": a file such as grid25-ddpm.yaml is a user config
// shipped beside the defaults (gentri train --config configs/grid25-ddpm.yaml).
func Default(kind string) ([]byte, error) {
	b, err := files.ReadFile(kind + ".yaml")
	if err != nil || strings.Contains(kind, "-") {
		return nil, fmt.Errorf("no default config for model kind %q (known: %v)", kind, Kinds())
	}
	return b, nil
}

// Kinds lists the model kinds that have a shipped default config.
func Kinds() []string {
	entries, _ := files.ReadDir(".")
	var kinds []string
	for _, e := range entries {
		if n := e.Name(); len(n) > 5 && n[len(n)-5:] == ".yaml" && !strings.Contains(n, "-") {
			kinds = append(kinds, n[:len(n)-5])
		}
	}
	return kinds
}
