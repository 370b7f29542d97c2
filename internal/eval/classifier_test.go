package eval

import (
	"math"
	"testing"
)

func oneHot(classes int, labels ...int) [][]float64 {
	out := make([][]float64, len(labels))
	for i, l := range labels {
		out[i] = make([]float64, classes)
		out[i][l] = 1
	}
	return out
}

func TestInceptionScore(t *testing.T) {
	var balanced []int
	for i := 0; i < 50; i++ {
		balanced = append(balanced, i%10)
	}
	uniformRows := make([][]float64, 20)
	for i := range uniformRows {
		uniformRows[i] = []float64{.1, .1, .1, .1, .1, .1, .1, .1, .1, .1}
	}
	tests := []struct {
		name  string
		probs [][]float64
		want  float64
	}{
		{"confident one-hot, uniform over 10 classes -> 10", oneHot(10, balanced...), 10},
		{"all samples the same class -> 1", oneHot(10, 3, 3, 3, 3, 3), 1},
		{"every row uniform -> 1", uniformRows, 1},
		{"one-hot uniform over 5 of 10 classes -> 5", oneHot(10, 0, 2, 4, 6, 8, 0, 2, 4, 6, 8), 5},
		// two samples p=(1,0),(1/2,1/2): p̂=(3/4,1/4);
		// KL1 = log(4/3), KL2 = ½log(2/3)+½log(2); IS = exp(mean)
		{"hand-computed soft case", [][]float64{{1, 0}, {.5, .5}},
			math.Exp(0.5 * (math.Log(4.0/3) + 0.5*math.Log(2.0/3) + 0.5*math.Log(2)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			near(t, "IS", InceptionScore(tc.probs), tc.want, 1e-12)
		})
	}
	if !math.IsNaN(InceptionScore(nil)) {
		t.Error("empty input must give NaN")
	}
}

func TestInceptionScoreSplits(t *testing.T) {
	var balanced []int
	for i := 0; i < 100; i++ {
		balanced = append(balanced, i%10)
	}
	m, s := InceptionScoreSplits(oneHot(10, balanced...), 10)
	near(t, "mean", m, 10, 1e-12)
	near(t, "std", s, 0, 1e-12)
	if m, _ := InceptionScoreSplits(oneHot(10, 1, 2), 3); !math.IsNaN(m) {
		t.Error("more splits than rows must give NaN")
	}
}

func TestClassHistogramAndKLToUniform(t *testing.T) {
	var uniform []int
	for i := 0; i < 30; i++ {
		uniform = append(uniform, i%10)
	}
	h := ClassHistogram(uniform, 10)
	for c, v := range h {
		near(t, "uniform p̂", v, 0.1, 1e-15)
		_ = c
	}
	near(t, "KL(uniform)", KLToUniform(h), 0, 1e-12)
	one := ClassHistogram([]int{7, 7, 7, 7}, 10)
	near(t, "p̂_7", one[7], 1, 0)
	near(t, "KL(one class)", KLToUniform(one), math.Log(10), 1e-12)
	// two classes, equal: log(10/2)
	near(t, "KL(two classes)", KLToUniform(ClassHistogram([]int{1, 2, 1, 2}, 10)), math.Log(5), 1e-12)
	// counts are normalised the same as fractions
	near(t, "KL(counts)", KLToUniform([]float64{0, 0, 0, 0, 0, 0, 0, 12, 0, 0}), math.Log(10), 1e-12)
	if !math.IsNaN(KLToUniform(make([]float64, 10))) {
		t.Error("all-zero histogram must give NaN")
	}
}

func TestClassesCovered(t *testing.T) {
	// 2000 samples: class 0 has exactly 50 (= 2.5 %, covered), class 1 has 49
	// (not covered), class 2 has 0, the rest share 1901.
	counts := []float64{50, 49, 0, 272, 272, 272, 272, 271, 271, 271}
	var labels []int
	for c, n := range counts {
		for i := 0; i < int(n); i++ {
			labels = append(labels, c)
		}
	}
	if len(labels) != 2000 {
		t.Fatalf("%d labels", len(labels))
	}
	h := ClassHistogram(labels, 10)
	tests := []struct {
		name string
		min  float64
		want int
	}{
		{"tool threshold 2.5 % (boundary class counts)", ClassCoverageThreshold, 8},
		{"at least one sample", 0, 9},
		{"threshold 20 %", 0.2, 0},
	}
	for _, tc := range tests {
		if got := ClassesCovered(h, tc.min); got != tc.want {
			t.Errorf("%s: %d classes, want %d", tc.name, got, tc.want)
		}
	}
	if got := ClassesCovered(counts, ClassCoverageThreshold); got != 8 {
		t.Errorf("counts instead of fractions: %d, want 8", got)
	}
	near(t, "threshold", ClassCoverageThreshold, 0.025, 1e-18)
}

func TestClassAccuracy(t *testing.T) {
	near(t, "all right", ClassAccuracy([]int{1, 2, 3}, []int{1, 2, 3}), 1, 0)
	near(t, "one of four wrong", ClassAccuracy([]int{1, 2, 3, 0}, []int{1, 2, 3, 4}), 0.75, 0)
	if !math.IsNaN(ClassAccuracy(nil, nil)) {
		t.Error("empty must give NaN")
	}
	pc := PerClassAccuracy([]int{0, 1, 1, 1}, []int{0, 0, 1, 1}, 3)
	near(t, "class 0", pc[0], 0.5, 0)
	near(t, "class 1", pc[1], 1, 0)
	if !math.IsNaN(pc[2]) {
		t.Error("class without samples must be NaN")
	}
	am := Argmax([][]float64{{.1, .7, .2}, {.5, .5, 0}})
	if am[0] != 1 || am[1] != 0 {
		t.Errorf("Argmax = %v", am)
	}
}
