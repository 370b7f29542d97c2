// Package rng is gentri's one source of randomness: a PCG generator whose
// whole state can be saved in a checkpoint, so a resumed run draws exactly
// the numbers an uninterrupted one would. Gorgonia's own initialisers and
// random nodes are seeded from the clock and are never used.
package rng

import (
	"fmt"
	"math/rand/v2"
)

// RNG is a seeded PCG stream with the sampling helpers the models need.
type RNG struct {
	pcg *rand.PCG
	*rand.Rand
}

// New returns the stream (seed, stream). Different stream numbers give
// independent sequences for the same seed (e.g. one per purpose or per sample).
func New(seed, stream uint64) *RNG {
	p := rand.NewPCG(seed, stream^0x9e3779b97f4a7c15)
	return &RNG{pcg: p, Rand: rand.New(p)}
}

// State returns the generator state for a checkpoint.
func (r *RNG) State() []byte {
	b, _ := r.pcg.MarshalBinary() // PCG's MarshalBinary never fails
	return b
}

// SetState restores a state written by State.
func (r *RNG) SetState(b []byte) error {
	if err := r.pcg.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("rng state: %w", err)
	}
	return nil
}

// Normal fills dst with N(0, 1) draws.
func Normal[T float32 | float64](r *RNG, dst []T) {
	for i := range dst {
		dst[i] = T(r.NormFloat64())
	}
}

// Uniform fills dst with U(lo, hi) draws.
func Uniform[T float32 | float64](r *RNG, dst []T, lo, hi float64) {
	for i := range dst {
		dst[i] = T(lo + (hi-lo)*r.Float64())
	}
}
