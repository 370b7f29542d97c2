package models

import (
	"slices"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/rng"
)

// The reverse chain's final images are Generate's, bit for bit, for every
// sampler of each diffusion kind, and its first frame is the starting noise.
func TestTrajectoryEndsAtTheSampleOfGenerate(t *testing.T) {
	ddpm := tinyDDPM(t, 1)
	for i := range 3 { // move the EMA off the initial weights
		if _, err := ddpm.TrainStep(tinyBatch(8, 64, uint64(i)), rng.New(uint64(i), StreamTrain)); err != nil {
			t.Fatal(err)
		}
	}
	ddgan := tinyDDGAN(t, 2, 0)
	if _, err := ddgan.TrainStep(tinyBatch(4, DefaultShape.Pixels(), 5), rng.New(5, StreamTrain)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		m       Chain
		sampler SamplerOptions
		labels  []int
	}{
		{"ddpm ddim 4 steps", ddpm, SamplerOptions{Sampler: "ddim", Steps: 4}, []int{0, 9, -1, 3, 4, 5, 6, 7, 8, 1}},
		{"ddpm ddim 5 steps eta 1 clipped", ddpm, SamplerOptions{Sampler: "ddim", Steps: 5, Eta: 1, Clip: true}, nil},
		{"ddpm ancestral all 20 steps", ddpm, SamplerOptions{Sampler: "ddpm"}, []int{2, 2, 2, 2, 2, 2, 2, 2, 2, 2}},
		{"ddpm ddim 3 steps guidance 2", ddpm, SamplerOptions{Sampler: "ddim", Steps: 3, Guidance: 2}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}},
		{"ddgan T=2", ddgan, SamplerOptions{}, nil},
		{"ddgan T=2 with labels", ddgan, SamplerOptions{}, []int{3, -1, 4, 1, 5, 9, 2, 6, 5, 3}},
	}
	seeds := make([]uint64, 10) // more than one inference batch of either tiny model
	for i := range seeds {
		seeds[i] = uint64(40 + i)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m.(Model)
			if err := m.(Sampler).SetSampler(tt.sampler); err != nil {
				t.Fatal(err)
			}
			steps := tt.m.ChainSteps()
			at := []int{steps[0], steps[len(steps)-1]}
			frames, final, err := tt.m.Trajectory(seeds, tt.labels, at)
			if err != nil {
				t.Fatal(err)
			}
			want, err := m.Generate(seeds, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(final, want, slices.Equal) {
				t.Fatal("the trajectory's final images differ from Generate's")
			}
			if len(frames) != 2 || frames[0].T != at[0] || frames[1].T != at[1] {
				t.Fatalf("frames at %v, want at %v", []int{frames[0].T, frames[1].T}, at)
			}
			P := len(want[0])
			for i, s := range seeds {
				noise := make([]float32, P)
				r := rng.New(s, StreamSample)
				if _, gan := tt.m.(*DDGANModel); gan && (tt.labels == nil || tt.labels[i] < 0) {
					r.IntN(10) // the DDGAN draws an unlabelled sample's class first
				}
				rng.Normal(r, noise)
				if !slices.Equal(frames[0].X[i], toPixels(noise)) {
					t.Fatalf("sample %d: the first frame is not its starting noise", i)
				}
				if len(frames[1].X0[i]) != P || slices.Equal(frames[1].X0[i], frames[1].X[i]) {
					t.Fatalf("sample %d: the last step's x̂_0 is missing or equals its input", i)
				}
			}
		})
	}
}

