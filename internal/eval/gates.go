package eval

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Gate is one --fail-if condition, e.g. "fid>30" or "recall<0.5": the
// evaluation fails when the condition holds.
type Gate struct {
	Metric string
	Op     string
	Value  float64
	Text   string
}

var gateRE = regexp.MustCompile(`^\s*([a-z_][a-z0-9_.]*)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$`)

// ParseGate reads "metric OP number" with OP one of > < >= <=.
func ParseGate(s string) (Gate, error) {
	m := gateRE.FindStringSubmatch(s)
	if m == nil {
		return Gate{}, fmt.Errorf("--fail-if %q: want METRIC OP NUMBER, e.g. 'fid>30' or 'recall<0.5'", s)
	}
	v, err := strconv.ParseFloat(m[3], 64)
	if err != nil {
		return Gate{}, fmt.Errorf("--fail-if %q: %q is not a number", s, m[3])
	}
	return Gate{Metric: m[1], Op: m[2], Value: v, Text: strings.TrimSpace(s)}, nil
}

// Figures flattens a record's numbers into "name" and "section.name" keys
// (e.g. "fid", "speed.samples_per_s", "real_floor.fid").
func Figures(r *Record) map[string]float64 {
	b, _ := json.Marshal(JSONSafe(r))
	var raw map[string]any
	json.Unmarshal(b, &raw)
	out := map[string]float64{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case float64:
			out[prefix] = x
		case map[string]any:
			for k, e := range x {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, e)
			}
		}
	}
	walk("", raw)
	return out
}

// CheckGates returns the gates that hold (failures). A gate naming a figure
// the record does not have is an error, so a typo never passes silently.
func CheckGates(r *Record, gates []Gate) ([]Gate, error) {
	figs := Figures(r)
	var failed []Gate
	for _, g := range gates {
		v, ok := figs[g.Metric]
		if !ok {
			names := make([]string, 0, len(figs))
			for k := range figs {
				names = append(names, k)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("--fail-if %q: this evaluation has no figure %q (it has: %s)", g.Text, g.Metric, strings.Join(names, ", "))
		}
		hold := false
		switch g.Op {
		case ">":
			hold = v > g.Value
		case "<":
			hold = v < g.Value
		case ">=":
			hold = v >= g.Value
		case "<=":
			hold = v <= g.Value
		}
		if hold || math.IsNaN(v) {
			failed = append(failed, g)
		}
	}
	return failed, nil
}
