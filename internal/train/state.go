package train

import (
	"fmt"
	"reflect"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/data"
	"github.com/gentri/gentri/internal/models"
	"github.com/gentri/gentri/internal/rng"
)

// Names of the loop's own state in a checkpoint, beside the model's weights
// and optimizer ("train." tensors are skipped by a PyTorch name mapping).
const (
	tensorRNG  = "train.rng"
	tensorPerm = "train.perm"
	tensorPos  = "train.position" // [position in the epoch's order, epoch]
)

// writeCheckpoint writes the model, the loop's state and the identity of
// the data (info; nil for a 2-D mixture) to path.
func writeCheckpoint(path string, m models.Model, cfg *config.Config, step int, r *rng.RNG, b *data.Batcher, info *data.Info) error {
	ts := m.State(true)
	perm := make([]int64, len(b.Perm))
	for i, p := range b.Perm {
		perm[i] = int64(p)
	}
	ts = append(ts,
		checkpoint.Int64s(tensorPerm, []int{len(perm)}, perm),
		checkpoint.Int64s(tensorPos, []int{2}, []int64{int64(b.Pos), int64(b.Epoch)}),
		checkpoint.Bytes(tensorRNG, r.State())) // last: U8 would unalign what follows
	meta := models.Metadata(m, cfg, step)
	if info != nil {
		models.SetDataInfo(meta, *info)
	}
	return checkpoint.WriteAtomic(path, &checkpoint.File{Metadata: meta, Tensors: ts})
}

// resume restores model, optimizer, RNG and data position from path, after
// checking that it was written by a run of the same model and data.
func resume(path string, cfg *config.Config, m models.Model, r *rng.RNG, b *data.Batcher, info *data.Info) (int, error) {
	f, err := checkpoint.Read(path)
	if err != nil {
		return 0, err
	}
	stored, step, err := models.Describe(f, path)
	if err != nil {
		return 0, err
	}
	if stored.Model.Kind != cfg.Model.Kind {
		return 0, fmt.Errorf("cannot resume a %s run from %s: it is a %s checkpoint", cfg.Model.Kind, path, stored.Model.Kind)
	}
	if !reflect.DeepEqual(stored.Model, cfg.Model) || !reflect.DeepEqual(stored.Data, cfg.Data) || stored.Train.BatchSize != cfg.Train.BatchSize || stored.Train.Seed != cfg.Train.Seed {
		return 0, fmt.Errorf("cannot resume from %s: its model, data, seed or batch size differ from this run's config", path)
	}
	if stored, ok, err := models.DataInfo(f, path); err != nil {
		return 0, err
	} else if ok && info != nil && stored.SHA256 != info.SHA256 {
		return 0, fmt.Errorf("cannot resume from %s: the data in %s changed since it was written (content hash %s, the checkpoint's %s)", path, info.Dir, info.Short(), stored.Short())
	}
	if step >= cfg.Train.Steps {
		return 0, fmt.Errorf("%s is at step %d, already at train.steps=%d (raise it with --set train.steps=N to train on)", path, step, cfg.Train.Steps)
	}
	if err := m.Load(f, true); err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	state, ok := f.Get(tensorRNG)
	if !ok {
		return 0, fmt.Errorf("checkpoint %s has no training state (%s): it cannot be resumed", path, tensorRNG)
	}
	if err := r.SetState(state.Data); err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	perm, err := int64Tensor(f, tensorPerm)
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	pos, err := int64Tensor(f, tensorPos)
	if err != nil || len(pos) != 2 {
		return 0, fmt.Errorf("checkpoint %s: bad %s", path, tensorPos)
	}
	if len(perm) != 0 && len(perm) != b.N || pos[0] < 0 || int(pos[0]) > len(perm) {
		return 0, fmt.Errorf("checkpoint %s: data order of %d examples does not fit a data set of %d", path, len(perm), b.N)
	}
	b.Perm = nil
	if len(perm) > 0 {
		b.Perm = make([]int, len(perm))
		for i, p := range perm {
			if p < 0 || int(p) >= b.N {
				return 0, fmt.Errorf("checkpoint %s: data order holds index %d outside [0,%d)", path, p, b.N)
			}
			b.Perm[i] = int(p)
		}
	}
	b.Pos, b.Epoch = int(pos[0]), int(pos[1])
	return step, nil
}

func int64Tensor(f *checkpoint.File, name string) ([]int64, error) {
	t, ok := f.Get(name)
	if !ok {
		return nil, fmt.Errorf("tensor %q missing", name)
	}
	return t.AsInt64s()
}
