package config

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Validate checks ranges and enums, reporting every problem, one per line:
// the kind's own section first (its Validate), then the common keys.
func (c *Config) Validate() error {
	var v Checker
	check := v.Check
	m, d, t, s := c.Model, c.Data, c.Train, c.Sample
	var names []string
	if c.schema != nil {
		names = c.schema.Names()
	}
	switch {
	case c.kind == nil || c.Own == nil:
		check("model.kind", false, "one of "+strings.Join(names, ", "), m.Kind)
	case m.Kind != c.kind.Name:
		check("model.kind", false, fmt.Sprintf("%q, the kind whose defaults this config was built on", c.kind.Name), m.Kind)
	default:
		c.Own.Validate(c, &v)
	}
	// The 2-D kinds model the points of a mixture, every other kind images
	// of data.channels x data.size x data.size.
	mixture := d.Dataset == "ring8" || d.Dataset == "grid25"
	switch points := c.kind != nil && c.kind.Points; {
	case d.Dataset != "mnist" && d.Dataset != "stacked_mnist" && !mixture:
		check("data.dataset", false, "one of mnist, stacked_mnist, ring8, grid25", d.Dataset)
	case c.kind == nil:
	case points && !mixture:
		v.Add(fmt.Errorf("data.dataset: model.kind %q models 2-D points: want ring8 or grid25, got %q", m.Kind, d.Dataset))
	case mixture && !points:
		v.Add(fmt.Errorf("data.dataset: %q is a set of 2-D points, but model.kind %q models images (the 2-D kinds are %s)",
			d.Dataset, m.Kind, strings.Join(c.schema.PointKinds(), ", ")))
	}
	if mixture {
		check("data.channels", d.Channels == 0, "0 for a 2-D mixture (its points have no image shape)", d.Channels)
		check("data.size", d.Size == 0, "0 for a 2-D mixture (its points have no image shape)", d.Size)
		check("data.binarize", d.Binarize == "none", `none for a 2-D mixture`, d.Binarize)
		check("data.dir", d.Dir == "", `"" for a 2-D mixture (its points are drawn, not read)`, d.Dir)
		check("data.skip_bad", !d.SkipBad, `false for a 2-D mixture (its points are drawn, not read)`, d.SkipBad)
	}
	switch {
	case d.Dataset == "stacked_mnist":
		// Three 28x28 digits as the red, green and blue planes.
		check("data.channels", d.Channels == 3, "3 for stacked_mnist (a digit in each of R, G, B)", d.Channels)
		check("data.size", d.Size == 28, "28 for stacked_mnist (MNIST's digits)", d.Size)
	case !mixture:
		check("data.channels", d.Channels == 1 || d.Channels == 3, "1 (grey) or 3 (RGB)", d.Channels)
		check("data.size", d.Size == 28 || d.Size == 32, "28 or 32 (pixels a side)", d.Size)
	}
	check("data.binarize", d.Binarize == "dynamic" || d.Binarize == "none", "one of dynamic, none", d.Binarize)
	check("data.subset", d.Subset >= 0, ">= 0", d.Subset)
	check("train.steps", t.Steps >= 1, ">= 1", t.Steps)
	check("train.batch_size", In(t.BatchSize, 1, 65536), "in [1, 65536]", t.BatchSize)
	check("train.lr", t.LR > 0 && t.LR <= 1, "> 0 and <= 1", t.LR)
	check("train.beta1", t.Beta1 >= 0 && t.Beta1 < 1, ">= 0 and < 1", t.Beta1)
	check("train.beta2", t.Beta2 >= 0 && t.Beta2 < 1, ">= 0 and < 1", t.Beta2)
	check("train.eps", t.Eps > 0 && Finite(t.Eps), "> 0 and finite", t.Eps)
	check("train.log_every", t.LogEvery >= 1, ">= 1", t.LogEvery)
	check("train.sample_every", t.SampleEvery >= 1, ">= 1", t.SampleEvery)
	check("train.checkpoint_every", t.CheckpointEvery >= 1, ">= 1", t.CheckpointEvery)
	check("train.keep_checkpoints", t.KeepCheckpoints >= 1, ">= 1", t.KeepCheckpoints)
	check("sample.n", In(s.N, 1, 100000), "in [1, 100000]", s.N)
	return errors.Join(v.errs...)
}

// Finite reports whether x is neither NaN nor ±Inf.
func Finite(x float64) bool { return !math.IsInf(x, 0) && !math.IsNaN(x) }
