//go:build openblas && cgo && unix

package nn

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/cpu"
)

// A DYNAMIC_ARCH OpenBLAS (Debian's libopenblas is one) picks its kernels
// once, when the library loads, from a table of the CPU models it knew when
// it was built. A newer CPU is missing from that table and gets the generic
// fallback, "Prescott": SSE3 kernels from 2004. Debian bookworm's OpenBLAS
// 0.3.21 does this on an Intel Xeon of family 6, model 207 (Emerald Rapids),
// where the VAE's training step, all matrix products, then took three to four
// times as long as with the AVX-512 kernels the CPU can run
// (docs/performance.md, 2026-12-07).
//
// OpenBLAS reads its choice from OPENBLAS_CORETYPE before any Go code runs,
// so the only way to correct it is to set the variable and start the program
// again: this init does that, once (the variable being set ends it), when
// OpenBLAS fell back to Prescott on a CPU with AVX2 and FMA. A variable the
// user set is never overridden, and if the exec fails the program goes on with
// the fallback kernels. Every build of the same kernels gives the same bits;
// a different kernel set, like a different CPU, may change the last bits of a
// product (the README's "Reproducibility").
func init() {
	want := betterCoreType(openBLASCore, os.Getenv("OPENBLAS_CORETYPE"), cpuLevel())
	if want == "" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if os.Setenv("OPENBLAS_CORETYPE", want) != nil {
		return
	}
	_ = syscall.Exec(exe, os.Args, os.Environ()) // returns only on failure
	_ = os.Unsetenv("OPENBLAS_CORETYPE")
}

// cpuLevel is the widest kernel set of OpenBLAS's this CPU runs: "avx512"
// (F, CD, BW, DQ and VL, what OpenBLAS's SkylakeX kernels need), "avx2" (with
// FMA, Haswell's) or "".
func cpuLevel() string {
	x := cpu.X86
	switch {
	case x.HasAVX512F && x.HasAVX512CD && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL:
		return "avx512"
	case x.HasAVX2 && x.HasFMA:
		return "avx2"
	}
	return ""
}

// betterCoreType is the OPENBLAS_CORETYPE to start again with, or "" to keep
// what OpenBLAS chose: only when it fell back to Prescott, the user set no
// core type, and the CPU runs a wider kernel set.
func betterCoreType(core, userSet, level string) string {
	if !strings.EqualFold(core, "prescott") || userSet != "" {
		return ""
	}
	switch level {
	case "avx512":
		return "SkylakeX"
	case "avx2":
		return "Haswell"
	}
	return ""
}
