//go:build openblas && cgo && unix

package nn

import (
	"os"
	"strings"
	"testing"
)

func TestBetterCoreType(t *testing.T) {
	for _, c := range []struct{ core, user, level, want string }{
		{"Prescott", "", "avx512", "SkylakeX"},
		{"Prescott", "", "avx2", "Haswell"},
		{"prescott", "", "avx2", "Haswell"},
		{"Prescott", "", "", ""},               // an old CPU: Prescott is right
		{"Prescott", "Prescott", "avx512", ""}, // the user's choice stands
		{"Prescott", "Haswell", "avx512", ""},
		{"Haswell", "", "avx512", ""}, // OpenBLAS knew the CPU
		{"SkylakeX", "", "avx512", ""},
		{"Zen", "", "avx2", ""},
	} {
		if got := betterCoreType(c.core, c.user, c.level); got != c.want {
			t.Errorf("betterCoreType(%q, %q, %q) = %q, want %q", c.core, c.user, c.level, got, c.want)
		}
	}
}

// The test binary itself went through the init above: on a CPU with AVX2 and
// FMA, OpenBLAS must not be left on its generic Prescott kernels (unless the
// one who ran the test asked for them).
func TestOpenBLASIsNotLeftOnItsFallback(t *testing.T) {
	if cpuLevel() == "" {
		t.Skip("this CPU has no AVX2+FMA: Prescott is OpenBLAS's right choice here")
	}
	if strings.EqualFold(os.Getenv("OPENBLAS_CORETYPE"), "prescott") {
		t.Skip("OPENBLAS_CORETYPE=Prescott was set by hand")
	}
	if strings.EqualFold(openBLASCore, "prescott") {
		t.Fatalf("OpenBLAS runs its Prescott kernels on a CPU with %s (OPENBLAS_CORETYPE=%q)", cpuLevel(), os.Getenv("OPENBLAS_CORETYPE"))
	}
	if !strings.Contains(BLASName, openBLASCore+" kernels") {
		t.Errorf("BLASName %q does not name the kernels %q", BLASName, openBLASCore)
	}
}
