package models

import (
	"bytes"
	"slices"
	"testing"

	"github.com/gentri/gentri/internal/checkpoint"
	"github.com/gentri/gentri/internal/rng"
)

// fakeRows returns batch fakes of dim values, fake i holding base+i in
// every value, so a row can be told by its value.
func fakeRows(batch, dim int, base float32) []float32 {
	x := make([]float32, batch*dim)
	for i := range x {
		x[i] = base + float32(i/dim)
	}
	return x
}

// rowValues is the identifying value of each row.
func rowValues(x []float32, dim int) []float32 {
	var out []float32
	for i := 0; i < len(x); i += dim {
		out = append(out, x[i])
	}
	return out
}

// The buffer fills from the first steps' fakes without touching them or
// drawing from the RNG; once full, k = round(share·B) of a step's fakes are
// swapped with k distinct stored ones, so no fake is lost or duplicated,
// and each swapped fake keeps its class.
func TestReplayBufferFillsThenSwapsFakesWithTheirClasses(t *testing.T) {
	const size, dim, batch = 5, 2, 3
	b := newReplayBuffer(size, 0.6, dim, true) // k = round(0.6·3) = 2
	r := rng.New(1, 0)
	fill := []struct {
		base   float32
		filled int
	}{{100, 3}, {200, 5}} // the second step has room for 2 of its 3 fakes
	for _, f := range fill {
		before := r.State()
		slots := b.slots(r, batch)
		if slots != nil || !bytes.Equal(r.State(), before) {
			t.Fatalf("filling: slots %v, RNG moved %v", slots, !bytes.Equal(r.State(), before))
		}
		x := fakeRows(batch, dim, f.base)
		labels := []int{0, 1, 2}
		if err := b.mix(x, labels, slots); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x, fakeRows(batch, dim, f.base)) || !slices.Equal(labels, []int{0, 1, 2}) {
			t.Fatal("filling changed the step's fakes")
		}
		if b.filled != f.filled {
			t.Fatalf("filled %d, want %d", b.filled, f.filled)
		}
	}
	if got, want := rowValues(b.fakes, dim), []float32{100, 101, 102, 200, 201}; !slices.Equal(got, want) {
		t.Fatalf("stored %v, want %v", got, want)
	}
	if !slices.Equal(b.labels, []int64{0, 1, 2, 0, 1}) {
		t.Fatalf("stored classes %v", b.labels)
	}
	// Class of each stored fake by its value, to check that classes travel.
	classOf := map[float32]int{100: 0, 101: 1, 102: 2, 200: 0, 201: 1, 300: 0, 301: 1, 302: 2}
	slots := b.slots(r, batch)
	if len(slots) != 2 || slots[0] == slots[1] || slots[0] < 0 || slots[1] < 0 || slots[0] >= size || slots[1] >= size {
		t.Fatalf("slots %v: want 2 distinct slots in [0, %d)", slots, size)
	}
	stored := rowValues(b.fakes, dim)
	x, labels := fakeRows(batch, dim, 300), []int{0, 1, 2}
	if err := b.mix(x, labels, slots); err != nil {
		t.Fatal(err)
	}
	seen := rowValues(x, dim)
	for i, s := range slots {
		if seen[i] != stored[s] || b.fakes[s*dim] != float32(300+i) || b.fakes[s*dim+1] != float32(300+i) {
			t.Errorf("slot %d: D sees %v (stored %v), slot holds %v (fresh %v)", s, seen[i], stored[s], b.fakes[s*dim], 300+i)
		}
	}
	if seen[2] != 302 {
		t.Errorf("fake 2 was not in the swap but D sees %v", seen[2])
	}
	all := append(slices.Clone(seen), rowValues(b.fakes, dim)...)
	slices.Sort(all)
	if want := []float32{100, 101, 102, 200, 201, 300, 301, 302}; !slices.Equal(all, want) {
		t.Errorf("buffer and batch hold %v after the swap, want each fake once: %v", all, want)
	}
	for i, v := range seen {
		if labels[i] != classOf[v] {
			t.Errorf("D sees fake %v with class %d, its class is %d", v, labels[i], classOf[v])
		}
	}
	for s, v := range rowValues(b.fakes, dim) {
		if int(b.labels[s]) != classOf[v] {
			t.Errorf("slot %d holds fake %v with class %d, its class is %d", s, v, b.labels[s], classOf[v])
		}
	}
}

