package main

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// `gentri eval --samples DIR --seeds A-B --shard I/N --partial` scores
// shard I's files of a folder that `gentri sample --seeds --each` wrote;
// the merge of 3 such shards is the record of `gentri eval --samples` on
// the whole folder, figure for figure (neither has speed figures: saved
// samples carry no timings). The shard's --json names it, and a folder
// missing a file of the shard's block is refused, naming the file.
func TestShardedEvalOfSavedSamplesMergesToTheWholeFolder(t *testing.T) {
	dir := t.TempDir()
	ext := trainTinyClassifier(t, filepath.Join(dir, "cls"), 20)
	ckpt := trainTiny(t, filepath.Join(dir, "vae"), 10, append([]string{"--model", "vae"}, tiny...)...)
	samples := filepath.Join(dir, "samples")
	if code, _, stderr := run(t, "sample", "--checkpoint", ckpt, "--seeds", "0-149", "--each", samples, "--quiet"); code != exitOK {
		t.Fatalf("sample: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, "eval", "--samples", samples, "--extractor", ext, "--quiet", "--json")
	if code != exitOK {
		t.Fatalf("eval --samples: exit %d: %s", code, stderr)
	}
	want := recordWithoutTimings(t, stdout)
	if want["n"] != 150.0 || want["real_floor"] == nil {
		t.Fatalf("unsharded record: %v", want)
	}
	var parts []string
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("part-%d.safetensors", i))
		code, stdout, stderr := run(t, "eval", "--samples", samples, "--seeds", "0-149", "--shard", fmt.Sprintf("%d/3", i),
			"--extractor", ext, "--partial", p, "--quiet", "--json")
		if code != exitOK {
			t.Fatalf("shard %d/3: exit %d: %s", i, code, stderr)
		}
		if !strings.Contains(stdout, fmt.Sprintf(`"shard":"%d/3"`, i)) || !strings.Contains(stdout, `"samples":"`+samples+`"`) {
			t.Errorf("shard %d/3: --json %s does not name the shard and its folder", i, stdout)
		}
		parts = append(parts, p)
	}
	code, stdout, stderr = run(t, append([]string{"eval", "--extractor", ext, "--quiet", "--json", "--merge"}, parts...)...)
	if code != exitOK {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	if got := recordWithoutTimings(t, stdout); !reflect.DeepEqual(got, want) {
		t.Fatalf("merged record differs from the whole folder's:\n got %v\nwant %v", got, want)
	}
	if strings.Contains(stdout, `"speed"`) {
		t.Errorf("a merge of saved samples has speed figures: %s", stdout)
	}

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"files missing", []string{"--seeds", "100-199", "--shard", "1/2"}, "seed00000150.png"},
		{"no seeds", []string{"--shard", "0/2"}, "give the folder's seeds with --seeds A-B"},
		{"seeds without a partial", []string{"--seeds", "0-9"}, "drop --seeds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"eval", "--samples", samples, "--extractor", ext, "--quiet"}, c.args...)
			if c.name != "seeds without a partial" {
				args = append(args, "--partial", filepath.Join(dir, "x.safetensors"))
			}
			code, _, stderr := run(t, args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, stderr, c.want)
			}
		})
	}
}
