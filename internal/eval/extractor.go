package eval

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
)

// Extractor is the feature network of every image metric: gentri's own
// MNIST classifier (there are no Inception weights here; docs/metrics.md
// §1), identified by the hash of its weights, which every result records.
type Extractor struct {
	Model *models.ClassifierModel
	Hash  string // hex SHA-256 of the weights (names, shapes, bytes)
	Path  string
	// TrainedOn is the data the classifier learnt from, as its checkpoint
	// records it; nil when it records none (classifiers written before
	// checkpoints carried their data).
	TrainedOn *data.Info
}

// ErrNoExtractor means the cache holds no feature network yet.
var ErrNoExtractor = errors.New("no cached feature network")

// extractorPrefix names cached extractors: classifier-<first 16 hex of the hash>.safetensors.
const extractorPrefix = "classifier-"

// CacheDir is where the feature network is cached: $GENTRI_CACHE, else
// $XDG_CACHE_HOME/gentri, else ~/.cache/gentri.
func CacheDir() string {
	if d := os.Getenv("GENTRI_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "gentri")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".cache", "gentri")
	}
	return filepath.Join(os.TempDir(), "gentri-cache")
}

// WeightsHash hashes a model's weights in order: name, shape, bytes.
func WeightsHash(m models.Model) string {
	h := sha256.New()
	for _, t := range m.State(false) {
		h.Write([]byte(t.Name))
		for _, d := range t.Shape {
			binary.Write(h, binary.LittleEndian, int64(d))
		}
		h.Write(t.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// OpenExtractor loads a classifier checkpoint as the feature network.
func OpenExtractor(path string) (*Extractor, error) {
	m, _, f, err := models.Open(path, false)
	if err != nil {
		return nil, err
	}
	c, ok := m.(*models.ClassifierModel)
	if !ok {
		return nil, fmt.Errorf("%s is a %s checkpoint, not a classifier", path, m.Kind())
	}
	e := &Extractor{Model: c, Hash: WeightsHash(c), Path: path}
	info, ok, err := models.DataInfo(f, path)
	if err != nil {
		return nil, err
	}
	if ok {
		e.TrainedOn = &info
	}
	return e, nil
}

// LoadCachedExtractor opens the cached feature network in dir. A cache
// file whose weights no longer match the hash in its name (changed or
// corrupted) is an error, never used.
func LoadCachedExtractor(dir string) (*Extractor, error) {
	paths, _ := filepath.Glob(filepath.Join(dir, extractorPrefix+"*.safetensors"))
	if len(paths) == 0 {
		return nil, ErrNoExtractor
	}
	if len(paths) > 1 {
		return nil, fmt.Errorf("feature network cache %s holds %d classifiers (%s): keep one", dir, len(paths), strings.Join(paths, ", "))
	}
	e, err := OpenExtractor(paths[0])
	if err != nil {
		return nil, fmt.Errorf("feature network cache: %w (delete the file to retrain it)", err)
	}
	named := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(paths[0]), extractorPrefix), ".safetensors")
	if !strings.HasPrefix(e.Hash, named) {
		return nil, fmt.Errorf("feature network cache %s was changed: its weights hash to %s, its name says %s (delete it to retrain)", paths[0], e.Hash[:16], named)
	}
	return e, nil
}

// InstallExtractor copies the weights of a trained classifier checkpoint
// into dir under the name of their hash, and returns the cached extractor.
func InstallExtractor(ckpt, dir string) (*Extractor, error) {
	m, cfg, trained, err := models.Open(ckpt, false)
	if err != nil {
		return nil, err
	}
	c, ok := m.(*models.ClassifierModel)
	if !ok {
		return nil, fmt.Errorf("%s is a %s checkpoint, not a classifier", ckpt, m.Kind())
	}
	hash := WeightsHash(c)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("feature network cache: %w", err)
	}
	path := filepath.Join(dir, extractorPrefix+hash[:16]+".safetensors")
	e := &Extractor{Model: c, Hash: hash, Path: path}
	meta := models.Metadata(c, cfg, 0)
	info, ok, err := models.DataInfo(trained, ckpt)
	if err != nil {
		return nil, err
	}
	if ok {
		models.SetDataInfo(meta, info)
		e.TrainedOn = &info
	}
	f := &checkpoint.File{Metadata: meta, Tensors: c.State(false)}
	if err := checkpoint.WriteAtomic(path, f); err != nil {
		return nil, err
	}
	return e, nil
}
