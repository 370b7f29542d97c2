package nn

import (
	"strings"
	"testing"
)

// A build without OpenBLAS or without cgo says how to get the faster one,
// in one line; the build with both says nothing.
func TestBuildHintNamesWhatIsMissing(t *testing.T) {
	for _, c := range []struct {
		native, openblas bool
		want, not        []string
	}{
		{native: false, openblas: false, want: []string{"cgo", "gcc", "libopenblas-dev", "make build"}},
		{native: true, openblas: false, want: []string{"gonum", "libopenblas-dev", "-tags openblas"}, not: []string{"gcc", "cgo"}},
		{native: true, openblas: true},
	} {
		hint := buildHint(c.native, c.openblas)
		if (hint == "") != (c.native && c.openblas) {
			t.Errorf("native %v, openblas %v: hint %q", c.native, c.openblas, hint)
		}
		if strings.Contains(hint, "\n") {
			t.Errorf("native %v, openblas %v: hint is more than one line: %q", c.native, c.openblas, hint)
		}
		for _, w := range c.want {
			if !strings.Contains(hint, w) {
				t.Errorf("native %v, openblas %v: hint %q does not mention %q", c.native, c.openblas, hint, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(hint, w) {
				t.Errorf("native %v, openblas %v: hint %q mentions %q", c.native, c.openblas, hint, w)
			}
		}
	}
	if got, want := BuildHint(), buildHint(nativeKernels, openBLAS); got != want {
		t.Errorf("BuildHint() = %q, want %q for this build", got, want)
	}
}
