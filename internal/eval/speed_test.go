package eval

import (
	"errors"
	"testing"
	"time"
)

func TestSummarizeSpeed(t *testing.T) {
	rep, err := SummarizeSpeed(4, SpeedBatchSize, []time.Duration{3 * time.Second, time.Second, 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "median", rep.MedianSeconds, 2, 0)
	near(t, "samples/s", rep.SamplesPerSecond, 50, 1e-12)
	near(t, "ms per NFE per sample", rep.MsPerNFEPerSample, 1000*2.0/(100*4), 1e-12)
	if rep.RunSeconds[0] != 3 {
		t.Errorf("runs must keep their order: %v", rep.RunSeconds)
	}
	rep, _ = SummarizeSpeed(1, 100, []time.Duration{1, 2, 3, 4})
	near(t, "even median", rep.MedianSeconds, 2.5e-9, 1e-21)
	if _, err := SummarizeSpeed(1, 100, []time.Duration{1, 2}); !errors.Is(err, ErrTooFewSamples) {
		t.Errorf("2 runs: err = %v", err)
	}
}

func TestMeasureSpeedWarmsUpThenTimes(t *testing.T) {
	calls := 0
	rep, err := MeasureSpeed(1, 100, 3, func() error { calls++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if calls != 4 || len(rep.RunSeconds) != 3 {
		t.Errorf("%d calls, %d timed runs; want 1 warm-up + 3", calls, len(rep.RunSeconds))
	}
}
