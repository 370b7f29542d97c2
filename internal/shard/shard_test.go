package shard

import (
	"slices"
	"strings"
	"testing"
)

// The blocks of N shards tile [0, n) in order, without gaps or overlaps,
// and differ in size by at most one.
func TestBlocksTileTheListInOrder(t *testing.T) {
	for _, n := range []int{0, 1, 7, 10, 1000, 50000} {
		for count := 1; count <= 9; count++ {
			next, minSize, maxSize := 0, n, 0
			for i := 0; i < count; i++ {
				lo, hi := Spec{i, count}.Block(n)
				if lo != next || hi < lo {
					t.Fatalf("n=%d, shard %d/%d: block [%d, %d), want it to start at %d", n, i, count, lo, hi, next)
				}
				next = hi
				minSize, maxSize = min(minSize, hi-lo), max(maxSize, hi-lo)
			}
			if next != n || maxSize-minSize > 1 {
				t.Fatalf("n=%d, %d shards: end %d, sizes %d..%d", n, count, next, minSize, maxSize)
			}
		}
	}
	if lo, hi := (Spec{1, 3}).Block(10); lo != 3 || hi != 6 {
		t.Errorf("shard 1/3 of 10: [%d, %d), want [3, 6)", lo, hi)
	}
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, arg string
		env       func(string) string
		want      Spec
		err       string // "" = no error
	}{
		{"explicit", "2/4", env(), Spec{2, 4}, ""},
		{"first of one", "0/1", env(), Whole, ""},
		{"index past the count", "4/4", env(), Spec{}, "shard index 4 is outside [0, 3]"},
		{"negative index", "-1/4", env(), Spec{}, "outside [0, 3]"},
		{"no shards", "0/0", env(), Spec{}, "at least 1"},
		{"not a fraction", "2", env(), Spec{}, "want I/N"},
		{"not numbers", "a/b", env(), Spec{}, "whole numbers"},
		{"kubernetes", "auto", env(EnvK8sIndex, "3", EnvCount, "8"), Spec{3, 8}, ""},
		{"kubernetes without a count", "auto", env(EnvK8sIndex, "3"), Spec{}, EnvCount + " is not set"},
		{"kubernetes index too large", "auto", env(EnvK8sIndex, "8", EnvCount, "8"), Spec{}, "outside [0, 7]"},
		{"slurm from 0", "auto", env(EnvSlurmID, "2", EnvSlurmCount, "4", EnvSlurmMin, "0"), Spec{2, 4}, ""},
		{"slurm from 1", "auto", env(EnvSlurmID, "4", EnvSlurmCount, "4", EnvSlurmMin, "1"), Spec{3, 4}, ""},
		{"slurm with a step", "auto", env(EnvSlurmID, "10", EnvSlurmCount, "4", EnvSlurmMin, "2", EnvSlurmStep, "4"), Spec{2, 4}, ""},
		{"slurm off its step", "auto", env(EnvSlurmID, "3", EnvSlurmCount, "4", EnvSlurmMin, "0", EnvSlurmStep, "2"), Spec{}, "--array=0-3"},
		{"slurm without a count", "auto", env(EnvSlurmID, "2"), Spec{}, EnvSlurmCount + " is not set"},
		{"slurm garbage", "auto", env(EnvSlurmID, "x", EnvSlurmCount, "4"), Spec{}, `SLURM_ARRAY_TASK_ID="x" is not a whole number`},
		{"both engines", "auto", env(EnvSlurmID, "1", EnvK8sIndex, "1"), Spec{}, "both"},
		{"no engine", "auto", env(), Spec{}, "neither JOB_COMPLETION_INDEX"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.arg, c.env)
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("Parse(%q): %v", c.arg, err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("Parse(%q): error %v, want one containing %q", c.arg, err, c.err)
			case got != c.want:
				t.Fatalf("Parse(%q) = %v, want %v", c.arg, got, c.want)
			}
		})
	}
}

func TestParseSeeds(t *testing.T) {
	cases := []struct {
		arg  string
		want []uint64
		err  string
	}{
		{"0-4", []uint64{0, 1, 2, 3, 4}, ""},
		{"7", []uint64{7}, ""},
		{"5,0-2, 9", []uint64{5, 0, 1, 2, 9}, ""},
		{"3-3", []uint64{3}, ""},
		{"4-2", nil, "runs backwards"},
		{"1,2,1", nil, "seed 1 is given twice"},
		{"0-3,2", nil, "seed 2 is given twice"},
		{"", nil, "is not a seed"},
		{"a-3", nil, "is not a seed"},
		{"1-", nil, "is not a range"},
		{"-1", nil, "is not a seed"},
		{"0-99999999999", nil, "more than"},
	}
	for _, c := range cases {
		got, err := ParseSeeds(c.arg)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("ParseSeeds(%q): %v", c.arg, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseSeeds(%q): error %v, want one containing %q", c.arg, err, c.err)
		case !slices.Equal(got, c.want):
			t.Errorf("ParseSeeds(%q) = %v, want %v", c.arg, got, c.want)
		}
	}
	if first, n, err := SeedRange("100-199"); err != nil || first != 100 || n != 100 {
		t.Errorf("SeedRange(100-199) = %d, %d, %v", first, n, err)
	}
	if _, _, err := SeedRange("0-3,5"); err == nil || !strings.Contains(err.Error(), "one range") {
		t.Errorf("SeedRange of a gapped list: %v", err)
	}
}
