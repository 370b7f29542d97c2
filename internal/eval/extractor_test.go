package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/models"
)

// writeClassifier saves an untrained small classifier as a checkpoint.
func writeClassifier(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := models.LoadConfig("classifier", "", []string{"model.channels=2", "model.hidden=8"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cls.safetensors")
	if err := checkpoint.WriteAtomic(path, &checkpoint.File{Metadata: models.Metadata(m, cfg, 1), Tensors: m.State(false)}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExtractorCacheIsNamedByHashAndDetectsChanges(t *testing.T) {
	cache := t.TempDir()
	if _, err := LoadCachedExtractor(cache); err != ErrNoExtractor {
		t.Fatalf("empty cache: err = %v, want ErrNoExtractor", err)
	}
	e, err := InstallExtractor(writeClassifier(t, t.TempDir()), cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Hash) != 64 || !strings.Contains(filepath.Base(e.Path), e.Hash[:16]) {
		t.Fatalf("cached as %s with hash %s", e.Path, e.Hash)
	}
	again, err := LoadCachedExtractor(cache)
	if err != nil || again.Hash != e.Hash {
		t.Fatalf("reload: %v, hash %s vs %s", err, again.Hash, e.Hash)
	}

	// Changed weights, written as a valid file: the hash in the name catches it.
	f, err := checkpoint.Read(e.Path)
	if err != nil {
		t.Fatal(err)
	}
	f.Tensors[0].Data = append([]byte(nil), f.Tensors[0].Data...)
	f.Tensors[0].Data[0] ^= 1
	if err := checkpoint.WriteAtomic(e.Path, f); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCachedExtractor(cache); err == nil || !strings.Contains(err.Error(), "was changed") {
		t.Fatalf("changed weights: err = %v", err)
	}

	// A corrupted file: the checkpoint checksum catches it.
	b, _ := os.ReadFile(e.Path)
	b[len(b)-1] ^= 0xff
	os.WriteFile(e.Path, b, 0o644)
	if _, err := LoadCachedExtractor(cache); err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("corrupted file: err = %v", err)
	}
}
