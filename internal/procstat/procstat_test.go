package procstat

import (
	"runtime"
	"testing"
)

func TestMemoryGrowsWithAnAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/self/status is Linux's")
	}
	rss0, peak0, ok := Memory()
	if !ok || rss0 <= 0 || peak0 < rss0 {
		t.Fatalf("Memory() = %v, %v, %v: want 0 < rss <= peak", rss0, peak0, ok)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	rss1, peak1, _ := Memory()
	if rss1 < rss0+48 || peak1 < rss1 {
		t.Fatalf("after touching 64 MiB: rss %.1f -> %.1f MiB, peak %.1f", rss0, rss1, peak1)
	}
	runtime.KeepAlive(buf)
}
