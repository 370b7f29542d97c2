package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// recordWithoutTimings decodes an eval --json record and drops what a
// rerun cannot reproduce: the speed figures and the hardware they ran on.
func recordWithoutTimings(t *testing.T, stdout string) map[string]any {
	t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, stdout)
	}
	delete(rec, "speed")
	delete(rec, "hardware")
	return rec
}

// `gentri eval --shard I/N --partial` for every I, then `--merge`, gives
// the record of the unsharded run figure for figure (every digit of
// --json), for 1, 3 and 4 shards, likelihood and real-data floor included;
// partials that do not make one evaluation are refused, naming the file.
func TestShardedEvalMergesToTheUnshardedRecord(t *testing.T) {
	dir := t.TempDir()
	ext := trainTinyClassifier(t, filepath.Join(dir, "cls"), 20)
	vae := filepath.Join(dir, "vae")
	ckpt := trainTiny(t, vae, 10, append([]string{"--model", "vae"}, tiny...)...)
	eval := []string{"eval", "--checkpoint", ckpt, "--extractor", ext, "--seeds", "100-399", "--iwae-k", "4", "--iwae-images", "20", "--quiet"}
	code, stdout, stderr := run(t, append(eval, "--json")...)
	if code != 0 {
		t.Fatalf("unsharded eval: exit %d: %s", code, stderr)
	}
	want := recordWithoutTimings(t, stdout)
	if want["n"] != 300.0 || want["seed"] != 100.0 || want["iwae_nll"] == nil || want["real_floor"] == nil {
		t.Fatalf("unsharded record %v: want n 300 from seed 100, the likelihood and the floor", want)
	}
	parts := map[int][]string{}
	for _, n := range []int{1, 3, 4} {
		for i := 0; i < n; i++ {
			p := filepath.Join(dir, fmt.Sprintf("part-%d-of-%d.safetensors", i, n))
			code, stdout, stderr := run(t, append(eval, "--shard", fmt.Sprintf("%d/%d", i, n), "--partial", p, "--json")...)
			if code != 0 {
				t.Fatalf("shard %d/%d: exit %d: %s", i, n, code, stderr)
			}
			if !strings.Contains(stdout, fmt.Sprintf(`"shard":"%d/%d"`, i, n)) {
				t.Errorf("shard %d/%d: --json %s does not name the shard", i, n, stdout)
			}
			parts[n] = append(parts[n], p)
		}
		code, stdout, stderr := run(t, append([]string{"eval", "--extractor", ext, "--quiet", "--json", "--merge"}, parts[n]...)...)
		if code != 0 {
			t.Fatalf("merge of %d shards: exit %d: %s", n, code, stderr)
		}
		if got := recordWithoutTimings(t, stdout); !reflect.DeepEqual(got, want) {
			t.Errorf("merge of %d shards:\n got %v\nwant %v", n, got, want)
		}
	}

	refused := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a shard missing", []string{"eval", "--extractor", ext, "--merge", parts[3][0], parts[3][2]}, exitFailure,
			"seeds 200-299 (samples 100..199 of 300) are in none of the partials: the shard before " + parts[3][2]},
		{"overlapping shards", []string{"eval", "--extractor", ext, "--merge", parts[3][0], parts[4][1], parts[3][1], parts[3][2]}, exitFailure,
			"overlap those of " + parts[3][0]},
		{"the whole run and a shard", []string{"eval", "--extractor", ext, "--merge", parts[1][0], parts[3][1]}, exitFailure, "overlap"},
		{"no partials", []string{"eval", "--extractor", ext, "--merge"}, exitUsage, "give the partial files"},
		{"merge with --n", []string{"eval", "--merge", "--n", "10", parts[1][0]}, exitUsage, "--n does not apply"},
		{"shard without partial", append(eval, "--shard", "0/2"), exitUsage, "--partial FILE"},
		{"a gate on a shard", append(eval, "--partial", filepath.Join(dir, "x"), "--fail-if", "fid>1"), exitUsage, "give it to --merge"},
		{"more shards than samples", append(eval, "--seeds", "0-2", "--shard", "0/4", "--partial", filepath.Join(dir, "x")), exitUsage,
			"3 samples cannot be split into 4 shards"},
		{"seeds and seed", append(eval, "--seed", "3"), exitUsage, "give one or the other"},
		{"a seed list", []string{"eval", "--checkpoint", ckpt, "--seeds", "0-9,20"}, exitUsage, "want one range A-B"},
		{"arguments without --merge", []string{"eval", parts[1][0]}, exitUsage, "unexpected argument"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, append(c.args, "--quiet")...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, %q; want exit %d and %q", code, stderr, c.code, c.want)
			}
		})
	}
}
