// Package procstat reads the process's own memory use from /proc, for the
// training log (is memory flat over a long run?) and the eval record.
package procstat

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Memory returns the resident memory now (VmRSS) and its peak so far
// (VmHWM) in MiB; ok is false where /proc/self/status is unavailable
// (not Linux).
func Memory() (rssMB, peakMB float64, ok bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	var found int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for key, dst := range map[string]*float64{"VmRSS:": &rssMB, "VmHWM:": &peakMB} {
			if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
				kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				if err != nil {
					return 0, 0, false
				}
				*dst = kb / 1024
				found++
			}
		}
	}
	return rssMB, peakMB, found == 2
}