func TestReplayBufferTakesRoundShareOfTheBatch(t *testing.T) {
	tests := []struct {
		size  int
		share float64
		batch int
		want  int
	}{
		{100, 0.5, 64, 32},
		{100, 1, 64, 64},
		{100, 0.25, 10, 3}, // 2.5 rounds away from zero
		{10, 1, 64, 10},    // never more than the buffer holds
	}
	for _, tt := range tests {
		b := newReplayBuffer(tt.size, tt.share, 1, false)
		b.filled = b.size
		got := b.slots(rng.New(2, 0), tt.batch)
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if len(got) != tt.want || len(slices.Compact(sorted)) != tt.want {
			t.Errorf("size %d, share %v, batch %d: %d slots (%d distinct), want %d", tt.size, tt.share, tt.batch, len(got), len(slices.Compact(sorted)), tt.want)
		}
	}
	if newReplayBuffer(0, 0.5, 2, true) != nil {
		t.Error("size 0 built a buffer")
	}
}

func TestReplayBufferStateRoundTripsAndIsChecked(t *testing.T) {
	b := newReplayBuffer(4, 0.5, 3, true)
	if err := b.mix(fakeRows(3, 3, 7), []int{2, 0, 1}, nil); err != nil {
		t.Fatal(err)
	}
	file := func(ts []checkpoint.Tensor) *checkpoint.File { return &checkpoint.File{Tensors: ts} }
	c := newReplayBuffer(4, 0.5, 3, true)
	if err := c.load(file(b.state()), 3); err != nil {
		t.Fatal(err)
	}
	if c.filled != 3 || !slices.Equal(c.fakes, b.fakes) || !slices.Equal(c.labels, b.labels) {
		t.Fatalf("loaded %d %v %v, want %d %v %v", c.filled, c.fakes, c.labels, b.filled, b.fakes, b.labels)
	}
	bad := []struct {
		name string
		ts   []checkpoint.Tensor
		sub  string
	}{
		{"no tensors", nil, `"replay.fakes"`},
		{"another size", newReplayBuffer(5, 0.5, 3, true).state(), "replay.fakes"},
		{"a class the model lacks", b.state(), "holds class 2, the model has 2"},
		{"no classes", newReplayBuffer(4, 0.5, 3, false).state(), `"replay.labels" missing`},
	}
	for _, tt := range bad {
		classes := 3
		if tt.name == "a class the model lacks" {
			classes = 2
		}
		err := newReplayBuffer(4, 0.5, 3, true).load(file(tt.ts), classes)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.sub)) {
			t.Errorf("%s: err %v, want one naming %s", tt.name, err, tt.sub)
		}
	}
}

// Replay changes nothing while the buffer fills (D sees only fresh fakes and
// nothing is drawn), and changes the run from the first full step on.
func TestGAN2DReplayIsInvisibleUntilTheBufferIsFull(t *testing.T) {
	const batch = 16
	plainOpts, replayOpts := toyOptions(3), toyOptions(3)
	replayOpts.ReplaySize, replayOpts.ReplayShare = 2*batch, 0.5
	plain, replay := NewGAN2DModel(plainOpts), NewGAN2DModel(replayOpts)
	next := toyBatches(batch, 3)
	rp, rr := rng.New(3, StreamTrain), rng.New(3, StreamTrain)
	weights := func(m *GAN2DModel) []byte { return stateBytesOf(t, m.State(false)) }
	for step := 1; step <= 3; step++ {
		b := next()
		for _, x := range []struct {
			m *GAN2DModel
			r *rng.RNG
		}{{plain, rp}, {replay, rr}} {
			if _, err := x.m.TrainStep(b, x.r); err != nil {
				t.Fatal(err)
			}
		}
		same := bytes.Equal(weights(plain), weights(replay))
		if full := step > 2; same == full {
			t.Fatalf("step %d (buffer full before it: %v): weights equal %v", step, full, same)
		}
	}
	if replay.replay.filled != 2*batch {
		t.Errorf("buffer holds %d fakes, want %d", replay.replay.filled, 2*batch)
	}
}

func stateBytesOf(t *testing.T, ts []checkpoint.Tensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := checkpoint.Encode(&buf, &checkpoint.File{Tensors: ts}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
