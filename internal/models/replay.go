package models

import (
	"fmt"
	"math"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/config"
	"github.com/gentri/gentri/internal/rng"
)

// Experience replay for the GANs' discriminators: the "history of refined
// images" of Shrivastava et al. 2017 ("Learning from Simulated and
// Unsupervised Images through Adversarial Training", CVPR, section 2.3). D
// sees, in place of a share of each step's fresh fakes, fakes that G made
// at earlier steps, so it keeps penalising regions of the data space that
// G has left. A generator that hops from mode to mode (the cycling of mode
// collapse) then meets a discriminator that still remembers where it was.
//
// Replacement policy. The buffer holds train.replay_size fakes. Until it is
// full, each step's fakes are appended to it and D sees only fresh ones.
// Once it is full, each step picks k = round(share·B) distinct slots at
// random and swaps them with k of the step's fresh fakes: D sees the k
// stored fakes in place of those k fresh ones, and the fresh ones take
// their slots. This is Shrivastava et al.'s scheme (half of D's fakes from
// the buffer, that many of the new fakes written over random slots), with
// the share configurable. Each slot is then overwritten with probability
// k/size a step, so a stored fake's age is geometric with mean size/k
// steps: the buffer forgets smoothly. A reservoir (Vitter's algorithm R),
// which keeps a uniform sample of every fake ever made, would fill with
// the first thousand steps' noise and then admit almost nothing new; a ring
// of the last fakes would need size/B steps of memory exactly, and as many
// fakes stored, for the same reach.
//
// The slots are drawn from the step's RNG (the training stream that
// TrainStep receives; the loop saves its state in each checkpoint), and only
// once the buffer is full, so a run with replay off draws exactly what it
// drew before replay existed. The buffer, its labels and its fill count are
// checkpoint tensors under "replay.", so a resumed run is bit-identical.

// ReplayConfig holds the replay keys of the GAN kinds' sections.
type ReplayConfig struct {
	ReplaySize  int     `key:"train.replay_size"`  // fakes the buffer holds; 0 = off
	ReplayShare float64 `key:"train.replay_share"` // share of D's fakes taken from the full buffer
}

// Validate checks the keys against train.batch_size: a full buffer must
// give at least one fake a step and hold the k it gives.
func (s *ReplayConfig) Validate(c *config.Config, v *config.Checker) {
	v.Check("train.replay_size", config.In(s.ReplaySize, 0, 1_000_000), "in [0, 1000000] (0 = off)", s.ReplaySize)
	v.Check("train.replay_share", s.ReplayShare > 0 && s.ReplayShare <= 1, "> 0 and <= 1", s.ReplayShare)
	if s.ReplaySize == 0 || s.ReplayShare <= 0 || s.ReplayShare > 1 {
		return
	}
	k := replayTake(s.ReplayShare, c.Train.BatchSize)
	v.Check("train.replay_share", k >= 1,
		fmt.Sprintf("large enough that share × train.batch_size (%d) rounds to at least 1 fake", c.Train.BatchSize), s.ReplayShare)
	v.Check("train.replay_size", s.ReplaySize >= k,
		fmt.Sprintf("0 (off) or at least train.replay_share × train.batch_size = %d, the fakes it gives a step", k), s.ReplaySize)
}

// replayTake is k, the number of fakes a full buffer gives D each step.
func replayTake(share float64, batch int) int { return int(math.Round(share * float64(batch))) }

// replayBuffer is the store of earlier fakes (see the top of this file).
type replayBuffer struct {
	size   int       // capacity, in fakes
	share  float64   // of D's fakes, once the buffer is full
	dim    int       // values per fake
	fakes  []float32 // size × dim, as D sees them
	labels []int64   // the class of each stored fake; nil for an unconditional D
	filled int       // fakes stored so far (size once full)
}

// newReplayBuffer returns a buffer of size fakes of dim values, with a class
// per fake when conditional, or nil when size is 0 (replay off).
func newReplayBuffer(size int, share float64, dim int, conditional bool) *replayBuffer {
	if size == 0 {
		return nil
	}
	b := &replayBuffer{size: size, share: share, dim: dim, fakes: make([]float32, size*dim)}
	if conditional {
		b.labels = make([]int64, size)
	}
	return b
}

