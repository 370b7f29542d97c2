package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// outsideFolder is the folder beside the checkout that the project's
// working notes live in. The repository must stand alone: nothing in it may
// point there, since a clone has no such folder. (Spelt in two parts so this
// file does not name it.)
var outsideFolder = []byte(".." + "/shared")

// skippedDirs are never scanned when the repository is walked without git:
// version control and the ignored build and run outputs.
var skippedDirs = map[string]bool{".git": true, "bin": true, "runs": true, "data": true, ".bench": true}

// TestRepositoryStandsAlone fails if any text file of the repository (tracked,
// or new and not ignored) names the folder outside it; see docs/metrics.md
// for the definitions that used to be cited from there.
func TestRepositoryStandsAlone(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := repoFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found only %d files under %s: the walk is broken", len(files), root)
	}
	hits, err := findMentions(root, files, outsideFolder)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		t.Errorf("%s names %s: cite docs/ or a paper instead", h, outsideFolder)
	}
}

// TestFindMentionsReportsEachHit checks the scanner on a planted tree: text
// files that name the folder are reported with their line, binary files and
// other text are not.
func TestFindMentionsReportsEachHit(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"clean.go":      "package x\n// cites docs/metrics.md §2\n",
		"notes.md":      "line one\nsee " + string(outsideFolder) + "/docs/x.md\n",
		"sub/conf.yaml": "# " + string(outsideFolder) + "/peers/y.py\nmodel: {}\n",
		"image.png":     "\x89PNG\x00\x00" + string(outsideFolder),
		"near.txt":      "./shared, ../shard and ../share are other paths\n",
	}
	var names []string
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	walked, err := walkFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(walked) != len(names) {
		t.Errorf("walk found %v, want the %d planted files", walked, len(names))
	}
	hits, err := findMentions(dir, walked, outsideFolder)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"notes.md:2", "sub/conf.yaml:1"}
	if strings.Join(hits, ",") != strings.Join(want, ",") {
		t.Errorf("hits %v, want %v", hits, want)
	}
}

// moduleRoot is the nearest folder at or above the test's working directory
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// repoFiles lists the repository's files relative to root, with slashes:
// from git (tracked files and new ones that are not ignored) when root is a
// git checkout, else by walking the tree.
func repoFiles(root string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(root, ".git")); err == nil {
		if _, err := exec.LookPath("git"); err == nil {
			out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
			if err != nil {
				return nil, fmt.Errorf("git ls-files in %s: %w", root, err)
			}
			var files []string
			for _, f := range strings.Split(string(out), "\x00") {
				if f == "" {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(f))); err == nil { // not deleted in the work tree
					files = append(files, f)
				}
			}
			return files, nil
		}
	}
	return walkFiles(root)
}

// walkFiles lists the regular files under root, relative and with slashes,
// leaving out skippedDirs.
func walkFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && skippedDirs[d.Name()] {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	return files, err
}

// findMentions returns "file:line" for every line of a text file (no NUL
// byte in its first 8 KiB) that contains needle, in the order of files.
func findMentions(root string, files []string, needle []byte) ([]string, error) {
	var hits []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		if bytes.IndexByte(b[:min(len(b), 8192)], 0) >= 0 {
			continue // binary: images, checkpoints
		}
		for i, line := range bytes.Split(b, []byte("\n")) {
			if bytes.Contains(line, needle) {
				hits = append(hits, fmt.Sprintf("%s:%d", f, i+1))
			}
		}
	}
	return hits, nil
}
