package eval

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gentri/gentri/internal/data"
)

// A record of a 2-D model carries the §6.2 figures under "modes", gates
// see them as modes.*, and an undefined reverse KL (no HQ sample) is left
// out rather than breaking the JSON; the image metrics are absent.
func TestModeFiguresInARecord(t *testing.T) {
	ring := data.Ring8()
	tests := []struct {
		name     string
		points   [][2]float64
		captured float64
		hq       float64
		klJSON   bool
	}{
		{"three modes exactly", atModes(ring, []int{0, 3, 5}, 4, 0), 3, 1, true},
		{"all at the centre", [][2]float64{{0, 0}, {0, 0}}, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewRecord("gan2d", nil, 0)
			r.Modes = NewModeFigures(ring, tc.points)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatalf("json: %v", err)
			}
			if strings.Contains(string(b), `"fid"`) || strings.Contains(string(b), "extractor_sha256") {
				t.Errorf("a 2-D record with image fields: %s", b)
			}
			if got := strings.Contains(string(b), "reverse_kl"); got != tc.klJSON {
				t.Errorf("reverse_kl in JSON = %v, want %v: %s", got, tc.klJSON, b)
			}
			figs := Figures(r)
			if figs["modes.captured"] != tc.captured || figs["modes.high_quality"] != tc.hq || figs["modes.components"] != 8 {
				t.Errorf("figures %v", figs)
			}
			g, _ := ParseGate("modes.captured<8")
			if failed, err := CheckGates(r, []Gate{g}); err != nil || len(failed) != 1 {
				t.Errorf("gate modes.captured<8: failed %v, err %v", failed, err)
			}
			ms := r.Modes.Metrics()
			if (len(ms) == 4) != tc.klJSON || ms[0].Name != "modes_captured" || ms[0].Value != tc.captured {
				t.Errorf("metrics %v", ms)
			}
		})
	}
}
