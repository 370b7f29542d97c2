package checkpoint

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// Read reads path fully and Decodes it; errors name the path.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return Decode(data, path)
}

// WriteAtomic encodes f to a temp file in the same directory (".<base>.*.tmp",
// hidden and never matching a checkpoint glob), fsyncs it, renames it over
// path and fsyncs the directory, so a crash leaves either the old file or the
// complete new one. On any error before the rename the temp file is removed
// and an existing file at path is untouched.
func WriteAtomic(path string, f *File) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("checkpoint %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = encode(bw, f); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil { // CreateTemp uses 0600; checkpoints are meant to be shared
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Without this the rename itself may not survive a power loss.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// matching returns the names of non-directory entries of dir matching the
// glob pattern, sorted; zero-padded step numbers make that oldest first.
func matching(dir, pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("checkpoint: pattern %q: %w", pattern, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var names []string
	for _, e := range ents {
		if ok, _ := filepath.Match(pattern, e.Name()); ok && !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Prune keeps the newest keep files in dir whose names match pattern (e.g.
// "ckpt-*.safetensors"), ordered by file name, and removes the older ones;
// keep <= 0 removes nothing, so a misconfigured keep never deletes everything.
// It returns the removed paths, including those removed before an error.
func Prune(dir, pattern string, keep int) ([]string, error) {
	names, err := matching(dir, pattern)
	if err != nil || keep <= 0 || len(names) <= keep {
		return nil, err
	}
	var removed []string
	for _, n := range names[:len(names)-keep] {
		p := filepath.Join(dir, n)
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("checkpoint: prune: %w", err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// Newest returns the path of the lexically greatest file in dir matching
// pattern, or "" if none.
func Newest(dir, pattern string) (string, error) {
	names, err := matching(dir, pattern)
	if err != nil || len(names) == 0 {
		return "", err
	}
	return filepath.Join(dir, names[len(names)-1]), nil
}
