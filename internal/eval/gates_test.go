package eval

import (
	"strings"
	"testing"
)

func TestParseGate(t *testing.T) {
	cases := []struct {
		in   string
		want Gate
		err  bool
	}{
		{"fid>30", Gate{Metric: "fid", Op: ">", Value: 30}, false},
		{" recall < 0.5 ", Gate{Metric: "recall", Op: "<", Value: 0.5}, false},
		{"speed.samples_per_s>=1e3", Gate{Metric: "speed.samples_per_s", Op: ">=", Value: 1000}, false},
		{"fid", Gate{}, true},
		{"fid>>3", Gate{}, true},
		{"fid>abc", Gate{}, true},
	}
	for _, c := range cases {
		g, err := ParseGate(c.in)
		if (err != nil) != c.err {
			t.Fatalf("%q: err = %v", c.in, err)
		}
		if !c.err && (g.Metric != c.want.Metric || g.Op != c.want.Op || g.Value != c.want.Value) {
			t.Fatalf("%q: got %+v, want %+v", c.in, g, c.want)
		}
	}
}

func TestCheckGatesFailsOnlyHoldingGatesAndRejectsUnknownFigures(t *testing.T) {
	r := &Record{Metrics: &Metrics{FID: 12, Recall: 0.6}, Speed: &Speed{SamplesPerSecond: 500}}
	gates := []Gate{}
	for _, s := range []string{"fid>30", "fid>10", "recall<0.5", "speed.samples_per_s<1000"} {
		g, _ := ParseGate(s)
		gates = append(gates, g)
	}
	failed, err := CheckGates(r, gates)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 2 || failed[0].Text != "fid>10" || failed[1].Text != "speed.samples_per_s<1000" {
		t.Fatalf("failed = %+v", failed)
	}
	g, _ := ParseGate("fdi>3")
	if _, err := CheckGates(r, []Gate{g}); err == nil || !strings.Contains(err.Error(), `no figure "fdi"`) {
		t.Fatalf("unknown figure: err = %v", err)
	}
}
