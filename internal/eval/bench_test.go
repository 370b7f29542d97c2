package eval

import "testing"

// Benchmarks at the headline N = 2000 of docs/metrics.md §9 (with 84-d features, a LeNet-5 size).
// Run with: go test -run '^$' -bench . ./internal/eval/

func BenchmarkFIDFeatures2000x84(b *testing.B) {
	r := newRand(40)
	x := correlatedSet(r, 2000, 84, 0)
	y := correlatedSet(r, 2000, 84, 0.1)
	for b.Loop() {
		if _, err := FIDFeatures(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPRDC2000x84(b *testing.B) {
	r := newRand(41)
	x := gaussSet(r, 2000, 84, 0, 1)
	y := gaussSet(r, 2000, 84, 0.1, 1)
	for b.Loop() {
		if _, err := ComputePRDC(x, y, 3, 5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKID10Subsets1000x84(b *testing.B) {
	r := newRand(42)
	x := gaussSet(r, 2000, 84, 0, 1)
	y := gaussSet(r, 2000, 84, 0.1, 1)
	for b.Loop() {
		if _, _, err := KID(x, y, 10, 1000, 1); err != nil {
			b.Fatal(err)
		}
	}
}