// slots draws this step's choice from r: nil while the buffer is filling
// (no draw), else k distinct slots in a random order (Floyd's algorithm,
// k draws whatever the size), k = round(share·batch).
func (b *replayBuffer) slots(r *rng.RNG, batch int) []int {
	if b.filled < b.size {
		return nil
	}
	k := min(replayTake(b.share, batch), batch, b.size)
	chosen := make(map[int]bool, k)
	out := make([]int, 0, k)
	for j := b.size - k; j < b.size; j++ {
		s := r.IntN(j + 1)
		if chosen[s] {
			s = j
		}
		chosen[s] = true
		out = append(out, s)
	}
	return out
}

// mix applies one step's choice to the fresh fakes x (batch rows of dim
// values, the fake half of D's input) and their labels (nil when
// unconditional), in place. With no slots it appends the fakes to a buffer
// that is not yet full and leaves x as is; otherwise row i of x and of
// labels is swapped with stored fake slots[i].
func (b *replayBuffer) mix(x []float32, labels []int, slots []int) error {
	batch := len(x) / b.dim
	if len(x) != batch*b.dim || (b.labels != nil) != (labels != nil) || labels != nil && len(labels) != batch {
		return fmt.Errorf("replay: %d values and %d labels do not make fakes of %d values", len(x), len(labels), b.dim)
	}
	if slots == nil {
		n := min(batch, b.size-b.filled)
		copy(b.fakes[b.filled*b.dim:], x[:n*b.dim])
		if labels != nil {
			for i := range n {
				b.labels[b.filled+i] = int64(labels[i])
			}
		}
		b.filled += n
		return nil
	}
	if len(slots) > batch {
		return fmt.Errorf("replay: %d slots for a batch of %d fakes", len(slots), batch)
	}
	for i, s := range slots {
		fresh, stored := x[i*b.dim:(i+1)*b.dim], b.fakes[s*b.dim:(s+1)*b.dim]
		for j := range fresh {
			fresh[j], stored[j] = stored[j], fresh[j]
		}
		if labels != nil {
			labels[i], b.labels[s] = int(b.labels[s]), int64(labels[i])
		}
	}
	return nil
}

// Names of the buffer's checkpoint tensors.
const (
	tensorReplayFakes  = "replay.fakes"
	tensorReplayLabels = "replay.labels"
	tensorReplayFilled = "replay.filled"
)

// state is the buffer's part of a training checkpoint (none for a nil
// buffer, so runs without replay write the tensors they always wrote).
func (b *replayBuffer) state() []checkpoint.Tensor {
	if b == nil {
		return nil
	}
	ts := []checkpoint.Tensor{checkpoint.Float32s(tensorReplayFakes, []int{b.size, b.dim}, b.fakes)}
	if b.labels != nil {
		ts = append(ts, checkpoint.Int64s(tensorReplayLabels, []int{b.size}, b.labels))
	}
	return append(ts, checkpoint.Int64s(tensorReplayFilled, []int{1}, []int64{int64(b.filled)}))
}

// load restores what state wrote, checking that it fits this buffer.
func (b *replayBuffer) load(f *checkpoint.File, classes int) error {
	if b == nil {
		return nil
	}
	if err := f.Float32Into(tensorReplayFakes, []int{b.size, b.dim}, b.fakes); err != nil {
		return fmt.Errorf("replay buffer: %w", err)
	}
	if b.labels != nil {
		t, ok := f.Get(tensorReplayLabels)
		if !ok {
			return fmt.Errorf("replay buffer: tensor %q missing", tensorReplayLabels)
		}
		ls, err := t.AsInt64s()
		if err != nil || len(ls) != b.size {
			return fmt.Errorf("replay buffer: %q: want %d int64 labels", tensorReplayLabels, b.size)
		}
		for _, l := range ls {
			if l < 0 || l >= int64(classes) {
				return fmt.Errorf("replay buffer: %q holds class %d, the model has %d", tensorReplayLabels, l, classes)
			}
		}
		copy(b.labels, ls)
	}
	t, ok := f.Get(tensorReplayFilled)
	if !ok {
		return fmt.Errorf("replay buffer: tensor %q missing", tensorReplayFilled)
	}
	n, err := t.AsInt64s()
	if err != nil || len(n) != 1 || n[0] < 0 || n[0] > int64(b.size) {
		return fmt.Errorf("replay buffer: %q: want one count in [0, %d]", tensorReplayFilled, b.size)
	}
	b.filled = int(n[0])
	return nil
}
