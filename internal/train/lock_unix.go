//go:build unix

package train

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock on f without blocking. flock locks
// belong to the open file, so a second open of the same path conflicts even
// within one process, and the kernel drops the lock when the process exits.
func tryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLocked
	}
	return err
}

// unlock removes the lock file before it closes (and so unlocks) it: a
// process that opens the path afterwards gets a new file, and one that
// opened the old file and locks it now sees, in LockRunDir, that it is gone.
func unlock(path string, f *os.File) error {
	return errors.Join(os.Remove(path), f.Close())
}
