package eval

import (
	"fmt"
	"io"
)

// TargetCheck is one target of the trilemma for the default models, checked
// against a set of records. Met is nil when the records lack a figure it needs.
type TargetCheck struct {
	Target, Measured string
	Met              *bool
}

// TrilemmaTargets checks the targets docs/trilemma.md reports on: the
// cGAN's class accuracy, the VAE's likelihood bound, the DDPM's recall and
// best guided FID against the other two (at the same N, since FID and recall
// depend on N), and the 2-D DDPM's mode counts.
func TrilemmaTargets(recs []*Record) []TargetCheck {
	var checks []TargetCheck
	check := func(target string, met bool, format string, args ...any) {
		checks = append(checks, TargetCheck{target, fmt.Sprintf(format, args...), &met})
	}
	missing := func(target, what string) {
		checks = append(checks, TargetCheck{target, "not measured: no " + what + " record", nil})
	}

	onePass := func(model string) func(*Record) bool {
		return func(r *Record) bool { return r.Model == model && r.Sampler == nil }
	}
	ancestral1000 := func(r *Record) bool {
		return r.Model == "ddpm" && r.Sampler != nil && r.Sampler.Name == "ddpm" && r.Sampler.Steps == 1000 && r.Sampler.Guidance == 0
	}
	guided := func(r *Record) bool { return r.Model == "ddpm" && r.Sampler != nil && r.Sampler.Guidance > 0 }

	const accTarget = "cGAN class accuracy ≥ 0.95"
	if r := pick(recs, 0, onePass("cgan")); r == nil || r.ClassAccuracy == nil {
		missing(accTarget, "cGAN")
	} else {
		check(accTarget, *r.ClassAccuracy >= 0.95, "%.3f (N %d)", *r.ClassAccuracy, r.N)
	}

	const elboTarget = "VAE test −ELBO ≤ 100 nats"
	if r := pick(recs, 0, func(r *Record) bool { return r.Model == "vae" && r.TestNELBO != nil }); r == nil {
		missing(elboTarget, "VAE")
	} else {
		check(elboTarget, *r.TestNELBO <= 100, "%.2f nats", *r.TestNELBO)
	}

	const recallTarget = "DDPM (1000 steps) has the best recall of the three"
	if d := pick(recs, 0, ancestral1000); d == nil {
		missing(recallTarget, "DDPM 1000-step")
	} else {
		v, c := pick(recs, d.N, onePass("vae")), pick(recs, d.N, onePass("cgan"))
		if v == nil || c == nil {
			missing(recallTarget, fmt.Sprintf("VAE and cGAN at N %d", d.N))
		} else {
			check(recallTarget, d.Recall > v.Recall && d.Recall > c.Recall,
				"DDPM %.3f, cGAN %.3f, VAE %.3f (N %d)", d.Recall, c.Recall, v.Recall, d.N)
		}
	}

	const fidTarget = "guided DDPM FID ≤ cGAN FID"
	if c := pick(recs, 0, onePass("cgan")); c == nil {
		missing(fidTarget, "cGAN")
	} else if d := best(recs, c.N, guided); d == nil {
		missing(fidTarget, fmt.Sprintf("guided DDPM at N %d", c.N))
	} else { // the guidance scale is the user's choice: the best one counts
		check(fidTarget, d.FID <= c.FID, "DDPM (%s) %.2f, cGAN %.2f (N %d)", samplerName(d), d.FID, c.FID, d.N)
	}

	for _, m := range []struct {
		dataset string
		want    int
	}{{"ring8", 8}, {"grid25", 24}} {
		target := fmt.Sprintf("2-D DDPM covers ≥ %d modes of %s", m.want, m.dataset)
		r := pick(recs, 0, func(r *Record) bool { return r.Model == "ddpm2d" && r.Modes != nil && r.Modes.Dataset == m.dataset })
		if r == nil {
			missing(target, m.dataset+" DDPM")
			continue
		}
		check(target, r.Modes.Captured >= m.want, "%d / %d", r.Modes.Captured, r.Modes.Components)
	}
	return checks
}

// pick returns the record matching keep from the latest training step, then
// the largest N; with n > 0 only records of exactly that N count.
func pick(recs []*Record, n int, keep func(*Record) bool) *Record {
	var best *Record
	for _, r := range recs {
		if !keep(r) || (n > 0 && recordN(r) != n) {
			continue
		}
		if best == nil || r.Step > best.Step || (r.Step == best.Step && recordN(r) > recordN(best)) {
			best = r
		}
	}
	return best
}

// best returns the record matching keep, of exactly N n, with the lowest FID.
func best(recs []*Record, n int, keep func(*Record) bool) *Record {
	var b *Record
	for _, r := range recs {
		if keep(r) && r.Metrics != nil && r.N == n && (b == nil || r.FID < b.FID) {
			b = r
		}
	}
	return b
}

// recordN is the number of samples behind a record, image or 2-D.
func recordN(r *Record) int {
	switch {
	case r.Metrics != nil:
		return r.N
	case r.Modes != nil:
		return r.Modes.N
	}
	return 0
}

// MarkdownTargets writes the checks as a table.
func MarkdownTargets(w io.Writer, checks []TargetCheck) {
	fmt.Fprintln(w, "| target | measured | met |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, c := range checks {
		met := "not measured"
		if c.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*c.Met]
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", c.Target, c.Measured, met)
	}
	fmt.Fprintln(w)
}