// Deterministic DDIM's last step (t = 0, ᾱ_{−1} = 1) returns its x̂_0, so the
// last frame's prediction is the sample itself: the frames record the
// prediction the sampler steps with.
func TestLastDDIMStepPredictsTheSample(t *testing.T) {
	m := tinyDDPM(t, 3)
	if err := m.SetSampler(SamplerOptions{Sampler: "ddim", Steps: 4}); err != nil {
		t.Fatal(err)
	}
	frames, final, err := m.Trajectory([]uint64{7, 8}, []int{1, -1}, []int{0, 15, 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{frames[0].T, frames[1].T, frames[2].T}; !slices.Equal(got, []int{0, 15, 5}) {
		t.Fatalf("frames at %v", got)
	}
	for i := range final {
		if !slices.Equal(frames[0].X0[i], final[i]) {
			t.Fatalf("sample %d: x̂_0 at t = 0 differs from the sample", i)
		}
	}
}

func TestChainRefusesStepsTheSamplerSkips(t *testing.T) {
	m := tinyDDPM(t, 1)
	if err := m.SetSampler(SamplerOptions{Sampler: "ddim", Steps: 4}); err != nil {
		t.Fatal(err)
	}
	if got := m.ChainSteps(); !slices.Equal(got, []int{15, 10, 5, 0}) {
		t.Fatalf("ddim 4 of T = 20 visits %v, want [15 10 5 0]", got)
	}
	tests := []struct {
		at   []int
		want string
	}{
		{[]int{19}, "step 19 is not one the sampler visits (its 4 steps: [15 10 5 0])"},
		{[]int{5, 5}, "step 5 asked for twice"},
		{[]int{-1}, "step -1 is not one"},
	}
	for _, tt := range tests {
		if _, _, err := m.Trajectory([]uint64{1}, nil, tt.at); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Trajectory at %v: error %v, want %q", tt.at, err, tt.want)
		}
	}
	if _, err := m.Forward([][]float32{make([]float32, 64)}, []uint64{1}, []int{20}); err == nil || !strings.Contains(err.Error(), "step 20, want 0 to 19") {
		t.Errorf("Forward at t = T: %v", err)
	}
	if _, err := m.Forward([][]float32{make([]float32, 3)}, []uint64{1}, []int{0}); err == nil || !strings.Contains(err.Error(), "3 pixels") {
		t.Errorf("Forward of a 3-pixel image: %v", err)
	}
	if _, _, err := tinyDDGAN(t, 1, 0).Trajectory([]uint64{1}, []int{10}, []int{0}); err == nil || !strings.Contains(err.Error(), "class 10") {
		t.Errorf("ddgan Trajectory of class 10: %v", err)
	}
}

// The forward process at t is q(x_t | x_0) with the schedule's ᾱ of the
// step's input, one ε per image shared by its frames.
func TestForwardFollowsTheSchedule(t *testing.T) {
	img := make([]float32, 64)
	for j := range img {
		img[j] = float32(j%8) / 7
	}
	ddpm := tinyDDPM(t, 1)
	strips, err := ddpm.Forward([][]float32{img, img}, []uint64{5, 6}, []int{0, 10, 19})
	if err != nil {
		t.Fatal(err)
	}
	eps := make([]float32, 64)
	rng.Normal(rng.New(6, StreamSample), eps)
	x0, xt := make([]float32, 64), make([]float32, 64)
	for j, v := range img {
		x0[j] = 2*v - 1
	}
	QSample(xt, x0, eps, ddpm.Sched.AlphaBar[10])
	if !slices.Equal(strips[1][1], toPixels(xt)) {
		t.Fatal("image 1 at t = 10 is not QSample of its ε with ᾱ_10")
	}
	if slices.Equal(strips[0][1], strips[1][1]) {
		t.Fatal("two seeds gave the same noise")
	}

	ddgan := tinyDDGAN(t, 1, 0)
	big := make([]float32, DefaultShape.Pixels())
	strips, err = ddgan.Forward([][]float32{big}, []uint64{5}, []int{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	eps = make([]float32, DefaultShape.Pixels())
	rng.Normal(rng.New(5, StreamSample), eps)
	sc := ddgan.Sched
	for j, e := range eps[:5] {
		// x_0 = −1 everywhere: the input of step 1 is x_2 = −√A_2 + √(1−A_2)·ε.
		if want := (min(max(-sc.SqrtA[2]+sc.Sqrt1mA[2]*e, -1), 1) + 1) / 2; strips[0][0][j] != want {
			t.Fatalf("pixel %d at t = 1: %v, want %v", j, strips[0][0][j], want)
		}
	}
}
