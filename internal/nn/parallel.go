package nn

import (
	"runtime"
	"sync"
)

// Gorgonia's VM runs one op at a time, so the kernels split their own work
// over GOMAXPROCS goroutines (and the OpenBLAS build pins OpenBLAS to one
// thread, so the two never fight over cores). Every split is chosen so that
// each output value is computed by the same sequence of operations whatever
// the number of cores: results are bit-identical on any machine.

// parallelRange splits [0, n) into at most GOMAXPROCS contiguous ranges of
// at least minPer indices and runs f on each in its own goroutine. f must
// compute each index independently of the others in its range.
func parallelRange(n, minPer int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(minPer, 1))
	if workers < 2 {
		if n > 0 {
			f(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	size := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += size {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, min(lo+size, n))
	}
	wg.Wait()
}

// parallelChunks is parallelRange for element-wise loops: ranges of at
// least 32k elements, so small tensors stay on one goroutine.
func parallelChunks(n int, f func(lo, hi int)) { parallelRange(n, 1<<15, f) }

// fixedParts is the number of partial sums a reduction over the batch is
// split into. It is a constant, not the core count, so the order of the
// final additions, and so the result, is the same on every machine.
const fixedParts = 8

// partBounds returns the range of part i when n items are split into parts
// contiguous, near-equal parts.
func partBounds(n, parts, i int) (lo, hi int) { return i * n / parts, (i + 1) * n / parts }
