//go:build !unix

package train

import (
	"errors"
	"os"
)

// tryLock takes no lock where there is no flock: the lock file still names
// the training's pid, but a second training in the folder is not refused.
func tryLock(*os.File) error { return nil }

// unlock closes before it removes: an open file cannot be removed here.
func unlock(path string, f *os.File) error {
	return errors.Join(f.Close(), os.Remove(path))
}
