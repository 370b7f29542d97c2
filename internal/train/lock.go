package train

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFile is the file in a run folder whose lock a training holds while it
// runs there; it holds the holder's pid, for the message others get.
const LockFile = ".lock"

// RunLock is one process's claim on a run folder, so that two trainings
// never interleave their stats.jsonl lines or race on a checkpoint name.
// It is an OS advisory lock (flock) on the folder's LockFile: the kernel
// drops it when the process ends, however it ends, so a run killed by
// SIGKILL leaves a stale file that the next training simply locks again.
type RunLock struct {
	path string
	f    *os.File
}

// BusyError says that another process holds a run folder's lock.
type BusyError struct {
	Dir string
	PID int // the holder's pid; 0 if it could not be read
}

func (e *BusyError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("run folder %s is in use: %s is training in it (lock file %s); wait for it to end, or choose another folder",
		e.Dir, holder, filepath.Join(e.Dir, LockFile))
}

// errLocked is tryLock's answer when another open file holds the lock.
var errLocked = errors.New("locked")

// LockRunDir takes the lock of the existing folder dir, without waiting:
// if another process holds it, the error is a *BusyError naming its pid.
func LockRunDir(dir string) (*RunLock, error) {
	path := filepath.Join(dir, LockFile)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("run folder %s: %w", dir, err)
		}
		if err := tryLock(f); err != nil {
			f.Close()
			if errors.Is(err, errLocked) {
				return nil, &BusyError{Dir: dir, PID: holderPID(path)}
			}
			return nil, fmt.Errorf("run folder %s: lock %s: %w", dir, path, err)
		}
		// Release removes the lock file before it unlocks, so the holder we
		// waited on may have removed the very file we locked; then a third
		// process could lock a new file at path beside us. Lock what is at
		// path now.
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("run folder %s: lock %s: %w", dir, path, err)
		}
		pi, err := os.Stat(path)
		if err == nil && os.SameFile(fi, pi) {
			if err := writePID(f); err != nil {
				f.Close()
				return nil, fmt.Errorf("run folder %s: lock %s: %w", dir, path, err)
			}
			return &RunLock{path: path, f: f}, nil
		}
		f.Close()
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("run folder %s: %w", dir, err)
		}
	}
}

// Release removes the lock file and gives up the lock.
func (l *RunLock) Release() error {
	if err := unlock(l.path, l.f); err != nil {
		return fmt.Errorf("run folder %s: unlock: %w", filepath.Dir(l.path), err)
	}
	return nil
}

// writePID writes "pid\n" over the file's start and then cuts it there, so
// a reader never finds the file emptied while a crashed holder's pid is
// replaced.
func writePID(f *os.File) error {
	line := strconv.Itoa(os.Getpid()) + "\n"
	if _, err := f.WriteAt([]byte(line), 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(line)))
}

// holderPID reads the pid in a lock file. A holder writes it just after it
// takes the lock, so a file found without a complete line is read again a
// few times; 0 if it never holds one.
func holderPID(path string) int {
	for try := 0; try < 20; try++ {
		if b, err := os.ReadFile(path); err == nil {
			if line, _, ok := strings.Cut(string(b), "\n"); ok {
				if pid, err := strconv.Atoi(line); err == nil && pid > 0 {
					return pid
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}
