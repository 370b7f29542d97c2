// Package shard divides a list of samples (seeds) between the tasks of a job
// engine that runs N copies of one command: Kubernetes Indexed Jobs and Slurm
// job arrays. It knows seeds and indices, nothing of models.
//
// A shard is a contiguous block of the list: shard I of N takes positions
// [floor(I·L/N), floor((I+1)·L/N)) of a list of L seeds. Contiguous blocks
// (rather than every N-th seed) make each shard's output a range of file
// names (seed00001000.png … seed00001999.png), so a listing, a resume and a
// check for gaps or overlaps are about ranges; the sizes differ by at most
// one, and every sample's cost is the same, so striding would balance
// nothing.
package shard

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Environment variables that --shard auto reads.
const (
	// EnvK8sIndex is set by Kubernetes in each pod of an Indexed Job.
	EnvK8sIndex = "JOB_COMPLETION_INDEX"
	// EnvCount is the number of shards where the engine does not say it:
	// Kubernetes sets no variable with the Job's completions, so the
	// manifest sets GENTRI_SHARD_COUNT to the same number.
	EnvCount = "GENTRI_SHARD_COUNT"
	// The Slurm job array variables (sbatch --array=MIN-MAX[:STEP]).
	EnvSlurmID    = "SLURM_ARRAY_TASK_ID"
	EnvSlurmCount = "SLURM_ARRAY_TASK_COUNT"
	EnvSlurmMin   = "SLURM_ARRAY_TASK_MIN"
	EnvSlurmStep  = "SLURM_ARRAY_TASK_STEP"
)

// Spec is shard Index of Count (0 <= Index < Count). The zero value is not
// a valid Spec; Whole is the unsharded run.
type Spec struct{ Index, Count int }

// Whole is the unsharded run: one shard that takes everything.
var Whole = Spec{0, 1}

// String writes the spec as --shard takes it, "I/N".
func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Block returns the half-open range of positions [lo, hi) of a list of n
// items that shard s takes: floor(I·n/N) to floor((I+1)·n/N).
func (s Spec) Block(n int) (lo, hi int) {
	return s.Index * n / s.Count, (s.Index + 1) * n / s.Count
}

// Parse reads a --shard value: "I/N" (0 <= I < N), or "auto", which takes
// the index and count from the job engine's variables through getenv
// (os.Getenv): Kubernetes' JOB_COMPLETION_INDEX with GENTRI_SHARD_COUNT,
// or Slurm's SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT (minus
// SLURM_ARRAY_TASK_MIN and divided by SLURM_ARRAY_TASK_STEP where the array
// does not count 0, 1, 2, …).
func Parse(s string, getenv func(string) string) (Spec, error) {
	if strings.TrimSpace(s) == "auto" {
		return fromEnv(getenv)
	}
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Spec{}, fmt.Errorf("--shard %q: want I/N (shard I of N, counted from 0) or auto", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("--shard %q: want I/N with whole numbers I and N", s)
	}
	return check(Spec{i, n}, "--shard "+s)
}

func check(s Spec, what string) (Spec, error) {
	switch {
	case s.Count < 1:
		return Spec{}, fmt.Errorf("%s: the number of shards must be at least 1, got %d", what, s.Count)
	case s.Index < 0 || s.Index >= s.Count:
		return Spec{}, fmt.Errorf("%s: shard index %d is outside [0, %d] (shards are counted from 0)", what, s.Index, s.Count-1)
	}
	return s, nil
}

// ErrNoEngine is returned by --shard auto outside a job engine.
var ErrNoEngine = errors.New("--shard auto: neither " + EnvK8sIndex + " (a Kubernetes Indexed Job) nor " + EnvSlurmID +
	" (a Slurm job array) is set: give --shard I/N")

func fromEnv(getenv func(string) string) (Spec, error) {
	k8s, slurm := getenv(EnvK8sIndex), getenv(EnvSlurmID)
	switch {
	case k8s != "" && slurm != "":
		return Spec{}, fmt.Errorf("--shard auto: both %s=%s and %s=%s are set: give --shard I/N", EnvK8sIndex, k8s, EnvSlurmID, slurm)
	case k8s != "":
		i, err := envInt(getenv, EnvK8sIndex, -1)
		if err != nil {
			return Spec{}, err
		}
		if getenv(EnvCount) == "" {
			return Spec{}, fmt.Errorf("--shard auto: %s=%d, but %s is not set: set it to the Job's completions (Kubernetes does not tell a pod their number)", EnvK8sIndex, i, EnvCount)
		}
		n, err := envInt(getenv, EnvCount, -1)
		if err != nil {
			return Spec{}, err
		}
		return check(Spec{i, n}, fmt.Sprintf("--shard auto (%s=%d, %s=%d)", EnvK8sIndex, i, EnvCount, n))
	case slurm != "":
		id, err := envInt(getenv, EnvSlurmID, -1)
		if err != nil {
			return Spec{}, err
		}
		if getenv(EnvSlurmCount) == "" {
			return Spec{}, fmt.Errorf("--shard auto: %s=%d, but %s is not set", EnvSlurmID, id, EnvSlurmCount)
		}
		n, err := envInt(getenv, EnvSlurmCount, -1)
		if err != nil {
			return Spec{}, err
		}
		lo, err := envInt(getenv, EnvSlurmMin, 0)
		if err != nil {
			return Spec{}, err
		}
		step, err := envInt(getenv, EnvSlurmStep, 1)
		if err != nil {
			return Spec{}, err
		}
		what := fmt.Sprintf("--shard auto (%s=%d, %s=%d, %s=%d, %s=%d)", EnvSlurmID, id, EnvSlurmMin, lo, EnvSlurmStep, step, EnvSlurmCount, n)
		if step < 1 || (id-lo)%step != 0 {
			return Spec{}, fmt.Errorf("%s: the task ids are not MIN, MIN+STEP, …: submit the array as --array=0-%d", what, n-1)
		}
		return check(Spec{(id - lo) / step, n}, what)
	}
	return Spec{}, ErrNoEngine
}

// envInt reads an integer variable; def where it is unset (def < 0: it
// must be set).
func envInt(getenv func(string) string, name string, def int) (int, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" && def >= 0 {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("--shard auto: %s=%q is not a whole number", name, v)
	}
	return n, nil
}

// MaxSeeds bounds a seed list, so a typo (0-4999999999) is an error, not
// an attempt to allocate it.
const MaxSeeds = 1_000_000

// ParseSeeds reads a seed list as EDM's generate.py --seeds takes it:
// comma-separated seeds and inclusive ranges A-B, e.g. "0-49999" or
// "0,5,10-19". The list keeps its order; a seed given twice is an error
// (its file would be written twice).
func ParseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		as, bs, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(as), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--seeds %q: %q is not a seed or a range A-B of seeds", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(bs), 10, 64); err != nil {
				return nil, fmt.Errorf("--seeds %q: %q is not a range A-B of seeds", s, part)
			}
			if b < a {
				return nil, fmt.Errorf("--seeds %q: the range %q runs backwards", s, part)
			}
		}
		if b-a >= MaxSeeds || uint64(len(out))+(b-a+1) > MaxSeeds {
			return nil, fmt.Errorf("--seeds %q: more than %d seeds", s, MaxSeeds)
		}
		for v := a; ; v++ {
			out = append(out, v)
			if v == b {
				break
			}
		}
	}
	sorted := slices.Clone(out)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return nil, fmt.Errorf("--seeds %q: seed %d is given twice", s, sorted[i])
		}
	}
	return out, nil
}

// SeedRange reads a --seeds value that must be one contiguous range A-B
// (or one seed): gentri eval's samples are seeds first..first+n−1.
func SeedRange(s string) (first uint64, n int, err error) {
	seeds, err := ParseSeeds(s)
	if err != nil {
		return 0, 0, err
	}
	for i, v := range seeds {
		if v != seeds[0]+uint64(i) {
			return 0, 0, fmt.Errorf("--seeds %q: want one range A-B (evaluation draws seeds A, A+1, …, B)", s)
		}
	}
	return seeds[0], len(seeds), nil
}
